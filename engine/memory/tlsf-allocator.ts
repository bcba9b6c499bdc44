/**
 * TlsfAllocator: VMA's two-level segregated fit (VmaBlockMetadata_TLSF of VMA 3.4) for virtual blocks, in
 * TypeScript. Created and owned by a {@link VirtualBlock} of algorithm "tlsf"; no memory, no Vulkan, no native
 * call. It gives the very same offsets as VMA for the same operations (test/memory/tlsf-allocator.test.ts checks
 * that operation by operation against VMA's own virtual block).
 *
 * The model, as VMA's for a virtual block (no debug margin, buffer-image granularity 1):
 * - The block is cut into physical blocks, each free or one allocation, chained in address order (prev / next
 *   physical). The last one is the "null block": the free tail of the block, possibly of size 0, never in a
 *   free list.
 * - Every other free block is in one free list, chosen by its size: memory class = floor(log2(size)) - 7 for
 *   sizes above 256 (class 0 below), and inside a class one of 32 second-level lists (class 0: (size - 1) / 8,
 *   steps of 8 bytes; class c: the 5 bits after the leading one). For a virtual block the list index is then
 *   class * 32 + second index. A 32-bit map of non-empty classes and one 32-bit map per class of non-empty
 *   lists find the lowest non-empty list at or above a size with two bit scans. (VMA keeps the class map in a
 *   uint32_t, so classes 32 and above, free blocks of 2^39 bytes or more, never show in it; this port does the
 *   same.) Lists are LIFO: a block goes in at the head.
 * - Allocate (CreateAllocationRequest): a size rounded up to the next list ("sizeForNextList") finds a list
 *   whose every block fits without searching; the exact list ("best fit") may hold blocks too small. The
 *   strategy orders the tries: default and MIN_TIME look at the next list, the null block, then the best-fit
 *   list; MIN_MEMORY the best-fit list, the null block, then the next list; MIN_OFFSET every free block in
 *   address order, then the null block. After that, every higher list in turn. A block that fits (aligned
 *   start + size within it) is moved to the head of its list (CheckBlock does so before Alloc takes it out).
 * - Alloc: the chosen block leaves its list; the alignment padding before the offset goes to the previous
 *   physical block when that is free (which may move it to another list), else becomes a new free block; the
 *   rest after the allocation becomes a new free block (or the new null block).
 * - Free: merge with a free previous physical block, then with a free next one (the null block absorbs it),
 *   and the result goes on the head of its list.
 *
 * Handles. An allocation is named by `generation * 2^24 + node` in typed arrays of nodes; generations come from
 * one counter per allocator advanced on every allocation, and a node's generation is zeroed when it is freed,
 * so a freed, stale or forged handle never names a live allocation. The hot paths create no object.
 * @module
 */
import { copyF64, copyI32, copyU8, floorLog2, liveEntry, liveIndex, Handle } from "./node-table.js";
import type { OffsetAllocator, OffsetLeak, OffsetStatistics } from "./offset-allocator.js";
import { allocationJson, detailsJson, freeRangeJson, statsJson } from "./virtual-block-json.js";

const SECOND_LEVEL_INDEX = 5;
const SMALL_BUFFER_SIZE = 256;
const MEMORY_CLASS_SHIFT = 7;
const MAX_MEMORY_CLASSES = 65 - MEMORY_CLASS_SHIFT;
/** The small-size step of a virtual block: SMALL_BUFFER_SIZE / 2^SECOND_LEVEL_INDEX. */
const SMALL_SIZE_STEP = SMALL_BUFFER_SIZE / (1 << SECOND_LEVEL_INDEX);

export const TLSF_STRATEGY_MIN_MEMORY = 0x10000;
export const TLSF_STRATEGY_MIN_TIME = 0x20000;
export const TLSF_STRATEGY_MIN_OFFSET = 0x40000;

/** 2^k for k in [0, 64). */
const POW2 = new Float64Array(64);
for (let k = 0; k < 64; k++) POW2[k] = 2 ** k;

function memoryClassOf(size: number): number {
  if (size <= SMALL_BUFFER_SIZE) return 0;
  return (size < 0x100000000 ? 31 - Math.clz32(size) : floorLog2(size)) - MEMORY_CLASS_SHIFT;
}

