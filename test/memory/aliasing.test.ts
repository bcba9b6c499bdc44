/**
 * Aliasing (VMA's CAN_ALIAS, vmaCreateAliasingBuffer2 / vmaCreateAliasingImage2; engine/memory/aliasing.ts): buffers
 * and images bound into one allocation see the same bytes, offsets are honoured, misfits and misuse are typed errors,
 * and every destroy order leaves no validation message and no live Vulkan object (the fixture checks both).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  AliasingBuffer,
  AliasingImage,
  createAllocator,
  DestroyedResourceError,
  InvalidStateError,
  type Allocation,
  type Allocator,
  type Context,
} from "../../engine/index.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";

let context: Context;
let allocator: Allocator;

const gpu = useGpuContext({ applicationName: "vkmem aliasing tests" });

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "aliasing" });
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

const SRC = vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
// Vulkan values the constants module does not carry.
const ASPECT_COLOR = 0x1;
const LAYOUT_TRANSFER_SRC = 6;
const STAGE_TRANSFER = 0x1000;
const STAGE_HOST = 0x4000;
const ACCESS_TRANSFER_READ = 0x800;
const ACCESS_HOST_WRITE = 0x4000;
const QUEUE_FAMILY_IGNORED = 0xffffffff;
const DST = vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT;
const KiB = 1024;
/** Host-visible memory the CPU may map, for aliases to share. */
const HOST = { hostAccess: "random" as const, canAlias: true };

function aliasMemory(size = 64 * KiB, extra = {}): Allocation {
  return allocator.allocateMemory({ size, alignment: 4 * KiB, memoryTypeBits: 0xffffffff }, { ...HOST, ...extra });
}

/** A GPU copy of `size` bytes from `src` at srcOffset into a fresh readback buffer; returns the bytes. */
function readBack(src: unknown, srcOffset: number, size: number): Uint8Array {
  const { buffer, allocation } = allocator.createBuffer({ size, usage: DST }, { hostAccess: "random", mapped: true });
  context.submitAndWait((cmd) => {
    nvk.vkCmdCopyBuffer(cmd, src, buffer, 1, [new nvk.VkBufferCopy({ srcOffset, dstOffset: 0, size })]);
  });
  allocation.invalidate();
  const out = new Uint8Array(allocation.mappedData!).slice();
  allocator.destroyBuffer(buffer, allocation);
  return out;
}

/** A GPU copy of `bytes` into `dst` at dstOffset, through a staging buffer. */
function writeByGpu(dst: unknown, dstOffset: number, bytes: Uint8Array): void {
  const size = bytes.length;
  const staging = allocator.createBuffer({ size, usage: SRC }, { hostAccess: "sequentialWrite", mapped: true });
  new Uint8Array(staging.allocation.mappedData!).set(bytes);
  staging.allocation.flush();
  context.submitAndWait((cmd) => {
    nvk.vkCmdCopyBuffer(cmd, staging.buffer, dst, 1, [new nvk.VkBufferCopy({ srcOffset: 0, dstOffset, size })]);
  });
  allocator.destroyBuffer(staging.buffer, staging.allocation);
}

function pattern(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff);
}

