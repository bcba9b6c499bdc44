/**
 * BuddyAllocator: vkmem's binary buddy allocator over a range of offsets, in TypeScript (a port of the design of
 * native/buddy.{h,cpp}, which stays as the C++ reference and benchmark baseline). Created and owned by a
 * {@link VirtualBlock} of algorithm "buddy"; no memory, no Vulkan, no native call.
 *
 * The model. The usable range is the largest power of two that fits in the block (the rest, the tail, is never
 * handed out). Level 0 is one node covering it; a node of level L has size usable / 2^L and is free, split into
 * two buddies of level L+1, or one allocation. A request of `size` bytes with `alignment` takes one node of size
 * max(nextPow2(size), alignment, minNodeSize); offsets of a node of size S are multiples of S, so any alignment
 * up to the node size holds without padding.
 * - Allocate: the deepest non-empty free list at or above the wanted level is found with one bit scan over a
 *   mask of non-empty levels (two 32-bit words: a block has at most 53 levels); its node is split down to the
 *   wanted level, each right half going on its level's free list.
 * - Free: the node becomes free; while its buddy is free too, both go back into their parent.
 *
 * Invariants: every offset in [0, usable) belongs to exactly one leaf node; a free node's buddy is never free;
 * after freeing everything the only node is the free root. block bytes = allocation bytes + internal waste +
 * free node bytes + tail, exactly (all figures are integers below 2^53, so Float64 arithmetic is exact).
 *
 * Handles. An allocation is named by `generation * 2^24 + node`. Generations come from one counter per
 * allocator, advanced on every allocation, so no two live allocations share one: a freed, stale, forged or
 * neighbouring handle (handle + 1) never names a live node. Everything lives in typed arrays that grow by
 * doubling; the hot paths create no object.
 * @module
 */

const TYPE_UNUSED = 0;
const TYPE_FREE = 1;
const TYPE_SPLIT = 2;
const TYPE_ALLOCATION = 3;
const NONE = -1;
/** Handles are generation * 2^24 + index (as native/addon.h's EncodeHandle). */
export const HANDLE_INDEX_LIMIT = 16777216;
/** Generations run in [1, 2^28]: handles stay below 2^53. */
export const MAX_GENERATION = 268435455;

/** ceil(log2(v)) for an integer v >= 1 below 2^53. */
export function ceilLog2(v: number): number {
  if (v <= 1) return 0;
  if (v <= 0x80000000) return 32 - Math.clz32(v - 1);
  let k = Math.ceil(Math.log2(v));
  if (2 ** k < v) k++;
  while (k > 0 && 2 ** (k - 1) >= v) k--;
  return k;
}

/** floor(log2(v)) for an integer v >= 1 below 2^53. */
export function floorLog2(v: number): number {
  if (v < 0x100000000) return 31 - Math.clz32(v);
  let k = Math.floor(Math.log2(v));
  if (2 ** k > v) k--;
  while (2 ** (k + 1) <= v) k++;
  return k;
}

/** The figures of {@link BuddyAllocator.statistics}; minimums of empty sets are Infinity. */
export interface BuddyStatistics {
  blockBytes: number;
  allocationCount: number;
  allocationBytes: number;
  internalWasteBytes: number;
  unusedRangeCount: number;
  allocationSizeMin: number;
  allocationSizeMax: number;
  unusedRangeSizeMin: number;
  unusedRangeSizeMax: number;
}

/**
 * A buddy allocator over `[0, size)`. Made by VirtualBlock (which checks the arguments: size >= 1, minNodeSize a
 * power of two no larger than size); dropped with it.
 */
export class BuddyAllocator {
  readonly size: number;
  readonly usable: number;
  readonly minNodeSize: number;
  /** Levels 0 .. levels - 1; the last has node size minNodeSize. */
  readonly levels: number;
  private readonly log2Usable: number;
  /** levelSize[L] = usable / 2^L. */
  private readonly levelSize: Float64Array;

  private cap = 0;
  private count = 0;
  private offset = new Float64Array(0);
  private requested = new Float64Array(0);
  private parent = new Int32Array(0);
  private buddy = new Int32Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private level = new Uint8Array(0);
  private type = new Uint8Array(0);
  private gen = new Int32Array(0);
  /** userData per allocation node (the integer VMA would see; 0: none). */
  private userData = new Float64Array(0);

  private unusedHead = NONE;
  private readonly freeHead = new Int32Array(64);
  private readonly freeCount = new Float64Array(64);
  private maskLo = 0;
  private maskHi = 0;
  private freeNodeCount = 0;
  private nextGeneration = 1;

  allocationCount = 0;
  allocationBytes = 0;
  wasteBytes = 0;
  /** The handle made by the last successful {@link allocate}. */
  lastHandle = 0;

  constructor(size: number, minNodeSize: number) {
    this.size = size;
    this.log2Usable = floorLog2(size);
    this.usable = 2 ** this.log2Usable;
    this.minNodeSize = minNodeSize > this.usable ? this.usable : minNodeSize;
    this.levels = Math.min(64, this.log2Usable - floorLog2(this.minNodeSize) + 1);
    this.levelSize = new Float64Array(64);
    for (let l = 0; l < 64; l++) this.levelSize[l] = l <= this.log2Usable ? 2 ** (this.log2Usable - l) : 0;
    this.grow(64);
    this.clear();
  }

