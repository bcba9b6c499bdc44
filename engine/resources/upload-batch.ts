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
 * The buffer copies are columns, not an object each: the rows the native recording reads (a Float64Array grown as
 * needed and kept), their phases, and their source and destination objects in arrays overwritten in place. Queuing
 * an upload allocates nothing once the columns have grown to a frame's count (an object per copy cost 170-250 heap
 * bytes per scattered upload, measured with 1,000 a frame).
 *
 * Recording merges what can be merged: a copy that continues the previous one in both buffers extends it as it is
 * queued ({@link Batch.addBufferCopy}); the buffer copies are recorded by one native call per phase
 * (native/copy_commands.cpp), one vkCmdCopyBuffer per run of copies from one ring block into one buffer, with no nvk
 * object per copy, and the image copies likewise, one vkCmdCopyBufferToImage per run into one texture (through nvk,
 * each region cost four struct objects and a call: 5-15 µs a region with its barriers). In a phase
 * where a buffer is written again after another (uploads to many buffers in turn), the native call first groups
 * the copies by buffer, which any order within a phase allows: one command per buffer rather than per upload.
 * @internal
 * @module
 */
import { slotHandleOf } from "../memory/buddy-allocation.js";
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
import { withRoom } from "../typed-arrays.js";
import type { RingBlock } from "./upload-ring.js";
import type { ImageBarriers } from "./barriers.js";
import { Buffer } from "./buffer.js";
import type { Texture } from "./texture.js";
import type { NativeAddon } from "../native.js";
import { copyAccess, copyStages, SCATTER_MIN_COPIES, type ScatterCopies } from "./scatter-copies.js";

/** Numbers per buffer copy in the rows the native recording reads (native/copy_commands.cpp). */
const ROW = 5;
/**
 * Numbers per image copy in the rows cmdCopyBufferToImages reads: the ring block's allocation handle, the texture's
 * (-1 for a buddy pool's: nvk records it), srcOffset, mip, layer, x, y, width, height.
 */
const IMAGE_ROW = 9;
/** Columns of a row: the ring block's allocation handle, the destination's (filled when recorded), offsets, size. */
const SRC_ALLOCATION = 0;
const DST_ALLOCATION = 1;
const SRC_OFFSET = 2;
const DST_OFFSET = 3;
const SIZE = 4;
/** A copy from a staging ring block into one region of one image subresource. */
export interface ImageCopy {
  phase: number;
  /** The ring block copied from: its buffer, and its allocation, which names the buffer to the native recording. */
  src: RingBlock;
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

/**
 * Ids of the phases of every Batch (of every manager): a buffer's list of written ranges belongs to the phase whose id
 * it holds, so that no two batches, nor two phases of one, take each other's ranges.
 */
let phaseIds = 0;

/** The ranges one phase wrote into one destination: numbers in a Float64Array that keeps its capacity when reused. */
class WrittenRanges {
  values = new Float64Array(16);
  count = 0;

  push2(a: number, b: number): void {
    const n = this.count;
    let v = this.values;
    if (n + 2 > v.length) v = this.values = withRoom(v, n + 2);
    v[n] = a;
    v[n + 1] = b;
    this.count = n + 2;
  }

