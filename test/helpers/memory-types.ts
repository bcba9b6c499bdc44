/**
 * What the device's memory types are to a test: asked of the device, never assumed. Tests run on lavapipe (one type
 * every resource takes) and on discrete memory (the `discrete-memory` project, and a GPU), where they differ.
 * @module
 */
import { MemoryUsage, VkError, type Allocator, type BufferInfo } from "../../engine/index.js";

/** The bit of memory type `t` in a memoryTypeBits mask (a uint32, so no `1 << 31` sign). */
export const bit = (t: number): number => 2 ** t;

/** Whether memory type `t` is in the mask `bits`. */
export const hasType = (bits: number, t: number): boolean => Math.floor(bits / bit(t)) % 2 === 1;

/**
 * The memory types (a memoryTypeBits mask) VMA may put a buffer of this description in on this device:
 * vmaFindMemoryTypeIndexForBufferInfo asked one type at a time.
 */
export function acceptedTypes(allocator: Allocator, bufferInfo: BufferInfo): number {
  let bits = 0;
  for (let t = 0; t < allocator.memoryTypes.length; t++) {
    try {
      allocator.findMemoryTypeIndexForBufferInfo(bufferInfo, { usage: MemoryUsage.Unknown, memoryTypeBits: bit(t) });
      bits += bit(t);
    } catch (e) {
      if (!(e instanceof VkError) || e.code !== "VK_ERROR_FEATURE_NOT_PRESENT") throw e;
    }
  }
  return bits;
}
