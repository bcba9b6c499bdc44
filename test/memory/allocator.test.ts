/**
 * The allocator core on real Vulkan (lavapipe here, the validation layer on): buffers and images of many
 * sizes, usages and tilings; intents, required/preferred flags and memoryTypeBits; dedicated allocations;
 * names and user data; statistics deltas; heap size limits; the leak report.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  Allocation,
  createAllocator,
  MemoryPropertyFlags,
  MemoryUsage,
  OutOfDeviceMemoryError,
  VkError,
  type Allocator,
  type Context,
} from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";
import { acceptedTypes, bit, hasType } from "../helpers/memory-types.js";

let context: Context;
let allocator: Allocator;

const gpu = useGpuContext({ applicationName: "vkmem allocator tests" });

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "tests" });
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

const VERTEX = vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT;
const { DEVICE_LOCAL, HOST_VISIBLE, HOST_COHERENT, HOST_CACHED, DEVICE_UNCACHED_AMD } = MemoryPropertyFlags;

/** How many set bits. */
const popcount = (v: number) => v.toString(2).replace(/0/g, "").length;

describe("createBuffer", () => {
  test("the seed's example works as written", () => {
    const { buffer, allocation, allocationInfo } = allocator.createBuffer(
      { size: 16 * 1024, usage: vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
      { usage: MemoryUsage.GpuOnly },
    );
    expect(allocationInfo.size).toBeGreaterThanOrEqual(16 * 1024);
    expect(allocation).toBeInstanceOf(Allocation);
    allocator.destroyBuffer(buffer, allocation);
    expect(allocation.destroyed).toBe(true);
  });

  test("buffers of many sizes and usages get memory of at least their size, non-overlapping", () => {
    const usages = [
      vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
      vk.VK_BUFFER_USAGE_INDEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      vk.VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
      vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
      vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
      vk.VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT,
    ];
    const sizes = [1, 3, 64, 255, 256, 4096, 65537, 1 << 20, 9 << 20];
    const made = [];
    for (const size of sizes) {
      for (const usage of usages) {
        const r = allocator.createBuffer({ size, usage }, { usage: MemoryUsage.Auto });
        expect(r.allocationInfo.size).toBeGreaterThanOrEqual(size);
        made.push(r);
      }
    }
    // Two live allocations in the same VkDeviceMemory never overlap.
    const byMemory = new Map<bigint, { offset: number; size: number }[]>();
    for (const r of made) {
      const list = byMemory.get(r.allocationInfo.deviceMemoryHandle) ?? [];
      list.push({ offset: r.allocationInfo.offset, size: r.allocationInfo.size });
      byMemory.set(r.allocationInfo.deviceMemoryHandle, list);
    }
    for (const list of byMemory.values()) {
      list.sort((a, b) => a.offset - b.offset);
      for (let i = 1; i < list.length; i++)
        expect(list[i].offset).toBeGreaterThanOrEqual(list[i - 1].offset + list[i - 1].size);
    }
    for (const r of made) allocator.destroyBuffer(r.buffer, r.allocation);
    expect(allocator.allocationCount).toBe(0);
  });

  test("every intent gives memory with the flags it promises", () => {
    // VMA's contract per intent (vk_mem_alloc.h: VmaMemoryUsage and FindMemoryPreferences), for a vertex buffer
    // (device access) without host access: the flags it guarantees, the flags it prefers, the flags it prefers not
    // to have (VMA adds DEVICE_UNCACHED_AMD to those always). Only the guaranteed flags are promised on every device:
    // CpuCopy only prefers memory that is not DEVICE_LOCAL, which on a discrete GPU may be host memory that is not
    // HOST_VISIBLE at all. The preferences are honoured as far as the device allows: VMA takes the acceptable type
    // with the guaranteed flags that misses the fewest preferred flags plus has the fewest not-preferred ones.
    const cases: [MemoryUsage, number, number, number][] = [
      [MemoryUsage.GpuOnly, 0, DEVICE_LOCAL, 0],
      [MemoryUsage.CpuOnly, HOST_VISIBLE | HOST_COHERENT, 0, 0],
      [MemoryUsage.CpuToGpu, HOST_VISIBLE, DEVICE_LOCAL, 0],
      [MemoryUsage.GpuToCpu, HOST_VISIBLE, HOST_CACHED, 0],
      [MemoryUsage.CpuCopy, 0, 0, DEVICE_LOCAL],
      [MemoryUsage.Auto, 0, DEVICE_LOCAL, 0],
      [MemoryUsage.AutoPreferDevice, 0, DEVICE_LOCAL, 0],
      [MemoryUsage.AutoPreferHost, 0, 0, DEVICE_LOCAL],
    ];
    const types = allocator.memoryTypes;
    const accepted = acceptedTypes(allocator, { size: 1024, usage: VERTEX });
    for (const [usage, guaranteed, preferred, notPreferred] of cases) {
      const avoided = notPreferred | DEVICE_UNCACHED_AMD;
      const cost = (flags: number) => popcount(preferred & ~flags) + popcount(flags & avoided);
      const candidates = types.flatMap((t, i) =>
        hasType(accepted, i) && (t.propertyFlags & guaranteed) === guaranteed ? [cost(t.propertyFlags)] : [],
      );
      const r = allocator.createBuffer({ size: 1024, usage: VERTEX }, { usage });
      try {
        const type = r.allocation.memoryType;
        expect(hasType(accepted, type)).toBe(true);
        expect(r.allocation.memoryProperties).toBe(types[type].propertyFlags);
        expect(r.allocation.memoryProperties & guaranteed).toBe(guaranteed);
        expect(cost(r.allocation.memoryProperties)).toBe(Math.min(...candidates));
        expect(allocator.findMemoryTypeIndexForBufferInfo({ size: 1024, usage: VERTEX }, { usage })).toBe(type);
      } finally {
        allocator.destroyBuffer(r.buffer, r.allocation);
      }
    }
    const mapped = allocator.createBuffer(
      { size: 1024, usage: VERTEX },
      { usage: MemoryUsage.Auto, hostAccess: "random", mapped: true },
    );
    expect(mapped.allocation.memoryProperties & MemoryPropertyFlags.HOST_VISIBLE).toBeTruthy();
    expect(mapped.allocationInfo.mappedData).toBeInstanceOf(ArrayBuffer);
    allocator.destroyBuffer(mapped.buffer, mapped.allocation);
  });

  test("required and preferred flags and memoryTypeBits are honoured", () => {
    const types = allocator.memoryTypes;
    const accepted = acceptedTypes(allocator, { size: 4096, usage: VERTEX });
    const r = allocator.createBuffer(
      { size: 4096, usage: VERTEX },
      {
        usage: MemoryUsage.Unknown,
        requiredFlags: MemoryPropertyFlags.HOST_VISIBLE,
        preferredFlags: MemoryPropertyFlags.HOST_COHERENT,
      },
    );
    expect(r.allocation.memoryProperties & MemoryPropertyFlags.HOST_VISIBLE).toBeTruthy();
    // The preferred flag is honoured wherever the device has an acceptable HOST_VISIBLE type with it.
    const coherent = types.some(
      (t, i) =>
        hasType(accepted, i) && (t.propertyFlags & (HOST_VISIBLE | HOST_COHERENT)) === (HOST_VISIBLE | HOST_COHERENT),
    );
    if (coherent) expect(r.allocation.memoryProperties & HOST_COHERENT).toBeTruthy();
    allocator.destroyBuffer(r.buffer, r.allocation);
    // memoryTypeBits of one type gives that type where the buffer accepts it, and no memory where it does not.
    expect(accepted).toBeGreaterThan(0);
    for (let t = 0; t < types.length; t++) {
      const options = { usage: MemoryUsage.Unknown, memoryTypeBits: bit(t) };
      if (!hasType(accepted, t)) {
        expect(() => allocator.createBuffer({ size: 4096, usage: VERTEX }, options)).toThrow(VkError);
        continue;
      }
      const only = allocator.createBuffer({ size: 4096, usage: VERTEX }, options);
      expect(only.allocationInfo.memoryType).toBe(t);
      allocator.destroyBuffer(only.buffer, only.allocation);
    }
    // All three host flags and DEVICE_LOCAL required: the first acceptable type that has them, where there is one.
    const all = DEVICE_LOCAL | HOST_VISIBLE | HOST_COHERENT;
    // (VMA avoids DEVICE_UNCACHED_AMD types where another fits.)
    const fits = types.flatMap((t, i) => (hasType(accepted, i) && (t.propertyFlags & all) === all ? [i] : []));
    const withAll = fits.find((i) => (types[i].propertyFlags & DEVICE_UNCACHED_AMD) === 0) ?? fits[0] ?? -1;
    const allOptions = { usage: MemoryUsage.Unknown, requiredFlags: all };
    if (withAll >= 0) {
      const w = allocator.createBuffer({ size: 4096, usage: VERTEX }, allOptions);
      expect(w.allocationInfo.memoryType).toBe(withAll);
      allocator.destroyBuffer(w.buffer, w.allocation);
    } else {
      expect(() => allocator.createBuffer({ size: 4096, usage: VERTEX }, allOptions)).toThrow(VkError);
    }
    // A required flag no memory type has.
    expect(() =>
      allocator.createBuffer(
        { size: 4096, usage: VERTEX },
        { usage: MemoryUsage.Unknown, requiredFlags: MemoryPropertyFlags.PROTECTED },
      ),
    ).toThrow(VkError);
  });

  test("dedicated allocations own their VkDeviceMemory at offset 0", () => {
    const a = allocator.createBuffer({ size: 100_000, usage: VERTEX }, { usage: MemoryUsage.GpuOnly, dedicated: true });
    const b = allocator.createBuffer({ size: 100_000, usage: VERTEX }, { usage: MemoryUsage.GpuOnly, dedicated: true });
    expect(a.allocation.dedicated).toBe(true);
    expect(a.allocationInfo.offset).toBe(0);
    expect(a.allocationInfo.deviceMemoryHandle).not.toBe(b.allocationInfo.deviceMemoryHandle);
    expect(a.allocation.blockSize).toBe(a.allocationInfo.size);
    const shared = allocator.createBuffer({ size: 1000, usage: VERTEX }, { usage: MemoryUsage.GpuOnly });
    expect(shared.allocation.dedicated).toBe(false);
    for (const r of [a, b, shared]) allocator.destroyBuffer(r.buffer, r.allocation);
  });

  test("never-allocate reuses an existing block and fails when none has room", () => {
    const first = allocator.createBuffer({ size: 1024, usage: VERTEX }, { usage: MemoryUsage.GpuOnly });
    const again = allocator.createBuffer(
      { size: 1024, usage: VERTEX },
      { usage: MemoryUsage.GpuOnly, neverAllocate: true },
    );
    expect(again.allocationInfo.deviceMemoryHandle).toBe(first.allocationInfo.deviceMemoryHandle);
    expect(() =>
      allocator.createBuffer({ size: 1 << 30, usage: VERTEX }, { usage: MemoryUsage.GpuOnly, neverAllocate: true }),
    ).toThrow(OutOfDeviceMemoryError);
    allocator.destroyBuffer(again.buffer, again.allocation);
    allocator.destroyBuffer(first.buffer, first.allocation);
  });
});

describe("createImage", () => {
  test("images of several formats, tilings, mips and usages", () => {
    const cases = [
      {
        format: vk.VK_FORMAT_R8G8B8A8_UNORM,
        extent: { width: 128, height: 128 },
        mipLevels: 8,
        usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT,
      },
      {
        format: vk.VK_FORMAT_R8G8B8A8_UNORM,
        extent: { width: 512, height: 1 },
        tiling: vk.VK_IMAGE_TILING_LINEAR,
        usage: vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
      },
      {
        format: vk.VK_FORMAT_D32_SFLOAT,
        extent: { width: 800, height: 600 },
        usage: vk.VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
      },
      {
        format: vk.VK_FORMAT_R16G16B16A16_SFLOAT,
        extent: { width: 64, height: 64 },
        arrayLayers: 6,
        flags: 0x10,
        usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
      },
      {
        format: vk.VK_FORMAT_R8_UNORM,
        extent: { width: 32, height: 32, depth: 32 },
        imageType: vk.VK_IMAGE_TYPE_3D,
        usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
      },
      {
        format: vk.VK_FORMAT_R32_SFLOAT,
        extent: { width: 1024, height: 1 },
        imageType: vk.VK_IMAGE_TYPE_1D,
        usage: vk.VK_IMAGE_USAGE_STORAGE_BIT,
      },
      {
        format: vk.VK_FORMAT_B8G8R8A8_UNORM,
        extent: { width: 1920, height: 1080 },
        usage: vk.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
      },
    ];
    const made = cases.map((info) => {
      const r = allocator.createImage(info, { usage: MemoryUsage.Auto, name: `image ${info.format}` });
      const texels = info.extent.width * info.extent.height * (info.extent.depth ?? 1);
      expect(r.allocationInfo.size).toBeGreaterThanOrEqual(texels);
      expect(r.allocation.kind).toBe("image");
      return r;
    });
    for (const r of made) allocator.destroyImage(r.image, r.allocation);
  });
});

describe("raw memory", () => {
  test("allocateMemoryForBuffer + bindBufferMemory, and destroyBuffer destroys the caller's buffer too", async () => {
    const { nvk } = await import("../../engine/vulkan/nvk.js");
    const buffer = new nvk.VkBuffer();
    expect(
      nvk.vkCreateBuffer(
        context.device,
        new nvk.VkBufferCreateInfo({ size: 4096, usage: VERTEX, sharingMode: 0 }),
        null,
        buffer,
      ),
    ).toBe(0);
    const allocation = allocator.allocateMemoryForBuffer(buffer, { usage: MemoryUsage.GpuOnly, name: "own buffer" });
    allocator.bindBufferMemory(allocation, buffer);
    expect(() => allocator.bindBufferMemory(allocation, buffer)).toThrow(/already bound/);
    allocator.destroyBuffer(buffer, allocation);
    expect(allocation.destroyed).toBe(true);
  });

  test("allocateMemoryForImage + bindImageMemory", async () => {
    const { nvk } = await import("../../engine/vulkan/nvk.js");
    const image = new nvk.VkImage();
    const info = new nvk.VkImageCreateInfo({
      imageType: 1,
      format: vk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: new nvk.VkExtent3D({ width: 64, height: 64, depth: 1 }),
      mipLevels: 1,
      arrayLayers: 1,
      samples: 1,
      tiling: 0,
      usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
      sharingMode: 0,
      initialLayout: 0,
    });
    expect(nvk.vkCreateImage(context.device, info, null, image)).toBe(0);
    const allocation = allocator.allocateMemoryForImage(image, { usage: MemoryUsage.GpuOnly });
    allocator.bindImageMemory(allocation, image);
    allocator.destroyImage(image, allocation);
  });

  test("allocateMemory gives raw memory that freeMemory frees; twice is a no-op", () => {
    const a = allocator.allocateMemory(
      { size: 10_000, alignment: 4096, memoryTypeBits: 0xffffffff },
      { usage: MemoryUsage.GpuOnly },
    );
    expect(a.offset % 4096).toBe(0);
    expect(a.kind).toBe("memory");
    allocator.freeMemory(a);
    allocator.freeMemory(a);
    expect(a.destroyed).toBe(true);
  });
});

describe("names and user data", () => {
  test("round-trip names with quotes, newlines and non-ASCII, and user data of any kind", () => {
    const name = 'shadow "map"\nsecond line – ünïcödé 🎮';
    const r = allocator.createBuffer({ size: 256, usage: VERTEX }, { usage: MemoryUsage.GpuOnly, name, userData: 42 });
    expect(r.allocation.name).toBe(name);
    expect(r.allocationInfo.name).toBe(name);
    expect(r.allocation.userData).toBe(42);
    const dump = JSON.parse(allocator.buildStatsString(true));
    const subs = Object.values<any>(dump.DefaultPools).flatMap((p: any) =>
      Object.values<any>(p.Blocks ?? {}).flatMap((b: any) => b.Suballocations ?? []),
    );
    const mine = subs.find((s: any) => s.Name === name);
    expect(mine).toBeDefined();
    expect(mine.CustomData).toMatch(/^(0x)?0*2a$/i);
    const obj = { level: 3 };
    r.allocation.userData = obj;
    expect(r.allocation.userData).toBe(obj);
    expect(r.allocation.info.userData).toBe(obj);
    r.allocation.name = null;
    expect(r.allocation.name).toBeNull();
    r.allocation.name = "renamed";
    expect(r.allocation.info.name).toBe("renamed");
    allocator.destroyBuffer(r.buffer, r.allocation);
  });
});

describe("statistics", () => {
  test("deltas are exact after each step", () => {
    const before = allocator.calculateStatistics().total;
    const a = allocator.createBuffer({ size: 65536, usage: VERTEX }, { usage: MemoryUsage.GpuOnly });
    const mid = allocator.calculateStatistics().total;
    expect(mid.allocationCount - before.allocationCount).toBe(1);
    expect(mid.allocationBytes - before.allocationBytes).toBe(a.allocationInfo.size);
    const d = allocator.createBuffer({ size: 65536, usage: VERTEX }, { usage: MemoryUsage.GpuOnly, dedicated: true });
    const after = allocator.calculateStatistics().total;
    expect(after.blockCount - mid.blockCount).toBe(1);
    expect(after.blockBytes - mid.blockBytes).toBe(d.allocationInfo.size);
    allocator.destroyBuffer(d.buffer, d.allocation);
    allocator.destroyBuffer(a.buffer, a.allocation);
    const end = allocator.calculateStatistics().total;
    expect(end.allocationCount).toBe(before.allocationCount);
    expect(end.allocationBytes).toBe(before.allocationBytes);
    const budgets = allocator.getHeapBudgets();
    expect(budgets.length).toBe(allocator.memoryHeaps.length);
    for (let i = 0; i < budgets.length; i++) {
      expect(budgets[i].budget).toBeGreaterThan(0);
      expect(budgets[i].budget).toBeLessThanOrEqual(allocator.memoryHeaps[i].size);
    }
  });
});

describe("heap size limit", () => {
  test("leads to OutOfDeviceMemoryError with every earlier allocation intact", () => {
    const limit = 64 << 20;
    const chunk = { size: 4 << 20, usage: VERTEX };
    const limited = createAllocator(context, {
      heapSizeLimits: allocator.memoryHeaps.map(() => limit),
      preferredLargeHeapBlockSize: 8 << 20,
      label: "limited",
    });
    const types = limited.memoryTypes;
    const heapOf = (r: { allocation: Allocation }) => types[r.allocation.memoryType].heapIndex;
    // VMA's heapSizeLimit caps each heap on its own. CpuToGpu memory (HOST_VISIBLE guaranteed) goes to the type VMA
    // prefers; when that type's heap is at its limit VMA goes on to the next acceptable type, in another heap where
    // there is one (a discrete GPU's host memory), and fails only once every heap with a HOST_VISIBLE type the buffer
    // accepts is at its limit. Per heap: at most min(limit, heap size) / 4 MiB chunks, at least 3/4 of that (blocks
    // and alignment may waste some).
    const accepted = acceptedTypes(allocator, chunk);
    const hostVisibleHeaps = [
      ...new Set(
        types.flatMap((t, i) => (hasType(accepted, i) && (t.propertyFlags & HOST_VISIBLE) !== 0 ? [t.heapIndex] : [])),
      ),
    ];
    const most = (heap: number) => Math.floor(Math.min(limit, limited.memoryHeaps[heap].size) / chunk.size);
    const least = (heap: number) => Math.floor((most(heap) * 3) / 4);
    const made = [];
    let error: unknown;
    try {
      for (let i = 0; i < 100; i++) {
        const r = limited.createBuffer(chunk, { usage: MemoryUsage.CpuToGpu, name: `chunk ${i}` });
        new Uint32Array(r.allocation.map()).fill(i);
        made.push(r);
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OutOfDeviceMemoryError);
    expect((error as VkError).code).toBe("VK_ERROR_OUT_OF_DEVICE_MEMORY");
    expect(hostVisibleHeaps.length).toBeGreaterThan(0);
    expect(made.length).toBeGreaterThanOrEqual(hostVisibleHeaps.reduce((n, h) => n + least(h), 0));
    expect(made.length).toBeLessThanOrEqual(hostVisibleHeaps.reduce((n, h) => n + most(h), 0));
    for (const heap of hostVisibleHeaps) {
      const inHeap = made.filter((r) => heapOf(r) === heap).length;
      expect(inHeap).toBeGreaterThanOrEqual(least(heap));
      expect(inHeap).toBeLessThanOrEqual(most(heap));
    }
    expect(made.every((r) => hostVisibleHeaps.includes(heapOf(r)))).toBe(true);
    // The first goes where VMA prefers; the heaps fill one after the other (a full heap is never gone back to).
    expect(made[0].allocation.memoryType).toBe(
      limited.findMemoryTypeIndexForBufferInfo(chunk, { usage: MemoryUsage.CpuToGpu }),
    );
    const order = made.map(heapOf);
    for (let i = 1; i < order.length; i++) {
      if (order[i] !== order[i - 1]) expect(order.slice(0, i)).not.toContain(order[i]);
    }
    made.forEach((r, i) => {
      const words = new Uint32Array(r.allocation.mappedData!);
      expect(words[0]).toBe(i);
      expect(words[words.length - 1]).toBe(i);
    });
    // A valid, smaller call afterwards still succeeds once room is made.
    const last = made.pop()!;
    last.allocation.unmap();
    limited.destroyBuffer(last.buffer, last.allocation);
    const again = limited.createBuffer({ size: 1 << 20, usage: VERTEX }, { usage: MemoryUsage.CpuToGpu });
    made.push(again);
    for (const r of made) limited.destroyBuffer(r.buffer, r.allocation);
    expect(limited.destroy()).toEqual([]);
  });
});

describe("leak report", () => {
  test("destroying an allocator with live allocations names each, frees them and detaches their views", () => {
    const reported: unknown[] = [];
    const leaky = createAllocator(context, { onLeaks: (l) => reported.push(...l), captureStacks: true });
    const kept = leaky.createBuffer(
      { size: 3000, usage: VERTEX },
      { usage: MemoryUsage.CpuToGpu, name: "forgotten vertex buffer" },
    );
    const view = new Uint8Array(kept.allocation.map());
    leaky.createImage(
      { format: vk.VK_FORMAT_R8G8B8A8_UNORM, extent: { width: 16, height: 16 }, usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT },
      { name: "forgotten texture" },
    );
    const leaks = leaky.destroy();
    expect(leaks.map((l) => [l.name, l.kind])).toEqual([
      ["forgotten vertex buffer", "buffer"],
      ["forgotten texture", "image"],
    ]);
    expect(leaks[0].size).toBeGreaterThanOrEqual(3000);
    expect(leaks[0].stack).toMatch(/allocator\.test\.ts/);
    expect(reported).toEqual(leaks);
    expect(view.length).toBe(0); // detached: JS can no longer reach freed memory
    expect(() => kept.allocation.map()).toThrow(/destroyed/);
    expect(leaky.destroy()).toEqual([]);
  });

  test("leaks are listed oldest first, whatever slots earlier frees left for reuse", () => {
    const leaky = createAllocator(context, { onLeaks: () => {} });
    const make = (name: string) => leaky.createBuffer({ size: 256, usage: VERTEX }, { name });
    const names = ["a", "b", "c", "d", "e", "f"];
    const made = names.map(make);
    // Free every other one, then make more: the new ones take the freed slots, ahead of older live ones.
    for (const i of [4, 2, 0]) leaky.destroyBuffer(made[i].buffer, made[i].allocation);
    for (const name of ["g", "h", "i"]) make(name);
    expect(leaky.destroy().map((l) => l.name)).toEqual(["b", "d", "f", "g", "h", "i"]);
  });
});
