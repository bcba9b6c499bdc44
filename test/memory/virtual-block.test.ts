/**
 * Virtual blocks: VMA's TestVirtualBlocks and TestVirtualBlocksAlgorithms in our own words, random workloads
 * checked against a model (no two live allocations overlap; statistics exact after every step) for every
 * algorithm, the buddy allocator's own guarantees, and bad input. No GPU: virtual blocks only hand out offsets.
 * TLSF blocks go through the real addon; buddy and linear run in TypeScript (cross-checked against the native
 * buddy and VMA's linear in buddy-allocator.test.ts and linear-allocator.test.ts).
 */
import { describe, expect, test } from "vitest";
import {
  createVirtualBlock,
  DestroyedResourceError,
  OutOfDeviceMemoryError,
  VirtualAllocation,
  VirtualAllocationCreateFlags,
  type VirtualBlock,
  type VirtualBlockAlgorithm,
  type VirtualLeakReport,
} from "../../engine/index.js";
import { rng } from "../helpers/random.js";

const MiB = 2 ** 20;
const ALGORITHMS: VirtualBlockAlgorithm[] = ["tlsf", "linear", "buddy"];

const nextPow2 = (v: number) => 2 ** Math.ceil(Math.log2(v));

/** What the test believes is alive in a block. */
class Model {
  live = new Map<VirtualAllocation, { offset: number; size: number; alignment: number }>();
  bytes = 0;
  waste = 0;
  constructor(readonly block: VirtualBlock) {}

  add(a: VirtualAllocation, size: number, alignment: number): void {
    expect(a.offset % alignment).toBe(0);
    expect(a.offset).toBeGreaterThanOrEqual(0);
    expect(a.offset + size).toBeLessThanOrEqual(this.block.size);
    for (const [, other] of this.live) {
      const overlap = a.offset < other.offset + other.size && other.offset < a.offset + size;
      if (overlap) throw new Error(`[${a.offset}, +${size}) overlaps live [${other.offset}, +${other.size}]`);
    }
    this.live.set(a, { offset: a.offset, size, alignment });
    this.bytes += size;
    if (this.block.algorithm === "buddy")
      this.waste += nextPow2(Math.max(size, alignment, this.block.minNodeSize)) - size;
  }

  remove(a: VirtualAllocation): void {
    const m = this.live.get(a)!;
    this.live.delete(a);
    this.bytes -= m.size;
    if (this.block.algorithm === "buddy")
      this.waste -= nextPow2(Math.max(m.size, m.alignment, this.block.minNodeSize)) - m.size;
    this.block.free(a);
  }

  check(): void {
    const s = this.block.statistics();
    expect(s.allocationCount).toBe(this.live.size);
    expect(s.allocationBytes).toBe(this.bytes);
    expect(s.internalWasteBytes).toBe(this.waste);
    expect(s.blockBytes).toBe(this.block.size);
    if (this.live.size > 0) {
      const sizes = [...this.live.values()].map((m) => m.size);
      expect(s.allocationSizeMin).toBe(Math.min(...sizes));
      expect(s.allocationSizeMax).toBe(Math.max(...sizes));
    }
  }
}

