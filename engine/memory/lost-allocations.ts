/**
 * Lost allocations: VMA 2's "allocations that can become lost", rebuilt in TypeScript over VMA 3 (which removed
 * them; see ../shared/reference/VMA-NOTES.md section 1).
 *
 * The idea: a streaming engine overcommits. It creates resources it may not need again (textures of a level the
 * camera left) with `canBecomeLost: true`, marks each use with `touch()` once per frame, and lets a later allocation
 * created with `canMakeOtherLost: true` take their memory when it does not fit otherwise. A lost allocation's memory
 * is gone; `touch()` tells the owner (it returns false) and the owner recreates the resource when it needs it again.
 *
 * The rules, and why they are safe:
 *
 * - Frames. The allocator keeps the frame index the application gives it ({@link Allocator.setCurrentFrameIndex};
 *   a FrameManager does it in `beginFrame()`) and a `frameInUseCount`: how many frames after its last use the GPU may
 *   still read a resource. `touch()` in frame F records F as the last use. The allocation may be made lost only in a
 *   frame C with `F + frameInUseCount < C`: with frameInUseCount 1, touched in frame F, never before frame F + 2.
 *   With N frames in flight, beginFrame() of frame C has waited for the fence of frame C - N, so frameInUseCount
 *   must be at least N - 1 (the default, 1, fits 2 frames in flight; use 2 for 3). Given that, by the time an
 *   allocation may be made lost the GPU has finished every command that read it, which is why its memory is freed
 *   at once, not through a release queue.
 * - Domains. Allocations compete only within their domain: the custom pool they came from, or, for the default
 *   pools, the memory type VMA put them in. Each domain keeps its lost-able allocations in one intrusive doubly
 *   linked list (fields of the Allocation objects, no node objects), least recently used first. A new lost-able
 *   allocation and a touched one go to the tail with the current frame as last use, so the list is sorted by last use:
 *   `touch()` is O(1), and the search for victims walks from the head and stops at the first allocation still in use.
 *   Eviction therefore costs in proportion to what it evicts, never to how many allocations exist.
 * - Making room. When an allocation with `canMakeOtherLost` fails with VK_ERROR_OUT_OF_DEVICE_MEMORY (the heap, its
 *   size limit, the pool's block count, or the budget: `canMakeOtherLost` implies `withinBudget`), the allocator
 *   takes the domain the new allocation would go to (its pool, or the memory type VMA chooses first for it), makes
 *   lost the coldest allocation that is no longer in use, and retries once the bytes freed since the last try reach
 *   the new allocation's size (fragmentation may need more); it stops when the allocation succeeds or nothing more
 *   may be taken, and then throws the OutOfDeviceMemoryError as before. A request larger than its custom pool's
 *   block size (a pool with a `blockSize` of its own, which makes no dedicated allocation), or for the default pools
 *   larger than the heap of the memory type it competes in (its size, or its heapSizeLimit when lower), can never
 *   be placed there, and makes nothing lost (VMA 2 rejected it before looking for victims).
 * - Discrete GPUs. VMA places an allocation that does not fit its first memory type in the next acceptable one: with
 *   the Auto or GpuOnly intents that is host memory, so a device-local heap that is full (or at its size limit)
 *   never reports out-of-memory and nothing is made lost; the resource lands in system memory instead. Lost-able
 *   device resources should therefore ask for `requiredFlags: DEVICE_LOCAL` or come from a pool in a device-local
 *   memory type (the TextureStreamer does the latter).
 * - What "lost" does. The owner's `onLost(allocation)` callback runs first, while the buffer or image still exists,
 *   so that it can destroy what depends on it (image views, descriptor sets). Then the allocator destroys the buffer
 *   or image it created with the allocation (createBuffer / createImage: VMA's vmaDestroyBuffer / vmaDestroyImage
 *   semantics, the nvk handle object becomes a null handle) and frees the memory. For allocateMemory* allocations it
 *   frees only the memory: the buffer or image bound to it is the owner's to destroy, in onLost or later, and must
 *   never be used again. The Allocation object stays: `lost` is true, `touch()` returns false, every other member
 *   throws {@link AllocationLostError}; destroyBuffer / destroyImage / freeMemory on it (also from inside onLost)
 *   release it without touching any memory, after which it is `destroyed` like any freed allocation.
 * - Misuse is refused up front, with TypeError / RangeError: `canBecomeLost` with `mapped` (VMA 2 refused mapping
 *   lost-able allocations: a mapped view could outlive the memory), map() of a lost-able allocation, and buddy pools.
 *   An exception thrown by onLost does not stop the eviction: it is reported as a process warning.
 *
 * - Born lost (VMA 2's vmaCreateLostAllocation): {@link createLostAllocation} makes an allocation that is lost from the
 *   start, for a caller that needs a non-null placeholder. It has no memory, no memory type and size 0; it is in no
 *   domain; `touch()` returns false and it is released with freeMemory like any lost allocation. It can never become
 *   a real allocation.
 *
 * Frame indices are plain numbers compared as such; the FrameManager wraps them below 2^32 - 1, which at 60 frames
 * per second takes over two years.
 *
 * The code: {@link LostDomain} (./lost-domain.ts) is one domain's list; {@link LostAllocations} is an allocator's part of the
 * mechanism (its frame index, one domain per memory type of the default pools, eviction and making room, and the
 * image sizes it measures with a throwaway vkCreateImage to know how many bytes an image needs). The allocator
 * owns one, calls it from its create, free and touch paths, and gives it the two things it cannot know: how to
 * free an allocation and which memory type VMA would choose.
 * @module
 */