  private grow(min: number): void {
    let cap = this.cap === 0 ? 64 : this.cap * 2;
    while (cap < min) cap *= 2;
    if (cap > HANDLE_INDEX_LIMIT) cap = HANDLE_INDEX_LIMIT;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    this.offset = f64(this.offset);
    this.requested = f64(this.requested);
    this.userData = f64(this.userData);
    this.parent = i32(this.parent);
    this.buddy = i32(this.buddy);
    this.prev = i32(this.prev);
    this.next = i32(this.next);
    this.gen = i32(this.gen);
    this.level = u8(this.level);
    this.type = u8(this.type);
    this.cap = cap;
  }

  /** Frees everything: one free root node; every handle made so far stays dead. */
  clear(): void {
    this.count = 0;
    this.unusedHead = NONE;
    this.freeHead.fill(NONE);
    this.freeCount.fill(0);
    this.maskLo = this.maskHi = 0;
    this.freeNodeCount = 0;
    this.allocationCount = this.allocationBytes = this.wasteBytes = 0;
    this.gen.fill(0);
    this.pushFree(this.newNode(0, 0, NONE));
  }

  private newNode(offset: number, level: number, parent: number): number {
    let i = this.unusedHead;
    if (i !== NONE) this.unusedHead = this.next[i];
    else {
      i = this.count;
      if (i >= this.cap) {
        if (i >= HANDLE_INDEX_LIMIT) throw new RangeError("a virtual block holds at most 2^24 nodes");
        this.grow(i + 1);
      }
      this.count = i + 1;
    }
    this.offset[i] = offset;
    this.requested[i] = 0;
    this.parent[i] = parent;
    this.buddy[i] = NONE;
    this.prev[i] = NONE;
    this.next[i] = NONE;
    this.level[i] = level;
    this.type[i] = TYPE_FREE;
    return i;
  }

  private releaseNode(i: number): void {
    this.type[i] = TYPE_UNUSED;
    this.gen[i] = 0;
    this.next[i] = this.unusedHead;
    this.unusedHead = i;
  }

  private pushFree(i: number): void {
    const l = this.level[i];
    const head = this.freeHead[l];
    this.type[i] = TYPE_FREE;
    this.prev[i] = NONE;
    this.next[i] = head;
    if (head !== NONE) this.prev[head] = i;
    this.freeHead[l] = i;
    this.freeCount[l]++;
    if (l < 32) this.maskLo |= 1 << l;
    else this.maskHi |= 1 << (l - 32);
    this.freeNodeCount++;
  }

  private removeFree(i: number): void {
    const l = this.level[i];
    const p = this.prev[i];
    const n = this.next[i];
    if (p !== NONE) this.next[p] = n;
    else this.freeHead[l] = n;
    if (n !== NONE) this.prev[n] = p;
    if (--this.freeCount[l] === 0) {
      if (l < 32) this.maskLo &= ~(1 << l);
      else this.maskHi &= ~(1 << (l - 32));
    }
    this.freeNodeCount--;
  }

  /**
   * Allocates a node for `size` bytes aligned to `alignment` (a power of two). Returns its offset, or -1 when
   * nothing fits; the handle is {@link lastHandle}. `userData` is the integer for the JSON (0: none).
   */
  allocate(size: number, alignment: number, userData: number): number {
    const usable = this.usable;
    if (size > usable || alignment > usable) return -1;
    let want = size < this.minNodeSize ? this.minNodeSize : size;
    if (alignment > want) want = alignment;
    const k = want <= 0x80000000 ? (want <= 1 ? 0 : 32 - Math.clz32(want - 1)) : ceilLog2(want);
    if (k > this.log2Usable) return -1;
    let target = this.log2Usable - k;
    if (target >= this.levels) target = this.levels - 1;
    // The deepest non-empty level at or above the target: the smallest free node that fits.
    let level: number;
    if (target >= 32) {
      const hi = this.maskHi & (target >= 63 ? -1 : (2 << (target - 32)) - 1);
      if (hi !== 0) level = 63 - Math.clz32(hi);
      else if (this.maskLo !== 0) level = 31 - Math.clz32(this.maskLo);
      else return -1;
    } else {
      const lo = this.maskLo & (target >= 31 ? -1 : (2 << target) - 1);
      if (lo === 0) return -1;
      level = 31 - Math.clz32(lo);
    }
    let node = this.freeHead[level];
    this.removeFree(node);
    while (level < target) {
      level++;
      const base = this.offset[node];
      // newNode may grow the arrays: read them through `this` after it.
      const left = this.newNode(base, level, node);
      const right = this.newNode(base + this.levelSize[level], level, node);
      this.buddy[left] = right;
      this.buddy[right] = left;
      this.type[node] = TYPE_SPLIT;
      this.next[node] = left;
      this.pushFree(right);
      node = left;
    }
    this.type[node] = TYPE_ALLOCATION;
    this.requested[node] = size;
    this.userData[node] = userData;
    const g = this.nextGeneration;
    this.nextGeneration = g >= MAX_GENERATION ? 1 : g + 1;
    this.gen[node] = g;
    this.allocationCount++;
    this.allocationBytes += size;
    this.wasteBytes += this.levelSize[this.level[node]] - size;
    this.lastHandle = g * HANDLE_INDEX_LIMIT + node;
    return this.offset[node];
  }

