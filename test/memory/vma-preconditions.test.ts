/**
 * VMA's preconditions (issue 10, items 4 and 8): every VMA_ASSERT reachable from the public API is checked in TS
 * first and refused with a typed error naming the option; VMA's assert record is per native call, so an error never
 * carries an earlier call's message; an assert that still fires (provoked here by calling the addon directly, past
 * the TS checks) is a VmaAssertionError with this call's message, and native state follows what VMA did (nothing
 * left mapped, nothing leaked: no "not unmapped before destruction" later).
 * Raw memory (allocateMemory*) works with default options and honours minAlignment.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  createAllocator,
  MemoryUsage,
  VkError,
  VmaAssertionError,
  type Allocator,
  type Context,
} from "../../engine/index.js";
import { encodeAllocationOptions } from "../../engine/memory/usage.js";
import { native, scratch } from "../../engine/native.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";

let context: Context;
let allocator: Allocator;

const gpu = useGpuContext({ applicationName: "vkmem VMA precondition tests" });

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "preconditions" });
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

const SRC = vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
const KiB = 1024;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

/** Destroys `a` with warnings captured: the VMA messages and leak reports its destruction produced. */
function destroyQuietly(a: Allocator): { reports: unknown[]; warnings: string[] } {
  const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
  try {
    const reports = a.destroy();
    return { reports, warnings: warn.mock.calls.map((c) => String(c[0])) };
  } finally {
    warn.mockRestore();
  }
}

