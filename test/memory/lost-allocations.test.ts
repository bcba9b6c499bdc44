/**
 * Lost allocations (engine/memory/lost-allocations.ts) on real Vulkan, validation on: the frame boundary of
 * frameInUseCount, allocations in use never taken, least recently used first, the owner's onLost before the buffer
 * goes, release of a lost allocation as a no-op on memory, statistics, makePoolAllocationsLost, budgets holding
 * under a heap size limit (VMA's TestHeapSizeLimit way of forcing out-of-memory), and misuse refused with typed errors.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  AllocationLostError,
  createAllocator,
  DestroyedResourceError,
  MemoryUsage,
  OutOfDeviceMemoryError,
  rawHandle,
  type Allocation,
  type Allocator,
  type Context,
  type Pool,
} from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";
import { random } from "../helpers/random.js";

const MiB = 1 << 20;
const USAGE = vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT;

let context: Context;
let allocator: Allocator;
const gpu = useGpuContext({ applicationName: "vkmem lost allocation tests" });

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "lost", frameInUseCount: 1 });
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

/** A pool of exactly 8 one-MiB buffers: 2 blocks of 4 MiB. */
function smallPool(name: string): Pool {
  return allocator.createPool(
    { forBuffer: { size: MiB, usage: USAGE }, allocation: { usage: MemoryUsage.GpuOnly } },
    { blockSize: 4 * MiB, maxBlockCount: 2, minBlockCount: 2, name },
  );
}

interface Made {
  buffer: any;
  allocation: Allocation;
}

function lostable(pool: Pool, name: string, lostOrder?: string[]): Made {
  const r = allocator.createBuffer({ size: MiB, usage: USAGE }, { pool, canBecomeLost: true, name });
  if (lostOrder !== undefined) r.allocation.onLost = (a) => lostOrder.push(a.name === null ? "?" : name);
  return r;
}

function maker(pool: Pool, name: string): Made {
  return allocator.createBuffer(
    { size: MiB, usage: USAGE },
    { pool, canBecomeLost: true, canMakeOtherLost: true, name },
  );
}

function fill(pool: Pool, prefix: string, lostOrder?: string[]): Made[] {
  return Array.from({ length: 8 }, (_, i) => lostable(pool, `${prefix}${i}`, lostOrder));
}

/** A {@link smallPool} filled in frame `frame` with lost-able buffers `${prefix}0..7`, whose onLost notes their names in `order`. */
function filledPool(name: string, prefix: string, frame: number): { pool: Pool; made: Made[]; order: string[] } {
  const pool = smallPool(name);
  const order: string[] = [];
  allocator.setCurrentFrameIndex(frame);
  return { pool, made: fill(pool, prefix, order), order };
}

function release(pool: Pool, made: Made[]): void {
  for (const m of made) allocator.destroyBuffer(m.buffer, m.allocation);
  expect(pool.destroy()).toEqual([]);
}

describe("frameInUseCount", () => {
  test("an allocation touched in frame F with frameInUseCount 1 is not lost before frame F + 2", () => {
    const pool = smallPool("boundary");
    allocator.setCurrentFrameIndex(100);
    const made = fill(pool, "b");
    expect(() => lostable(pool, "ninth")).toThrow(OutOfDeviceMemoryError);

    allocator.setCurrentFrameIndex(101); // F + 1: 100 + 1 < 101 is false, nothing may be taken
    expect(() => maker(pool, "too early")).toThrow(OutOfDeviceMemoryError);
    expect(made.every((m) => m.allocation.touch() || true)).toBe(true);
    expect(made.filter((m) => m.allocation.lost)).toEqual([]);

    // The touches above were in frame 101: frame 102 is still too early, 103 is the first that may take one.
    allocator.setCurrentFrameIndex(102);
    expect(() => maker(pool, "still too early")).toThrow(OutOfDeviceMemoryError);
    expect(pool.getLostAllocationStatistics().lostAllocationCount).toBe(0);
    allocator.setCurrentFrameIndex(103);
    const late = maker(pool, "in time");
    expect(made.filter((m) => m.allocation.lost).map((m) => m.allocation.canBecomeLost)).toEqual([true]);
    expect(made[0].allocation.lost).toBe(true); // the least recently touched: b0, touched first in frame 101
    release(pool, [...made, late]);
  });

  test("a pool's own frameInUseCount overrides the allocator's", () => {
    const pool = allocator.createPool(
      { forBuffer: { size: MiB, usage: USAGE }, allocation: { usage: MemoryUsage.GpuOnly } },
      { blockSize: 4 * MiB, maxBlockCount: 1, frameInUseCount: 3, name: "fic3" },
    );
    allocator.setCurrentFrameIndex(200);
    const made = Array.from({ length: 4 }, (_, i) => lostable(pool, `f${i}`));
    allocator.setCurrentFrameIndex(203);
    expect(() => maker(pool, "early")).toThrow(OutOfDeviceMemoryError);
    allocator.setCurrentFrameIndex(204);
    const ok = maker(pool, "ok");
    expect(made[0].allocation.lost).toBe(true);
    release(pool, [...made, ok]);
  });
});

