/**
 * Transient memory: bytes of the manager's transient ring that live for one frame ({@link FrameManager.allocateTransient}).
 *
 * The ring hands out space in submission order and takes it back after the fence of the frame it was handed out
 * for (engine/resources/upload-ring.ts): an allocation is valid from the moment it is made until that fence, and
 * must be written before the frame is submitted. Each usage has the alignment the device asks of a buffer bound for
 * it, at least 16 bytes. An allocation is one small object over the ring block's mapped memory; its byte view is made
 * only when asked for.
 * @module
 */
import type { DeviceLimits } from "../vulkan/context.js";
import type { NvkHandle } from "../vulkan/handles.js";
import { nextPowerOfTwo } from "../powers-of-two.js";

/** What {@link FrameManager.allocateTransient} is for: it picks the alignment. */
export type TransientUsage = "uniform" | "storage" | "vertex" | "index" | "copy";

/**
 * Memory from the transient ring, valid for one frame: the GPU may read it from the frame it was allocated for,
 * and the manager reuses it once that frame's fence has signaled. Write it before the frame is submitted.
 */
export class TransientAllocation {
  #bytes: Uint8Array | null = null;
  /** @internal */
  constructor(
    /** The ring block's VkBuffer: bind it with `offset`. */
    readonly buffer: NvkHandle,
    /** Offset in `buffer`, aligned as the usage requires. */
    readonly offset: number,
    /** Size in bytes. */
    readonly size: number,
    /** The whole block's mapped memory (the bytes of this allocation start at `offset`). */
    readonly mapped: ArrayBuffer,
  ) {}
  /** The allocation's bytes (made on first use). */
  get bytes(): Uint8Array {
    return (this.#bytes ??= new Uint8Array(this.mapped, this.offset, this.size));
  }
}

/** The alignment of each {@link TransientUsage} on a device with `limits`. @internal */
export function transientAlignments(limits: DeviceLimits): Record<TransientUsage, number> {
  return {
    uniform: roundedAlignment(limits.minUniformBufferOffsetAlignment),
    storage: roundedAlignment(limits.minStorageBufferOffsetAlignment),
    vertex: 16,
    index: 16,
    copy: roundedAlignment(limits.optimalBufferCopyOffsetAlignment),
  };
}

/**
 * A device's alignment, at least 16, rounded up to a power of two, at most 2^30: the transient ring's alignments are
 * checked once here, not per allocation (Vulkan requires the two offset alignments to be powers of two; the copy one
 * is only a recommendation).
 */
function roundedAlignment(value: number): number {
  return Math.min(nextPowerOfTwo(Math.max(16, value)), 2 ** 30);
}
