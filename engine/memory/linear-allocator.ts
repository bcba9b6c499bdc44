/**
 * LinearAllocator: VMA's linear algorithm (VmaBlockMetadata_Linear of VMA 3.4) for virtual blocks, in TypeScript.
 * Created and owned by a {@link VirtualBlock} of algorithm "linear"; no memory, no Vulkan, no native call.
 *
 * The model, as VMA's. Two vectors of items (offset, size, allocation slot; slot 0 marks a freed "null" item),
 * used ping-pong: the "1st" holds allocations in increasing offsets; the "2nd" is empty, or a ring buffer (items
 * made after the 1st's but placed before them, from offset 0 up), or the upper side of a double stack (items
 * placed downwards from the end of the block, in decreasing offsets). The two modes exclude each other for as
 * long as the 2nd is not empty.
 * - A lower allocation goes after the last item of the 1st (aligned up), if it ends before the top of the upper
 *   stack (or the block's end). Else, unless the block is a double stack, after the last item of the 2nd (or at
 *   0), if it ends before the first live item of the 1st: the ring buffer wraps.
 * - An upper allocation goes below the lowest upper item (or at the end), aligned down, if it starts at or after
 *   the end of the 1st. In ring-buffer mode it is refused (VMA asserts there; VirtualBlock throws).
 * - Free: the first live item of the 1st becomes null (counted as "null at the beginning"); the last item of
 *   the 2nd (or of the 1st when the 2nd is empty) is popped; any other is found by binary search on its
 *   offset and becomes a null item in the middle. Then, as VMA's CleanupAfterFree: null items at the ends are
 *   dropped, the 1st is compacted when more than 32 items and null items are at least 1.5x the live ones, and
 *   when the 1st has no live item left a ring-buffer 2nd becomes the 1st.
 * No debug margin and a buffer-image granularity of 1, as VMA's virtual blocks.
 *
 * Statistics are computed from the items in address order and are exact in every mode (VMA's cheap
 * vmaGetVirtualBlockStatistics is exact too; only its figures are read, never its walks).
 *
 * Handles. An allocation is named by `generation * 2^24 + slot` in a slot table of typed arrays; generations
 * come from one counter per allocator advanced on every allocation, so a freed, stale or forged handle never
 * names a live allocation. The hot paths create no object.
 * @module
 */
import { copyF64, copyI32, liveEntry, liveIndex, Handle } from "./node-table.js";
import { UPPER_REFUSED, type OffsetAllocator, type OffsetLeak, type OffsetStatistics } from "./offset-allocator.js";
import { allocationJson, detailsJson, freeRangeJson, statsJson } from "./virtual-block-json.js";

/** VirtualAllocationCreateFlags.UPPER_ADDRESS. */
const UPPER_ADDRESS = 0x40;
const MODE_EMPTY = 0;
const MODE_RING_BUFFER = 1;
const MODE_DOUBLE_STACK = 2;

/** One vector of items: offsets, sizes and allocation slots (0: a null item), in typed arrays. */
class Items {
  off: Float64Array;
  size: Float64Array;
  slot: Int32Array;
  len = 0;
  constructor(cap: number) {
    this.off = new Float64Array(cap);
    this.size = new Float64Array(cap);
    this.slot = new Int32Array(cap);
  }
  push(off: number, size: number, slot: number): void {
    const i = this.len;
    if (i === this.off.length) this.grow();
    this.off[i] = off;
    this.size[i] = size;
    this.slot[i] = slot;
    this.len = i + 1;
  }
  private grow(): void {
    const cap = this.off.length * 2;
    const off = new Float64Array(cap);
    off.set(this.off);
    const size = new Float64Array(cap);
    size.set(this.size);
    const slot = new Int32Array(cap);
    slot.set(this.slot);
    this.off = off;
    this.size = size;
    this.slot = slot;
  }
  /** Removes item 0 (VMA's VmaVectorRemove(v, 0)). */
  shift(): void {
    const n = this.len - 1;
    this.off.copyWithin(0, 1, n + 1);
    this.size.copyWithin(0, 1, n + 1);
    this.slot.copyWithin(0, 1, n + 1);
    this.len = n;
  }
}

/** The figures of {@link LinearAllocator.statistics}. */
export type LinearStatistics = OffsetStatistics;

/** VMA's linear algorithm over `[0, size)`. Made by VirtualBlock, which checks every argument first. */
export class LinearAllocator implements OffsetAllocator {
  readonly size: number;
  private first = new Items(64);
  private second = new Items(16);
  private mode = MODE_EMPTY;
  private nullBegin = 0;
  private nullMiddle = 0;
  private null2nd = 0;