  push5(a: number, b: number, c: number, d: number, e: number): void {
    const v = (this.values = withRoom(this.values, this.count + 5));
    const n = this.count;
    v[n] = a;
    v[n + 1] = b;
    v[n + 2] = c;
    v[n + 3] = d;
    v[n + 4] = e;
    this.count = n + 5;
  }
}

/** Widens the hull [v[0], v[1]) of a buffer's written ranges to take in [a, b). */
function extendHull(v: Float64Array, a: number, b: number): void {
  if (a < v[0]!) v[0] = a;
  if (b > v[1]!) v[1] = b;
}

/** Copies waiting for one queue, made once per queue by the Transfers and cleared after each recording. */
export class Batch {
  /** The buffer copies queued: rows [0, bufferCopyCount) of the columns below. */
  bufferCopyCount = 0;
  /** The rows, ROW numbers per copy, in the native recording's layout (grown as needed, kept). */
  #rows = new Float64Array(64 * ROW);
  /** Each copy's phase. */
  #phases = new Float64Array(64);
  /** Each copy's source (a ring block's buffer) and destination; entries past the count are null. */
  readonly #srcs: (NvkHandle | null)[] = [];
  readonly #dsts: (Buffer | null)[] = [];
  readonly imageCopies: ImageCopy[] = [];
  /** The image copies as rows for the native recording (IMAGE_ROW numbers each), filled when recorded; kept. */
  #imageRows = new Float64Array(16 * IMAGE_ROW);
  /** Image subresources the batch writes, with the layout each had before it: texture -> sub -> old layout. */
  readonly touched = new Map<Texture, Map<number, number>>();
  /** Buffers the batch writes (for release barriers on the transfer queue). */
  readonly buffers = new Set<Buffer>();
  /**
   * Copies of one phase write disjoint bytes; a copy that overlaps an earlier one of its phase starts the next
   * phase, and a TRANSFER -> TRANSFER barrier separates phases, so the later upload wins (write-after-write).
   */
  phase = 0;
  /**
   * What the current phase wrote. Per buffer, [start, end) pairs in a list the Buffer itself holds (`_written`),
   * valid while its `_writtenPhase` is this batch's {@link #phaseId}: a field read instead of a map lookup per upload.
   * Per texture, [sub, x0, y0, x1, y1] tuples in {@link #written}.
   */
  #phaseId = ++phaseIds;
  readonly #written = new Map<object, WrittenRanges>();
  /** Lists of written ranges a past phase or frame used, kept for the next (their arrays keep their capacity). */
  readonly #spareLists: WrittenRanges[] = [];
  #lastDst: object | null = null;
  #lastList: WrittenRanges | null = null;
  /**
   * The phases in which a buffer was written again after another one (uploads to many buffers in turn): their copies
   * are grouped by buffer when recorded, one vkCmdCopyBuffer per buffer instead of one per upload.
   */
  readonly #regroup: boolean[] = [];

  /**
   * The phase a write of `dst` over bytes [a, b) lands in (a new one when it overlaps this phase's writes). Buffers
   * and textures have a function each: an upload's caller knows which it writes, and the buffer's, called per
   * upload, then tests no class and takes no branch of the texture's.
   */
  phaseForBuffer(dst: Buffer, a: number, b: number): number {
    let list: WrittenRanges;
    if (dst._writtenPhase === this.#phaseId) {
      list = dst._written as WrittenRanges;
      // Written again after another buffer (should this write start a new phase, the mark costs that one a sort).
      if (dst !== this.#lastDst) this.#regroup[this.phase] = true;
    } else list = this.#bufferList(dst);
    this.#lastDst = dst;
    // The list's first pair holds the hull of the phase's ranges; a range outside it (the common case of uploads
    // filling a buffer in order) cannot overlap, and the scan is skipped. A range that starts where the last one
    // ended extends it.
    const v = list.values;
    const count = list.count;
    if (count > 0 && (b <= v[0]! || a >= v[1]!)) {
      extendHull(v, a, b);
      if (count > 2 && v[count - 1] === a) v[count - 1] = b;
      else list.push2(a, b);
      return this.phase;
    }
    for (let i = 2; i < count; i += 2) {
      if (v[i]! < b && a < v[i + 1]!) {
        this.phase++;
        this.#forgetWritten();
        this.#lastDst = dst;
        list = this.#bufferList(dst);
        break;
      }
    }
    if (list.count === 0)
      list.push2(a, b); // the hull of a new phase
    else extendHull(list.values, a, b);
    list.push2(a, b);
    return this.phase;
  }

  /**
   * The phase a write of region [x0, x1) x [y0, y1) of subresource `sub` of `dst` lands in (a new one when it
   * overlaps a region of that subresource this phase wrote).
   */
  phaseForImage(dst: Texture, sub: number, x0: number, y0: number, x1: number, y1: number): number {
    let list: WrittenRanges;
    if (dst === this.#lastDst) list = this.#lastList!;
    else {
      const known = this.#written.get(dst);
      if (known === undefined) this.#written.set(dst, (list = this.#newList()));
      else list = known;
      this.#lastDst = dst;
      this.#lastList = list;
    }
    const v = list.values;
    for (let i = 0; i < list.count; i += 5) {
      if (v[i] === sub && v[i + 1]! < x1 && x0 < v[i + 3]! && v[i + 2]! < y1 && y0 < v[i + 4]!) {
        this.phase++;
        this.#forgetWritten();
        this.#lastDst = dst;
        this.#written.set(dst, (this.#lastList = list = this.#newList()));
        break;
      }
    }
    list.push5(sub, x0, y0, x1, y1);
    return this.phase;
  }

  /** `buffer`'s list of written ranges, emptied and claimed for the current phase. */
  #bufferList(buffer: Buffer): WrittenRanges {
    let list = buffer._written as WrittenRanges | null;
    if (list === null) buffer._written = list = new WrittenRanges();
    else list.count = 0;
    buffer._writtenPhase = this.#phaseId;
    return list;
  }

  /** An empty list of written ranges, from those a past phase or frame used. */
  #newList(): WrittenRanges {
    const list = this.#spareLists.pop() ?? new WrittenRanges();
    list.count = 0;
    return list;
  }

