/**
 * BuddyPool: a custom pool run by vkmem's own buddy allocator over whole VMA blocks. VMA 3 dropped its buddy
 * algorithm (VMA-NOTES section 1: "TLSF should beat it"); this brings it back for the cases where it still wins.
 *
 * How it is built:
 * - Each block is one dedicated VMA allocation of exactly `blockSize` bytes in the pool's memory type
 *   (`allocateMemory({ size: blockSize, memoryTypeBits: 1 << type }, { dedicated: true })`): its own
 *   VkDeviceMemory, at offset 0, counted by VMA (heap size limits, budgets, the JSON dump, where it shows as a
 *   dedicated allocation named after the pool). Over each block runs a buddy virtual block
 *   (engine/memory/virtual-block.ts, native/buddy.cpp) through its fast path (allocateOffset / freeHandle).
 * - createBuffer / createImage with `{ pool }` create the resource natively, unbound, with its memory requirements
 *   in one call (native/buddy_pool.cpp createUnbound), check that the pool's memory type is among its
 *   memoryTypeBits, take a node from the first block that has one (a new block when none has, up to maxBlockCount)
 *   and bind the resource at the node's offset inside the block's VMA allocation (bindAt: vmaBind*Memory2). A node of size 2^k lies at a multiple of 2^k in its block and
 *   the block at offset 0 of its VkDeviceMemory, so any alignment up to the node size holds with no padding.
 *   allocateMemory* give raw nodes, bound by the caller with bindBufferMemory / bindImageMemory.
 * - The result is the usual `{ buffer | image, allocation, allocationInfo }`; the allocation is a
 *   {@link BuddyAllocation}: memoryType, deviceMemory, offset (in the VkDeviceMemory), size, name, userData,
 *   map()/unmap(), flush()/invalidate() behave as for any {@link Allocation}.
 *
 * When a buddy pool beats a TLSF pool:
 * - Speed that does not depend on history: allocate and free are O(log(blockSize / minNodeSize)) with a small
 *   constant (one bit scan for the smallest non-empty free list, a few splits or merges), whatever the
 *   fragmentation state; TLSF is O(1) too but its constant grows with bufferImageGranularity handling and its
 *   free must find and merge neighbours.
 * - Trivial coalescing: a freed node merges with its buddy, whose address is computed, never searched; freeing
 *   everything always restores one free node per block.
 * - Predictable fragmentation: external fragmentation is bounded. Every free range is a power of two aligned to
 *   its size, so whether a request of n bytes fits depends only on which nodes are free, never on how earlier
 *   ranges were carved; a block can be filled entirely with nodes of one size in any order.
 * - Many resources of the same power-of-two sizes: streaming texture mips (each level a quarter of the one
 *   above), fixed-size slabs, 64 KiB pages. There the rounding costs nothing.
 *
 * What it costs:
 * - The create path's speed: createBuffer + destroyBuffer in a buddy pool cost ~1.8 us per pair against ~0.7 us in
 *   a TLSF pool, where VMA does everything in one native call (bench/algorithms, lavapipe, validation off; it was
 *   ~11 us while the resources went through nvk's bindings). The buddy itself takes ~30-40 ns per allocate or free
 *   from TS. The win is predictability, not raw create speed.
 * - Internal waste: a request takes a node of the next power of two (at least minNodeSize and the alignment), so
 *   up to ~50% of a node is unused for sizes just over a power of two (65 KiB takes a 128 KiB node); uniformly
 *   random sizes waste about a quarter. It is reported apart as `internalWasteBytes`, never as free space.
 * - `blockSize` must be a power of two, and a resource larger than a block cannot be placed (out of device
 *   memory, as VMA answers for a fixed-block pool).
 * - No dedicated allocations and no upper-address (double stack) allocations; both are refused. `neverAllocate`
 *   is honoured (no new block), `withinBudget` applies when a new block is needed, strategies are ignored.
 * - Blocks are released as soon as they are empty beyond minBlockCount (no hysteresis): keep minBlockCount >= 1
 *   when one block is filled and emptied in a loop.
 *
 * bufferImageGranularity: buffers and linear images must not share a granularity page with optimal images. A
 * buddy pool keeps every node a whole number of pages: the smallest node is raised to bufferImageGranularity, so
 * resources of any kind can share a block. With `ignoreBufferImageGranularity: true` the pool is declared to
 * hold one kind only (all linear, or all optimal) and nodes may be smaller than a page.
 *
 * Mapping: each block is mapped once (vmaMapMemory on its VMA allocation) while at least one of its
 * sub-allocations holds a view, and unmapped when the last view goes. A sub-allocation's ArrayBuffer covers
 * exactly its `size` bytes at its offset, and is detached before its unmap, its free or the block's unmap, as for
 * every Allocation (allocation.ts).
 *
 * Who owns what: the pool belongs to its allocator ({@link Allocator.createPool}); its blocks belong to the pool;
 * buffers and images created in it belong to their allocation and go with destroyBuffer / destroyImage.
 * `pool.destroy()` with allocations alive reports them (name, size, kind) through the allocator's `onLeaks` or a
 * warning, destroys the VkBuffers / VkImages it created, then frees the blocks. The allocator's destroy() does the
 * same for every buddy pool left, before VMA sees the allocator go, and lists those allocations in its own report.
 * Creation stacks (`captureStacks`) are not kept for buddy sub-allocations.
 * @module
 */