describe("which allocations are taken", () => {
  test("least recently used first, and allocations in use are never taken", () => {
    const { pool, made, order } = filledPool("lru", "a", 300);
    // Touch in a known order over frames: a5 and a2 in 301, a7 in 302, a0 in 303; a1 a3 a4 a6 keep frame 300.
    allocator.setCurrentFrameIndex(301);
    made[5].allocation.touch();
    made[2].allocation.touch();
    allocator.setCurrentFrameIndex(302);
    made[7].allocation.touch();
    allocator.setCurrentFrameIndex(303);
    made[0].allocation.touch();
    // Frame 304: eligible are last uses <= 302 (a1 a3 a4 a6 from 300, a5 a2 from 301, a7 from 302); a0 is in use.
    allocator.setCurrentFrameIndex(304);
    const newer: Made[] = [];
    for (let i = 0; i < 7; i++) newer.push(maker(pool, `n${i}`));
    expect(order).toEqual(["a1", "a3", "a4", "a6", "a5", "a2", "a7"]);
    expect(made[0].allocation.lost).toBe(false);
    // Everything left is in use (a0 touched in 303, the new ones made in 304): the next one does not fit.
    expect(() => maker(pool, "n7")).toThrow(OutOfDeviceMemoryError);
    expect(order.length).toBe(7);
    const stats = pool.getLostAllocationStatistics();
    expect(stats).toEqual({
      canBecomeLostCount: 8,
      canBecomeLostBytes: 8 * MiB,
      lostAllocationCount: 7,
      lostBytes: 7 * MiB,
    });
    release(pool, [...made, ...newer]);
  });

  test("allocations that cannot become lost are never taken, and a maker that cannot be placed changes nothing", () => {
    const pool = smallPool("fixed");
    allocator.setCurrentFrameIndex(400);
    const fixed = Array.from({ length: 8 }, (_, i) =>
      allocator.createBuffer({ size: MiB, usage: USAGE }, { pool, name: `fixed${i}` }),
    );
    allocator.setCurrentFrameIndex(500);
    expect(() => maker(pool, "no room")).toThrow(OutOfDeviceMemoryError);
    expect(fixed.every((m) => !m.allocation.lost && m.allocation.touch())).toBe(true);
    release(pool, fixed);
  });

  // Found by the fuzzer (seed 179 of `npm run fuzz -- --seed 100 --seeds 120`, 20,000 ops each): a 488 KiB request in
  // a pool of 128 KiB blocks made a lost-able allocation lost and then failed all the same.
  test("a request larger than the pool's blocks makes nothing lost (VMA 2's early reject)", () => {
    const { pool, made, order } = filledPool("too big", "t", 550);
    allocator.setCurrentFrameIndex(560);
    expect(() =>
      allocator.createBuffer({ size: 4 * MiB + 1, usage: USAGE }, { pool, canMakeOtherLost: true, name: "huge" }),
    ).toThrow(OutOfDeviceMemoryError);
    expect(order).toEqual([]);
    expect(made.every((m) => !m.allocation.lost)).toBe(true);
    expect(pool.getLostAllocationStatistics()).toMatchObject({ canBecomeLostCount: 8, lostAllocationCount: 0 });
    release(pool, made);
  });

  // With one heap a request past its limit is refused before VMA is asked (larger than any heap); with more (a
  // discrete GPU's, the discrete-memory project's), one limited to DEVICE_LOCAL memory reaches VMA, fails, and must
  // not take the device-local allocations that could never make room for it.
  test("a request larger than its heap's size limit makes nothing lost in the default pools either", () => {
    const heaps = allocator.memoryHeaps;
    const deviceHeap = heaps.findIndex((h) => (h.flags & 0x1) !== 0); // VK_MEMORY_HEAP_DEVICE_LOCAL_BIT
    const limited = createAllocator(context, {
      label: "limited early reject",
      heapSizeLimits: heaps.map((_, i) => (i === deviceHeap ? 8 * MiB : 64 * MiB)),
      frameInUseCount: 1,
    });
    const deviceLocal = { requiredFlags: vk.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT };
    const made: Made[] = [];
    try {
      const lost: string[] = [];
      limited.setCurrentFrameIndex(10);
      for (let i = 0; i < 4; i++) {
        const r = limited.createBuffer(
          { size: MiB, usage: USAGE },
          { ...deviceLocal, canBecomeLost: true, name: `d${i}` },
        );
        r.allocation.onLost = () => lost.push(`d${i}`);
        made.push(r);
      }
      limited.setCurrentFrameIndex(20);
      const past = { size: 8 * MiB + 1, usage: USAGE };
      expect(() =>
        limited.createBuffer(past, { ...deviceLocal, canMakeOtherLost: true, name: "past the limit" }),
      ).toThrow(heaps.length > 1 ? OutOfDeviceMemoryError : RangeError);
      expect(lost).toEqual([]);
      expect(made.every((m) => m.allocation.touch())).toBe(true);
    } finally {
      for (const m of made) limited.destroyBuffer(m.buffer, m.allocation);
      expect(limited.destroy()).toEqual([]);
    }
  });

  test("a larger allocation takes as many smaller ones as it needs", () => {
    const { pool, made, order } = filledPool("sizes", "s", 600);
    allocator.setCurrentFrameIndex(602);
    const big = allocator.createBuffer({ size: 3 * MiB, usage: USAGE }, { pool, canMakeOtherLost: true, name: "big" });
    // 3 MiB contiguous in a 4 MiB block: s0..s2 (block 0) free 3 MiB; fragmentation may ask for one more.
    expect(order.slice(0, 3)).toEqual(["s0", "s1", "s2"]);
    expect(order.length).toBeLessThanOrEqual(4);
    release(pool, [...made, big]);
  });
});

