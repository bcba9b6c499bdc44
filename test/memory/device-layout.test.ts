/**
 * The memory the GPU tests run against. In the `device` project: the device as it is (on lavapipe, every type host-visible). In the
 * `discrete-memory` project (vitest.config.ts): the test layer's discrete GPU (test/native/discrete_memory_layer.cpp),
 * checked here to be what the other tests of that run meet: the H200's heaps and types, the memoryTypeBits it gives
 * buffers and optimal images, a map of device memory refused, VK_EXT_memory_budget, and VMA choosing for each intent
 * what it chose there.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createAllocator, MemoryUsage, type Allocator } from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import { testLayers, useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem device layout" });
let allocator: Allocator;

beforeAll(() => {
  allocator = createAllocator(gpu.context, { label: "layout" });
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

const DL = vk.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
const HV = vk.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
const HC = vk.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
const CACHED = vk.VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
const SRC = vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
const IMAGE = {
  format: vk.VK_FORMAT_R8G8B8A8_UNORM,
  extent: { width: 16, height: 16 },
  usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
};
const simulated = testLayers.includes("VK_LAYER_VKMEM_discrete_memory");

describe.runIf(simulated)("a discrete GPU's memory (VK_LAYER_VKMEM_discrete_memory)", () => {
  test("two heaps and the H200's five memory types", () => {
    expect(allocator.memoryHeaps.map((h) => h.flags)).toEqual([1 /* VK_MEMORY_HEAP_DEVICE_LOCAL_BIT */, 0]);
    expect(allocator.memoryTypes).toEqual([
      { propertyFlags: 0, heapIndex: 1 },
      { propertyFlags: DL, heapIndex: 0 },
      { propertyFlags: HV | HC, heapIndex: 1 },
      { propertyFlags: HV | HC | CACHED, heapIndex: 1 },
      { propertyFlags: DL | HV | HC, heapIndex: 0 },
    ]);
  });

  test("VK_EXT_memory_budget is offered, as the H200's driver does: usage follows what the process holds", () => {
    expect(gpu.context.enabledDeviceExtensions.has("VK_EXT_memory_budget")).toBe(true);
    const before = allocator.getHeapBudgets();
    const big = allocator.createBuffer({ size: 64 << 20, usage: SRC }, { usage: MemoryUsage.GpuOnly });
    const after = allocator.getHeapBudgets();
    const heap = allocator.memoryTypes[big.allocation.memoryType]!.heapIndex;
    expect(after[heap]!.usage - before[heap]!.usage).toBeGreaterThanOrEqual(64 << 20);
    expect(after[heap]!.budget).toBe(allocator.memoryHeaps[heap]!.size - allocator.memoryHeaps[heap]!.size / 16);
    allocator.destroyBuffer(big.buffer, big.allocation);
  });

  test("VMA chooses what it chose on the H200 for each intent", () => {
    const forBuffer = (o: object) => allocator.findMemoryTypeIndexForBufferInfo({ size: 4096, usage: SRC }, o);
    expect(forBuffer({ usage: MemoryUsage.GpuOnly })).toBe(1);
    expect(forBuffer({ usage: MemoryUsage.CpuOnly })).toBe(2);
    expect(forBuffer({ usage: MemoryUsage.CpuToGpu })).toBe(4);
    expect(forBuffer({ usage: MemoryUsage.GpuToCpu })).toBe(3);
    expect(forBuffer({ usage: MemoryUsage.CpuCopy })).toBe(0);
    expect(forBuffer({})).toBe(1);
    expect(forBuffer({ hostAccess: "sequentialWrite", mapped: true })).toBe(2);
    expect(forBuffer({ hostAccess: "random" })).toBe(3);
    expect(forBuffer({ usage: MemoryUsage.AutoPreferHost })).toBe(0);
    // Optimal images take only the two types without HOST_VISIBLE: asking for host access finds none.
    expect(allocator.findMemoryTypeIndexForImageInfo(IMAGE)).toBe(1);
    expect(() => allocator.findMemoryTypeIndexForImageInfo(IMAGE, { requiredFlags: HV })).toThrow(
      /VK_ERROR_FEATURE_NOT_PRESENT/,
    );
  });

  test("device memory is refused to the CPU, and host-visible memory round-trips through a GPU copy", () => {
    const device = allocator.allocateMemory({ size: 4096, alignment: 256, memoryTypeBits: 1 << 1 }, { name: "vram" });
    expect(device.memoryType).toBe(1);
    expect(() => device.map()).toThrow(/memory type 1 is not HOST_VISIBLE/);
    allocator.freeMemory(device);
    const src = allocator.createBuffer({ size: 4096, usage: SRC }, { hostAccess: "sequentialWrite", mapped: true });
    const dst = allocator.createBuffer(
      { size: 4096, usage: vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
      { hostAccess: "random", mapped: true },
    );
    expect([src.allocation.memoryType, dst.allocation.memoryType]).toEqual([2, 3]);
    new Uint32Array(src.allocation.mappedData!).fill(0xc0ffee);
    gpu.context.submitAndWait((cmd) => {
      nvk.vkCmdCopyBuffer(cmd, src.buffer, dst.buffer, 1, [
        new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 0, size: 4096 }),
      ]);
    });
    dst.allocation.invalidate();
    expect(new Uint32Array(dst.allocation.mappedData!).every((w) => w === 0xc0ffee)).toBe(true);
    allocator.destroyBuffer(src.buffer, src.allocation);
    allocator.destroyBuffer(dst.buffer, dst.allocation);
  });
});

describe.runIf(!simulated)("the device as it is", () => {
  test("every memory type the suite's lavapipe runs on is host-visible (the case the other project covers)", () => {
    expect(allocator.memoryTypes.length).toBeGreaterThan(0);
    const name = gpu.context.deviceName;
    if (/llvmpipe/.test(name)) expect(allocator.memoryTypes.every((t) => (t.propertyFlags & HV) !== 0)).toBe(true);
  });
});