  /** Ends the current phase's record of written ranges; its lists serve the next. */
  #forgetWritten(): void {
    // A new id leaves every buffer's list stale at once.
    this.#phaseId = ++phaseIds;
    for (const list of this.#written.values()) this.#spareLists.push(list);
    this.#written.clear();
    this.#lastDst = null;
    this.#lastList = null;
  }

  /**
   * Queues a copy of `size` bytes from `src` (a ring block's buffer, whose allocation handle is `srcAllocation`) at
   * `srcOffset` into `dst` at `dstOffset`, in `phase`. A copy that continues the previous one in the ring and in the
   * buffer, in the same phase (a stream of uploads), extends it instead.
   */
  addBufferCopy(
    phase: number,
    src: NvkHandle,
    srcAllocation: number,
    dst: Buffer,
    srcOffset: number,
    dstOffset: number,
    size: number,
  ): void {
    const n = this.bufferCopyCount;
    if (n > 0) {
      const rows = this.#rows;
      const o = (n - 1) * ROW;
      if (
        this.#phases[n - 1] === phase &&
        this.#dsts[n - 1] === dst &&
        this.#srcs[n - 1] === src &&
        rows[o + SRC_OFFSET]! + rows[o + SIZE]! === srcOffset &&
        rows[o + DST_OFFSET]! + rows[o + SIZE]! === dstOffset
      ) {
        rows[o + SIZE] += size;
        return;
      }
    }
    if (n === this.#phases.length) {
      // Full: both columns double (from 64 copies), so the rows have room exactly when the phases do.
      this.#rows = withRoom(this.#rows, (n + 1) * ROW);
      this.#phases = withRoom(this.#phases, n + 1);
    }
    const rows = this.#rows;
    const o = n * ROW;
    rows[o + SRC_ALLOCATION] = srcAllocation;
    rows[o + SRC_OFFSET] = srcOffset;
    rows[o + DST_OFFSET] = dstOffset;
    rows[o + SIZE] = size;
    this.#phases[n] = phase;
    this.#srcs[n] = src;
    this.#dsts[n] = dst;
    this.bufferCopyCount = n + 1;
  }

