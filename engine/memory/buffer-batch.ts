/**
 * Batches of buffers: `allocator.createBuffers` / `destroyBuffers`, for level loads and particle systems that make
 * hundreds of buffers at once. One native call makes the whole batch (vmaCreateBuffer per buffer, native/batch.cpp),
 * and the results are typed arrays over one ArrayBuffer: allocation handles, offsets, sizes, memory types and the
 * VkBuffer values. No Allocation or nvk handle object is made per buffer; {@link BufferBatch.buffer} makes an nvk
 * VkBuffer when asked for one.
 *
 * Invariants:
 * - All or nothing. Every description and the options are checked before the native call (a TypeError or RangeError
 *   naming `descriptions[i]` or the option, with the value); the native call checks them again and, when VMA fails
 *   on buffer i, destroys the buffers it made before returning, so a failed createBuffers leaves nothing allocated
 *   and throws the typed VkError (OutOfDeviceMemoryError, ...) saying which buffer failed.
 * - A batch is freed whole, once: by `destroyBuffers` (a second call does nothing), or with its allocator's
 *   `destroy()`, which reports its buffers as leaks by name as it does any allocation. Its buffers are not
 *   Allocations: `destroyBuffer` does not take them, lost allocations, pools and persistent mapping are refused.
 * - The allocation handles native reads to free the batch are kept apart from the arrays the batch shows, so that
 *   writing into those arrays cannot make destroyBuffers free anything else.
 * - A recording allocator records one Allocate record per buffer and one Free per buffer, as the single calls do.
 * - No memory outside V8's heap per batch. The native call reads and writes one ArrayBuffer per module, reused by
 *   every batch of up to {@link REUSED_BATCH} buffers (a larger one gets its own): a fresh ArrayBuffer per batch is
 *   allocated with calloc and freed by V8's sweeper thread, and on lavapipe that cost a 64-buffer batch about 55 ns
 *   per buffer (glibc's consolidation of its small free chunks, and its arena lock taken from two threads), a third
 *   of what the batch cost beyond VMA.
 * - A batch's results stay where the native call wrote them until that buffer is wanted again: the next createBuffers
 *   first copies the results of the batch that still lives there into a plain array of numbers of its own ("spills"
 *   them). A batch destroyed before that is never copied: destroyBuffers hands native the handles where they lie.
 *   So the arrays can be read while the batch lives; once it is destroyed, those not read before throw
 *   DestroyedResourceError, as buffer() does.
 *
 * The layout of the native buffer is native/batch.cpp's (change both together), in 8-byte slots for n buffers:
 * inputs [0, 4n) size, usage, flags, sharing mode per buffer; outputs allocation handle [4n, 5n), offset [5n, 6n),
 * size [6n, 7n), memory type [7n, 8n), block size [8n, 9n), VkBuffer (u64) [9n, 10n), VkDeviceMemory (u64) [10n, 11n).
 * destroyBuffers reads only the handles, at [4n, 5n): those of a spilled batch are copied into a buffer kept for that.
 * @module
 */
