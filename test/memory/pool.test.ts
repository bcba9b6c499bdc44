/**
 * Custom pools on real Vulkan (lavapipe here, the validation layer on, any message fails): the behaviours of
 * VMA's own pool tests in our words (TestLinearAllocator's four uses of the linear algorithm, TestPool_SameSize,
 * TestPool_MinBlockCount, TestPool_MinAllocationAlignment, TestPoolsAndAllocationParameters, TestHeapSizeLimit,
 * TestStatistics), plus what vkmem adds: pools owned by their allocator, leak reports when a pool goes with
 * allocations alive, and bad input refused with messages naming the argument and its value.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createAllocator,
  DestroyedResourceError,
  MemoryUsage,
  OutOfDeviceMemoryError,
  Pool,
  VkError,
  type Allocation,
  type Allocator,
  type Context,
  type CreatedBuffer,
  type LeakReport,
} from "../../engine/index.js";
import { native, scratch } from "../../engine/native.js";
import { encodeAllocationOptions } from "../../engine/memory/usage.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";
import { acceptedTypes, bit } from "../helpers/memory-types.js";
import { random } from "../helpers/random.js";

let context: Context;
let allocator: Allocator;
/** The memory type VMA picks for our test buffers. */
let bufferType: number;
/** A HOST_VISIBLE memory type VMA picks for a mapped staging buffer: the same as bufferType only where that is mappable. */
let mappableType: number;

const gpu = useGpuContext({ applicationName: "vkmem pool tests" });

const USAGE = vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT;
const STAGING = vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
const HOST_VISIBLE = 0x2;
const KiB = 1024;
const MiB = 1024 * 1024;

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "pools" });
  bufferType = allocator.findMemoryTypeIndexForBufferInfo({ size: 1024, usage: USAGE }, { usage: MemoryUsage.Auto });
  mappableType = allocator.findMemoryTypeIndexForBufferInfo(
    { size: 4096, usage: STAGING },
    { usage: MemoryUsage.Auto, hostAccess: "sequentialWrite" },
  );
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

interface Placed {
  b: CreatedBuffer;
  offset: number;
  size: number;
}

function place(b: CreatedBuffer): Placed {
  return { b, offset: b.allocationInfo.offset, size: b.allocationInfo.size };
}

/** No two live allocations of one block overlap. */
function expectNoOverlap(live: readonly Placed[]): void {
  const sorted = [...live].sort((x, y) => x.offset - y.offset);
  for (let i = 1; i < sorted.length; ++i) {
    expect(sorted[i].offset).toBeGreaterThanOrEqual(sorted[i - 1].offset + sorted[i - 1].size);
  }
}

function destroyAll(list: Iterable<{ b: CreatedBuffer } | CreatedBuffer>): void {
  for (const x of list) {
    const b = "b" in x ? x.b : x;
    allocator.destroyBuffer(b.buffer, b.allocation);
  }
}

/** The memoryTypeBits mask of the memory types in heap `heap`. */
function typesOfHeap(heap: number): number {
  return allocator.memoryTypes.reduce((bits, t, i) => (t.heapIndex === heap ? bits + bit(i) : bits), 0);
}

/** Calls `fn` and returns what it threw (failing the test when it did not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("findMemoryTypeIndex for buffer and image descriptions", () => {
  test("agrees with the memory type createBuffer / createImage get, Auto usages included", () => {
    const b = allocator.createBuffer({ size: 4096, usage: USAGE }, { usage: MemoryUsage.Auto });
    expect(bufferType).toBe(b.allocation.memoryType);
    allocator.destroyBuffer(b.buffer, b.allocation);

    const imageInfo = {
      format: vk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: { width: 64, height: 64 },
      usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT,
    };
    const t = allocator.findMemoryTypeIndexForImageInfo(imageInfo, { usage: MemoryUsage.AutoPreferDevice });
    const i = allocator.createImage(imageInfo, { usage: MemoryUsage.AutoPreferDevice });
    expect(t).toBe(i.allocation.memoryType);
    allocator.destroyImage(i.image, i.allocation);

    const mappable = allocator.findMemoryTypeIndexForBufferInfo(
      { size: 256, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT },
      { usage: MemoryUsage.Auto, hostAccess: "sequentialWrite" },
    );
    expect(allocator.memoryTypes[mappable].propertyFlags & 0x2).toBe(0x2);
  });

  test("no fitting type is VK_ERROR_FEATURE_NOT_PRESENT; bad descriptions name the argument", () => {
    const e = thrown(() =>
      allocator.findMemoryTypeIndexForBufferInfo(
        { size: 256, usage: USAGE },
        { requiredFlags: 0x40 /* DEVICE_COHERENT_AMD */ },
      ),
    );
    expect(e).toBeInstanceOf(VkError);
    expect((e as VkError).code).toBe("VK_ERROR_FEATURE_NOT_PRESENT");
    expect(() => allocator.findMemoryTypeIndexForBufferInfo({ size: 0, usage: USAGE })).toThrow(
      /findMemoryTypeIndexForBufferInfo: bufferInfo\.size must be a positive integer number of bytes, got 0/,
    );
    expect(() =>
      allocator.findMemoryTypeIndexForImageInfo({ format: 0, extent: { width: 1, height: 1 }, usage: 4 }),
    ).toThrow(/findMemoryTypeIndexForImageInfo: imageInfo\.format is not a known VkFormat.*got 0/);
    expect(() => allocator.findMemoryTypeIndex(1, { usage: MemoryUsage.Auto })).toThrow(
      /findMemoryTypeIndexForBufferInfo/,
    );
  });
});