describe("aliasing buffers see the same bytes", () => {
  test("a CPU write through the mapped allocation is what a GPU copy reads through each alias, at its offset", () => {
    const memory = aliasMemory();
    const a = allocator.createAliasingBuffer(memory, { size: 16 * KiB, usage: SRC | DST });
    const b = allocator.createAliasingBuffer(memory, { size: 8 * KiB, usage: SRC | DST }, 8 * KiB);
    expect(a).toBeInstanceOf(AliasingBuffer);
    expect([a.offset, b.offset]).toEqual([0, 8 * KiB]);
    expect(a.size).toBeGreaterThanOrEqual(16 * KiB);
    const bytes = pattern(16 * KiB, 7);
    new Uint8Array(memory.map()).set(bytes);
    memory.flush();
    expect(readBack(a.buffer, 0, 16 * KiB)).toEqual(bytes);
    // b starts 8 KiB into the allocation: its first byte is byte 8 KiB of what the CPU wrote.
    expect(readBack(b.buffer, 0, 8 * KiB)).toEqual(bytes.subarray(8 * KiB));
    expect(readBack(b.buffer, 100, 256)).toEqual(bytes.subarray(8 * KiB + 100, 8 * KiB + 356));
    memory.unmap();
    a.destroy();
    b.destroy();
    allocator.freeMemory(memory);
  });

  test("a GPU write through one alias is read through the other and through the mapped allocation", () => {
    const memory = aliasMemory();
    const a = allocator.createAliasingBuffer(memory, { size: 32 * KiB, usage: SRC | DST });
    const b = allocator.createAliasingBuffer(memory, { size: 16 * KiB, usage: SRC | DST }, 16 * KiB);
    const bytes = pattern(4 * KiB, 99);
    writeByGpu(b.buffer, 1024, bytes); // allocation bytes [17 KiB, 21 KiB)
    expect(readBack(a.buffer, 17 * KiB, 4 * KiB)).toEqual(bytes);
    const host = new Uint8Array(4 * KiB);
    allocator.copyAllocationToMemory(memory, 17 * KiB, host);
    expect(host).toEqual(bytes);
    allocator.destroyAliasingBuffer(a);
    allocator.destroyAliasingBuffer(b);
    allocator.destroyAliasingBuffer(b); // a second destroy does nothing
    expect(a.destroyed && b.destroyed).toBe(true);
    allocator.freeMemory(memory);
  });

  test("a buffer created with its allocation (createBuffer, canAlias) takes aliases over its own bytes", () => {
    const created = allocator.createBuffer({ size: 8 * KiB, usage: SRC | DST }, HOST);
    const alias = allocator.createAliasingBuffer(created.allocation, { size: 4 * KiB, usage: SRC }, 4 * KiB);
    const bytes = pattern(8 * KiB, 3);
    allocator.copyMemoryToAllocation(bytes, created.allocation);
    expect(readBack(created.buffer, 0, 8 * KiB)).toEqual(bytes);
    expect(readBack(alias.buffer, 0, 4 * KiB)).toEqual(bytes.subarray(4 * KiB));
    alias.destroy();
    allocator.destroyBuffer(created.buffer, created.allocation);
  });
});

