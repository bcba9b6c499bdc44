/**
 * The TypeScript TLSF (engine/memory/tlsf-allocator.ts) against VMA's own TLSF virtual block, called through the
 * addon directly: the same random workloads (sizes 1 B - 1 MiB, alignments 1 - 4096, every strategy, frees in
 * random, FIFO and LIFO order, clear) must give the same offset or the same failure at every step, the same
 * statistics (basic at every step, detailed and the JSON text every few steps) and the same leaks. VMA's TLSF is
 * deterministic given the operations (its free lists are LIFO and CheckBlock moves a fitting block to the head of
 * its list), so any difference is a bug; there is no intended difference.
 *
 * Checked by mutation (each change below made some workload fail): the strategies' order of tries, MIN_OFFSET's
 * address order, LIFO insertion into free lists, the worst-case search of higher lists, the small-size rounding of
 * sizeForNextList, and VMA's 32-bit class map dropping classes >= 32 (the 2^42 workload). Two VMA paths are
 * ported but cannot be observed from outside: CheckBlock's move of a fitting block to the head of its list (Alloc
 * takes that block out at once, leaving the others in the same order), and Alloc's growing of a free previous
 * block by the alignment padding (in a virtual block, with no debug margin, two free blocks are never adjacent:
 * Free merges both sides, so the block Alloc takes never follows a free one).
 *
 * Each workload runs on the TlsfAllocator itself (with the JSON writer VirtualBlock uses) and through
 * createVirtualBlock({ algorithm: "tlsf" }) (allocateOffset / allocate with a strategy and user data, freeHandle,
 * statistics, buildStatsString, clear, destroy's leak report).
 */
import { describe, expect, test } from "vitest";
import {
  createVirtualBlock,
  OutOfDeviceMemoryError,
  VirtualAllocationCreateFlags,
  type VirtualBlock,
} from "../../engine/index.js";
import { TlsfAllocator } from "../../engine/memory/tlsf-allocator.js";
import { tlsfStatsString } from "../../engine/memory/tlsf-allocator.js";
import { handleGeneration, handleIndex } from "../../engine/memory/node-table.js";
import { NativeVirtualBlock } from "./native-virtual-block.js";
import { rng } from "../helpers/random.js";