import { check, describeValue, vkErrorFor } from "../errors.js";
import {
  scratch,
  scratchU64,
  Slot,
  type NativeDetailedStatistics,
  type NativeLeak,
  type NativeStatistics,
} from "../native.js";
import { nvk } from "../vulkan/nvk.js";
import { rawHandle, wrapHandle, type NvkHandle } from "../vulkan/handles.js";
import type { BufferInfo, ImageInfo, LeakReport, MemoryRequirements } from "./types.js";
import type { CreatedBuffer, CreatedImage } from "./pool-backend.js";
import type { AllocationKind } from "./allocation.js";
import { BuddyAllocation, BuddyBlock } from "./buddy-allocation.js";
import { Pool, type PoolOptions } from "./pool.js";
import { AllocationCreateFlags, MemoryUsage, type AllocationOptions } from "./usage.js";
import { createVirtualBlock, type VirtualBlock } from "./virtual-block.js";
import { unwatch } from "../lifetime.js";
import { vkmemFlagsOf, withoutRecording } from "./recording.js";
import { nextPowerOfTwo } from "../powers-of-two.js";

export { BuddyAllocation } from "./buddy-allocation.js";

/** {@link BuddyPool.getStatistics}: the pool statistics every pool gives, plus the buddy's internal waste. */
export interface BuddyPoolStatistics extends NativeStatistics {
  /** Bytes inside allocated nodes beyond what was asked: blockBytes = allocationBytes + internalWasteBytes + free. */
  internalWasteBytes: number;
}

/** {@link BuddyPool.calculateStatistics}: detailed statistics plus the internal waste. */
export interface BuddyPoolDetailedStatistics extends NativeDetailedStatistics {
  internalWasteBytes: number;
}

const DEFAULT_MIN_NODE_SIZE = 256;
const HOST_VISIBLE = 0x2;
const MAX_BLOCK_SIZE = 2 ** 52;

function fail(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}
function isPowerOfTwo(v: unknown): v is number {
  return (
    typeof v === "number" && Number.isSafeInteger(v) && v >= 1 && v <= MAX_BLOCK_SIZE && Number.isInteger(Math.log2(v))
  );
}

/**
 * A pool run by vkmem's buddy allocator: see the module documentation for how it works, when it beats TLSF and
 * what it costs. Made by `allocator.createPool(target, { algorithm: "buddy", blockSize, ... })`; destroyed by
 * {@link destroy} or with its allocator.
 */
