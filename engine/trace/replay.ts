/**
 * Replays a trace (./format.ts) on the device at hand, through vkmem's public API, and says what happened.
 *
 * Every record that changes memory becomes the call the application made: allocators with the options they were
 * created with, pools, buffers, images and raw memory with the exact descriptions and VMA create infos that were
 * recorded, frees, maps, names, virtual blocks, frame boundaries (which drive lost allocations). Records that only
 * describe (streamer requests and evictions, uploads, notes) are counted, not replayed.
 *
 * Checks, reported and never fatal: an allocation that succeeded when recorded and fails now is a failure; with
 * the same device and options, an allocation placed in another memory type or at another offset is a difference.
 *
 * What-if runs change the settings and replay the same calls: `algorithm` and `blockSize` for custom pools (the
 * block size also becomes the allocator's preferred large-heap block size), `heapLimit` caps every heap (VMA's
 * heapSizeLimit), `budget` refuses any allocation that takes a heap's memory blocks past that many bytes (as VMA's
 * WITHIN_BUDGET refuses, counted apart from other failures). The result carries peak memory per heap, block counts
 * and fragmentation frame by frame, so two runs can be put side by side.
 * @module
 */
import type { Allocation } from "../memory/allocation.js";
import { createAllocator, type Allocator, type AllocatorOptions } from "../memory/allocator.js";
import type { Pool, PoolAlgorithm } from "../memory/pool.js";
import type { AllocationOptions, MemoryUsage } from "../memory/usage.js";
import {
  createVirtualBlock,
  VirtualAllocationCreateFlags,
  type VirtualAllocation,
  type VirtualBlock,
} from "../memory/virtual-block.js";
import type { AllocationStrategy } from "../memory/types.js";
import type { Context } from "../vulkan/context.js";
import { KIND_NAMES, RecordKind, type RecordOf, type TraceRecord } from "./format.js";
import { bufferInfoOf, imageInfoOf, ReplayMemoryTypes } from "./memory-layout.js";
import type { Trace } from "./reader.js";

/** What-if settings and progress reporting for {@link replayTrace}. */
export interface ReplayOptions {
  /** Replace the algorithm of every custom pool. */
  algorithm?: PoolAlgorithm;
  /**
   * Send what went to the default pools to one custom pool of this algorithm per memory type instead (the memory
   * type the recording got; `blockSize`, or 64 MiB, per block; no dedicated allocations): how the same calls fare
   * under another algorithm when the program used no custom pool. Allocations that failed when recorded stay in
   * the default pools.
   */
  defaultPoolAlgorithm?: PoolAlgorithm;
  /** Block size for custom pools and the allocator's preferred large-heap block size, in bytes. */
  blockSize?: number;
  /** Cap every memory heap at this many bytes (VMA's heapSizeLimit). */
  heapLimit?: number;
  /** Refuse allocations that take a heap's memory blocks past this many bytes. */
  budget?: number;
  /** Called about every `progressEveryMs` (default 100) and once at the end. */
  onProgress?: (progress: ReplayProgress) => void;
  progressEveryMs?: number;
}

/** Where a replay is. */
export interface ReplayProgress {
  records: number;
  recordsTotal: number;
  frames: number;
  framesTotal: number;
  calls: number;
  elapsedMs: number;
  /** Estimated time left from the records per millisecond so far; null until there is a rate. */
  etaMs: number | null;
}

/** One frame's figures, taken at its FrameEnd. */
export interface ReplayFrame {
  frame: number;
  /** Bytes of VkDeviceMemory per heap, over every allocator of the trace. */
  blockBytes: number[];
  /** Bytes of live allocations per heap. */
  allocationBytes: number[];
  /** VkDeviceMemory blocks, all heaps. */
  blocks: number;
  /** Largest free range over total free bytes, over all blocks (1: one free range; lower: fragmented). */
  largestFreeOverTotalFree: number;
}

/** An allocation that was placed differently from the recording. */
export interface ReplayDifference {
  name: string;
  recorded: { memoryType: number; offset: number };
  replayed: { memoryType: number; offset: number };
}