describe("TestVirtualBlocks", () => {
  test.each(ALGORITHMS)(
    "%s: 16 MiB block, 8 + 4 MiB fit, a second 8 MiB does not; stats, JSON, alignment, clear",
    (algorithm) => {
      const leaks: VirtualLeakReport[][] = [];
      const block = createVirtualBlock({ size: 16 * MiB, algorithm, onLeaks: (l) => leaks.push(l) });
      const a = block.allocate(8 * MiB, { userData: 1 });
      const b = block.allocate(4 * MiB);
      expect(a.offset + a.size <= b.offset || b.offset + b.size <= a.offset).toBe(true);
      expect(() => block.allocate(8 * MiB)).toThrow(OutOfDeviceMemoryError);
      expect(block.allocateOffset(8 * MiB)).toBe(-1);

      const info = block.getAllocationInfo(a);
      expect(info).toEqual({ offset: a.offset, size: 8 * MiB, userData: 1 });
      const s = block.statistics();
      expect(s).toMatchObject({ blockCount: 1, allocationCount: 2, allocationBytes: 12 * MiB, blockBytes: 16 * MiB });
      expect(block.statistics(false)).toMatchObject({ allocationCount: 2, allocationBytes: 12 * MiB });

      const json = JSON.parse(block.buildStatsString(true));
      expect(Object.keys(json)).toEqual(["Stats", "Details"]);
      expect(json.Stats).toMatchObject({ BlockCount: 1, AllocationCount: 2, AllocationBytes: 12 * MiB });
      expect(json.Details.Allocations).toBe(2);
      const withData = json.Details.Suballocations.filter((x: { CustomData?: string }) => x.CustomData !== undefined);
      expect(withData).toEqual([{ Offset: a.offset, Size: 8 * MiB, CustomData: "0x1" }]);
      expect(Object.keys(JSON.parse(block.buildStatsString(false)))).toEqual(["Stats"]);

      block.setUserData(b, 0xabc);
      expect(block.getAllocationInfo(b).userData).toBe(0xabc);
      expect(block.buildStatsString()).toContain('"CustomData": "0xabc"');
      block.setUserData(b, { not: "an integer" });
      expect(block.buildStatsString()).not.toContain("0xabc");

      block.free(a);
      block.free(b);
      expect(block.statistics().allocationCount).toBe(0);

      // Alignment: offsets are multiples of what was asked for.
      const aligned = [1, 16, 64, 256, 4096].map((alignment, i) => ({
        alignment,
        a: block.allocate(100 + i * 37, { alignment }),
      }));
      for (const { alignment, a: x } of aligned) expect(x.offset % alignment).toBe(0);

      expect(block.clear()).toBe(5);
      expect(aligned.every(({ a: x }) => x.freed)).toBe(true);
      expect(block.statistics().allocationCount).toBe(0);
      block.free(aligned[0].a); // freed by clear(): a no-op
      expect(block.allocate(16 * MiB).offset).toBe(0);
      expect(block.destroy()).toEqual([{ offset: 0, size: 16 * MiB, userData: 0 }]);
      expect(leaks).toHaveLength(1);
    },
  );
});