describe("preconditions checked before VMA sees them", () => {
  test("raw memory refuses an Auto usage, naming allocationOptions.usage", () => {
    const req = { size: 4 * KiB, alignment: 256, memoryTypeBits: 0xffffffff };
    for (const usage of [MemoryUsage.Auto, MemoryUsage.AutoPreferDevice, MemoryUsage.AutoPreferHost]) {
      const e = thrown(() => allocator.allocateMemory(req, { usage }));
      expect(e).toBeInstanceOf(RangeError);
      expect((e as Error).message).toMatch(
        /^allocateMemory: allocationOptions\.usage cannot be an Auto usage for raw memory.*got \d$/,
      );
    }
    const buffer = new nvk.VkBuffer();
    expect(
      nvk.vkCreateBuffer(
        context.device,
        new nvk.VkBufferCreateInfo({ size: 256, usage: SRC, sharingMode: 0 }),
        null,
        buffer,
      ),
    ).toBe(0);
    expect(() => allocator.allocateMemoryForBuffer(buffer, { usage: MemoryUsage.Auto })).toThrow(
      /allocateMemoryForBuffer: allocationOptions\.usage cannot be an Auto usage for raw memory/,
    );
    nvk.vkDestroyBuffer(context.device, buffer, null);
    expect(native.takeVmaMessages()).toEqual([]);
    expect(allocator.allocationCount).toBe(0);
  });

  test("mapped with an Auto usage needs hostAccess, naming allocationOptions.mapped; nothing is allocated", () => {
    const before = allocator.allocationCount;
    const e = thrown(() => allocator.createBuffer({ size: 256, usage: SRC }, { mapped: true, name: "no-host-access" }));
    expect(e).toBeInstanceOf(RangeError);
    expect((e as Error).message).toMatch(
      /^createBuffer: allocationOptions\.mapped needs hostAccess 'sequentialWrite' or 'random' with an Auto usage/,
    );
    expect(allocator.allocationCount).toBe(before);
    // The next call is not handed an earlier call's message.
    const ok = allocator.createBuffer({ size: 256, usage: SRC }, { mapped: true, hostAccess: "sequentialWrite" });
    expect(ok.allocation.mappedData!.byteLength).toBe(256);
    allocator.destroyBuffer(ok.buffer, ok.allocation);
    expect(native.takeVmaMessages()).toEqual([]);
  });

  test("map() of an allocation made without host access is a TypeError naming hostAccess, and changes nothing", () => {
    const r = allocator.createBuffer({ size: 256, usage: SRC }, { name: "device-only" });
    const e = thrown(() => r.allocation.map());
    expect(e).toBeInstanceOf(TypeError);
    expect((e as Error).message).toMatch(
      /^Allocation 'device-only'\.map\(\): it was created with an Auto usage and no hostAccess.*allocationOptions\.hostAccess/,
    );
    expect(r.allocation.mapCount).toBe(0);
    allocator.destroyBuffer(r.buffer, r.allocation);
    expect(native.takeVmaMessages()).toEqual([]);
  });

  test("VMA's 255 maps per allocation: the next map() is a RangeError, and every map is undone on free", () => {
    const r = allocator.createBuffer({ size: 64, usage: SRC }, { usage: MemoryUsage.CpuOnly, name: "mapped-a-lot" });
    for (let i = 0; i < 255; i++) r.allocation.map();
    const e = thrown(() => r.allocation.map());
    expect(e).toBeInstanceOf(RangeError);
    expect((e as Error).message).toMatch(/^Allocation 'mapped-a-lot'\.map\(\): it is mapped 255 times already/);
    expect(r.allocation.mapCount).toBe(255);
    const p = allocator.createBuffer(
      { size: 64, usage: SRC },
      { usage: MemoryUsage.CpuOnly, mapped: true, name: "persistent" },
    );
    for (let i = 0; i < 254; i++) p.allocation.map();
    expect(() => p.allocation.map()).toThrow(
      /it is mapped 254 times already, VMA's limit beside the persistent mapping/,
    );
    allocator.destroyBuffer(r.buffer, r.allocation);
    allocator.destroyBuffer(p.buffer, p.allocation);
    expect(native.takeVmaMessages()).toEqual([]);
  });

  test("SHADER_DEVICE_ADDRESS on an allocator made without bufferDeviceAddress is a RangeError naming bufferInfo.usage", () => {
    const plain = createAllocator({
      instance: context.instance,
      physicalDevice: context.physicalDevice,
      device: context.device,
      apiVersion: context.apiVersion,
    });
    expect(plain.flags & 0x20).toBe(0);
    // Passed no extensions, the allocator has buffer device address from the core version alone: Vulkan 1.2 and later
    // (Linux here) lack only the feature; Vulkan 1.1 (nvk's loader on Windows) lacks the version or an extension too.
    const needs =
      context.apiVersion >= vk.makeApiVersion(1, 2)
        ? "SHADER_DEVICE_ADDRESS needs feature bufferDeviceAddress"
        : "SHADER_DEVICE_ADDRESS needs Vulkan 1.2 or VK_KHR_buffer_device_address or VK_EXT_buffer_device_address and feature bufferDeviceAddress";
    expect(() => plain.createBuffer({ size: 256, usage: SRC | vk.VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT })).toThrow(
      new RangeError(
        `createBuffer: bufferInfo.usage has bits 0x20000 that this device does not allow (${needs}), got 131073`,
      ),
    );
    expect(native.takeVmaMessages()).toEqual([]);
    expect(destroyQuietly(plain)).toEqual({ reports: [], warnings: [] });
  });

  test("upperAddress in a linear pool used as a ring buffer: a RangeError naming upperAddress, nothing allocated", () => {
    const type = allocator.memoryTypes.findIndex((t) => (t.propertyFlags & 0x2) !== 0);
    const pool = allocator.createPool(
      { memoryTypeIndex: type },
      { algorithm: "linear", blockSize: 4096, maxBlockCount: 1, minBlockCount: 1 },
    );
    const req = { size: 1024, alignment: 1, memoryTypeBits: 1 << type };
    const [x, y, z] = [0, 1, 2].map(() => allocator.allocateMemory(req, { pool }));
    allocator.freeMemory(x);
    const w = allocator.allocateMemory(req, { pool });
    const wrapped = allocator.allocateMemory(req, { pool }); // at offset 0 again: the pool is a ring buffer now
    expect(wrapped.offset).toBe(0);
    const e = thrown(() => allocator.allocateMemory({ ...req, size: 16 }, { pool, upperAddress: true }));
    expect(e).toBeInstanceOf(RangeError);
    expect((e as Error).message).toMatch(
      /vmaAllocateMemory: allocationOptions\.upperAddress cannot be used while the linear pool is in use as a ring buffer/,
    );
    expect(pool.getStatistics().allocationCount).toBe(4);
    expect(native.takeVmaMessages()).toEqual([]);
    for (const a of [y, z, w, wrapped]) allocator.freeMemory(a);
    pool.destroy();
  });

  test.skipIf(process.platform === "win32")(
    "the Win32 external memory allocator flag is refused off Windows, naming options.flags",
    () => {
      expect(() => createAllocator(context, { flags: 0x200 })).toThrow(
        /createAllocator: options\.flags has KHR_EXTERNAL_MEMORY_WIN32 \(0x200\)/,
      );
      expect(native.takeVmaMessages()).toEqual([]);
    },
  );
});

