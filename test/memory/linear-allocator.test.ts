/**
 * The TypeScript linear allocator (engine/memory/linear-allocator.ts, behind VirtualBlock "linear") against VMA's
 * own linear virtual block, called through the addon directly: the same random workloads (ring buffer, stack,
 * double stack, frees in the middle, alignments, clear) must give the same offset or the same failure at every
 * step, the same statistics and the very same JSON text. VMA's linear algorithm is deterministic, so any
 * difference is a bug. The one intended difference: an upper-address allocation in ring-buffer mode, on which
 * VMA asserts (the addon throws its check message) and the TS block throws its own message; both refuse it.
 *
 * VMA's cheap statistics (vmaGetVirtualBlockStatistics, VmaBlockMetadata_Linear::AddStatistics) miscount
 * allocations in ring-buffer mode: their walk of the 2nd vector starts at index m_1stNullItemsBeginCount (an
 * index into the 1st) instead of 0, skipping live items. The TS figures are exact, so in ring-buffer mode the
 * basic allocationCount is checked against VMA's detailed count (vmaCalculateVirtualBlockStatistics walks from 0).
 */
import { describe, expect, test } from "vitest";
import {
  createVirtualBlock,
  OutOfDeviceMemoryError,
  VirtualAllocationCreateFlags,
  type VirtualBlock,
} from "../../engine/index.js";
import { NATIVE_LINEAR, NativeVirtualBlock } from "./native-virtual-block.js";
import { rng } from "../helpers/random.js";

const UPPER = VirtualAllocationCreateFlags.UPPER_ADDRESS;
const ALIGNMENTS = [1, 1, 1, 4, 16, 256];

interface Live {
  ts: number;
  vma: number;
  upper: boolean;
}

type Workload = "ring" | "stack" | "doubleStack" | "mixed";

function run(workload: Workload, seed: number, steps: number, blockSize: number, maxSize: number): void {
  const next = rng(seed);
  const ts: VirtualBlock = createVirtualBlock({ size: blockSize, algorithm: "linear" });
  const vma = new NativeVirtualBlock(blockSize, NATIVE_LINEAR);
  const live: Live[] = []; // in allocation order
  let ringMode = false;
  const compare = (step: number, detailed: boolean) => {
    const a = detailed ? ts.statistics(true) : ts.statistics(false);
    const b = vma.statistics(detailed);
    if (!detailed && ringMode) b.allocationCount = vma.statistics(true).allocationCount; // VMA's miscount: see the header
    expect({ step, ...a }).toEqual({ step, ...b });
    expect(ts.buildStatsString(detailed)).toBe(vma.statsString(detailed));
  };
  try {
    for (let step = 0; step < steps; step++) {
      const r = next(100);
      const allocate = live.length === 0 || r < 55;
      if (allocate) {
        const size = 1 + next(maxSize);
        const alignment = ALIGNMENTS[next(ALIGNMENTS.length)];
        const wantUpper = (workload === "doubleStack" || workload === "mixed") && next(2) === 0;
        // Upper-address allocations while the block is a ring buffer are refused by both (see the header).
        const upper = wantUpper && !ringMode;
        const userData = next(4) === 0 ? 1 + next(1000) : 0;
        const flags = upper ? UPPER : 0;
        let o1: number;
        let h1 = 0;
        if (userData === 0) {
          o1 = ts.allocateOffset(size, alignment, flags);
          h1 = ts.lastHandle;
        } else {
          try {
            const a = ts.allocate(size, { alignment, upperAddress: upper, userData });
            o1 = a.offset;
            h1 = a.handle;
          } catch (e) {
            if (!(e instanceof OutOfDeviceMemoryError)) throw e;
            o1 = -1;
          }
        }
        const o2 = vma.allocate(size, alignment, flags, userData);
        const h2 = vma.lastHandle;
        expect({ step, size, alignment, upper, offset: o1 }).toEqual({ step, size, alignment, upper, offset: o2 });
        if (o1 >= 0) live.push({ ts: h1, vma: h2, upper });
      } else {
        let i: number;
        if (workload === "ring") i = next(10) === 0 ? next(live.length) : 0;
        else if (workload === "stack") i = next(10) === 0 ? next(live.length) : live.length - 1;
        else if (workload === "doubleStack") {
          // The newest of one side, sometimes any.
          const upper = next(2) === 0;
          let k = live.length - 1;
          while (k > 0 && live[k].upper !== upper) k--;
          i = next(8) === 0 ? next(live.length) : k;
        } else i = next(3) === 0 ? 0 : next(live.length);
        const [a] = live.splice(i, 1);
        ts.freeHandle(a.ts);
        vma.free(a.vma);
      }
      // Ring-buffer mode is visible to the TS block; it must agree with where VMA put things.
      ringMode = ts._linear!.isRingBuffer;
      if (step % 97 === 0) compare(step, step % 2 === 0);
      if (step % 1009 === 1008 && next(4) === 0) {
        expect(ts.clear()).toBe(vma.clear());
        live.length = 0;
      }
    }
    compare(steps, true);
    for (const a of live.splice(0)) {
      ts.freeHandle(a.ts);
      vma.free(a.vma);
    }
    compare(steps + 1, true);
    expect(ts.statistics()).toMatchObject({ allocationCount: 0, unusedRangeCount: 1, unusedRangeSizeMax: blockSize });
  } finally {
    ts.destroy();
    vma.destroy();
  }
}

