/**
 * Defragmentation through the typed API (engine/memory/defragmentation.ts, defragment.ts) on real Vulkan (lavapipe,
 * the validation layer on, any message fails): VMA's scenarios in our words (a full pool with every other buffer
 * freed, one allocation per pass, moves ignored at random, mapped allocations keeping their map count, each
 * algorithm, allocations made between passes), the contents of every moved buffer and of every mip and layer of every
 * moved image read back from the GPU, the objects the caller holds following their allocations, and the refusals and
 * destroy orders that must never crash.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  createAllocator,
  DestroyedResourceError,
  InvalidStateError,
  MemoryUsage,
  OutOfDeviceMemoryError,
  type Allocation,
  type Allocator,
  type Pool,
} from "../../engine/index.js";
import { native, oracleNative, setAllocatorAddon } from "../../engine/native.js";
import { rawHandle } from "../../engine/vulkan/handles.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";
import { mulberry } from "../helpers/random.js";

const gpu = useGpuContext({ applicationName: "vkmem defragmentation tests" });

/** Runs `fn`; the suite's hooks fail the test on any validation message. */
async function check(fn: () => void): Promise<void> {
  fn();
}

const KiB = 1024;
const TRANSFER = vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT;
const STORAGE = 0x20;
const LAYOUT_SHADER_READ = 5;
const LAYOUT_TRANSFER_DST = 7;
const LAYOUT_TRANSFER_SRC = 6;

let allocator: Allocator;
let pool: Pool;

function makePool(name: string, blockSize = 1024 * KiB, usage = TRANSFER | STORAGE): Pool {
  const memoryTypeIndex = allocator.findMemoryTypeIndexForBufferInfo(
    { size: 1024, usage },
    { usage: MemoryUsage.Auto },
  );
  return allocator.createPool({ memoryTypeIndex }, { name, blockSize });
}

beforeEach(() => {
  allocator = createAllocator(gpu.context, { label: "defrag", defragmentation: true });
  pool = makePool("fragmented");
});
afterEach(() => {
  if (!allocator.destroyed) allocator.destroy();
});

/** A host-visible staging buffer of `size` bytes (created and destroyed by the caller). */
function staging(size: number) {
  return allocator.createBuffer(
    { size, usage: TRANSFER },
    { usage: MemoryUsage.Auto, hostAccess: "random", mapped: true, name: "staging" },
  );
}

/** Writes `words` (u32 pattern) into a device buffer through the GPU. */
function fillBuffer(buffer: unknown, size: number, word: number): void {
  const s = staging(size);
  new Uint32Array(s.allocation.mappedData!).fill(word);
  gpu.context.submitAndWait((cmd) =>
    nvk.vkCmdCopyBuffer(cmd, s.buffer, buffer, 1, [new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 0, size })]),
  );
  allocator.destroyBuffer(s.buffer, s.allocation);
}

/** Reads a device buffer back through the GPU. */
function readBuffer(buffer: unknown, size: number): Uint32Array {
  const s = staging(size);
  gpu.context.submitAndWait((cmd) =>
    nvk.vkCmdCopyBuffer(cmd, buffer, s.buffer, 1, [new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 0, size })]),
  );
  const out = new Uint32Array(s.allocation.mappedData!.slice(0));
  allocator.destroyBuffer(s.buffer, s.allocation);
  return out;
}

function blockCount(p: Pool): number {
  return p.getStatistics().blockCount;
}