describe("a lost allocation", () => {
  test("touch() returns false, members throw AllocationLostError, and releasing it is a no-op on memory", () => {
    const pool = smallPool("lifecycle");
    allocator.setCurrentFrameIndex(700);
    const made = fill(pool, "l");
    const victim = made[0];
    let seenInCallback: bigint | null = null;
    victim.allocation.onLost = (a) => {
      expect(a).toBe(victim.allocation);
      expect(a.lost).toBe(true);
      seenInCallback = rawHandle(victim.buffer); // the buffer still exists while onLost runs
    };
    allocator.setCurrentFrameIndex(702);
    const before = allocator.calculateStatistics().total.allocationCount;
    const newer = maker(pool, "newer");
    expect(seenInCallback).not.toBe(0n);
    expect(rawHandle(victim.buffer)).toBe(0n); // then it was destroyed with the memory
    expect(allocator.calculateStatistics().total.allocationCount).toBe(before); // one freed, one made
    expect(victim.allocation.lost).toBe(true);
    expect(allocator.isLost(victim.allocation)).toBe(true);
    expect(victim.allocation.destroyed).toBe(false);
    expect(victim.allocation.touch()).toBe(false);
    expect(allocator.touch(victim.allocation)).toBe(false);
    expect(victim.allocation.size).toBe(MiB); // readable, for owners accounting for what they release
    expect(() => victim.allocation.offset).toThrow(AllocationLostError);
    expect(() => victim.allocation.info).toThrow(/Allocation 'l0' is lost .* in frame 702/);
    // Releasing: no memory is freed again (the count does not move), then it is destroyed like any freed allocation.
    allocator.destroyBuffer(victim.buffer, victim.allocation);
    expect(allocator.calculateStatistics().total.allocationCount).toBe(before);
    expect(victim.allocation.destroyed).toBe(true);
    allocator.destroyBuffer(victim.buffer, victim.allocation); // second call: nothing
    expect(() => victim.allocation.touch()).toThrow(DestroyedResourceError);
    expect(() => victim.allocation.size).toThrow(DestroyedResourceError);
    release(pool, [...made.slice(1), newer]);
  });

  test("onLost may release the allocation itself; an onLost that throws becomes a warning", () => {
    const pool = smallPool("callbacks");
    allocator.setCurrentFrameIndex(800);
    const made = fill(pool, "c");
    made[0].allocation.onLost = (a) => allocator.destroyBuffer(made[0].buffer, a);
    made[1].allocation.onLost = () => {
      throw new Error("owner bug");
    };
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    allocator.setCurrentFrameIndex(802);
    const n0 = maker(pool, "n0");
    const n1 = maker(pool, "n1");
    // process warnings are emitted on a later tick: checked below.
    expect(made[0].allocation.destroyed).toBe(true);
    expect(made[1].allocation.lost).toBe(true);
    expect(made[1].allocation.destroyed).toBe(false);
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        process.off("warning", onWarning);
        expect(warnings.some((w) => w.includes("onLost of allocation 'c1' threw") && w.includes("owner bug"))).toBe(
          true,
        );
        release(pool, [...made.slice(1), n0, n1]);
        resolve();
      }),
    );
  });
});