describe("linear virtual block in TS agrees with VMA's, operation by operation", () => {
  for (const workload of ["ring", "stack", "doubleStack", "mixed"] as const) {
    test(`${workload}: 6,000 random steps, small block (many failures and wraps)`, () => {
      run(workload, 0x1234 + workload.length, 6000, 64 * 1024, 4096);
    });
    test(`${workload}: 6,000 random steps, roomy block`, () => {
      run(workload, 0x9876 + workload.length, 6000, 4 * 2 ** 20, 2048);
    });
  }

  test("ring buffer: wraps to the start, then runs out, exactly as VMA", () => {
    const ts = createVirtualBlock({ size: 1000, algorithm: "linear" });
    const vma = new NativeVirtualBlock(1000, NATIVE_LINEAR);
    const tsH: number[] = [];
    const vmaH: number[] = [];
    const offsets: number[] = [];
    for (let i = 0; i < 40; i++) {
      // lastHandle is shared by every block (the scratch slot): read it right after each call.
      const o = ts.allocateOffset(100);
      const h = ts.lastHandle;
      expect(o).toBe(vma.allocate(100));
      offsets.push(o);
      if (o >= 0) {
        tsH.push(h);
        vmaH.push(vma.lastHandle);
      }
      if (i >= 9 && i % 2 === 1 && tsH.length > 0) {
        ts.freeHandle(tsH.shift()!);
        vma.free(vmaH.shift()!);
      }
      expect(ts.buildStatsString(true)).toBe(vma.statsString(true));
    }
    expect(offsets.slice(0, 11)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 0]); // the oldest was freed: wraps
    expect(offsets).toContain(-1);
    ts.destroy();
    vma.destroy();
  });

  test("upper-address allocation in ring-buffer mode: refused by both", () => {
    const ts = createVirtualBlock({ size: 1000, algorithm: "linear" });
    const a = ts.allocateOffset(500);
    const ha = ts.lastHandle;
    ts.allocateOffset(400);
    ts.freeHandle(ha);
    expect(ts.allocateOffset(300)).toBe(0); // wrapped: ring-buffer mode
    expect(a).toBe(0);
    expect(() => ts.allocateOffset(10, 1, UPPER)).toThrow(/used as a ring buffer/);
    expect(() => ts.allocate(10, { upperAddress: true })).toThrow(/used as a ring buffer/);
    ts.destroy();
  });
});