describe("raw memory (issue 10, item 8)", () => {
  test("allocateMemory(requirements) with default options: GpuOnly (device-local preferred), not refused", () => {
    const a = allocator.allocateMemory({ size: 4 * KiB, alignment: 256, memoryTypeBits: 0xffffffff });
    expect(a.size).toBeGreaterThanOrEqual(4 * KiB);
    const deviceLocal = allocator.memoryTypes.some((t) => (t.propertyFlags & 0x1) !== 0);
    if (deviceLocal) expect(a.memoryProperties & 0x1).toBe(0x1);
    // Non-Auto usages allow mapping in VMA: raw memory in a host-visible type maps.
    if ((a.memoryProperties & 0x2) !== 0) {
      expect(a.map().byteLength).toBe(a.size);
      a.unmap();
    }
    allocator.freeMemory(a);
    const b = allocator.allocateMemory(
      { size: 4 * KiB, alignment: 256, memoryTypeBits: 0xffffffff },
      { hostAccess: "sequentialWrite" },
    );
    expect(b.memoryProperties & 0x2).toBe(0x2);
    new Uint8Array(b.map()).fill(1);
    b.unmap();
    allocator.freeMemory(b);
    expect(native.takeVmaMessages()).toEqual([]);
  });

  test("allocateMemoryForBuffer / ForImage with default options", () => {
    const buffer = new nvk.VkBuffer();
    expect(
      nvk.vkCreateBuffer(
        context.device,
        new nvk.VkBufferCreateInfo({ size: 1024, usage: SRC, sharingMode: 0 }),
        null,
        buffer,
      ),
    ).toBe(0);
    const a = allocator.allocateMemoryForBuffer(buffer, { name: "own" });
    allocator.bindBufferMemory(a, buffer);
    allocator.destroyBuffer(buffer, a);
    const image = new nvk.VkImage();
    const ici = new nvk.VkImageCreateInfo({
      imageType: 1,
      format: vk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: new nvk.VkExtent3D({ width: 16, height: 16, depth: 1 }),
      mipLevels: 1,
      arrayLayers: 1,
      samples: 1,
      tiling: 0,
      usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
      sharingMode: 0,
      initialLayout: 0,
    });
    expect(nvk.vkCreateImage(context.device, ici, null, image)).toBe(0);
    const b = allocator.allocateMemoryForImage(image);
    allocator.bindImageMemory(b, image);
    allocator.destroyImage(image, b);
    expect(native.takeVmaMessages()).toEqual([]);
  });

  test("allocateMemory honours minAlignment (VMA 3.4's VmaAllocationCreateInfo::minAlignment)", () => {
    const type = allocator.memoryTypes.findIndex((t) => (t.propertyFlags & 0x2) !== 0);
    const req = { size: 256, alignment: 1, memoryTypeBits: 1 << type };
    const pool = allocator.createPool({ memoryTypeIndex: type }, { blockSize: 1024 * KiB, maxBlockCount: 1 });
    const first = allocator.allocateMemory(req, { pool });
    const aligned = allocator.allocateMemory(req, { pool, minAlignment: 64 * KiB });
    expect(aligned.offset % (64 * KiB)).toBe(0);
    expect(aligned.offset).toBeGreaterThan(0);
    const buffer = new nvk.VkBuffer();
    expect(
      nvk.vkCreateBuffer(
        context.device,
        new nvk.VkBufferCreateInfo({ size: 256, usage: SRC, sharingMode: 0 }),
        null,
        buffer,
      ),
    ).toBe(0);
    const forBuffer = allocator.allocateMemoryForBuffer(buffer, { pool, minAlignment: 128 * KiB });
    expect(forBuffer.offset % (128 * KiB)).toBe(0);
    expect(forBuffer.offset).toBeGreaterThan(0);
    allocator.bindBufferMemory(forBuffer, buffer);
    allocator.destroyBuffer(buffer, forBuffer);
    allocator.freeMemory(first);
    allocator.freeMemory(aligned);
    pool.destroy();
    // In a buddy pool too (vkmem's own sub-allocator honours it the same way).
    const buddy = allocator.createPool({ memoryTypeIndex: type }, { algorithm: "buddy", blockSize: 1024 * KiB });
    const small = allocator.allocateMemory(req, { pool: buddy });
    const alignedInBuddy = allocator.allocateMemory(req, { pool: buddy, minAlignment: 64 * KiB });
    expect(alignedInBuddy.offset % (64 * KiB)).toBe(0);
    expect(alignedInBuddy.offset).toBeGreaterThan(small.offset);
    allocator.freeMemory(small);
    allocator.freeMemory(alignedInBuddy);
    buddy.destroy();
    // Without a pool too.
    const plain = allocator.allocateMemory(req, { minAlignment: 4096, usage: MemoryUsage.CpuOnly });
    expect(plain.offset % 4096).toBe(0);
    allocator.freeMemory(plain);
  });
});

