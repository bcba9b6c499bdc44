/**
 * Recording an allocator's calls into a trace (engine/trace/format.ts): what `createAllocator(..., { record: { file } })`
 * (or a FrameManager's `record` option) turns on. One {@link AllocatorRecording} per recording allocator; the
 * allocator's parts call it at the points where memory changes, and it writes one record each.
 *
 * What it records and from where:
 * - Allocations (VmaMemory): the description and VMA create info exactly as the allocator encoded them in the scratch
 *   for its native call (they are still there: the native layer writes outputs elsewhere), the name, vkmem's own
 *   flags, and the result: the placement on success (with the block's size, which the creation call writes into the
 *   scratch beside the placement), the VkResult on failure. Memory allocated for a caller's own buffer or image is recorded as raw memory of the size,
 *   alignment 1 and memory type it got, since its description is the caller's.
 * - Frees, maps, unmaps, names (VmaMemory, Allocation); pools of VMA's algorithms and buddy pools (Pool, BuddyPool);
 *   a buddy pool's sub-allocations as allocations in that pool (numbered from {@link BUDDY_IDS}, apart from VMA's
 *   handles), while the VMA blocks under them, which the pool makes and maps itself, are left out
 *   ({@link withoutRecording}): a replay's buddy pool makes its own. Not recorded of buddy sub-allocations: their
 *   maps, unmaps and renames, and refusals; of buddy pools: minNodeSize (the format has no field for it); lost allocations
 *   (LostAllocations); the frame index (setCurrentFrameIndex: FrameBegin); frame ends, with budgets, and uploads
 *   (the FrameManager).
 *
 * Cost: nothing happens when an allocator does not record (one null check per call). When it does, the writer
 * allocates nothing per record (engine/trace/writer.ts), and the hot records are encoded by the native calls
 * themselves: the allocator's addon gets the writer's buffer (`setTraceSink`), its createBuffer, createImage and
 * allocateMemory leave their Allocate record pending there, which {@link AllocatorRecording.nativeAllocated} keeps
 * when it says what {@link AllocatorRecording.allocated} would have written (no pool, no vkmem flags, the name the
 * call was given), and freeAllocation writes the Free record that VmaMemory armed (native/trace_sink.h).
 * `npm run bench -- allocator` measures record_overhead.
 * @module
 */
import { scratch, scratchU32, Slot, type NativeAddon } from "../native.js";
import { TraceWriter } from "../trace/writer.js";
import type { AllocationKind } from "./allocation.js";

/** Where {@link AllocatorRecording.start} takes the allocator's description from. */
export interface RecordedAllocator {
  readonly _handle: number;
  readonly _native: NativeAddon;
  readonly label: string | undefined;
  readonly deviceName: string;
  readonly nonCoherentAtomSize: number;
  readonly bufferImageGranularity: number;
  readonly memoryHeaps: readonly { readonly size: number; readonly flags: number }[];
  readonly memoryTypes: readonly { readonly propertyFlags: number; readonly heapIndex: number }[];
}

/** The part of createAllocator's options a replay needs (JSON-able). */
export interface RecordedOptions {
  heapSizeLimits?: (number | null | undefined)[];
  preferredLargeHeapBlockSize?: number;
  flags?: number;
  frameInUseCount?: number;
  debug?: unknown;
}

/** What {@link AllocatorRecording.poolCreated} reads of a pool. */
export interface RecordedPool {
  readonly memoryTypeIndex: number;
  readonly algorithm: string;
  readonly blockSize: number;
  readonly minBlockCount: number;
  readonly maxBlockCount: number;
  readonly minAllocationAlignment: number;
  readonly name: string | null;
}

const RESOURCE_COUNT: Readonly<Record<AllocationKind, number>> = { buffer: 4, image: 13, memory: 3 };
const KIND_CODE: Readonly<Record<AllocationKind, number>> = { memory: 0, buffer: 1, image: 2 };
/** Algorithm codes of the trace format. */
export const ALGORITHM_CODE: Readonly<Record<string, number>> = { tlsf: 0, linear: 1, buddy: 2 };

