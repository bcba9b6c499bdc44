/**
 * Buddy pools on real Vulkan (lavapipe here, the validation layer on, any message fails): buffers and images bound
 * in buddy nodes and used by the GPU, a random workload checked against a model of the buddy tree (no overlap,
 * natural alignment, exact statistics, a new block only when no existing one has room), full free and block release
 * down to minBlockCount, the limits (maxBlockCount, neverAllocate, heap size limit, block size), internal waste,
 * mapping of sub-ranges, leak reports, and bad input.
 *
 * No memory type is assumed: each pool is in a type the device names for what the test puts there (see beforeAll).
 * On lavapipe all of them are type 0 (its one type is device-local and host-visible); on a discrete GPU such as the
 * H200 no host-visible type takes an optimal image, so tests that map go to a host-visible type and tests that put
 * optimal images in a pool go to a device-local one, with the CPU's bytes through staging buffers outside the pool.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  BuddyAllocation,
  BuddyPool,
  createAllocator,
  DestroyedResourceError,
  OutOfDeviceMemoryError,
  type Allocation,
  type Allocator,
  type Context,
  type LeakReport,
  InvalidStateError,
  MemoryUsage,
} from "../../engine/index.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";
import { acceptedTypes, bit } from "../helpers/memory-types.js";
import { random } from "../helpers/random.js";

let context: Context;
let allocator: Allocator;
const leaked: LeakReport[][] = [];

const gpu = useGpuContext({ applicationName: "vkmem buddy pool tests" });

const KiB = 1024;
const MiB = 1024 * KiB;
const SRC = vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
const DST = vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT;
const HOST_VISIBLE = 0x2;
const HOST_COHERENT = 0x4;
const RGBA8 = vk.VK_FORMAT_R8G8B8A8_UNORM;

/** VMA's type for transfer buffers and raw memory the CPU never maps (Auto): lavapipe 0, the H200 1 (DEVICE_LOCAL). */
let deviceType: number;
/** VMA's type for transfer buffers the CPU maps and reads (Auto, random access): lavapipe 0, the H200 3 (cached). */
let hostType: number;
/**
 * VMA's type for optimal images among the types transfer buffers accept too, so that both share a block (Auto):
 * lavapipe 0, the H200 1. Host-visible on lavapipe only: the H200 has no host-visible type an optimal image takes.
 */
let imageType: number;

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "buddy", onLeaks: (l) => leaked.push(l) });
  const transfer = { size: 64 * KiB, usage: SRC | DST };
  deviceType = allocator.findMemoryTypeIndexForBufferInfo(transfer, { usage: MemoryUsage.Auto });
  hostType = allocator.findMemoryTypeIndexForBufferInfo(transfer, { usage: MemoryUsage.Auto, hostAccess: "random" });
  imageType = allocator.findMemoryTypeIndexForImageInfo(
    {
      format: RGBA8,
      extent: { width: 64, height: 32 },
      usage: vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
    },
    { usage: MemoryUsage.Auto, memoryTypeBits: acceptedTypes(allocator, transfer) },
  );
  expect(allocator.memoryTypes[hostType].propertyFlags & HOST_VISIBLE).toBe(HOST_VISIBLE);
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

/** A pool target in memory type `t`. */
function inType(t: number): { memoryTypeIndex: number } {
  return { memoryTypeIndex: t };
}

/** Whether the CPU can map memory type `t`. */
function mappable(t: number): boolean {
  return (allocator.memoryTypes[t].propertyFlags & HOST_VISIBLE) !== 0;
}

/** The node size a buddy pool in type `t` cannot go below for coherence: nonCoherentAtomSize where it applies. */
function atomOf(t: number): number {
  const flags = allocator.memoryTypes[t].propertyFlags;
  return (flags & HOST_VISIBLE) !== 0 && (flags & HOST_COHERENT) === 0 ? allocator.nonCoherentAtomSize : 1;
}

/**
 * What `mapped: true` gave an allocation in a buddy pool of type `t`: a view of its bytes where the type is
 * host-visible (lavapipe's for optimal images), else none and map() refused (the H200's types for optimal images).
 */
function expectPersistentView(view: ArrayBuffer | null, a: Allocation, t: number): void {
  if (mappable(t)) {
    expect(view).not.toBeNull();
    expect(view!.byteLength).toBe(a.size);
    expect(a.persistentlyMapped).toBe(true);
  } else {
    expect(view).toBeNull();
    expect(a.persistentlyMapped).toBe(false);
    expect(() => a.map()).toThrow(new RegExp(`memory type ${t} is not HOST_VISIBLE`));
  }
}

function nextPow2(v: number): number {
  let p = 1;
  while (p < v) p *= 2;
  return p;
}

/**
 * The free nodes of a buddy tree of `size` bytes at `offset` holding the allocated nodes `live` (sorted by offset):
 * a range with no allocation is one free node, a range that is one allocation has none, any other splits in two.
 */
function freeNodes(offset: number, size: number, live: readonly { offset: number; nodeSize: number }[]): number[] {
  if (live.length === 0) return [size];
  if (live.length === 1 && live[0].offset === offset && live[0].nodeSize === size) return [];
  const half = size / 2;
  const left = live.filter((n) => n.offset < offset + half);
  const right = live.filter((n) => n.offset >= offset + half);
  return [...freeNodes(offset, half, left), ...freeNodes(offset + half, half, right)];
}

