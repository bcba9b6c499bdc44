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
 *   may be taken, and then throws the OutOfDeviceMemoryError as before.
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
 * Frame indices are plain numbers compared as such; the FrameManager wraps them below 2^32 - 1, which at 60 frames
 * per second takes over two years.
 * @module
 */
import type { Allocation } from "./allocation.js";

/** Counters of lost-able allocations: of one domain, a pool, a memory type or the whole allocator. */
export interface LostAllocationStatistics {
  /** Lost-able allocations alive now (not lost, not freed). */
  canBecomeLostCount: number;
  /** Their bytes. */
  canBecomeLostBytes: number;
  /** Allocations made lost since creation. */
  lostAllocationCount: number;
  /** Their bytes. */
  lostBytes: number;
}

/** {@link LostAllocationStatistics} of a whole allocator, with the frame bookkeeping and a per-memory-type split. */
export interface AllocatorLostStatistics extends LostAllocationStatistics {
  /** The allocator's current frame index. */
  frameIndex: number;
  /** The allocator's frameInUseCount. */
  frameInUseCount: number;
  /** The default pools' allocations per memory type (custom pools are in {@link Pool.getLostAllocationStatistics}). */
  memoryType: LostAllocationStatistics[];
}

/**
 * One competition domain: a memory type of the default pools, or one custom pool. Holds the lost-able allocations
 * as an intrusive list, coldest first (see the module comment).
 * @internal
 */
export class LostDomain {
  /** Least recently used. */
  head: Allocation | null = null;
  /** Most recently used. */
  tail: Allocation | null = null;
  count = 0;
  bytes = 0;
  lostCount = 0;
  lostBytes = 0;
  /** Frames after its last use during which an allocation of this domain cannot be made lost. */
  frameInUseCount: number;

  constructor(frameInUseCount: number) {
    this.frameInUseCount = frameInUseCount;
  }

  /** Appends `a` at the tail (most recently used). */
  push(a: Allocation): void {
    a._lruPrev = this.tail;
    a._lruNext = null;
    if (this.tail === null) this.head = a;
    else this.tail._lruNext = a;
    this.tail = a;
  }

  /** Takes `a` out of the list. */
  unlink(a: Allocation): void {
    const prev = a._lruPrev;
    const next = a._lruNext;
    if (prev === null) this.head = next;
    else prev._lruNext = next;
    if (next === null) this.tail = prev;
    else next._lruPrev = prev;
    a._lruPrev = null;
    a._lruNext = null;
  }

  /** The coldest allocation that may be made lost in frame `frame`, or null when the coldest is still in use. */
  victim(frame: number): Allocation | null {
    const a = this.head;
    return a !== null && a._lastUse + this.frameInUseCount < frame ? a : null;
  }

  statistics(): LostAllocationStatistics {
    return {
      canBecomeLostCount: this.count,
      canBecomeLostBytes: this.bytes,
      lostAllocationCount: this.lostCount,
      lostBytes: this.lostBytes,
    };
  }

  /** Forgets every allocation (its pool or allocator is being destroyed and frees them natively). */
  clear(): void {
    for (let a = this.head; a !== null; ) {
      const next: Allocation | null = a._lruNext;
      a._lruPrev = null;
      a._lruNext = null;
      a._domain = null;
      a = next;
    }
    this.head = null;
    this.tail = null;
    this.count = 0;
    this.bytes = 0;
  }
}

/** Checks a frameInUseCount option. @throws RangeError naming `where`. */
export function checkFrameInUseCount(value: unknown, where: string): number {
  if (!(typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 1000)) {
    throw new RangeError(`${where} must be an integer in [0, 1000], got ${typeof value === "number" ? String(value) : typeof value}`);
  }
  return value;
}