describe("allocator.defragment(): whole defragmentation with GPU copies", () => {
  test("a full pool with every other buffer freed: blocks freed, every moved buffer keeps its bytes and its object", async () => {
    await check(() => {
      const size = 64 * KiB;
      const all = [];
      for (let i = 0; i < 48; i++) {
        all.push(allocator.createBuffer({ size, usage: TRANSFER | STORAGE }, { pool, name: `b${i}` }));
      }
      expect(blockCount(pool)).toBe(3);
      const live = all.filter((_, i) => i % 2 === 0);
      for (const [i, b] of all.entries()) {
        if (i % 2 === 1) allocator.destroyBuffer(b.buffer, b.allocation);
        else fillBuffer(b.buffer, size, 0xa000 + i);
      }
      const before = new Map(live.map((b) => [b, { handle: rawHandle(b.buffer), offset: b.allocation.offset }]));
      const moved: bigint[] = [];
      const freesBefore = native.deferredFrees()[1];
      const stats = allocator.defragment(gpu.context, {
        pool,
        algorithm: "full",
        onMove: (m) => {
          expect(m.previousHandle).not.toBe(m.handle);
          moved.push(m.handle);
        },
      });
      expect(stats.allocationsMoved).toBeGreaterThan(0);
      expect(stats.deviceMemoryBlocksFreed).toBeGreaterThanOrEqual(1);
      expect(blockCount(pool)).toBe(3 - stats.deviceMemoryBlocksFreed);
      expect(moved.length).toBe(stats.allocationsMoved);
      let changed = 0;
      for (const [k, b] of live.entries()) {
        // The same nvk object names the buffer at its new place, and it holds its bytes.
        const now = rawHandle(b.buffer);
        expect(now).not.toBe(0n);
        if (now !== before.get(b)!.handle) {
          changed++;
          expect(moved).toContain(now);
        }
        expect(b.allocation.mapCount).toBe(0);
        const data = readBuffer(b.buffer, size);
        expect(data.every((w) => w === 0xa000 + k * 2)).toBe(true);
      }
      expect(changed).toBe(stats.allocationsMoved);
      for (const b of live) allocator.destroyBuffer(b.buffer, b.allocation);
      expect(pool.getStatistics().allocationCount).toBe(0);
      // The emptied blocks, the old buffers and the transfer buffers went off the JS thread (native/deferred_free.cpp),
      // all of them before the allocator's destroy() returned (the validation layer would report objects left at
      // the device's end).
      allocator.destroy();
      const [queued, done] = native.deferredFrees();
      expect(queued).toBe(0);
      expect(done - freesBefore).toBeGreaterThanOrEqual(stats.deviceMemoryBlocksFreed + stats.allocationsMoved);
    });
  });

  test("a pass over more memory blocks than a handful copies through one transfer buffer per block, bytes intact", async () => {
    await check(() => {
      const small = makePool("many blocks", 64 * KiB);
      const size = 16 * KiB;
      const all = [];
      for (let i = 0; i < 48; i++) {
        all.push(allocator.createBuffer({ size, usage: TRANSFER | STORAGE }, { pool: small, name: `m${i}` }));
      }
      expect(blockCount(small)).toBe(12);
      const live = all.filter((_, i) => i % 2 === 0);
      for (const [i, b] of all.entries()) {
        if (i % 2 === 1) allocator.destroyBuffer(b.buffer, b.allocation);
        else fillBuffer(b.buffer, size, 0xb000 + i);
      }
      const stats = allocator.defragment(gpu.context, { pool: small, algorithm: "full" });
      expect(stats.passes).toBe(1);
      expect(stats.allocationsMoved).toBeGreaterThanOrEqual(9);
      expect(stats.deviceMemoryBlocksFreed).toBeGreaterThanOrEqual(5);
      for (const [k, b] of live.entries()) {
        expect(readBuffer(b.buffer, size).every((w) => w === 0xb000 + k * 2)).toBe(true);
        allocator.destroyBuffer(b.buffer, b.allocation);
      }
      small.destroy();
    });
  });

  test("images move with every mip level and array layer, and keep their layout", async () => {
    await check(() => {
      const imagePool = allocator.createPool(
        {
          memoryTypeIndex: allocator.findMemoryTypeIndexForImageInfo(
            { format: 37, extent: { width: 32, height: 32 }, usage: 0x7 },
            { usage: MemoryUsage.Auto },
          ),
        },
        { name: "images", blockSize: 1024 * KiB },
      );
      const info = {
        format: 37,
        extent: { width: 64, height: 64 },
        mipLevels: 4,
        arrayLayers: 2,
        usage: vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT | 0x4,
      };
      const images = [];
      for (let i = 0; i < 72; i++) images.push(allocator.createImage(info, { pool: imagePool, name: `img${i}` }));
      const blocksBefore = blockCount(imagePool);
      const live = images.filter((_, i) => i % 3 === 0);
      const value = (img: number, mip: number, layer: number) => ((img * 16 + mip * 4 + layer) * 0x01010101) >>> 0;
      // Each subresource gets its own value, then every image goes to SHADER_READ_ONLY.
      const regions = (img: number, cb: (mip: number, layer: number, bytes: number) => void) => {
        for (let mip = 0; mip < 4; mip++) for (let layer = 0; layer < 2; layer++) cb(mip, layer, (64 >> mip) ** 2 * 4);
      };
      const total = 2 * [0, 1, 2, 3].reduce((t, m) => t + (64 >> m) ** 2 * 4, 0);
      const transferImage = (image: unknown, index: number, toImage: boolean, s: { buffer: unknown }) =>
        gpu.context.submitAndWait((cmd) => {
          const range = new nvk.VkImageSubresourceRange({
            aspectMask: 1,
            baseMipLevel: 0,
            levelCount: 4,
            baseArrayLayer: 0,
            layerCount: 2,
          });
          const work = toImage ? LAYOUT_TRANSFER_DST : LAYOUT_TRANSFER_SRC;
          const from = toImage ? 0 : LAYOUT_SHADER_READ;
          const barrier = (oldLayout: number, newLayout: number) =>
            new nvk.VkImageMemoryBarrier({
              srcAccessMask: 0x10000,
              dstAccessMask: 0x8000 | 0x10000,
              oldLayout,
              newLayout,
              srcQueueFamilyIndex: 0xffffffff,
              dstQueueFamilyIndex: 0xffffffff,
              image,
              subresourceRange: range,
            });
          nvk.vkCmdPipelineBarrier(cmd, 0x10000, 0x10000, 0, 0, null, 0, null, 1, [barrier(from, work)]);
          let offset = 0;
          const copies: any[] = [];
          regions(index, (mip, layer, bytes) => {
            copies.push(
              new nvk.VkBufferImageCopy({
                bufferOffset: offset,
                imageSubresource: new nvk.VkImageSubresourceLayers({
                  aspectMask: 1,
                  mipLevel: mip,
                  baseArrayLayer: layer,
                  layerCount: 1,
                }),
                imageOffset: new nvk.VkOffset3D({ x: 0, y: 0, z: 0 }),
                imageExtent: new nvk.VkExtent3D({ width: 64 >> mip, height: 64 >> mip, depth: 1 }),
              }),
            );
            offset += bytes;
          });
          if (toImage) nvk.vkCmdCopyBufferToImage(cmd, s.buffer, image, work, copies.length, copies);
          else nvk.vkCmdCopyImageToBuffer(cmd, image, work, s.buffer, copies.length, copies);
          nvk.vkCmdPipelineBarrier(cmd, 0x10000, 0x10000, 0, 0, null, 0, null, 1, [barrier(work, LAYOUT_SHADER_READ)]);
        });
      for (const [i, img] of images.entries()) {
        if (i % 3 !== 0) {
          allocator.destroyImage(img.image, img.allocation);
          continue;
        }
        const s = staging(total);
        const words = new Uint32Array(s.allocation.mappedData!);
        let at = 0;
        regions(i, (mip, layer, bytes) => {
          words.fill(value(i, mip, layer), at / 4, (at + bytes) / 4);
          at += bytes;
        });
        transferImage(img.image, i, true, s);
        allocator.destroyBuffer(s.buffer, s.allocation);
      }
      const stats = allocator.defragment(gpu.context, { pool: imagePool, algorithm: "full" });
      expect(stats.allocationsMoved).toBeGreaterThan(0);
      expect(blockCount(imagePool)).toBeLessThan(blocksBefore);
      for (const [k, img] of live.entries()) {
        const i = k * 3;
        const s = staging(total);
        transferImage(img.image, i, false, s);
        const words = new Uint32Array(s.allocation.mappedData!);
        let at = 0;
        regions(i, (mip, layer, bytes) => {
          const part = words.subarray(at / 4, (at + bytes) / 4);
          expect(
            part.every((w) => w === value(i, mip, layer)),
            `image ${i} mip ${mip} layer ${layer}`,
          ).toBe(true);
          at += bytes;
        });
        allocator.destroyBuffer(s.buffer, s.allocation);
        allocator.destroyImage(img.image, img.allocation);
      }
    });
  });

  test("one allocation per pass: each pass moves at most one, and the run still frees blocks", async () => {
    await check(() => {
      const all = [];
      for (let i = 0; i < 32; i++) all.push(allocator.createBuffer({ size: 64 * KiB, usage: TRANSFER }, { pool }));
      for (const [i, b] of all.entries()) if (i % 4 !== 0) allocator.destroyBuffer(b.buffer, b.allocation);
      const context = allocator.beginDefragmentation({ pool, algorithm: "full", maxAllocationsPerPass: 1 });
      let passes = 0;
      for (;;) {
        const moves = context.beginPass();
        if (moves === null) break;
        passes++;
        expect(moves.length).toBeLessThanOrEqual(1);
        for (const m of moves) m.operation = "ignore";
        if (context.endPass()) break;
        if (passes > 64) break;
      }
      const stats = context.end();
      expect(stats.passes).toBe(passes);
      expect(stats.allocationsMoved).toBe(0);
      // The same with copies: at most one per pass, and blocks are freed.
      const run = allocator.defragment(gpu.context, { pool, algorithm: "full", maxAllocationsPerPass: 1 });
      expect(run.passes).toBeGreaterThanOrEqual(run.allocationsMoved);
      expect(run.allocationsMoved).toBeGreaterThan(0);
      for (const [i, b] of all.entries()) if (i % 4 === 0) allocator.destroyBuffer(b.buffer, b.allocation);
    });
  });

  test("a planning limit interrupts passes without ending the defragmentation early", async () => {
    await check(() => {
      const all = [];
      for (let i = 0; i < 48; i++) all.push(allocator.createBuffer({ size: 64 * KiB, usage: TRANSFER }, { pool }));
      for (const [i, b] of all.entries()) {
        if (i % 2 === 1) allocator.destroyBuffer(b.buffer, b.allocation);
        else fillBuffer(b.buffer, 64 * KiB, 0xf000 + i);
      }
      // One microsecond: VMA's planning is cut short often, some passes with no move at all (no pass is open then).
      const stats = allocator.defragment(gpu.context, { pool, algorithm: "full", maxPlanningMicroseconds: 1 });
      const reference = allocator.defragment(gpu.context, { pool, algorithm: "full" });
      expect(stats.deviceMemoryBlocksFreed + reference.deviceMemoryBlocksFreed).toBeGreaterThanOrEqual(1);
      expect(reference.allocationsMoved).toBe(0); // the interrupted run finished the job
      for (const [i, b] of all.entries()) {
        if (i % 2 === 0) expect(readBuffer(b.buffer, 64 * KiB).every((w) => w === 0xf000 + i)).toBe(true);
      }
    });
  });

  test("a pass sets its own planning limit, only on a context begun with one", async () => {
    await check(() => {
      const all = [];
      for (let i = 0; i < 32; i++) all.push(allocator.createBuffer({ size: 64 * KiB, usage: TRANSFER }, { pool }));
      for (const [i, b] of all.entries()) if (i % 2 === 1) allocator.destroyBuffer(b.buffer, b.allocation);
      const limited = allocator.beginDefragmentation({ pool, algorithm: "full", maxPlanningMicroseconds: 50 });
      for (const bad of [0, 1.5, -1, "5"]) {
        expect(() => limited.beginPass(bad as number)).toThrow(
          /DefragmentationContext\.beginPass: maxPlanningMicroseconds must be an integer in \[1, 1e12\], got/,
        );
      }
      // Passes at 1 µs, then at an hour: each plans under its own limit, and the defragmentation runs to its end.
      let passes = 0;
      for (let moves = limited.beginPass(1); moves !== null; moves = limited.beginPass(passes < 3 ? 1 : 3.6e9)) {
        for (const m of moves) m.operation = "ignore";
        if (moves.length > 0) limited.endPass();
        if (++passes > 200) throw new Error("the defragmentation never ended");
      }
      expect(limited.end().allocationsMoved).toBe(0);
      const unlimited = allocator.beginDefragmentation({ pool, algorithm: "full" });
      expect(() => unlimited.beginPass(100)).toThrow(InvalidStateError);
      unlimited.end();
      for (const [i, b] of all.entries()) if (i % 2 === 0) allocator.destroyBuffer(b.buffer, b.allocation);
    });
  });

  test("each algorithm runs to completion and never loses a byte", async () => {
    await check(() => {
      for (const algorithm of ["fast", "balanced", "full", "extensive"] as const) {
        const p = makePool(`pool-${algorithm}`);
        const rand = mulberry(7);
        const live: { buffer: unknown; allocation: Allocation; size: number; word: number }[] = [];
        for (let i = 0; i < 40; i++) {
          const size = (1 + Math.floor(rand() * 16)) * 4 * KiB;
          const b = allocator.createBuffer({ size, usage: TRANSFER }, { pool: p });
          if (rand() < 0.5) allocator.destroyBuffer(b.buffer, b.allocation);
          else {
            fillBuffer(b.buffer, size, 0xb000 + i);
            live.push({ buffer: b.buffer, allocation: b.allocation, size, word: 0xb000 + i });
          }
        }
        const stats = allocator.defragment(gpu.context, { pool: p, algorithm });
        expect(stats.bytesMoved, algorithm).toBeGreaterThanOrEqual(0);
        for (const b of live) {
          expect(
            readBuffer(b.buffer, b.size).every((w) => w === b.word),
            algorithm,
          ).toBe(true);
          allocator.destroyBuffer(b.buffer, b.allocation);
        }
        p.destroy();
      }
    });
  });
});