function secondIndexOf(size: number, memoryClass: number): number {
  if (memoryClass === 0) return (size - 1) >>> 3;
  const shift = memoryClass + MEMORY_CLASS_SHIFT - SECOND_LEVEL_INDEX;
  const top = size < 0x100000000 ? size >>> shift : Math.floor(size / POW2[shift]);
  return top ^ (1 << SECOND_LEVEL_INDEX);
}

/** VMA's GetListIndex for a virtual block: class 0 has lists 0..31, class c >= 1 starts at c * 32. */
function listIndexOf(size: number): number {
  const mc = memoryClassOf(size);
  return (mc << SECOND_LEVEL_INDEX) + secondIndexOf(size, mc);
}

/** The index of the lowest set bit of a non-zero 32-bit value. */
function lowestBit(v: number): number {
  return 31 - Math.clz32(v & -v);
}

/** The figures of {@link TlsfAllocator.statistics}. */
export type TlsfStatistics = OffsetStatistics;

/** VMA's TLSF over `[0, size)`. Made by VirtualBlock, which checks every argument first. */
export class TlsfAllocator implements OffsetAllocator {
  readonly size: number;
  /** m_ListsCount: one past the list of the whole block's size. */
  private readonly listsCount: number;
  private readonly freeList: Int32Array;
  private readonly innerIsFree = new Int32Array(64);
  private isFreeBitmap = 0;
  private blocksFreeCount = 0;
  private blocksFreeSize = 0;
  private nullBlock = 1;

  // Nodes (VMA's Block), index 0 is the null pointer.
  private offset = new Float64Array(64);
  private bsize = new Float64Array(64);
  private userData = new Float64Array(64);
  private prevPhys = new Int32Array(64);
  private nextPhys = new Int32Array(64);
  private prevFree = new Int32Array(64);
  private nextFree = new Int32Array(64);
  private gen = new Int32Array(64);
  /** 1 for an allocation (VMA: prevFree == this), 0 for a free block. */
  private taken = new Uint8Array(64);
  private nodeHigh = 1;
  private freeNodeHead = 0;
  private nodesInUse = 0;
  private nextGeneration = 1;

  // The allocation request of the last successful checkBlock.
  private reqBlock = 0;
  private reqOffset = 0;
  /** The list FindFreeBlock found (VMA's out parameter). */
  private foundList = 0;
  /** Scratch for MIN_OFFSET's walk of free blocks in address order. */
  private order = new Int32Array(64);

  allocationCount = 0;
  /** The handle made by the last successful {@link allocate}. */
  lastHandle = 0;
  /** TLSF allocations take what they ask (plus alignment, which is free space): no waste. */
  readonly wasteBytes = 0;
  /** No upper-address allocations in TLSF. */
  readonly offersUpperAddress = false;

  constructor(size: number) {
    this.size = size;
    const mc = memoryClassOf(size);
    const sli = secondIndexOf(size, mc);
    this.listsCount = (mc === 0 ? 0 : (mc - 1) * (1 << SECOND_LEVEL_INDEX) + sli) + 1 + (1 << SECOND_LEVEL_INDEX);
    this.freeList = new Int32Array(this.listsCount);
    this.clear();
  }

  // ---- nodes ----

  private newNode(): number {
    let n = this.freeNodeHead;
    if (n !== 0) this.freeNodeHead = this.nextPhys[n];
    else {
      n = this.nodeHigh;
      if (n >= this.gen.length) this.growNodes();
      this.nodeHigh = n + 1;
    }
    this.nodesInUse++;
    this.gen[n] = 0;
    this.userData[n] = 0;
    return n;
  }

  private releaseNode(n: number): void {
    this.gen[n] = 0;
    this.taken[n] = 0;
    this.nextPhys[n] = this.freeNodeHead;
    this.freeNodeHead = n;
    this.nodesInUse--;
  }

  private growNodes(): void {
    const cap = Math.min(this.gen.length * 2, Handle.IndexLimit);
    this.offset = copyF64(this.offset, cap);
    this.bsize = copyF64(this.bsize, cap);
    this.userData = copyF64(this.userData, cap);
    this.prevPhys = copyI32(this.prevPhys, cap);
    this.nextPhys = copyI32(this.nextPhys, cap);
    this.prevFree = copyI32(this.prevFree, cap);
    this.nextFree = copyI32(this.nextFree, cap);
    this.gen = copyI32(this.gen, cap);
    this.taken = copyU8(this.taken, cap);
  }

