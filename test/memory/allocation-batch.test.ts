/**
 * The rest of VMA 3 (issue 13): allocateMemoryPages / freeMemoryPages (all or nothing), flushAllocations /
 * invalidateAllocations, copyMemoryToAllocation / copyAllocationToMemory, createDedicatedBuffer / Image (VMA 3.4's
 * vmaCreateDedicated*), and VMA 2's createLostAllocation. Real Vulkan (lavapipe), validation layer on.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  AllocationLostError,
  createAllocator,
  DestroyedResourceError,
  MemoryUsage,
  OutOfDeviceMemoryError,
  type Allocation,
  type Allocator,
  type Context,
} from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";

let context: Context;
let allocator: Allocator;

const gpu = useGpuContext({ applicationName: "vkmem allocation batch tests" });

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "batch" });
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

const KiB = 1024;
const SRC = vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
const REQ = { size: 4 * KiB, alignment: 256, memoryTypeBits: 0xffffffff };
const HOST = { hostAccess: "random" as const };
const HOST_VISIBLE = vk.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;

describe("allocateMemoryPages / freeMemoryPages", () => {
  test("100 pages of 4 KiB in a 1 MiB pool share one VkDeviceMemory and free in one call (VMA's BasicTestAllocatePages)", () => {
    const pool = allocator.createPool({ memoryTypeIndex: 0 }, { blockSize: 1024 * KiB, name: "pages" });
    const before = allocator.allocationCount;
    const pages = allocator.allocateMemoryPages(REQ, { pool, name: "page" }, 100);
    expect(pages).toHaveLength(100);
    expect(allocator.allocationCount).toBe(before + 100);
    expect(new Set(pages.map((p) => p.info.deviceMemoryHandle)).size).toBe(1);
    expect(new Set(pages.map((p) => p.offset)).size).toBe(100);
    expect(pages.every((p) => p.size >= 4 * KiB && p.name === "page" && p.kind === "memory")).toBe(true);
    expect(pool.getStatistics().allocationCount).toBe(100);
    allocator.freeMemoryPages(pages);
    expect(allocator.allocationCount).toBe(before);
    expect(pages.every((p) => p.destroyed)).toBe(true);
    allocator.freeMemoryPages(pages); // freed ones are skipped
    pool.destroy();
  });

  test("a batch that does not fit leaves nothing allocated, and what the pool held before stays", () => {
    const pool = allocator.createPool({ memoryTypeIndex: 0 }, { blockSize: 64 * KiB, maxBlockCount: 1, name: "small" });
    const kept = allocator.allocateMemory(REQ, { pool, name: "kept" });
    const before = allocator.allocationCount;
    // 15 pages fit beside `kept`; the 16th does not: VMA gives back the 15 it made.
    expect(() => allocator.allocateMemoryPages(REQ, { pool }, 16)).toThrow(OutOfDeviceMemoryError);
    expect(allocator.allocationCount).toBe(before);
    expect(pool.getStatistics().allocationCount).toBe(1);
    expect(kept.destroyed).toBe(false);
    // And the space is really free: 15 fit now.
    const pages = allocator.allocateMemoryPages(REQ, { pool }, 15);
    expect(pool.getStatistics().allocationCount).toBe(16);
    allocator.freeMemoryPages([...pages, kept]);
    expect(pool.getStatistics().allocationCount).toBe(0);
    pool.destroy();
  });

  test("dedicated pages each get a VkDeviceMemory of their own", () => {
    const pages = allocator.allocateMemoryPages(REQ, { dedicated: true }, 3);
    expect(pages.every((p) => p.dedicated)).toBe(true);
    expect(new Set(pages.map((p) => p.info.deviceMemoryHandle)).size).toBe(3);
    allocator.freeMemoryPages(pages);
  });

  test("persistently mapped pages each map their own bytes", () => {
    const pages = allocator.allocateMemoryPages(REQ, { ...HOST, mapped: true }, 4);
    pages.forEach((p, i) => new Uint8Array(p.mappedData!).fill(i + 1));
    pages.forEach((p, i) => expect(new Uint8Array(p.mappedData!)[100]).toBe(i + 1));
    allocator.freeMemoryPages(pages);
  });

  test("in a buddy pool, a batch that does not fit is undone as well", () => {
    const pool = allocator.createPool(
      { memoryTypeIndex: 0 },
      { algorithm: "buddy", blockSize: 64 * KiB, maxBlockCount: 1 },
    );
    expect(() => allocator.allocateMemoryPages(REQ, { pool }, 17)).toThrow(OutOfDeviceMemoryError);
    expect(pool.getStatistics().allocationCount).toBe(0);
    const pages = allocator.allocateMemoryPages(REQ, { pool }, 16);
    expect(pages).toHaveLength(16);
    allocator.freeMemoryPages(pages);
    pool.destroy();
  });

  test("bad arguments are typed errors and allocate nothing", () => {
    const before = allocator.allocationCount;
    expect(() => allocator.allocateMemoryPages(REQ, undefined, 0)).toThrow(
      new RangeError("allocateMemoryPages: count must be an integer in [1, 65536], got 0"),
    );
    expect(() => allocator.allocateMemoryPages(REQ, undefined, 1.5)).toThrow(/count must be an integer/);
    expect(() => allocator.allocateMemoryPages(REQ, undefined, 65537)).toThrow(/count must be an integer/);
    expect(() => allocator.allocateMemoryPages({ ...REQ, size: 0 }, undefined, 2)).toThrow(RangeError);
    expect(() => allocator.allocateMemoryPages(REQ, { canBecomeLost: true }, 2)).toThrow(
      /allocateMemoryPages: allocationOptions.canBecomeLost is not supported for pages/,
    );
    expect(() => allocator.allocateMemoryPages(REQ, { name: "a\0b" }, 2)).toThrow(
      /allocationOptions.name must be a string/,
    );
    expect(() => allocator.allocateMemoryPages(REQ, { usage: MemoryUsage.Auto }, 2)).toThrow(/cannot be an Auto usage/);
    expect(allocator.allocationCount).toBe(before);
  });

  test("freeMemoryPages checks every element before freeing any", () => {
    const other = createAllocator(context, { label: "other" });
    const mine = allocator.allocateMemoryPages(REQ, undefined, 2);
    const theirs = other.allocateMemory(REQ);
    const buffer = allocator.createBuffer({ size: 256, usage: SRC });
    expect(() => allocator.freeMemoryPages([mine[0], theirs, mine[1]])).toThrow(
      /freeMemoryPages: allocations\[1\] belongs to another allocator/,
    );
    expect(() => allocator.freeMemoryPages([mine[0], buffer.allocation])).toThrow(
      /freeMemoryPages: allocations\[1\] backs a buffer: use destroyBuffer\(\)/,
    );
    expect(() => allocator.freeMemoryPages("x" as never)).toThrow(TypeError);
    expect(mine.every((p) => !p.destroyed)).toBe(true);
    allocator.freeMemoryPages([mine[0], mine[1], mine[0]]); // a repeat is a no-op, as a second freeMemory
    allocator.destroyBuffer(buffer.buffer, buffer.allocation);
    other.freeMemory(theirs);
    expect(other.destroy()).toEqual([]);
  });
});

describe("flushAllocations / invalidateAllocations", () => {
  test("ranges and `performed` are each allocation's own flush's (HOST_VISIBLE without HOST_COHERENT only)", () => {
    const list = [0, 1, 2].map(() => allocator.allocateMemory({ ...REQ, size: 1000 + 1 }, HOST));
    const offsets = [0, 10, 300];
    const sizes = [100, 500, 0];
    const flushed = allocator.flushAllocations(list, offsets, sizes);
    const invalidated = allocator.invalidateAllocations(list, offsets, sizes);
    const one = list.map((a, i) => a.flush(offsets[i], sizes[i]));
    expect(flushed).toEqual(one);
    expect(invalidated).toEqual(one);
    for (const [i, a] of list.entries()) {
      const nonCoherent = (a.memoryProperties & 0x6) === 0x2;
      expect(flushed[i].performed).toBe(nonCoherent && sizes[i] > 0);
    }
    // Defaults: offset 0, the whole allocation.
    expect(allocator.flushAllocations(list)).toEqual(list.map((a) => a.flush()));
    expect(allocator.flushAllocations([])).toEqual([]);
    for (const a of list) allocator.freeMemory(a);
  });

  test("buddy-pool allocations flush through their own calls, in the same batch", () => {
    // A memory type the CPU maps (type 0 is not one on a discrete GPU).
    const memoryTypeIndex = allocator.findMemoryTypeIndex(REQ.memoryTypeBits, { requiredFlags: HOST_VISIBLE });
    const pool = allocator.createPool({ memoryTypeIndex }, { algorithm: "buddy", blockSize: 64 * KiB });
    const node = allocator.allocateMemory(REQ, { pool });
    const plain = allocator.allocateMemory(REQ, HOST);
    expect(allocator.invalidateAllocations([node, plain], [0, 16], [64, 64])).toEqual([
      node.invalidate(0, 64),
      plain.invalidate(16, 64),
    ]);
    allocator.freeMemoryPages([node, plain]);
    pool.destroy();
  });

  test("bad elements are typed errors naming the index; a freed allocation flushes nothing", () => {
    const a = allocator.allocateMemory(REQ, HOST);
    const b = allocator.allocateMemory(REQ, HOST);
    expect(() => allocator.flushAllocations([a, b], [0])).toThrow(
      /flushAllocations: offsets must have one entry per allocation \(2\), got "1 entries"/,
    );
    expect(() => allocator.flushAllocations([a, b], [0, 5000])).toThrow(
      /flushAllocations: offsets\[1\] must be an integer in \[0, 4096\], got 5000/,
    );
    expect(() => allocator.invalidateAllocations([a, b], [0, 100], [10, 4000])).toThrow(
      /invalidateAllocations: sizes\[1\] must be an integer with offset \+ size <= 4096 \(offset 100\), got 4000/,
    );
    expect(() => allocator.flushAllocations([a, {} as Allocation])).toThrow(/allocations\[1\] must be an Allocation/);
    allocator.freeMemory(b);
    expect(() => allocator.flushAllocations([a, b])).toThrow(DestroyedResourceError);
    allocator.freeMemory(a);
  });
});

describe("copyMemoryToAllocation / copyAllocationToMemory", () => {
  test("bytes go in and come out at offsets, from and into any ArrayBufferView", () => {
    const a = allocator.allocateMemory(REQ, HOST);
    const words = Uint32Array.from({ length: 64 }, (_, i) => i * 0x01010101);
    allocator.copyMemoryToAllocation(words, a, 512);
    const view = new Uint8Array(a.map());
    expect(new Uint32Array(view.buffer.slice(512, 512 + 256))).toEqual(words);
    a.unmap();
    // Into the middle of a larger buffer: only the view's bytes are written.
    const back = new Uint8Array(300).fill(0xee);
    allocator.copyAllocationToMemory(a, 512, back.subarray(10, 266));
    expect(back.subarray(10, 266)).toEqual(new Uint8Array(words.buffer));
    expect(back[9]).toBe(0xee);
    expect(back[266]).toBe(0xee);
    const dv = new DataView(new ArrayBuffer(8));
    allocator.copyAllocationToMemory(a, 512 + 4, dv);
    expect(dv.getUint32(0, true)).toBe(0x01010101);
    allocator.copyMemoryToAllocation(new Uint8Array(0), a, 4096); // nothing to copy, at the very end: fine
    allocator.freeMemory(a);
  });

  test("a buddy-pool allocation copies through its own mapping", () => {
    // A memory type the CPU maps (type 0 is not one on a discrete GPU).
    const memoryTypeIndex = allocator.findMemoryTypeIndex(REQ.memoryTypeBits, { requiredFlags: HOST_VISIBLE });
    const pool = allocator.createPool({ memoryTypeIndex }, { algorithm: "buddy", blockSize: 64 * KiB });
    const first = allocator.allocateMemory(REQ, { pool });
    const node = allocator.allocateMemory(REQ, { pool });
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    allocator.copyMemoryToAllocation(bytes, node, 96);
    const out = new Uint8Array(1000);
    allocator.copyAllocationToMemory(node, 96, out);
    expect(out).toEqual(bytes);
    expect(node.mapCount).toBe(0);
    allocator.freeMemoryPages([first, node]);
    pool.destroy();
  });

  test("bounds, views and memory the CPU may not map are typed errors", () => {
    const a = allocator.allocateMemory(REQ, { ...HOST, name: "host" });
    expect(() => allocator.copyMemoryToAllocation(new Uint8Array(100), a, 4000)).toThrow(
      new RangeError(
        "copyMemoryToAllocation: offset must be an integer with offset + src.byteLength (100) <= 4096, got 4000",
      ),
    );
    expect(() => allocator.copyAllocationToMemory(a, -1, new Uint8Array(4))).toThrow(/offset must be an integer/);
    expect(() => allocator.copyMemoryToAllocation([1, 2, 3] as never, a, 0)).toThrow(
      /copyMemoryToAllocation: src must be an ArrayBufferView \(a typed array or DataView\)/,
    );
    expect(() => allocator.copyAllocationToMemory(a, 0, new ArrayBuffer(4) as never)).toThrow(
      /dst must be an ArrayBufferView/,
    );
    // An Auto buffer without hostAccess: VMA does not let it be mapped, so no copy either, even in memory the CPU
    // could map (HOST_VISIBLE required, so on every device).
    const autoHost = allocator.createBuffer({ size: 256, usage: SRC }, { name: "auto", requiredFlags: HOST_VISIBLE });
    expect(autoHost.allocation.memoryProperties & HOST_VISIBLE).toBe(HOST_VISIBLE);
    expect(() => allocator.copyMemoryToAllocation(new Uint8Array(4), autoHost.allocation, 0)).toThrow(
      /copyMemoryToAllocation: allocation was created with an Auto usage and no hostAccess/,
    );
    allocator.destroyBuffer(autoHost.buffer, autoHost.allocation);
    // Memory without HOST_VISIBLE (a discrete GPU's device memory; lavapipe has none) is refused for what it is.
    const deviceOnly = allocator.memoryTypes.findIndex((t) => (t.propertyFlags & HOST_VISIBLE) === 0);
    if (deviceOnly >= 0) {
      const m = allocator.allocateMemory({ ...REQ, memoryTypeBits: 1 << deviceOnly }, { name: "device" });
      expect(() => allocator.copyAllocationToMemory(m, 0, new Uint8Array(4))).toThrow(
        new TypeError(
          `copyAllocationToMemory: allocation is in memory type ${deviceOnly}, which is not HOST_VISIBLE: ` +
            'copy through a staging buffer, got "device"',
        ),
      );
      allocator.freeMemory(m);
    }
    allocator.freeMemory(a);
    expect(() => allocator.copyMemoryToAllocation(new Uint8Array(4), a, 0)).toThrow(DestroyedResourceError);
  });
});

describe("createDedicatedBuffer / createDedicatedImage (vmaCreateDedicated*)", () => {
  test("the buffer and image get memory of their own, as the dedicated flag gives", () => {
    const buffer = allocator.createDedicatedBuffer(
      { size: 10 * KiB, usage: SRC },
      { ...HOST, mapped: true, name: "own" },
    );
    expect(buffer.allocation.dedicated).toBe(true);
    expect(buffer.allocation.offset).toBe(0);
    expect(buffer.allocation.blockSize).toBe(buffer.allocation.size);
    expect(buffer.allocationInfo.name).toBe("own");
    new Uint8Array(buffer.allocation.mappedData!).fill(3);
    const image = allocator.createDedicatedImage({
      format: vk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: { width: 64, height: 64 },
      usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
    });
    expect(image.allocation.dedicated).toBe(true);
    expect(image.allocation.kind).toBe("image");
    const dump = allocator.dump();
    const dedicated = Object.values(dump.DefaultPools ?? {}).flatMap((p) => p.DedicatedAllocations);
    expect(dedicated.map((d) => d.Name)).toContain("own");
    allocator.destroyImage(image.image, image.allocation);
    allocator.destroyBuffer(buffer.buffer, buffer.allocation);
  });

  test("what dedicated memory excludes is refused with typed errors", () => {
    expect(() => allocator.createDedicatedBuffer({ size: 256, usage: SRC }, { neverAllocate: true })).toThrow(
      /createDedicatedBuffer: allocationOptions.neverAllocate contradicts dedicated memory/,
    );
    const fixed = allocator.createPool({ memoryTypeIndex: 0 }, { blockSize: 64 * KiB, name: "fixed" });
    expect(() => allocator.createDedicatedBuffer({ size: 256, usage: SRC }, { pool: fixed })).toThrow(
      /createDedicatedBuffer: allocationOptions.pool has a fixed blockSize/,
    );
    fixed.destroy();
    const buddy = allocator.createPool({ memoryTypeIndex: 0 }, { algorithm: "buddy", blockSize: 64 * KiB });
    expect(() =>
      allocator.createDedicatedImage(
        { format: vk.VK_FORMAT_R8G8B8A8_UNORM, extent: { width: 4, height: 4 }, usage: 4 },
        { pool: buddy },
      ),
    ).toThrow(/createDedicatedImage: allocationOptions.pool is a buddy pool/);
    buddy.destroy();
    expect(() => allocator.createDedicatedBuffer({ size: -1, usage: SRC })).toThrow(
      /bufferInfo.size must be a positive integer/,
    );
  });

  test("in a pool without a fixed block size the allocation is the pool's and dedicated", () => {
    const pool = allocator.createPool({ memoryTypeIndex: 0 }, { name: "free size" });
    const { buffer, allocation } = allocator.createDedicatedBuffer({ size: 4 * KiB, usage: SRC }, { pool });
    expect(allocation.dedicated).toBe(true);
    expect(allocation.pool).toBe(pool);
    expect(pool.getStatistics().allocationCount).toBe(1);
    allocator.destroyBuffer(buffer, allocation);
    pool.destroy();
  });
});

describe("createLostAllocation (VMA 2)", () => {
  test("is lost from birth, size 0, never touched into life, released by freeMemory", () => {
    allocator.setCurrentFrameIndex(7);
    const before = allocator.allocationCount;
    const lost = allocator.createLostAllocation("placeholder");
    expect(allocator.allocationCount).toBe(before);
    expect(lost.lost).toBe(true);
    expect(lost.lostInFrame).toBe(7);
    expect(lost.canBecomeLost).toBe(true);
    expect(lost.size).toBe(0);
    expect(lost.kind).toBe("memory");
    expect(allocator.isLost(lost)).toBe(true);
    expect(lost.touch()).toBe(false);
    expect(allocator.touch(lost)).toBe(false);
    expect(() => lost.map()).toThrow(AllocationLostError);
    expect(() => lost.info).toThrow(AllocationLostError);
    expect(() => allocator.copyMemoryToAllocation(new Uint8Array(1), lost, 0)).toThrow(AllocationLostError);
    expect(lost.destroyed).toBe(false);
    allocator.freeMemory(lost);
    expect(lost.destroyed).toBe(true);
    allocator.freeMemory(lost); // a second release does nothing
    expect(() => lost.touch()).toThrow(DestroyedResourceError);
    expect(() => allocator.createLostAllocation(5 as never)).toThrow(
      /createLostAllocation: name must be a string without NUL characters, got 5/,
    );
  });
});