function gpuCopyBuffer(src: unknown, dst: unknown, size: number): void {
  context.submitAndWait((cmd) => {
    nvk.vkCmdCopyBuffer(cmd, src, dst, 1, [new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 0, size })]);
    const barrier = new nvk.VkMemoryBarrier({
      srcAccessMask: 0x1000 /* TRANSFER_WRITE */,
      dstAccessMask: 0x2000 /* HOST_READ */,
    });
    nvk.vkCmdPipelineBarrier(cmd, 0x1000 /* TRANSFER */, 0x4000 /* HOST */, 0, 1, [barrier], 0, null, 0, null);
  });
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("resources in a buddy pool", () => {
  test("buffers: bound at their node, written through map, copied by the GPU, read back equal", () => {
    // Mapped and read back: a host-visible type.
    const pool = allocator.createPool(inType(hostType), { algorithm: "buddy", blockSize: MiB, name: "buffers" });
    expect(pool).toBeInstanceOf(BuddyPool);
    expect(pool.algorithm).toBe("buddy");
    expect(pool.memoryTypeIndex).toBe(hostType);
    expect(pool.minNodeSize).toBe(Math.max(256, allocator.bufferImageGranularity, atomOf(hostType)));
    const src = allocator.createBuffer(
      { size: 3000, usage: SRC },
      { pool, name: "src", mapped: true, userData: { id: 1 } },
    );
    const dst = allocator.createBuffer({ size: 3000, usage: DST }, { pool, name: "dst" });
    for (const r of [src, dst]) {
      const a = r.allocation as BuddyAllocation;
      expect(a).toBeInstanceOf(BuddyAllocation);
      expect(a.pool).toBe(pool);
      expect(a.kind).toBe("buffer");
      expect(a.size).toBeGreaterThanOrEqual(3000);
      expect(a.nodeSize).toBe(nextPow2(a.size));
      expect(a.offset % a.nodeSize).toBe(0);
      expect(a.dedicated).toBe(false);
      expect(a.blockSize).toBe(MiB);
      expect(a.memoryType).toBe(hostType);
      expect(a.memoryProperties).toBe(allocator.memoryTypes[hostType].propertyFlags);
      expect(r.allocationInfo.offset).toBe(a.offset);
      expect(r.allocationInfo.size).toBe(a.size);
      expect(r.allocationInfo.memoryType).toBe(hostType);
    }
    expect(src.allocationInfo.deviceMemoryHandle).toBe(dst.allocationInfo.deviceMemoryHandle); // one block
    expect(src.allocationInfo.offset).not.toBe(dst.allocationInfo.offset);
    expect(src.allocationInfo.name).toBe("src");
    expect(src.allocation.userData).toEqual({ id: 1 });
    expect(src.allocation.persistentlyMapped).toBe(true);
    const bytes = new Uint8Array(src.allocationInfo.mappedData!);
    expect(bytes.length).toBe(src.allocation.size);
    for (let i = 0; i < 3000; ++i) bytes[i] = (i * 7 + 3) & 0xff;
    src.allocation.flush();
    gpuCopyBuffer(src.buffer, dst.buffer, 3000);
    const out = new Uint8Array(dst.allocation.map(), 0, 3000);
    dst.allocation.invalidate();
    expect(out).toEqual(bytes.subarray(0, 3000));
    dst.allocation.unmap();
    allocator.destroyBuffer(src.buffer, src.allocation);
    allocator.destroyBuffer(dst.buffer, dst.allocation);
    expect(src.allocation.destroyed).toBe(true);
    expect(() => src.allocation.offset).toThrow(DestroyedResourceError);
    allocator.destroyBuffer(src.buffer, src.allocation); // twice: a no-op
    expect(pool.getStatistics()).toEqual({
      blockCount: 0,
      allocationCount: 0,
      blockBytes: 0,
      allocationBytes: 0,
      internalWasteBytes: 0,
    });
    expect(pool.destroy()).toEqual([]);
  });

  test("images and buffers share a block: buffer -> optimal image -> buffer on the GPU round-trips", () => {
    // The pool holds an optimal image and two transfer buffers in one block, in a type both accept. The CPU's bytes
    // come and go through staging buffers outside the pool, as no host-visible type takes optimal images on a GPU
    // such as the H200: staging -> upload (pool) -> image (pool) -> readback (pool) -> host readback.
    const pool = allocator.createPool(inType(imageType), {
      algorithm: "buddy",
      blockSize: MiB,
      minBlockCount: 1,
      name: "mixed",
    });
    const W = 64;
    const H = 32;
    const size = W * H * 4;
    const staging = allocator.createBuffer(
      { size, usage: SRC },
      { usage: MemoryUsage.Auto, hostAccess: "sequentialWrite", mapped: true, name: "staging" },
    );
    const upload = allocator.createBuffer({ size, usage: SRC | DST }, { pool });
    const image = allocator.createImage(
      {
        format: RGBA8,
        extent: { width: W, height: H },
        usage: vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
      },
      { pool, name: "image" },
    );
    const readback = allocator.createBuffer({ size, usage: SRC | DST }, { pool });
    const hostReadback = allocator.createBuffer(
      { size, usage: DST },
      { usage: MemoryUsage.Auto, hostAccess: "random", mapped: true, name: "host readback" },
    );
    const img = image.allocation as BuddyAllocation;
    expect(img.kind).toBe("image");
    expect(img.memoryType).toBe(imageType);
    expect(img.offset % img.nodeSize).toBe(0);
    expect(img.nodeSize % allocator.bufferImageGranularity).toBe(0);
    expect(image.allocationInfo.deviceMemoryHandle).toBe(upload.allocationInfo.deviceMemoryHandle);
    expect(readback.allocationInfo.deviceMemoryHandle).toBe(upload.allocationInfo.deviceMemoryHandle);
    expect(pool.getStatistics()).toMatchObject({ blockCount: 1, allocationCount: 3 });
    for (const outside of [staging, hostReadback]) expect(outside.allocation).not.toBeInstanceOf(BuddyAllocation);
    const words = new Uint32Array(staging.allocationInfo.mappedData!, 0, W * H);
    for (let i = 0; i < words.length; ++i) words[i] = (i * 2654435761) >>> 0;
    staging.allocation.flush();
    const range = new nvk.VkImageSubresourceRange({
      aspectMask: 1,
      baseMipLevel: 0,
      levelCount: 1,
      baseArrayLayer: 0,
      layerCount: 1,
    });
    const layers = new nvk.VkImageSubresourceLayers({ aspectMask: 1, mipLevel: 0, baseArrayLayer: 0, layerCount: 1 });
    const region = new nvk.VkBufferImageCopy({
      bufferOffset: 0,
      bufferRowLength: 0,
      bufferImageHeight: 0,
      imageSubresource: layers,
      imageOffset: new nvk.VkOffset3D({ x: 0, y: 0, z: 0 }),
      imageExtent: new nvk.VkExtent3D({ width: W, height: H, depth: 1 }),
    });
    const whole = [new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 0, size })];
    const IGNORED = 0xffffffff;
    context.submitAndWait((cmd) => {
      nvk.vkCmdCopyBuffer(cmd, staging.buffer, upload.buffer, 1, whole);
      const uploaded = new nvk.VkMemoryBarrier({ srcAccessMask: 0x1000 /* WRITE */, dstAccessMask: 0x800 /* READ */ });
      nvk.vkCmdPipelineBarrier(cmd, 0x1000, 0x1000, 0, 1, [uploaded], 0, null, 0, null);
      const toDst = new nvk.VkImageMemoryBarrier({
        srcAccessMask: 0,
        dstAccessMask: 0x1000,
        oldLayout: 0,
        newLayout: 7 /* TRANSFER_DST */,
        srcQueueFamilyIndex: IGNORED,
        dstQueueFamilyIndex: IGNORED,
        image: image.image,
        subresourceRange: range,
      });
      nvk.vkCmdPipelineBarrier(cmd, 0x1 /* TOP */, 0x1000, 0, 0, null, 0, null, 1, [toDst]);
      nvk.vkCmdCopyBufferToImage(cmd, upload.buffer, image.image, 7, 1, [region]);
      const toSrc = new nvk.VkImageMemoryBarrier({
        srcAccessMask: 0x1000,
        dstAccessMask: 0x800,
        oldLayout: 7,
        newLayout: 6 /* TRANSFER_SRC */,
        srcQueueFamilyIndex: IGNORED,
        dstQueueFamilyIndex: IGNORED,
        image: image.image,
        subresourceRange: range,
      });
      nvk.vkCmdPipelineBarrier(cmd, 0x1000, 0x1000, 0, 0, null, 0, null, 1, [toSrc]);
      nvk.vkCmdCopyImageToBuffer(cmd, image.image, 6, readback.buffer, 1, [region]);
      const readBack = new nvk.VkMemoryBarrier({ srcAccessMask: 0x1000, dstAccessMask: 0x800 });
      nvk.vkCmdPipelineBarrier(cmd, 0x1000, 0x1000, 0, 1, [readBack], 0, null, 0, null);
      nvk.vkCmdCopyBuffer(cmd, readback.buffer, hostReadback.buffer, 1, whole);
      const toHost = new nvk.VkMemoryBarrier({ srcAccessMask: 0x1000, dstAccessMask: 0x2000 });
      nvk.vkCmdPipelineBarrier(cmd, 0x1000, 0x4000, 0, 1, [toHost], 0, null, 0, null);
    });
    hostReadback.allocation.invalidate();
    expect(new Uint32Array(hostReadback.allocationInfo.mappedData!, 0, W * H)).toEqual(words);
    if (mappable(imageType)) {
      // lavapipe: the block holding the image maps too, and the pool's readback buffer reads the same words.
      expect(new Uint32Array(readback.allocation.map(), 0, W * H)).toEqual(words);
      readback.allocation.unmap();
    } else {
      // No host-visible type takes optimal images (the H200): the pool's buffers refuse to map.
      expect(() => readback.allocation.map()).toThrow(new RegExp(`memory type ${imageType} is not HOST_VISIBLE`));
      expect(readback.allocation.mapCount).toBe(0);
    }
    allocator.destroyImage(image.image, image.allocation);
    allocator.destroyBuffer(upload.buffer, upload.allocation);
    allocator.destroyBuffer(readback.buffer, readback.allocation);
    allocator.destroyBuffer(staging.buffer, staging.allocation);
    allocator.destroyBuffer(hostReadback.buffer, hostReadback.allocation);
    const s = pool.calculateStatistics();
    expect(s).toMatchObject({
      blockCount: 1,
      allocationCount: 0,
      unusedRangeCount: 1,
      unusedRangeSizeMax: MiB,
      internalWasteBytes: 0,
    });
    expect(pool.destroy()).toEqual([]);
  });

  test("allocateMemoryForBuffer / bindBufferMemory and allocateMemory bind the caller's resources at the node", () => {
    const pool = allocator.createPool(inType(deviceType), { algorithm: "buddy", blockSize: 256 * KiB, name: "raw" });
    const buffer = new nvk.VkBuffer();
    expect(
      nvk.vkCreateBuffer(
        context.device,
        new nvk.VkBufferCreateInfo({ size: 5000, usage: DST, sharingMode: 0 }),
        null,
        buffer,
      ),
    ).toBe(0);
    const filler = allocator.allocateMemory({ size: 300, alignment: 16, memoryTypeBits: bit(deviceType) }, { pool });
    const a = allocator.allocateMemoryForBuffer(buffer, { pool, name: "own" }) as BuddyAllocation;
    expect(a.kind).toBe("memory");
    expect(a.offset).toBeGreaterThan(0);
    expect(a.offset % a.nodeSize).toBe(0);
    expect(() => allocator.bindBufferMemory(a, buffer, 8)).toThrow(
      /bindBufferMemory: localOffset must keep the \d+-byte alignment/,
    );
    allocator.bindBufferMemory(a, buffer);
    expect(() => allocator.bindBufferMemory(a, buffer)).toThrow(/already bound/);
    allocator.destroyBuffer(buffer, a); // destroys the caller's buffer too, as VMA does
    allocator.freeMemory(filler);
    expect(pool.getStatistics().allocationCount).toBe(0);
    pool.destroy();
  });
});