describe("the linear algorithm on one 300 KiB block, 64 B to 1 KiB buffers (VMA TestLinearAllocator)", () => {
  const BLOCK = 300 * KiB;
  let pool: Pool;
  beforeAll(() => {
    pool = allocator.createPool(
      { memoryTypeIndex: bufferType },
      { algorithm: "linear", blockSize: BLOCK, minBlockCount: 1, maxBlockCount: 1, name: "linear" },
    );
  });
  afterAll(() => {
    expect(pool.destroy()).toEqual([]);
  });
  const make = (size: number, upperAddress = false) =>
    place(allocator.createBuffer({ size, usage: USAGE }, { pool, upperAddress }));

  test("free-at-once: allocations follow one another until the block is full, then all go and it starts over", () => {
    const rnd = random(1);
    const live: Placed[] = [];
    let error: unknown = null;
    for (;;) {
      try {
        const p = make(rnd(64, 1024));
        if (live.length > 0) {
          const prev = live[live.length - 1];
          expect(p.offset).toBeGreaterThanOrEqual(prev.offset + prev.size);
          expect(p.offset).toBeLessThan(prev.offset + prev.size + 64);
        } else {
          expect(p.offset).toBe(0);
        }
        live.push(p);
      } catch (e) {
        error = e;
        break;
      }
    }
    expect(error).toBeInstanceOf(OutOfDeviceMemoryError);
    const last = live[live.length - 1];
    expect(last.offset + last.size).toBeGreaterThan(BLOCK - 1024 - 64);
    expect(pool.getStatistics()).toMatchObject({ blockCount: 1, allocationCount: live.length, blockBytes: BLOCK });
    destroyAll(live);
    expect(pool.getStatistics()).toMatchObject({ blockCount: 1, allocationCount: 0, allocationBytes: 0 });
    const again = make(100);
    expect(again.offset).toBe(0);
    destroyAll([again]);
  });

  test("stack: the last allocation freed is where the next one goes", () => {
    const rnd = random(2);
    const stack: Placed[] = [];
    let reused = 0;
    let popped: Placed | null = null;
    for (let i = 0; i < 600; ++i) {
      if (stack.length > 0 && rnd(0, 2) === 0) {
        popped = stack.pop()!;
        allocator.destroyBuffer(popped.b.buffer, popped.b.allocation);
        continue;
      }
      const p = make(rnd(64, 1024));
      const topEnd = stack.length === 0 ? 0 : stack[stack.length - 1].offset + stack[stack.length - 1].size;
      expect(p.offset).toBeGreaterThanOrEqual(topEnd);
      expect(p.offset).toBeLessThan(topEnd + 64);
      if (popped !== null && p.offset === popped.offset) reused++;
      popped = null;
      stack.push(p);
    }
    expect(reused).toBeGreaterThan(50);
    expectNoOverlap(stack);
    while (stack.length > 0) destroyAll([stack.pop()!]);
    expect(pool.getStatistics().allocationCount).toBe(0);
  });

  test("double stack: upper-address allocations grow down from the end, and fail where they meet the lower ones", () => {
    const rnd = random(3);
    const lower: Placed[] = [];
    const upper: Placed[] = [];
    let error: unknown = null;
    for (let i = 0; error === null; ++i) {
      const up = i % 2 === 1;
      try {
        const p = make(rnd(64, 1024), up);
        if (up) {
          if (upper.length === 0) {
            expect(p.offset + p.size).toBeLessThanOrEqual(BLOCK);
            expect(p.offset + p.size).toBeGreaterThan(BLOCK - 64);
          } else {
            expect(p.offset + p.size).toBeLessThanOrEqual(upper[upper.length - 1].offset);
          }
          upper.push(p);
        } else {
          if (lower.length > 0)
            expect(p.offset).toBeGreaterThanOrEqual(lower[lower.length - 1].offset + lower[lower.length - 1].size);
          lower.push(p);
        }
      } catch (e) {
        error = e;
      }
    }
    expect(error).toBeInstanceOf(OutOfDeviceMemoryError);
    const lowTop = lower[lower.length - 1];
    const upBottom = upper[upper.length - 1];
    expect(lowTop.offset + lowTop.size).toBeLessThanOrEqual(upBottom.offset);
    // They stopped because they met: the gap left is smaller than the largest request plus alignment.
    expect(upBottom.offset - (lowTop.offset + lowTop.size)).toBeLessThan(1024 + 2 * 64);
    expect(lower.length + upper.length).toBeGreaterThan(BLOCK / 1024);
    expectNoOverlap([...lower, ...upper]);
    expect(pool.getStatistics().allocationCount).toBe(lower.length + upper.length);
    while (upper.length > 0) destroyAll([upper.pop()!]);
    while (lower.length > 0) destroyAll([lower.pop()!]);
  });

  test("ring buffer: freeing the oldest while allocating wraps around to the start, then runs out", () => {
    const rnd = random(4);
    const ring: Placed[] = [];
    for (let i = 0; i < 100; ++i) ring.push(make(rnd(64, 1024)));
    let wraps = 0;
    for (let i = 0; i < 1500; ++i) {
      const newest = ring[ring.length - 1];
      const p = make(rnd(64, 1024));
      if (p.offset < newest.offset) {
        wraps++;
        // It went to the start of the block, below the oldest allocation still alive.
        expect(p.offset + p.size).toBeLessThanOrEqual(ring[0].offset);
      }
      ring.push(p);
      destroyAll([ring.shift()!]);
      if (i % 250 === 0) expectNoOverlap(ring);
    }
    expect(wraps).toBeGreaterThanOrEqual(2);
    // Now only allocate: the ring fills up and VMA says out of device memory.
    let error: unknown = null;
    while (error === null) {
      try {
        ring.push(make(rnd(64, 1024)));
      } catch (e) {
        error = e;
      }
    }
    expect(error).toBeInstanceOf(OutOfDeviceMemoryError);
    expectNoOverlap(ring);
    const used = ring.reduce((n, p) => n + p.size, 0);
    expect(used).toBeGreaterThan(BLOCK * 0.85);
    // getStatistics() counts exactly here too (native/pool.cpp works around VMA 3.4.0 miscounting wrapped rings).
    expect(pool.getStatistics()).toMatchObject({ blockCount: 1, allocationCount: ring.length, allocationBytes: used });
    expect(pool.calculateStatistics()).toMatchObject({ allocationCount: ring.length, allocationBytes: used });
    const rnd2 = random(5);
    while (ring.length > 0) destroyAll(ring.splice(rnd2(0, ring.length - 1), 1));
    expect(pool.getStatistics().allocationCount).toBe(0);
  });
});