  /**
   * Adds the image barriers around the batch's copies to `barriers`, one per subresource it writes: `before`, from the
   * layout each had to TRANSFER_DST_OPTIMAL (on one queue); after, from TRANSFER_DST_OPTIMAL to
   * SHADER_READ_ONLY_OPTIMAL, a release to `dstFamily` when the families differ.
   */
  addLayoutBarriers(barriers: ImageBarriers, before: boolean, srcFamily: number, dstFamily: number): void {
    for (const [texture, subs] of this.touched) {
      for (const [sub, oldLayout] of subs) {
        if (before)
          barriers.add(
            texture,
            sub,
            oldLayout,
            LAYOUT_TRANSFER_DST,
            oldLayout === LAYOUT_UNDEFINED ? 0 : ACCESS_MEMORY_WRITE,
            ACCESS_TRANSFER_WRITE,
            QUEUE_FAMILY_IGNORED,
            QUEUE_FAMILY_IGNORED,
          );
        else
          barriers.add(
            texture,
            sub,
            LAYOUT_TRANSFER_DST,
            LAYOUT_SHADER_READ,
            ACCESS_TRANSFER_WRITE,
            srcFamily === QUEUE_FAMILY_IGNORED ? ACCESS_SHADER_READ : 0,
            srcFamily,
            dstFamily,
          );
      }
    }
  }

  /**
   * Records the batch's copies into `cmd`, phase by phase, with a TRANSFER -> TRANSFER barrier between phases; with
   * `scatter`, a phase's buffer copies go through it where it takes them (its phases' barriers then name the compute
   * stage too: scatter-copies.ts).
   */
  recordCopies(cmd: NvkHandle, scatter: ScatterCopies | null): void {
    const count = this.bufferCopyCount;
    const images = this.imageCopies;
    const table = this.#rows;
    if (count > 0) this.#fillDestinations();
    if (images.length > 0) this.#fillImageRows();
    const any = count > 0 ? this.#dsts[0]! : images.length > 0 ? images[0]!.dst : null;
    const raw = any !== null ? rawHandle(cmd) : 0n;
    // The addon of the manager's allocator (a debug allocator runs on the debug build, with its own handles).
    const addon = any !== null ? any._freeAllocation.allocator._native : null;
    const imageRows = this.#imageRows;
    const stage = copyStages(scatter);
    const write = copyAccess(scatter);
    scatter?.begin(count);
    let i = 0;
    let k = 0;
    for (let phase = 0; phase <= this.phase; phase++) {
      if (phase > 0) {
        const barrier = new nvk.VkMemoryBarrier({ srcAccessMask: write, dstAccessMask: write });
        nvk.vkCmdPipelineBarrier(cmd, stage, stage, 0, 1, [barrier], 0, null, 0, null);
      }
      let end = i;
      while (end < count && this.#phases[end] === phase) end++;
      // A phase of many copies: the scatter takes those it can, one copy it cannot is recorded on its own.
      if (scatter !== null && end - i >= SCATTER_MIN_COPIES) {
        while (i < end) {
          const next = scatter.record(raw, table, i, end);
          if (next < 0) break; // no room for the table: copy commands
          i = next < end ? this.#recordCopyRange(cmd, addon!, raw, next, next + 1, false) : next;
        }
      }
      i = this.#recordCopyRange(cmd, addon!, raw, i, end, this.#regroup[phase] === true);
      // The phase's image copies likewise (cmdCopyBufferToImages: one vkCmdCopyBufferToImage per run of copies from
      // one ring block into one texture), a texture it does not take through nvk.
      let imagesEnd = k;
      while (imagesEnd < images.length && images[imagesEnd]!.phase === phase) imagesEnd++;
      while (k < imagesEnd) {
        k = addon!.cmdCopyBufferToImages(raw, imageRows, k, imagesEnd);
        if (k < imagesEnd) this.#recordImageCopy(cmd, images[k++]!);
      }
    }
  }

  /**
   * Records buffer copies [i, end) of one phase natively, one vkCmdCopyBuffer per run of copies from one ring block
   * into one buffer (native/copy_commands.cpp), grouped by destination first with `regroup`; a buffer it does not
   * take (not created by vkmem's allocator alone) is recorded here through nvk, and the native call goes on after
   * it. Returns `end`.
   */
  #recordCopyRange(cmd: NvkHandle, addon: NativeAddon, raw: bigint, i: number, end: number, regroup: boolean): number {
    while (i < end) {
      i = addon.cmdCopyBuffers(raw, this.#rows, i, end, regroup);
      if (i < end) i = this.#recordRun(cmd, i, end);
    }
    return i;
  }

  /** Records one image copy through nvk (a texture the native recording does not take). */
  #recordImageCopy(cmd: NvkHandle, c: ImageCopy): void {
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
    nvk.vkCmdCopyBufferToImage(cmd, c.src.buffer, c.dst._parts.image, LAYOUT_TRANSFER_DST, 1, [region]);
  }

