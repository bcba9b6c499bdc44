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
 * - No ArrayBuffer per batch made and destroyed in turn. The native call reads and writes one ArrayBuffer per module,
 *   reused by every batch of up to {@link REUSED_BATCH} buffers (a larger one gets its own): a fresh ArrayBuffer per
 *   batch is allocated with calloc and freed by V8's sweeper thread, and on lavapipe that cost a 64-buffer batch about
 *   55 ns per buffer (glibc's consolidation of its small free chunks, and its arena lock taken from two threads), a
 *   third of what the batch cost beyond VMA.
 * - A batch's results stay where the native call wrote them until that buffer is wanted again: the next createBuffers
 *   first gives the batch that still lives there a copy of its part of the buffer ("spills" it), in the same layout.
 *   A batch destroyed before that is never copied, and destroyBuffers hands native the handles where they lie. So
 *   the arrays can be read while the batch lives; once it is destroyed, those not read before throw
 *   DestroyedResourceError, as buffer() does.
 *
 * The layout of the native buffer is native/batch.cpp's (change both together), in 8-byte slots for n buffers:
 * inputs [0, 4n) size, usage, flags, sharing mode per buffer; outputs allocation handle [4n, 5n), offset [5n, 6n),
 * size [6n, 7n), memory type [7n, 8n), block size [8n, 9n), VkBuffer (u64) [9n, 10n), VkDeviceMemory (u64) [10n, 11n).
 * destroyBuffers reads only the handles, at [4n, 5n). createBuffers writes the handles and the VkBuffers; the rest
 * (VMA's allocation info) is written when the batch's offsets, sizes, memory types or memories are first read
 * (`fillBufferBatch`), since most batches are destroyed without a look at them (vmaGetAllocationInfo2 cost about 10 ns
 * a buffer, 4% of a 64-buffer batch on lavapipe); a recording allocator has them written at once, for its records.
 * Nothing moves a batch's buffers in between (they are not Allocations: a defragmentation leaves them where they are),
 * so what is read then is what createBuffers would have written.
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
   * @internal The batch's results in the native layout (module comment) while it lives: the buffer the call wrote
   * (its own, or the module's while this batch is its `owner`), or the copy {@link _spill} made; null once destroyed.
   */
  _data: ArrayBuffer | null;
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
  /** Whether the allocation info in the results (offsets, sizes, types, blocks, memories) is written. */
  #filled: boolean;

  /** @internal Made by createBuffers; `filled`: the native call wrote the allocation info too. */
  constructor(allocator: Allocator, data: ArrayBuffer, count: number, name: string | null, filled: boolean) {
    this._allocator = allocator;
    this._data = data;
    this._name = name;
    this.count = count;
    this.#filled = filled;
  }

  /**
   * Native allocation handles (identifiers: numbers vkmem and traces name allocations by): a copy, so that writing
   * into it cannot change what destroyBuffers frees.
   */
  get allocations(): Float64Array {
    return (this.#allocations ??= this.#numbers(4));
  }
  /** Offset of each buffer's memory in its VkDeviceMemory. */
  get offsets(): Float64Array {
    return (this.#offsets ??= this.#numbers(5));
  }
  /** Size of each allocation (at least the buffer's size). */
  get sizes(): Float64Array {
    return (this.#sizes ??= this.#numbers(6));
  }
  /** Memory type index of each allocation. */
  get memoryTypes(): Float64Array {
    return (this.#memoryTypes ??= this.#numbers(7));
  }
  /** The raw VkBuffer values; {@link buffer} makes an nvk handle object of one. */
  get buffers(): BigUint64Array {
    return (this.#buffers ??= this.#handles(9));
  }
  /** The raw VkDeviceMemory values. */
  get memories(): BigUint64Array {
    return (this.#memories ??= this.#handles(10));
  }

  /** Slots [slot * n, slot * n + n) of the results (4: handles, 5: offsets, 6: sizes, 7: memory types), copied. */
  #numbers(slot: number): Float64Array {
    return new Float64Array(this.#results(slot).slice(slot * this.count * 8, (slot + 1) * this.count * 8));
  }

  /** The u64 values at slots [slot * n, slot * n + n) (9: VkBuffer, 10: VkDeviceMemory), copied. */
  #handles(slot: number): BigUint64Array {
    return new BigUint64Array(this.#results(slot).slice(slot * this.count * 8, (slot + 1) * this.count * 8));
  }

  /** The results, with the allocation info written first when `slot` is part of it and it is not yet. */
  #results(slot: number): ArrayBuffer {
    const data = this.#live();
    if (!this.#filled && slot !== 4 && slot !== 9) {
      const allocator = this._allocator;
      allocator._native.fillBufferBatch(allocator._handle, data, this.count);
      this.#filled = true;
    }
    return data;
  }

  /** The results. @throws DestroyedResourceError once destroyed */
  #live(): ArrayBuffer {
    if (this.destroyed) throw new DestroyedResourceError("BufferBatch", this._name ?? undefined, "read its results");
    return this._data!;
  }

  /** @internal The allocation handles (a live batch). */
  _handles(): Float64Array {
    return new Float64Array(this._data!, 4 * this.count * 8, this.count);
  }

  /** @internal The module's native buffer is wanted for another batch: this one takes a copy of its part of it. */
  _spill(): void {
    if (this._data !== null) this._data = this.destroyed ? null : this._data.slice(0, this.count * SLOTS * 8);
  }

  /** True once destroyBuffers freed it, or its allocator was destroyed. */
  get destroyed(): boolean {
    return this._data === null || this._allocator._handle === 0;
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
  if (reused.byteLength < count * SLOTS * 8) {
    let slots = reused.byteLength / (SLOTS * 8);
    while (slots < count) slots *= 2;
    reused = new ArrayBuffer(slots * SLOTS * 8);
  }
  return reused;
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
    const recording = allocator._recording;
    // A recording writes its records from the allocation info now; others have it written when first read.
    const filled = recording !== null;
    const result = allocator._native.createBuffers(h, data, count, name, filled);
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
    const batch = new BufferBatch(allocator, data, count, name, filled);
    if (data === reused) owner = batch;
    if (recording !== null) recordBatch(data, batch, recording);
    if (allocator._capturesStacks) collectedBatches.register(batch, { allocator, name }, batch);
    return batch;
  } finally {
    if (lent) inUse = false;
  }
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
  // Native reads the handles at [4n, 5n) of the batch's results, where its call wrote them (or their spilled copy).
  const n = batch.count;
  allocator._native.destroyBuffers(allocator._handle, batch._data!, n);
  const writer = allocator._recording?.writer;
  if (writer !== undefined) {
    const handles = batch._handles();
    for (let i = 0; i < n; i++) writer.free(handles[i]!);
  }
  if (owner === batch) owner = null;
  batch._data = null;
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
