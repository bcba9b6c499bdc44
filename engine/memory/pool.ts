/**
 * Pool: a custom pool of device memory (one VmaPool), for allocations that should live apart from the
 * allocator's default pools: in one memory type, in blocks of a chosen size and count, under one algorithm.
 *
 * Who owns what:
 * - {@link Allocator.createPool} makes a Pool; the caller destroys it with {@link Pool.destroy} before
 *   destroying the allocator. If it does not, the allocator's destroy() frees the pool's allocations
 *   (reporting them with every other live allocation) and then destroys the pool.
 * - Allocations come from a pool by passing `{ pool }` in the {@link AllocationOptions} of createBuffer,
 *   createImage or allocateMemory*. They still belong to the allocator (freed through it, counted in its
 *   statistics) and remember their pool in {@link Allocation.pool}.
 * - destroy() with allocations still in the pool does not fail: it reports each (name, size, kind, creation
 *   stack when the allocator captures stacks), frees them and only then destroys the pool; VMA on its own
 *   would assert and leak the memory. Those allocations, and the pool, then throw DestroyedResourceError.
 *
 * Algorithms:
 * - `"tlsf"` (default): VMA's two-level segregated fit, any allocation and free order, O(1) operations.
 * - `"linear"`: allocations are placed one after another. Used as free-at-once (allocate, then free
 *   everything), as a stack (free the last first), as a ring buffer (free the oldest first, allocation
 *   wraps to the block's start) or, with `upperAddress: true` allocations and `maxBlockCount: 1`, as a
 *   double stack growing from both ends of the one block. Freeing in another order works but the space
 *   is only reused once everything before it (or after it) is free as well.
 *
 * - `"buddy"`: vkmem's own buddy allocator (VMA 3 dropped VMA's), power-of-two nodes split and merged, run
 *   over whole VMA blocks: a {@link BuddyPool} (engine/memory/buddy-pool.ts, where its documentation says
 *   when it beats TLSF and what it costs). It needs a power-of-two `blockSize`; `minNodeSize` is for it only.
 *
 * A Pool is a PoolBackend (./pool-backend.ts; structurally, the interface being internal): the allocator creates, binds and frees through the pool an
 * allocation names, never asking which kind it is. A VMA pool's allocation half is its allocator's VmaMemory (the
 * VmaPool travels in the encoded options); its statistics and destroy are its VmaPool's. A BuddyPool overrides all.
 * @module
 */
import { DestroyedResourceError, describeValue, vkErrorFor, InvalidStateError } from "../errors.js";
import { isOptionsObject } from "../checks.js";
import type { NativeDetailedStatistics, NativeLeak, NativeStatistics } from "../native.js";
import { checkCorruptionReport, type CorruptionReport } from "./corruption.js";
import type { Allocation } from "./allocation.js";
import { poolObjects, type AllocationOptions } from "./usage.js";
import type { LostDomain } from "./lost-domain.js";
import type { BufferInfo, ImageInfo, LeakReport, MemoryRequirements } from "./types.js";
import type { CreatedBuffer, CreatedImage, PoolBackend } from "./pool-backend.js";
import { checkFrameInUseCount, type LostAllocationStatistics } from "./lost-allocations.js";
import { creationStack, lifetimeName, unwatch, watch } from "../lifetime.js";

// The upward links of the modules below the pool: an allocation's pool, and the pool of the allocation options.
declare module "./allocation.js" {
  interface Allocation {
    /** The custom pool it came from, or null for the allocator's default pools. */
    readonly pool: Pool | null;
  }
}
declare module "./usage.js" {
  interface AllocationOptions {
    /**
     * Allocate from this custom pool (of the same allocator) instead of the default pools. The pool's memory
     * type must be one the resource accepts. `usage` then defaults to Unknown: the pool fixes the memory type.
     */
    pool?: Pool;
  }
}