  /** The node a handle names when it is a live allocation, else -1. */
  nodeOf(handle: number): number {
    // ToInt32 keeps the low 24 bits of any integer below 2^53 exactly; anything else (NaN, a fraction, a
    // string, a negative or too large number) fails the equality with the one handle the node has.
    const node = handle & 0xffffff;
    if (node >= this.count || this.type[node] !== TYPE_ALLOCATION) return -1;
    return this.gen[node] * HANDLE_INDEX_LIMIT + node === handle ? node : -1;
  }

  /** Frees the allocation a handle names. Returns false (and changes nothing) when it is not live. */
  free(handle: number): boolean {
    let node = this.nodeOf(handle);
    if (node < 0) return false;
    const req = this.requested[node];
    this.allocationCount--;
    this.allocationBytes -= req;
    this.wasteBytes -= this.levelSize[this.level[node]] - req;
    this.requested[node] = 0;
    this.userData[node] = 0;
    this.gen[node] = 0;
    const type = this.type;
    // Merge upwards while the buddy is free as well.
    for (;;) {
      const parent = this.parent[node];
      if (parent === NONE) break;
      const b = this.buddy[node];
      if (type[b] !== TYPE_FREE) break;
      this.removeFree(b);
      this.releaseNode(b);
      this.releaseNode(node);
      node = parent;
    }
    this.pushFree(node);
    return true;
  }

  offsetOf(node: number): number {
    return this.offset[node];
  }
  requestedSizeOf(node: number): number {
    return this.requested[node];
  }
  userDataOf(node: number): number {
    return this.userData[node];
  }
  setUserData(node: number, value: number): void {
    this.userData[node] = value;
  }
  /** The handle of a live allocation node. */
  handleOf(node: number): number {
    return this.gen[node] * HANDLE_INDEX_LIMIT + node;
  }

  /** VmaStatistics-like figures; `detailed` adds the allocation size extremes (a walk over the nodes). */
  statistics(detailed: boolean): BuddyStatistics {
    let rangeMin = Infinity;
    let rangeMax = 0;
    let ranges = this.freeNodeCount;
    if (this.maskLo !== 0 || this.maskHi !== 0) {
      // The shallowest non-empty level has the largest free nodes, the deepest the smallest.
      const shallow = this.maskLo !== 0 ? 31 - Math.clz32(this.maskLo & -this.maskLo) : 63 - Math.clz32(this.maskHi & -this.maskHi);
      const deep = this.maskHi !== 0 ? 63 - Math.clz32(this.maskHi) : 31 - Math.clz32(this.maskLo);
      rangeMax = this.levelSize[shallow];
      rangeMin = this.levelSize[deep];
    }
    const tail = this.size - this.usable;
    if (tail > 0) {
      ranges++;
      if (tail < rangeMin) rangeMin = tail;
      if (tail > rangeMax) rangeMax = tail;
    }
    let allocMin = Infinity;
    let allocMax = 0;
    if (detailed) {
      for (let i = 0; i < this.count; i++) {
        if (this.type[i] !== TYPE_ALLOCATION) continue;
        const r = this.requested[i];
        if (r < allocMin) allocMin = r;
        if (r > allocMax) allocMax = r;
      }
    }
    return {
      blockBytes: this.size,
      allocationCount: this.allocationCount,
      allocationBytes: this.allocationBytes,
      internalWasteBytes: this.wasteBytes,
      unusedRangeCount: ranges,
      allocationSizeMin: allocMin,
      allocationSizeMax: allocMax,
      unusedRangeSizeMin: rangeMin,
      unusedRangeSizeMax: rangeMax,
    };
  }

  /**
   * Calls fn(offset, size, node) for every leaf in offset order (node -1 for a free leaf and for the tail):
   * allocations get their node, whose requested size and user data the caller reads.
   */
  forEachRange(fn: (offset: number, size: number, node: number) => void): void {
    const walk = (i: number): void => {
      if (this.type[i] === TYPE_SPLIT) {
        const left = this.next[i];
        walk(left);
        walk(this.buddy[left]);
      } else fn(this.offset[i], this.levelSize[this.level[i]], this.type[i] === TYPE_ALLOCATION ? i : -1);
    };
    walk(0);
    if (this.size > this.usable) fn(this.usable, this.size - this.usable, -1);
  }

  /** Calls fn(node) for every live allocation, in node order. */
  forEachAllocation(fn: (node: number) => void): void {
    for (let i = 0; i < this.count; i++) if (this.type[i] === TYPE_ALLOCATION) fn(i);
  }
}