describe("pools of same-size allocations (VMA TestPool_SameSize)", () => {
  test("100 x 1 MiB fill a fixed 10 x 10 MiB pool, the 101st fails; name round-trip; a free leaves one unused range", () => {
    const pool = allocator.createPool(
      { forBuffer: { size: MiB, usage: USAGE } },
      { blockSize: 10 * MiB, minBlockCount: 10, maxBlockCount: 10, name: "same size" },
    );
    expect(pool.memoryTypeIndex).toBe(bufferType);
    expect(pool.name).toBe("same size");
    pool.name = "renamed";
    expect(pool.name).toBe("renamed");
    pool.name = null;
    expect(pool.name).toBeNull();
    pool.name = "same size";
    expect(pool.getStatistics()).toEqual({
      blockCount: 10,
      allocationCount: 0,
      blockBytes: 100 * MiB,
      allocationBytes: 0,
    });

    const made: CreatedBuffer[] = [];
    for (let i = 0; i < 100; ++i)
      made.push(allocator.createBuffer({ size: MiB, usage: USAGE }, { pool, name: `b${i}` }));
    expect(made.every((b) => b.allocation.pool === pool && b.allocationInfo.memoryType === bufferType)).toBe(true);
    const e = thrown(() => allocator.createBuffer({ size: MiB, usage: USAGE }, { pool, name: "one too many" }));
    expect(e).toBeInstanceOf(OutOfDeviceMemoryError);
    expect((e as VkError).label).toBe("one too many");
    expect(pool.getStatistics()).toEqual({
      blockCount: 10,
      allocationCount: 100,
      blockBytes: 100 * MiB,
      allocationBytes: 100 * MiB,
    });
    expect(pool.calculateStatistics().unusedRangeCount).toBe(0);

    const dump = allocator.buildStatsString(true);
    expect(dump).toContain("same size");

    const [freed] = made.splice(37, 1);
    allocator.destroyBuffer(freed.buffer, freed.allocation);
    const detailed = pool.calculateStatistics();
    expect(detailed.unusedRangeCount).toBe(1);
    expect(detailed.unusedRangeSizeMax).toBe(MiB);
    expect(detailed.allocationCount).toBe(99);

    destroyAll(made);
    expect(pool.destroy()).toEqual([]);
  });
});

