/**
 * PNG files of rendered frames (pngjs), and the comparison the golden-image tests use.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PNG } from "pngjs";

/** Tightly packed 8-bit RGBA pixels, rows top to bottom. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 4 bytes. */
  readonly data: Uint8Array;
}

/**
 * Writes `image` as a PNG at `file` (parent folders created).
 *
 * `opaque` (default true) writes alpha 255 everywhere: what a window with an OPAQUE composite alpha shows,
 * whatever the shaders wrote into alpha.
 * @throws RangeError when the data length does not match the size.
 */
export function writePng(file: string, image: RgbaImage, opaque = true): void {
  const { width, height, data } = image;
  if (data.length !== width * height * 4) {
    throw new RangeError(`writePng: ${width}x${height} RGBA needs ${width * height * 4} bytes, got ${data.length}`);
  }
  const png = new PNG({ width, height });
  png.data.set(data);
  if (opaque) for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, PNG.sync.write(png));
}

/** Reads a PNG as 8-bit RGBA. */
export function readPng(file: string): RgbaImage {
  const png = PNG.sync.read(readFileSync(file));
  return {
    width: png.width,
    height: png.height,
    data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length),
  };
}

/** What {@link compareImages} found. */
export interface ImageDifference {
  /** Pixels where some channel (R, G or B) differs by more than the tolerance. */
  readonly differingPixels: number;
  /** The largest channel difference seen anywhere (0-255). */
  readonly maxChannelDifference: number;
  /** Total pixels compared. */
  readonly pixels: number;
}

/**
 * Compares the RGB channels of two images of the same size, pixel by pixel: a pixel differs when any channel
 * differs by more than `tolerance`. Alpha is ignored (PNGs of frames are written opaque).
 * @throws RangeError when the sizes differ.
 */
export function compareImages(actual: RgbaImage, expected: RgbaImage, tolerance: number): ImageDifference {
  if (actual.width !== expected.width || actual.height !== expected.height) {
    throw new RangeError(
      `compareImages: sizes differ: ${actual.width}x${actual.height} against ${expected.width}x${expected.height}`,
    );
  }
  let differingPixels = 0;
  let maxChannelDifference = 0;
  const a = actual.data;
  const e = expected.data;
  for (let i = 0; i < a.length; i += 4) {
    const d = Math.max(Math.abs(a[i]! - e[i]!), Math.abs(a[i + 1]! - e[i + 1]!), Math.abs(a[i + 2]! - e[i + 2]!));
    if (d > maxChannelDifference) maxChannelDifference = d;
    if (d > tolerance) differingPixels++;
  }
  return { differingPixels, maxChannelDifference, pixels: a.length / 4 };
}