/** The allocation algorithm of a pool. */
export type PoolAlgorithm = "tlsf" | "linear" | "buddy";

/**
 * Where a pool's memory comes from: a memory type index, or the type VMA would choose for a buffer or
 * image description and allocation options (vmaFindMemoryTypeIndexForBufferInfo / ForImageInfo).
 */
export type PoolTarget =
  | { memoryTypeIndex: number }
  | { forBuffer: BufferInfo; allocation?: AllocationOptions }
  | { forImage: ImageInfo; allocation?: AllocationOptions };

/** Options of {@link Allocator.createPool}. */
export interface PoolOptions {
  /**
   * Size of each VkDeviceMemory block in bytes. Default (or 0): VMA's preferred size for the heap, blocks may
   * then differ in size and the pool may also make dedicated allocations. Set: every block has this size.
   */
  blockSize?: number;
  /** Blocks allocated at creation and always kept, even empty (default 0). */
  minBlockCount?: number;
  /** At most this many blocks (default Infinity). Equal to minBlockCount: a pool of fixed size. */
  maxBlockCount?: number;
  /** Every allocation of the pool is aligned to at least this power of two (default: none). */
  minAllocationAlignment?: number;
  /** VK_EXT_memory_priority priority of the pool's blocks, in [0, 1] (default 0.5). */
  priority?: number;
  /** The pool's name: in the JSON dump, leak reports and errors. */
  name?: string;
  /** The allocation algorithm (default "tlsf"). `"buddy"` makes a {@link BuddyPool}. */
  algorithm?: PoolAlgorithm;
  /**
   * Buddy pools only: the smallest node, a power of two no larger than blockSize (default 256). Raised to the
   * device's bufferImageGranularity unless `ignoreBufferImageGranularity` (see {@link BuddyPool}).
   */
  minNodeSize?: number;
  /** Treat buffers and optimal images as never conflicting in a block (VMA's IGNORE_BUFFER_IMAGE_GRANULARITY). */
  ignoreBufferImageGranularity?: boolean;
  /**
   * Frames after its last touch during which a `canBecomeLost` allocation of this pool cannot be made lost (default:
   * the allocator's). See engine/memory/lost-allocations.ts.
   */
  frameInUseCount?: number;
}

/**
 * @internal The memory type of a {@link PoolTarget}: the index given, or the one `typeFor` (the allocator's
 * vmaFindMemoryTypeIndexFor*Info, whose messages name `arg`) chooses for the description and options.
 * @throws TypeError / RangeError naming `target` or its member and the value.
 */
export function resolvePoolTarget(
  target: PoolTarget,
  memoryTypeCount: number,
  op: string,
  typeFor: (
    kind: "buffer" | "image",
    info: BufferInfo | ImageInfo,
    allocation: AllocationOptions | undefined,
    arg: string,
  ) => number,
): number {
  if (!isOptionsObject(target)) {
    fail(
      op,
      "target",
      "must be { memoryTypeIndex } or { forBuffer, allocation? } or { forImage, allocation? }",
      target,
      TypeError,
    );
  }
  const t = target as Partial<{
    memoryTypeIndex: number;
    forBuffer: BufferInfo;
    forImage: ImageInfo;
    allocation: AllocationOptions;
  }>;
  const given = (["memoryTypeIndex", "forBuffer", "forImage"] as const).filter((k) => t[k] !== undefined);
  if (given.length !== 1) {
    fail(op, "target", "must have exactly one of memoryTypeIndex, forBuffer, forImage", target, TypeError);
  }
  let memoryTypeIndex: number;
  if (t.memoryTypeIndex !== undefined) {
    memoryTypeIndex = t.memoryTypeIndex;
    if (!(Number.isInteger(memoryTypeIndex) && memoryTypeIndex >= 0 && memoryTypeIndex < memoryTypeCount)) {
      fail(op, "target.memoryTypeIndex", `must be an integer in [0, ${memoryTypeCount})`, memoryTypeIndex);
    }
    if (t.allocation !== undefined)
      fail(op, "target.allocation", "is only used with forBuffer or forImage", t.allocation, TypeError);
  } else if (t.forBuffer !== undefined) {
    memoryTypeIndex = typeFor("buffer", t.forBuffer, t.allocation, "target.forBuffer");
  } else {
    memoryTypeIndex = typeFor("image", t.forImage!, t.allocation, "target.forImage");
  }
  return memoryTypeIndex;
}