describe("an aliasing image", () => {
  test("a linear image and a buffer over the same bytes: the image's texels are the buffer's bytes", () => {
    const memory = aliasMemory(256 * KiB);
    const W = 16;
    const H = 16;
    const image = allocator.createAliasingImage(memory, {
      format: vk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: { width: W, height: H },
      tiling: vk.VK_IMAGE_TILING_LINEAR,
      usage: vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
      initialLayout: vk.VK_IMAGE_LAYOUT_PREINITIALIZED,
    });
    expect(image).toBeInstanceOf(AliasingImage);
    const buffer = allocator.createAliasingBuffer(memory, { size: image.size, usage: SRC });
    const layout = new nvk.VkSubresourceLayout();
    const sub = new nvk.VkImageSubresource({ aspectMask: ASPECT_COLOR, mipLevel: 0, arrayLayer: 0 });
    nvk.vkGetImageSubresourceLayout(context.device, image.image, sub, layout);
    const rowPitch = Number(layout.rowPitch);
    const base = Number(layout.offset);
    // Texel (x, y) is (x, y, x ^ y, 255); written where the linear layout puts it, through the alias buffer's bytes.
    const texels = new Uint8Array(W * H * 4);
    const raw = new Uint8Array(image.size);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const t = [x, y, x ^ y, 255];
        texels.set(t, (y * W + x) * 4);
        raw.set(t, base + y * rowPitch + x * 4);
      }
    }
    allocator.copyMemoryToAllocation(raw, memory);
    const out = allocator.createBuffer({ size: W * H * 4, usage: DST }, { hostAccess: "random", mapped: true });
    context.submitAndWait((cmd) => {
      const range = {
        aspectMask: ASPECT_COLOR,
        baseMipLevel: 0,
        levelCount: 1,
        baseArrayLayer: 0,
        layerCount: 1,
      };
      const barrier = new nvk.VkImageMemoryBarrier({
        srcAccessMask: ACCESS_HOST_WRITE,
        dstAccessMask: ACCESS_TRANSFER_READ,
        oldLayout: vk.VK_IMAGE_LAYOUT_PREINITIALIZED,
        newLayout: LAYOUT_TRANSFER_SRC,
        srcQueueFamilyIndex: QUEUE_FAMILY_IGNORED,
        dstQueueFamilyIndex: QUEUE_FAMILY_IGNORED,
        image: image.image,
        subresourceRange: new nvk.VkImageSubresourceRange(range),
      });
      nvk.vkCmdPipelineBarrier(cmd, STAGE_HOST, STAGE_TRANSFER, 0, 0, null, 0, null, 1, [barrier]);
      const region = new nvk.VkBufferImageCopy({
        bufferOffset: 0,
        bufferRowLength: 0,
        bufferImageHeight: 0,
        imageSubresource: new nvk.VkImageSubresourceLayers({
          aspectMask: ASPECT_COLOR,
          mipLevel: 0,
          baseArrayLayer: 0,
          layerCount: 1,
        }),
        imageOffset: new nvk.VkOffset3D({ x: 0, y: 0, z: 0 }),
        imageExtent: new nvk.VkExtent3D({ width: W, height: H, depth: 1 }),
      });
      nvk.vkCmdCopyImageToBuffer(cmd, image.image, LAYOUT_TRANSFER_SRC, out.buffer, 1, [region]);
    });
    out.allocation.invalidate();
    expect(new Uint8Array(out.allocation.mappedData!)).toEqual(texels);
    // The alias buffer reads the same bytes the image was laid out in.
    expect(readBack(buffer.buffer, base + rowPitch, 64)).toEqual(raw.subarray(base + rowPitch, base + rowPitch + 64));
    allocator.destroyBuffer(out.buffer, out.allocation);
    allocator.destroyAliasingImage(image);
    buffer.destroy();
    allocator.freeMemory(memory);
  });

  test("dedicated memory made with canAlias takes a buffer and an image without validation messages", () => {
    const imageInfo = {
      format: vk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: { width: 32, height: 32 },
      usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
    };
    // A type the optimal image accepts: on a discrete GPU no host-visible one does (the H200's optimal images take
    // only its two memory types without HOST_VISIBLE), and buffers take every type.
    const type = allocator.findMemoryTypeIndexForImageInfo(imageInfo);
    const memory = allocator.allocateMemory(
      { size: 128 * KiB, alignment: 4 * KiB, memoryTypeBits: 1 << type },
      { canAlias: true, dedicated: true },
    );
    expect(memory.dedicated).toBe(true);
    expect(memory.memoryType).toBe(type);
    const buffer = allocator.createAliasingBuffer(memory, { size: 128 * KiB, usage: SRC });
    const image = allocator.createAliasingImage(memory, imageInfo);
    image.destroy();
    buffer.destroy();
    allocator.freeMemory(memory);
  });
});

describe("bindBufferMemory / bindImageMemory", () => {
  function userBuffer(size: number): object {
    const buffer = new nvk.VkBuffer();
    const info = new nvk.VkBufferCreateInfo({ size, usage: SRC | DST, sharingMode: 0 });
    expect(nvk.vkCreateBuffer(context.device, info, null, buffer)).toBe(0);
    return buffer;
  }

  test("an allocation without canAlias still refuses a second resource", () => {
    const memory = allocator.allocateMemory({ size: 8 * KiB, alignment: 256, memoryTypeBits: 0xffffffff });
    const first = userBuffer(4 * KiB);
    const second = userBuffer(4 * KiB);
    allocator.bindBufferMemory(memory, first);
    expect(() => allocator.bindBufferMemory(memory, second, 4 * KiB)).toThrow(
      /bindBufferMemory: allocation is already bound to a resource \(create it with canAlias to bind several\)/,
    );
    nvk.vkDestroyBuffer(context.device, second, null);
    allocator.destroyBuffer(first, memory);
  });

  test("a canAlias allocation binds several buffers: the first is its own, the others aliases vkmem destroys", () => {
    const memory = aliasMemory(16 * KiB);
    const first = userBuffer(8 * KiB);
    const second = userBuffer(8 * KiB);
    expect(allocator.bindBufferMemory(memory, first)).toBeUndefined();
    const alias = allocator.bindBufferMemory(memory, second, 8 * KiB)!;
    expect(alias).toBeInstanceOf(AliasingBuffer);
    expect(alias.buffer).toBe(second);
    const bytes = pattern(16 * KiB, 42);
    allocator.copyMemoryToAllocation(bytes, memory);
    expect(readBack(second, 0, 8 * KiB)).toEqual(bytes.subarray(8 * KiB));
    // The alias is a live buffer of the allocation: binding it again anywhere is refused.
    const other = aliasMemory(16 * KiB);
    expect(() => allocator.bindBufferMemory(other, second)).toThrow(TypeError);
    expect(() => allocator.bindBufferMemory(other, second)).toThrow(
      /is the live buffer of allocation|live buffer of an unnamed/,
    );
    alias.destroy();
    // Destroyed by vkmem: its handle object is known as dead.
    expect(() => allocator.allocateMemoryForBuffer(second)).toThrow(DestroyedResourceError);
    allocator.freeMemory(other);
    allocator.destroyBuffer(first, memory);
  });
});

