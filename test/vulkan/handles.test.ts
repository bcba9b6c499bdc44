import { describe, expect, it } from "vitest";
import { isNvkHandle, rawHandle, wrapHandle, type NvkHandle } from "../../engine/vulkan/handles.js";
import { addressOf, nvk } from "../../engine/vulkan/nvk.js";
import { useGpuContext } from "../helpers/gpu.js";
import { createAllocator, MemoryUsage } from "../../engine/index.js";

describe("raw handles", () => {
  const gpu = useGpuContext();

  function createBuffer(out: NvkHandle, size: number): void {
    const info = new nvk.VkBufferCreateInfo({ size, usage: nvk.VK_BUFFER_USAGE_TRANSFER_DST_BIT });
    expect(nvk.vkCreateBuffer(gpu.context.device, info, null, out)).toBe(0);
  }

  it("rawHandle reads the value nvk stores; wrapHandle makes an object nvk takes for its own", () => {
    const buffer = new nvk.VkBuffer();
    createBuffer(buffer, 4096);
    const raw = rawHandle(buffer);
    expect(raw).not.toBe(0n);
    expect(raw).toBe(new BigUint64Array(buffer.memoryBuffer)[0]);

    const wrapped = wrapHandle(nvk.VkBuffer, raw);
    expect(isNvkHandle(wrapped, "VkBuffer")).toBe(true);
    expect(wrapped).toBeInstanceOf(nvk.VkBuffer);
    expect(wrapped.constructor).toBe(nvk.VkBuffer);
    expect(rawHandle(wrapped)).toBe(raw);
    expect(wrapped.memoryAddress).toBe(addressOf(wrapped.memoryBuffer));
    expect(wrapped.memoryOffset).toBe(0);

    // As a function argument (native reads memoryBuffer).
    const requirements = new nvk.VkMemoryRequirements();
    nvk.vkGetBufferMemoryRequirements(gpu.context.device, wrapped, requirements);
    expect(requirements.size).toBe(4096n);
    // As a struct member (nvk's setter copies memoryView).
    const descriptor = new nvk.VkDescriptorBufferInfo({ buffer: wrapped, offset: 0, range: 16 });
    expect(descriptor.memoryView.getBigUint64(0, true)).toBe(raw);
    // Destroyed through the wrapper: the validation layer would report a wrong or leaked handle.
    nvk.vkDestroyBuffer(gpu.context.device, wrapped, null);
  });

  it("a wrapped null handle receives vkCreate* output", () => {
    const out = wrapHandle(nvk.VkBuffer, 0n);
    createBuffer(out, 64);
    const raw = rawHandle(out);
    expect(raw).not.toBe(0n);
    nvk.vkDestroyBuffer(gpu.context.device, wrapHandle(nvk.VkBuffer, raw), null);
  });

  it("wrapped handles work in handle arrays (vkFreeCommandBuffers)", () => {
    const { device, commandPool } = gpu.context;
    const cmd = new nvk.VkCommandBuffer();
    const info = new nvk.VkCommandBufferAllocateInfo({
      commandPool,
      level: nvk.VK_COMMAND_BUFFER_LEVEL_PRIMARY,
      commandBufferCount: 1,
    });
    expect(nvk.vkAllocateCommandBuffers(device, info, [cmd])).toBe(0);
    nvk.vkFreeCommandBuffers(device, commandPool, 1, [wrapHandle(nvk.VkCommandBuffer, rawHandle(cmd))]);
  });

  it("the allocator's handle objects read as VK_NULL_HANDLE through every field once destroyed, after reuse too", () => {
    const allocator = createAllocator(gpu.context);
    try {
      const info = { size: 256, usage: nvk.VK_BUFFER_USAGE_TRANSFER_DST_BIT };
      const first = allocator.createBuffer(info, { usage: MemoryUsage.Auto });
      const stale = first.buffer;
      const raw = rawHandle(stale);
      expect(raw).not.toBe(0n);
      const view = stale.memoryView;
      expect(view.getBigUint64(0, true)).toBe(raw);
      expect(stale.memoryAddress).toBe(addressOf(stale.memoryBuffer));
      expect(new nvk.VkDescriptorBufferInfo({ buffer: stale, range: 16 }).memoryView.getBigUint64(0, true)).toBe(raw);
      // Read from the object's cell, never stored on the object: recycling has nothing to undo there.
      expect(Object.hasOwn(stale, "memoryView") || Object.hasOwn(stale, "memoryAddress")).toBe(false);
      expect(() => {
        (stale as { memoryView: DataView }).memoryView = new DataView(new ArrayBuffer(8));
      }).toThrow(/^memoryView of a VkBuffer that vkmem made is read-only, got DataView/);
      expect(stale.memoryView).toBe(view);

      allocator.destroyBuffer(first.buffer, first.allocation);
      const second = allocator.createBuffer(info, { usage: MemoryUsage.Auto });
      // The new object holds the freed cell (its DataView is the cell's) and names the new buffer ...
      expect(second.buffer.memoryView).toBe(view);
      expect(rawHandle(second.buffer)).toBe(view.getBigUint64(0, true));
      // ... while the stale object reads as the null handle whichever field nvk or the app reads.
      expect(rawHandle(stale)).toBe(0n);
      expect(new BigUint64Array(stale.memoryBuffer)[0]).toBe(0n);
      expect(stale.memoryView.getBigUint64(0, true)).toBe(0n);
      expect(stale.memoryAddress).toBe(addressOf(stale.memoryBuffer));
      expect(stale.memoryAddress).not.toBe(second.buffer.memoryAddress);
      expect(new nvk.VkDescriptorBufferInfo({ buffer: stale, range: 16 }).memoryView.getBigUint64(0, true)).toBe(0n);
      allocator.destroyBuffer(second.buffer, second.allocation);
    } finally {
      allocator.destroy();
    }
  });

  it("recognises handle objects and nothing else", () => {
    expect(isNvkHandle(gpu.context.device)).toBe(true);
    expect(isNvkHandle(gpu.context.device, "VkDevice")).toBe(true);
    expect(isNvkHandle(gpu.context.device, "VkBuffer")).toBe(false);
    expect(isNvkHandle(new nvk.VkExtent2D())).toBe(false); // an 8-byte struct, not a handle
    expect(isNvkHandle({ memoryBuffer: new ArrayBuffer(8) })).toBe(false);
    expect(isNvkHandle(null)).toBe(false);
    expect(() => isNvkHandle(gpu.context.device, "VkNope")).toThrow(
      /className must name an nvk handle class, got "VkNope"/,
    );
  });

  it("rejects bad arguments with exact errors", () => {
    expect(() => rawHandle({} as never)).toThrow(TypeError);
    expect(() => wrapHandle(nvk.VkExtent2D, 1n)).toThrow(/cls must be an nvk handle class/);
    expect(() => wrapHandle(nvk.VkBuffer, 1 as never)).toThrow(/raw must be a BigInt, got 1/);
    expect(() => wrapHandle(nvk.VkBuffer, -1n)).toThrow(RangeError);
    expect(() => wrapHandle(nvk.VkBuffer, 1n << 64n)).toThrow(/got 18446744073709551616n/);
    expect(rawHandle(wrapHandle(nvk.VkBuffer, (1n << 64n) - 1n))).toBe((1n << 64n) - 1n);
  });
});
