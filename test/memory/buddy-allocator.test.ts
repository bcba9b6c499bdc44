/**
 * The TypeScript buddy allocator (engine/memory/buddy-allocator.ts, behind VirtualBlock "buddy") against the C++
 * one (native/buddy.cpp), called through the addon's native virtual block directly: the same random workloads
 * (sizes, alignments, frees in any order, clear, non-power-of-two blocks, minNodeSize) must give the same offset
 * or the same failure at every step, the same statistics (internal waste included) and the same JSON text. Both
 * pick the head of the same free list, so they agree exactly; there is no intended difference.
 */
import { describe, expect, test } from "vitest";
import { createVirtualBlock, OutOfDeviceMemoryError } from "../../engine/index.js";
import { ceilLog2, floorLog2 } from "../../engine/memory/node-table.js";
import { NATIVE_BUDDY, NativeVirtualBlock } from "./native-virtual-block.js";
import { rng } from "../helpers/random.js";

const ALIGNMENTS = [1, 1, 1, 8, 64, 4096];

function run(seed: number, steps: number, blockSize: number, minNodeSize: number, maxSize: number): void {
  const next = rng(seed);
  const ts = createVirtualBlock({ size: blockSize, algorithm: "buddy", minNodeSize });
  const cpp = new NativeVirtualBlock(blockSize, NATIVE_BUDDY, minNodeSize);
  const live: { ts: number; cpp: number }[] = [];
  const compare = (step: number, detailed: boolean) => {
    expect({ step, ...(detailed ? ts.statistics(true) : ts.statistics(false)) }).toEqual({
      step,
      ...cpp.statistics(detailed),
    });
    expect(ts.buildStatsString(detailed)).toBe(cpp.statsString(detailed));
  };
  try {
    for (let step = 0; step < steps; step++) {
      if (live.length === 0 || next(100) < 55) {
        const size = 1 + next(next(4) === 0 ? maxSize : Math.max(1, maxSize >> 6));
        const alignment = ALIGNMENTS[next(ALIGNMENTS.length)];
        const userData = next(4) === 0 ? 1 + next(1 << 20) : 0;
        let o1: number;
        let h1 = 0;
        if (userData === 0) {
          o1 = ts.allocateOffset(size, alignment);
          h1 = ts.lastHandle;
        } else {
          try {
            const a = ts.allocate(size, { alignment, userData });
            o1 = a.offset;
            h1 = a.handle;
          } catch (e) {
            if (!(e instanceof OutOfDeviceMemoryError)) throw e;
            o1 = -1;
          }
        }
        const o2 = cpp.allocate(size, alignment, 0, userData);
        expect({ step, size, alignment, offset: o1 }).toEqual({ step, size, alignment, offset: o2 });
        if (o1 >= 0) live.push({ ts: h1, cpp: cpp.lastHandle });
      } else {
        const r = next(3);
        const i = r === 0 ? live.length - 1 : r === 1 ? 0 : next(live.length);
        const [a] = live.splice(i, 1);
        ts.freeHandle(a.ts);
        cpp.free(a.cpp);
      }
      if (step % 89 === 0) compare(step, step % 2 === 0);
      if (step % 1500 === 1499) {
        expect(ts.clear()).toBe(cpp.clear());
        live.length = 0;
      }
    }
    compare(steps, true);
    for (const a of live.splice(0)) {
      ts.freeHandle(a.ts);
      cpp.free(a.cpp);
    }
    compare(steps + 1, true);
  } finally {
    ts.destroy();
    cpp.destroy();
  }
}

describe("buddy virtual block in TS agrees with the C++ buddy, operation by operation", () => {
  test("1 MiB block, minNodeSize 16: 8,000 random steps", () => run(0xb0dd1, 8000, 2 ** 20, 16, 64 * 1024));
  test("tight 64 KiB block (many failures), minNodeSize 64", () => run(0xb0dd2, 8000, 64 * 1024, 64, 16 * 1024));
  test("non-power-of-two block (tail), minNodeSize 256", () =>
    run(0xb0dd3, 6000, 3 * 2 ** 20 + 12345, 256, 512 * 1024));
  test("huge block (levels past 32), minNodeSize 1", () => run(0xb0dd4, 4000, 2 ** 45 + 7, 1, 2 ** 40));
  test("minNodeSize equal to the block: one node", () => run(0xb0dd5, 500, 4096, 4096, 4096));
});

describe("buddy helpers", () => {
  test("floorLog2 / ceilLog2 are exact up to 2^53", () => {
    for (let k = 0; k < 53; k++) {
      const p = 2 ** k;
      expect(floorLog2(p)).toBe(k);
      expect(ceilLog2(p)).toBe(k);
      if (p > 2) {
        expect(floorLog2(p - 1)).toBe(k - 1);
        expect(ceilLog2(p + 1)).toBe(k + 1);
      }
    }
    expect(floorLog2(2 ** 53 - 1)).toBe(52);
    expect(ceilLog2(2 ** 53 - 1)).toBe(53);
  });
});