/** What {@link replayTrace} found. */
export interface ReplayResult {
  /** API calls made. */
  calls: number;
  elapsedMs: number;
  callsPerSecond: number;
  /** Calls and milliseconds per record kind. */
  byKind: Record<string, { count: number; totalMs: number }>;
  /** The most VkDeviceMemory each heap held at any FrameEnd (and at the end). */
  peakBlockBytesPerHeap: number[];
  /** Allocations that succeeded when recorded and failed now, with the error. */
  failures: { name: string; fileOffset: number; error: string }[];
  /** Allocations refused by the `budget` what-if. */
  overBudget: number;
  /** Allocations that failed when recorded and fail now too. */
  expectedFailures: number;
  /** Allocations that failed when recorded and succeed now. */
  newSuccesses: number;
  /**
   * Placement differences (the first 100) and their count. Where the recording's memory types are not the device's
   * ({@link memoryLayoutDifference}), a placement is compared with the memory type that stands for the recorded one.
   */
  differences: ReplayDifference[];
  differenceCount: number;
  /**
   * How the recording's heaps and memory types (its first allocator's) differ from the device's, in words; null when
   * they are the same. Where they differ, placements differ by design (./memory-layout.ts).
   */
  memoryLayoutDifference: string | null;
  /**
   * Where the memory types differ: the device's type that stands for each recorded one (pools, memoryTypeBits and
   * placements go through it; ./memory-layout.ts); null when every type is itself.
   */
  memoryTypeMap: number[] | null;
  /** Records counted but not replayed (descriptions, notes), and frees/maps of allocations the trace never made. */
  notReplayed: number;
  unknownObjects: number;
  frames: ReplayFrame[];
}

interface LiveAllocation {
  allocation: Allocation;
  kind: number;
  resource: unknown;
  allocator: Allocator;
}

const ALGORITHMS: readonly PoolAlgorithm[] = ["tlsf", "linear", "buddy"];
/** A virtual allocation's strategy from its recorded flags (VirtualAllocationCreateFlags). */
const VIRTUAL_STRATEGIES: ReadonlyArray<readonly [number, AllocationStrategy]> = [
  [VirtualAllocationCreateFlags.STRATEGY_MIN_MEMORY, "minMemory"],
  [VirtualAllocationCreateFlags.STRATEGY_MIN_TIME, "minTime"],
  [VirtualAllocationCreateFlags.STRATEGY_MIN_OFFSET, "minOffset"],
];
const CAN_BECOME_LOST = 1;
/** VMA_ALLOCATION_CREATE_DEDICATED_MEMORY_BIT: a custom pool standing for the default ones places everything. */
const DEDICATED_MEMORY = 0x1;
const CAN_MAKE_OTHER_LOST = 2;
const MAX_DIFFERENCES = 100;

/**
 * Replays `trace` with `context`'s device. Everything the replay creates is destroyed before it returns.
 * @throws RangeError for what-if values that are not positive integers.
 */
export function replayTrace(context: Context, trace: Trace, options: ReplayOptions = {}): ReplayResult {
  for (const key of ["blockSize", "heapLimit", "budget"] as const) {
    const v = options[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0))
      throw new RangeError(`replayTrace: options.${key} must be a positive integer number of bytes, got ${String(v)}`);
  }
  for (const key of ["algorithm", "defaultPoolAlgorithm"] as const) {
    const v = options[key];
    if (v !== undefined && !ALGORITHMS.includes(v))
      throw new RangeError(`replayTrace: options.${key} must be 'tlsf', 'linear' or 'buddy', got ${String(v)}`);
  }
  return new Replay(context, trace, options).run();
}

