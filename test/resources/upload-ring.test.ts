/**
 * UploadRing (engine/resources/upload-ring.ts) on its own, over a real allocator: random frames of random
 * allocations, with the manager's part (fences) played by the test. Every allocation must be aligned, inside the
 * block, and disjoint from every byte a frame not yet retired still holds; frames on non-coherent memory start on
 * an atom boundary; old blocks are freed once drained.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { createAllocator, UploadRing, type Allocator } from "../../engine/index.js";
import { useGpuContext } from "../helpers/gpu.js";
import { rng } from "../helpers/random.js";

const gpu = useGpuContext({ applicationName: "vkmem upload ring tests" });
let allocator: Allocator;
beforeAll(() => {
  allocator = createAllocator(gpu.context, { label: "ring" });
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

interface Range {
  block: unknown;
  start: number;
  end: number;
}

function simulate(policy: "grow" | "wait", nonCoherent: boolean, seed: number) {
  const next = rng(seed);
  const inFlight = 3;
  const atom = 256;
  let completed = 0;
  const frames = new Map<number, Range[]>();
  const retire = (serial: number): void => {
    for (const s of [...frames.keys()]) if (s <= serial) frames.delete(s);
    completed = Math.max(completed, serial);
    ring.retire(completed);
  };
  const ring = new UploadRing(
    allocator,
    "test",
    atom,
    { size: 64 * 1024, maxSize: policy === "grow" ? 256 * 1024 : 64 * 1024, policy, memory: "device" },
    retire,
    nonCoherent,
  );
  let waitsSeen = 0;
  for (let serial = 1; serial <= 400; serial++) {
    // The fence of serial - inFlight is waited for before the frame starts, as beginFrame does.
    if (serial - inFlight > completed) retire(serial - inFlight);
    const mine: Range[] = [];
    frames.set(serial, mine);
    const count = 1 + next(8);
    for (let i = 0; i < count; i++) {
      const size = 1 + next(9000);
      const alignment = 1 << next(9);
      const before = ring.statistics.waits;
      expect(ring.allocate(size, alignment)).toBe(true);
      waitsSeen += ring.statistics.waits - before;
      const r = { block: ring.block, start: ring.offset, end: ring.offset + size };
      expect(r.start % alignment).toBe(0);
      expect(r.end).toBeLessThanOrEqual(ring.block.capacity);
      if (i === 0 && nonCoherent && r.start !== 0) expect(r.start % atom).toBe(0);
      for (const ranges of frames.values()) {
        for (const o of ranges) {
          if (o.block === r.block && o.start < r.end && r.start < o.end)
            throw new Error(`frame ${serial}: [${r.start}, ${r.end}) overlaps a live range [${o.start}, ${o.end})`);
        }
      }
      mine.push(r);
    }
    ring.endFrame(serial);
  }
  retire(400);
  const s = ring.statistics;
  ring.destroy();
  return { ...s, waitsSeen };
}

test("policy wait: random frames never overlap live bytes, wrap, and wait instead of growing", () => {
  const s = simulate("wait", false, 1);
  expect(s.wraps).toBeGreaterThan(10);
  expect(s.grows).toBe(0);
  expect(s.waitsSeen).toBeGreaterThan(0);
  expect(s.used).toBe(0);
});

test("policy grow: grows to fit, then drains and frees the old blocks", () => {
  const before = allocator.allocationCount;
  const s = simulate("grow", false, 2);
  expect(s.grows).toBeGreaterThan(0);
  expect(s.blocks).toBe(1);
  expect(allocator.allocationCount).toBe(before);
});

test("non-coherent path: frames start on atom boundaries and flushes do not disturb the data", () => {
  const s = simulate("wait", true, 3);
  expect(s.wraps).toBeGreaterThan(10);
});
