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
 *   of what the batch cost beyond VMA. A batch keeps its results in a plain array of numbers instead, copied from
 *   that buffer before the call returns (nothing runs in between that could make another batch).
 *
 * The layout of the native buffer is native/batch.cpp's (change both together), in 8-byte slots for n buffers:
 * inputs [0, 4n) size, usage, flags, sharing mode per buffer; outputs allocation handle [4n, 5n), offset [5n, 6n),
 * size [6n, 7n), memory type [7n, 8n), block size [8n, 9n), VkBuffer (u64) [9n, 10n), VkDeviceMemory (u64) [10n, 11n).
 * destroyBuffers reads only the handles, at [4n, 5n).
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
   * @internal What the native call gave each buffer, copied out of the native buffer (module comment), n = count:
   * allocation handles [0, n) (the ones destroyBuffers frees), offsets [n, 2n), sizes [2n, 3n), memory types
   * [3n, 4n), then the VkBuffer values as u32 pairs (low, high) [4n, 6n) and the VkDeviceMemory values [6n, 8n).
   */
  readonly _results: number[];
  /** @internal */
  readonly _allocator: Allocator;
  /** @internal The name given to every allocation, or null. */
  readonly _name: string | null;
  #freed = false;
  // The arrays, each made on first use (most batches are made and destroyed without a look at them).
  #allocations: Float64Array | null = null;
  #offsets: Float64Array | null = null;
  #sizes: Float64Array | null = null;
  #memoryTypes: Float64Array | null = null;
  #buffers: BigUint64Array | null = null;
  #memories: BigUint64Array | null = null;

  /** @internal Made by createBuffers. */
  constructor(allocator: Allocator, results: number[], count: number, name: string | null) {
    this._allocator = allocator;
    this._results = results;
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
    return (this.#buffers ??= this.#handles(4));
  }
  /** The raw VkDeviceMemory values. */
  get memories(): BigUint64Array {
    return (this.#memories ??= this.#handles(6));
  }

  /** Results [part * n, part * n + n) as a Float64Array. */
  #numbers(part: number): Float64Array {
    return this.#copy(new Float64Array(this.count), part);
  }

  /** The u32 pairs at [part * n, part * n + 2n) as a BigUint64Array. */
  #handles(part: number): BigUint64Array {
    return new BigUint64Array(this.#copy(new Uint32Array(2 * this.count), part).buffer);
  }

  /** Fills `out` with the results from part * n on. */
  #copy<T extends Float64Array | Uint32Array>(out: T, part: number): T {
    const results = this._results;
    for (let i = 0, at = part * this.count; i < out.length; i++, at++) out[i] = results[at]!;
    return out;
  }

  /** True once destroyBuffers freed it, or its allocator was destroyed. */
  get destroyed(): boolean {
    return this.#freed || this._allocator._handle === 0;
  }

  /** @internal destroyBuffers ran. */
  _markFreed(): void {
    this.#freed = true;
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
/** Whether the module's native buffer is in use by a createBuffers call now (a getter it calls may make another). */
let inUse = false;

/**
 * The native buffer for a batch of `count`: the reused one (grown when needed), or one of its own when that one is
 * in use or too small to be kept.
 */
function nativeBuffer(count: number): ArrayBuffer {
  if (inUse || count > REUSED_BATCH) return new ArrayBuffer(count * SLOTS * 8);
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
    const batch = new BufferBatch(allocator, copyResults(data, count), count, name);
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
    const handles = batch._results;
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
  // The handles go where native reads them, [4n, 5n) of a native buffer (nothing runs between the copy and the call).
  const n = batch.count;
  const results = batch._results;
  const data = nativeBuffer(n);
  const handles = new Float64Array(data);
  for (let i = 0, at = 4 * n; i < n; i++, at++) handles[at] = results[i]!;
  allocator._native.destroyBuffers(allocator._handle, data, n);
  batch._markFreed();
  if (allocator._capturesStacks) collectedBatches.unregister(batch);
  const writer = allocator._recording?.writer;
  if (writer !== undefined) for (let i = 0; i < n; i++) writer.free(results[i]!);
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