  /** The node a handle names when it is a live allocation, else -1. */
  entryOf(handle: number): number {
    return liveIndex(handle, this.nodeHigh, this.gen);
  }

  offsetOf(node: number): number {
    return this.offset[node];
  }
  sizeOf(node: number): number {
    return this.bsize[node];
  }
  userDataOf(node: number): number {
    return this.userData[node];
  }
  setUserData(node: number, value: number): void {
    this.userData[node] = value;
  }

  /** Bytes in allocations (VMA: GetSize() - GetSumFreeSize()). */
  get allocationBytes(): number {
    return this.size - this.blocksFreeSize - this.bsize[this.nullBlock];
  }

  // ---- free lists ----

  private removeFreeBlock(b: number): void {
    const nextFree = this.nextFree;
    const prevFree = this.prevFree;
    const nf = nextFree[b];
    const pf = prevFree[b];
    if (nf !== 0) prevFree[nf] = pf;
    if (pf !== 0) nextFree[pf] = nf;
    else {
      const size = this.bsize[b];
      const mc = memoryClassOf(size);
      const sli = secondIndexOf(size, mc);
      this.freeList[(mc << SECOND_LEVEL_INDEX) + sli] = nf;
      if (nf === 0) {
        const inner = this.innerIsFree[mc] & ~(1 << sli);
        this.innerIsFree[mc] = inner;
        if (inner === 0 && mc < 32) this.isFreeBitmap &= ~(1 << mc);
      }
    }
    this.taken[b] = 1;
    this.userData[b] = 0;
    this.blocksFreeCount--;
    this.blocksFreeSize -= this.bsize[b];
  }

  private insertFreeBlock(b: number): void {
    const size = this.bsize[b];
    const mc = memoryClassOf(size);
    const sli = secondIndexOf(size, mc);
    const index = (mc << SECOND_LEVEL_INDEX) + sli;
    const head = this.freeList[index];
    this.prevFree[b] = 0;
    this.nextFree[b] = head;
    this.freeList[index] = b;
    if (head !== 0) this.prevFree[head] = b;
    else {
      this.innerIsFree[mc] |= 1 << sli;
      if (mc < 32) this.isFreeBitmap |= 1 << mc; // VMA's map is a uint32_t: higher classes are dropped
    }
    this.taken[b] = 0;
    this.blocksFreeCount++;
    this.blocksFreeSize += size;
  }

  /** `prev` (taken out of any list) is absorbed into `b`, its next physical block. */
  private mergeBlock(b: number, prev: number): void {
    this.offset[b] = this.offset[prev];
    this.bsize[b] += this.bsize[prev];
    const pp = this.prevPhys[prev];
    this.prevPhys[b] = pp;
    if (pp !== 0) this.nextPhys[pp] = b;
    this.releaseNode(prev);
  }

  /** The head of the lowest non-empty list for `size` or above (0: none); its list in foundList. */
  private findFreeBlock(size: number): number {
    let mc = memoryClassOf(size);
    let inner = this.innerIsFree[mc] & (-1 << secondIndexOf(size, mc));
    if (inner === 0) {
      const freeMap = mc + 1 >= 32 ? 0 : this.isFreeBitmap & (-1 << (mc + 1));
      if (freeMap === 0) return 0;
      mc = lowestBit(freeMap);
      inner = this.innerIsFree[mc];
    }
    const list = (mc << SECOND_LEVEL_INDEX) + lowestBit(inner);
    this.foundList = list;
    return this.freeList[list];
  }

  /** VMA's CheckBlock: does the allocation fit in free block `b`? If so, the request is recorded and `b` moves to the head of its list. */
  private checkBlock(b: number, listIndex: number, allocSize: number, alignment: number): boolean {
    const start = this.offset[b];
    const aligned = alignment === 1 ? start : Math.ceil(start / alignment) * alignment;
    if (this.bsize[b] < allocSize + (aligned - start)) return false;
    this.reqBlock = b;
    this.reqOffset = aligned;
    if (listIndex !== this.listsCount) {
      const pf = this.prevFree[b];
      if (pf !== 0) {
        const nf = this.nextFree[b];
        this.nextFree[pf] = nf;
        if (nf !== 0) this.prevFree[nf] = pf;
        const head = this.freeList[listIndex];
        this.prevFree[b] = 0;
        this.nextFree[b] = head;
        this.freeList[listIndex] = b;
        if (head !== 0) this.prevFree[head] = b;
      }
    }
    return true;
  }

