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
 * Storage. Nodes come in buddy pairs: a split takes one pair (nodes 2p and 2p + 1, left and right), so a node's
 * buddy is `node ^ 1` and its parent, level and offset are stored once per pair (the root is node 0 of pair 0,
 * whose node 1 is never used). A merge gives the pair back to a list of unused pairs. A split thus writes
 * three pair fields and the right half's free-list links; nothing else is stored per node but its state, its
 * free-list links and, for an allocation, its requested size and user data. The state is one Int32: unused, free,
 * split, or for an allocation its generation (>= 1), so that a free checks a handle with one read. Node numbers differ
 * from native/buddy.cpp's, but nodes are never chosen by number (always the head of a free list), so offsets,
 * failures, statistics and JSON are the same.
 *
 * Handles. An allocation is named by `generation * 2^24 + node`. Generations come from one counter per
 * allocator, advanced on every allocation, so no two live allocations share one: a freed, stale, forged or
 * neighbouring handle (handle + 1) never names a live node. Everything lives in typed arrays that grow by
 * doubling; the hot paths create no object and call no function.
 * @module
 */
import { ceilLog2, copyF64, copyI32, copyU8, floorLog2, Handle } from "./node-table.js";
import type { OffsetAllocator, OffsetLeak, OffsetStatistics } from "./offset-allocator.js";
import { allocationJson, detailsJson, freeRangeJson, statsJson } from "./virtual-block-json.js";

// A node's state (one Int32 per node): unused, free, split, or an allocation, whose state is its generation (>= 1),
// so that one read both tells an allocation and checks a handle.
const UNUSED = 0;
const FREE = -1;
const SPLIT = -2;
const NONE = -1;
/** The figures of {@link BuddyAllocator.statistics}: {@link OffsetStatistics} plus the rounding waste. */
export interface BuddyStatistics extends OffsetStatistics {
  internalWasteBytes: number;
}

/**
 * A buddy allocator over `[0, size)`. Made by VirtualBlock (which checks the arguments: size >= 1, minNodeSize a
 * power of two no larger than size); dropped with it.
 */
export class BuddyAllocator implements OffsetAllocator {
  readonly size: number;
  readonly usable: number;
  readonly minNodeSize: number;
  /** Levels 0 .. levels - 1; the last has node size minNodeSize. */
  readonly levels: number;
  private readonly log2Usable: number;
  /** levelSize[L] = usable / 2^L. */
  private readonly levelSize: Float64Array;
  /** The largest size {@link allocate}'s fast path takes: min(usable, 2^30), a small integer. */
  private readonly fastMax: number;

  /** Node slots in use or on the unused-pair list: 2 * pairs. */
  private count = 0;
  private cap = 0;
  // Per node.
  /** UNUSED, FREE, SPLIT, or for an allocation its generation (>= 1). */
  private state = new Int32Array(0);
  /** Free nodes: free-list links. Split nodes: next = the left child. */
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private requested = new Float64Array(0);
  /** userData per allocation node (the integer VMA would see; 0: none). */
  private userData = new Float64Array(0);
  // Per pair (index node >> 1).
  /** The parent of the pair's nodes (NONE for pair 0, the root's); for an unused pair, the next unused pair. */
  private pairParent = new Int32Array(0);
  private pairLevel = new Uint8Array(0);
  /** The offset of the pair's left node. */
  private pairOffset = new Float64Array(0);

  private unusedPairHead = NONE;
  private unusedPairCount = 0;
  private readonly freeHead = new Int32Array(64);
  private maskLo = 0;
  private maskHi = 0;
  private nextGeneration = 1;

  allocationCount = 0;
  allocationBytes = 0;
  wasteBytes = 0;
  /** No upper-address allocations in a buddy. */
  readonly offersUpperAddress = false;
  /** The handle made by the last successful {@link allocate}. */
  lastHandle = 0;

