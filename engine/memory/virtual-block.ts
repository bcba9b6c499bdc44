/**
 * VirtualBlock: an allocator of offsets inside a range that vkmem does not own (VMA's virtual allocator), with
 * three algorithms: VMA's TLSF and linear, and vkmem's own buddy allocator (VMA 3 dropped its buddy; see
 * {@link VirtualBlockAlgorithm} for when to choose it).
 *
 * Who owns what:
 * - {@link createVirtualBlock} makes a block; the caller destroys it with {@link VirtualBlock.destroy}. No
 *   Vulkan object is involved: a virtual block only hands out ranges [offset, offset + size) of a number line,
 *   for the caller to use in its own buffer, ring or heap.
 * - A {@link VirtualAllocation} belongs to one block and is freed by {@link VirtualBlock.free}, by
 *   {@link VirtualBlock.clear} (every allocation at once) or by destroy(). After that it reads as `freed`,
 *   and getAllocationInfo / setUserData on it throw {@link DestroyedResourceError}; a second free is a no-op.
 * - destroy() with allocations alive does not fail (VMA asserts on that): it reports them (offset, size, the
 *   integer user data), frees them and only then destroys the block. Later use throws DestroyedResourceError.
 *
 * One interface: each algorithm is an {@link OffsetAllocator} (./offset-allocator.ts); a block holds exactly one,
 * made by the ALGORITHMS table, and never asks which: this class checks arguments, owns the allocation objects and
 * turns the allocator's refusals into typed errors; the allocator places, frees and writes its own statistics JSON.
 *
 * Where each algorithm runs: all three in TypeScript (./tlsf-allocator.ts, VMA's TLSF; ./linear-allocator.ts,
 * VMA's linear algorithm; ./buddy-allocator.ts, a port of native/buddy.cpp), so that their hot path crosses no
 * native boundary. TLSF and linear give the very offsets VMA gives (test/memory/tlsf-allocator.test.ts and
 * linear-allocator.test.ts check that against VMA's own virtual blocks, operation by operation); their
 * statistics and JSON keep the shapes, and the text, the native side gave.
 *
 * Invariants: every live allocation of a block sits in a table of typed arrays with generation counters; JS only
 * holds Numbers naming slots, so a stale, freed or forged handle is an error, never a use of a bad value. Whether an allocation object is still live is known here without any
 * per-allocation bookkeeping: each object records the block's epoch, which clear() and destroy() advance.
 *
 * Hot path: {@link VirtualBlock.allocateOffset} / {@link VirtualBlock.freeHandle} take and give Numbers (the
 * handle through the shared scratch slot, as before) and create no object at all; {@link VirtualBlock.allocate} / {@link VirtualBlock.free}
 * add one small object per allocation.
 * @module
 */
import { DestroyedResourceError, describeValue, vkErrorFor } from "../errors.js";
import { isIntegerIn, isOptionsObject, optionalBoolean } from "../checks.js";
import { scratch, Slot } from "../native.js";
import { formatBytes } from "../format.js";
import type { AllocationStrategy, DetailedStatistics } from "./types.js";
import { NO_FIT, TABLE_FULL, UPPER_REFUSED, type OffsetAllocator } from "./offset-allocator.js";
import { BuddyAllocator } from "./buddy-allocator.js";
import { LinearAllocator } from "./linear-allocator.js";
import { TlsfAllocator } from "./tlsf-allocator.js";
import { handleGeneration, handleIndex } from "./node-table.js";
import { unwatch, watch } from "../lifetime.js";
import { TraceWriter } from "../trace/writer.js";

/** Virtual blocks made so far: a recorded block's number in its trace. */
let blocksMade = 0;
const ALGORITHM_CODES: Readonly<Record<VirtualBlockAlgorithm, number>> = { tlsf: 0, linear: 1, buddy: 2 };

