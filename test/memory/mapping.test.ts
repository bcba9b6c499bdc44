/**
 * Mapping on real Vulkan: reference counting as in VMA, persistent mapping, the ArrayBuffer's bytes reaching
 * the GPU (checked with a GPU copy), detaching on unmap and free, and flush/invalidate ranges.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createAllocator, MemoryUsage, VkError, type Allocator, type Context } from "../../engine/index.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";

let context: Context;
let allocator: Allocator;

const gpu = useGpuContext({ applicationName: "vkmem mapping tests" });

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context);
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

const SRC = vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
const DST = vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT;

function gpuCopy(src: unknown, dst: unknown, size: number) {
  context.submitAndWait((cmd) => {
    nvk.vkCmdCopyBuffer(cmd, src, dst, 1, [new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 0, size })]);
    const barrier = new nvk.VkMemoryBarrier({
      srcAccessMask: 0x1000 /* TRANSFER_WRITE */,
      dstAccessMask: 0x2000 /* HOST_READ */,
    });
    nvk.vkCmdPipelineBarrier(cmd, 0x1000 /* TRANSFER */, 0x4000 /* HOST */, 0, 1, [barrier], 0, null, 0, null);
  });
}

describe("map / unmap", () => {
  test("a second map gives the same memory; the last unmap detaches it", () => {
    const r = allocator.createBuffer({ size: 1000, usage: SRC }, { usage: MemoryUsage.CpuOnly });
    const first = r.allocation.map();
    const second = r.allocation.map();
    expect(second).toBe(first);
    expect(first.byteLength).toBe(r.allocationInfo.size);
    expect(r.allocation.mapCount).toBe(2);
    const bytes = new Uint8Array(first);
    bytes[999] = 7;
    r.allocation.unmap();
    expect(bytes[999]).toBe(7); // still mapped once
    expect(r.allocation.mappedData).toBe(first);
    r.allocation.unmap();
    expect(bytes.length).toBe(0); // detached
    expect(first.byteLength).toBe(0);
    expect(r.allocation.mappedData).toBeNull();
    expect(r.allocation.info.mappedData).toBeNull();
    expect(() => r.allocation.unmap()).toThrow(/not mapped/);
    // Mapping again gives a fresh ArrayBuffer over the same bytes.
    const again = new Uint8Array(r.allocation.map());
    expect(again[999]).toBe(7);
    r.allocation.unmap();
    allocator.destroyBuffer(r.buffer, r.allocation);
  });

  test("freeing a mapped allocation detaches its ArrayBuffer", () => {
    const r = allocator.createBuffer({ size: 4096, usage: SRC }, { usage: MemoryUsage.CpuOnly });
    const words = new Uint32Array(r.allocation.map());
    words.fill(0xdeadbeef);
    allocator.destroyBuffer(r.buffer, r.allocation);
    expect(words.length).toBe(0);
    expect(words[0]).toBeUndefined(); // no read of freed memory is possible
    expect(() => new Uint8Array(words.buffer, 0, 4)).toThrow(TypeError);
  });

  test("mapping device-only memory fails with VK_ERROR_MEMORY_MAP_FAILED on devices that have it", () => {
    const deviceOnly = allocator.memoryTypes.findIndex((t) => (t.propertyFlags & 0x2) === 0);
    if (deviceOnly < 0) {
      // lavapipe: every type is host-visible, so map must succeed instead.
      const r = allocator.createBuffer({ size: 64, usage: DST }, { usage: MemoryUsage.GpuOnly });
      expect(r.allocation.map().byteLength).toBe(r.allocationInfo.size);
      r.allocation.unmap();
      allocator.destroyBuffer(r.buffer, r.allocation);
      return;
    }
    const r = allocator.createBuffer(
      { size: 64, usage: DST },
      { usage: MemoryUsage.Unknown, memoryTypeBits: 1 << deviceOnly },
    );
    expect(() => r.allocation.map()).toThrow(VkError);
    allocator.destroyBuffer(r.buffer, r.allocation);
  });
});

describe("persistent mapping", () => {
  test("the mapping survives unmaps and lasts until free", () => {
    const r = allocator.createBuffer(
      { size: 512, usage: SRC },
      { usage: MemoryUsage.Auto, hostAccess: "sequentialWrite", mapped: true },
    );
    const view = r.allocationInfo.mappedData!;
    expect(view).toBeInstanceOf(ArrayBuffer);
    expect(r.allocation.persistentlyMapped).toBe(true);
    expect(r.allocation.map()).toBe(view);
    r.allocation.unmap();
    expect(view.byteLength).toBe(r.allocationInfo.size); // still mapped
    expect(r.allocation.mappedData).toBe(view);
    allocator.destroyBuffer(r.buffer, r.allocation);
    expect(view.byteLength).toBe(0);
  });

  test("bytes written through the ArrayBuffer reach the GPU (read back through a GPU copy)", () => {
    const size = 256 * 1024 + 12;
    const src = allocator.createBuffer(
      { size, usage: SRC },
      { usage: MemoryUsage.Auto, hostAccess: "sequentialWrite", mapped: true },
    );
    const dst = allocator.createBuffer({ size, usage: DST }, { usage: MemoryUsage.GpuToCpu, mapped: true });
    const data = new Uint8Array(src.allocation.mappedData!, 0, size);
    for (let i = 0; i < size; i++) data[i] = (i * 2654435761) >>> 24;
    src.allocation.flush();
    gpuCopy(src.buffer, dst.buffer, size);
    dst.allocation.invalidate();
    const back = new Uint8Array(dst.allocation.mappedData!, 0, size);
    expect(Buffer.compare(Buffer.from(back), Buffer.from(data))).toBe(0);
    allocator.destroyBuffer(src.buffer, src.allocation);
    allocator.destroyBuffer(dst.buffer, dst.allocation);
  });
});

describe("flush / invalidate", () => {
  test("ranges are widened to nonCoherentAtomSize as VMA does, and bounded", () => {
    const atom = allocator.nonCoherentAtomSize;
    expect(atom & (atom - 1)).toBe(0);
    const r = allocator.createBuffer({ size: 10_000, usage: SRC }, { usage: MemoryUsage.CpuToGpu });
    const base = r.allocationInfo.offset;
    const range = r.allocation.flush(atom + 3, 5);
    expect(range.offset).toBe(base + atom);
    expect(range.size).toBe(atom);
    const straddle = r.allocation.flush(atom - 1, 2);
    expect(straddle.offset).toBe(base);
    expect(straddle.size).toBe(2 * atom);
    const whole = r.allocation.invalidate();
    expect(whole.offset).toBe(base);
    expect(whole.size % atom === 0 || whole.offset + whole.size === r.allocation.blockSize).toBe(true);
    expect(whole.size).toBeGreaterThanOrEqual(r.allocationInfo.size);
    const nonCoherent = (r.allocation.memoryProperties & 0x6) === 0x2;
    expect(range.performed).toBe(nonCoherent);
    expect(() => r.allocation.flush(-1, 4)).toThrow(/offset/);
    expect(() => r.allocation.flush(0, r.allocationInfo.size + 1)).toThrow(/size/);
    expect(() => r.allocation.flush(r.allocationInfo.size + 1)).toThrow(
      /offset must be an integer in \[0, \d+\], got \d+/,
    );
    expect(() => r.allocation.invalidate(1.5, 3)).toThrow(RangeError);
    allocator.destroyBuffer(r.buffer, r.allocation);
  });
});