import { DestroyedResourceError, InvalidStateError, describeValue, vkErrorFor } from "../errors.js";
import { reportCollected } from "../lifetime.js";
import { scratch, scratchU32, Slot } from "../native.js";
import { wrapHandle, type NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";
import type { Allocation } from "./allocation.js";
import type { BufferInfo } from "./types.js";
import { AllocationCreateFlags, encodeAllocationOptions, type AllocationOptions } from "./usage.js";

/** The allocator at work (the type of Allocation's upward link: this module imports nothing of allocator.ts). */
type Allocator = Allocation["allocator"];

const SLOTS = 11;

/**
 * GC's safety net for batches: one dropped without destroyBuffers is reported, unless its allocator was destroyed
 * (which freed and reported its buffers). The held value names the allocator, never the batch. As for single
 * allocations (vma-memory.ts), only for an allocator that captures creation stacks (the debugging mode): its
 * register and unregister cost about 4% of a 64-buffer batch on lavapipe (ratio_batch_vs_cpp 1.63 against 1.57, six
 * runs each), and a dropped batch is still freed, and its buffers reported by name, when its allocator is destroyed.
 */
const collectedBatches = new FinalizationRegistry<{ allocator: Allocator; name: string | null }>((held) => {
  if (held.allocator._handle !== 0) reportCollected("BufferBatch", held.name, undefined);
});
/** The most buffers in one batch (the native slot table's index space). */
export const MAX_BATCH = 2 ** 24;
const OP = "createBuffers";

/**
 * Buffers made together by {@link Allocator.createBuffers}: what VMA gave each, in typed arrays indexed like the
 * descriptions. Destroyed with {@link Allocator.destroyBuffers} (or with its allocator).
 */
export class BufferBatch {
  /** How many buffers. */
  readonly count: number;
  /**
   * @internal Where the results are while the batch lives: the native buffer the call wrote (its own, or the
   * module's while this batch is its `owner`), else the copy {@link _spill} made; both null once destroyed.
   */
  _data: ArrayBuffer | null;
  /**
   * @internal The spilled results, n = count: allocation handles [0, n) (the ones destroyBuffers frees), offsets
   * [n, 2n), sizes [2n, 3n), memory types [3n, 4n), then the VkBuffer values as u32 pairs (low, high) [4n, 6n) and
   * the VkDeviceMemory values [6n, 8n).
   */
  _results: number[] | null = null;
  /** @internal */
  readonly _allocator: Allocator;
  /** @internal The name given to every allocation, or null. */
  readonly _name: string | null;
  // The arrays, each made on first use (most batches are made and destroyed without a look at them).
  #allocations: Float64Array | null = null;
  #offsets: Float64Array | null = null;
  #sizes: Float64Array | null = null;
  #memoryTypes: Float64Array | null = null;
  #buffers: BigUint64Array | null = null;
  #memories: BigUint64Array | null = null;

  /** @internal Made by createBuffers. */
  constructor(allocator: Allocator, data: ArrayBuffer, count: number, name: string | null) {
    this._allocator = allocator;
    this._data = data;
    this._name = name;
    this.count = count;
  }

  /**
   * Native allocation handles (identifiers: numbers vkmem and traces name allocations by): a copy, so that writing
   * into it cannot change what destroyBuffers frees.
   */
  get allocations(): Float64Array {
    return (this.#allocations ??= this.#numbers(0));
  }
  /** Offset of each buffer's memory in its VkDeviceMemory. */
  get offsets(): Float64Array {
    return (this.#offsets ??= this.#numbers(1));
  }
  /** Size of each allocation (at least the buffer's size). */
  get sizes(): Float64Array {
    return (this.#sizes ??= this.#numbers(2));
  }
  /** Memory type index of each allocation. */
  get memoryTypes(): Float64Array {
    return (this.#memoryTypes ??= this.#numbers(3));
  }
  /** The raw VkBuffer values; {@link buffer} makes an nvk handle object of one. */
  get buffers(): BigUint64Array {
    return (this.#buffers ??= this.#handles(0));
  }
  /** The raw VkDeviceMemory values. */
  get memories(): BigUint64Array {
    return (this.#memories ??= this.#handles(1));
  }

  /** Results part `part` (0 handles, 1 offsets, 2 sizes, 3 memory types) as a new Float64Array. */
  #numbers(part: number): Float64Array {
    const n = this.count;
    const out = new Float64Array(n);
    const data = this.#live();
    if (data !== null) out.set(new Float64Array(data, (4 + part) * n * 8, n));
    else for (let i = 0, at = part * n; i < n; i++, at++) out[i] = this._results![at]!;
    return out;
  }

  /** The u64 values of part `part` (0 VkBuffer, 1 VkDeviceMemory) as a new BigUint64Array. */
  #handles(part: number): BigUint64Array {
    const n = this.count;
    const out = new BigUint64Array(n);
    const data = this.#live();
    if (data !== null) out.set(new BigUint64Array(data, (9 + part) * n * 8, n));
    else {
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0, at = (4 + 2 * part) * n; i < 2 * n; i++, at++) u32[i] = this._results![at]!;
    }
    return out;
  }

  /** Where the results are (the native buffer, or null for the spilled copy). @throws once destroyed */
  #live(): ArrayBuffer | null {
    if (this.destroyed) throw new DestroyedResourceError("BufferBatch", this._name ?? undefined, "read its results");
    return this._data;
  }

  /** @internal The allocation handles, at [0, count), wherever the results are (a live batch). */
  _handles(): ArrayLike<number> {
    const data = this._data;
    return data !== null ? new Float64Array(data, 4 * this.count * 8, this.count) : this._results!;
  }

  /** @internal The module's native buffer is wanted for another batch: copies this one's results out of it. */
  _spill(): void {
    const data = this._data;
    if (data === null) return;
    if (this._allocator._handle !== 0) this._results = copyResults(data, this.count);
    this._data = null;
  }

  /** True once destroyBuffers freed it, or its allocator was destroyed. */
  get destroyed(): boolean {
    return (this._data === null && this._results === null) || this._allocator._handle === 0;
  }

  /** @internal destroyBuffers ran: its results go. */
  _markFreed(): void {
    this._data = null;
    this._results = null;
  }

  /**
   * An nvk VkBuffer for buffer `index`, made now (each call makes a new handle object).
   * @throws RangeError for an index out of range; DestroyedResourceError once the batch is destroyed.
   */
  buffer(index: number): NvkHandle {
    if (this.destroyed) throw new DestroyedResourceError("BufferBatch", this._name ?? undefined, "buffer");
    if (!Number.isInteger(index) || index < 0 || index >= this.count)
      throw new RangeError(
        `BufferBatch.buffer: index must be an integer from 0 to ${this.count - 1}, got ${describeValue(index)}`,
      );
    return wrapHandle(nvk.VkBuffer, this.buffers[index]!);
  }
}

/**
 * The most buffers a batch may have for the native buffer to be the module's reused one (about 350 KiB at most); a
 * larger batch gets an ArrayBuffer of its own, whose cost is small beside its buffers'.
 */
const REUSED_BATCH = 4096;
/** The module's native buffer, grown up to {@link REUSED_BATCH} buffers' worth. */
let reused = new ArrayBuffer(64 * SLOTS * 8);
/** The live batch whose results are in `reused`, if any. */
let owner: BufferBatch | null = null;
/** Whether the module's native buffer is in use by a createBuffers call now (a getter it calls may make another). */
let inUse = false;
/** Where destroyBuffers puts a spilled batch's handles for native: [4n, 5n) of the layout (grown to REUSED_BATCH). */
let handlesOut = new ArrayBuffer(64 * SLOTS * 8);

/**
 * The native buffer for a new batch of `count`: the reused one (its owner's results spilled first, and grown when
 * needed), or one of its own when that one is in use or too small to be kept.
 */
function nativeBuffer(count: number): ArrayBuffer {
  if (inUse || count > REUSED_BATCH) return new ArrayBuffer(count * SLOTS * 8);
  if (owner !== null) {
    owner._spill();
    owner = null;
  }
  if (reused.byteLength < count * SLOTS * 8) reused = new ArrayBuffer(grown(reused, count, SLOTS));
  return reused;
}

/** The byte length `buffer` of `slots` slots per buffer grows to for `count` buffers (doubling). */
function grown(buffer: ArrayBuffer, count: number, slots: number): number {
  let n = buffer.byteLength / (slots * 8);
  while (n < count) n *= 2;
  return n * slots * 8;
}

/**
 * createBuffers: `count` buffers of one description, or one buffer per description, with one set of options.
 * @throws TypeError / RangeError for bad arguments (nothing made); VkError when VMA fails (nothing kept).
 */
export function createBufferBatch(
  allocator: Allocator,
  first: number | readonly BufferInfo[],
  second: BufferInfo | AllocationOptions | undefined,
  third: AllocationOptions | undefined,
): BufferBatch {
  const h = allocator._live(OP);
  let count: number;
  if (typeof first === "number") {
    count = first;
    if (!Number.isInteger(count) || count < 1 || count > MAX_BATCH)
      throw new RangeError(`${OP}: count must be an integer from 1 to ${MAX_BATCH}, got ${describeValue(first)}`);
  } else if (Array.isArray(first)) {
    count = first.length;
    if (count < 1 || count > MAX_BATCH)
      throw new RangeError(`${OP}: descriptions must hold 1 to ${MAX_BATCH} buffer descriptions, got ${count}`);
  } else {
    throw new TypeError(
      `${OP}: the first argument must be a count or an array of buffer descriptions, got ${describeValue(first)}`,
    );
  }
  // A description's or the options' getters may make another batch: the buffer in use is then not lent again.
  const lent = !inUse;
  const data = nativeBuffer(count);
  inUse = true;
  try {
    const input = new Float64Array(data, 0, 4 * count);
    let options: AllocationOptions | undefined;
    if (typeof first === "number") {
      allocator._encodeBuffer(second as BufferInfo, OP, "description");
      const s0 = scratch[0]!;
      const s1 = scratch[1]!;
      const s2 = scratch[2]!;
      const s3 = scratch[3]!;
      for (let i = 0, at = 0; i < count; i++, at += 4) {
        input[at] = s0;
        input[at + 1] = s1;
        input[at + 2] = s2;
        input[at + 3] = s3;
      }
      options = third;
    } else {
      const descriptions = first as readonly BufferInfo[];
      for (let i = 0, at = 0; i < count; i++, at += 4) {
        const d = descriptions[i]!;
        try {
          allocator._encodeBuffer(d, OP, "descriptions[i]");
        } catch {
          allocator._encodeBuffer(d, OP, `descriptions[${i}]`); // the same check again, to name the index
        }
        input[at] = scratch[0]!;
        input[at + 1] = scratch[1]!;
        input[at + 2] = scratch[2]!;
        input[at + 3] = scratch[3]!;
      }
      options = second as AllocationOptions | undefined;
    }
    const flags = encodeAllocationOptions(options, OP, "allocationOptions", allocator);
    const name = checkBatchOptions(options, flags);
    const result = allocator._native.createBuffers(h, data, count, name);
    const recording = allocator._recording;
    if (result !== 0) {
      const failed = scratch[Slot.OutAllocation]!;
      recording?.failed(0, "buffer", 0, name, result);
      throw vkErrorFor(
        result,
        "vmaCreateBuffer",
        name ?? undefined,
        `buffer ${failed} of a batch of ${count}; none was kept`,
      );
    }
    const batch = new BufferBatch(allocator, data, count, name);
    if (data === reused) owner = batch;
    if (recording !== null) recordBatch(data, batch, recording);
    if (allocator._capturesStacks) collectedBatches.register(batch, { allocator, name }, batch);
    return batch;
  } finally {
    if (lent) inUse = false;
  }
}

/** The outputs of a batch of `count` in `data` (the native layout) as a BufferBatch keeps them. */
function copyResults(data: ArrayBuffer, count: number): number[] {
  const f64 = new Float64Array(data);
  const u32 = new Uint32Array(data);
  // Made at its full length and filled (pushes, growing it, cost a 64-buffer batch about 40 ns per buffer more).
  const results = new Array<number>(8 * count);
  let k = 0;
  // Handles, offsets, sizes and memory types lie in four consecutive parts of n slots: [4n, 8n).
  for (let at = 4 * count, end = 8 * count; at < end; at++) results[k++] = f64[at]!;
  // The u64 values, as the u32 halves of slots [9n, 11n).
  for (let at = 18 * count, end = 22 * count; at < end; at++) results[k++] = u32[at]!;
  return results;
}

/** destroyBuffers: frees a batch of `allocator` (a second call, or one after its allocator's destroy(), does nothing). */
export function destroyBufferBatch(allocator: Allocator, batch: BufferBatch): void {
  const op = "destroyBuffers";
  if (!(batch instanceof BufferBatch))
    throw new TypeError(`${op}: batch must be a BufferBatch (from createBuffers), got ${describeValue(batch)}`);
  if (batch._allocator !== allocator)
    throw new TypeError(
      `${op}: batch belongs to another allocator, got ${describeValue(batch._name ?? "(unnamed batch)")}`,
    );
  if (batch.destroyed) return;
  if (allocator._defragmentation?.passOpen === true) {
    // VMA may plan a batch's buffers into a pass (they are not Allocations, so their moves are ignored), and it
    // dereferences a pass's sources when the pass ends: the native layer then frees none of the batch.
    const handles = batch._handles();
    for (let i = 0; i < batch.count; i++) {
      if (allocator._defragmentation._isBusy(handles[i]!)) {
        throw new InvalidStateError(
          `BufferBatch${batch._name === null ? "" : ` '${batch._name}'`}`,
          op,
          `its buffer ${i} is a source of the open defragmentation pass: end the pass (endPass) first; nothing was freed`,
        );
      }
    }
  }
  // Native reads the handles at [4n, 5n): where the batch's own call wrote them, or a spilled batch's copied there.
  const n = batch.count;
  let data = batch._data;
  const results = batch._results;
  if (data === null) {
    data = n > REUSED_BATCH ? new ArrayBuffer(n * SLOTS * 8) : handlesOut;
    if (data.byteLength < n * SLOTS * 8) data = handlesOut = new ArrayBuffer(grown(handlesOut, n, SLOTS));
    const handles = new Float64Array(data);
    for (let i = 0, at = 4 * n; i < n; i++, at++) handles[at] = results![i]!;
  }
  allocator._native.destroyBuffers(allocator._handle, data, n);
  const writer = allocator._recording?.writer;
  if (writer !== undefined) {
    const handles = batch._handles();
    for (let i = 0; i < n; i++) writer.free(handles[i]!);
  }
  if (owner === batch) owner = null;
  batch._markFreed();
  if (allocator._capturesStacks) collectedBatches.unregister(batch);
}

/** Refuses the options a batch cannot honour; returns the name for every allocation (or null). */
function checkBatchOptions(options: AllocationOptions | undefined, flags: number): string | null {
  if (options === undefined) return null;
  const refuse = (what: string, value: unknown): never => {
    throw new TypeError(`${OP}: allocationOptions.${what} is not supported for a batch, got ${describeValue(value)}`);
  };
  if (options.pool !== undefined) refuse("pool", options.pool.label ?? "(unnamed pool)");
  if ((flags & AllocationCreateFlags.MAPPED) !== 0) refuse("mapped", options.mapped);
  if (options.canBecomeLost === true) refuse("canBecomeLost", true);
  if (options.canMakeOtherLost === true) refuse("canMakeOtherLost", true);
  if (options.userData !== undefined) refuse("userData", options.userData);
  const name = options.name;
  if (name === undefined) return null;
  if (typeof name !== "string" || name.includes("\0"))
    throw new TypeError(
      `${OP}: allocationOptions.name must be a string without NUL characters, got ${describeValue(name)}`,
    );
  return name;
}

/**
 * One Allocate record per buffer, from the batch's inputs and outputs in `data` (the native layout), laid into the
 * scratch as a single creation leaves them.
 */
function recordBatch(data: ArrayBuffer, batch: BufferBatch, recording: NonNullable<Allocator["_recording"]>): void {
  const n = batch.count;
  const all = new Float64Array(data);
  const memory = new Uint32Array(data, 10 * n * 8, 2 * n);
  for (let i = 0; i < n; i++) {
    scratch[0] = all[4 * i]!;
    scratch[1] = all[4 * i + 1]!;
    scratch[2] = all[4 * i + 2]!;
    scratch[3] = all[4 * i + 3]!;
    scratch[Slot.OutOffset] = all[5 * n + i]!;
    scratch[Slot.OutSize] = all[6 * n + i]!;
    scratch[Slot.OutMemoryType] = all[7 * n + i]!;
    scratch[Slot.OutBlockSize] = all[8 * n + i]!;
    scratchU32[Slot.OutMemory * 2] = memory[2 * i]!;
    scratchU32[Slot.OutMemory * 2 + 1] = memory[2 * i + 1]!;
    recording.allocated(all[4 * n + i]!, 0, "buffer", 0, batch._name, false);
  }
}