describe("the pass API", () => {
  /** Host-visible raw allocations of 64 KiB, patterned, with all but every third freed. */
  function fragmentMapped(p: Pool) {
    const memoryType = p.memoryTypeIndex;
    const all: Allocation[] = [];
    for (let i = 0; i < 36; i++) {
      all.push(
        allocator.allocateMemory(
          { size: 64 * KiB, alignment: 256, memoryTypeBits: 1 << memoryType },
          { pool: p, usage: MemoryUsage.CpuToGpu, name: `m${i}` },
        ),
      );
    }
    const live = all.filter((_, i) => i % 3 === 0);
    for (const [i, a] of all.entries()) {
      if (i % 3 !== 0) allocator.freeMemory(a);
      else new Uint32Array(a.map()).fill(0xc000 + i);
    }
    return live;
  }

  test("mapped allocations keep their map count; old views are detached and new ones see the bytes; some moves ignored", async () => {
    await check(() => {
      const hostPool = allocator.createPool(
        {
          memoryTypeIndex: allocator.findMemoryTypeIndexForBufferInfo(
            { size: 1024, usage: TRANSFER },
            { usage: MemoryUsage.Auto, hostAccess: "random" },
          ),
        },
        { name: "host", blockSize: 1024 * KiB },
      );
      const live = fragmentMapped(hostPool);
      live[0].map(); // mapped twice
      const views = new Map(live.map((a) => [a, a.mappedData!]));
      const rand = mulberry(3);
      const context = allocator.beginDefragmentation({ pool: hostPool, algorithm: "full" });
      const copied = new Set<Allocation>();
      const ignored = new Set<Allocation>();
      for (;;) {
        const moves = context.beginPass();
        if (moves === null) break;
        for (const move of moves) {
          expect(move.source).not.toBeNull();
          expect(live).toContain(move.source);
          if (rand() < 0.3) {
            move.operation = "ignore";
            ignored.add(move.source!);
            continue;
          }
          // The caller's copy, on the CPU (the memory is host-visible).
          new Uint8Array(move.destination.map()).set(new Uint8Array(move.source!.mappedData!));
          move.destination.unmap();
          copied.add(move.source!);
        }
        // A destination is the pass's: freeing it is refused.
        if (moves.length > 0) {
          expect(() => allocator.freeMemory(moves[0].destination)).toThrow(InvalidStateError);
          expect(() => allocator.freeMemory(moves[0].destination)).toThrow(/destination of a move/);
        }
        if (context.endPass()) break;
      }
      const stats = context.end();
      expect(stats.allocationsMoved).toBe([...copied].filter((a) => !ignored.has(a) || copied.has(a)).length);
      expect(copied.size).toBeGreaterThan(0);
      for (const [k, a] of live.entries()) {
        const i = k * 3;
        expect(a.mapCount).toBe(a === live[0] ? 2 : 1);
        if (copied.has(a)) expect(views.get(a)!.byteLength).toBe(0); // the old place's view is detached
        expect(new Uint32Array(a.mappedData!).every((w) => w === 0xc000 + i)).toBe(true);
      }
      for (const a of live) {
        while (a.mapCount > 0) a.unmap();
        allocator.freeMemory(a);
      }
    });
  });

  test("allocations made between passes are not disturbed, and the pass after them goes on", async () => {
    await check(() => {
      const all = [];
      for (let i = 0; i < 32; i++) all.push(allocator.createBuffer({ size: 64 * KiB, usage: TRANSFER }, { pool }));
      for (const [i, b] of all.entries()) {
        if (i % 2 === 1) allocator.destroyBuffer(b.buffer, b.allocation);
        else fillBuffer(b.buffer, 64 * KiB, 0xd000 + i);
      }
      const context = allocator.beginDefragmentation({ pool, algorithm: "full", maxAllocationsPerPass: 2 });
      const fresh = [];
      let passes = 0;
      for (;;) {
        const moves = context.beginPass();
        if (moves === null) break;
        for (const m of moves) m.operation = "ignore";
        context.endPass();
        const b = allocator.createBuffer({ size: 16 * KiB, usage: TRANSFER }, { pool });
        fillBuffer(b.buffer, 16 * KiB, 0xe000 + passes);
        fresh.push({ ...b, word: 0xe000 + passes });
        if (++passes >= 4) break;
      }
      context.end();
      for (const f of fresh) expect(readBuffer(f.buffer, 16 * KiB).every((w) => w === f.word)).toBe(true);
      const stats = allocator.defragment(gpu.context, { pool, algorithm: "full" });
      expect(stats.allocationsMoved).toBeGreaterThan(0);
      for (const f of fresh) expect(readBuffer(f.buffer, 16 * KiB).every((w) => w === f.word)).toBe(true);
      for (const [i, b] of all.entries()) {
        if (i % 2 === 0) expect(readBuffer(b.buffer, 64 * KiB).every((w) => w === 0xd000 + i)).toBe(true);
      }
    });
  });

  test("a copy of a buffer vkmem made without its replacement is refused; the pass stays open and can be ignored", async () => {
    await check(() => {
      const all = [];
      for (let i = 0; i < 32; i++) all.push(allocator.createBuffer({ size: 64 * KiB, usage: TRANSFER }, { pool }));
      for (const [i, b] of all.entries()) if (i % 2 === 1) allocator.destroyBuffer(b.buffer, b.allocation);
      const context = allocator.beginDefragmentation({ pool, algorithm: "full" });
      const moves = context.beginPass()!;
      expect(moves.length).toBeGreaterThan(0);
      expect(() => context.endPass()).toThrow(InvalidStateError);
      expect(() => context.endPass()).toThrow(/without its replacement/);
      expect(context.passOpen).toBe(true);
      for (const m of moves) m.operation = "ignore";
      context.endPass();
      expect(() => (moves[0].operation = "copy")).toThrow(/pass has ended/);
      const stats = context.end();
      expect(stats.allocationsMoved).toBe(0);
    });
  });

  test("moves of allocations the context cannot name are ignored", async () => {
    await check(() => {
      const plain = createAllocator(gpu.context, { label: "plain" });
      const memoryTypeIndex = plain.findMemoryTypeIndexForBufferInfo(
        { size: 1024, usage: TRANSFER },
        { usage: MemoryUsage.Auto },
      );
      const p = plain.createPool({ memoryTypeIndex }, { blockSize: 1024 * KiB });
      const all = [];
      for (let i = 0; i < 32; i++) all.push(plain.createBuffer({ size: 64 * KiB, usage: TRANSFER }, { pool: p }));
      for (const [i, b] of all.entries()) if (i % 2 === 1) plain.destroyBuffer(b.buffer, b.allocation);
      const known = all.filter((_, i) => i % 4 === 0);
      const stats = plain.defragment(gpu.context, {
        pool: p,
        algorithm: "full",
        allocations: known.map((b) => b.allocation),
      });
      expect(stats.movesIgnored).toBeGreaterThan(0);
      const unknown = all.filter((_, i) => i % 2 === 0 && i % 4 !== 0);
      // Nothing the caller holds changed behind its back: unknown buffers kept their handles.
      for (const b of unknown) expect(rawHandle(b.buffer)).not.toBe(0n);
      plain.destroy();
    });
  });

  test("an allocation with live aliases stays where it is; its aliases keep working", async () => {
    await check(() => {
      const all = [];
      for (let i = 0; i < 32; i++) {
        all.push(allocator.createBuffer({ size: 64 * KiB, usage: TRANSFER }, { pool, canAlias: true }));
      }
      for (const [i, b] of all.entries()) {
        if (i % 2 === 1) allocator.destroyBuffer(b.buffer, b.allocation);
        else fillBuffer(b.buffer, 64 * KiB, 0x7000 + i);
      }
      const aliased = all[30];
      const alias = allocator.createAliasingBuffer(aliased.allocation, { size: 64 * KiB, usage: TRANSFER });
      const offset = aliased.allocation.offset;
      const stats = allocator.defragment(gpu.context, { pool, algorithm: "full" });
      expect(stats.allocationsMoved).toBeGreaterThan(0);
      expect(aliased.allocation.offset).toBe(offset);
      expect(readBuffer(alias.buffer, 64 * KiB).every((w) => w === 0x7000 + 30)).toBe(true);
      alias.destroy();
      for (const [i, b] of all.entries()) {
        if (i % 2 === 0) expect(readBuffer(b.buffer, 64 * KiB).every((w) => w === 0x7000 + i)).toBe(true);
      }
    });
  });

  test("a buffer batch planned into a pass cannot be destroyed until the pass ends, and nothing of it is lost", async () => {
    await check(() => {
      const own = createAllocator(gpu.context, { label: "batches", preferredLargeHeapBlockSize: 1024 * KiB });
      const first = own.createBuffers(8, { size: 64 * KiB, usage: TRANSFER });
      const singles = [];
      for (let i = 0; i < 16; i++) singles.push(own.createBuffer({ size: 64 * KiB, usage: TRANSFER }));
      const batch = own.createBuffers(24, { size: 64 * KiB, usage: TRANSFER });
      for (const b of singles) own.destroyBuffer(b.buffer, b.allocation);
      const context = own.beginDefragmentation({ algorithm: "full" });
      const moves = context.beginPass()!;
      expect(moves.length).toBeGreaterThan(0);
      expect(moves.every((m) => m.source === null)).toBe(true); // batch members are not Allocations: never moved
      expect(() => own.destroyBuffers(batch)).toThrow(InvalidStateError);
      expect(own.allocationCount).toBe(32 + moves.length);
      context.endPass();
      context.end();
      own.destroyBuffers(batch);
      own.destroyBuffers(first);
      expect(own.allocationCount).toBe(0);
      own.destroy();
    });
  });

  test("refusals: linear and buddy pools, a second defragmentation, bad options", async () => {
    await check(() => {
      const memoryTypeIndex = pool.memoryTypeIndex;
      const linear = allocator.createPool({ memoryTypeIndex }, { algorithm: "linear", blockSize: 1024 * KiB });
      expect(() => allocator.beginDefragmentation({ pool: linear })).toThrow(InvalidStateError);
      expect(() => allocator.beginDefragmentation({ pool: linear })).toThrow(/linear pool/);
      const buddy = allocator.createPool({ memoryTypeIndex }, { algorithm: "buddy", blockSize: 1024 * KiB });
      expect(() => allocator.beginDefragmentation({ pool: buddy })).toThrow(/buddy pool/);
      expect(() => allocator.beginDefragmentation({ algorithm: "quick" as never })).toThrow(/options.algorithm.*quick/);
      expect(() => allocator.beginDefragmentation({ maxBytesPerPass: -1 })).toThrow(/options.maxBytesPerPass.*-1/);
      expect(() => allocator.beginDefragmentation({ allocations: 3 as never })).toThrow(TypeError);
      expect(() => allocator.defragment({} as never)).toThrow(/gpu must be a vkmem Context/);
      const context = allocator.beginDefragmentation({ pool });
      expect(() => allocator.beginDefragmentation()).toThrow(/in progress already/);
      context.end();
      expect(() => context.end()).toThrow(DestroyedResourceError);
      allocator.beginDefragmentation().end();
    });
  });
});