/** What VMA keeps up to date about a pool (VmaStatistics). */
export type PoolStatistics = NativeStatistics;

const POOL_LINEAR = 0x4;
const POOL_IGNORE_GRANULARITY = 0x2;

function fail(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}
function isCount(v: unknown): v is number {
  return typeof v === "number" && v >= 0 && v <= 1_000_000 && Math.floor(v) === v;
}

/**
 * One custom pool. Made by {@link Allocator.createPool}; destroyed by {@link Pool.destroy} or with its allocator.
 */
export class Pool {
  /** The memory type all its blocks are in. */
  readonly memoryTypeIndex: number;
  /** Its allocation algorithm. */
  readonly algorithm: PoolAlgorithm;
  /** The fixed block size, or 0 when VMA chooses block sizes. */
  readonly blockSize: number;
  /** Blocks always kept. */
  readonly minBlockCount: number;
  /** Most blocks it may have (Infinity: no limit). */
  readonly maxBlockCount: number;
  /** Minimum alignment of its allocations (0: none beyond the resource's). */
  readonly minAllocationAlignment: number;
  /** Priority of its blocks. */
  readonly priority: number;
  /** Its frameInUseCount for lost-able allocations, or undefined to use the allocator's. */
  readonly frameInUseCount: number | undefined;
  /** @internal Its lost-able allocations (lost-allocations.ts), made with the first of them. */
  _lostDomain: LostDomain<Allocation> | null = null;
  /**
   * @internal Its VmaPool's slot handle in the native pool table, what the encoded allocation options carry; 0 once
   * destroyed, and always 0 for a pool that runs its own blocks (BuddyPool): the allocation options then name the
   * default pools, which no call of such a pool reads.
   */
  _handle: number;
  /** @internal False once destroyed (by destroy() or with its allocator). */
  _alive = true;
  private _label: string | undefined;

