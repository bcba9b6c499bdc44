/**
 * Image regions: the part of one texture subresource an upload writes or a download reads, in texels, with the
 * data in tightly packed rows (whole 4x4 blocks for compressed formats). The manager completes and checks a region
 * once, before anything is recorded; the transfers take it as complete and in range.
 * @module
 */
import { describeValue } from "../errors.js";
import { isOptionsObject } from "../checks.js";
import { mipExtent } from "../vulkan/formats.js";
import type { Texture } from "./texture.js";

/** A region of one image subresource (tightly packed rows in the data). */
export interface ImageRegion {
  /** The mip level (default 0). */
  mipLevel?: number;
  /** The array layer (default 0). */
  arrayLayer?: number;
  /** Left edge in texels of that mip level (default 0). */
  x?: number;
  /** Top edge in texels of that mip level (default 0). */
  y?: number;
  /** Width in texels (default: to the right edge of the mip level). */
  width?: number;
  /** Height in texels (default: to the bottom edge of the mip level). */
  height?: number;
}

/**
 * Checks and completes an image region against `texture`: every member defaulted, inside the mip level, and aligned
 * to whole blocks for a block-compressed format (a region may end at the edge of a mip level without it).
 * @throws TypeError for a region that is not an object or has an unknown member; RangeError for a member out of range,
 *   with `op` and the bad value in the message.
 * @internal
 */
export function completeRegion(op: string, texture: Texture, region: unknown): Required<ImageRegion> {
  if (region !== undefined && !isOptionsObject(region)) {
    throw new TypeError(`${op}: region must be an object, got ${describeValue(region)}`);
  }
  const r = (region ?? {}) as ImageRegion;
  for (const key of Object.keys(r)) {
    if (!["mipLevel", "arrayLayer", "x", "y", "width", "height"].includes(key)) {
      throw new TypeError(
        `${op}: unknown region member '${key}' (value ${describeValue((r as Record<string, unknown>)[key])})`,
      );
    }
  }
  const int = (name: keyof ImageRegion, value: unknown, min: number, max: number): number => {
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
      throw new RangeError(
        `${op}: region.${name} must be an integer from ${min} to ${max} for texture '${texture.label}', got ${describeValue(value)}`,
      );
    }
    return value as number;
  };
  const mipLevel = int("mipLevel", r.mipLevel ?? 0, 0, texture.mipLevels - 1);
  const arrayLayer = int("arrayLayer", r.arrayLayer ?? 0, 0, texture.arrayLayers - 1);
  const w = mipExtent(texture.width, mipLevel);
  const h = mipExtent(texture.height, mipLevel);
  const x = int("x", r.x ?? 0, 0, w - 1);
  const y = int("y", r.y ?? 0, 0, h - 1);
  const width = int("width", r.width ?? w - x, 1, w - x);
  const height = int("height", r.height ?? h - y, 1, h - y);
  const info = texture.formatInfo;
  if (
    info.blockWidth > 1 &&
    (x % info.blockWidth !== 0 ||
      y % info.blockHeight !== 0 ||
      (width % info.blockWidth !== 0 && x + width !== w) ||
      (height % info.blockHeight !== 0 && y + height !== h))
  ) {
    throw new RangeError(
      `${op}: a region of block-compressed texture '${texture.label}' must be aligned to ${info.blockWidth}x${info.blockHeight} blocks, got ${describeValue({ x, y, width, height })}`,
    );
  }
  return { mipLevel, arrayLayer, x, y, width, height };
}