describe("destroy orders mid-pass never crash", () => {
  function openPass(): {
    context: ReturnType<Allocator["beginDefragmentation"]>;
    bufs: { buffer: unknown; allocation: Allocation }[];
  } {
    const bufs = [];
    for (let i = 0; i < 32; i++) bufs.push(allocator.createBuffer({ size: 64 * KiB, usage: TRANSFER }, { pool }));
    for (const [i, b] of bufs.entries()) if (i % 2 === 1) allocator.destroyBuffer(b.buffer, b.allocation);
    const context = allocator.beginDefragmentation({ pool, algorithm: "full" });
    expect(context.beginPass()!.length).toBeGreaterThan(0);
    return { context, bufs: bufs.filter((_, i) => i % 2 === 0) };
  }

  test("the pool destroyed during a pass", async () => {
    await check(() => {
      const { context, bufs } = openPass();
      pool.destroy();
      expect(context.ended).toBe(true);
      expect(() => context.endPass()).toThrow(DestroyedResourceError);
      expect(() => context.end()).toThrow(DestroyedResourceError);
      expect(bufs[0].allocation.destroyed).toBe(true);
      // A new defragmentation of the default pools may begin.
      allocator.beginDefragmentation().end();
    });
  });

  test("the allocator destroyed during a pass", async () => {
    await check(() => {
      const { context } = openPass();
      allocator.destroy();
      expect(context.ended).toBe(true);
      expect(() => context.beginPass()).toThrow(DestroyedResourceError);
    });
  });

  test("a move's destination freed by the caller is refused; a source freed mid-pass is freed when the pass ends", async () => {
    await check(() => {
      const { context, bufs } = openPass();
      const move = context.moves[0];
      expect(() => allocator.freeMemory(move.destination)).toThrow(InvalidStateError);
      const source = move.source!;
      const owner = bufs.find((b) => b.allocation === source)!;
      allocator.destroyBuffer(owner.buffer, source);
      expect(source.destroyed).toBe(true);
      for (const m of context.moves) if (m !== move) m.operation = "ignore";
      context.endPass();
      // VMA freed it when the pass ended (its move became "destroy"); the destination went with the pass.
      expect(pool.getStatistics().allocationCount).toBe(bufs.length - 1);
      context.end();
      expect(move.destination.destroyed).toBe(true);
    });
  });
});