export class BuddyPool extends Pool {
  /** The smallest node: options.minNodeSize (default 256), raised to bufferImageGranularity unless ignored. */
  readonly minNodeSize: number;
  /** Whether nodes may be smaller than a bufferImageGranularity page (the pool holds one resource kind only). */
  readonly ignoreBufferImageGranularity: boolean;
  /** @internal */
  readonly _blocks: BuddyBlock[] = [];
  private readonly live = new Set<BuddyAllocation>();
  private bLabel: string | undefined;
  private allocationCount = 0;
  private allocationBytes = 0;
  private wasteBytes = 0;
  /** Trace numbers of its allocations made while the allocator records (engine/memory/recording.ts). */
  private readonly traceIds = new WeakMap<BuddyAllocation, number>();
  // nvk structs cost ~0.6-0.9 us each to construct; the create path fills these in place instead.

  /** @internal Use {@link Allocator.createPool} with `algorithm: "buddy"`. */
  constructor(allocator: Pool["allocator"], memoryTypeIndex: number, options: PoolOptions, op: string) {
    super(allocator, memoryTypeIndex, options, op, true);
    const { blockSize } = this;
    try {
      if (!isPowerOfTwo(blockSize))
        fail(op, "options.blockSize", "must be a power of two for a buddy pool", options.blockSize);
      const ignore = options.ignoreBufferImageGranularity === true;
      const given = options.minNodeSize ?? Math.min(DEFAULT_MIN_NODE_SIZE, blockSize);
      if (!isPowerOfTwo(given)) fail(op, "options.minNodeSize", "must be a power of two", options.minNodeSize);
      if (given > blockSize) fail(op, "options.minNodeSize", `must not exceed options.blockSize (${blockSize})`, given);
      this.ignoreBufferImageGranularity = ignore;
      // In host-visible memory that is not coherent, flush and invalidate work in whole nonCoherentAtomSize units
      // (VMA aligns its own allocations there to it): nodes never start inside another node's atom.
      const flags = allocator.memoryTypes[memoryTypeIndex]!.propertyFlags;
      const atom = (flags & 0x2) !== 0 && (flags & 0x4) === 0 ? allocator.nonCoherentAtomSize : 1;
      this.minNodeSize = Math.min(blockSize, Math.max(given, atom, ignore ? 1 : allocator.bufferImageGranularity));
    } catch (e) {
      unwatch(this); // never handed out: not a leak for the GC safety net to report
      throw e;
    }
    this.bLabel = options.name;
    try {
      for (let i = 0; i < this.minBlockCount; ++i) this.addBlock(op, false);
    } catch (e) {
      this.freeBlocks();
      this._alive = false;
      unwatch(this);
      throw e;
    }
  }

  override get label(): string | undefined {
    return this.bLabel;
  }

  /** The pool's name, or null. @throws DestroyedResourceError */
  override get name(): string | null {
    this._live("name");
    return this.bLabel ?? null;
  }

  override set name(value: string | null) {
    this._live("name");
    if (value !== null && (typeof value !== "string" || value.includes("\0"))) {
      fail("Pool.name", "value", "must be a string without NUL characters, or null", value, TypeError);
    }
    this.bLabel = value ?? undefined;
  }

  /** Blocks, allocations, their requested bytes and the internal waste; O(1). */
  override getStatistics(): BuddyPoolStatistics {
    this._live("getStatistics");
    return {
      blockCount: this._blocks.length,
      allocationCount: this.allocationCount,
      blockBytes: this._blocks.length * this.blockSize,
      allocationBytes: this.allocationBytes,
      internalWasteBytes: this.wasteBytes,
    };
  }

  /**
   * Detailed statistics, walking every block's buddy tree: unused ranges are the free nodes; the smallest and
   * largest allocation are requested sizes (Infinity as the minimum of an empty set).
   */
  override calculateStatistics(): BuddyPoolDetailedStatistics {
    this._live("calculateStatistics");
    const s: BuddyPoolDetailedStatistics = {
      blockCount: this._blocks.length,
      allocationCount: 0,
      blockBytes: this._blocks.length * this.blockSize,
      allocationBytes: 0,
      unusedRangeCount: 0,
      allocationSizeMin: Infinity,
      allocationSizeMax: 0,
      unusedRangeSizeMin: Infinity,
      unusedRangeSizeMax: 0,
      internalWasteBytes: 0,
    };
    for (const b of this._blocks) {
      const v = b.buddy.statistics(true);
      s.allocationCount += v.allocationCount;
      s.allocationBytes += v.allocationBytes;
      s.unusedRangeCount += v.unusedRangeCount;
      s.internalWasteBytes += v.internalWasteBytes;
      if (v.allocationCount > 0) {
        s.allocationSizeMin = Math.min(s.allocationSizeMin, v.allocationSizeMin);
        s.allocationSizeMax = Math.max(s.allocationSizeMax, v.allocationSizeMax);
      }
      if (v.unusedRangeCount > 0) {
        s.unusedRangeSizeMin = Math.min(s.unusedRangeSizeMin, v.unusedRangeSizeMin);
        s.unusedRangeSizeMax = Math.max(s.unusedRangeSizeMax, v.unusedRangeSizeMax);
      }
    }
    return s;
  }