/**
 * The algorithm of a virtual block.
 *
 * - `"tlsf"` (VMA's default): two-level segregated fit. Good at everything: O(1) allocate and free, little
 *   waste (allocations take what they ask, plus alignment), freed neighbours merge at once.
 * - `"linear"` (VMA's linear algorithm): a bump allocator. Free-at-once (clear()), stack (free the last first),
 *   double stack (`upperAddress: true` allocates downwards from the end) and ring buffer (free the oldest
 *   first) are all cheap; space freed in the middle comes back only when everything around it is freed.
 * - `"buddy"` (vkmem's own, ./buddy-allocator.ts, ported from native/buddy.cpp): the block's largest power-of-two prefix is a binary tree of
 *   nodes; every allocation takes one whole node of size `max(nextPow2(size), alignment, minNodeSize)`.
 *
 * When buddy beats TLSF:
 * - Speed and predictability: allocate and free are O(log(size / minNodeSize)) with a tiny constant (a bit
 *   scan finds the smallest non-empty free list, then a few splits), no search among free ranges, no sorting
 *   by size; the worst case is known in advance, whatever happened before.
 * - Trivial coalescing: a freed node merges with its buddy, whose address is computed, not searched; freeing
 *   everything always gives back the one root node (no fragmentation can outlive the allocations).
 * - Predictable fragmentation: every free range is a power of two at an offset that is a multiple of its size,
 *   so "can a request of n bytes succeed" depends only on which nodes are free, and alignment up to the node
 *   size costs nothing (offsets are naturally aligned).
 * - Many allocations of the same power-of-two size (mip chains, fixed-size slabs, 64 KiB pages).
 *
 * What it costs:
 * - Internal waste: a request is rounded up to a power of two, so up to ~50% of a node is unused (a request of
 *   2^k + 1 bytes takes 2^(k+1)); uniformly random sizes waste about a quarter on average. The waste is
 *   reported apart (`internalWasteBytes` in {@link VirtualBlock.statistics}), never as free space.
 * - Only power-of-two blocks: a block of size S uses its largest power-of-two prefix; the tail is never handed
 *   out (it shows as one unused range). Give buddy blocks power-of-two sizes.
 * - No upper-address allocations; the allocation strategies are accepted and ignored.
 */
export type VirtualBlockAlgorithm = "tlsf" | "linear" | "buddy";

/** Options of {@link createVirtualBlock}. */
export interface VirtualBlockOptions {
  /** Size of the block in bytes (a positive safe integer). Buddy uses its largest power-of-two prefix. */
  size: number;
  /** The algorithm (default `"tlsf"`). */
  algorithm?: VirtualBlockAlgorithm;
  /** Buddy only: the smallest node, a power of two no larger than the block (default 16). */
  minNodeSize?: number;
  /** A label for messages and leak reports. */
  label?: string;
  /** Called by destroy() with the allocations still alive; default: one process warning listing them. */
  onLeaks?: (leaks: VirtualLeakReport[]) => void;
  /**
   * Record the block's calls into this trace, e.g. `allocator.recording` (engine/trace/format.ts: VirtualBlockCreate,
   * VirtualAllocate, VirtualFree, VirtualBlockDestroy; clear() is recorded as the block destroyed and made again).
   * null or undefined: not recorded.
   */
  record?: TraceWriter | null;
}

/** Options of {@link VirtualBlock.allocate}. */
export interface VirtualAllocationOptions {
  /** Alignment of the offset, a power of two (default 1). */
  alignment?: number;
  /** Linear blocks only: allocate from the end of the block downwards (double stack). */
  upperAddress?: boolean;
  /** VMA's strategy for TLSF and linear blocks; buddy ignores it. */
  strategy?: AllocationStrategy;
  /** Any JS value kept with the allocation; a safe non-negative integer also goes to the JSON as CustomData. */
  userData?: unknown;
}

/** Where a virtual allocation lives, as VMA's VmaVirtualAllocationInfo. */
export interface VirtualAllocationInfo {
  offset: number;
  /** The size that was asked for (buddy's node may be larger: see internalWasteBytes). */
  size: number;
  userData: unknown;
}

/** One allocation still alive when its block was destroyed. */
export interface VirtualLeakReport {
  offset: number;
  size: number;
  /** The integer user data VMA knew (0: none). */
  userData: number;
}