describe("deferred frees and a device that refuses memory (native/deferred_free.cpp)", () => {
  test("an allocation the device refuses while frees are queued waits for them and is made; with none queued it fails typed", async () => {
    await check(() => {
      // The oracles build's fault injection: its background freer held back, its next device allocation refused.
      const oracles = oracleNative();
      setAllocatorAddon(oracles);
      let own: Allocator;
      try {
        own = createAllocator(gpu.context, { label: "refusing device", defragmentation: true });
      } finally {
        setAllocatorAddon(null);
      }
      try {
        const memoryTypeIndex = own.findMemoryTypeIndexForBufferInfo(
          { size: 1024, usage: TRANSFER },
          { usage: MemoryUsage.Auto },
        );
        const small = own.createPool({ memoryTypeIndex }, { name: "small", blockSize: 64 * KiB });
        const all = [];
        for (let i = 0; i < 16; i++) all.push(own.createBuffer({ size: 16 * KiB, usage: TRANSFER }, { pool: small }));
        for (const [i, b] of all.entries()) if (i % 2 === 1) own.destroyBuffer(b.buffer, b.allocation);
        oracles.deferredFreeFaults(true, 0);
        const stats = own.defragment(gpu.context, { pool: small, algorithm: "full" });
        expect(stats.deviceMemoryBlocksFreed).toBeGreaterThanOrEqual(1);
        // Held back: the emptied blocks (and the pass's old buffers) are still queued.
        expect(oracles.deferredFrees()[0]).toBeGreaterThan(0);
        const retried = oracles.deferredFreeFaults(true, 1);
        const big = own.createDedicatedBuffer({ size: 256 * KiB, usage: TRANSFER }, { name: "after the refusal" });
        expect(big.allocation.size).toBe(256 * KiB);
        // It waited for the queue (which let the freer go) and asked the device again.
        expect(oracles.deferredFrees()[0]).toBe(0);
        expect(oracles.deferredFreeFaults(false, 0)).toBe(retried + 1);
        // Nothing queued: the refusal is the caller's typed error, and what was made stays. The buffer may take
        // only the one memory type: where several would do (a discrete GPU), VMA tries the next after a refusal.
        oracles.deferredFreeFaults(false, 1);
        const oneType = { name: "refused", memoryTypeBits: 1 << big.allocation.memoryType };
        expect(() => own.createDedicatedBuffer({ size: 256 * KiB, usage: TRANSFER }, oneType)).toThrow(
          OutOfDeviceMemoryError,
        );
        expect(oracles.deferredFreeFaults(false, 0)).toBe(retried + 1);
        expect(big.allocation.destroyed).toBe(false);
        own.destroyBuffer(big.buffer, big.allocation);
        for (const [i, b] of all.entries()) if (i % 2 === 0) own.destroyBuffer(b.buffer, b.allocation);
        small.destroy();
      } finally {
        oracles.deferredFreeFaults(false, 0);
        own.destroy();
      }
    });
  });
});