  /**
   * @internal Use {@link Allocator.createPool}. Checks the options every algorithm shares and makes the VmaPool,
   * unless `ownBlocks`: a subclass that runs its own blocks (BuddyPool, which checks the rest) gets none.
   */
  constructor(
    allocator: Pool["allocator"],
    memoryTypeIndex: number,
    options: PoolOptions | undefined,
    op: string,
    ownBlocks = false,
  ) {
    if (options !== undefined && !isOptionsObject(options))
      fail(op, "options", "must be an object", options, TypeError);
    const o = options ?? {};
    const algorithm = o.algorithm ?? "tlsf";
    if (algorithm !== "tlsf" && algorithm !== "linear" && !(algorithm === "buddy" && ownBlocks)) {
      fail(op, "options.algorithm", "must be 'tlsf', 'linear' or 'buddy'", algorithm);
    }
    if (algorithm !== "buddy" && o.minNodeSize !== undefined) {
      fail(op, "options.minNodeSize", "is only for the buddy algorithm", o.minNodeSize, TypeError);
    }
    const heapIndex = allocator.memoryTypes[memoryTypeIndex].heapIndex;
    const heapSize = allocator._heapCapacity(heapIndex);
    const blockSize = o.blockSize ?? 0;
    if (!(blockSize === 0 || (Number.isSafeInteger(blockSize) && blockSize > 0))) {
      fail(op, "options.blockSize", "must be a positive integer number of bytes", blockSize);
    }
    if (blockSize > heapSize) {
      fail(
        op,
        "options.blockSize",
        `is larger than heap ${heapIndex} of memory type ${memoryTypeIndex} (${heapSize} bytes${allocator.heapSizeLimits[heapIndex]! > 0 ? ", limited" : ""})`,
        blockSize,
      );
    }
    const minBlockCount = o.minBlockCount ?? 0;
    if (!isCount(minBlockCount)) fail(op, "options.minBlockCount", "must be an integer in [0, 1000000]", minBlockCount);
    const maxBlockCount = o.maxBlockCount ?? Infinity;
    if (!(maxBlockCount === Infinity || (isCount(maxBlockCount) && maxBlockCount >= 1))) {
      fail(op, "options.maxBlockCount", "must be an integer in [1, 1000000] or Infinity", maxBlockCount);
    }
    if (maxBlockCount < minBlockCount) {
      fail(op, "options.maxBlockCount", `must be at least options.minBlockCount (${minBlockCount})`, maxBlockCount);
    }
    const minAlignment = o.minAllocationAlignment ?? 0;
    if (!(
      minAlignment === 0 ||
      (Number.isInteger(minAlignment) &&
        minAlignment >= 1 &&
        minAlignment <= 2 ** 31 &&
        (minAlignment & (minAlignment - 1)) === 0)
    )) {
      fail(op, "options.minAllocationAlignment", "must be a power of two", minAlignment);
    }
    const priority = o.priority ?? 0.5;
    if (!(typeof priority === "number" && priority >= 0 && priority <= 1))
      fail(op, "options.priority", "must be a number in [0, 1]", priority);
    if (o.name !== undefined && (typeof o.name !== "string" || o.name.includes("\0"))) {
      fail(op, "options.name", "must be a string without NUL characters", o.name, TypeError);
    }
    if (o.ignoreBufferImageGranularity !== undefined && typeof o.ignoreBufferImageGranularity !== "boolean") {
      fail(op, "options.ignoreBufferImageGranularity", "must be a boolean", o.ignoreBufferImageGranularity, TypeError);
    }
    const frameInUseCount =
      o.frameInUseCount === undefined
        ? undefined
        : checkFrameInUseCount(o.frameInUseCount, `${op}: options.frameInUseCount`);
    const flags =
      (algorithm === "linear" ? POOL_LINEAR : 0) | (o.ignoreBufferImageGranularity ? POOL_IGNORE_GRANULARITY : 0);
    let handle = 0;
    if (!ownBlocks) {
      handle = allocator._native.createPool(
        allocator._handle,
        memoryTypeIndex,
        flags,
        blockSize,
        minBlockCount,
        maxBlockCount === Infinity ? 0 : maxBlockCount,
        priority,
        minAlignment,
      );
      if (handle < 0) throw vkErrorFor(handle, "vmaCreatePool", o.name);
      if (o.name !== undefined) allocator._native.setPoolName(handle, o.name);
    }
    (this as { allocator: Pool["allocator"] }).allocator = allocator; // declared by allocator.ts (see allocation.ts)
    this.memoryTypeIndex = memoryTypeIndex;
    this.algorithm = algorithm;
    this.blockSize = blockSize;
    this.minBlockCount = minBlockCount;
    this.maxBlockCount = maxBlockCount;
    this.minAllocationAlignment = minAlignment;
    this.priority = priority;
    this.frameInUseCount = frameInUseCount;
    this._handle = handle;
    this._label = o.name;
    watch(this, "Pool", o.name, creationStack(allocator._capturesStacks));
    poolObjects.add(this);
  }

  /** @internal What reports and errors call it: "Pool 'name'". */
  get _lifetimeName(): string {
    return lifetimeName("Pool", this.label);
  }

  /**
   * @internal The ancestor whose destroy() took the pool along (its allocator, or what destroyed that), or undefined
   * while it lives or when it was destroyed itself.
   */
  _goneCause: string | undefined = undefined;
  /**
   * @internal The lifetime name of the object that made the pool for itself and destroys it ("TextureStreamer
   * 'x'"), or null: destroy() refuses while it is set, since images of frames in flight may still be in it.
   */
  _ownedBy: string | null = null;