const NATIVE_TLSF = 0;
const { STRATEGY_MIN_MEMORY, STRATEGY_MIN_TIME, STRATEGY_MIN_OFFSET } = VirtualAllocationCreateFlags;
const STRATEGIES = [0, STRATEGY_MIN_MEMORY, STRATEGY_MIN_TIME, STRATEGY_MIN_OFFSET] as const;
const ALIGNMENTS = [1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/** What the workload drives: the bare allocator or a VirtualBlock over it. */
interface Subject {
  allocate(size: number, alignment: number, flags: number, userData: number): { offset: number; handle: number };
  free(handle: number): void;
  statistics(detailed: boolean): Record<string, number>;
  statsString(detailed: boolean): string;
  clear(): number;
  destroy(): { offset: number; size: number; userData: number }[];
}

function bare(size: number): Subject {
  const t = new TlsfAllocator(size);
  return {
    allocate(size, alignment, flags, userData) {
      const offset = t.allocate(size, alignment, flags, userData);
      return { offset, handle: offset >= 0 ? t.lastHandle : 0 };
    },
    free(handle) {
      const index = handleIndex(handle);
      if (!t.free(index, handleGeneration(handle, index))) throw new Error(`stale handle ${handle}`);
    },
    statistics(detailed) {
      const s = t.statistics(detailed);
      const basic = {
        blockCount: 1,
        allocationCount: s.allocationCount,
        blockBytes: s.blockBytes,
        allocationBytes: s.allocationBytes,
        internalWasteBytes: 0,
      };
      if (!detailed) return basic;
      return {
        ...basic,
        unusedRangeCount: s.unusedRangeCount,
        allocationSizeMin: s.allocationSizeMin,
        allocationSizeMax: s.allocationSizeMax,
        unusedRangeSizeMin: s.unusedRangeSizeMin,
        unusedRangeSizeMax: s.unusedRangeSizeMax,
      };
    },
    statsString: (detailed) => tlsfStatsString(t, detailed),
    clear() {
      const n = t.allocationCount;
      t.clear();
      return n;
    },
    destroy() {
      const out: { offset: number; size: number; userData: number }[] = [];
      t.forEachAllocation((n) => out.push({ offset: t.offsetOf(n), size: t.sizeOf(n), userData: t.userDataOf(n) }));
      t.clear();
      return out;
    },
  };
}

function viaVirtualBlock(size: number): Subject {
  const b: VirtualBlock = createVirtualBlock({ size, algorithm: "tlsf", onLeaks: () => {} });
  return {
    allocate(size, alignment, flags, userData) {
      if (userData === 0) {
        const offset = b.allocateOffset(size, alignment, flags);
        return { offset, handle: offset >= 0 ? b.lastHandle : 0 };
      }
      const strategy =
        flags === STRATEGY_MIN_MEMORY
          ? "minMemory"
          : flags === STRATEGY_MIN_TIME
            ? "minTime"
            : flags === STRATEGY_MIN_OFFSET
              ? "minOffset"
              : undefined;
      try {
        const a = b.allocate(size, { alignment, userData, ...(strategy ? { strategy } : {}) });
        return { offset: a.offset, handle: a.handle };
      } catch (e) {
        if (!(e instanceof OutOfDeviceMemoryError)) throw e;
        return { offset: -1, handle: 0 };
      }
    },
    free: (handle) => b.freeHandle(handle),
    statistics: (detailed) =>
      (detailed ? b.statistics(true) : b.statistics(false)) as unknown as Record<string, number>,
    statsString: (detailed) => b.buildStatsString(detailed),
    clear: () => b.clear(),
    destroy: () => b.destroy(),
  };
}

/** 1 + a draw below 2^k, k uniform in [0, maxLog2] (the PRNG gives 32 bits: larger draws are put together). */
function drawSize(next: (n: number) => number, maxLog2: number): number {
  const k = next(maxLog2 + 1);
  if (k <= 30) return 1 + next(2 ** k);
  return 1 + next(2 ** 30) * 2 ** (k - 30) + next(2 ** (k - 30));
}

type FreeOrder = "random" | "fifo" | "lifo" | "mixed";

interface Workload {
  seed: number;
  steps: number;
  blockSize: number;
  /** Sizes are 1 + a draw below 2^k, k uniform in [0, maxLog2]: many small, some up to 2^maxLog2. */
  maxLog2: number;
  /** A fixed strategy, or "each": a random one per allocation. */
  strategy: number | "each";
  order: FreeOrder;
  /** Percent of steps that allocate (the rest free), while something is live. */
  allocatePercent: number;
  /** Compare the detailed statistics and the JSON every this many steps. */
  every: number;
}

function run(make: (size: number) => Subject, w: Workload): void {
  const next = rng(w.seed);
  const ts = make(w.blockSize);
  const vma = new NativeVirtualBlock(w.blockSize, NATIVE_TLSF);
  const live: { ts: number; vma: number }[] = []; // in allocation order
  let failures = 0;
  let successes = 0;
  const compare = (step: number, detailed: boolean) => {
    expect({ step, ...ts.statistics(detailed) }).toEqual({ step, ...vma.statistics(detailed) });
    if (detailed) expect(ts.statsString(true)).toBe(vma.statsString(true));
  };
  let destroyed = false;
  try {
    for (let step = 0; step < w.steps; step++) {
      if (live.length === 0 || next(100) < w.allocatePercent) {
        const size = drawSize(next, w.maxLog2);
        const alignment = ALIGNMENTS[next(ALIGNMENTS.length)];
        const flags = w.strategy === "each" ? STRATEGIES[next(STRATEGIES.length)] : w.strategy;
        const userData = next(4) === 0 ? 1 + next(1 << 20) : 0;
        const a = ts.allocate(size, alignment, flags, userData);
        const o2 = vma.allocate(size, alignment, flags, userData);
        expect({ step, size, alignment, flags, offset: a.offset }).toEqual({
          step,
          size,
          alignment,
          flags,
          offset: o2,
        });
        if (a.offset >= 0) {
          live.push({ ts: a.handle, vma: vma.lastHandle });
          successes++;
        } else failures++;
      } else {
        const order = w.order === "mixed" ? (["random", "fifo", "lifo"] as const)[next(3)] : w.order;
        const i = order === "fifo" ? 0 : order === "lifo" ? live.length - 1 : next(live.length);
        const [a] = live.splice(i, 1);
        ts.free(a.ts);
        vma.free(a.vma);
      }
      compare(step, step % w.every === 0);
      if (step % 1499 === 1498 && next(3) === 0) {
        expect(ts.clear()).toBe(vma.clear());
        live.length = 0;
        compare(step, true);
      }
    }
    compare(w.steps, true);
    // Leaks: the same allocations (VMA's list is in handle order, the TS one in address order).
    const byOffset = (a: { offset: number }, b: { offset: number }) => a.offset - b.offset;
    const leaks = ts.destroy().map(({ offset, size, userData }) => ({ offset, size, userData }));
    destroyed = true;
    const native = vma.destroyReport().map(({ offset, size }) => ({ offset, size }));
    expect(leaks.map(({ offset, size }) => ({ offset, size })).sort(byOffset)).toEqual(native.sort(byOffset));
    expect(leaks.length).toBe(live.length);
    // Both outcomes happened: the workload really exercised failures and reuse.
    expect(successes).toBeGreaterThan(w.steps / 4);
  } finally {
    if (!destroyed) {
      ts.destroy();
      vma.destroy();
    }
  }
  return void failures;
}

const WORKLOADS: (Workload & { name: string })[] = [
  {
    name: "default strategy, random frees, 16 MiB",
    seed: 0x1001,
    steps: 6000,
    blockSize: 16 * 2 ** 20,
    maxLog2: 20,
    strategy: 0,
    order: "random",
    allocatePercent: 55,
    every: 5,
  },
  {
    name: "MIN_MEMORY, random frees, 16 MiB",
    seed: 0x2002,
    steps: 6000,
    blockSize: 16 * 2 ** 20,
    maxLog2: 20,
    strategy: STRATEGY_MIN_MEMORY,
    order: "random",
    allocatePercent: 55,
    every: 5,
  },
  {
    name: "MIN_TIME, random frees, 16 MiB",
    seed: 0x3003,
    steps: 6000,
    blockSize: 16 * 2 ** 20,
    maxLog2: 20,
    strategy: STRATEGY_MIN_TIME,
    order: "random",
    allocatePercent: 55,
    every: 5,
  },
  {
    name: "MIN_OFFSET, random frees, 16 MiB",
    seed: 0x4004,
    steps: 6000,
    blockSize: 16 * 2 ** 20,
    maxLog2: 20,
    strategy: STRATEGY_MIN_OFFSET,
    order: "random",
    allocatePercent: 55,
    every: 5,
  },
  {
    name: "each strategy, FIFO frees, 4 MiB (many failures)",
    seed: 0x5005,
    steps: 6000,
    blockSize: 4 * 2 ** 20,
    maxLog2: 20,
    strategy: "each",
    order: "fifo",
    allocatePercent: 55,
    every: 5,
  },
  {
    name: "each strategy, LIFO frees, 1 MiB, small sizes",
    seed: 0x6006,
    steps: 6000,
    blockSize: 2 ** 20,
    maxLog2: 12,
    strategy: "each",
    order: "lifo",
    allocatePercent: 52,
    every: 5,
  },
  {
    name: "each strategy, mixed frees, 64 KiB, tiny sizes (small-buffer lists)",
    seed: 0x7007,
    steps: 8000,
    blockSize: 64 * 1024,
    maxLog2: 9,
    strategy: "each",
    order: "mixed",
    allocatePercent: 55,
    every: 3,
  },
  {
    name: "each strategy, random frees, odd block size 10,000,007",
    seed: 0x8008,
    steps: 6000,
    blockSize: 10_000_007,
    maxLog2: 20,
    strategy: "each",
    order: "random",
    allocatePercent: 60,
    every: 5,
  },
  {
    name: "default strategy, mixed frees, 2^42 block, sizes to 2^41 (classes above 31)",
    seed: 0x9009,
    steps: 5000,
    blockSize: 2 ** 42,
    maxLog2: 41,
    strategy: "each",
    order: "mixed",
    allocatePercent: 55,
    every: 5,
  },
];

// VMA marks a memory class non-empty with `m_IsFreeBitmap |= 1UL << memClass` (a uint32_t bitmap): with 64-bit longs
// (Linux) a class of 32 or more sets no bit, which the TS port follows; with Windows' 32-bit longs the shift wraps
// and marks a wrong class, and VMA's own check `innerFreeMap != 0` then fails. Only free ranges of 2^39 bytes and
// more reach class 32, so the 2^42 workload compares the two on Linux only.
const vmaClassesAbove31Differ = (w: { blockSize: number }): boolean =>
  process.platform === "win32" && w.blockSize >= 2 ** 39;

describe("TLSF in TS agrees with VMA's TLSF virtual block, operation by operation", () => {
  for (const w of WORKLOADS) {
    test.skipIf(vmaClassesAbove31Differ(w))(`TlsfAllocator: ${w.name}: ${w.steps} steps`, () => run(bare, w));
    test.skipIf(vmaClassesAbove31Differ(w))(`VirtualBlock "tlsf": ${w.name}: ${w.steps} steps`, () =>
      run(viaVirtualBlock, w),
    );
  }
});