class Replay {
  readonly allocators = new Map<number, Allocator>();
  readonly pools = new Map<number, Pool>();
  /** The pools standing for the default pools under `defaultPoolAlgorithm`: per allocator, per memory type. */
  readonly defaultPools = new Map<Allocator, Map<number, Pool>>();
  readonly allocations = new Map<number, LiveAllocation>();
  readonly blocks = new Map<number, VirtualBlock>();
  /** The recorded memory types' stand-ins and the pools' types (./memory-layout.ts). */
  readonly types: ReplayMemoryTypes;
  readonly virtual = new Map<string, VirtualAllocation>();
  readonly result: ReplayResult = {
    calls: 0,
    elapsedMs: 0,
    callsPerSecond: 0,
    byKind: {},
    peakBlockBytesPerHeap: [],
    failures: [],
    overBudget: 0,
    expectedFailures: 0,
    newSuccesses: 0,
    differences: [],
    differenceCount: 0,
    memoryLayoutDifference: null,
    memoryTypeMap: null,
    notReplayed: 0,
    unknownObjects: 0,
    frames: [],
  };
  readonly heapOfType: number[];
  readonly heapCount: number;
  readonly framesTotal: number;

  constructor(
    readonly context: Context,
    readonly trace: Trace,
    readonly options: ReplayOptions,
  ) {
    const mp = context.memoryProperties;
    this.heapCount = mp.heaps.length;
    this.heapOfType = mp.types.map((t) => t.heapIndex);
    this.types = new ReplayMemoryTypes(trace.records, mp);
    this.result.peakBlockBytesPerHeap = new Array<number>(this.heapCount).fill(0);
    this.framesTotal = trace.records.filter((r) => r.kind === RecordKind.FrameEnd).length;
  }

  run(): ReplayResult {
    const start = performance.now();
    const every = this.options.progressEveryMs ?? 100;
    let lastProgress = start;
    const total = this.trace.records.length;
    try {
      for (let i = 0; i < total; i++) {
        const record = this.trace.records[i]!;
        const t0 = performance.now();
        let called = false;
        try {
          called = this.apply(record);
        } catch (e) {
          // A call the recording says succeeded and the replay's state refuses (a map of memory that is not
          // host-visible here, ...): reported like a failed allocation, and the replay goes on.
          this.fail(record.fileOffset, KIND_NAMES[record.kind], e);
        }
        if (called) {
          const t1 = performance.now();
          const name = KIND_NAMES[record.kind];
          const entry = (this.result.byKind[name] ??= { count: 0, totalMs: 0 });
          entry.count++;
          entry.totalMs += t1 - t0;
          this.result.calls++;
        }
        if (this.options.onProgress && t0 - lastProgress >= every) {
          lastProgress = t0;
          this.options.onProgress(this.progress(i + 1, start));
        }
      }
    } finally {
      this.teardown();
    }
    this.sample(-1);
    const r = this.result;
    r.memoryLayoutDifference = this.types.difference;
    r.memoryTypeMap = this.types.map;
    r.elapsedMs = performance.now() - start;
    r.callsPerSecond = r.elapsedMs > 0 ? (r.calls * 1000) / r.elapsedMs : 0;
    this.options.onProgress?.(this.progress(total, start));
    return r;
  }

  progress(records: number, start: number): ReplayProgress {
    const elapsedMs = performance.now() - start;
    const recordsTotal = this.trace.records.length;
    const rate = records / Math.max(elapsedMs, 1e-3);
    return {
      records,
      recordsTotal,
      frames: this.result.frames.length,
      framesTotal: this.framesTotal,
      calls: this.result.calls,
      elapsedMs,
      etaMs: records > 0 && elapsedMs > 0 ? (recordsTotal - records) / rate : null,
    };
  }