  /** VMA's CreateAllocationRequest: true when a place was found (reqBlock, reqOffset). */
  private createRequest(allocSize: number, alignment: number, strategy: number): boolean {
    if (allocSize > this.blocksFreeSize + this.bsize[this.nullBlock]) return false;
    const listsCount = this.listsCount;
    const nullBlock = this.nullBlock;
    if (this.blocksFreeCount === 0) return this.checkBlock(nullBlock, listsCount, allocSize, alignment);

    let sizeForNextList = allocSize;
    if (allocSize > SMALL_BUFFER_SIZE) {
      const msb = allocSize < 0x100000000 ? 31 - Math.clz32(allocSize) : floorLog2(allocSize);
      sizeForNextList += POW2[msb - SECOND_LEVEL_INDEX];
    } else if (allocSize > SMALL_BUFFER_SIZE - SMALL_SIZE_STEP) sizeForNextList = SMALL_BUFFER_SIZE + 1;
    else sizeForNextList += SMALL_SIZE_STEP;

    let nextListIndex = listsCount;
    let b: number;
    const nextFree = this.nextFree;
    if ((strategy & TLSF_STRATEGY_MIN_TIME) !== 0) {
      const first = this.findFreeBlock(sizeForNextList);
      if (first !== 0) nextListIndex = this.foundList;
      if (first !== 0 && this.checkBlock(first, nextListIndex, allocSize, alignment)) return true;
      if (this.checkBlock(nullBlock, listsCount, allocSize, alignment)) return true;
      for (b = first; b !== 0; b = nextFree[b])
        if (this.checkBlock(b, nextListIndex, allocSize, alignment)) return true;
      b = this.findFreeBlock(allocSize);
      const prevListIndex = b !== 0 ? this.foundList : listsCount;
      for (; b !== 0; b = nextFree[b]) if (this.checkBlock(b, prevListIndex, allocSize, alignment)) return true;
    } else if ((strategy & TLSF_STRATEGY_MIN_MEMORY) !== 0) {
      b = this.findFreeBlock(allocSize);
      const prevListIndex = b !== 0 ? this.foundList : listsCount;
      for (; b !== 0; b = nextFree[b]) if (this.checkBlock(b, prevListIndex, allocSize, alignment)) return true;
      if (this.checkBlock(nullBlock, listsCount, allocSize, alignment)) return true;
      b = this.findFreeBlock(sizeForNextList);
      if (b !== 0) nextListIndex = this.foundList;
      for (; b !== 0; b = nextFree[b]) if (this.checkBlock(b, nextListIndex, allocSize, alignment)) return true;
    } else if ((strategy & TLSF_STRATEGY_MIN_OFFSET) !== 0) {
      // Every free block that is large enough, in address order, then the null block; no further search.
      if (this.order.length < this.blocksFreeCount) this.order = new Int32Array(this.blocksFreeCount * 2);
      const order = this.order;
      let i = this.blocksFreeCount;
      const end = i;
      for (b = this.prevPhys[nullBlock]; b !== 0; b = this.prevPhys[b]) {
        if (this.taken[b] === 0 && this.bsize[b] >= allocSize) order[--i] = b;
      }
      for (; i < end; i++) {
        const f = order[i];
        if (this.checkBlock(f, listIndexOf(this.bsize[f]), allocSize, alignment)) return true;
      }
      return this.checkBlock(nullBlock, listsCount, allocSize, alignment);
    } else {
      b = this.findFreeBlock(sizeForNextList);
      if (b !== 0) nextListIndex = this.foundList;
      for (; b !== 0; b = nextFree[b]) if (this.checkBlock(b, nextListIndex, allocSize, alignment)) return true;
      if (this.checkBlock(nullBlock, listsCount, allocSize, alignment)) return true;
      b = this.findFreeBlock(allocSize);
      const prevListIndex = b !== 0 ? this.foundList : listsCount;
      for (; b !== 0; b = nextFree[b]) if (this.checkBlock(b, prevListIndex, allocSize, alignment)) return true;
    }
    // The worst case: every list above the next one.
    while (++nextListIndex < listsCount) {
      for (b = this.freeList[nextListIndex]; b !== 0; b = nextFree[b])
        if (this.checkBlock(b, nextListIndex, allocSize, alignment)) return true;
    }
    return false;
  }