/** VmaStatistics of one virtual block, plus buddy's internal waste (0 for TLSF and linear). */
export interface VirtualBlockBasicStatistics {
  blockCount: number;
  allocationCount: number;
  blockBytes: number;
  /** The sum of the sizes asked for. */
  allocationBytes: number;
  /** Bytes inside allocated nodes beyond what was asked (buddy only). blockBytes = allocationBytes + internalWasteBytes + free bytes. */
  internalWasteBytes: number;
}

/** VmaDetailedStatistics of one virtual block, plus buddy's internal waste. Minimums of empty sets are Infinity. */
export interface VirtualBlockStatistics extends DetailedStatistics {
  internalWasteBytes: number;
}

/** The offset allocator of each algorithm (arguments checked by the VirtualBlock constructor). */
const ALGORITHMS: Record<VirtualBlockAlgorithm, (size: number, minNodeSize: number) => OffsetAllocator> = {
  tlsf: (size) => new TlsfAllocator(size),
  linear: (size) => new LinearAllocator(size),
  buddy: (size, minNodeSize) => new BuddyAllocator(size, minNodeSize),
};

/** VmaVirtualAllocationCreateFlagBits. */
export const VirtualAllocationCreateFlags = {
  UPPER_ADDRESS: 0x40,
  STRATEGY_MIN_MEMORY: 0x10000,
  STRATEGY_MIN_TIME: 0x20000,
  STRATEGY_MIN_OFFSET: 0x40000,
} as const;
const KNOWN_FLAGS = 0x40 | 0x10000 | 0x20000 | 0x40000;
const STRATEGIES: Record<AllocationStrategy, number> = {
  minMemory: VirtualAllocationCreateFlags.STRATEGY_MIN_MEMORY,
  minTime: VirtualAllocationCreateFlags.STRATEGY_MIN_TIME,
  minOffset: VirtualAllocationCreateFlags.STRATEGY_MIN_OFFSET,
};
const MAX_ALIGNMENT = 2 ** 52;