  /**
   * Writes the image copies' rows for cmdCopyBufferToImages, with each texture's allocation handle (slotHandleOf: a
   * buddy pool's is -1, which sends it to nvk).
   */
  #fillImageRows(): void {
    const images = this.imageCopies;
    const rows = (this.#imageRows = withRoom(this.#imageRows, images.length * IMAGE_ROW));
    let lastDst: Texture | null = null;
    let dstHandle = 0;
    for (let k = 0, o = 0; k < images.length; k++, o += IMAGE_ROW) {
      const c = images[k]!;
      if (c.dst !== lastDst) {
        lastDst = c.dst;
        dstHandle = slotHandleOf(c.dst._freeAllocation);
      }
      rows[o] = c.src.allocation._handle;
      rows[o + 1] = dstHandle;
      rows[o + 2] = c.srcOffset;
      rows[o + 3] = c.mip;
      rows[o + 4] = c.layer;
      rows[o + 5] = c.x;
      rows[o + 6] = c.y;
      rows[o + 7] = c.width;
      rows[o + 8] = c.height;
    }
  }

  /** Records copies [i, j) of one source and destination through nvk, where j ends the run; returns j. */
  #recordRun(cmd: NvkHandle, i: number, end: number): number {
    const srcs = this.#srcs;
    const dsts = this.#dsts;
    const rows = this.#rows;
    const src = srcs[i]!;
    const dst = dsts[i]!;
    const regions = [];
    let j = i;
    for (; j < end && srcs[j] === src && dsts[j] === dst; j++) {
      const o = j * ROW;
      regions.push(
        new nvk.VkBufferCopy({
          srcOffset: rows[o + SRC_OFFSET]!,
          dstOffset: rows[o + DST_OFFSET]!,
          size: rows[o + SIZE]!,
        }),
      );
    }
    nvk.vkCmdCopyBuffer(cmd, src, dst._parts.handle, regions.length, regions);
    return j;
  }

  /**
   * Writes each copy's destination allocation handle into its row, as the allocation is now (read when recorded, not
   * when queued: a live defragmentation may have moved the buffer in between).
   */
  #fillDestinations(): void {
    const rows = this.#rows;
    const dsts = this.#dsts;
    let lastDst: Buffer | null = null;
    let dstHandle = 0;
    for (let i = 0, o = DST_ALLOCATION; i < this.bufferCopyCount; i++, o += ROW) {
      const dst = dsts[i]!;
      if (dst !== lastDst) {
        lastDst = dst;
        dstHandle = slotHandleOf(dst._freeAllocation); // -1 for a buddy pool's: nvk records it
      }
      rows[o] = dstHandle;
    }
  }

  /** Whether it holds no copy. */
  get empty(): boolean {
    return this.bufferCopyCount === 0 && this.imageCopies.length === 0;
  }

  /** Forgets every copy and phase (after recording, or when the manager is destroyed). */
  clear(): void {
    // The objects are let go (a destroyed buffer must not stay reachable from here); the arrays keep their length.
    this.#srcs.fill(null, 0, this.bufferCopyCount);
    this.#dsts.fill(null, 0, this.bufferCopyCount);
    this.bufferCopyCount = 0;
    this.imageCopies.length = 0;
    this.touched.clear();
    this.buffers.clear();
    this.phase = 0;
    this.#regroup.length = 0;
    this.#forgetWritten();
  }
}