describe("random workload against a model of the buddy tree", () => {
  test("2,000 operations, 256 B - 256 KiB, random frees: no overlap, natural alignment, exact statistics", () => {
    const blockSize = MiB;
    const minBlockCount = 2;
    const minNode = Math.max(256, allocator.bufferImageGranularity, atomOf(deviceType));
    const pool = allocator.createPool(inType(deviceType), {
      algorithm: "buddy",
      blockSize,
      minBlockCount,
      minNodeSize: 256,
      name: "random",
    });
    const rnd = random(0xb0dd1e5);
    interface Live {
      a: Allocation;
      buffer: unknown;
      memory: string;
      offset: number;
      size: number;
      nodeSize: number;
    }
    const live: Live[] = [];
    let bytes = 0;
    let waste = 0;

    const byBlock = (): Map<string, Live[]> => {
      const m = new Map<string, Live[]>();
      for (const l of live) {
        let list = m.get(l.memory);
        if (list === undefined) m.set(l.memory, (list = []));
        list.push(l);
      }
      for (const list of m.values()) list.sort((x, y) => x.offset - y.offset);
      return m;
    };
    const checkCheap = (): void => {
      const used = byBlock().size;
      expect(pool.getStatistics()).toEqual({
        blockCount: Math.max(minBlockCount, used),
        allocationCount: live.length,
        blockBytes: Math.max(minBlockCount, used) * blockSize,
        allocationBytes: bytes,
        internalWasteBytes: waste,
      });
    };
    const checkFull = (): void => {
      const blocks = byBlock();
      const free: number[] = [];
      for (const list of blocks.values()) {
        for (let i = 1; i < list.length; ++i)
          expect(list[i].offset).toBeGreaterThanOrEqual(list[i - 1].offset + list[i - 1].nodeSize);
        expect(list[list.length - 1].offset + list[list.length - 1].nodeSize).toBeLessThanOrEqual(blockSize);
        free.push(...freeNodes(0, blockSize, list));
      }
      for (let i = blocks.size; i < minBlockCount; ++i) free.push(blockSize);
      const sizes = live.map((l) => l.size);
      expect(pool.calculateStatistics()).toEqual({
        blockCount: Math.max(minBlockCount, blocks.size),
        allocationCount: live.length,
        blockBytes: Math.max(minBlockCount, blocks.size) * blockSize,
        allocationBytes: bytes,
        unusedRangeCount: free.length,
        allocationSizeMin: sizes.length > 0 ? Math.min(...sizes) : Infinity,
        allocationSizeMax: sizes.length > 0 ? Math.max(...sizes) : 0,
        unusedRangeSizeMin: free.length > 0 ? Math.min(...free) : Infinity,
        unusedRangeSizeMax: free.length > 0 ? Math.max(...free) : 0,
        internalWasteBytes: waste,
      });
    };
    const release = (i: number): void => {
      const l = live[i];
      live[i] = live[live.length - 1];
      live.pop();
      if (l.buffer !== null) allocator.destroyBuffer(l.buffer, l.a);
      else allocator.freeMemory(l.a);
      bytes -= l.size;
      waste -= l.nodeSize - l.size;
    };

    for (let op = 0; op < 2000; ++op) {
      if (live.length > 0 && (rnd(0, 99) < 45 || live.length > 40)) {
        release(rnd(0, live.length - 1));
      } else {
        // log-uniform sizes, so that small and large nodes both occur
        const size = Math.min(256 * KiB, Math.max(256, Math.round(2 ** (8 + rnd(0, 10_000) / 1000)) + rnd(-100, 100)));
        const before = byBlock();
        const blocksBefore = pool.getStatistics().blockCount;
        let l: Live;
        if (rnd(0, 1) === 0) {
          const r = allocator.createBuffer({ size, usage: DST }, { pool });
          const a = r.allocation as BuddyAllocation;
          l = {
            a,
            buffer: r.buffer,
            memory: String(r.allocationInfo.deviceMemoryHandle),
            offset: a.offset,
            size: a.size,
            nodeSize: a.nodeSize,
          };
          expect(a.size).toBeGreaterThanOrEqual(size);
          expect(a.nodeSize).toBe(Math.max(nextPow2(a.size), minNode));
        } else {
          const alignment = [1, 256, 4096, 65536][rnd(0, 3)];
          const a = allocator.allocateMemory(
            { size, alignment, memoryTypeBits: bit(deviceType) },
            { pool },
          ) as BuddyAllocation;
          l = {
            a,
            buffer: null,
            memory: String(a.info.deviceMemoryHandle),
            offset: a.offset,
            size,
            nodeSize: a.nodeSize,
          };
          expect(a.size).toBe(size);
          expect(a.nodeSize).toBe(Math.max(nextPow2(size), alignment, minNode));
        }
        expect(l.offset % l.nodeSize).toBe(0);
        const after = pool.getStatistics().blockCount;
        if (after > blocksBefore) {
          // a new block only when no block had a free node that large
          expect(blocksBefore).toBe(before.size);
          for (const list of before.values())
            expect(Math.max(0, ...freeNodes(0, blockSize, list))).toBeLessThan(l.nodeSize);
        }
        live.push(l);
        bytes += l.size;
        waste += l.nodeSize - l.size;
      }
      checkCheap();
      if (op % 50 === 0) checkFull();
    }
    checkFull();
    expect(pool.getStatistics().blockCount).toBeGreaterThan(minBlockCount); // the workload did need more blocks
    while (live.length > 0) release(live.length - 1);
    // Full free: one free node per block, and only minBlockCount blocks left.
    expect(pool.calculateStatistics()).toEqual({
      blockCount: minBlockCount,
      allocationCount: 0,
      blockBytes: minBlockCount * blockSize,
      allocationBytes: 0,
      unusedRangeCount: minBlockCount,
      allocationSizeMin: Infinity,
      allocationSizeMax: 0,
      unusedRangeSizeMin: blockSize,
      unusedRangeSizeMax: blockSize,
      internalWasteBytes: 0,
    });
    expect(pool.destroy()).toEqual([]);
  });
});