  // The slot table: index 0 is never used.
  private slotOffset = new Float64Array(64);
  private slotSize = new Float64Array(64);
  private slotUserData = new Float64Array(64);
  private slotGen = new Int32Array(64);
  private slotNext = new Int32Array(64);
  private slotHigh = 1;
  private freeSlotHead = 0;
  private nextGeneration = 1;

  allocationCount = 0;
  allocationBytes = 0;
  /** The handle made by the last successful {@link allocate}. */
  lastHandle = 0;
  /** Linear allocations take what they ask: no waste. */
  readonly wasteBytes = 0;
  /** UPPER_ADDRESS makes the block a double stack. */
  readonly offersUpperAddress = true;

  constructor(size: number) {
    this.size = size;
  }

  /** True when the 2nd vector is in use as a ring buffer (upper-address allocations are refused then). */
  get isRingBuffer(): boolean {
    return this.mode === MODE_RING_BUFFER;
  }

  private newSlot(offset: number, size: number, userData: number): number {
    let s = this.freeSlotHead;
    if (s !== 0) this.freeSlotHead = this.slotNext[s];
    else {
      s = this.slotHigh;
      if (s >= this.slotGen.length) {
        if (s >= Handle.IndexLimit) return 0;
        this.growSlots();
      }
      this.slotHigh = s + 1;
    }
    const g = this.nextGeneration;
    this.nextGeneration = g >= Handle.MaxGeneration ? 1 : g + 1;
    this.slotGen[s] = g;
    this.slotOffset[s] = offset;
    this.slotSize[s] = size;
    this.slotUserData[s] = userData;
    this.lastHandle = g * Handle.IndexLimit + s;
    return s;
  }

  private growSlots(): void {
    const cap = Math.min(this.slotGen.length * 2, Handle.IndexLimit);
    this.slotOffset = copyF64(this.slotOffset, cap);
    this.slotSize = copyF64(this.slotSize, cap);
    this.slotUserData = copyF64(this.slotUserData, cap);
    this.slotGen = copyI32(this.slotGen, cap);
    this.slotNext = copyI32(this.slotNext, cap);
  }

  private releaseSlot(s: number): void {
    this.slotGen[s] = 0;
    this.slotUserData[s] = 0;
    this.slotNext[s] = this.freeSlotHead;
    this.freeSlotHead = s;
  }

  /** The slot a handle names when it is a live allocation, else -1. */
  entryOf(handle: number): number {
    return liveIndex(handle, this.slotHigh, this.slotGen);
  }

  offsetOf(slot: number): number {
    return this.slotOffset[slot];
  }
  sizeOf(slot: number): number {
    return this.slotSize[slot];
  }
  userDataOf(slot: number): number {
    return this.slotUserData[slot];
  }
  setUserData(slot: number, value: number): void {
    this.slotUserData[slot] = value;
  }
  handleOf(slot: number): number {
    return this.slotGen[slot] * Handle.IndexLimit + slot;
  }

  /**
   * Allocates `size` bytes aligned to `alignment` (a power of two), from the top down when `flags` has
   * UPPER_ADDRESS (0x40; strategies are ignored). Returns the offset or -1 when it does not fit; the handle is
   * {@link lastHandle}. -2: the table of 2^24 - 1 live allocations is full. -3: UPPER_ADDRESS in ring-buffer mode
   * (VMA asserts there), nothing changed.
   */
  allocate(size: number, alignment: number, flags: number, userData: number): number {
    const upper = (flags & UPPER_ADDRESS) !== 0;
    if (upper && this.mode === MODE_RING_BUFFER) return UPPER_REFUSED;
    const blockSize = this.size;
    if (size > blockSize) return -1;
    const first = this.first;
    const second = this.second;
    if (upper) {
      let base = blockSize - size;
      const n2 = second.len;
      if (n2 !== 0) {
        const lastOff = second.off[n2 - 1];
        if (size > lastOff) return -1;
        base = lastOff - size;
      }
      const offset = alignment === 1 ? base : Math.floor(base / alignment) * alignment;
      const n1 = first.len;
      const endOf1st = n1 !== 0 ? first.off[n1 - 1] + first.size[n1 - 1] : 0;
      if (endOf1st > offset) return -1;
      const s = this.newSlot(offset, size, userData);
      if (s === 0) return -2;
      second.push(offset, size, s);
      this.mode = MODE_DOUBLE_STACK;
      this.allocationCount++;
      this.allocationBytes += size;
      return offset;
    }
    const mode = this.mode;
    if (mode !== MODE_RING_BUFFER) {
      // At the end of the 1st.
      const n1 = first.len;
      const base = n1 !== 0 ? first.off[n1 - 1] + first.size[n1 - 1] : 0;
      const offset = alignment === 1 ? base : Math.ceil(base / alignment) * alignment;
      const end = mode === MODE_DOUBLE_STACK ? second.off[second.len - 1] : blockSize;
      if (offset + size <= end) {
        const s = this.newSlot(offset, size, userData);
        if (s === 0) return -2;
        first.push(offset, size, s);
        this.allocationCount++;
        this.allocationBytes += size;
        return offset;
      }
    }
    if (mode !== MODE_DOUBLE_STACK) {
      // Wrapped: at the end of the 2nd, before the first live item of the 1st.
      const n2 = second.len;
      const base = n2 !== 0 ? second.off[n2 - 1] + second.size[n2 - 1] : 0;
      const offset = alignment === 1 ? base : Math.ceil(base / alignment) * alignment;
      const i1 = this.nullBegin;
      const end = i1 === first.len ? blockSize : first.off[i1];
      if (offset + size <= end) {
        const s = this.newSlot(offset, size, userData);
        if (s === 0) return -2;
        second.push(offset, size, s);
        this.mode = MODE_RING_BUFFER;
        this.allocationCount++;
        this.allocationBytes += size;
        return offset;
      }
    }
    return -1;
  }