describe("makePoolAllocationsLost and statistics", () => {
  test("takes exactly the allocations no longer in use and counts them", () => {
    const pool = smallPool("make");
    allocator.setCurrentFrameIndex(900);
    const made = fill(pool, "m");
    allocator.setCurrentFrameIndex(901);
    for (const m of made.slice(4)) m.allocation.touch();
    allocator.setCurrentFrameIndex(902);
    expect(pool.makeAllocationsLost()).toBe(4); // m0..m3 (frame 900); m4..m7 were touched in 901
    expect(made.map((m) => m.allocation.lost)).toEqual([true, true, true, true, false, false, false, false]);
    expect(allocator.makePoolAllocationsLost(pool)).toBe(0);
    expect(pool.getLostAllocationStatistics()).toEqual({
      canBecomeLostCount: 4,
      canBecomeLostBytes: 4 * MiB,
      lostAllocationCount: 4,
      lostBytes: 4 * MiB,
    });
    const total = allocator.getLostAllocationStatistics();
    expect(total.frameIndex).toBe(902);
    expect(total.frameInUseCount).toBe(1);
    expect(total.canBecomeLostCount).toBeGreaterThanOrEqual(4);
    expect(total.memoryType.length).toBe(allocator.memoryTypes.length);
    allocator.setCurrentFrameIndex(903);
    expect(pool.makeAllocationsLost()).toBe(4);
    release(pool, made);
  });

  test("destroying a pool with lost-able and lost allocations reports only the live ones", () => {
    const own = createAllocator(context, { label: "own", onLeaks: () => {} });
    const pool = own.createPool(
      { forBuffer: { size: MiB, usage: USAGE }, allocation: { usage: MemoryUsage.GpuOnly } },
      { blockSize: 4 * MiB, maxBlockCount: 2, name: "destroyed with" },
    );
    own.setCurrentFrameIndex(1000);
    const made = Array.from({ length: 8 }, (_, i) =>
      own.createBuffer({ size: MiB, usage: USAGE }, { pool, canBecomeLost: true, name: `d${i}` }),
    );
    own.setCurrentFrameIndex(1001);
    for (const m of made.slice(4)) m.allocation.touch();
    own.setCurrentFrameIndex(1002);
    expect(pool.makeAllocationsLost()).toBe(4);
    const leaks = pool.destroy();
    expect(leaks.map((l) => l.name).sort()).toEqual(["d4", "d5", "d6", "d7"]);
    for (const m of made) {
      expect(m.allocation.destroyed).toBe(true);
      expect(() => m.allocation.touch()).toThrow(DestroyedResourceError);
    }
    expect(own.getLostAllocationStatistics().canBecomeLostCount).toBe(0);
    expect(own.destroy()).toEqual([]);
  });
});