describe("blocks and limits", () => {
  test("surplus blocks go as soon as they are empty, down to minBlockCount; the allocator sees each block as one dedicated allocation", () => {
    const count = allocator.allocationCount;
    const pool = allocator.createPool(inType(deviceType), {
      algorithm: "buddy",
      blockSize: 64 * KiB,
      minBlockCount: 1,
      name: "release",
    });
    expect(pool.getStatistics().blockCount).toBe(1);
    expect(allocator.allocationCount).toBe(count + 1);
    const all = Array.from({ length: 6 }, () =>
      allocator.allocateMemory({ size: 32 * KiB, alignment: 1, memoryTypeBits: bit(deviceType) }, { pool }),
    );
    expect(pool.getStatistics().blockCount).toBe(3);
    expect(allocator.allocationCount).toBe(count + 3);
    const dump = JSON.parse(allocator.buildStatsString(true));
    expect(JSON.stringify(dump)).toContain("buddy pool 'release' block");
    allocator.freeMemory(all[2]);
    expect(pool.getStatistics().blockCount).toBe(3);
    allocator.freeMemory(all[3]);
    expect(pool.getStatistics().blockCount).toBe(2);
    for (const a of all) allocator.freeMemory(a);
    expect(pool.getStatistics().blockCount).toBe(1);
    pool.destroy();
    expect(allocator.allocationCount).toBe(count);
  });

  test("maxBlockCount reached, neverAllocate, a node larger than a block: OutOfDeviceMemoryError", () => {
    const pool = allocator.createPool(inType(deviceType), {
      algorithm: "buddy",
      blockSize: 64 * KiB,
      maxBlockCount: 2,
      name: "small",
    });
    const req = { size: 32 * KiB, alignment: 1, memoryTypeBits: bit(deviceType) };
    const e0 = thrown(() => allocator.allocateMemory(req, { pool, neverAllocate: true }));
    expect(e0).toBeInstanceOf(OutOfDeviceMemoryError);
    expect(String(e0)).toMatch(/neverAllocate/);
    const four = Array.from({ length: 4 }, () => allocator.allocateMemory(req, { pool }));
    const e1 = thrown(() => allocator.allocateMemory(req, { pool, name: "fifth" }));
    expect(e1).toBeInstanceOf(OutOfDeviceMemoryError);
    expect(String(e1)).toMatch(
      /allocateMemory for 'fifth' failed: VK_ERROR_OUT_OF_DEVICE_MEMORY.*maxBlockCount \(2\) is reached/,
    );
    const e2 = thrown(() => allocator.createBuffer({ size: 64 * KiB + 1, usage: DST }, { pool }));
    expect(e2).toBeInstanceOf(OutOfDeviceMemoryError);
    expect(String(e2)).toMatch(/larger than the buddy pool's blockSize 65536/);
    const e3 = thrown(() =>
      allocator.allocateMemory({ size: 16, alignment: 128 * KiB, memoryTypeBits: bit(deviceType) }, { pool }),
    );
    expect(e3).toBeInstanceOf(OutOfDeviceMemoryError);
    allocator.freeMemory(four[1]);
    const again = allocator.allocateMemory(req, { pool, neverAllocate: true });
    expect(pool.getStatistics()).toMatchObject({ blockCount: 2, allocationCount: 4 });
    for (const a of [...four, again]) allocator.freeMemory(a);
    pool.destroy();
  });

  test("a heap size limit stops new blocks with VMA's own out-of-device-memory", () => {
    // One entry per heap (1 on lavapipe, 2 on the H200): the pool's heap limited, the others not.
    const heap = allocator.memoryTypes[deviceType].heapIndex;
    const heapSizeLimits = allocator.memoryHeaps.map((_, i) => (i === heap ? 3 * MiB : null));
    const limited = createAllocator(context, { heapSizeLimits });
    expect(limited.heapSizeLimits).toEqual(allocator.memoryHeaps.map((_, i) => (i === heap ? 3 * MiB : 0)));
    const pool = limited.createPool(inType(deviceType), { algorithm: "buddy", blockSize: MiB });
    const held = [0, 1, 2].map(() =>
      limited.allocateMemory({ size: MiB, alignment: 1, memoryTypeBits: bit(deviceType) }, { pool }),
    );
    const e = thrown(() =>
      limited.allocateMemory({ size: 16, alignment: 1, memoryTypeBits: bit(deviceType) }, { pool }),
    );
    expect(e).toBeInstanceOf(OutOfDeviceMemoryError);
    expect(pool.getStatistics().blockCount).toBe(3);
    for (const a of held) limited.freeMemory(a);
    expect(limited.destroy()).toEqual([]);
  });

  test("internal waste: 65 KiB takes a 128 KiB node, and the waste is counted apart", () => {
    const pool = allocator.createPool(inType(deviceType), { algorithm: "buddy", blockSize: MiB });
    const a = allocator.allocateMemory(
      { size: 65 * KiB, alignment: 1, memoryTypeBits: bit(deviceType) },
      { pool },
    ) as BuddyAllocation;
    const b = allocator.allocateMemory(
      { size: 64 * KiB, alignment: 1, memoryTypeBits: bit(deviceType) },
      { pool },
    ) as BuddyAllocation;
    expect(a.nodeSize).toBe(128 * KiB);
    expect(b.nodeSize).toBe(64 * KiB);
    expect(pool.getStatistics()).toEqual({
      blockCount: 1,
      allocationCount: 2,
      blockBytes: MiB,
      allocationBytes: 129 * KiB,
      internalWasteBytes: 63 * KiB,
    });
    const s = pool.calculateStatistics();
    // free nodes: 64 KiB (beside b), 256 KiB, 512 KiB
    expect(s).toMatchObject({
      unusedRangeCount: 3,
      unusedRangeSizeMin: 64 * KiB,
      unusedRangeSizeMax: 512 * KiB,
      allocationSizeMin: 64 * KiB,
      allocationSizeMax: 65 * KiB,
    });
    expect(s.blockBytes).toBe(s.allocationBytes + s.internalWasteBytes + 64 * KiB + 256 * KiB + 512 * KiB);
    allocator.freeMemory(a);
    allocator.freeMemory(b);
    pool.destroy();
  });

  test("minAllocationAlignment and ignoreBufferImageGranularity shape the nodes", () => {
    const aligned = allocator.createPool(inType(deviceType), {
      algorithm: "buddy",
      blockSize: MiB,
      minAllocationAlignment: 16 * KiB,
    });
    const a = allocator.allocateMemory(
      { size: 100, alignment: 1, memoryTypeBits: bit(deviceType) },
      { pool: aligned },
    ) as BuddyAllocation;
    expect(a.nodeSize).toBe(16 * KiB);
    allocator.freeMemory(a);
    aligned.destroy();
    const oneKind = allocator.createPool(inType(deviceType), {
      algorithm: "buddy",
      blockSize: 64 * KiB,
      minNodeSize: 16,
      ignoreBufferImageGranularity: true,
    });
    expect(oneKind.minNodeSize).toBe(Math.max(16, atomOf(deviceType)));
    const b = allocator.allocateMemory(
      { size: 20, alignment: 1, memoryTypeBits: bit(deviceType) },
      { pool: oneKind },
    ) as BuddyAllocation;
    expect(b.nodeSize).toBe(Math.max(32, atomOf(deviceType)));
    allocator.freeMemory(b);
    oneKind.destroy();
    const mixed = allocator.createPool(inType(deviceType), {
      algorithm: "buddy",
      blockSize: 64 * KiB,
      minNodeSize: 16,
    });
    expect(mixed.minNodeSize).toBe(Math.max(16, allocator.bufferImageGranularity, atomOf(deviceType)));
    mixed.destroy();
  });
});

describe("mapping", () => {
  test("views cover exactly their node's bytes, the block is mapped once, views are detached on unmap and on free", () => {
    const pool = allocator.createPool(inType(hostType), {
      algorithm: "buddy",
      blockSize: MiB,
      minBlockCount: 1,
      name: "maps",
    });
    const block = (pool as BuddyPool)._blocks[0].memory;
    const a = allocator.allocateMemory(
      { size: 1000, alignment: 1, memoryTypeBits: bit(hostType) },
      { pool, name: "a" },
    );
    const b = allocator.allocateMemory(
      { size: 3000, alignment: 1, memoryTypeBits: bit(hostType) },
      { pool, name: "b" },
    );
    const va = a.map();
    expect(va.byteLength).toBe(1000);
    expect(block.mapCount).toBe(1);
    const vb = b.map();
    expect(vb.byteLength).toBe(3000);
    expect(block.mapCount).toBe(1); // still one block mapping for both
    expect(a.map()).toBe(va);
    expect(a.mapCount).toBe(2);
    new Uint8Array(va).fill(0xaa);
    new Uint8Array(vb).fill(0xbb);
    expect(new Uint8Array(va).every((x) => x === 0xaa)).toBe(true); // no overlap
    expect(a.info.mappedData).toBe(va);
    a.unmap();
    expect(va.byteLength).toBe(1000);
    a.unmap();
    expect(va.byteLength).toBe(0); // detached
    expect(a.mappedData).toBeNull();
    expect(() => a.unmap()).toThrow(/Allocation 'a'\.unmap\(\): it is not mapped/);
    expect(() => a.unmap()).toThrow(InvalidStateError);
    expect(block.mapCount).toBe(1);
    const bytes = new Uint8Array(vb);
    allocator.freeMemory(b);
    expect(bytes.length).toBe(0); // detached on free
    expect(block.mapCount).toBe(0); // the last view gone: the block is unmapped
    // remapping reads what was written
    expect(new Uint8Array(a.map())[999]).toBe(0xaa);
    expect(a.flush(10, 100)).toMatchObject({
      offset: Math.floor((a.offset + 10) / allocator.nonCoherentAtomSize) * allocator.nonCoherentAtomSize,
    });
    expect(() => a.flush(0, 1001)).toThrow(/Allocation\.flush: size must be an integer with offset \+ size <= 1000/);
    a.unmap();
    allocator.freeMemory(a);
    expect(() => a.map()).toThrow(DestroyedResourceError);
    pool.destroy();
  });

  test("a persistently mapped allocation keeps its view across unmaps until it is freed", () => {
    const pool = allocator.createPool(inType(hostType), { algorithm: "buddy", blockSize: MiB });
    const r = allocator.createBuffer({ size: 512, usage: SRC }, { pool, mapped: true });
    const view = r.allocationInfo.mappedData!;
    expect(view.byteLength).toBe(r.allocation.size);
    expect(r.allocation.map()).toBe(view);
    r.allocation.unmap();
    expect(r.allocation.mappedData).toBe(view);
    expect(view.byteLength).toBe(r.allocation.size);
    allocator.destroyBuffer(r.buffer, r.allocation);
    expect(view.byteLength).toBe(0);
    pool.destroy();
  });
});

describe("leaks", () => {
  test("destroying a buddy pool reports and frees its live allocations, their buffers and images included", () => {
    // An optimal image in the pool: a type images take (host-visible on lavapipe only).
    const pool = allocator.createPool(inType(imageType), { algorithm: "buddy", blockSize: MiB, name: "leaky" });
    const before = allocator.allocationCount;
    const r = allocator.createBuffer({ size: 4000, usage: DST }, { pool, name: "forgotten buffer", mapped: true });
    const i = allocator.createImage(
      { format: RGBA8, extent: { width: 16, height: 16 }, usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT },
      { pool },
    );
    const m = allocator.allocateMemory(
      { size: 100, alignment: 1, memoryTypeBits: bit(imageType) },
      { pool, name: "raw" },
    );
    const view = r.allocationInfo.mappedData;
    expectPersistentView(view, r.allocation, imageType);
    leaked.length = 0;
    const reports = pool.destroy();
    expect(reports).toEqual([
      { name: "forgotten buffer", size: r.allocationInfo.size, memoryType: imageType, kind: "buffer", pool: "leaky" },
      { name: null, size: i.allocationInfo.size, memoryType: imageType, kind: "image", pool: "leaky" },
      { name: "raw", size: 100, memoryType: imageType, kind: "memory", pool: "leaky" },
    ]);
    expect(leaked).toEqual([reports]);
    if (view !== null) expect(view.byteLength).toBe(0); // detached with the pool
    expect(r.allocation.destroyed).toBe(true);
    expect(() => r.allocation.size).toThrow(DestroyedResourceError);
    allocator.destroyBuffer(r.buffer, r.allocation); // no-op now
    expect(pool.destroyed).toBe(true);
    expect(pool.destroy()).toEqual([]);
    expect(() => allocator.createBuffer({ size: 64, usage: DST }, { pool })).toThrow(DestroyedResourceError);
    expect(() => pool.getStatistics()).toThrow(DestroyedResourceError);
    expect(allocator.allocationCount).toBe(before); // the block is gone too
  });

  test("destroying the allocator tears buddy pools down first and lists their allocations in its report", () => {
    const seen: LeakReport[][] = [];
    const other = createAllocator(context, { label: "other", onLeaks: (l) => seen.push(l) });
    const pool = other.createPool(inType(imageType), {
      algorithm: "buddy",
      blockSize: 256 * KiB,
      minBlockCount: 2,
      name: "abandoned",
    });
    const r = other.createBuffer({ size: 1000, usage: DST }, { pool, name: "in buddy", mapped: true });
    const i = other.createImage(
      { format: RGBA8, extent: { width: 8, height: 8 }, usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT },
      { pool, name: "img" },
    );
    const plain = other.createBuffer({ size: 100, usage: DST }, { name: "plain" });
    const view = r.allocationInfo.mappedData;
    expectPersistentView(view, r.allocation, imageType);
    const reports = other.destroy();
    expect(reports.map((l) => [l.name, l.kind, l.pool])).toEqual([
      ["in buddy", "buffer", "abandoned"],
      ["img", "image", "abandoned"],
      ["plain", "buffer", undefined],
    ]);
    expect(seen).toEqual([reports]);
    if (view !== null) expect(view.byteLength).toBe(0); // detached with the allocator
    expect(pool.destroyed).toBe(true);
    expect(i.allocation.destroyed).toBe(true);
    expect(plain.allocation.destroyed).toBe(true);
  });
});

describe("bad input", () => {
  test.each([
    [{ algorithm: "buddy" }, /createPool: options\.blockSize must be a power of two for a buddy pool, got undefined/],
    [
      { algorithm: "buddy", blockSize: 3 * MiB },
      /options\.blockSize must be a power of two for a buddy pool, got 3145728/,
    ],
    [{ algorithm: "buddy", blockSize: MiB, minNodeSize: 100 }, /options\.minNodeSize must be a power of two, got 100/],
    [{ algorithm: "buddy", blockSize: MiB, minNodeSize: 0 }, /options\.minNodeSize must be a power of two, got 0/],
    [
      { algorithm: "buddy", blockSize: 64 * KiB, minNodeSize: 128 * KiB },
      /options\.minNodeSize must not exceed options\.blockSize \(65536\), got 131072/,
    ],
    [{ algorithm: "tlsf", minNodeSize: 64 }, /options\.minNodeSize is only for the buddy algorithm, got 64/],
    [
      { algorithm: "buddy", blockSize: MiB, minBlockCount: 2, maxBlockCount: 1 },
      /options\.maxBlockCount must be at least options\.minBlockCount \(2\), got 1/,
    ],
  ])("createPool options %o", (options, message) => {
    const count = allocator.allocationCount;
    expect(() => allocator.createPool(inType(deviceType), options as object)).toThrow(message);
    expect(allocator.allocationCount).toBe(count);
  });

  test("allocation options a buddy pool refuses, and resources that refuse its memory type", () => {
    const t = deviceType;
    const pool = allocator.createPool(inType(t), { algorithm: "buddy", blockSize: MiB, name: "strict" });
    const B = { size: 64, usage: DST };
    const other = bit((t + 1) % 32); // a mask without the pool's type (lavapipe: 0b10, a type it does not have)
    expect(() => allocator.createBuffer(B, { pool, upperAddress: true })).toThrow(
      /allocationOptions\.upperAddress needs a linear pool.*\(buddy, maxBlockCount Infinity\)/,
    );
    expect(() => allocator.createBuffer(B, { pool, dedicated: true })).toThrow(
      /allocationOptions\.dedicated is not possible in a pool with a fixed blockSize, got "strict"/,
    );
    expect(() => allocator.allocateMemory({ size: 64, alignment: 1, memoryTypeBits: other }, { pool })).toThrow(
      new RegExp(
        `allocateMemory: allocationOptions\\.pool is in memory type ${t}, which the requirements do not accept \\(memoryTypeBits 0x${other.toString(16)}\\), got "strict"`,
      ),
    );
    expect(() => allocator.createBuffer(B, { pool, memoryTypeBits: other })).toThrow(
      new RegExp(
        `createBuffer: allocationOptions\\.memoryTypeBits excludes the pool's memory type ${t}, got ${other}$`,
      ),
    );
    expect(allocator.memoryTypes[t].propertyFlags & 0x40).toBe(0); // not PROTECTED
    expect(() => allocator.createBuffer(B, { pool, requiredFlags: 0x40 })).toThrow(
      new RegExp(`allocationOptions\\.requiredFlags are not all in the pool's memory type ${t} \\(`),
    );
    expect(() => allocator.createBuffer(B, { pool, flags: 0x80 })).toThrow(/has DONT_BIND/);
    expect(() => allocator.createBuffer(B, { pool, name: "a\0b" })).toThrow(
      /allocationOptions\.name must be a string without NUL characters/,
    );
    expect(pool.getStatistics()).toMatchObject({ blockCount: 0, allocationCount: 0 });
    pool.name = "renamed";
    expect(pool.name).toBe("renamed");
    expect(() => {
      pool.name = 5 as never;
    }).toThrow(TypeError);
    pool.destroy();
    expect(() => pool.name).toThrow(DestroyedResourceError);
  });
});

describe("native create-and-bind", () => {
  test("only resources of createUnbound can be bound or destroyed: forged handles are errors, not crashes", async () => {
    const { native } = await import("../../engine/native.js");
    const pool = allocator.createPool(inType(deviceType), { algorithm: "buddy", blockSize: 1 << 20, name: "forgery" });
    const r = allocator.createBuffer({ size: 4096, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT }, { pool });
    const block = allocator.allocateMemory(
      { size: 65536, alignment: 256, memoryTypeBits: bit(deviceType) },
      { usage: 0 },
    );
    expect(() => native.bindAt(block._handle, 0xdeadbeefn, 0)).toThrow(/not a resource of createUnbound/);
    expect(() => native.destroyUnbound(allocator._handle, 0xdeadbeefn)).toThrow(/not a resource of createUnbound/);
    expect(() => native.destroyUnbound(allocator._handle, "x" as unknown as bigint)).toThrow(/BigInt/);
    allocator.freeMemory(block);
    allocator.destroyBuffer(r.buffer, r.allocation);
    expect(pool.destroy()).toEqual([]);
  });
});