describe("TestVirtualBlocksAlgorithms", () => {
  test.each(["minMemory", "minTime", "minOffset"] as const)("tlsf and linear with strategy %s", (strategy) => {
    for (const algorithm of ["tlsf", "linear"] as const) {
      const block = createVirtualBlock({ size: 1 * MiB, algorithm });
      const model = new Model(block);
      const next = rng(7);
      for (let i = 0; i < 200; i++) {
        const size = 1 + next(4000);
        model.add(block.allocate(size, { strategy, alignment: 16 }), size, 16);
      }
      model.check();
      // Free every other allocation, then allocate smaller ones into the holes.
      let k = 0;
      for (const a of [...model.live.keys()]) if (k++ % 2 === 0) model.remove(a);
      for (let i = 0; i < 50; i++) {
        const size = 1 + next(1000);
        const off = block.allocateOffset(
          size,
          16,
          { minMemory: 0x10000, minTime: 0x20000, minOffset: 0x40000 }[strategy],
        );
        if (off >= 0) block.freeHandle(block.lastHandle);
      }
      model.check();
      if (strategy === "minOffset" && algorithm === "tlsf") {
        // The lowest hole is at offset 0 (the first allocation was freed).
        const a = block.allocate(16, { strategy });
        expect(a.offset).toBe(0);
        block.free(a);
      }
      block.clear();
      block.destroy();
    }
  });

  test("linear: lower allocations grow up, upper-address ones down from the end (double stack)", () => {
    const size = 64 * 1024;
    const block = createVirtualBlock({ size, algorithm: "linear" });
    const model = new Model(block);
    const lower: VirtualAllocation[] = [];
    const upper: VirtualAllocation[] = [];
    for (let i = 0; i < 10; i++) {
      const l = block.allocate(1000 + i);
      const u = block.allocate(1000 + i, { upperAddress: true });
      model.add(l, 1000 + i, 1);
      model.add(u, 1000 + i, 1);
      if (lower.length > 0) expect(l.offset).toBeGreaterThan(lower[lower.length - 1].offset);
      if (upper.length > 0) expect(u.offset).toBeLessThan(upper[upper.length - 1].offset);
      lower.push(l);
      upper.push(u);
    }
    expect(upper[0].offset + upper[0].size).toBe(size);
    expect(lower[9].offset + lower[9].size).toBeLessThanOrEqual(upper[9].offset);
    model.check();
    // Fill until the stacks meet: the next allocation fails, as an error.
    for (;;) {
      const off = block.allocateOffset(2000, 1, VirtualAllocationCreateFlags.UPPER_ADDRESS);
      if (off < 0) break;
    }
    expect(() => block.allocate(4000)).toThrow(OutOfDeviceMemoryError);
    block.clear();
    block.destroy();
  });

  test("linear as a ring buffer wraps around, then runs out", () => {
    const block = createVirtualBlock({ size: 10_000, algorithm: "linear" });
    const queue: VirtualAllocation[] = [];
    let wrapped = false;
    for (let i = 0; i < 100; i++) {
      let a: VirtualAllocation;
      try {
        a = block.allocate(900);
      } catch (e) {
        expect(e).toBeInstanceOf(OutOfDeviceMemoryError);
        block.free(queue.shift()!);
        a = block.allocate(900);
      }
      if (queue.length > 0 && a.offset < queue[queue.length - 1].offset) wrapped = true;
      queue.push(a);
    }
    expect(wrapped).toBe(true);
    // Stop freeing: it fills up and fails.
    expect(() => {
      for (let i = 0; i < 20; i++) block.allocate(900);
    }).toThrow(OutOfDeviceMemoryError);
    block.clear();
    block.destroy();
  });

  test("tlsf, linear and buddy give the same answers for the same simple requests", () => {
    for (const algorithm of ALGORITHMS) {
      const block = createVirtualBlock({ size: 1 * MiB, algorithm });
      const a = block.allocate(1024);
      const b = block.allocate(1024);
      expect(a.offset).toBe(0);
      expect(b.offset).toBe(1024);
      const s = block.statistics();
      expect(s).toMatchObject({
        allocationCount: 2,
        allocationBytes: 2048,
        allocationSizeMin: 1024,
        allocationSizeMax: 1024,
      });
      block.clear();
      block.destroy();
    }
  });
});

describe("random workloads: no two live allocations overlap, statistics match the model after every step", () => {
  test.each(ALGORITHMS)("%s: 3,000 operations", (algorithm) => {
    const size = 256 * 1024;
    const block = createVirtualBlock({ size, algorithm, ...(algorithm === "buddy" ? { minNodeSize: 32 } : {}) });
    const model = new Model(block);
    const next = rng(0x5eed + algorithm.length);
    const order: VirtualAllocation[] = [];
    let failures = 0;
    for (let step = 0; step < 3000; step++) {
      const alloc = model.live.size === 0 || next(100) < 55;
      if (alloc) {
        const sizeAsked = next(4) === 0 ? 1 + next(16_000) : 1 + next(600);
        const alignment = [1, 4, 16, 64, 256][next(5)];
        try {
          const a = block.allocate(sizeAsked, { alignment, userData: step });
          model.add(a, sizeAsked, alignment);
          order.push(a);
        } catch (e) {
          expect(e).toBeInstanceOf(OutOfDeviceMemoryError);
          failures++;
        }
      } else if (algorithm === "linear") {
        // Linear reclaims space at its ends: free mostly the oldest (ring buffer), sometimes any.
        const i = next(10) === 0 ? next(order.length) : 0;
        model.remove(order.splice(i, 1)[0]);
      } else {
        const i = next(order.length);
        const a = order[i];
        order[i] = order[order.length - 1];
        order.pop();
        model.remove(a);
      }
      model.check();
    }
    expect(model.live.size).toBeGreaterThan(0);
    expect(failures).toBeLessThan(3000);
    for (const a of order) model.remove(a);
    model.check();
    const s = block.statistics();
    expect(s.unusedRangeCount).toBe(1);
    expect(s.unusedRangeSizeMax).toBe(size);
    expect(block.destroy()).toEqual([]);
  });

  test("buddy through the handle fast path: 5,000 operations, checked against the JSON at the end", () => {
    const size = 1 * MiB;
    const block = createVirtualBlock({ size, algorithm: "buddy" });
    const next = rng(99);
    const live = new Map<number, { offset: number; size: number }>();
    for (let step = 0; step < 5000; step++) {
      if (live.size === 0 || next(2) === 0) {
        const bytes = 1 + next(3000);
        const offset = block.allocateOffset(bytes);
        if (offset < 0) continue;
        for (const o of live.values()) expect(offset >= o.offset + o.size || o.offset >= offset + bytes).toBe(true);
        live.set(block.lastHandle, { offset, size: bytes });
      } else {
        const h = [...live.keys()][next(live.size)];
        block.freeHandle(h);
        live.delete(h);
      }
    }
    const json = JSON.parse(block.buildStatsString(true));
    const allocations = json.Details.Suballocations.filter((x: { Type?: string }) => x.Type !== "FREE");
    expect(
      allocations
        .map((x: { Offset: number; Size: number }) => [x.Offset, x.Size])
        .sort((a: number[], b: number[]) => a[0] - b[0]),
    ).toEqual([...live.values()].map((o) => [o.offset, o.size]).sort((a, b) => a[0] - b[0]));
    // The ranges of the JSON tile the block exactly.
    let end = 0;
    for (const x of json.Details.Suballocations) {
      expect(x.Offset).toBe(end);
      end = x.Offset + (x.Type === "FREE" ? x.Size : nextPow2(Math.max(x.Size, 16)));
    }
    expect(end).toBe(size);
    block.clear();
    block.destroy();
  });
});