  constructor(size: number, minNodeSize: number) {
    this.size = size;
    this.log2Usable = floorLog2(size);
    this.usable = 2 ** this.log2Usable;
    this.minNodeSize = minNodeSize > this.usable ? this.usable : minNodeSize;
    this.levels = Math.min(64, this.log2Usable - floorLog2(this.minNodeSize) + 1);
    this.fastMax = this.log2Usable >= 30 ? 0x40000000 : 1 << this.log2Usable;
    this.levelSize = new Float64Array(64);
    for (let l = 0; l < 64; l++) this.levelSize[l] = l <= this.log2Usable ? 2 ** (this.log2Usable - l) : 0;
    this.grow(64);
    this.clear();
  }

  /** Grows the node arrays to at least `min` nodes (a power of two, at most Handle.IndexLimit). */
  private grow(min: number): void {
    let cap = this.cap === 0 ? 64 : this.cap * 2;
    while (cap < min) cap *= 2;
    if (cap > Handle.IndexLimit) cap = Handle.IndexLimit;
    this.state = copyI32(this.state, cap);
    this.prev = copyI32(this.prev, cap);
    this.next = copyI32(this.next, cap);
    this.requested = copyF64(this.requested, cap);
    this.userData = copyF64(this.userData, cap);
    this.pairParent = copyI32(this.pairParent, cap >> 1);
    this.pairLevel = copyU8(this.pairLevel, cap >> 1);
    this.pairOffset = copyF64(this.pairOffset, cap >> 1);
    this.cap = cap;
  }

  /** Frees everything: one free root node; every handle made so far stays dead. */
  clear(): void {
    this.state.fill(UNUSED);
    this.count = 2;
    this.unusedPairHead = NONE;
    this.unusedPairCount = 0;
    this.pairParent[0] = NONE;
    this.pairLevel[0] = 0;
    this.pairOffset[0] = 0;
    this.freeHead.fill(NONE);
    this.maskLo = this.maskHi = 0;
    this.allocationCount = this.allocationBytes = this.wasteBytes = 0;
    this.pushFree(0, 0);
  }

  private pushFree(i: number, l: number): void {
    const head = this.freeHead[l];
    this.state[i] = FREE;
    this.prev[i] = NONE;
    this.next[i] = head;
    if (head !== NONE) this.prev[head] = i;
    this.freeHead[l] = i;
    if (l < 32) this.maskLo |= 1 << l;
    else this.maskHi |= 1 << (l - 32);
  }

  /** Takes free node i of level l off its list (the level's bit goes when the list becomes empty). */
  private removeFree(i: number, l: number): void {
    const prev = this.prev;
    const p = prev[i];
    const n = this.next[i];
    if (n !== NONE) prev[n] = p;
    if (p !== NONE) this.next[p] = n;
    else {
      this.freeHead[l] = n;
      if (n === NONE) {
        if (l < 32) this.maskLo &= ~(1 << l);
        else this.maskHi &= ~(1 << (l - 32));
      }
    }
  }

  /**
   * Makes sure `pairs` more pairs can be taken without growing (so a split never reallocates midway).
   * @throws RangeError when that would pass 2^24 nodes (nothing has changed then).
   */
  private reserve(pairs: number): void {
    const need = this.count + 2 * (pairs - this.unusedPairCount);
    if (need <= this.cap) return;
    if (need > Handle.IndexLimit) throw new RangeError("a virtual block holds at most 2^24 nodes");
    this.grow(need);
  }

