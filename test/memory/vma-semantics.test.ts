/**
 * Where vkmem's API mirrors VMA's, it keeps VMA's documented meaning (reference: VMA-NOTES.md and vk_mem_alloc.h):
 * a virtual allocation's alignment 0 means 1, a virtual allocation larger than the whole block is
 * VK_ERROR_OUT_OF_DEVICE_MEMORY (not bad input), vmaVirtualFree(VK_NULL_HANDLE) does nothing,
 * vmaCheckCorruption's memoryTypeBits 0xFFFFFFFF means every memory type, and a TextureStreamer under a heap size
 * limit below its budget fits itself to the limit instead of refusing to start.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  createTextureStreamer,
  createVirtualBlock,
  OutOfDeviceMemoryError,
  type Allocator,
  type Context,
  type VirtualBlockAlgorithm,
} from "../../engine/index.js";
import { useGpuContext } from "../helpers/gpu.js";

const MiB = 2 ** 20;
const ALGORITHMS: VirtualBlockAlgorithm[] = ["tlsf", "linear", "buddy"];

describe.each(ALGORITHMS)("virtual block (%s)", (algorithm) => {
  test("alignment 0 means 1, in allocate and allocateOffset", () => {
    const zero = createVirtualBlock({ size: MiB, algorithm });
    const one = createVirtualBlock({ size: MiB, algorithm });
    for (const size of [3, 17, 100, 5]) {
      const a = zero.allocate(size, { alignment: 0 });
      const b = one.allocate(size, { alignment: 1 });
      expect(a.offset).toBe(b.offset);
      expect(zero.allocateOffset(size, 0)).toBe(one.allocateOffset(size, 1));
    }
    expect(zero.statistics()).toEqual(one.statistics());
    zero.clear();
    one.clear();
    zero.destroy();
    one.destroy();
  });

  test("larger than the whole block: OutOfDeviceMemoryError from allocate, -1 from allocateOffset; the block is untouched", () => {
    const block = createVirtualBlock({ size: MiB, algorithm });
    const keep = block.allocate(64, { userData: 5 });
    expect(() => block.allocate(MiB + 1)).toThrow(OutOfDeviceMemoryError);
    expect(() => block.allocate(MiB + 1)).toThrow(/VK_ERROR_OUT_OF_DEVICE_MEMORY/);
    expect(() => block.allocate(2 ** 52, { alignment: 0 })).toThrow(OutOfDeviceMemoryError);
    expect(block.allocateOffset(MiB + 1)).toBe(-1);
    expect(block.allocateOffset(2 ** 40, 16)).toBe(-1);
    expect(block.statistics()).toMatchObject({ allocationCount: 1, allocationBytes: 64 });
    expect(block.getAllocationInfo(keep)).toMatchObject({ offset: keep.offset, size: 64, userData: 5 });
    // The whole block still fits once it is free.
    block.free(keep);
    const all = block.allocate(MiB);
    expect(all.offset).toBe(0);
    block.free(all);
    block.destroy();
  });

  test("freeing null (or the null handle 0) does nothing, as vmaVirtualFree(VK_NULL_HANDLE)", () => {
    const block = createVirtualBlock({ size: MiB, algorithm });
    const a = block.allocate(128);
    block.free(null);
    block.free(undefined);
    block.freeHandle(0);
    expect(block.statistics()).toMatchObject({ allocationCount: 1, allocationBytes: 128 });
    block.free(a);
    expect(block.statistics().allocationCount).toBe(0);
    block.destroy();
  });
});

describe("on the GPU", () => {
  const gpu = useGpuContext({ applicationName: "vkmem VMA semantics tests" });
  let context: Context;
  let allocator: Allocator;
  beforeAll(() => {
    context = gpu.context;
    allocator = createAllocator(context, { label: "vma semantics" });
  });
  afterAll(() => {
    expect(allocator.destroy()).toEqual([]);
  });

  test("checkCorruption(0xFFFFFFFF) checks every memory type, as vmaCheckCorruption's mask does", () => {
    const all = allocator.checkCorruption(0xffffffff);
    expect(all).toEqual(allocator.checkCorruption());
    expect(all).toEqual(allocator.checkCorruption(2 ** allocator.memoryTypes.length - 1));
    // Bits beyond the device's memory types are ignored, as in VMA; a mask naming none of them is still refused.
    expect(allocator.checkCorruption(0x80000001)).toEqual(allocator.checkCorruption(1));
    expect(() => allocator.checkCorruption(0)).toThrow(RangeError);
  });

  test("a TextureStreamer whose budget is above the heap size limit fits itself to the limit", () => {
    const limit = 16 * MiB;
    const limited = createAllocator(context, {
      label: "limited",
      heapSizeLimits: allocator.memoryHeaps.map(() => limit),
    });
    const frames = createFrameManager(context, limited, { label: "limited frames" });
    const streamer = createTextureStreamer(frames, { label: "fitted", budgetBytes: 256 * MiB });
    expect(streamer.budgetBytes).toBeGreaterThan(0);
    expect(streamer.budgetBytes).toBeLessThanOrEqual(limit);
    expect(streamer.blockSize).toBeLessThanOrEqual(limit);
    expect(streamer.tailBudgetBytes + streamer.blockSize).toBeLessThanOrEqual(streamer.budgetBytes);
    streamer.destroy();
    frames.destroy();
    expect(limited.destroy()).toEqual([]);
  });
});