describe("minimum block count (VMA TestPool_MinBlockCount)", () => {
  test("2 blocks preallocated, 3 for 5 x 512 KiB; one emptied block is kept, a second is released", () => {
    const pool = allocator.createPool({ memoryTypeIndex: bufferType }, { blockSize: MiB, minBlockCount: 2 });
    expect(pool.getStatistics()).toEqual({
      blockCount: 2,
      allocationCount: 0,
      blockBytes: 2 * MiB,
      allocationBytes: 0,
    });
    const made: CreatedBuffer[] = [];
    for (let i = 0; i < 5; ++i) made.push(allocator.createBuffer({ size: 512 * KiB, usage: USAGE }, { pool }));
    expect(pool.getStatistics()).toMatchObject({ blockCount: 3, allocationCount: 5 });

    // Group by block (VkDeviceMemory): two full blocks and one with a single allocation.
    const byBlock = new Map<bigint, CreatedBuffer[]>();
    for (const b of made) {
      const key = b.allocationInfo.deviceMemoryHandle;
      byBlock.set(key, [...(byBlock.get(key) ?? []), b]);
    }
    const full = [...byBlock.values()].filter((l) => l.length === 2);
    expect(full.length).toBe(2);
    destroyAll(full[0]);
    expect(pool.getStatistics().blockCount).toBe(3);
    destroyAll(full[1]);
    expect(pool.getStatistics().blockCount).toBe(2);
    destroyAll([...byBlock.values()].filter((l) => l.length === 1)[0]);
    expect(pool.getStatistics()).toMatchObject({ blockCount: 2, allocationCount: 0 });
    expect(pool.destroy()).toEqual([]);
  });
});

describe("allocation parameters in pools (VMA TestPool_MinAllocationAlignment, TestPoolsAndAllocationParameters)", () => {
  test("minAllocationAlignment 64 KiB is honoured by every allocation", () => {
    const pool = allocator.createPool(
      { memoryTypeIndex: bufferType },
      { blockSize: MiB, minAllocationAlignment: 64 * KiB },
    );
    const rnd = random(6);
    const made = Array.from({ length: 12 }, () =>
      allocator.createBuffer({ size: rnd(1, 5000), usage: USAGE }, { pool }),
    );
    for (const b of made) expect(b.allocationInfo.offset % (64 * KiB)).toBe(0);
    expect(new Set(made.map((b) => b.allocationInfo.offset)).size).toBe(made.length);
    destroyAll(made);
    pool.destroy();
  });

  test("neverAllocate uses the blocks there are and fails when they are full; without it a block is added", () => {
    const empty = allocator.createPool({ memoryTypeIndex: bufferType }, { blockSize: MiB });
    expect(() => allocator.createBuffer({ size: 256, usage: USAGE }, { pool: empty, neverAllocate: true })).toThrow(
      OutOfDeviceMemoryError,
    );
    empty.destroy();

    const pool = allocator.createPool({ memoryTypeIndex: bufferType }, { blockSize: MiB, minBlockCount: 1 });
    const made = Array.from({ length: 4 }, () =>
      allocator.createBuffer({ size: 256 * KiB, usage: USAGE }, { pool, neverAllocate: true }),
    );
    expect(new Set(made.map((b) => b.allocationInfo.deviceMemoryHandle)).size).toBe(1);
    expect(() => allocator.createBuffer({ size: 256 * KiB, usage: USAGE }, { pool, neverAllocate: true })).toThrow(
      OutOfDeviceMemoryError,
    );
    expect(pool.getStatistics()).toMatchObject({ blockCount: 1, allocationCount: 4 });
    made.push(allocator.createBuffer({ size: 256 * KiB, usage: USAGE }, { pool }));
    expect(pool.getStatistics()).toMatchObject({ blockCount: 2, allocationCount: 5 });
    destroyAll(made);
    pool.destroy();
  });

  test("a pool with VMA-chosen block sizes makes dedicated allocations; images and raw memory come from pools too", () => {
    const pool = allocator.createPool({ memoryTypeIndex: bufferType });
    const d = allocator.createBuffer({ size: 64 * KiB, usage: USAGE }, { pool, dedicated: true });
    expect(d.allocation.dedicated).toBe(true);
    expect(d.allocationInfo.offset).toBe(0);
    expect(pool.getStatistics()).toMatchObject({ allocationCount: 1, allocationBytes: 64 * KiB });
    allocator.destroyBuffer(d.buffer, d.allocation);
    // With a pool, usage defaults to Unknown (the pool fixes the type), so mapped needs no hostAccess. Mapped memory
    // needs a HOST_VISIBLE type: the same pool where the buffers' type is one (lavapipe, integrated GPUs), else a
    // second pool with VMA-chosen block sizes in a HOST_VISIBLE type. In a type that is not HOST_VISIBLE (a discrete
    // GPU's device-local memory) VMA ignores `mapped`, as vk_mem_alloc.h documents: the allocation is not mapped.
    const bufferTypeMappable = (allocator.memoryTypes[bufferType].propertyFlags & HOST_VISIBLE) !== 0;
    const mappablePool = bufferTypeMappable ? pool : allocator.createPool({ memoryTypeIndex: mappableType });
    if (!bufferTypeMappable) {
      const unmapped = allocator.createBuffer({ size: 256, usage: STAGING }, { pool, mapped: true });
      expect(unmapped.allocation.memoryType).toBe(bufferType);
      expect(unmapped.allocation.mappedData).toBeNull();
      allocator.destroyBuffer(unmapped.buffer, unmapped.allocation);
    }
    const m = allocator.createBuffer({ size: 256, usage: STAGING }, { pool: mappablePool, mapped: true });
    expect(m.allocation.memoryProperties & HOST_VISIBLE).toBe(HOST_VISIBLE);
    new Uint8Array(m.allocation.mappedData!).fill(7);
    expect(m.allocation.mappedData!.byteLength).toBe(256);
    allocator.destroyBuffer(m.buffer, m.allocation);
    if (mappablePool !== pool) mappablePool.destroy();
    expect(native.takeVmaMessages()).toEqual([]);

    const imageInfo = {
      format: vk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: { width: 64, height: 64 },
      usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT,
    };
    const images = allocator.createPool(
      { forImage: imageInfo, allocation: { usage: MemoryUsage.AutoPreferDevice } },
      { blockSize: MiB, name: "textures" },
    );
    const img = allocator.createImage(imageInfo, { pool: images, name: "albedo" });
    expect(img.allocation.pool).toBe(images);
    expect(img.allocation.memoryType).toBe(images.memoryTypeIndex);
    const raw = allocator.allocateMemory(
      { size: 4096, alignment: 256, memoryTypeBits: 1 << images.memoryTypeIndex },
      { pool: images },
    );
    expect(raw.offset % 256).toBe(0);
    expect(images.getStatistics()).toMatchObject({ blockCount: 1, allocationCount: 2 });
    allocator.freeMemory(raw);
    allocator.destroyImage(img.image, img.allocation);
    images.destroy();
    pool.destroy();
  });
});