  /**
   * Allocates a node for `size` bytes aligned to `alignment` (a power of two). Returns its offset, or -1 when
   * nothing fits; the handle is {@link lastHandle}. `userData` is the integer for the JSON (0: none); `flags` (a
   * strategy) are ignored.
   */
  allocate(size: number, alignment: number, flags: number, userData: number): number {
    // The common case first: no alignment asked, a size below 2^30 and a free node of exactly the wanted level
    // (the smallest that fits: no split). Anything else takes the general path, which would take the same node.
    if (alignment === 1 && size <= this.fastMax) {
      const want = size < this.minNodeSize ? this.minNodeSize : size;
      let level = this.log2Usable - (32 - Math.clz32(want - 1));
      if (level >= this.levels) level = this.levels - 1;
      const freeHead = this.freeHead;
      const node = freeHead[level];
      if (node !== NONE) {
        const after = this.next[node];
        freeHead[level] = after;
        if (after !== NONE) this.prev[after] = NONE;
        else if (level < 32) this.maskLo &= ~(1 << level);
        else this.maskHi &= ~(1 << (level - 32));
        const nodeSize = this.levelSize[level];
        const pair = node >> 1;
        const base = (node & 1) === 0 ? this.pairOffset[pair] : this.pairOffset[pair] + nodeSize;
        this.requested[node] = size;
        this.userData[node] = userData;
        const g = this.nextGeneration;
        this.nextGeneration = g >= Handle.MaxGeneration ? 1 : g + 1;
        this.state[node] = g;
        this.allocationCount++;
        this.allocationBytes += size;
        this.wasteBytes += nodeSize - size;
        this.lastHandle = g * Handle.IndexLimit + node;
        return base;
      }
    }
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
    if (level < target) this.reserve(target - level);
    const state = this.state;
    const prev = this.prev;
    const next = this.next;
    const freeHead = this.freeHead;
    const levelSize = this.levelSize;
    // Take the head of the level's list.
    let node = freeHead[level];
    const after = next[node];
    freeHead[level] = after;
    if (after !== NONE) prev[after] = NONE;
    else if (level < 32) this.maskLo &= ~(1 << level);
    else this.maskHi &= ~(1 << (level - 32));
    const pair = node >> 1;
    const base = (node & 1) === 0 ? this.pairOffset[pair] : this.pairOffset[pair] + levelSize[this.pairLevel[pair]];
    if (level < target) {
      const pairParent = this.pairParent;
      const pairLevel = this.pairLevel;
      const pairOffset = this.pairOffset;
      let maskLo = this.maskLo;
      let maskHi = this.maskHi;
      do {
        level++;
        // Split: the left half (of the same offset) goes on splitting, the right half onto its free list.
        let p = this.unusedPairHead;
        if (p !== NONE) {
          this.unusedPairHead = pairParent[p];
          this.unusedPairCount--;
        } else {
          p = this.count >> 1;
          this.count += 2;
        }
        pairParent[p] = node;
        pairLevel[p] = level;
        pairOffset[p] = base;
        const left = p << 1;
        const right = left + 1;
        state[node] = SPLIT;
        next[node] = left;
        const head = freeHead[level];
        state[right] = FREE;
        prev[right] = NONE;
        next[right] = head;
        if (head !== NONE) prev[head] = right;
        freeHead[level] = right;
        if (level < 32) maskLo |= 1 << level;
        else maskHi |= 1 << (level - 32);
        node = left;
      } while (level < target);
      this.maskLo = maskLo;
      this.maskHi = maskHi;
    }
    this.requested[node] = size;
    this.userData[node] = userData;
    const g = this.nextGeneration;
    this.nextGeneration = g >= Handle.MaxGeneration ? 1 : g + 1;
    state[node] = g;
    this.allocationCount++;
    this.allocationBytes += size;
    this.wasteBytes += levelSize[level] - size;
    this.lastHandle = g * Handle.IndexLimit + node;
    return base;
  }

  /** The node a handle names when it is a live allocation, else -1. */
  entryOf(handle: number): number {
    // ToInt32 keeps the low 24 bits of any integer below 2^53 exactly; anything else (NaN, a fraction, a
    // string, a negative or too large number) fails the equality with the one handle the node has.
    const node = handle & 0xffffff;
    if (node >= this.count) return -1;
    const g = this.state[node];
    return g > 0 && g * Handle.IndexLimit + node === handle ? node : -1;
  }

  /** Frees the allocation a handle (split: see node-table.ts) names. Returns false (and changes nothing) when it is not live. */
  free(node: number, generation: number): boolean {
    if (node >= this.count || this.state[node] !== generation || generation <= 0) return false;
    this.release(node);
    return true;
  }

