/**
 * An upload batch: the staging copies waiting for one queue, in the order they were queued, until the transfers
 * record them (engine/resources/transfers.ts).
 *
 * Copies are grouped in phases. Copies of one phase write disjoint bytes, so they may run in any order; a copy that
 * overlaps an earlier one of its phase (the same buffer bytes, or the same texels of the same subresource) starts
 * the next phase, and a TRANSFER -> TRANSFER barrier separates phases when they are recorded, so that the later
 * upload wins (write-after-write). Finding the phase is the per-upload hot path: for buffers the batch keeps the
 * hull of the phase's ranges, and a range outside it (uploads filling a buffer in order) skips the scan; the last
 * destination's list is cached so that a run of uploads into one buffer does no map lookup.
 *
 * Recording merges what can be merged: a copy that continues the previous one in both buffers was already extended
 * by the transfers; the buffer copies are recorded by one native call per phase (native/copy_commands.cpp), one
 * vkCmdCopyBuffer per run of copies from one ring block into one buffer, with no nvk object per copy. In a phase
 * where a buffer is written again after another (uploads to many buffers in turn), the native call first groups
 * the copies by buffer, which any order within a phase allows: one command per buffer rather than per upload.
 * @internal
 * @module
 */
import { BuddyAllocation } from "../memory/buddy-allocation.js";
import { rawHandle, type NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";
import {
  ACCESS_MEMORY_WRITE,
  ACCESS_SHADER_READ,
  ACCESS_TRANSFER_WRITE,
  LAYOUT_SHADER_READ,
  LAYOUT_TRANSFER_DST,
  LAYOUT_UNDEFINED,
  QUEUE_FAMILY_IGNORED,
  STAGE_TRANSFER,
} from "../vulkan/vk.js";
import { imageBarrier } from "./barriers.js";
import { Buffer } from "./buffer.js";
import type { Texture } from "./texture.js";

/** A copy from a staging ring block into a buffer. */
export interface BufferCopy {
  phase: number;
  src: NvkHandle;
  /** The allocation handle of the ring block `src` (for the native recording). */
  srcAllocation: number;
  dst: Buffer;
  srcOffset: number;
  dstOffset: number;
  size: number;
}
/** A copy from a staging ring block into one region of one image subresource. */
export interface ImageCopy {
  phase: number;
  src: NvkHandle;
  dst: Texture;
  srcOffset: number;
  sub: number;
  mip: number;
  layer: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Copies waiting for one queue, made once per queue by the Transfers and cleared after each recording. */
export class Batch {
  readonly bufferCopies: BufferCopy[] = [];
  readonly imageCopies: ImageCopy[] = [];
  /** Image subresources the batch writes, with the layout each had before it: texture -> sub -> old layout. */
  readonly touched = new Map<Texture, Map<number, number>>();
  /** Buffers the batch writes (for release barriers on the transfer queue). */
  readonly buffers = new Set<Buffer>();
  /**
   * Copies of one phase write disjoint bytes; a copy that overlaps an earlier one of its phase starts the next
   * phase, and a TRANSFER -> TRANSFER barrier separates phases, so the later upload wins (write-after-write).
   */
  phase = 0;
  /** What the current phase wrote: per buffer [start, end) pairs; per texture [sub, x0, y0, x1, y1] tuples. */
  readonly #written = new Map<object, number[]>();
  /** The buffer copies as rows for the native recording (grown as needed, reused). */
  #table = new Float64Array(320);
  #lastDst: object | null = null;
  #lastList: number[] | null = null;
  /**
   * The phases in which a buffer was written again after another one (uploads to many buffers in turn): their copies
   * are grouped by buffer when recorded, one vkCmdCopyBuffer per buffer instead of one per upload.
   */
  readonly #regroup: boolean[] = [];

  /** The phase a write of `dst` over the range lands in (a new one when it overlaps this phase's writes). */
  phaseFor(dst: object, a: number, b: number, c = 0, d = 0, e = 0): number {
    let list: number[] | undefined;
    const image = !(dst instanceof Buffer);
    if (dst === this.#lastDst) list = this.#lastList!;
    else {
      list = this.#written.get(dst);
      if (list === undefined) this.#written.set(dst, (list = []));
      // Written again after another buffer (when this write starts a new phase, the mark only costs that phase a sort).
      else if (!image && list.length > 0) this.#regroup[this.phase] = true;
      this.#lastDst = dst;
      this.#lastList = list;
    }
    const stride = image ? 5 : 2;
    // Buffers: list[0..1] hold the hull of the phase's ranges; a range outside it (the common case of uploads
    // filling a buffer in order) cannot overlap, and the scan is skipped. A range that starts where the last one
    // ended extends it.
    if (!image) {
      if (list.length === 0) {
        list.push(a, b);
      } else if (b <= list[0]! || a >= list[1]!) {
        list[0] = Math.min(list[0]!, a);
        list[1] = Math.max(list[1]!, b);
        if (list.length > 2 && list[list.length - 1] === a) list[list.length - 1] = b;
        else list.push(a, b);
        return this.phase;
      }
    }
    for (let i = image ? 0 : 2; i < list.length; i += stride) {
      const overlap = image
        ? list[i] === a && list[i + 1]! < d && b < list[i + 3]! && list[i + 2]! < e && c < list[i + 4]!
        : list[i]! < b && a < list[i + 1]!;
      if (overlap) {
        this.phase++;
        this.#written.clear();
        this.#written.set(dst, (list = []));
        this.#lastDst = dst;
        this.#lastList = list;
        break;
      }
    }
    if (image) list.push(a, b, c, d, e);
    else {
      if (list.length === 0)
        list.push(a, b); // the hull of a new phase
      else {
        list[0] = Math.min(list[0]!, a);
        list[1] = Math.max(list[1]!, b);
      }
      list.push(a, b);
    }
    return this.phase;
  }

  /**
   * The image barriers around the batch's copies, one per subresource it writes: `before`, from the layout each had
   * to TRANSFER_DST_OPTIMAL (on one queue); after, from TRANSFER_DST_OPTIMAL to SHADER_READ_ONLY_OPTIMAL, a release
   * to `dstFamily` when the families differ.
   */
  layoutBarriers(before: boolean, srcFamily: number, dstFamily: number): any[] {
    const out: any[] = [];
    for (const [texture, subs] of this.touched) {
      for (const [sub, oldLayout] of subs) {
        out.push(
          before
            ? imageBarrier(
                texture,
                sub,
                oldLayout,
                LAYOUT_TRANSFER_DST,
                oldLayout === LAYOUT_UNDEFINED ? 0 : ACCESS_MEMORY_WRITE,
                ACCESS_TRANSFER_WRITE,
                QUEUE_FAMILY_IGNORED,
                QUEUE_FAMILY_IGNORED,
              )
            : imageBarrier(
                texture,
                sub,
                LAYOUT_TRANSFER_DST,
                LAYOUT_SHADER_READ,
                ACCESS_TRANSFER_WRITE,
                srcFamily === QUEUE_FAMILY_IGNORED ? ACCESS_SHADER_READ : 0,
                srcFamily,
                dstFamily,
              ),
        );
      }
    }
    return out;
  }

  /** Records the batch's copies into `cmd`, phase by phase, with a TRANSFER -> TRANSFER barrier between phases. */
  recordCopies(cmd: NvkHandle): void {
    const copies = this.bufferCopies;
    const images = this.imageCopies;
    const table = copies.length > 0 ? this.#fillTable() : this.#table;
    const raw = copies.length > 0 ? rawHandle(cmd) : 0n;
    // The addon of the manager's allocator (a debug allocator runs on the debug build, with its own handles).
    const addon = copies.length > 0 ? copies[0]!.dst._parts.allocation.allocator._native : null;
    let i = 0;
    let k = 0;
    for (let phase = 0; phase <= this.phase; phase++) {
      if (phase > 0) {
        const barrier = new nvk.VkMemoryBarrier({
          srcAccessMask: ACCESS_TRANSFER_WRITE,
          dstAccessMask: ACCESS_TRANSFER_WRITE,
        });
        nvk.vkCmdPipelineBarrier(cmd, STAGE_TRANSFER, STAGE_TRANSFER, 0, 1, [barrier], 0, null, 0, null);
      }
      // The phase's buffer copies are recorded natively, one vkCmdCopyBuffer per run of copies from one ring block
      // into one buffer (native/copy_commands.cpp); a buffer it does not take (not created by vkmem's allocator
      // alone) is recorded here through nvk, and the native call goes on after it.
      let end = i;
      while (end < copies.length && copies[end]!.phase === phase) end++;
      while (i < end) {
        i = addon!.cmdCopyBuffers(raw, table, i, end, this.#regroup[phase] === true);
        if (i < end) i = this.#recordRun(cmd, i, end);
      }
      while (k < images.length && images[k]!.phase === phase) {
        const c = images[k++]!;
        const region = new nvk.VkBufferImageCopy({
          bufferOffset: c.srcOffset,
          bufferRowLength: 0,
          bufferImageHeight: 0,
          imageSubresource: new nvk.VkImageSubresourceLayers({
            aspectMask: c.dst.aspect,
            mipLevel: c.mip,
            baseArrayLayer: c.layer,
            layerCount: 1,
          }),
          imageOffset: new nvk.VkOffset3D({ x: c.x, y: c.y, z: 0 }),
          imageExtent: new nvk.VkExtent3D({ width: c.width, height: c.height, depth: 1 }),
        });
        nvk.vkCmdCopyBufferToImage(cmd, c.src, c.dst._parts.image, LAYOUT_TRANSFER_DST, 1, [region]);
      }
    }
  }

  /** Records copies [i, j) of one source and destination through nvk, where j ends the run; returns j. */
  #recordRun(cmd: NvkHandle, i: number, end: number): number {
    const copies = this.bufferCopies;
    const first = copies[i]!;
    const regions = [];
    let j = i;
    while (j < end && copies[j]!.src === first.src && copies[j]!.dst === first.dst) {
      const c = copies[j++]!;
      regions.push(new nvk.VkBufferCopy({ srcOffset: c.srcOffset, dstOffset: c.dstOffset, size: c.size }));
    }
    nvk.vkCmdCopyBuffer(cmd, first.src, first.dst._parts.handle, regions.length, regions);
    return j;
  }

  /** The copies as rows of 5 numbers (source allocation, destination allocation, offsets, size), for the addon. */
  #fillTable(): Float64Array {
    const copies = this.bufferCopies;
    if (this.#table.length < copies.length * 5) this.#table = new Float64Array(Math.max(64, copies.length * 2) * 5);
    const t = this.#table;
    let lastDst: Buffer | null = null;
    let dstHandle = 0;
    for (let i = 0, o = 0; i < copies.length; i++, o += 5) {
      const c = copies[i]!;
      if (c.dst !== lastDst) {
        lastDst = c.dst;
        // A buddy pool's allocation handle names a node of its block, not a slot of the addon: -1 sends it to nvk.
        const allocation = c.dst._parts.allocation;
        dstHandle = allocation instanceof BuddyAllocation ? -1 : allocation._handle;
      }
      t[o] = c.srcAllocation;
      t[o + 1] = dstHandle;
      t[o + 2] = c.srcOffset;
      t[o + 3] = c.dstOffset;
      t[o + 4] = c.size;
    }
    return t;
  }

  /** Whether it holds no copy. */
  get empty(): boolean {
    return this.bufferCopies.length === 0 && this.imageCopies.length === 0;
  }

  /** Forgets every copy and phase (after recording, or when the manager is destroyed). */
  clear(): void {
    this.bufferCopies.length = 0;
    this.imageCopies.length = 0;
    this.touched.clear();
    this.buffers.clear();
    this.phase = 0;
    this.#regroup.length = 0;
    this.#written.clear();
    this.#lastDst = null;
    this.#lastList = null;
  }
}