import { nvk } from "../vulkan/nvk.js";
import { Allocation } from "./allocation.js";
import { describeValue } from "../errors.js";
import { LostDomain, type LostAllocationStatistics } from "./lost-domain.js";
import type { AllocationOptions } from "./usage.js";
import type { BufferInfo, ImageInfo, MemoryType } from "./types.js";

export { LostDomain } from "./lost-domain.js";
export type { LostAllocationStatistics } from "./lost-domain.js";

/** {@link LostAllocationStatistics} of a whole allocator, with the frame bookkeeping and a per-memory-type split. */
export interface AllocatorLostStatistics extends LostAllocationStatistics {
  /** The allocator's current frame index. */
  frameIndex: number;
  /** The allocator's frameInUseCount. */
  frameInUseCount: number;
  /** The default pools' allocations per memory type (custom pools are in {@link Pool.getLostAllocationStatistics}). */
  memoryType: LostAllocationStatistics[];
}

/** Checks a frameInUseCount option. @throws RangeError naming `where`. */
export function checkFrameInUseCount(value: unknown, where: string): number {
  if (!(typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 1000)) {
    throw new RangeError(
      `${where} must be an integer in [0, 1000], got ${typeof value === "number" ? String(value) : typeof value}`,
    );
  }
  return value;
}

/** What a custom pool holds of the mechanism: its domain (null before its first lost-able allocation) and count. */
export interface LostDomainOwner {
  _lostDomain: LostDomain<Allocation> | null;
  readonly frameInUseCount: number | undefined;
}

/** The allocator calls given to {@link LostAllocations}: what only the allocator can do. */
export interface LostAllocationsHost {
  /** Frees a victim's resource and memory (the allocator's free path). */
  free(allocation: Allocation): void;
  /** The memory type VMA would choose for a buffer or image description; throws when none fits. */
  memoryTypeFor(kind: "buffer" | "image", info: BufferInfo | ImageInfo, options: AllocationOptions): number;
  /** The bytes the allocator may hold in the heap of `memoryType`: its size, or its heapSizeLimit when lower. */
  heapCapacity(memoryType: number): number;
}

/**
 * An allocator's lost allocations: the frame index, the domains of its default pools, eviction. Made and dropped
 * with its allocator (engine/memory/allocator.ts); custom pools keep their own domain (`pool._lostDomain`).
 * @internal
 */
export class LostAllocations {
  /** The frame given to setCurrentFrameIndex: what touch() records and eviction compares with. */
  frameIndex = 0;
  /** One domain per memory type of the default pools. */
  readonly typeDomains: LostDomain<Allocation>[];
  /** Bytes an image description needs, measured once per description (see {@link imageSize}). */
  private readonly imageSizeCache = new Map<string, number>();

  constructor(
    /** The allocator's frameInUseCount (pools may set their own). */
    readonly frameInUseCount: number,
    private readonly memoryTypes: readonly MemoryType[],
    /** The nvk VkDevice, for the throwaway images of {@link imageSize}. */
    private readonly device: unknown,
    private readonly host: LostAllocationsHost,
  ) {
    this.typeDomains = memoryTypes.map(() => new LostDomain<Allocation>(frameInUseCount));
  }