  /** Frees live allocation node `node`. */
  private release(node: number): void {
    const state = this.state;
    const pairParent = this.pairParent;
    let pair = node >> 1;
    let level = this.pairLevel[pair];
    const req = this.requested[node];
    this.allocationCount--;
    this.allocationBytes -= req;
    this.wasteBytes -= this.levelSize[level] - req;
    // Merge upwards while the buddy is free as well; the pair goes back to the unused list.
    for (;;) {
      const parent = pairParent[pair];
      if (parent === NONE) break;
      const b = node ^ 1;
      if (state[b] !== FREE) break;
      this.removeFree(b, level);
      state[b] = UNUSED;
      state[node] = UNUSED;
      pairParent[pair] = this.unusedPairHead;
      this.unusedPairHead = pair;
      this.unusedPairCount++;
      node = parent;
      pair = node >> 1;
      level--;
    }
    this.pushFree(node, level);
  }

  private levelOf(node: number): number {
    return this.pairLevel[node >> 1];
  }
  offsetOf(node: number): number {
    const pair = node >> 1;
    return (node & 1) === 0 ? this.pairOffset[pair] : this.pairOffset[pair] + this.levelSize[this.pairLevel[pair]];
  }
  /** The size asked for (the node may be larger: the difference is waste). */
  sizeOf(node: number): number {
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
    return this.state[node] * Handle.IndexLimit + node;
  }

  /** VmaStatistics-like figures; `detailed` adds the allocation size extremes (a walk over the nodes). */
  statistics(detailed: boolean): BuddyStatistics {
    let rangeMin = Infinity;
    let rangeMax = 0;
    // Free nodes: the tree's leaves (one more than its split nodes, that is than its pairs in use besides the
    // root's) that are not allocations; counted here rather than on every allocate and free.
    let ranges = (this.count >> 1) - this.unusedPairCount - this.allocationCount;
    if (this.maskLo !== 0 || this.maskHi !== 0) {
      // The shallowest non-empty level has the largest free nodes, the deepest the smallest.
      const shallow =
        this.maskLo !== 0 ? 31 - Math.clz32(this.maskLo & -this.maskLo) : 63 - Math.clz32(this.maskHi & -this.maskHi);
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
        if (this.state[i] <= 0) continue;
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
      const state = this.state[i];
      if (state === SPLIT) {
        const left = this.next[i];
        walk(left);
        walk(left + 1);
      } else fn(this.offsetOf(i), this.levelSize[this.levelOf(i)], state > 0 ? i : -1);
    };
    walk(0);
    if (this.size > this.usable) fn(this.usable, this.size - this.usable, -1);
  }

  liveAllocations(): OffsetLeak[] {
    const out: OffsetLeak[] = [];
    this.forEachAllocation((node) =>
      out.push({ offset: this.offsetOf(node), size: this.requested[node], userData: this.userData[node] }),
    );
    return out;
  }

  /** The JSON of a buddy block: VMA's shape plus Algorithm, UsableBytes, MinNodeSize and InternalWasteBytes in Details. */
  statsString(detailed: boolean): string {
    return buddyStatsString(this, detailed);
  }

  /** Calls fn(node) for every live allocation, in node order. */
  forEachAllocation(fn: (node: number) => void): void {
    for (let i = 0; i < this.count; i++) if (this.state[i] > 0) fn(i);
  }
}

/** A buddy block's JSON: VMA's shape plus Algorithm, UsableBytes, MinNodeSize and InternalWasteBytes in Details. */
function buddyStatsString(b: BuddyAllocator, detailed: boolean): string {
  const s = b.statistics(true);
  let out = statsJson(s, ",");
  if (detailed) {
    const subs: string[] = [];
    b.forEachRange((offset, size, node) => {
      subs.push(node < 0 ? freeRangeJson(offset, size) : allocationJson(offset, b.sizeOf(node), b.userDataOf(node)));
    });
    out += detailsJson(
      [
        `"TotalBytes": ${s.blockBytes}`,
        `"UnusedBytes": ${s.blockBytes - s.allocationBytes - s.internalWasteBytes}`,
        `"Allocations": ${s.allocationCount}`,
        `"UnusedRanges": ${s.unusedRangeCount}`,
        `"Algorithm": "Buddy"`,
        `"UsableBytes": ${b.usable}`,
        `"MinNodeSize": ${b.minNodeSize}`,
        `"InternalWasteBytes": ${s.internalWasteBytes}`,
      ],
      subs,
      ",",
    );
  }
  return `${out}\n}`;
}