/**
 * One allocator's recording. Created by {@link AllocatorRecording.start}; {@link stop} writes the allocator's end and
 * closes the file (the allocator's destroy() does).
 * @internal
 */
export class AllocatorRecording {
  private readonly poolIds = new WeakMap<object, number>();
  private nextPool = 1;
  private buddyAllocations = 0;
  /** The allocator's number in the trace: its handle when recording started (it reads 0 once destroyed). */
  private readonly id: number;

  private constructor(
    /** The trace being written: FrameManagers and streamers of the allocator write theirs into it. */
    readonly writer: TraceWriter,
    private readonly allocator: RecordedAllocator,
  ) {
    this.id = allocator._handle;
  }

  /**
   * Opens `file` and writes the allocator's description: heaps, memory types and options.
   * @throws Error from the file system when the file cannot be created (nothing is recorded then).
   */
  static start(
    allocator: RecordedAllocator,
    file: string,
    options: RecordedOptions,
    producer: string,
    apiVersion: number,
  ): AllocatorRecording {
    // The addon's clock: its native records read the same one (engine/trace/writer.ts).
    const clock = allocator._native.traceClock;
    // The addon's trace files: its thread writes the file (engine/trace/writer.ts).
    const files = allocator._native;
    const writer = TraceWriter.open(file, { producer, device: allocator.deviceName, apiVersion, clock, files });
    try {
      AllocatorRecording.describe(writer, allocator, options);
    } catch (e) {
      writer._abandon();
      throw e;
    }
    allocator._native.setTraceSink(allocator._handle, writer.nativeBuffer, writer.nativeState, allocator._handle);
    return new AllocatorRecording(writer, allocator);
  }

  /** The AllocatorCreate record: the allocator's heaps, memory types and options, written to the file. */
  private static describe(writer: TraceWriter, allocator: RecordedAllocator, options: RecordedOptions): void {
    writer.allocatorCreate(
      allocator._handle,
      allocator.label ?? null,
      allocator.nonCoherentAtomSize,
      allocator.bufferImageGranularity,
      allocator.memoryHeaps.flatMap((h) => [h.size, h.flags]),
      allocator.memoryTypes.flatMap((t) => [t.propertyFlags, t.heapIndex]),
      JSON.stringify({
        heapSizeLimits: options.heapSizeLimits,
        preferredLargeHeapBlockSize: options.preferredLargeHeapBlockSize,
        flags: options.flags,
        frameInUseCount: options.frameInUseCount,
        debug: options.debug === undefined || options.debug === false ? undefined : true,
      }),
    );
    writer.flush();
  }

  /**
   * After a successful creation, instead of {@link allocated}: keeps the Allocate record the native call wrote
   * for `handle` when the allocation is what that record says: no pool, vkmem flags 0 and the name the native
   * call was given (`name` is `nameGiven`). A forResource allocation never has one (its native call writes none).
   * @returns false when it kept none: call {@link allocated}.
   */
  nativeAllocated(
    handle: number,
    pool: object | null | undefined,
    vkmemFlags: number,
    name: string | undefined,
    nameGiven: string | undefined,
  ): boolean {
    if ((pool !== undefined && pool !== null) || vkmemFlags !== 0 || name !== nameGiven) return false;
    return this.writer.commitNativeAllocate(handle);
  }

  /**
   * A successful allocation whose native call just returned: its inputs are still in the scratch, its outputs too.
   * `forResource`: memory for the caller's own buffer or image (recorded as raw memory of what it got).
   */
  allocated(
    handle: number,
    pool: number,
    kind: AllocationKind,
    vkmemFlags: number,
    name: string | null,
    forResource: boolean,
  ): void {
    const type = scratch[Slot.OutMemoryType]!;
    const offset = scratch[Slot.OutOffset]!;
    const size = scratch[Slot.OutSize]!;
    const memoryLo = scratchU32[Slot.OutMemory * 2]!;
    const memoryHi = scratchU32[Slot.OutMemory * 2 + 1]!;
    if (forResource) {
      scratch[0] = size;
      scratch[1] = 1;
      scratch[2] = 2 ** type;
    }
    // The block's size: the creation call wrote it beside the placement (native FillAllocationOutputs).
    const blockSize = scratch[Slot.OutBlockSize]!;
    this.writer.allocate(
      handle,
      this.id,
      pool,
      KIND_CODE[kind],
      scratch,
      0,
      RESOURCE_COUNT[kind],
      scratch,
      16,
      vkmemFlags,
      name,
      0,
      type,
      offset,
      size,
      memoryLo,
      memoryHi,
      blockSize,
    );
  }