function fail(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}
function isPowerOfTwo(v: number): boolean {
  return v <= 0x40000000 ? (v & (v - 1)) === 0 : v <= MAX_ALIGNMENT && Number.isInteger(Math.log2(v));
}
function isNativeUserData(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * One range of a {@link VirtualBlock}: `[offset, offset + size)`. Made by {@link VirtualBlock.allocate}, freed by
 * {@link VirtualBlock.free} / clear() / destroy().
 */
export class VirtualAllocation {
  /** The block it belongs to. */
  readonly block: VirtualBlock;
  /** Offset in the block, in bytes (aligned as asked). */
  readonly offset: number;
  /** The size asked for, in bytes. */
  readonly size: number;
  /** @internal The native handle; 0 once freed through this object. */
  _handle: number;
  /** @internal The block's epoch when made: clear() and destroy() advance it. */
  readonly _epoch: number;
  /** @internal */
  _userData: unknown;

  /** @internal Made by VirtualBlock.allocate. */
  constructor(block: VirtualBlock, handle: number, offset: number, size: number, userData: unknown, epoch: number) {
    this.block = block;
    this._handle = handle;
    this.offset = offset;
    this.size = size;
    this._userData = userData;
    this._epoch = epoch;
  }

  /** True once freed (by free(), clear() or the block's destroy()). */
  get freed(): boolean {
    return this._handle === 0 || this._epoch !== this.block._epoch;
  }

  /** The user data given at allocation or by setUserData. */
  get userData(): unknown {
    return this._userData;
  }

  /** The native handle, for {@link VirtualBlock.freeHandle}; 0 once freed. */
  get handle(): number {
    return this.freed ? 0 : this._handle;
  }
}

/**
 * A virtual block: hands out offsets in `[0, size)`. Made by {@link createVirtualBlock}; destroy it with
 * {@link destroy}. See the module documentation for ownership, and {@link VirtualBlockAlgorithm} for the
 * algorithms.
 */
export class VirtualBlock {
  /** Size of the block in bytes. */
  readonly size: number;
  readonly algorithm: VirtualBlockAlgorithm;
  /** Buddy only: the smallest node (else 0). */
  readonly minNodeSize: number;
  readonly label: string | undefined;
  /** @internal Advanced by clear() and destroy(): allocation objects of an older epoch are freed. */
  _epoch = 1;
  /** 1 while the block lives, 0 once destroyed. */
  private _handle: number;
  /** The algorithm's allocator: places and frees; this class checks arguments and owns the objects. */
  private readonly alloc: OffsetAllocator;
  private readonly onLeaks: ((leaks: VirtualLeakReport[]) => void) | undefined;
  /** The trace it records into (`record`), or null; and its number there. */
  private readonly trace: TraceWriter | null;
  private readonly traceId: number;

  /** @internal Use {@link createVirtualBlock}. */
  constructor(options: VirtualBlockOptions) {
    const op = "createVirtualBlock";
    if (!isOptionsObject(options)) fail(op, "options", "must be { size, algorithm? }", options, TypeError);
    const { size } = options;
    const algorithm = options.algorithm ?? "tlsf";
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 1) {
      fail(op, "options.size", "must be a positive integer number of bytes", size);
    }
    if (typeof algorithm !== "string" || !Object.hasOwn(ALGORITHMS, algorithm)) {
      fail(op, "options.algorithm", 'must be "tlsf", "linear" or "buddy"', algorithm);
    }
    let minNodeSize = 0;
    if (algorithm === "buddy") {
      minNodeSize = options.minNodeSize ?? Math.min(16, 2 ** Math.floor(Math.log2(size)));
      if (
        typeof minNodeSize !== "number" ||
        !Number.isSafeInteger(minNodeSize) ||
        minNodeSize < 1 ||
        !isPowerOfTwo(minNodeSize)
      ) {
        fail(op, "options.minNodeSize", "must be a power of two", minNodeSize);
      }
      if (minNodeSize > size) fail(op, "options.minNodeSize", `must not exceed options.size (${size})`, minNodeSize);
    } else if (options.minNodeSize !== undefined) {
      fail(op, "options.minNodeSize", "is only for the buddy algorithm", options.minNodeSize, TypeError);
    }
    if (options.label !== undefined && typeof options.label !== "string")
      fail(op, "options.label", "must be a string", options.label, TypeError);
    if (options.onLeaks !== undefined && typeof options.onLeaks !== "function")
      fail(op, "options.onLeaks", "must be a function", options.onLeaks, TypeError);
    const record = options.record ?? null;
    if (record !== null && !(record instanceof TraceWriter))
      fail(op, "options.record", "must be a TraceWriter (allocator.recording) or null", record, TypeError);
    if (record?.closed) fail(op, "options.record", `is closed (trace '${record.file}')`, record, TypeError);
    this.size = size;
    this.algorithm = algorithm;
    this.minNodeSize = minNodeSize;
    this.label = options.label;
    this.onLeaks = options.onLeaks;
    this.alloc = ALGORITHMS[algorithm](size, minNodeSize);
    this._handle = 1;
    this.trace = record;
    this.traceId = ++blocksMade;
    this.recordCreate();
    watch(this, "VirtualBlock", this.label);
  }

  private recordCreate(): void {
    this.trace?.virtualBlockCreate(this.traceId, this.size, ALGORITHM_CODES[this.algorithm], this.label ?? null);
  }

  /** Writes an allocation's record (`offset` < 0: refused) when the block records and its trace is open. */
  private recordAllocate(size: number, alignment: number, flags: number, offset: number): void {
    const t = this.trace;
    if (t === null || t.closed) return;
    if (offset >= 0) t.virtualAllocate(this.traceId, scratch[Slot.OutVbAllocation], size, alignment, flags, 0, offset);
    else t.virtualAllocate(this.traceId, 0, size, alignment, flags, -2, 0); // VK_ERROR_OUT_OF_DEVICE_MEMORY
  }

  private recordFree(handle: number): void {
    if (this.trace !== null && !this.trace.closed) this.trace.virtualFree(this.traceId, handle);
  }

  /** True once destroyed. */
  get destroyed(): boolean {
    return this._handle === 0;
  }

  /**
   * @internal For the tests that compare a linear block with VMA's step by step (they read its ring-buffer mode):
   * the linear allocator of a linear block, else null.
   */
  get _linear(): LinearAllocator | null {
    return this.algorithm === "linear" ? (this.alloc as LinearAllocator) : null;
  }

  private live(operation: string): number {
    const h = this._handle;
    if (h === 0) throw new DestroyedResourceError("VirtualBlock", this.label, operation);
    return h;
  }

  // A size larger than the whole block is not bad input: as in VMA it is a request that does not fit
  // (VK_ERROR_OUT_OF_DEVICE_MEMORY from allocate, -1 from allocateOffset).
  private checkSize(op: string, size: unknown): number {
    if (typeof size !== "number" || !(size >= 1 && size <= Number.MAX_SAFE_INTEGER) || Math.floor(size) !== size) {
      fail(op, "size", "must be a positive integer number of bytes", size);
    }
    return size;
  }

  /** A power of two, or 0, which means 1 as in VmaVirtualAllocationCreateInfo::alignment; returns the alignment to use. */
  private checkAlignment(op: string, arg: string, alignment: unknown): number {
    if (alignment === 0) return 1;
    if (
      typeof alignment !== "number" ||
      !(alignment >= 1 && alignment <= 2 ** 52) ||
      Math.floor(alignment) !== alignment ||
      !isPowerOfTwo(alignment)
    ) {
      fail(op, arg, "must be a power of two", alignment);
    }
    return alignment;
  }

  /**
   * Allocates `size` bytes (vmaVirtualAllocate, or the buddy allocator).
   * @throws TypeError / RangeError for a bad size (0, NaN, not an integer), an alignment that is not a power of two
   *   (0 means 1, as in VMA), upperAddress outside a linear block, an unknown strategy.
   * @throws OutOfDeviceMemoryError (VK_ERROR_OUT_OF_DEVICE_MEMORY, as VMA returns) when no free range fits,
   *   a size larger than the whole block included.
   * @throws DestroyedResourceError after destroy().
   */
  allocate(size: number, options?: VirtualAllocationOptions): VirtualAllocation {
    const op = "VirtualBlock.allocate";
    const h = this.live(op);
    this.checkSize(op, size);
    let alignment = 1;
    let flags = 0;
    let userData: unknown = undefined;
    if (options !== undefined) {
      if (!isOptionsObject(options)) fail(op, "options", "must be an object", options, TypeError);
      if (options.alignment !== undefined) alignment = this.checkAlignment(op, "options.alignment", options.alignment);
      if (options.upperAddress !== undefined) {
        if (typeof options.upperAddress !== "boolean")
          fail(op, "options.upperAddress", "must be a boolean", options.upperAddress, TypeError);
        if (options.upperAddress) {
          if (!this.alloc.offersUpperAddress)
            fail(op, "options.upperAddress", `needs a linear block (this one is ${this.algorithm})`, true);
          flags |= VirtualAllocationCreateFlags.UPPER_ADDRESS;
        }
      }
      if (options.strategy !== undefined) {
        const bit =
          typeof options.strategy === "string" && Object.hasOwn(STRATEGIES, options.strategy)
            ? STRATEGIES[options.strategy]
            : 0;
        if (bit === 0) fail(op, "options.strategy", 'must be "minMemory", "minTime" or "minOffset"', options.strategy);
        flags |= bit;
      }
      userData = options.userData;
    }
    const offset =
      size > this.size ? NO_FIT : this.place(op, size, alignment, flags, isNativeUserData(userData) ? userData : 0);
    if (this.trace !== null) this.recordAllocate(size, alignment, flags, offset);
    if (offset < 0) {
      throw vkErrorFor(
        -2,
        "VirtualBlock.allocate",
        this.label,
        `no free range of ${size} bytes (alignment ${alignment}) in this ${this.algorithm} block`,
      );
    }
    return new VirtualAllocation(this, scratch[Slot.OutVbAllocation], offset, size, userData, this._epoch);
  }

  /**
   * The fast path of {@link allocate}: no object is made. Returns the offset, or -1 when no free range fits;
   * the handle to free it with is {@link lastHandle}, read right after this call. `flags` are
   * {@link VirtualAllocationCreateFlags} bits (UPPER_ADDRESS for linear blocks, one STRATEGY_* bit). An alignment
   * of 0 means 1 and a size larger than the block gives -1, as in VMA.
   * @throws TypeError / RangeError for bad arguments; DestroyedResourceError after destroy().
   */
  allocateOffset(size: number, alignment = 1, flags = 0): number {
    // The common call (live block, integer size that fits, alignment 1, no flags) costs one test here; every
    // other call gets all the checks in checkAllocateOffset. Kept small so that it inlines into the caller's loop.
    if (
      this._handle === 0 ||
      typeof size !== "number" ||
      !(size >= 1 && size <= this.size) ||
      Math.floor(size) !== size ||
      alignment !== 1 ||
      flags !== 0
    ) {
      alignment = this.checkAllocateOffset(size, alignment, flags);
      if (size > this.size) {
        if (this.trace !== null) this.recordAllocate(size, alignment, flags, NO_FIT);
        return -1;
      }
    }
    const alloc = this.alloc;
    const offset = alloc.allocate(size, alignment, flags, 0);
    if (offset >= 0) {
      scratch[Slot.OutVbAllocation] = alloc.lastHandle;
      if (this.trace !== null) this.recordAllocate(size, alignment, flags, offset);
      return offset;
    }
    if (offset === NO_FIT && this.trace !== null) this.recordAllocate(size, alignment, flags, NO_FIT);
    return offset === NO_FIT ? NO_FIT : this.refused("VirtualBlock.allocateOffset", offset);
  }

  /**
   * The argument checks of {@link allocateOffset}: throws for a destroyed block or a bad argument; returns the
   * alignment to use (0 becomes 1).
   */
  private checkAllocateOffset(size: number, alignment: number, flags: number): number {
    const op = "VirtualBlock.allocateOffset";
    this.live(op);
    if (typeof size !== "number" || !(size >= 1 && size <= this.size) || Math.floor(size) !== size)
      this.checkSize(op, size);
    if (alignment !== 1) alignment = this.checkAlignment(op, "alignment", alignment);
    if (flags !== 0) {
      if (!isIntegerIn(flags, 0, 0xffffffff) || (flags & ~KNOWN_FLAGS) !== 0) {
        fail(op, "flags", "must be VirtualAllocationCreateFlags bits", flags);
      }
      if ((flags & VirtualAllocationCreateFlags.UPPER_ADDRESS) !== 0 && !this.alloc.offersUpperAddress) {
        fail(op, "flags", `has UPPER_ADDRESS, which needs a linear block (this one is ${this.algorithm})`, flags);
      }
    }
    return alignment;
  }

  /** Places through the algorithm; the handle goes to the scratch slot. Returns the offset or NO_FIT. */
  private place(op: string, size: number, alignment: number, flags: number, userData: number): number {
    const offset = this.alloc.allocate(size, alignment, flags, userData);
    if (offset >= 0) {
      scratch[Slot.OutVbAllocation] = this.alloc.lastHandle;
      return offset;
    }
    return offset === NO_FIT ? NO_FIT : this.refused(op, offset);
  }

  /** Throws the error of a refusal the algorithm reported (TABLE_FULL, UPPER_REFUSED). */
  private refused(op: string, code: number): never {
    if (code === UPPER_REFUSED) {
      // VMA asserts here ("linear allocator used as double stack while it was already used as ring buffer").
      // VMA fails the request; vkmem says why, typed like the pool case (the same rule, checked before VMA).
      throw new RangeError(
        `${op}: upperAddress (VIRTUAL_ALLOCATION_CREATE_UPPER_ADDRESS) cannot be used while this linear block is used as a ring buffer`,
      );
    }
    if (code === TABLE_FULL) throw new RangeError(`${op}: a virtual block holds at most 2^24 - 1 live allocations`);
    throw new Error(`${op}: the ${this.algorithm} allocator returned ${code}`);
  }

  private staleHandle(op: string, handle: unknown): never {
    throw new RangeError(`${op}: stale or invalid virtual allocation handle, got ${describeValue(handle)}`);
  }

  /** The handle of the allocation the last successful {@link allocateOffset} (or allocate) made, on any block. */
  get lastHandle(): number {
    return scratch[Slot.OutVbAllocation];
  }

  /**
   * Frees an allocation by its handle (the fast path of {@link free}). Handle 0, the null handle, does nothing
   * (vmaVirtualFree(VK_NULL_HANDLE)).
   * @throws TypeError when the handle is not a Number; RangeError when it is not a live allocation of this block
   *   (freed twice, stale or forged).
   */
  freeHandle(handle: number): void {
    this.live("VirtualBlock.freeHandle");
    if (typeof handle !== "number")
      fail("VirtualBlock.freeHandle", "handle", "must be a Number from allocateOffset (lastHandle)", handle, TypeError);
    if (handle === 0) return;
    const index = handleIndex(handle);
    if (!this.alloc.free(index, handleGeneration(handle, index))) this.staleHandle("VirtualBlock.freeHandle", handle);
    if (this.trace !== null) this.recordFree(handle);
  }

  private checkAllocation(op: string, allocation: unknown): VirtualAllocation {
    if (!(allocation instanceof VirtualAllocation))
      fail(op, "allocation", "must be a VirtualAllocation", allocation, TypeError);
    if (allocation.block !== this)
      fail(op, "allocation", "belongs to another virtual block", allocation.block.label ?? "(unlabelled)", TypeError);
    return allocation;
  }

  /**
   * Frees an allocation (vmaVirtualFree). A second call for the same allocation, or one after clear() or
   * destroy(), does nothing; so does `null` (or undefined), as vmaVirtualFree(VK_NULL_HANDLE) does.
   * @throws TypeError when `allocation` is not a VirtualAllocation of this block.
   */
  free(allocation: VirtualAllocation | null | undefined): void {
    if (allocation === null || allocation === undefined) return;
    this.checkAllocation("VirtualBlock.free", allocation);
    if (allocation.freed || this._handle === 0) return;
    const handle = allocation._handle;
    allocation._handle = 0;
    const index = handleIndex(handle);
    if (!this.alloc.free(index, handleGeneration(handle, index))) this.staleHandle("VirtualBlock.free", handle);
    if (this.trace !== null) this.recordFree(handle);
  }

  /** Frees every allocation at once (vmaClearVirtualBlock); their objects read as freed. Returns how many. */
  clear(): number {
    this.live("VirtualBlock.clear");
    this._epoch++;
    const n = this.alloc.allocationCount;
    this.alloc.clear();
    if (this.trace !== null && !this.trace.closed) {
      this.trace.virtualBlockDestroy(this.traceId); // a cleared block is a new one: the replay makes it again
      this.recordCreate();
    }
    return n;
  }

  /**
   * Where an allocation lives now (vmaGetVirtualAllocationInfo).
   * @throws DestroyedResourceError when the allocation was freed or the block destroyed.
   */
  getAllocationInfo(allocation: VirtualAllocation): VirtualAllocationInfo {
    const op = "VirtualBlock.getAllocationInfo";
    this.live(op);
    this.checkAllocation(op, allocation);
    if (allocation.freed) throw new DestroyedResourceError("VirtualAllocation", this.label, op);
    const entry = this.alloc.entryOf(allocation._handle);
    if (entry < 0) this.staleHandle(op, allocation._handle);
    return { offset: this.alloc.offsetOf(entry), size: this.alloc.sizeOf(entry), userData: allocation._userData };
  }

  /**
   * Replaces an allocation's user data (vmaSetVirtualAllocationUserData). A safe non-negative integer also
   * becomes VMA's pUserData (CustomData in the JSON); any other value clears that.
   */
  setUserData(allocation: VirtualAllocation, userData: unknown): void {
    const op = "VirtualBlock.setUserData";
    this.live(op);
    this.checkAllocation(op, allocation);
    if (allocation.freed) throw new DestroyedResourceError("VirtualAllocation", this.label, op);
    const value = isNativeUserData(userData) ? userData : 0;
    const entry = this.alloc.entryOf(allocation._handle);
    if (entry < 0) this.staleHandle(op, allocation._handle);
    this.alloc.setUserData(entry, value);
    allocation._userData = userData;
  }

  /** Number of allocations alive now. */
  get allocationCount(): number {
    this.live("VirtualBlock.allocationCount");
    return this.alloc.allocationCount;
  }

  /**
   * Statistics of the block. `detailed` (default) walks every allocation (vmaCalculateVirtualBlockStatistics)
   * and adds unused ranges and the extremes; `false` gives VMA's cheap VmaStatistics
   * (vmaGetVirtualBlockStatistics). Both include buddy's `internalWasteBytes`.
   */
  statistics(): VirtualBlockStatistics;
  statistics(detailed: true): VirtualBlockStatistics;
  statistics(detailed: false): VirtualBlockBasicStatistics;
  statistics(detailed = true): VirtualBlockStatistics | VirtualBlockBasicStatistics {
    this.live("VirtualBlock.statistics");
    const full = optionalBoolean(detailed, true, "VirtualBlock.statistics", "detailed");
    const s = this.alloc.statistics(full);
    const waste = this.alloc.wasteBytes;
    if (!full) {
      return {
        blockCount: 1,
        allocationCount: s.allocationCount,
        blockBytes: s.blockBytes,
        allocationBytes: s.allocationBytes,
        internalWasteBytes: waste,
      };
    }
    return {
      blockCount: 1,
      allocationCount: s.allocationCount,
      blockBytes: s.blockBytes,
      allocationBytes: s.allocationBytes,
      unusedRangeCount: s.unusedRangeCount,
      allocationSizeMin: s.allocationSizeMin,
      allocationSizeMax: s.allocationSizeMax,
      unusedRangeSizeMin: s.unusedRangeSizeMin,
      unusedRangeSizeMax: s.unusedRangeSizeMax,
      internalWasteBytes: waste,
    };
  }

  /**
   * VMA's JSON for a virtual block: `{"Stats": {...}, "Details": {...}}` (vmaBuildVirtualBlockStatsString);
   * buddy blocks give the same shape, with Algorithm, UsableBytes, MinNodeSize and InternalWasteBytes in Details.
   * Integer user data shows as "CustomData".
   */
  buildStatsString(detailed = true): string {
    this.live("VirtualBlock.buildStatsString");
    const full = optionalBoolean(detailed, true, "VirtualBlock.buildStatsString", "detailed");
    return this.alloc.statsString(full);
  }

  /**
   * Destroys the block. Allocations still alive are reported (returned, and passed to `onLeaks` or emitted as
   * one process warning) and freed first. A second call does nothing and
   * returns [].
   */
  destroy(): VirtualLeakReport[] {
    const h = this._handle;
    if (h === 0) return [];
    unwatch(this);
    this._handle = 0;
    this._epoch++;
    const reports: VirtualLeakReport[] = this.alloc.liveAllocations();
    this.alloc.clear();
    if (this.trace !== null && !this.trace.closed) this.trace.virtualBlockDestroy(this.traceId);
    const messages: string[] = [];
    if (reports.length > 0 || messages.length > 0) {
      if (this.onLeaks !== undefined) this.onLeaks(reports);
      else {
        const lines = reports
          .slice(0, 20)
          .map((r) => `  offset ${r.offset}: ${formatBytes(r.size)}${r.userData ? ` (userData ${r.userData})` : ""}`);
        if (reports.length > 20) lines.push(`  ... and ${reports.length - 20} more`);
        process.emitWarning(
          `VirtualBlock${this.label ? ` '${this.label}'` : ""} destroyed with ${reports.length} live allocation(s); freed them:\n${lines.join("\n")}` +
            (messages.length > 0 ? `\n${messages.join("\n")}` : ""),
          "VkmemLeakWarning",
        );
      }
    }
    return reports;
  }
}

/**
 * Creates a virtual block (vmaCreateVirtualBlock, or a buddy allocator). Destroy it with
 * {@link VirtualBlock.destroy}.
 * @throws TypeError / RangeError for bad options (the message names the option and its value).
 */
export function createVirtualBlock(options: VirtualBlockOptions): VirtualBlock {
  return new VirtualBlock(options);
}
