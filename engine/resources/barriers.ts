/**
 * The pipeline barriers the transfers record: one image subresource, or one whole buffer. Image barriers go through
 * {@link ImageBarriers} and buffer barriers through {@link BufferBarriers}, which have the addon record a whole
 * vkCmdPipelineBarrier of them from rows of numbers; the nvk structs below serve the textures and buffers it does not
 * take (a buddy pool's, one a defragmentation pass is moving).
 *
 * A {@link Texture} is tracked per subresource (mip level x array layer, index `mip * arrayLayers + layer`), so every
 * image barrier covers exactly one subresource: the layout it names as old is the one tracked for that subresource
 * (`Texture._layouts`), and the caller writes the new layout back into the tracking when it records the barrier.
 * A barrier with two different queue families is half of an ownership transfer: the release recorded on the source
 * queue and the acquire recorded on the destination queue must name the same range and the same layouts
 * (engine/resources/transfers.ts records both). Buffers move whole: their barriers cover offset 0 to VK_WHOLE_SIZE.
 * @internal
 * @module
 */
import type { Allocator } from "../memory/allocator.js";
import { slotHandleOf } from "../memory/buddy-allocation.js";
import { rawHandle, type NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";
import { WHOLE_SIZE } from "../vulkan/vk.js";
import { withRoom } from "../typed-arrays.js";
import type { Buffer } from "./buffer.js";
import type { Texture } from "./texture.js";

/**
 * Numbers per image barrier in the rows the addon reads (native/copy_commands.cpp: cmdPipelineBarrier): the
 * texture's allocation handle (-1 for a buddy pool's), mip, layer, old and new layout, src and dst access, src and
 * dst queue family.
 */
const BARRIER_ROW = 9;

/**
 * The image barriers of one vkCmdPipelineBarrier, collected with {@link add} and recorded with {@link record}: by the
 * addon in one call, instead of two nvk struct objects per subresource and a call with arrays of them (with the
 * copies, 5-15 µs an uploaded region on the two-core machine). A texture the addon does not take (a buddy pool's,
 * whose image it does not record; one a defragmentation pass is moving, whose object may name the new image already)
 * gets its barrier through nvk, in a barrier of its own with the same stages. The rows and the texture list are kept
 * and reused: nothing is allocated per barrier once they have grown. One per Transfers.
 * @internal
 */
export class ImageBarriers {
  #rows = new Float64Array(16 * BARRIER_ROW);
  readonly #textures: (Texture | null)[] = [];
  #count = 0;

  /** Adds a barrier of subresource `sub` of `texture`, as {@link imageBarrier} describes one. */
  add(
    texture: Texture,
    sub: number,
    oldLayout: number,
    newLayout: number,
    srcAccess: number,
    dstAccess: number,
    srcFamily: number,
    dstFamily: number,
  ): void {
    const n = this.#count;
    const rows = (this.#rows = withRoom(this.#rows, (n + 1) * BARRIER_ROW));
    const layers = texture.arrayLayers;
    const o = n * BARRIER_ROW;
    rows[o] = slotHandleOf(texture._freeAllocation);
    rows[o + 1] = Math.floor(sub / layers);
    rows[o + 2] = sub % layers;
    rows[o + 3] = oldLayout;
    rows[o + 4] = newLayout;
    rows[o + 5] = srcAccess;
    rows[o + 6] = dstAccess;
    rows[o + 7] = srcFamily;
    rows[o + 8] = dstFamily;
    this.#textures[n] = texture;
    this.#count = n + 1;
  }

  /**
   * Records the barriers added into `cmd` (a command buffer of `allocator`'s device), with a global memory barrier
   * from `memorySrcAccess` to `memoryDstAccess` when `memory`, between `srcStage` and `dstStage`, and forgets them.
   * Records nothing when there are none and no memory barrier.
   */
  record(
    allocator: Allocator,
    cmd: NvkHandle,
    srcStage: number,
    dstStage: number,
    memory: boolean,
    memorySrcAccess: number,
    memoryDstAccess: number,
  ): void {
    const count = this.#count;
    if (count === 0 && !memory) return;
    const rows = this.#rows;
    const addon = allocator._native;
    const raw = rawHandle(cmd);
    let i = 0;
    let withMemory = memory;
    try {
      do {
        i = addon.cmdPipelineBarrier(
          allocator._handle,
          raw,
          srcStage,
          dstStage,
          withMemory,
          memorySrcAccess,
          memoryDstAccess,
          rows,
          i,
          count,
        );
        withMemory = false;
        if (i < count) {
          const o = i * BARRIER_ROW;
          const t = this.#textures[i]!;
          const barrier = imageBarrier(
            t,
            rows[o + 1]! * t.arrayLayers + rows[o + 2]!,
            rows[o + 3]!,
            rows[o + 4]!,
            rows[o + 5]!,
            rows[o + 6]!,
            rows[o + 7]!,
            rows[o + 8]!,
          );
          nvk.vkCmdPipelineBarrier(cmd, srcStage, dstStage, 0, 0, null, 0, null, 1, [barrier]);
          i++;
        }
      } while (i < count);
    } finally {
      // The textures are let go (a destroyed one must not stay reachable from here); the arrays keep their length.
      this.#textures.fill(null, 0, count);
      this.#count = 0;
    }
  }
}

/**
 * Whole-buffer barriers between two queue families (the dedicated transfer queue's release of the buffers its batch
 * wrote, and the main queue's acquire of them), added one by one and recorded as one vkCmdPipelineBarrier by the
 * addon (native/copy_commands.cpp cmdBufferBarriers): through nvk, each cost a struct object, which made most of a
 * 1.8-2.2 ms endFrame for a level load's 250 new buffers on an H100.
 */
export class BufferBarriers {
  #handles = new Float64Array(64);
  readonly #buffers: (Buffer | null)[] = [];
  #count = 0;
  readonly #srcFamily: number;
  readonly #dstFamily: number;

  /** Barriers from queue family `srcFamily` to `dstFamily` (both QUEUE_FAMILY_IGNORED: no ownership transfer). */
  constructor(srcFamily: number, dstFamily: number) {
    this.#srcFamily = srcFamily;
    this.#dstFamily = dstFamily;
  }

  /** Adds a barrier over the whole of `buffer`. */
  add(buffer: Buffer): void {
    const n = this.#count;
    if (n === this.#handles.length) this.#handles = withRoom(this.#handles, n + 1);
    this.#handles[n] = slotHandleOf(buffer._freeAllocation);
    this.#buffers[n] = buffer;
    this.#count = n + 1;
  }

  /**
   * Records the barriers added into `cmd` (a command buffer of `allocator`'s device) between `srcStage` and
   * `dstStage`, and forgets them. Records nothing when there are none.
   */
  record(
    allocator: Allocator,
    cmd: NvkHandle,
    srcStage: number,
    dstStage: number,
    srcAccess: number,
    dstAccess: number,
  ): void {
    const count = this.#count;
    const addon = allocator._native;
    const raw = rawHandle(cmd);
    const from = this.#srcFamily;
    const to = this.#dstFamily;
    let i = 0;
    try {
      while (i < count) {
        i = addon.cmdBufferBarriers(
          allocator._handle,
          raw,
          srcStage,
          dstStage,
          srcAccess,
          dstAccess,
          from,
          to,
          this.#handles,
          i,
          count,
        );
        if (i < count) {
          // Not one the addon vouches for (a buddy pool's, one being moved): through nvk, then the rest again.
          const barrier = bufferBarrier(this.#buffers[i]!, srcAccess, dstAccess, from, to);
          nvk.vkCmdPipelineBarrier(cmd, srcStage, dstStage, 0, 0, null, 1, [barrier], 0, null);
          i++;
        }
      }
    } finally {
      // The buffers are let go (a destroyed one must not stay reachable from here); the arrays keep their length.
      this.#buffers.fill(null, 0, count);
      this.#count = 0;
    }
  }
}

/**
 * A VkImageMemoryBarrier for subresource `sub` of `texture` from `oldLayout` to `newLayout`. Pass
 * QUEUE_FAMILY_IGNORED for both families unless the barrier is half of an ownership transfer.
 */
export function imageBarrier(
  texture: Texture,
  sub: number,
  oldLayout: number,
  newLayout: number,
  srcAccess: number,
  dstAccess: number,
  srcFamily: number,
  dstFamily: number,
): any {
  const mip = Math.floor(sub / texture.arrayLayers);
  const layer = sub % texture.arrayLayers;
  return new nvk.VkImageMemoryBarrier({
    srcAccessMask: srcAccess,
    dstAccessMask: dstAccess,
    oldLayout,
    newLayout,
    srcQueueFamilyIndex: srcFamily,
    dstQueueFamilyIndex: dstFamily,
    image: texture._parts.image,
    subresourceRange: new nvk.VkImageSubresourceRange({
      aspectMask: texture.aspect,
      baseMipLevel: mip,
      levelCount: 1,
      baseArrayLayer: layer,
      layerCount: 1,
    }),
  });
}

/** A VkBufferMemoryBarrier over the whole of `buffer` (used for ownership transfers between queue families). */
export function bufferBarrier(
  buffer: Buffer,
  srcAccess: number,
  dstAccess: number,
  srcFamily: number,
  dstFamily: number,
): any {
  return new nvk.VkBufferMemoryBarrier({
    srcAccessMask: srcAccess,
    dstAccessMask: dstAccess,
    srcQueueFamilyIndex: srcFamily,
    dstQueueFamilyIndex: dstFamily,
    buffer: buffer._parts.handle,
    offset: 0,
    size: WHOLE_SIZE,
  });
}