  /**
   * A new lost-able allocation enters its domain as the most recently used: its pool's (made with the pool's first
   * lost-able allocation), or that of the memory type it is in.
   */
  track(allocation: Allocation, pool: LostDomainOwner | undefined, memoryType: number): void {
    const domain =
      pool !== undefined
        ? (pool._lostDomain ??= new LostDomain<Allocation>(pool.frameInUseCount ?? this.frameInUseCount))
        : this.typeDomains[memoryType];
    allocation._canBecomeLost = true;
    allocation._domain = domain;
    allocation._lastUse = this.frameIndex;
    domain.push(allocation);
    domain.count++;
    domain.bytes += allocation._size;
  }

  /**
   * `allocation` was used in the current frame: a tracked one moves to the most recently used end of its domain,
   * O(1); another is only checked. Returns false when it is lost.
   * @throws DestroyedResourceError once freed or released.
   */
  touch(allocation: Allocation): boolean {
    const domain = allocation._domain;
    if (domain === null) {
      if (allocation._lostFrame >= 0 && !allocation.destroyed) return false;
      allocation._live("touch");
      return true;
    }
    allocation._lastUse = this.frameIndex;
    if (domain.tail !== allocation) {
      domain.unlink(allocation);
      domain.push(allocation);
    }
    return true;
  }

  /** Takes a tracked allocation out of its domain (it is being freed or made lost). */
  unlink(allocation: Allocation): void {
    const d = allocation._domain!;
    d.unlink(allocation);
    d.count--;
    d.bytes -= allocation._size;
    allocation._domain = null;
  }

  /** Makes lost every allocation of `domain` no longer in use, coldest first; returns how many. */
  makeAllLost(domain: LostDomain<Allocation>): number {
    let made = 0;
    for (let v = domain.victim(this.frameIndex); v !== null; v = domain.victim(this.frameIndex)) {
      this.makeLost(v, domain);
      made++;
    }
    return made;
  }

  /** The counters of the default pools per memory type, and the total with `pools`' domains added. */
  statistics(pools: Iterable<LostDomainOwner>): AllocatorLostStatistics {
    const memoryType = this.typeDomains.map((d) => d.statistics());
    const total: LostAllocationStatistics = {
      canBecomeLostCount: 0,
      canBecomeLostBytes: 0,
      lostAllocationCount: 0,
      lostBytes: 0,
    };
    const add = (s: LostAllocationStatistics) => {
      total.canBecomeLostCount += s.canBecomeLostCount;
      total.canBecomeLostBytes += s.canBecomeLostBytes;
      total.lostAllocationCount += s.lostAllocationCount;
      total.lostBytes += s.lostBytes;
    };
    memoryType.forEach(add);
    for (const p of pools) if (p._lostDomain !== null) add(p._lostDomain.statistics());
    return { ...total, frameIndex: this.frameIndex, frameInUseCount: this.frameInUseCount, memoryType };
  }

  /** Forgets every tracked allocation of the default pools (the allocator is being destroyed). */
  clear(): void {
    for (const d of this.typeDomains) d.clear();
  }

  /** Makes `victim` lost: out of its domain, the owner's onLost, then its resource and memory freed. */
  private makeLost(victim: Allocation, domain: LostDomain<Allocation>): void {
    this.unlink(victim);
    domain.lostCount++;
    domain.lostBytes += victim._size;
    victim._lostFrame = this.frameIndex;
    victim.allocator._recording?.writer.lost(victim._handle, this.frameIndex);
    victim.allocator._inspector?._lost();
    const onLost = victim.onLost;
    if (onLost !== null) {
      try {
        onLost(victim);
      } catch (error) {
        process.emitWarning(
          `onLost of allocation${victim.label ? ` '${victim.label}'` : ""} threw (the allocation is lost all the same): ${error instanceof Error ? error.message : String(error)}`,
          "VkmemLostCallbackWarning",
        );
      }
    }
    if (victim._handle !== 0 && !victim.destroyed) this.host.free(victim);
  }