describe("typed errors", () => {
  test("an allocation made without canAlias, bad offsets, sizes and descriptions", () => {
    const plain = allocator.allocateMemory(
      { size: 16 * KiB, alignment: 256, memoryTypeBits: 0xffffffff },
      { name: "plain" },
    );
    expect(() => allocator.createAliasingBuffer(plain, { size: 256, usage: SRC })).toThrow(
      new TypeError('createAliasingBuffer: allocation was not created with allocationOptions.canAlias, got "plain"'),
    );
    const memory = aliasMemory(16 * KiB, { name: "shared" });
    expect(() => allocator.createAliasingBuffer(memory, { size: 256, usage: SRC }, -1)).toThrow(
      new RangeError("createAliasingBuffer: offset must be an integer in [0, 16384), got -1"),
    );
    expect(() => allocator.createAliasingBuffer(memory, { size: 256, usage: SRC }, 1.5)).toThrow(
      /offset must be an integer/,
    );
    expect(() => allocator.createAliasingBuffer(memory, { size: 256, usage: SRC }, 16 * KiB)).toThrow(RangeError);
    // The bytes do not fit after the offset.
    expect(() => allocator.createAliasingBuffer(memory, { size: 8 * KiB, usage: SRC }, 12 * KiB)).toThrow(
      /createAliasingBuffer: offset \+ the resource's size 8192 exceeds the allocation's 16384 bytes, got 12288/,
    );
    expect(() => allocator.createAliasingBuffer(memory, { size: 32 * KiB, usage: SRC })).toThrow(
      /exceeds the allocation's/,
    );
    // An offset the buffer's alignment refuses.
    expect(() => allocator.createAliasingBuffer(memory, { size: 256, usage: SRC }, 1)).toThrow(
      /createAliasingBuffer: offset puts the resource at \d+ in its VkDeviceMemory, not a multiple of its alignment \d+, got 1/,
    );
    expect(() => allocator.createAliasingBuffer(memory, { size: 0, usage: SRC })).toThrow(
      /bufferInfo.size must be a positive integer/,
    );
    expect(() =>
      allocator.createAliasingImage(memory, { format: 0, extent: { width: 4, height: 4 }, usage: 4 }),
    ).toThrow(/createAliasingImage: imageInfo.format is not a known VkFormat/);
    expect(() => allocator.createAliasingBuffer({} as Allocation, { size: 256, usage: SRC })).toThrow(TypeError);
    expect(() => allocator.destroyAliasingBuffer({} as AliasingBuffer)).toThrow(/alias must be an AliasingBuffer/);
    // Nothing was created by the refused calls: the memory frees at once.
    allocator.freeMemory(memory);
    allocator.freeMemory(plain);
  });

  test("canAlias is refused with canBecomeLost and in buddy pools", () => {
    expect(() => allocator.createBuffer({ size: 256, usage: SRC }, { canAlias: true, canBecomeLost: true })).toThrow(
      /allocationOptions.canAlias cannot be combined with canBecomeLost/,
    );
    const pool = allocator.createPool({ memoryTypeIndex: 0 }, { algorithm: "buddy", blockSize: 64 * KiB });
    expect(() => allocator.createBuffer({ size: 256, usage: SRC }, { canAlias: true, pool })).toThrow(
      /allocationOptions.canAlias is not supported in buddy pools/,
    );
    pool.destroy();
  });
});