  // ---- allocate / free ----

  /**
   * Allocates `size` bytes aligned to `alignment` (a power of two) with VMA's strategy bits. Returns the offset
   * or -1 when it does not fit; the handle is {@link lastHandle}. -2: the node table (2^24 - 1) is full.
   */
  allocate(size: number, alignment: number, strategy: number, userData: number): number {
    if (this.nodesInUse + 2 >= Handle.IndexLimit) return -2;
    let cur: number;
    let offset: number;
    if (this.blocksFreeCount === 0 && alignment === 1) {
      // createRequest's first case, written out (a stack, or a block filled from the start, lives here): with no
      // free block in any list the null block is the only candidate, at its own offset.
      cur = this.nullBlock;
      if (this.bsize[cur] < size) return -1;
      offset = this.offset[cur];
    } else {
      if (!this.createRequest(size, alignment, strategy)) return -1;
      cur = this.reqBlock;
      offset = this.reqOffset;
      if (cur !== this.nullBlock) this.removeFreeBlock(cur);
    }

    const missing = offset - this.offset[cur];
    if (missing !== 0) {
      // The padding goes to a free previous block, or becomes a free block of its own.
      const prev = this.prevPhys[cur];
      if (this.taken[prev] === 0 && this.bsize[prev] !== 0) {
        const oldSize = this.bsize[prev];
        if (listIndexOf(oldSize) !== listIndexOf(oldSize + missing)) {
          this.removeFreeBlock(prev);
          this.bsize[prev] = oldSize + missing;
          this.insertFreeBlock(prev);
        } else {
          this.bsize[prev] = oldSize + missing;
          this.blocksFreeSize += missing;
        }
      } else {
        const pad = this.newNode();
        this.prevPhys[cur] = pad;
        this.nextPhys[prev] = pad;
        this.prevPhys[pad] = prev;
        this.nextPhys[pad] = cur;
        this.bsize[pad] = missing;
        this.offset[pad] = this.offset[cur];
        this.taken[pad] = 1;
        this.insertFreeBlock(pad);
      }
      this.bsize[cur] -= missing;
      this.offset[cur] += missing;
    }

    if (this.bsize[cur] === size) {
      if (cur === this.nullBlock) {
        const nb = this.newNode();
        this.bsize[nb] = 0;
        this.offset[nb] = this.offset[cur] + size;
        this.prevPhys[nb] = cur;
        this.nextPhys[nb] = 0;
        this.taken[nb] = 0;
        this.prevFree[nb] = 0;
        this.nextFree[nb] = 0;
        this.nextPhys[cur] = nb;
        this.taken[cur] = 1;
        this.nullBlock = nb;
      }
    } else {
      const rest = this.newNode();
      this.bsize[rest] = this.bsize[cur] - size;
      this.offset[rest] = this.offset[cur] + size;
      this.prevPhys[rest] = cur;
      const after = this.nextPhys[cur];
      this.nextPhys[rest] = after;
      this.nextPhys[cur] = rest;
      this.bsize[cur] = size;
      if (cur === this.nullBlock) {
        this.nullBlock = rest;
        this.taken[rest] = 0;
        this.prevFree[rest] = 0;
        this.nextFree[rest] = 0;
        this.taken[cur] = 1;
      } else {
        this.prevPhys[after] = rest;
        this.taken[rest] = 1;
        this.insertFreeBlock(rest);
      }
    }
    this.userData[cur] = userData;
    this.allocationCount++;
    const g = this.nextGeneration;
    this.nextGeneration = g >= Handle.MaxGeneration ? 1 : g + 1;
    this.gen[cur] = g;
    this.lastHandle = g * Handle.IndexLimit + cur;
    return offset;
  }

  /** Frees the allocation a handle (split: see node-table.ts) names. Returns false (and changes nothing) when it is not live. */
  free(index: number, generation: number): boolean {
    const b = liveEntry(index, generation, this.nodeHigh, this.gen);
    if (b < 0) return false;
    this.gen[b] = 0;
    this.userData[b] = 0;
    this.allocationCount--;
    const next = this.nextPhys[b];
    const prev = this.prevPhys[b];
    if (prev !== 0 && this.taken[prev] === 0 && this.bsize[prev] !== 0) {
      this.removeFreeBlock(prev);
      this.mergeBlock(b, prev);
    }
    if (this.taken[next] !== 0) this.insertFreeBlock(b);
    else if (next === this.nullBlock) this.mergeBlock(next, b);
    else {
      this.removeFreeBlock(next);
      this.mergeBlock(next, b);
      this.insertFreeBlock(next);
    }
    return true;
  }