  /** Applies one record; true when it made an API call. */
  apply(record: TraceRecord): boolean {
    switch (record.kind) {
      case RecordKind.AllocatorCreate:
        return this.allocatorCreate(record);
      case RecordKind.AllocatorDestroy: {
        const a = this.allocators.get(record.allocator);
        if (a === undefined) return this.unknown();
        for (const [id, live] of this.allocations) if (live.allocator === a) this.allocations.delete(id);
        for (const p of this.defaultPools.get(a)?.values() ?? []) p.destroy(); // as the allocator's own pools would go
        this.defaultPools.delete(a);
        a.destroy();
        this.allocators.delete(record.allocator);
        return true;
      }
      case RecordKind.PoolCreate:
        return this.poolCreate(record);
      case RecordKind.PoolDestroy: {
        const p = this.pools.get(record.pool);
        if (p === undefined) return this.unknown();
        for (const [id, live] of this.allocations) if (live.allocation.pool === p) this.allocations.delete(id);
        p.destroy();
        this.pools.delete(record.pool);
        return true;
      }
      case RecordKind.Allocate:
        return this.allocate(record);
      case RecordKind.Free:
        return this.free(record.allocation);
      case RecordKind.Map: {
        const live = this.allocations.get(record.allocation);
        if (live === undefined) return this.unknown();
        live.allocation.map();
        return true;
      }
      case RecordKind.Unmap: {
        const live = this.allocations.get(record.allocation);
        if (live === undefined) return this.unknown();
        live.allocation.unmap();
        return true;
      }
      case RecordKind.SetName: {
        const live = this.allocations.get(record.allocation);
        if (live === undefined) return this.unknown();
        live.allocation.name = record.name === "" ? null : record.name;
        return true;
      }
      case RecordKind.FrameBegin:
        for (const a of this.allocators.values()) a.setCurrentFrameIndex(record.frame);
        return true;
      case RecordKind.FrameEnd:
        this.sample(record.frame);
        return false;
      case RecordKind.VirtualBlockCreate:
        this.blocks.set(
          record.block,
          createVirtualBlock({
            size: record.size,
            algorithm: ALGORITHMS[record.algorithm] ?? "tlsf",
            label: record.name || undefined,
          }),
        );
        return true;
      case RecordKind.VirtualAllocate: {
        const block = this.blocks.get(record.block);
        if (block === undefined) return this.unknown();
        try {
          const strategy = VIRTUAL_STRATEGIES.find(([bit]) => (record.flags & bit) !== 0)?.[1];
          const v = block.allocate(record.size, {
            alignment: record.alignment || 1,
            ...(block.algorithm === "linear" ? { upperAddress: (record.flags & 0x40) !== 0 } : {}),
            ...(strategy !== undefined ? { strategy } : {}),
          });
          if (record.result === 0) {
            this.virtual.set(`${record.block}:${record.allocation}`, v);
            if (v.offset !== record.offset)
              this.difference(`virtual ${record.size} B in block ${record.block}`, 0, record.offset, 0, v.offset);
          } else block.free(v);
        } catch (e) {
          if (record.result === 0) this.fail(record.fileOffset, `virtual ${record.size} B in block ${record.block}`, e);
        }
        return true;
      }
      case RecordKind.VirtualFree: {
        const key = `${record.block}:${record.allocation}`;
        const v = this.virtual.get(key);
        if (v === undefined) return this.unknown();
        this.blocks.get(record.block)!.free(v);
        this.virtual.delete(key);
        return true;
      }
      case RecordKind.VirtualBlockDestroy: {
        const block = this.blocks.get(record.block);
        if (block === undefined) return this.unknown();
        for (const key of [...this.virtual.keys()]) if (key.startsWith(`${record.block}:`)) this.virtual.delete(key);
        block.clear(); // what the recorded program left alive was reported there: not again here
        block.destroy();
        this.blocks.delete(record.block);
        return true;
      }
      default:
        // Session, Lost (vkmem makes allocations lost again by itself), streamer records, uploads, moves, notes.
        if (record.kind !== RecordKind.Session) this.result.notReplayed++;
        return false;
    }
  }

  unknown(): boolean {
    this.result.unknownObjects++;
    return false;
  }

  allocatorCreate(r: RecordOf<RecordKind.AllocatorCreate>): boolean {
    let recorded: AllocatorOptions = {};
    try {
      recorded = JSON.parse(r.options) as AllocatorOptions;
    } catch {
      // A trace written by hand or damaged there: the defaults.
    }
    const options: AllocatorOptions = { ...recorded, label: r.label || recorded.label };
    this.types.addAllocator(r);
    if (this.options.blockSize !== undefined) options.preferredLargeHeapBlockSize = this.options.blockSize;
    if (this.options.heapLimit !== undefined)
      options.heapSizeLimits = new Array(this.heapCount).fill(this.options.heapLimit);
    this.allocators.set(r.allocator, createAllocator(this.context, options));
    return true;
  }