  /** Frees the allocation a handle (split: see node-table.ts) names. Returns false (and changes nothing) when it is not live. */
  free(index: number, generation: number): boolean {
    const s = liveEntry(index, generation, this.slotHigh, this.slotGen);
    if (s < 0) return false;
    const offset = this.slotOffset[s];
    this.allocationCount--;
    this.allocationBytes -= this.slotSize[s];
    this.releaseSlot(s);
    const first = this.first;
    const second = this.second;
    if (first.len !== 0 && first.off[this.nullBegin] === offset) {
      // The oldest: null at the beginning.
      first.slot[this.nullBegin] = 0;
      this.nullBegin++;
      this.cleanupAfterFree();
      return true;
    }
    if (this.mode !== MODE_EMPTY) {
      const last = second.len - 1;
      if (second.off[last] === offset) {
        second.len = last;
        this.cleanupAfterFree();
        return true;
      }
    } else {
      const last = first.len - 1;
      if (first.off[last] === offset) {
        first.len = last;
        this.cleanupAfterFree();
        return true;
      }
    }
    // In the middle of the 1st: binary search on the offset.
    let i = lowerBound(first.off, this.nullBegin, first.len, offset);
    if (i < first.len && first.off[i] === offset) {
      first.slot[i] = 0;
      this.nullMiddle++;
      this.cleanupAfterFree();
      return true;
    }
    if (this.mode !== MODE_EMPTY) {
      i =
        this.mode === MODE_RING_BUFFER
          ? lowerBound(second.off, 0, second.len, offset)
          : lowerBoundDescending(second.off, 0, second.len, offset);
      if (i < second.len && second.off[i] === offset) {
        second.slot[i] = 0;
        this.null2nd++;
        this.cleanupAfterFree();
        return true;
      }
    }
    throw new Error(`vkmem internal error: linear allocation at offset ${offset} not found`);
  }

  private cleanupAfterFree(): void {
    let first = this.first;
    const second = this.second;
    if (this.allocationCount === 0) {
      first.len = 0;
      second.len = 0;
      this.nullBegin = this.nullMiddle = this.null2nd = 0;
      this.mode = MODE_EMPTY;
      return;
    }
    const n1 = first.len;
    while (this.nullBegin < n1 && first.slot[this.nullBegin] === 0) {
      this.nullBegin++;
      this.nullMiddle--;
    }
    while (this.nullMiddle > 0 && first.slot[first.len - 1] === 0) {
      this.nullMiddle--;
      first.len--;
    }
    while (this.null2nd > 0 && second.slot[second.len - 1] === 0) {
      this.null2nd--;
      second.len--;
    }
    while (this.null2nd > 0 && second.slot[0] === 0) {
      this.null2nd--;
      second.shift();
    }
    // Compact the 1st when null items dominate (VMA's ShouldCompact1st).
    const nullCount = this.nullBegin + this.nullMiddle;
    const len = first.len;
    if (len > 32 && nullCount * 2 >= (len - nullCount) * 3) {
      const live = len - nullCount;
      let src = this.nullBegin;
      for (let dst = 0; dst < live; dst++) {
        while (first.slot[src] === 0) src++;
        if (dst !== src) {
          first.off[dst] = first.off[src];
          first.size[dst] = first.size[src];
          first.slot[dst] = first.slot[src];
        }
        src++;
      }
      first.len = live;
      this.nullBegin = 0;
      this.nullMiddle = 0;
    }
    if (second.len === 0) this.mode = MODE_EMPTY;
    if (first.len - this.nullBegin === 0) {
      first.len = 0;
      this.nullBegin = 0;
      if (second.len !== 0 && this.mode === MODE_RING_BUFFER) {
        // The ring buffer's 2nd becomes the 1st.
        this.mode = MODE_EMPTY;
        this.nullMiddle = this.null2nd;
        while (this.nullBegin < second.len && second.slot[this.nullBegin] === 0) {
          this.nullBegin++;
          this.nullMiddle--;
        }
        this.null2nd = 0;
        this.first = second;
        this.second = first;
        first = second;
      }
    }
  }