  /** Frees everything; every handle made so far stays dead. */
  clear(): void {
    this.gen.fill(0);
    this.taken.fill(0);
    this.userData.fill(0);
    this.freeList.fill(0);
    this.innerIsFree.fill(0);
    this.isFreeBitmap = 0;
    this.blocksFreeCount = 0;
    this.blocksFreeSize = 0;
    this.allocationCount = 0;
    this.freeNodeHead = 0;
    this.nodeHigh = 2;
    this.nodesInUse = 1;
    const n = 1;
    this.nullBlock = n;
    this.offset[n] = 0;
    this.bsize[n] = this.size;
    this.prevPhys[n] = 0;
    this.nextPhys[n] = 0;
    this.prevFree[n] = 0;
    this.nextFree[n] = 0;
  }

  // ---- walks ----

  /** The first physical block (address 0). */
  private firstBlock(): number {
    let b = this.nullBlock;
    while (this.prevPhys[b] !== 0) b = this.prevPhys[b];
    return b;
  }

  /**
   * Calls fn(offset, size, node) for every physical block in increasing offsets, node -1 for a free one; the
   * null block last, when its size is not 0 (VMA's PrintDetailedMap order).
   */
  forEachRange(fn: (offset: number, size: number, node: number) => void): void {
    const nullBlock = this.nullBlock;
    for (let b = this.firstBlock(); b !== 0; b = this.nextPhys[b]) {
      if (b === nullBlock) {
        if (this.bsize[b] > 0) fn(this.offset[b], this.bsize[b], -1);
      } else fn(this.offset[b], this.bsize[b], this.taken[b] !== 0 ? b : -1);
    }
  }

  /** Calls fn(node) for every live allocation in increasing offsets. */
  forEachAllocation(fn: (node: number) => void): void {
    for (let b = this.firstBlock(); b !== 0; b = this.nextPhys[b])
      if (b !== this.nullBlock && this.taken[b] !== 0) fn(b);
  }

  liveAllocations(): OffsetLeak[] {
    const out: OffsetLeak[] = [];
    this.forEachAllocation((node) =>
      out.push({ offset: this.offset[node], size: this.bsize[node], userData: this.userData[node] }),
    );
    return out;
  }

  /** The JSON of a TLSF block: see {@link tlsfStatsString}. */
  statsString(detailed: boolean): string {
    return tlsfStatsString(this, detailed);
  }

  /** Statistics as VMA's AddDetailedStatistics (`detailed` false: only count and bytes, O(1)). */
  statistics(detailed: boolean): TlsfStatistics {
    const s: TlsfStatistics = {
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
    let count = 0;
    let bytes = 0;
    const nullBlock = this.nullBlock;
    for (let b = nullBlock; b !== 0; b = this.prevPhys[b]) {
      const size = this.bsize[b];
      if (b !== nullBlock && this.taken[b] !== 0) {
        count++;
        bytes += size;
        if (size < s.allocationSizeMin) s.allocationSizeMin = size;
        if (size > s.allocationSizeMax) s.allocationSizeMax = size;
      } else if (b !== nullBlock || size > 0) {
        s.unusedRangeCount++;
        if (size < s.unusedRangeSizeMin) s.unusedRangeSizeMin = size;
        if (size > s.unusedRangeSizeMax) s.unusedRangeSizeMax = size;
      }
    }
    s.allocationCount = count;
    s.allocationBytes = bytes;
    return s;
  }
}

/**
A TLSF block's JSON, as VMA's VmaBlockMetadata_TLSF::PrintDetailedMap writes it: physical blocks in
 * address order (free ones as "FREE"), then the null block when it is not empty.
 */
export function tlsfStatsString(t: TlsfAllocator, detailed: boolean): string {
  const s = t.statistics(true);
  let out = statsJson(s, ", ");
  if (detailed) {
    const subs: string[] = [];
    t.forEachRange((offset, size, node) => {
      subs.push(node < 0 ? freeRangeJson(offset, size) : allocationJson(offset, size, t.userDataOf(node)));
    });
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

export { MAX_MEMORY_CLASSES as TLSF_MAX_MEMORY_CLASSES };