describe("statistics (VMA TestStatistics)", () => {
  test("pool statistics and the allocator's totals move by exactly each allocation and block", () => {
    const pool = allocator.createPool({ memoryTypeIndex: bufferType }, { blockSize: MiB, name: "stats" });
    const empty = pool.calculateStatistics();
    expect(empty).toMatchObject({
      blockCount: 0,
      allocationCount: 0,
      allocationSizeMin: Infinity,
      allocationSizeMax: 0,
    });
    const total0 = allocator.calculateStatistics().total;

    const a = allocator.createBuffer({ size: 100 * KiB, usage: USAGE }, { pool });
    expect(pool.getStatistics()).toEqual({
      blockCount: 1,
      allocationCount: 1,
      blockBytes: MiB,
      allocationBytes: a.allocationInfo.size,
    });
    const total1 = allocator.calculateStatistics().total;
    expect(total1.blockCount - total0.blockCount).toBe(1);
    expect(total1.blockBytes - total0.blockBytes).toBe(MiB);
    expect(total1.allocationCount - total0.allocationCount).toBe(1);
    expect(total1.allocationBytes - total0.allocationBytes).toBe(a.allocationInfo.size);

    const b = allocator.createBuffer({ size: 300 * KiB, usage: USAGE }, { pool });
    const sizes = a.allocationInfo.size + b.allocationInfo.size;
    expect(pool.getStatistics()).toEqual({
      blockCount: 1,
      allocationCount: 2,
      blockBytes: MiB,
      allocationBytes: sizes,
    });
    const detailed = pool.calculateStatistics();
    expect(detailed.allocationSizeMin).toBe(a.allocationInfo.size);
    expect(detailed.allocationSizeMax).toBe(b.allocationInfo.size);
    const total2 = allocator.calculateStatistics().total;
    expect(total2.allocationCount - total0.allocationCount).toBe(2);
    expect(total2.allocationBytes - total0.allocationBytes).toBe(sizes);

    allocator.destroyBuffer(a.buffer, a.allocation);
    expect(pool.getStatistics()).toEqual({
      blockCount: 1,
      allocationCount: 1,
      blockBytes: MiB,
      allocationBytes: b.allocationInfo.size,
    });
    allocator.destroyBuffer(b.buffer, b.allocation);
    // VMA keeps the last empty block of a pool (it would be allocated again right away otherwise).
    expect(pool.getStatistics()).toEqual({ blockCount: 1, allocationCount: 0, blockBytes: MiB, allocationBytes: 0 });
    pool.destroy();
    const total3 = allocator.calculateStatistics().total;
    expect(total3.blockCount).toBe(total0.blockCount);
    expect(total3.blockBytes).toBe(total0.blockBytes);
    expect(total3.allocationCount).toBe(total0.allocationCount);
  });
});