  poolCreate(r: RecordOf<RecordKind.PoolCreate>): boolean {
    const allocator = this.allocators.get(r.allocator);
    if (allocator === undefined) return this.unknown();
    const algorithm = this.options.algorithm ?? ALGORITHMS[r.algorithm] ?? "tlsf";
    let blockSize = this.options.blockSize ?? (r.blockSize || undefined);
    // A buddy pool's block is a power of two.
    if (algorithm === "buddy") blockSize = 2 ** Math.ceil(Math.log2(blockSize ?? 64 * 1024 * 1024));
    try {
      const pool = allocator.createPool(
        { memoryTypeIndex: this.types.poolType(allocator, r) },
        {
          algorithm,
          blockSize,
          minBlockCount: r.minBlockCount,
          maxBlockCount: r.maxBlockCount || undefined,
          minAllocationAlignment: r.minAllocationAlignment || undefined,
          name: r.name || undefined,
        },
      );
      this.pools.set(r.pool, pool);
    } catch (e) {
      this.fail(r.fileOffset, `pool '${r.name}'`, e);
    }
    return true;
  }

  allocate(r: RecordOf<RecordKind.Allocate>): boolean {
    const allocator = this.allocators.get(r.allocator);
    if (allocator === undefined) return this.unknown();
    const rerouted = r.pool === 0 && r.result === 0 && this.options.defaultPoolAlgorithm !== undefined;
    const pool = rerouted
      ? this.defaultPool(allocator, this.types.defaultType(allocator, r))
      : r.pool === 0
        ? undefined
        : this.pools.get(r.pool);
    const name = r.name || `#${r.allocation}`;
    if (r.pool !== 0 && pool === undefined) {
      if (r.result === 0) this.fail(r.fileOffset, name, new Error("its pool was not created in the replay"));
      else this.result.expectedFailures++;
      return false;
    }
    const options: AllocationOptions = {
      usage: r.vmaUsage as MemoryUsage,
      flags: rerouted ? r.vmaFlags & ~DEDICATED_MEMORY : r.vmaFlags,
      requiredFlags: r.requiredFlags,
      preferredFlags: r.preferredFlags,
      memoryTypeBits: this.types.bitsOf(r.allocator, r.memoryTypeBits),
      priority: r.priority,
      pool,
      name: r.name || undefined,
    };
    if (r.minAlignment > 0 && r.resourceKind !== 2) options.minAlignment = r.minAlignment;
    if (r.vkmemFlags & CAN_BECOME_LOST) options.canBecomeLost = true;
    if (r.vkmemFlags & CAN_MAKE_OTHER_LOST) options.canMakeOtherLost = true;
    const p = r.resource;
    const refusal = this.types.refusal(allocator, r);
    if (refusal !== null) {
      // Bound there, it would break Vulkan's rules: reported as what the replay could not make.
      if (r.result === 0) this.fail(r.fileOffset, name, new Error(refusal));
      else this.result.expectedFailures++;
      return false;
    }
    let live: LiveAllocation;
    try {
      if (r.resourceKind === 1) {
        const b = allocator.createBuffer(bufferInfoOf(p), options);
        live = { allocation: b.allocation, kind: 1, resource: b.buffer, allocator };
      } else if (r.resourceKind === 2) {
        const image = allocator.createImage(imageInfoOf(p), options);
        live = { allocation: image.allocation, kind: 2, resource: image.image, allocator };
      } else {
        const bits = this.types.bitsOf(r.allocator, p[2]!);
        const m = allocator.allocateMemory({ size: p[0]!, alignment: p[1]!, memoryTypeBits: bits }, options);
        live = { allocation: m, kind: 0, resource: null, allocator };
      }
    } catch (e) {
      if (r.result === 0) this.fail(r.fileOffset, name, e);
      else this.result.expectedFailures++;
      return true;
    }
    if (this.options.budget !== undefined && this.overBudget(allocator, live.allocation.memoryType)) {
      this.release(live);
      this.result.overBudget++;
      return true;
    }
    const recordedType = this.types.typeOf(r.allocator, r.memoryType, r.pool);
    if (r.result !== 0) this.result.newSuccesses++;
    else if (live.allocation.memoryType !== recordedType || live.allocation.offset !== r.offset)
      this.difference(name, r.memoryType, r.offset, live.allocation.memoryType, live.allocation.offset);
    this.allocations.set(r.allocation, live);
    return true;
  }