describe("buddy", () => {
  test("splitting and merging: freeing everything gives back one free block", () => {
    const block = createVirtualBlock({ size: 1 * MiB, algorithm: "buddy", minNodeSize: 64 });
    const all: VirtualAllocation[] = [];
    for (let i = 0; i < 100; i++) all.push(block.allocate(1 + ((i * 7919) % 5000)));
    expect(block.statistics().unusedRangeCount).toBeGreaterThan(1);
    for (let i = all.length - 1; i >= 0; i -= 2) block.free(all[i]);
    for (let i = 0; i < all.length; i += 2) block.free(all[i]);
    expect(block.statistics()).toMatchObject({
      allocationCount: 0,
      allocationBytes: 0,
      internalWasteBytes: 0,
      unusedRangeCount: 1,
      unusedRangeSizeMin: 1 * MiB,
      unusedRangeSizeMax: 1 * MiB,
    });
    expect(JSON.parse(block.buildStatsString()).Details.Suballocations).toEqual([
      { Offset: 0, Type: "FREE", Size: 1 * MiB },
    ]);
    // The whole block can be taken again in one piece.
    expect(block.allocate(1 * MiB).offset).toBe(0);
    block.clear();
    block.destroy();
  });

  test("sizes round up to powers of two; the waste is accounted, never counted as free", () => {
    const block = createVirtualBlock({ size: 4096, algorithm: "buddy", minNodeSize: 16 });
    const a = block.allocate(17); // node 32: waste 15
    const b = block.allocate(3); // node 16: waste 13
    const c = block.allocate(1025); // node 2048: waste 1023
    const s = block.statistics();
    expect(s.allocationBytes).toBe(17 + 3 + 1025);
    expect(s.internalWasteBytes).toBe(15 + 13 + 1023);
    const json = JSON.parse(block.buildStatsString());
    expect(json.Details.InternalWasteBytes).toBe(1051);
    expect(json.Details.UnusedBytes).toBe(4096 - (32 + 16 + 2048));
    // Alignment up to the node size is free; a larger alignment takes a larger node.
    const d = block.allocate(20, { alignment: 256 });
    expect(d.offset % 256).toBe(0);
    expect(block.statistics().internalWasteBytes).toBe(1051 + 236);
    for (const x of [a, b, c, d]) block.free(x);
    expect(block.statistics()).toMatchObject({ internalWasteBytes: 0, unusedRangeCount: 1 });
    block.destroy();
  });

  test("a block that is not a power of two uses its power-of-two prefix; the tail is one unused range", () => {
    const block = createVirtualBlock({ size: 1000, algorithm: "buddy" });
    expect(() => block.allocate(600)).toThrow(OutOfDeviceMemoryError); // fits 1000, not the 512-byte prefix
    const a = block.allocate(512);
    expect(a.offset).toBe(0);
    expect(block.statistics()).toMatchObject({ unusedRangeCount: 1, unusedRangeSizeMax: 488 });
    expect(block.allocateOffset(16)).toBe(-1);
    block.free(a);
    expect(block.statistics()).toMatchObject({ unusedRangeCount: 2, unusedRangeSizeMin: 488, unusedRangeSizeMax: 512 });
    block.destroy();
  });

  test("out of space is an error, never a crash, and the block stays usable", () => {
    const block = createVirtualBlock({ size: 1024, algorithm: "buddy", minNodeSize: 16 });
    const all: number[] = [];
    for (;;) {
      const off = block.allocateOffset(16);
      if (off < 0) break;
      all.push(block.lastHandle);
    }
    expect(all).toHaveLength(64);
    expect(() => block.allocate(1)).toThrow(OutOfDeviceMemoryError);
    for (const h of all) block.freeHandle(h);
    expect(block.allocate(1024).offset).toBe(0);
    block.clear();
    block.destroy();
  });
});