  /** True once destroyed (by destroy() or with its allocator). */
  get destroyed(): boolean {
    return !this._alive;
  }

  /** Its label for messages: the name, or undefined. */
  get label(): string | undefined {
    return this._label;
  }

  /** @internal Throws DestroyedResourceError when destroyed; returns the native handle. */
  _live(operation: string): number {
    if (!this._alive) throw new DestroyedResourceError("Pool", this.label, operation, this._goneCause);
    return this._handle;
  }

  /** The pool's name as VMA holds it (vmaGetPoolName), or null. @throws DestroyedResourceError */
  get name(): string | null {
    return this.allocator._native.getPoolName(this._live("name"));
  }

  /** Renames the pool (vmaSetPoolName); null clears the name. @throws TypeError, DestroyedResourceError */
  set name(value: string | null) {
    const h = this._live("name");
    if (value !== null && (typeof value !== "string" || value.includes("\0"))) {
      fail("Pool.name", "value", "must be a string without NUL characters, or null", value, TypeError);
    }
    this.allocator._native.setPoolName(h, value);
    this._label = value ?? undefined;
  }

  /** Blocks, allocations and their bytes, as VMA keeps them (vmaGetPoolStatistics; cheap). */
  getStatistics(): PoolStatistics {
    return this.allocator._native.getPoolStatistics(this._live("getStatistics"));
  }

  /**
   * Counters of the pool's lost-able allocations: alive now, and made lost since creation (with their bytes).
   * @throws DestroyedResourceError
   */
  getLostAllocationStatistics(): LostAllocationStatistics {
    this._live("getLostAllocationStatistics");
    return (
      this._lostDomain?.statistics() ?? {
        canBecomeLostCount: 0,
        canBecomeLostBytes: 0,
        lostAllocationCount: 0,
        lostBytes: 0,
      }
    );
  }

  /**
   * Makes lost every lost-able allocation of the pool no longer in use: {@link Allocator.makePoolAllocationsLost}.
   * @returns how many were made lost.
   */
  makeAllocationsLost(): number {
    return this.allocator.makePoolAllocationsLost(this);
  }

  /**
   * Detailed statistics, walking the pool's blocks (vmaCalculatePoolStatistics): adds unused ranges and the
   * smallest and largest allocation and unused range (Infinity as the minimum of an empty set).
   */
  calculateStatistics(): NativeDetailedStatistics {
    return this.allocator._native.calculatePoolStatistics(this._live("calculateStatistics"));
  }

  /**
   * Checks the debug margins of the pool's blocks (vmaCheckPoolCorruption); see {@link Allocator.checkCorruption}.
   * Needs an allocator on the debug build, a memory type that is HOST_VISIBLE | HOST_COHERENT, and the TLSF or
   * linear algorithm; otherwise `result` is VK_ERROR_FEATURE_NOT_PRESENT and `ok` true.
   * @throws VkError when VMA cannot map a block; DestroyedResourceError after destroy().
   */
  checkCorruption(): CorruptionReport {
    const h = this._live("checkCorruption");
    const allocator = this.allocator;
    return checkCorruptionReport(
      allocator._native,
      allocator._handle,
      allocator.debug,
      2 ** this.memoryTypeIndex,
      {
        handle: h,
        memoryTypeIndex: this.memoryTypeIndex,
        label: this._label,
      },
      allocator.memoryTypes.map((t) => t.propertyFlags),
    );
  }