  /**
   * Destroys the pool: allocations still alive are reported (returned, and passed to the allocator's `onLeaks`
   * or emitted as one warning), the buffers and images vkmem created for them destroyed, then the blocks freed.
   * A second call does nothing and returns [].
   */
  override destroy(): LeakReport[] {
    if (!this._alive) return [];
    unwatch(this);
    const leaks = this.teardown();
    this.allocator._forgetPool(this);
    return this.allocator._reportLeaks(`Pool${this.bLabel !== undefined ? ` '${this.bLabel}'` : ""}`, leaks, []);
  }

  /** @internal The allocator is being destroyed: tear down now (it is still alive) and hand it the leaks. */
  override _destroyBeforeAllocator(cause: string): NativeLeak[] {
    if (!this._alive) return [];
    unwatch(this);
    this._goneCause = cause;
    return this.teardown();
  }

  override _release(cause?: string): void {
    unwatch(this);
    if (this._alive) this._goneCause = cause;
    this._alive = false;
  }

  private teardown(): NativeLeak[] {
    const leaks: NativeLeak[] = [];
    const poolName = this.bLabel ?? "";
    for (const a of this.live) {
      leaks.push({
        handle: 0,
        name: a.label ?? null,
        size: a._byteSize(),
        offset: a._offset,
        memoryType: this.memoryTypeIndex,
        kind: a.kind,
        pool: poolName,
      });
      this.destroyCreatedResource(a);
      a._release();
    }
    this.live.clear();
    this.allocationCount = this.allocationBytes = this.wasteBytes = 0;
    this.freeBlocks();
    this._alive = false;
    return leaks;
  }

  private freeBlocks(): void {
    for (const b of this._blocks) {
      b.buddy.clear();
      b.buddy.destroy();
      this.freeBlockMemory(b.memory);
    }
    this._blocks.length = 0;
  }

  private addBlock(op: string, withinBudget: boolean): BuddyBlock {
    // A trace has the pool's nodes, not its blocks: a replay's buddy pool makes its own.
    const memory = withoutRecording(this.allocator, () =>
      this.allocator.allocateMemory(
        { size: this.blockSize, alignment: 1, memoryTypeBits: 2 ** this.memoryTypeIndex },
        {
          usage: MemoryUsage.Unknown,
          dedicated: true,
          withinBudget,
          priority: this.priority,
          name: `buddy pool${this.bLabel !== undefined ? ` '${this.bLabel}'` : ""} block`,
        },
      ),
    );
    let buddy: VirtualBlock;
    try {
      if (memory.offset !== 0 || memory.memoryType !== this.memoryTypeIndex) {
        throw new Error(
          `${op}: a buddy pool block must be its own VkDeviceMemory at offset 0 in memory type ${this.memoryTypeIndex}`,
        );
      }
      buddy = createVirtualBlock({
        size: this.blockSize,
        algorithm: "buddy",
        minNodeSize: this.minNodeSize,
        label: this.bLabel,
      });
    } catch (e) {
      this.freeBlockMemory(memory);
      throw e;
    }
    const block = new BuddyBlock(memory, buddy);
    this._blocks.push(block);
    return block;
  }

  private releaseBlock(block: BuddyBlock): void {
    const i = this._blocks.indexOf(block);
    this._blocks.splice(i, 1);
    block.buddy.destroy();
    this.freeBlockMemory(block.memory);
  }