describe("bad input", () => {
  const blocks = () =>
    ALGORITHMS.map((algorithm) => createVirtualBlock({ size: 1 * MiB, algorithm, label: algorithm }));

  test("createVirtualBlock: size, algorithm, minNodeSize", () => {
    expect(() => createVirtualBlock({ size: 0 })).toThrow(
      new RangeError("createVirtualBlock: options.size must be a positive integer number of bytes, got 0"),
    );
    expect(() => createVirtualBlock({ size: NaN })).toThrow(
      new RangeError("createVirtualBlock: options.size must be a positive integer number of bytes, got NaN"),
    );
    expect(() => createVirtualBlock({ size: 1.5 })).toThrow(RangeError);
    expect(() => createVirtualBlock({ size: 1024, algorithm: "best" as never })).toThrow(
      new RangeError('createVirtualBlock: options.algorithm must be "tlsf", "linear" or "buddy", got "best"'),
    );
    expect(() => createVirtualBlock({ size: 1024, algorithm: "buddy", minNodeSize: 24 })).toThrow(
      new RangeError("createVirtualBlock: options.minNodeSize must be a power of two, got 24"),
    );
    expect(() => createVirtualBlock({ size: 1024, algorithm: "buddy", minNodeSize: 2048 })).toThrow(
      new RangeError("createVirtualBlock: options.minNodeSize must not exceed options.size (1024), got 2048"),
    );
    expect(() => createVirtualBlock({ size: 1024, minNodeSize: 16 })).toThrow(TypeError);
    expect(() => createVirtualBlock(null as never)).toThrow(TypeError);
  });

  test("allocate: size 0, NaN, alignment not a power of two, upperAddress outside linear", () => {
    for (const block of blocks()) {
      const keep = block.allocate(100, { userData: 7 });
      expect(() => block.allocate(0)).toThrow(
        new RangeError("VirtualBlock.allocate: size must be a positive integer number of bytes, got 0"),
      );
      expect(() => block.allocate(NaN)).toThrow(
        new RangeError("VirtualBlock.allocate: size must be a positive integer number of bytes, got NaN"),
      );
      expect(() => block.allocate("5" as never)).toThrow(RangeError);
      // Larger than the whole block, alignment 0: VMA's semantics, tested in vma-semantics.test.ts.
      expect(() => block.allocate(16, { alignment: 3 })).toThrow(
        new RangeError("VirtualBlock.allocate: options.alignment must be a power of two, got 3"),
      );
      expect(() => block.allocate(16, { alignment: -1 })).toThrow(RangeError);
      expect(() => block.allocateOffset(16, 12)).toThrow(
        new RangeError("VirtualBlock.allocateOffset: alignment must be a power of two, got 12"),
      );
      expect(() => block.allocateOffset(0)).toThrow(RangeError);
      expect(() => block.allocate(16, { strategy: "fast" as never })).toThrow(RangeError);
      if (block.algorithm !== "linear") {
        expect(() => block.allocate(16, { upperAddress: true })).toThrow(
          new RangeError(
            `VirtualBlock.allocate: options.upperAddress needs a linear block (this one is ${block.algorithm}), got true`,
          ),
        );
        expect(() => block.allocateOffset(16, 1, VirtualAllocationCreateFlags.UPPER_ADDRESS)).toThrow(RangeError);
      }
      expect(() => block.allocateOffset(16, 1, 0x1)).toThrow(RangeError);
      // Nothing happened to the block.
      expect(block.statistics()).toMatchObject({ allocationCount: 1, allocationBytes: 100 });
      expect(block.getAllocationInfo(keep)).toMatchObject({ size: 100, userData: 7 });
      block.free(keep);
      block.destroy();
    }
  });

  test("free twice is a no-op; a freed, stale or forged handle is an error, never a crash", () => {
    for (const block of blocks()) {
      const a = block.allocate(64);
      const b = block.allocate(64);
      const handle = a.handle;
      block.free(a);
      block.free(a);
      expect(a.freed).toBe(true);
      expect(block.statistics().allocationCount).toBe(1);
      expect(() => block.getAllocationInfo(a)).toThrow(DestroyedResourceError);
      expect(() => block.setUserData(a, 1)).toThrow(DestroyedResourceError);
      // The same handle through the fast path: the slot table (native, or the TS allocator's) refuses it.
      expect(() => block.freeHandle(handle)).toThrow(/stale or invalid virtual allocation handle/);
      // Its slot is reused by the next allocation with a new generation: the old handle stays dead.
      const c = block.allocate(64);
      expect(c.handle).not.toBe(handle);
      expect(() => block.freeHandle(handle)).toThrow(/stale or invalid/);
      for (const forged of [-1, 1, 12345, 2 ** 40 + 1, 2 ** 53, NaN, Infinity, 0.5, b.handle + 1]) {
        expect(() => block.freeHandle(forged)).toThrow(/stale or invalid/);
      }
      // An allocation of another block is refused by type, and its handle by the native table.
      const other = createVirtualBlock({ size: 4096, algorithm: block.algorithm });
      const foreign = other.allocate(16);
      expect(() => block.free(foreign)).toThrow(TypeError);
      expect(() => block.free({ offset: 0 } as never)).toThrow(
        new TypeError('VirtualBlock.free: allocation must be a VirtualAllocation, got {"offset":0}'),
      );
      other.free(foreign);
      expect(block.statistics()).toMatchObject({ allocationCount: 2, allocationBytes: 128 });
      block.free(b);
      block.free(c);
      other.destroy();
      block.destroy();
    }
  });

  test("use after destroy throws DestroyedResourceError; destroy reports and frees live allocations", () => {
    for (const algorithm of ALGORITHMS) {
      const seen: VirtualLeakReport[][] = [];
      const block = createVirtualBlock({
        size: 1 * MiB,
        algorithm,
        label: `leaky ${algorithm}`,
        onLeaks: (l) => seen.push(l),
      });
      const a = block.allocate(1000, { userData: 42 });
      block.allocateOffset(50);
      const reports = block.destroy();
      expect(reports).toHaveLength(2);
      expect(reports).toContainEqual({ offset: a.offset, size: 1000, userData: 42 });
      expect(seen).toEqual([reports]);
      expect(block.destroyed).toBe(true);
      expect(a.freed).toBe(true);
      expect(block.destroy()).toEqual([]);
      block.free(a); // a no-op, like a second destroy
      expect(() => block.allocate(16)).toThrow(
        new DestroyedResourceError("VirtualBlock", `leaky ${algorithm}`, "VirtualBlock.allocate"),
      );
      expect(() => block.allocateOffset(16)).toThrow(DestroyedResourceError);
      expect(() => block.freeHandle(1)).toThrow(DestroyedResourceError);
      expect(() => block.statistics()).toThrow(DestroyedResourceError);
      expect(() => block.buildStatsString()).toThrow(DestroyedResourceError);
      expect(() => block.clear()).toThrow(DestroyedResourceError);
      expect(() => block.getAllocationInfo(a)).toThrow(DestroyedResourceError);
      expect(() => block.allocationCount).toThrow(DestroyedResourceError);
    }
  });
});
