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
 *
 * The layout of the batch's ArrayBuffer is native/batch.cpp's (change both together), in 8-byte slots for n buffers:
 * inputs [0, 4n) size, usage, flags, sharing mode per buffer; outputs allocation handle [4n, 5n), offset [5n, 6n),
 * size [6n, 7n), memory type [7n, 8n), block size [8n, 9n), VkBuffer (u64) [9n, 10n), VkDeviceMemory (u64) [10n, 11n).
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
  /** @internal The native layout (native/batch.cpp); its handles are the ones destroyBuffers frees. */
  readonly _data: ArrayBuffer;
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
    return (this.#allocations ??= new Float64Array(this._data, 4 * this.count * 8, this.count).slice());
  }
  /** Offset of each buffer's memory in its VkDeviceMemory. */
  get offsets(): Float64Array {
    return (this.#offsets ??= new Float64Array(this._data, 5 * this.count * 8, this.count));
  }
  /** Size of each allocation (at least the buffer's size). */
  get sizes(): Float64Array {
    return (this.#sizes ??= new Float64Array(this._data, 6 * this.count * 8, this.count));
  }
  /** Memory type index of each allocation. */
  get memoryTypes(): Float64Array {
    return (this.#memoryTypes ??= new Float64Array(this._data, 7 * this.count * 8, this.count));
  }
  /** The raw VkBuffer values; {@link buffer} makes an nvk handle object of one. */
  get buffers(): BigUint64Array {
    return (this.#buffers ??= new BigUint64Array(this._data, 9 * this.count * 8, this.count));
  }
  /** The raw VkDeviceMemory values. */
  get memories(): BigUint64Array {
    return (this.#memories ??= new BigUint64Array(this._data, 10 * this.count * 8, this.count));
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
  let options: AllocationOptions | undefined;
  let data: ArrayBuffer;
  if (typeof first === "number") {
    count = first;
    if (!Number.isInteger(count) || count < 1 || count > MAX_BATCH)
      throw new RangeError(`${OP}: count must be an integer from 1 to ${MAX_BATCH}, got ${describeValue(first)}`);
    allocator._encodeBuffer(second as BufferInfo, OP, "description");
    data = new ArrayBuffer(count * SLOTS * 8);
    const input = new Float64Array(data, 0, 4 * count);
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
  } else if (Array.isArray(first)) {
    count = first.length;
    if (count < 1 || count > MAX_BATCH)
      throw new RangeError(`${OP}: descriptions must hold 1 to ${MAX_BATCH} buffer descriptions, got ${count}`);
    data = new ArrayBuffer(count * SLOTS * 8);
    const input = new Float64Array(data, 0, 4 * count);
    for (let i = 0, at = 0; i < count; i++, at += 4) {
      const d = first[i] as BufferInfo;
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
  } else {
    throw new TypeError(
      `${OP}: the first argument must be a count or an array of buffer descriptions, got ${describeValue(first)}`,
    );
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
  if (recording !== null) recordBatch(batch, recording);
  if (allocator._capturesStacks) collectedBatches.register(batch, { allocator, name }, batch);
  return batch;
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
    const handles = new Float64Array(batch._data, 4 * batch.count * 8, batch.count);
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
  allocator._native.destroyBuffers(allocator._handle, batch._data, batch.count);
  batch._markFreed();
  if (allocator._capturesStacks) collectedBatches.unregister(batch);
  const writer = allocator._recording?.writer;
  if (writer !== undefined) {
    const handles = new Float64Array(batch._data, 4 * batch.count * 8, batch.count);
    for (let i = 0; i < batch.count; i++) writer.free(handles[i]!);
  }
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

/** One Allocate record per buffer, from the batch's outputs laid into the scratch as a single creation leaves them. */
function recordBatch(batch: BufferBatch, recording: NonNullable<Allocator["_recording"]>): void {
  const n = batch.count;
  const all = new Float64Array(batch._data);
  const memory = new Uint32Array(batch._data, 10 * n * 8, 2 * n);
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