describe("heap size limits with pools (VMA TestHeapSizeLimit)", () => {
  test("a pool fills the limited heap; then neither it nor the default pools get more, until it is destroyed", () => {
    const limited = createAllocator(context, {
      label: "limited",
      heapSizeLimits: allocator.memoryHeaps.map(() => 16 * MiB),
    });
    // The heap the pool fills, and the memory types in it: the default pools are held to them to see that heap full.
    const heap = allocator.memoryTypes[bufferType].heapIndex;
    const inHeap = { memoryTypeBits: typesOfHeap(heap) };
    const heapOf = (b: CreatedBuffer) => allocator.memoryTypes[b.allocation.memoryType].heapIndex;
    try {
      expect(() => limited.createPool({ memoryTypeIndex: bufferType }, { blockSize: 32 * MiB })).toThrow(
        new RegExp(
          `createPool: options\\.blockSize is larger than heap ${heap} of memory type ${bufferType} \\(16777216 bytes, limited\\), got 33554432`,
        ),
      );
      expect(() =>
        limited.createPool({ memoryTypeIndex: bufferType }, { blockSize: 4 * MiB, minBlockCount: 5 }),
      ).toThrow(OutOfDeviceMemoryError);

      const pool = limited.createPool({ memoryTypeIndex: bufferType }, { blockSize: 4 * MiB, name: "filler" });
      const made: CreatedBuffer[] = [];
      for (let i = 0; i < 16; ++i) made.push(limited.createBuffer({ size: MiB, usage: USAGE }, { pool }));
      expect(pool.getStatistics()).toMatchObject({ blockCount: 4, blockBytes: 16 * MiB });
      expect(limited.calculateStatistics().memoryHeap[heap].blockBytes).toBe(16 * MiB);
      expect(() => limited.createBuffer({ size: MiB, usage: USAGE }, { pool })).toThrow(OutOfDeviceMemoryError);
      expect(() => limited.createBuffer({ size: 256, usage: USAGE }, inHeap)).toThrow(OutOfDeviceMemoryError);
      // Free to use any memory type, VMA goes on past the full heap's types to the next acceptable one (VMA's
      // fallback): in another heap, under its own limit, where the buffer accepts a type there (a discrete GPU's
      // host memory); out of memory where the full heap is the only one the buffer can use (lavapipe).
      const elsewhere = acceptedTypes(allocator, { size: 256, usage: USAGE }) & ~typesOfHeap(heap) & 0xffffffff;
      if (elsewhere === 0) {
        expect(() => limited.createBuffer({ size: 256, usage: USAGE })).toThrow(OutOfDeviceMemoryError);
      } else {
        const spilled = limited.createBuffer({ size: 256, usage: USAGE });
        expect(heapOf(spilled)).not.toBe(heap);
        limited.destroyBuffer(spilled.buffer, spilled.allocation);
      }
      for (const b of made) limited.destroyBuffer(b.buffer, b.allocation);
      pool.destroy();
      const small = limited.createBuffer({ size: 256, usage: USAGE }, inHeap);
      expect(heapOf(small)).toBe(heap);
      limited.destroyBuffer(small.buffer, small.allocation);
    } finally {
      expect(limited.destroy()).toEqual([]);
    }
  });
});