  private freeBlockMemory(memory: BuddyBlock["memory"]): void {
    withoutRecording(this.allocator, () => this.allocator.freeMemory(memory));
  }

  /** Writes the allocation `a` just made into the allocator's trace, when it records. */
  private record(
    a: BuddyAllocation,
    description: ArrayLike<number>,
    options: AllocationOptions | undefined,
    flags: number,
  ): BuddyAllocation {
    const recording = this.allocator._recording;
    if (recording === null) return a;
    const o = options ?? {};
    const createInfo = [flags, o.usage ?? 0, o.requiredFlags ?? 0, o.preferredFlags ?? 0, o.memoryTypeBits ?? 0, 0];
    createInfo.push(o.priority ?? 0.5, o.minAlignment ?? 0);
    const id = recording.buddyAllocated(
      this,
      a.kind,
      description,
      createInfo,
      vkmemFlagsOf(options),
      a.label ?? null,
      this.memoryTypeIndex,
      a._offset,
      a.size,
      a._block.memoryLo,
      a._block.memoryHi,
      this.blockSize,
    );
    this.traceIds.set(a, id);
    return a;
  }

  /**
   * Takes a node for `size` bytes aligned to `alignment` and makes the allocation; `bind` (when given) binds the
   * resource at the node's offset, and the node is given back if it throws.
   */
  private suballocate(
    op: string,
    kind: AllocationKind,
    size: number,
    alignment: number,
    memoryTypeBits: number,
    options: AllocationOptions | undefined,
    flags: number,
    resource: object | null,
    bind: ((memory: NvkHandle, offset: number, block: BuddyBlock) => number) | null,
  ): BuddyAllocation {
    const name = options?.name ?? null;
    if (name !== null && (typeof name !== "string" || name.includes("\0"))) {
      fail(op, "allocationOptions.name", "must be a string without NUL characters", name, TypeError);
    }
    const t = this.memoryTypeIndex;
    if (((memoryTypeBits >>> t) & 1) === 0) {
      fail(
        op,
        "allocationOptions.pool",
        `is in memory type ${t}, which the ${kind === "memory" ? "requirements" : kind} do${kind === "memory" ? "" : "es"} not accept (memoryTypeBits 0x${(memoryTypeBits >>> 0).toString(16)})`,
        this.bLabel ?? "(unnamed pool)",
      );
    }
    const typeBits = options?.memoryTypeBits ?? 0;
    if (typeBits !== 0 && ((typeBits >>> t) & 1) === 0) {
      fail(op, "allocationOptions.memoryTypeBits", `excludes the pool's memory type ${t}`, typeBits);
    }
    const required = options?.requiredFlags ?? 0;
    const props = this.allocator.memoryTypes[t].propertyFlags;
    if ((required & props) !== required) {
      fail(
        op,
        "allocationOptions.requiredFlags",
        `are not all in the pool's memory type ${t} (flags 0x${props.toString(16)})`,
        required,
      );
    }
    if ((flags & AllocationCreateFlags.DONT_BIND) !== 0)
      fail(op, "allocationOptions.flags", "has DONT_BIND, which a buddy pool does not offer", flags);
    const align = Math.max(alignment, this.minAllocationAlignment, 1);
    const nodeSize = Math.max(nextPowerOfTwo(size), align, this.minNodeSize);
    if (nodeSize > this.blockSize) {
      throw vkErrorFor(
        -2,
        op,
        name ?? undefined,
        `${size} bytes (alignment ${align}) need a ${nodeSize}-byte node, larger than the buddy pool's blockSize ${this.blockSize}`,
      );
    }
    let block: BuddyBlock | null = null;
    let offset = -1;
    for (const b of this._blocks) {
      offset = b.buddy.allocateOffset(size, align);
      if (offset >= 0) {
        block = b;
        break;
      }
    }
    if (block === null) {
      if ((flags & AllocationCreateFlags.NEVER_ALLOCATE) !== 0) {
        throw vkErrorFor(
          -2,
          op,
          name ?? undefined,
          `no free ${nodeSize}-byte node in the buddy pool's ${this._blocks.length} block(s), and neverAllocate`,
        );
      }
      if (this._blocks.length >= this.maxBlockCount) {
        throw vkErrorFor(
          -2,
          op,
          name ?? undefined,
          `no free ${nodeSize}-byte node in the buddy pool's blocks, and maxBlockCount (${this.maxBlockCount}) is reached`,
        );
      }
      block = this.addBlock(op, (flags & AllocationCreateFlags.WITHIN_BUDGET) !== 0);
      offset = block.buddy.allocateOffset(size, align);
    }
    const handle = block.buddy.lastHandle;
    if (bind !== null) {
      let r: number;
      try {
        r = bind(block.deviceMemory, offset, block);
      } catch (e) {
        r = -1;
        this.giveBack(block, handle);
        throw e;
      }
      if (r < 0) {
        this.giveBack(block, handle);
        throw vkErrorFor(r, kind === "image" ? "vkBindImageMemory" : "vkBindBufferMemory", name ?? undefined);
      }
    }
    const persistent = (flags & AllocationCreateFlags.MAPPED) !== 0 && (props & HOST_VISIBLE) !== 0;
    let a: BuddyAllocation;
    try {
      a = new BuddyAllocation(
        this,
        kind,
        handle,
        block,
        offset,
        size,
        nodeSize,
        resource,
        persistent,
        name,
        options?.userData,
      );
    } catch (e) {
      this.giveBack(block, handle);
      throw e;
    }
    block.liveCount++;
    this.live.add(a);
    this.allocationCount++;
    this.allocationBytes += size;
    this.wasteBytes += nodeSize - size;
    return a;
  }