describe("destroy order", () => {
  test("freeing an allocation whose aliases live is refused (nothing freed); after they go it frees", () => {
    const memory = aliasMemory(16 * KiB, { name: "held" });
    const alias = allocator.createAliasingBuffer(memory, { size: 4 * KiB, usage: SRC });
    expect(() => allocator.freeMemory(memory)).toThrow(InvalidStateError);
    expect(() => allocator.freeMemoryPages([memory])).toThrow(/Allocation 'held'.freeMemoryPages: 1 aliasing/);
    expect(memory.destroyed).toBe(false);
    expect(readBack(alias.buffer, 0, 16)).toHaveLength(16); // still usable
    alias.destroy();
    allocator.freeMemory(memory);
    expect(memory.destroyed).toBe(true);
    alias.destroy(); // after its allocation: still nothing
  });

  test("destroyBuffer of the allocation's own buffer is refused while aliases live", () => {
    const created = allocator.createBuffer({ size: 8 * KiB, usage: SRC }, HOST);
    const alias = allocator.createAliasingBuffer(created.allocation, { size: 4 * KiB, usage: SRC });
    expect(() => allocator.destroyBuffer(created.buffer, created.allocation)).toThrow(InvalidStateError);
    alias.destroy();
    allocator.destroyBuffer(created.buffer, created.allocation);
  });

  test("destroying the pool takes the aliases along; they read as destroyed", () => {
    const leaks: string[] = [];
    const owner = createAllocator(context, {
      label: "pool owner",
      onLeaks: (l) => leaks.push(...l.map((x) => x.name ?? "")),
    });
    const pool = owner.createPool({ memoryTypeIndex: 0 }, { blockSize: 256 * KiB, name: "alias pool" });
    const memory = owner.allocateMemory(
      { size: 16 * KiB, alignment: 256, memoryTypeBits: 1 },
      { pool, canAlias: true, name: "in pool" },
    );
    const alias = owner.createAliasingBuffer(memory, { size: 4 * KiB, usage: SRC });
    const image = owner.createAliasingImage(memory, {
      format: vk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: { width: 8, height: 8 },
      usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
    });
    pool.destroy();
    expect(leaks).toEqual(["in pool"]);
    expect(alias.destroyed && image.destroyed && memory.destroyed).toBe(true);
    alias.destroy(); // no-op
    expect(() => owner.allocateMemoryForBuffer(alias.buffer)).toThrow(DestroyedResourceError);
    expect(owner.destroy()).toEqual([]);
  });

  test("destroying the allocator takes the aliases along: the leak is reported, the device is left clean", () => {
    const other = createAllocator(context, { label: "other", onLeaks: () => {} });
    const memory = other.allocateMemory(
      { size: 16 * KiB, alignment: 256, memoryTypeBits: 1 },
      { canAlias: true, name: "left" },
    );
    const alias = other.createAliasingBuffer(memory, { size: 4 * KiB, usage: SRC });
    const image = other.createAliasingImage(memory, {
      format: vk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: { width: 8, height: 8 },
      usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
    });
    const leaks = other.destroy();
    expect(leaks.map((l) => l.name)).toEqual(["left"]);
    expect(alias.destroyed && image.destroyed).toBe(true);
    alias.destroy();
    image.destroy();
  });

  test("another allocator's alias is refused by destroyAliasing*", () => {
    const other = createAllocator(context, { label: "third" });
    const memory = other.allocateMemory({ size: 4 * KiB, alignment: 256, memoryTypeBits: 1 }, { canAlias: true });
    const alias = other.createAliasingBuffer(memory, { size: 1 * KiB, usage: SRC });
    expect(() => allocator.destroyAliasingBuffer(alias)).toThrow(/alias belongs to another allocator/);
    expect(() => allocator.createAliasingBuffer(memory, { size: 256, usage: SRC })).toThrow(
      /belongs to another allocator/,
    );
    alias.destroy();
    other.freeMemory(memory);
    expect(other.destroy()).toEqual([]);
  });
});