describe("lifetime", () => {
  test("destroying a pool with live allocations reports them, frees them, detaches their views", () => {
    let reported: LeakReport[] = [];
    const own = createAllocator(context, { label: "leaky pools", captureStacks: true, onLeaks: (l) => (reported = l) });
    // A HOST_VISIBLE type, so that the allocation left behind can be mapped (bufferType is not one on a discrete GPU).
    const pool = own.createPool({ memoryTypeIndex: mappableType }, { blockSize: MiB, name: "level 3" });
    const kept = own.createBuffer({ size: 4096, usage: USAGE }, { name: "outside the pool" });
    const left = own.createBuffer({ size: 3000, usage: STAGING }, { pool, name: "left behind" });
    const raw = own.allocateMemory({ size: 8192, alignment: 64, memoryTypeBits: bit(mappableType) }, { pool });
    const view = left.allocation.map();
    expect(view.byteLength).toBe(left.allocation.size);
    expect(own.allocationCount).toBe(3);

    const leaks = pool.destroy(); // oldest first
    expect(leaks.map((l) => [l.name, l.kind, l.pool])).toEqual([
      ["left behind", "buffer", "level 3"],
      [null, "memory", "level 3"],
    ]);
    expect(leaks[0].size).toBeGreaterThanOrEqual(3000);
    expect(leaks[1].size).toBe(8192);
    expect(leaks[0].stack).toMatch(/pool\.test\.ts/);
    expect(reported).toEqual(leaks);
    expect(view.byteLength).toBe(0);
    expect(own.allocationCount).toBe(1);

    expect(pool.destroyed).toBe(true);
    expect(left.allocation.destroyed).toBe(true);
    expect(() => left.allocation.info).toThrow(DestroyedResourceError);
    own.destroyBuffer(left.buffer, left.allocation); // already gone: a no-op
    own.freeMemory(raw);
    expect(pool.destroy()).toEqual([]);
    expect(() => pool.getStatistics()).toThrow(/Pool 'level 3' has been destroyed \(in getStatistics\)/);
    expect(() => pool.name).toThrow(DestroyedResourceError);
    expect(() => (pool.name = "again")).toThrow(DestroyedResourceError);
    expect(() => own.createBuffer({ size: 64, usage: USAGE }, { pool })).toThrow(
      /Pool 'level 3' has been destroyed \(in createBuffer\)/,
    );
    expect(() => own.allocateMemory({ size: 64, alignment: 64, memoryTypeBits: 1 }, { pool })).toThrow(
      DestroyedResourceError,
    );

    own.destroyBuffer(kept.buffer, kept.allocation);
    expect(own.destroy()).toEqual([]);
  });

  test("destroying the allocator frees the allocations in its pools and destroys the pools", () => {
    const own = createAllocator(context, { label: "owner", onLeaks: () => {} });
    const pool = own.createPool(
      { memoryTypeIndex: bufferType },
      { algorithm: "linear", blockSize: MiB, name: "frame" },
    );
    const b = own.createBuffer({ size: 1000, usage: USAGE }, { pool, name: "per frame" });
    const leaks = own.destroy();
    expect(leaks.map((l) => [l.name, l.pool])).toEqual([["per frame", "frame"]]);
    expect(pool.destroyed).toBe(true);
    expect(b.allocation.destroyed).toBe(true);
    expect(pool.destroy()).toEqual([]);
    expect(() => own.createPool({ memoryTypeIndex: 0 })).toThrow(
      /Allocator 'owner' has been destroyed \(in createPool\)/,
    );
  });

  test("another allocator's pool is refused, in TS and natively; so are stale and forged pool handles", () => {
    const other = createAllocator(context, { label: "other" });
    const foreign = other.createPool({ memoryTypeIndex: bufferType }, { name: "theirs" });
    expect(() => allocator.createBuffer({ size: 64, usage: USAGE }, { pool: foreign })).toThrow(TypeError);
    expect(() => allocator.createBuffer({ size: 64, usage: USAGE }, { pool: foreign })).toThrow(
      /createBuffer: allocationOptions\.pool belongs to another allocator, got "theirs"/,
    );
    expect(() => allocator.allocateMemory({ size: 64, alignment: 64, memoryTypeBits: 1 }, { pool: foreign })).toThrow(
      /belongs to another allocator/,
    );

    // Past the TS checks: the native side checks the pool handle in the scratch again.
    const nativeCreate = (poolHandle: number) => {
      encodeAllocationOptions(undefined, "test", "options");
      scratch[21] = poolHandle; // Slot.AllocPool
      scratch[0] = 64;
      scratch[1] = USAGE;
      scratch[2] = 0;
      scratch[3] = 0;
      return native.createBuffer(allocator._handle);
    };
    expect(() => nativeCreate(foreign._handle)).toThrow(/vmaCreateBuffer: the pool belongs to another allocator/);
    const stale = foreign._handle;
    foreign.destroy();
    expect(() => nativeCreate(stale)).toThrow(/stale or invalid pool handle/);
    expect(() => nativeCreate(12345.5)).toThrow(/stale or invalid pool handle/);
    expect(() => native.getPoolStatistics(stale)).toThrow(/stale or invalid pool handle/);
    expect(other.destroy()).toEqual([]);
    expect(allocator.allocationCount).toBe(0);
  });
});

