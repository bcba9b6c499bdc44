/**
 * Deterministic pixels for the streamed-texture tests and the streaming stress run: every byte of mip `m` of texture
 * `id` is a function of (id, m, offset), so a readback can be checked against what the loader gave, whenever and
 * however often it loaded.
 * @module
 */
import { mipExtent } from "../../engine/vulkan/formats.js";

/** RGBA8 bytes of mip `mip` of a `width` x `height` texture number `id`. */
export function mipPixels(id: number, width: number, height: number, mip: number): Uint8Array {
  const w = mipExtent(width, mip);
  const h = mipExtent(height, mip);
  const out = new Uint8Array(w * h * 4);
  const seed = (Math.imul(id + 1, 0x9e3779b1) ^ Math.imul(mip + 1, 0x85ebca6b)) >>> 0;
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < words.length; i++) words[i] = (Math.imul(i ^ seed, 0x27d4eb2d) + seed) >>> 0;
  return out;
}

/** Mips `first` .. `first + count - 1` of texture `id`, one after another (what a MipLoader returns). */
export function mipRange(id: number, width: number, height: number, first: number, count: number): Uint8Array {
  const parts = Array.from({ length: count }, (_, i) => mipPixels(id, width, height, first + i));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** FNV-1a over a readback, as the frame stress run checksums its resources. */
export { checksum } from "./frame-stress.js";