  /** Frees everything; every handle made so far stays dead. */
  clear(): void {
    this.first.len = 0;
    this.second.len = 0;
    this.mode = MODE_EMPTY;
    this.nullBegin = this.nullMiddle = this.null2nd = 0;
    this.slotGen.fill(0);
    this.slotUserData.fill(0);
    this.slotHigh = 1;
    this.freeSlotHead = 0;
    this.allocationCount = 0;
    this.allocationBytes = 0;
  }

  liveAllocations(): OffsetLeak[] {
    const out: OffsetLeak[] = [];
    this.forEachAllocation((offset, size, slot) => out.push({ offset, size, userData: this.slotUserData[slot] }));
    return out;
  }

  /** A linear block's JSON, as VMA's VmaBlockMetadata_Linear::PrintDetailedMap writes it (exact figures). */
  statsString(detailed: boolean): string {
    return linearStatsString(this, detailed);
  }

  /** Calls fn(offset, size, slot) for every live allocation in increasing offsets. */
  forEachAllocation(fn: (offset: number, size: number, slot: number) => void): void {
    const first = this.first;
    const second = this.second;
    if (this.mode === MODE_RING_BUFFER) {
      for (let i = 0; i < second.len; i++) if (second.slot[i] !== 0) fn(second.off[i], second.size[i], second.slot[i]);
    }
    for (let i = this.nullBegin; i < first.len; i++)
      if (first.slot[i] !== 0) fn(first.off[i], first.size[i], first.slot[i]);
    if (this.mode === MODE_DOUBLE_STACK) {
      for (let i = second.len; i-- > 0;) if (second.slot[i] !== 0) fn(second.off[i], second.size[i], second.slot[i]);
    }
  }

  /** Exact statistics from a walk in address order (`detailed` false: only count and bytes, O(1)). */
  statistics(detailed: boolean): LinearStatistics {
    const s: LinearStatistics = {
      blockBytes: this.size,
      allocationCount: this.allocationCount,
      allocationBytes: this.allocationBytes,
      unusedRangeCount: 0,
      allocationSizeMin: Infinity,
      allocationSizeMax: 0,
      unusedRangeSizeMin: Infinity,
      unusedRangeSizeMax: 0,
    };
    if (!detailed) return s;
    let end = 0;
    const gap = (to: number): void => {
      const g = to - end;
      if (g <= 0) return;
      s.unusedRangeCount++;
      if (g < s.unusedRangeSizeMin) s.unusedRangeSizeMin = g;
      if (g > s.unusedRangeSizeMax) s.unusedRangeSizeMax = g;
    };
    this.forEachAllocation((offset, size) => {
      gap(offset);
      if (size < s.allocationSizeMin) s.allocationSizeMin = size;
      if (size > s.allocationSizeMax) s.allocationSizeMax = size;
      end = offset + size;
    });
    gap(this.size);
    return s;
  }
}

/** The first index in [from, to) whose value is not below `v` (values increasing). */
function lowerBound(a: Float64Array, from: number, to: number, v: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index in [from, to) whose value is not above `v` (values decreasing). */
function lowerBoundDescending(a: Float64Array, from: number, to: number, v: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] > v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A linear block's JSON, as VMA's VmaBlockMetadata_Linear::PrintDetailedMap writes it (exact figures). */
function linearStatsString(l: LinearAllocator, detailed: boolean): string {
  const s = l.statistics(true);
  let out = statsJson(s, ", ");
  if (detailed) {
    const subs: string[] = [];
    let end = 0;
    l.forEachAllocation((offset, size, slot) => {
      if (offset > end) subs.push(freeRangeJson(end, offset - end));
      subs.push(allocationJson(offset, size, l.userDataOf(slot)));
      end = offset + size;
    });
    if (l.size > end) subs.push(freeRangeJson(end, l.size - end));
    out += detailsJson(
      [
        `"TotalBytes": ${s.blockBytes}`,
        `"UnusedBytes": ${s.blockBytes - s.allocationBytes}`,
        `"Allocations": ${s.allocationCount}`,
        `"UnusedRanges": ${s.unusedRangeCount}`,
      ],
      subs,
      ", ",
    );
  }
  return `${out}\n}`;
}