describe("bad input", () => {
  const T = { memoryTypeIndex: 0 };
  test.each([
    [{ blockSize: 0.5 }, /createPool: options\.blockSize must be a positive integer number of bytes, got 0\.5/],
    [{ blockSize: -1 }, /options\.blockSize must be a positive integer.*got -1/],
    [{ blockSize: "1" }, /options\.blockSize .*got "1"/],
    [{ minBlockCount: -1 }, /options\.minBlockCount must be an integer in \[0, 1000000\], got -1/],
    [{ maxBlockCount: 0 }, /options\.maxBlockCount must be an integer in \[1, 1000000\] or Infinity, got 0/],
    [
      { minBlockCount: 3, maxBlockCount: 2 },
      /options\.maxBlockCount must be at least options\.minBlockCount \(3\), got 2/,
    ],
    [{ algorithm: "fast" }, /options\.algorithm must be 'tlsf', 'linear' or 'buddy', got "fast"/],
    [{ algorithm: "buddy" }, /options\.blockSize must be a power of two for a buddy pool, got undefined/],
    [{ minNodeSize: 256 }, /options\.minNodeSize is only for the buddy algorithm, got 256/],
    [{ minAllocationAlignment: 3 }, /options\.minAllocationAlignment must be a power of two, got 3/],
    [{ priority: 2 }, /options\.priority must be a number in \[0, 1\], got 2/],
    [{ name: "a\0b" }, /options\.name must be a string without NUL characters/],
  ])("createPool options %o", (options, message) => {
    expect(() => allocator.createPool(T, options as object)).toThrow(message);
  });

  test("createPool options { blockSize } larger than the heap of the memory type", () => {
    // The heap and its size are the device's: heap 0 of 2 GiB on lavapipe, another heap on a discrete GPU.
    const heap = allocator.memoryTypes[T.memoryTypeIndex].heapIndex;
    const heapSize = allocator.memoryHeaps[heap].size;
    for (const blockSize of [heapSize + 1, 2 ** 40].filter((v) => v > heapSize)) {
      expect(() => allocator.createPool(T, { blockSize })).toThrow(
        new RegExp(
          `^createPool: options\\.blockSize is larger than heap ${heap} of memory type ${T.memoryTypeIndex} \\(${heapSize} bytes\\), got ${blockSize}$`,
        ),
      );
    }
  });

  test("pool targets", () => {
    expect(() => allocator.createPool(null as never)).toThrow(
      /createPool: target must be \{ memoryTypeIndex \}.*got null/,
    );
    expect(() => allocator.createPool({} as never)).toThrow(
      /target must have exactly one of memoryTypeIndex, forBuffer, forImage, got \{\}/,
    );
    expect(() => allocator.createPool({ memoryTypeIndex: 0, forBuffer: { size: 64, usage: USAGE } } as never)).toThrow(
      /exactly one of/,
    );
    expect(() => allocator.createPool({ memoryTypeIndex: allocator.memoryTypes.length })).toThrow(
      new RegExp(
        `target\\.memoryTypeIndex must be an integer in \\[0, ${allocator.memoryTypes.length}\\), got ${allocator.memoryTypes.length}`,
      ),
    );
    expect(() => allocator.createPool({ forBuffer: { size: 0, usage: USAGE } })).toThrow(
      /createPool: target\.forBuffer\.size must be a positive integer number of bytes, got 0/,
    );
    expect(() => allocator.createPool({ forImage: { format: 37, extent: { width: 0, height: 1 }, usage: 4 } })).toThrow(
      /target\.forImage\.extent\.width must be a positive integer, got 0/,
    );
    expect(() =>
      allocator.createPool({ forBuffer: { size: 64, usage: USAGE }, allocation: { usage: 42 as MemoryUsage } }),
    ).toThrow(/target\.allocation\.usage is not a MemoryUsage, got 42/);
    expect(() => allocator.createPool({ memoryTypeIndex: 0, allocation: {} } as never)).toThrow(
      /target\.allocation is only used with forBuffer or forImage/,
    );
    const p = allocator.createPool(T, { name: "p" });
    expect(() => allocator.createPool({ forBuffer: { size: 64, usage: USAGE }, allocation: { pool: p } })).toThrow(
      /target\.allocation\.pool has no place here/,
    );
    expect(() => allocator.findMemoryTypeIndex(1, { pool: p })).toThrow(
      /findMemoryTypeIndex: allocationOptions\.pool has no place here/,
    );
    p.destroy();
  });

  test("allocation options naming pools", () => {
    const tlsf = allocator.createPool(T, { name: "tlsf", blockSize: MiB });
    const linear2 = allocator.createPool(T, {
      name: "two blocks",
      algorithm: "linear",
      blockSize: MiB,
      maxBlockCount: 2,
    });
    const B = { size: 64, usage: USAGE };
    expect(() => allocator.createBuffer(B, { upperAddress: true })).toThrow(
      /createBuffer: allocationOptions\.upperAddress needs a linear pool with maxBlockCount 1 \(a double stack\), got "no pool"/,
    );
    expect(() => allocator.createBuffer(B, { flags: 0x40 })).toThrow(
      /allocationOptions\.upperAddress needs a linear pool/,
    );
    expect(() => allocator.createBuffer(B, { pool: tlsf, upperAddress: true })).toThrow(
      /got "pool 'tlsf' \(tlsf, maxBlockCount Infinity\)"/,
    );
    expect(() =>
      allocator.allocateMemory({ size: 64, alignment: 64, memoryTypeBits: 1 }, { pool: linear2, upperAddress: true }),
    ).toThrow(/allocateMemory: allocationOptions\.upperAddress .*maxBlockCount 2/);
    expect(() => allocator.createBuffer(B, { pool: tlsf, dedicated: true })).toThrow(
      /allocationOptions\.dedicated is not possible in a pool with a fixed blockSize, got "tlsf"/,
    );
    expect(() => allocator.createBuffer(B, { pool: {} as Pool })).toThrow(TypeError);
    expect(() => allocator.createBuffer(B, { pool: {} as Pool })).toThrow(
      /allocationOptions\.pool must be a Pool, got \{\}/,
    );
    expect(() => (tlsf.name = 5 as never)).toThrow(
      /Pool\.name: value must be a string without NUL characters, or null, got 5/,
    );

    // Natively: upper address without a linear one-block pool is refused before VMA sees it.
    encodeAllocationOptions(undefined, "test", "options");
    scratch[16] = 0x40; // Slot.AllocFlags: UPPER_ADDRESS
    scratch[0] = 64;
    scratch[1] = USAGE;
    scratch[2] = 0;
    scratch[3] = 0;
    expect(() => native.createBuffer(allocator._handle)).toThrow(
      /upper-address allocations need a linear pool of one block/,
    );
    expect(native.takeVmaMessages()).toEqual([]);
    tlsf.destroy();
    linear2.destroy();
  });
});