  /** An allocation VMA refused with `result`; its inputs are still in the scratch. */
  failed(
    pool: number,
    kind: AllocationKind,
    vkmemFlags: number,
    name: string | null | undefined,
    result: number,
  ): void {
    this.writer.allocate(
      0,
      this.id,
      pool,
      KIND_CODE[kind],
      scratch,
      0,
      RESOURCE_COUNT[kind],
      scratch,
      16,
      vkmemFlags,
      name ?? null,
      result,
      0,
      0,
      0,
      0,
      0,
      0,
    );
  }

  /**
   * A buddy pool's sub-allocation (not a VMA allocation): `description` as the native layer reads the resource
   * (raw memory: size, alignment, memoryTypeBits), `createInfo` the eight VmaAllocationCreateInfo slots (pool
   * ignored). Returns its number in the trace, for its Free record.
   */
  buddyAllocated(
    pool: object,
    kind: AllocationKind,
    description: ArrayLike<number>,
    createInfo: ArrayLike<number>,
    vkmemFlags: number,
    name: string | null,
    memoryType: number,
    offset: number,
    size: number,
    memoryLo: number,
    memoryHi: number,
    blockSize: number,
  ): number {
    const id = BUDDY_IDS + ++this.buddyAllocations;
    this.writer.allocate(
      id,
      this.id,
      this.poolId(pool),
      KIND_CODE[kind],
      description,
      0,
      RESOURCE_COUNT[kind],
      createInfo,
      0,
      vkmemFlags,
      name,
      0,
      memoryType,
      offset,
      size,
      memoryLo,
      memoryHi,
      blockSize,
    );
    return id;
  }

  /** The trace's number for a pool (0: the default pools); pools are numbered as they are recorded. */
  poolId(pool: object | null | undefined): number {
    return pool === null || pool === undefined ? 0 : (this.poolIds.get(pool) ?? 0);
  }

  /** A pool was created. */
  poolCreated(pool: RecordedPool): void {
    const id = this.nextPool++;
    this.poolIds.set(pool, id);
    this.writer.poolCreate(
      id,
      this.id,
      pool.memoryTypeIndex,
      ALGORITHM_CODE[pool.algorithm] ?? 0,
      pool.blockSize,
      pool.minBlockCount,
      pool.maxBlockCount,
      pool.minAllocationAlignment,
      pool.name,
    );
  }

  /** A pool is being destroyed (its allocations go with it, as the replay's destroy does). */
  poolDestroyed(pool: object): void {
    const id = this.poolIds.get(pool);
    if (id !== undefined) this.writer.poolDestroy(id);
  }

  /** The end of the allocator: its record, then the file closes. */
  stop(): void {
    if (this.writer.closed) return;
    this.writer.allocatorDestroy(this.id);
    this.writer.close();
  }
}

/** The first trace number of a buddy pool's sub-allocations (VMA's allocation handles stay far below it). */
export const BUDDY_IDS = 2 ** 52;

/** Runs `fn` with `allocator`'s recording paused: what a pool does for itself that a replay redoes by itself. */
export function withoutRecording<T>(allocator: { _recording: AllocatorRecording | null }, fn: () => T): T {
  const recording = allocator._recording;
  if (recording === null) return fn();
  allocator._recording = null;
  try {
    return fn();
  } finally {
    allocator._recording = recording;
  }
}

/** vkmem's own allocation flags as the trace format codes them. */
export function vkmemFlagsOf(options: { canBecomeLost?: boolean; canMakeOtherLost?: boolean } | undefined): number {
  if (options === undefined) return 0;
  return (options.canBecomeLost === true ? 1 : 0) | (options.canMakeOtherLost === true ? 2 : 0);
}