describe("an assert that still fires (the addon called past the TS checks)", () => {
  /** Writes a 256-byte transfer-source buffer and `options` into the scratch, past encodeAllocationOptions' checks. */
  function rawBufferRequest(flags: number, usage: number): void {
    encodeAllocationOptions(undefined, "test", "options");
    scratch[16] = flags; // Slot.AllocFlags
    scratch[17] = usage; // Slot.AllocUsage
    scratch[0] = 256;
    scratch[1] = SRC;
    scratch[2] = 0;
    scratch[3] = 0;
  }

  test("is a VmaAssertionError with this call's message; what VMA made is given back", () => {
    const a = createAllocator(context, { label: "asserts" });
    rawBufferRequest(0x4 /* MAPPED */, MemoryUsage.Auto);
    const e1 = thrown(() => native.createBuffer(a._handle));
    expect(e1).toBeInstanceOf(VmaAssertionError);
    expect((e1 as VmaAssertionError).messages[0]).toMatch(
      /^VMA check failed: .*When using VMA_ALLOCATION_CREATE_MAPPED_BIT and usage = VMA_MEMORY_USAGE_AUTO\*/,
    );
    expect(a.allocationCount).toBe(0);
    // A different assert in the next call carries its own message, not the first one.
    encodeAllocationOptions(undefined, "test", "options");
    scratch[0] = 4096;
    scratch[1] = 256;
    scratch[2] = 0xffffffff;
    const e2 = thrown(() => native.allocateMemory(a._handle));
    expect(e2).toBeInstanceOf(VmaAssertionError);
    expect((e2 as VmaAssertionError).messages).toHaveLength(1);
    expect((e2 as VmaAssertionError).messages[0]).toMatch(
      /VMA_MEMORY_USAGE_AUTO\* values can only be used with functions like vmaCreateBuffer/,
    );
    // A call that asserts nothing succeeds, whatever came before.
    const ok = a.createBuffer({ size: 256, usage: SRC }, { hostAccess: "random", mapped: true });
    expect(ok.allocation.mappedData).not.toBeNull();
    a.destroyBuffer(ok.buffer, ok.allocation);
    expect(native.takeVmaMessages()).toEqual([]);
    expect(destroyQuietly(a)).toEqual({ reports: [], warnings: [] });
  });

  test("a map VMA asserts on is undone: no 'not unmapped before destruction' later", () => {
    const a = createAllocator(context, { label: "map-asserts" });
    const r = a.createBuffer({ size: 256, usage: SRC }, { name: "device-only" });
    // Lavapipe's memory is all host-visible: VMA asserts (no host access was asked for). A GPU puts the buffer in
    // memory the CPU cannot map at all: the addon refuses that before VMA, as a driver would, and nothing reaches
    // vkMapMemory (the validation layer watches).
    const hostVisible =
      (a.memoryTypes[r.allocation.memoryType]!.propertyFlags & vk.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) !== 0;
    const refused = hostVisible ? VmaAssertionError : VkError;
    const message = hostVisible
      ? /^vmaMapMemory: VMA check failed: IsMappingAllowed\(\)/
      : /^vmaMapMemory failed: VK_ERROR_MEMORY_MAP_FAILED \(-5\): the allocation's memory type is not HOST_VISIBLE/;
    const e = thrown(() => a._native.map(r.allocation._handle, true));
    expect(e).toBeInstanceOf(refused);
    expect((e as Error).message).toMatch(message);
    // The allocation is still usable and frees cleanly.
    expect(r.allocation.mapCount).toBe(0);
    a.destroyBuffer(r.buffer, r.allocation);
    expect(native.takeVmaMessages()).toEqual([]);
    const leftover = a.createBuffer({ size: 256, usage: SRC }, { name: "left" });
    expect(() => a._native.map(leftover.allocation._handle, false)).toThrow(refused);
    const { reports, warnings } = destroyQuietly(a);
    expect(reports).toEqual([expect.objectContaining({ name: "left", kind: "buffer" })]);
    expect(warnings.join("\n")).not.toMatch(/unmapped|still mapped|VMA check failed/);
  });
});