  /** The pool that takes the default pools' allocations of `memoryType` under `defaultPoolAlgorithm`. */
  defaultPool(allocator: Allocator, memoryType: number): Pool | undefined {
    let pools = this.defaultPools.get(allocator);
    if (pools === undefined) this.defaultPools.set(allocator, (pools = new Map()));
    let pool = pools.get(memoryType);
    if (pool === undefined) {
      const algorithm = this.options.defaultPoolAlgorithm!;
      const size = this.options.blockSize ?? 64 * 1024 * 1024;
      pool = allocator.createPool(
        { memoryTypeIndex: memoryType },
        {
          algorithm,
          blockSize: algorithm === "buddy" ? 2 ** Math.ceil(Math.log2(size)) : size,
          name: `default pool of type ${memoryType} (${algorithm})`,
        },
      );
      pools.set(memoryType, pool);
    }
    return pool;
  }

  /** A placement that differs from the recorded one (a virtual allocation's memory type reads 0). */
  difference(name: string, recordedType: number, recordedOffset: number, type: number, offset: number): void {
    this.result.differenceCount++;
    if (this.result.differences.length < MAX_DIFFERENCES)
      this.result.differences.push({
        name,
        recorded: { memoryType: recordedType, offset: recordedOffset },
        replayed: { memoryType: type, offset },
      });
  }

  overBudget(allocator: Allocator, memoryType: number): boolean {
    const heap = this.heapOfType[memoryType]!;
    return allocator.getHeapBudgets()[heap]!.blockBytes > this.options.budget!;
  }

  free(id: number): boolean {
    const live = this.allocations.get(id);
    if (live === undefined) return this.unknown();
    this.allocations.delete(id);
    this.release(live);
    return true;
  }

  release(live: LiveAllocation): void {
    if (live.kind === 1) live.allocator.destroyBuffer(live.resource, live.allocation);
    else if (live.kind === 2) live.allocator.destroyImage(live.resource, live.allocation);
    else live.allocator.freeMemory(live.allocation);
  }

  fail(fileOffset: number, name: string, e: unknown): void {
    this.result.failures.push({ name, fileOffset, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }

  /** The figures of the frame that just ended (frame -1: the end of the trace). */
  sample(frame: number): void {
    const blockBytes = new Array<number>(this.heapCount).fill(0);
    const allocationBytes = new Array<number>(this.heapCount).fill(0);
    let blocks = 0;
    let largestFree = 0;
    let totalFree = 0;
    for (const a of this.allocators.values()) {
      if (a.destroyed) continue;
      a.getHeapBudgets().forEach((b, heap) => {
        blockBytes[heap]! += b.blockBytes;
        allocationBytes[heap]! += b.allocationBytes;
      });
      const total = a.calculateStatistics().total;
      blocks += total.blockCount;
      largestFree = Math.max(largestFree, Number.isFinite(total.unusedRangeSizeMax) ? total.unusedRangeSizeMax : 0);
      totalFree += total.blockBytes - total.allocationBytes;
    }
    blockBytes.forEach((bytes, heap) => {
      this.result.peakBlockBytesPerHeap[heap] = Math.max(this.result.peakBlockBytesPerHeap[heap]!, bytes);
    });
    if (frame >= 0) {
      this.result.frames.push({
        frame,
        blockBytes,
        allocationBytes,
        blocks,
        largestFreeOverTotalFree: totalFree > 0 ? largestFree / totalFree : 1,
      });
    }
  }

  teardown(): void {
    for (const live of this.allocations.values()) {
      if (!live.allocator.destroyed && !live.allocation.destroyed) this.release(live);
    }
    this.allocations.clear();
    for (const p of this.pools.values()) if (!p.destroyed) p.destroy();
    for (const pools of this.defaultPools.values()) for (const p of pools.values()) if (!p.destroyed) p.destroy();
    for (const b of this.blocks.values()) b.destroy();
    for (const a of this.allocators.values()) if (!a.destroyed) a.destroy();
  }
}