describe("budgets hold", () => {
  test("under a heap size limit, lost-able buffers and images of the default pools never exceed it", () => {
    const limit = 48 * MiB;
    const limited = createAllocator(context, {
      label: "limited",
      heapSizeLimits: allocator.memoryHeaps.map(() => limit),
      frameInUseCount: 1,
    });
    // VMA's heapSizeLimit caps the bytes of VkDeviceMemory this allocator holds in each heap, every heap on its own.
    // GpuOnly prefers DEVICE_LOCAL memory; with more than one heap the buffer or image accepts (a discrete GPU's
    // device-local and host memory), VMA puts what does not fit the limited device-local heap in the next acceptable
    // type, in host memory under that heap's own limit, and reports out-of-memory (so that lost-able allocations are
    // taken) only once no acceptable heap has room. So the bound holds per heap, and the total is at most one limit
    // per heap. With VK_EXT_memory_budget the budget VMA reports is the driver's, capped at the limit, and its usage
    // is the driver's estimate of the whole process's memory in the heap (not only this allocator's blocks), which
    // the limit does not bound; without it usage is this allocator's block bytes and bounded like them.
    const heaps = limited.memoryHeaps.length;
    const withMemoryBudget = (limited.flags & 0x8) !== 0; // VMA_ALLOCATOR_CREATE_EXT_MEMORY_BUDGET_BIT
    const next = random(0x5eed);
    const live: { kind: "buffer" | "image"; handle: any; allocation: Allocation; lastUse: number }[] = [];
    let lostSeen = 0;
    let failures = 0;
    for (let frame = 1; frame <= 300; frame++) {
      limited.setCurrentFrameIndex(frame);
      // Touch a random eighth of what is alive, as a renderer using some of its resources would.
      for (const r of live) {
        if (next(0, 7) === 0 && r.allocation.touch()) r.lastUse = frame;
      }
      for (let k = 0; k < 3; k++) {
        // What is in use (touched or made in this frame or the last) may not fit with a new one: then the new one
        // fails, as it must, and nothing in use was taken.
        try {
          make();
        } catch (error) {
          expect(error).toBeInstanceOf(OutOfDeviceMemoryError);
          failures++;
        }
      }
      function make(): void {
        if (next(0, 1) === 0) {
          const r = limited.createBuffer(
            { size: next(1, 4) * MiB, usage: USAGE },
            { usage: MemoryUsage.GpuOnly, canBecomeLost: true, canMakeOtherLost: true },
          );
          live.push({ kind: "buffer", handle: r.buffer, allocation: r.allocation, lastUse: frame });
        } else {
          const side = 256 << next(0, 2);
          const r = limited.createImage(
            {
              format: vk.VK_FORMAT_R8G8B8A8_UNORM,
              extent: { width: side, height: side },
              mipLevels: 1,
              usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
            },
            { usage: MemoryUsage.GpuOnly, canBecomeLost: true, canMakeOtherLost: true },
          );
          live.push({ kind: "image", handle: r.image, allocation: r.allocation, lastUse: frame });
        }
      }
      const stats = limited.calculateStatistics();
      expect(stats.total.blockBytes).toBeLessThanOrEqual(limit * heaps);
      const budgets = limited.getHeapBudgets();
      expect(budgets.length).toBe(heaps);
      for (let h = 0; h < heaps; h++) {
        expect(stats.memoryHeap[h].blockBytes).toBeLessThanOrEqual(limit);
        expect(budgets[h].blockBytes).toBe(stats.memoryHeap[h].blockBytes);
        expect(budgets[h].budget).toBeLessThanOrEqual(limit);
        if (!withMemoryBudget) expect(budgets[h].usage).toBeLessThanOrEqual(limit);
      }
      // Release the lost ones, as an owner would when it notices (touch() false).
      for (let i = live.length - 1; i >= 0; i--) {
        const r = live[i];
        if (r.allocation.lost) {
          // Made lost during this frame: its last use must be more than frameInUseCount (1) frames ago.
          expect(r.lastUse + 1).toBeLessThan(frame);
          lostSeen++;
          if (r.kind === "buffer") limited.destroyBuffer(r.handle, r.allocation);
          else limited.destroyImage(r.handle, r.allocation);
          live.splice(i, 1);
        }
      }
    }
    expect(lostSeen).toBeGreaterThan(100);
    expect(failures).toBeLessThan(100);
    const stats = limited.getLostAllocationStatistics();
    expect(stats.lostAllocationCount).toBe(lostSeen);
    expect(stats.canBecomeLostCount).toBe(live.length);
    for (const r of live) {
      if (r.kind === "buffer") limited.destroyBuffer(r.handle, r.allocation);
      else limited.destroyImage(r.handle, r.allocation);
    }
    expect(limited.destroy()).toEqual([]);
  });
});