  /**
   * An allocation with canMakeOtherLost did not fit: makes lost the coldest allocations of its domain that are not
   * in use and retries `attempt` once the bytes freed since the last try reach `needed`, then after each further
   * one. Returns the last attempt's result (-2 when nothing more could be taken). `target` is the buffer or image
   * description, or for raw memory the acceptable memory type bits. A request larger than its custom pool's block
   * size, or than the heap its default pool's memory type is in, takes nothing (-2 at once), as in VMA 2.
   */
  makeRoom(
    kind: "buffer" | "image" | "memory",
    target: BufferInfo | ImageInfo | number,
    needed: number,
    options: AllocationOptions,
    attempt: () => number,
  ): number {
    // VMA 2's early reject: a request larger than the pool's blocks can never be placed there (a pool with its own
    // block size makes no dedicated allocation), so nothing is made lost for it.
    const blockSize = options.pool?.blockSize ?? 0;
    if (blockSize > 0 && needed > blockSize) return -2;
    const domain = this.domainFor(kind, target, options);
    if (domain === null) return -2;
    // Likewise a request larger than the heap (or its size limit) that its default pool's memory type is in.
    const type = options.pool === undefined ? this.typeDomains.indexOf(domain) : -1;
    if (type >= 0 && needed > this.host.heapCapacity(type)) return -2;
    let freed = 0;
    let sinceTry = 0;
    let tried = false;
    for (;;) {
      const victim = domain.victim(this.frameIndex);
      if (victim === null) return sinceTry > 0 ? attempt() : -2;
      freed += victim._size;
      sinceTry += victim._size;
      this.makeLost(victim, domain);
      if (freed >= needed || tried) {
        tried = true;
        sinceTry = 0;
        const result = attempt();
        if (result !== -2) return result;
      }
    }
  }

  /** The domain a failed allocation competes in: its pool's, or that of the memory type VMA would choose first. */
  private domainFor(
    kind: "buffer" | "image" | "memory",
    target: BufferInfo | ImageInfo | number,
    options: AllocationOptions,
  ): LostDomain<Allocation> | null {
    const pool = options.pool;
    if (pool !== undefined) return pool._lostDomain;
    if (kind !== "memory") {
      try {
        return this.typeDomains[this.host.memoryTypeFor(kind, target as BufferInfo | ImageInfo, options)];
      } catch {
        return null;
      }
    }
    // Raw memory: the first acceptable memory type with the required flags and something to take.
    const bits = (target as number) & (options.memoryTypeBits || 0xffffffff);
    const required = options.requiredFlags ?? 0;
    for (let i = 0; i < this.memoryTypes.length; i++) {
      if ((bits & (1 << i)) === 0 || (this.memoryTypes[i].propertyFlags & required) !== required) continue;
      if (this.typeDomains[i].victim(this.frameIndex) !== null) return this.typeDomains[i];
    }
    return null;
  }

  /** The memory an image of this description needs (vkGetImageMemoryRequirements on a probe image, cached). */
  imageSize(info: ImageInfo): number {
    const key = `${info.imageType ?? 1}:${info.format}:${info.extent.width}:${info.extent.height}:${info.extent.depth ?? 1}:${info.mipLevels ?? 1}:${info.arrayLayers ?? 1}:${info.samples ?? 1}:${info.tiling ?? 0}:${info.usage}:${info.flags ?? 0}`;
    let size = this.imageSizeCache.get(key);
    if (size === undefined) {
      const image = new nvk.VkImage();
      const createInfo = new nvk.VkImageCreateInfo({
        imageType: info.imageType ?? 1,
        format: info.format,
        extent: new nvk.VkExtent3D({
          width: info.extent.width,
          height: info.extent.height,
          depth: info.extent.depth ?? 1,
        }),
        mipLevels: info.mipLevels ?? 1,
        arrayLayers: info.arrayLayers ?? 1,
        samples: info.samples ?? 1,
        tiling: info.tiling ?? 0,
        usage: info.usage,
        flags: info.flags ?? 0,
        sharingMode: 0,
        initialLayout: info.initialLayout ?? 0,
      });
      if (nvk.vkCreateImage(this.device, createInfo, null, image) !== 0) return 0;
      const requirements = new nvk.VkMemoryRequirements();
      nvk.vkGetImageMemoryRequirements(this.device, image, requirements);
      nvk.vkDestroyImage(this.device, image, null);
      size = Number(requirements.size);
      this.imageSizeCache.set(key, size);
    }
    return size;
  }
}

/**
 * An allocation that is lost from the start (VMA 2's vmaCreateLostAllocation): `lost` true, `lostInFrame` the
 * allocator's current frame, size 0, kind "memory", `canBecomeLost` true. Release it with freeMemory.
 * @throws TypeError naming `name` when it is not a string without NUL characters.
 */
export function createLostAllocation(
  allocator: Allocation["allocator"],
  name: string | undefined,
  frameIndex: number,
): Allocation {
  if (name !== undefined && (typeof name !== "string" || name.includes("\0"))) {
    throw new TypeError(
      `createLostAllocation: name must be a string without NUL characters, got ${describeValue(name)}`,
    );
  }
  const allocation = new Allocation(allocator, "memory", 0, 0, null, false, name ?? null, undefined, null);
  allocation._canBecomeLost = true;
  allocation._lostFrame = frameIndex;
  return allocation;
}