  /** Returns a node to its block; releases the block when it is empty beyond minBlockCount. */
  private giveBack(block: BuddyBlock, handle: number): void {
    block.buddy.freeHandle(handle);
    if (block.liveCount === 0 && this._blocks.length > this.minBlockCount) this.releaseBlock(block);
  }

  private destroyCreatedResource(a: BuddyAllocation): void {
    if (a.kind === "memory" || a._resource === null) return;
    this.allocator._native.destroyUnbound(this.allocator._handle, rawHandle(a._resource as NvkHandle));
  }

  /** @internal allocator.destroyBuffer / destroyImage / freeMemory of one of its allocations. */
  override _free(a: BuddyAllocation): void {
    if (!this.live.delete(a)) return;
    const id = this.traceIds.get(a);
    if (id !== undefined) this.allocator._recording?.writer.free(id);
    this.destroyCreatedResource(a);
    const block = a._block;
    const handle = a._handle;
    const size = a.size;
    this.allocationCount--;
    this.allocationBytes -= size;
    this.wasteBytes -= a._nodeSize - size;
    a._release();
    block.liveCount--;
    this.giveBack(block, handle);
  }

  /**
   * @internal allocator.createBuffer with `{ pool: this }`: the buffer info is checked and already in the scratch
   * (encodeBufferInfo), so one native call makes the buffer unbound and reports its requirements, and one more
   * binds it at the chosen node.
   */
  override _createBuffer(info: BufferInfo, options: AllocationOptions, flags: number): CreatedBuffer {
    const allocation = this.createResource("createBuffer", "buffer", options, flags);
    return { buffer: allocation._resource, allocation, allocationInfo: allocation.info };
  }

  /** @internal allocator.createImage with `{ pool: this }`: as {@link _createBuffer}, for an image. */
  override _createImage(info: ImageInfo, options: AllocationOptions, flags: number): CreatedImage {
    const allocation = this.createResource("createImage", "image", options, flags);
    return { image: allocation._resource, allocation, allocationInfo: allocation.info };
  }