  /**
   * Destroys the pool and its memory blocks. Allocations still in it are reported, oldest first (returned, and passed to
   * the allocator's `onLeaks` or emitted as one process warning), freed with their buffers and images, and
   * only then is the pool destroyed. A second call does nothing and returns [].
   * @throws Error for a pool another vkmem object made for itself (a TextureStreamer's): destroy that object.
   */
  destroy(): LeakReport[] {
    const h = this._handle;
    if (!this._alive) return [];
    if (this._ownedBy !== null) {
      throw new InvalidStateError(
        `Pool${this._label !== undefined ? ` '${this._label}'` : ""}`,
        "destroy",
        `the pool belongs to ${this._ownedBy}, which destroys it (after the frames that use its images); destroy that instead`,
      );
    }
    unwatch(this);
    this.allocator._forgetPool(this);
    this._handle = 0;
    this._alive = false;
    const { leaks, messages } = this.allocator._native.destroyPool(h);
    return this.allocator._reportLeaks(`Pool${this._label !== undefined ? ` '${this._label}'` : ""}`, leaks, messages);
  }

  /** @internal The allocator is being destroyed (on behalf of `cause`): the native side destroys the pool with it. */
  _release(cause?: string): void {
    unwatch(this);
    if (this._alive) this._goneCause = cause;
    this._handle = 0;
    this._alive = false;
  }

  /** @internal A VmaPool goes with the native allocator: nothing to tear down first. */
  _destroyBeforeAllocator(_cause: string): NativeLeak[] | null {
    return null;
  }

  // The allocation half (pool-backend.ts): VMA's calls, with this pool's VmaPool in the encoded options.

  /** @internal */
  _createBuffer(info: BufferInfo, options: AllocationOptions | undefined, flags: number): CreatedBuffer {
    return this.allocator._vma._createBuffer(info, options, flags);
  }
  /** @internal */
  _createImage(info: ImageInfo, options: AllocationOptions | undefined, flags: number): CreatedImage {
    return this.allocator._vma._createImage(info, options, flags);
  }
  /** @internal */
  _allocateMemory(
    requirements: MemoryRequirements,
    options: AllocationOptions | undefined,
    flags: number,
    op: string,
  ): Allocation {
    return this.allocator._vma._allocateMemory(requirements, options, flags, op);
  }
  /** @internal */
  _allocateMemoryFor(
    resource: object,
    raw: bigint,
    image: boolean,
    options: AllocationOptions | undefined,
    flags: number,
    op: string,
  ): Allocation {
    return this.allocator._vma._allocateMemoryFor(resource, raw, image, options, flags, op);
  }
  /** @internal */
  _bind(allocation: Allocation, resource: object, raw: bigint, localOffset: number, image: boolean): void {
    this.allocator._vma._bind(allocation, resource, raw, localOffset, image);
  }
  /** @internal */
  _free(allocation: Allocation): void {
    this.allocator._vma._free(allocation);
  }
}

/**
 * Tears down the pools of an allocator being destroyed on behalf of `cause` (engine/lifetime.ts): first what must go
 * while the allocator lives (buddy pools: {@link PoolBackend._destroyBeforeAllocator}), then the mapped views of the
 * allocator's allocations are detached, then every pool is released (a VmaPool goes with the VmaAllocator). Each
 * pool still alive is named in `names`; both sets are emptied.
 * @returns the leaks of the pools torn down first, for the allocator's report.
 */
export function releasePools(pools: Set<Pool>, mapped: Set<Allocation>, cause: string, names: string[]): NativeLeak[] {
  const poolLeaks: NativeLeak[] = [];
  for (const pool of pools) {
    const p: PoolBackend & Pool = pool; // every pool is a PoolBackend (pool-backend.ts)
    const leaks = p._destroyBeforeAllocator(cause);
    if (leaks === null) continue;
    names.push(p._lifetimeName);
    poolLeaks.push(...leaks);
  }
  for (const a of mapped) a._release();
  mapped.clear();
  for (const p of pools) {
    if (!p.destroyed) names.push(p._lifetimeName);
    p._lostDomain?.clear();
    p._release(cause);
  }
  pools.clear();
  return poolLeaks;
}
