/**
 * Flag bits a device does not allow never reach Vulkan (engine/vulkan/flag-bits.ts): buffer and image usage and
 * create flags with unknown bits, bits of an API version or extension the device does not have, or bits gated on a
 * feature that is not enabled are refused with a RangeError naming the argument and the bits, and the validation
 * layer (the fixture fails a test on any message) reports nothing: before, it reported
 * VUID-VkBufferCreateInfo-usage-parameter, VUID-VkBufferCreateInfo-flags-00915, VUID-VkImageCreateInfo-usage-parameter
 * and VUID-VkImageCreateInfo-flags-parameter. Allowed bits still pass.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createAllocator, createFrameManager, MemoryUsage, type Allocator, type Context } from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
import {
  BUFFER_CREATE_BITS,
  BUFFER_USAGE_BITS,
  DeviceFlagPolicy,
  IMAGE_CREATE_BITS,
  IMAGE_USAGE_BITS,
} from "../../engine/vulkan/flag-bits.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import { useGpuContext } from "../helpers/gpu.js";

const API_1_0 = 1 << 22;
const API_1_3 = (1 << 22) | (3 << 12);
const RGBA8 = vk.VK_FORMAT_R8G8B8A8_UNORM;
const VB = vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT;
const SAMPLED = vk.VK_IMAGE_USAGE_SAMPLED_BIT;
const SHADER_DEVICE_ADDRESS = 0x20000;

describe("the tables", () => {
  test.each([
    ["buffer usage", BUFFER_USAGE_BITS],
    ["buffer create", BUFFER_CREATE_BITS],
    ["image usage", IMAGE_USAGE_BITS],
    ["image create", IMAGE_CREATE_BITS],
  ])("%s: one bit per entry, each bit once", (_name, table) => {
    const seen = new Set<number>();
    for (const bit of table) {
      expect(bit.value > 0 && (bit.value & (bit.value - 1)) === 0).toBe(true);
      expect(seen.has(bit.value)).toBe(false);
      seen.add(bit.value);
    }
  });

  test("version, extension and feature gates", () => {
    const bare = new DeviceFlagPolicy({ apiVersion: API_1_0, extensions: [], features: {} });
    expect(bare.mask("bufferUsage", true)).toBe(0x1ff);
    expect(bare.mask("bufferCreate", false)).toBe(0);
    expect(bare.mask("imageCreate", false)).toBe(0x18);
    const v13 = new DeviceFlagPolicy({ apiVersion: API_1_3, extensions: [], features: { bufferDeviceAddress: true } });
    expect(v13.mask("bufferUsage", true) & SHADER_DEVICE_ADDRESS).toBe(SHADER_DEVICE_ADDRESS);
    expect(v13.mask("imageCreate", true)).toBe(0x18 | 0x20 | 0x40 | 0x80 | 0x100 | 0x400);
    // An extension enables a 1.1 bit on Vulkan 1.0; a feature-gated bit needs its feature as well.
    const ext = new DeviceFlagPolicy({
      apiVersion: API_1_0,
      extensions: ["VK_KHR_maintenance2", "VK_KHR_buffer_device_address"],
      features: {},
    });
    expect(ext.mask("imageCreate", true) & 0x180).toBe(0x180);
    expect(ext.mask("bufferUsage", true) & SHADER_DEVICE_ADDRESS).toBe(0);
    // Sparse: allowed by the features, but never to vmaCreate* (VMA binds one VkDeviceMemory).
    const sparse = new DeviceFlagPolicy({
      apiVersion: API_1_3,
      extensions: [],
      features: { sparseBinding: true, sparseResidencyBuffer: true },
    });
    expect(sparse.mask("bufferCreate", false)).toBe(0x3);
    expect(sparse.mask("bufferCreate", true)).toBe(0);
    expect(() => sparse.check(0x1, "bufferCreate", true, "createBuffer", "bufferInfo.flags")).toThrow(
      /SPARSE_BINDING: VMA binds one VkDeviceMemory/,
    );
    expect(() => bare.check(0x80000000, "imageUsage", false, "op", "x")).toThrow(
      new RangeError(
        "op: x has bits 0x80000000 that this device does not allow (0x80000000 is not a VkImageUsageFlags bit), got 2147483648",
      ),
    );
  });
});

describe("on the device", () => {
  const gpu = useGpuContext({ applicationName: "vkmem flag bits tests" });
  let context: Context;
  let allocator: Allocator;
  beforeAll(() => {
    context = gpu.context;
    allocator = createAllocator(context, { label: "flag bits" });
  });
  afterAll(() => {
    expect(allocator.destroy()).toEqual([]);
  });

  test("buffer usage 0xffffffff and flags 7 are refused before Vulkan, naming the bits", () => {
    expect(() => allocator.createBuffer({ size: 256, usage: 0xffffffff })).toThrow(RangeError);
    expect(() => allocator.createBuffer({ size: 256, usage: 0xffffffff })).toThrow(
      /^createBuffer: bufferInfo\.usage has bits 0x[0-9a-f]+ that this device does not allow \(0x[0-9a-f]+ are not VkBufferUsageFlags bits; CONDITIONAL_RENDERING_EXT needs VK_EXT_conditional_rendering; .*\), got 4294967295$/,
    );
    expect(() => allocator.createBuffer({ size: 256, usage: VB, flags: 7 })).toThrow(
      /createBuffer: bufferInfo\.flags has bits 0x7 that this device does not allow \(SPARSE_BINDING needs feature sparseBinding; SPARSE_RESIDENCY needs feature sparseBinding and feature sparseResidencyBuffer; SPARSE_ALIASED needs .*\), got 7/,
    );
    expect(() => allocator.createBuffer({ size: 256, usage: VB, flags: 0x8 })).toThrow(
      /PROTECTED needs feature protectedMemory/,
    );
    expect(() => allocator.createBuffer({ size: 256, usage: VB | 0x200000 })).toThrow(
      /bits 0x200000 .*SAMPLER_DESCRIPTOR_BUFFER_EXT needs VK_EXT_descriptor_buffer/,
    );
    expect(() => allocator.createBuffer({ size: 256, usage: VB | 0x100000 })).toThrow(
      /ACCELERATION_STRUCTURE_STORAGE_KHR needs VK_KHR_acceleration_structure/,
    );
    expect(() => allocator.findMemoryTypeIndexForBufferInfo({ size: 256, usage: 0x80000000 })).toThrow(
      /findMemoryTypeIndexForBufferInfo: bufferInfo\.usage has bits 0x80000000/,
    );
    expect(() => allocator.createPool({ forBuffer: { size: 256, usage: VB | 0x8000000 } })).toThrow(
      /createPool: target\.forBuffer\.usage has bits 0x8000000/,
    );
    expect(allocator.allocationCount).toBe(0);
  });

  test("unknown image usage and create flags are refused before Vulkan", () => {
    const image = (usage: number, flags = 0) => ({ format: RGBA8, extent: { width: 16, height: 16 }, usage, flags });
    expect(() => allocator.createImage(image(SAMPLED | 0x10000))).toThrow(
      /createImage: imageInfo\.usage has bits 0x10000 that this device does not allow \(0x10000 is not a VkImageUsageFlags bit\)/,
    );
    expect(() => allocator.createImage(image(0xffffffff))).toThrow(RangeError);
    expect(() => allocator.createImage(image(SAMPLED | 0x200))).toThrow(
      /FRAGMENT_DENSITY_MAP_EXT needs VK_EXT_fragment_density_map/,
    );
    expect(() => allocator.createImage(image(SAMPLED, 0x80000000))).toThrow(
      /imageInfo\.flags has bits 0x80000000 .*not a VkImageCreateFlags bit/,
    );
    expect(() => allocator.createImage(image(SAMPLED, 0x1))).toThrow(
      /imageInfo\.flags has bits 0x1 .*SPARSE_BINDING needs feature sparseBinding/,
    );
    expect(() => allocator.createImage(image(SAMPLED, 0x800))).toThrow(/PROTECTED needs feature protectedMemory/);
    // DISJOINT is Vulkan 1.1, but an image with it takes memory per plane: vmaCreateImage cannot bind it.
    expect(() => allocator.createImage(image(SAMPLED, 0x200))).toThrow(/DISJOINT: VMA binds one VkDeviceMemory/);
    expect(() => allocator.findMemoryTypeIndexForImageInfo(image(SAMPLED, 0x4000))).toThrow(
      /SUBSAMPLED_EXT needs VK_EXT_fragment_density_map/,
    );
    expect(allocator.allocationCount).toBe(0);
  });

  test("through a FrameManager too", () => {
    const frames = createFrameManager(context, allocator, { label: "flag frames" });
    expect(() => frames.createBuffer({ label: "bad", size: 64, usage: 0x7fffffff })).toThrow(
      /usage has bits 0x[0-9a-f]+ that this device does not allow/,
    );
    expect(() =>
      frames.createTexture({ label: "bad", width: 4, height: 4, format: RGBA8, usage: SAMPLED | 0x10000 }),
    ).toThrow(/usage has bits 0x10000/);
    frames.destroy();
  });

  test("endFrame's waitStages: stages of features the device did not enable, and unknown bits, are refused", () => {
    const frames = createFrameManager(context, allocator, { label: "stage frames" });
    const semaphore = new nvk.VkSemaphore();
    expect(nvk.vkCreateSemaphore(context.device, new nvk.VkSemaphoreCreateInfo(), null, semaphore)).toBe(0);
    frames.beginFrame();
    frames.endFrame({ signalSemaphores: [semaphore] });
    frames.beginFrame();
    // The Context enables no geometryShader feature: VUID-vkQueueSubmit-pWaitDstStageMask-04090 before.
    expect(() => frames.endFrame({ waitSemaphores: [semaphore], waitStages: [0x40] })).toThrow(
      /endFrame: option 'waitStages\[0\]' has bits 0x40 that this device does not allow \(GEOMETRY_SHADER needs feature geometryShader\), got 64/,
    );
    expect(() => frames.endFrame({ waitSemaphores: [semaphore], waitStages: [0x4000000] })).toThrow(
      /0x4000000 is not a VkPipelineStageFlags bit/,
    );
    // The frame is still being recorded: a good call ends it.
    frames.endFrame({ waitSemaphores: [semaphore], waitStages: [0x1000 | 0x800] });
    frames.waitIdle();
    nvk.vkDestroySemaphore(context.device, semaphore, null);
    frames.destroy();
  });

  test("allowed bits pass: core bits, Vulkan 1.1 create flags, SHADER_DEVICE_ADDRESS with the feature", () => {
    const b = allocator.createBuffer({ size: 256, usage: 0x1ff });
    allocator.destroyBuffer(b.buffer, b.allocation);
    const cube = allocator.createImage({
      format: RGBA8,
      extent: { width: 16, height: 16 },
      arrayLayers: 6,
      usage: SAMPLED,
      flags: 0x10 | 0x8 | 0x100,
    });
    allocator.destroyImage(cube.image, cube.allocation);
    const alias = allocator.createImage(
      { format: RGBA8, extent: { width: 16, height: 16 }, usage: SAMPLED, flags: 0x400 },
      { usage: MemoryUsage.GpuOnly },
    );
    allocator.destroyImage(alias.image, alias.allocation);
    if (context.features.bufferDeviceAddress) {
      const bda = allocator.createBuffer({ size: 256, usage: VB | SHADER_DEVICE_ADDRESS });
      allocator.destroyBuffer(bda.buffer, bda.allocation);
    }
    // A query may name a sparse description where the device allows sparse; lavapipe's Context enables no sparse feature.
    expect(() => allocator.findMemoryTypeIndexForBufferInfo({ size: 256, usage: VB, flags: 1 })).toThrow(
      /needs feature sparseBinding/,
    );
  });

  test("raw handles: the version and features given decide (Vulkan 1.0, no features: 1.1 bits and device addresses refused)", () => {
    const raw = createAllocator(
      {
        instance: context.instance,
        physicalDevice: context.physicalDevice,
        device: context.device,
        vulkanApiVersion: API_1_0,
      },
      { label: "raw 1.0" },
    );
    expect(() =>
      raw.createImage({ format: RGBA8, extent: { width: 4, height: 4 }, usage: SAMPLED, flags: 0x100 }),
    ).toThrow(/EXTENDED_USAGE needs Vulkan 1\.1 or VK_KHR_maintenance2/);
    expect(() => raw.createBuffer({ size: 64, usage: VB | SHADER_DEVICE_ADDRESS })).toThrow(
      /SHADER_DEVICE_ADDRESS needs Vulkan 1\.2 or VK_KHR_buffer_device_address or VK_EXT_buffer_device_address and feature bufferDeviceAddress/,
    );
    const ok = raw.createBuffer({ size: 64, usage: VB });
    raw.destroyBuffer(ok.buffer, ok.allocation);
    expect(raw.destroy()).toEqual([]);
  });
});