  private createResource(
    op: string,
    kind: "buffer" | "image",
    options: AllocationOptions,
    flags: number,
  ): BuddyAllocation {
    const allocator = this.allocator;
    const addon = allocator._native;
    const image = kind === "image";
    // The description in the scratch, for the trace (the native calls below write only their output slots).
    const description = allocator._recording === null ? [] : Array.from(scratch.subarray(0, image ? 13 : 4));
    const r = addon.createUnbound(allocator._handle, image);
    if (r !== 0) throw vkErrorFor(r, image ? "vkCreateImage" : "vkCreateBuffer", options.name);
    const raw = scratchU64[Slot.OutResource];
    const size = scratch[Slot.OutSize];
    const alignment = Math.max(scratch[Slot.OutOffset], image ? 1 : (options.minAlignment ?? 1));
    const typeBits = scratch[Slot.OutMemoryType];
    const resource = wrapHandle(image ? nvk.VkImage : nvk.VkBuffer, raw);
    try {
      const a = this.suballocate(op, kind, size, alignment, typeBits, options, flags, resource, (_m, offset, block) =>
        addon.bindAt(block.memory._handle, raw, offset),
      );
      return this.record(a, description, options, flags);
    } catch (e) {
      addon.destroyUnbound(allocator._handle, raw);
      throw e;
    }
  }

  /** @internal allocator.allocateMemory with `{ pool: this }`: requirements and options are checked already. */
  override _allocateMemory(
    requirements: MemoryRequirements,
    options: AllocationOptions,
    flags: number,
    op: string,
  ): BuddyAllocation {
    const alignment = Math.max(requirements.alignment, options.minAlignment ?? 1);
    const a = this.suballocate(
      op,
      "memory",
      requirements.size,
      alignment,
      requirements.memoryTypeBits,
      options,
      flags,
      null,
      null,
    );
    return this.record(a, [requirements.size, requirements.alignment, requirements.memoryTypeBits], options, flags);
  }

  /** @internal allocator.allocateMemoryForBuffer / ForImage with `{ pool: this }`: the caller's resource's requirements. */
  override _allocateMemoryFor(
    resource: object,
    _raw: bigint,
    image: boolean,
    options: AllocationOptions,
    flags: number,
    op: string,
  ): BuddyAllocation {
    const req = new nvk.VkMemoryRequirements();
    if (image) nvk.vkGetImageMemoryRequirements(this.allocator.device, resource, req);
    else nvk.vkGetBufferMemoryRequirements(this.allocator.device, resource, req);
    const alignment = Math.max(Number(req.alignment), options.minAlignment ?? 1);
    const a = this.suballocate(
      op,
      "memory",
      Number(req.size),
      alignment,
      req.memoryTypeBits,
      options,
      flags,
      null,
      null,
    );
    // The caller's own resource: recorded as raw memory of what it needs, as for the default pools.
    return this.record(a, [Number(req.size), Number(req.alignment), req.memoryTypeBits], options, flags);
  }

  /**
   * @internal allocator.bindBufferMemory / bindImageMemory of one of its allocations (arguments checked): binds
   * at the node's offset + localOffset after checking the resource's requirements against the node.
   */
  override _bind(a: BuddyAllocation, resource: object, _raw: bigint, localOffset: number, image: boolean): void {
    const op = image ? "bindImageMemory" : "bindBufferMemory";
    const device = this.allocator.device;
    const req = new nvk.VkMemoryRequirements();
    if (image) nvk.vkGetImageMemoryRequirements(device, resource, req);
    else nvk.vkGetBufferMemoryRequirements(device, resource, req);
    const offset = a._offset + localOffset;
    const alignment = Number(req.alignment);
    if (((req.memoryTypeBits >>> this.memoryTypeIndex) & 1) === 0) {
      fail(
        op,
        image ? "image" : "buffer",
        `does not accept the pool's memory type ${this.memoryTypeIndex}`,
        a.label ?? "(unnamed)",
        TypeError,
      );
    }
    if (offset % alignment !== 0)
      fail(op, "localOffset", `must keep the ${alignment}-byte alignment the resource needs`, localOffset);
    if (localOffset + Number(req.size) > a.size) {
      fail(
        op,
        image ? "image" : "buffer",
        `needs ${Number(req.size)} bytes, more than the allocation has from localOffset ${localOffset}`,
        a.label ?? "(unnamed)",
      );
    }
    check(
      image
        ? nvk.vkBindImageMemory(device, resource, a._block.deviceMemory, offset)
        : nvk.vkBindBufferMemory(device, resource, a._block.deviceMemory, offset),
      image ? "vkBindImageMemory" : "vkBindBufferMemory",
      a.label,
    );
    a._resource = resource as object;
  }
}