describe("misuse", () => {
  test("is refused with exact messages", () => {
    expect(() =>
      allocator.createBuffer(
        { size: 1024, usage: USAGE },
        { usage: MemoryUsage.CpuToGpu, mapped: true, canBecomeLost: true },
      ),
    ).toThrow(/createBuffer: allocationOptions.canBecomeLost cannot be combined with mapped/);
    expect(() =>
      allocator.createBuffer({ size: 1024, usage: USAGE }, { canBecomeLost: 1 as unknown as boolean }),
    ).toThrow(new TypeError("createBuffer: allocationOptions.canBecomeLost must be a boolean, got 1"));
    const r = allocator.createBuffer(
      { size: 1024, usage: USAGE },
      { usage: MemoryUsage.CpuToGpu, canBecomeLost: true, name: "lostable" },
    );
    expect(() => r.allocation.map()).toThrow(TypeError);
    expect(() => r.allocation.map()).toThrow(
      /Allocation 'lostable'.map\(\): an allocation that can become lost cannot be mapped/,
    );
    allocator.destroyBuffer(r.buffer, r.allocation);
    const buddy = allocator.createPool(
      { forBuffer: { size: 1024, usage: USAGE } },
      { algorithm: "buddy", blockSize: MiB, name: "buddy" },
    );
    expect(() => allocator.createBuffer({ size: 1024, usage: USAGE }, { pool: buddy, canBecomeLost: true })).toThrow(
      new TypeError('createBuffer: allocationOptions.canBecomeLost is not supported in buddy pools, got "buddy"'),
    );
    buddy.destroy();
    expect(() => createAllocator(context, { frameInUseCount: -1 })).toThrow(
      new RangeError("createAllocator: options.frameInUseCount must be an integer in [0, 1000], got -1"),
    );
    expect(() => allocator.touch({} as Allocation)).toThrow(TypeError);
    expect(() => allocator.makePoolAllocationsLost({} as Pool)).toThrow(TypeError);
  });

  test("canMakeOtherLost with nothing lost-able is plain out-of-memory", () => {
    const pool = smallPool("nothing");
    const fixed = Array.from({ length: 8 }, () => allocator.createBuffer({ size: MiB, usage: USAGE }, { pool }));
    allocator.setCurrentFrameIndex(5000);
    expect(() => allocator.createBuffer({ size: MiB, usage: USAGE }, { pool, canMakeOtherLost: true })).toThrow(
      OutOfDeviceMemoryError,
    );
    release(pool, fixed);
  });
});
