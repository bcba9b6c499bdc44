/**
 * Defragmentation on a real GPU, as a plain Node program (the GPU machine has no vitest): on lavapipe every memory
 * type is host-visible and coherent, so only hardware shows moves of device-only memory, of images in tiled layouts,
 * and the GPU's own copies. Each check prints PASS/FAIL; the validation layer (with synchronization validation) is on
 * when present and any message fails the run; the exit code is the number of failures.
 *
 * - `defragment()` of a device-local pool of buffers and of a pool of mipmapped array images with every other one
 *   freed: blocks freed, every moved buffer and every mip and layer of every moved image read back and compared;
 * - the FrameManager's live defragmentation over frames after a level-load/unload workload, every frame reading some
 *   of the game's resources back and checking their bytes, twice: once with the game only drawing (reading) while it
 *   runs, where memory blocks must be freed, and once with the game still loading and unloading now and then, where
 *   every read must still be right (new resources fill the space being made, so whether a block ends up empty is up
 *   to the game, not to the defragmentation).
 *
 * Run: node dist/bench/gpu/defrag-check.js
 */
import {
  createAllocator,
  createContext,
  createFrameManager,
  MemoryUsage,
  type Allocator,
  type Buffer,
  type Context,
  type Texture,
} from "../../engine/index.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import { mulberry } from "../random.js";

let failures = 0;
function check(name: string, ok: boolean, detail: string): void {
  if (!ok) failures++;
  console.log(`${ok ? "PASS" : "FAIL"}  ${name}: ${detail}`);
}

const MiB = 1024 * 1024;
const TRANSFER = 0x1 | 0x2;

function staging(allocator: Allocator, size: number) {
  return allocator.createBuffer(
    { size, usage: TRANSFER },
    { usage: MemoryUsage.Auto, hostAccess: "random", mapped: true, name: "staging" },
  );
}

function copyBuffer(context: Context, src: unknown, dst: unknown, size: number): void {
  context.submitAndWait((cmd) =>
    nvk.vkCmdCopyBuffer(cmd, src, dst, 1, [new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 0, size })]),
  );
}

function buffers(context: Context, allocator: Allocator): void {
  const size = 2 * MiB;
  const memoryTypeIndex = allocator.findMemoryTypeIndexForBufferInfo(
    { size, usage: TRANSFER | 0x80 },
    { usage: MemoryUsage.GpuOnly },
  );
  const pool = allocator.createPool({ memoryTypeIndex }, { name: "device-local", blockSize: 32 * MiB });
  const all = [];
  for (let i = 0; i < 96; i++) all.push(allocator.createBuffer({ size, usage: 0x80 | TRANSFER }, { pool }));
  const s = staging(allocator, size);
  const live = [];
  for (const [i, b] of all.entries()) {
    if (i % 2 === 1) {
      allocator.destroyBuffer(b.buffer, b.allocation);
      continue;
    }
    new Uint32Array(s.allocation.mappedData!).fill(0xa0000 + i);
    copyBuffer(context, s.buffer, b.buffer, size);
    live.push({ ...b, word: 0xa0000 + i });
  }
  const before = pool.getStatistics().blockCount;
  const stats = allocator.defragment(context, { pool, algorithm: "full" });
  const after = pool.getStatistics().blockCount;
  let wrong = 0;
  for (const b of live) {
    copyBuffer(context, b.buffer, s.buffer, size);
    if (!new Uint32Array(s.allocation.mappedData!).every((w) => w === b.word)) wrong++;
    allocator.destroyBuffer(b.buffer, b.allocation);
  }
  allocator.destroyBuffer(s.buffer, s.allocation);
  pool.destroy();
  check(
    "defragment(): device-local buffers move, blocks are freed, every byte arrives",
    stats.allocationsMoved > 0 && after < before && wrong === 0,
    `memory type ${memoryTypeIndex}, moved ${stats.allocationsMoved} (${stats.bytesMoved / MiB} MiB) in ${stats.passes} pass(es), blocks ${before} -> ${after}, wrong ${wrong}`,
  );
}

function images(context: Context, allocator: Allocator): void {
  const info = { format: 37, extent: { width: 256, height: 256 }, mipLevels: 5, arrayLayers: 3, usage: 0x7 };
  const memoryTypeIndex = allocator.findMemoryTypeIndexForImageInfo(info, { usage: MemoryUsage.GpuOnly });
  const pool = allocator.createPool({ memoryTypeIndex }, { name: "images", blockSize: 16 * MiB });
  const levels = [0, 1, 2, 3, 4].map((m) => 256 >> m);
  const total = 3 * levels.reduce((t, e) => t + e * e * 4, 0);
  const s = staging(allocator, total);
  const regions = () => {
    const out = [];
    let offset = 0;
    for (const [mip, e] of levels.entries()) {
      for (let layer = 0; layer < 3; layer++) {
        out.push({ mip, layer, offset, bytes: e * e * 4, e });
        offset += e * e * 4;
      }
    }
    return out;
  };
  const transfer = (image: unknown, toImage: boolean) =>
    context.submitAndWait((cmd) => {
      const range = new nvk.VkImageSubresourceRange({
        aspectMask: 1,
        baseMipLevel: 0,
        levelCount: 5,
        baseArrayLayer: 0,
        layerCount: 3,
      });
      const work = toImage ? 7 : 6;
      const barrier = (oldLayout: number, newLayout: number) =>
        new nvk.VkImageMemoryBarrier({
          srcAccessMask: 0x10000,
          dstAccessMask: 0x18000,
          oldLayout,
          newLayout,
          srcQueueFamilyIndex: 0xffffffff,
          dstQueueFamilyIndex: 0xffffffff,
          image,
          subresourceRange: range,
        });
      nvk.vkCmdPipelineBarrier(cmd, 0x10000, 0x10000, 0, 0, null, 0, null, 1, [barrier(toImage ? 0 : 5, work)]);
      const copies = regions().map(
        (r) =>
          new nvk.VkBufferImageCopy({
            bufferOffset: r.offset,
            imageSubresource: new nvk.VkImageSubresourceLayers({
              aspectMask: 1,
              mipLevel: r.mip,
              baseArrayLayer: r.layer,
              layerCount: 1,
            }),
            imageOffset: new nvk.VkOffset3D({ x: 0, y: 0, z: 0 }),
            imageExtent: new nvk.VkExtent3D({ width: r.e, height: r.e, depth: 1 }),
          }),
      );
      if (toImage) nvk.vkCmdCopyBufferToImage(cmd, s.buffer, image, work, copies.length, copies);
      else nvk.vkCmdCopyImageToBuffer(cmd, image, work, s.buffer, copies.length, copies);
      nvk.vkCmdPipelineBarrier(cmd, 0x10000, 0x10000, 0, 0, null, 0, null, 1, [barrier(work, 5)]);
    });
  const word = (i: number, mip: number, layer: number) => (i * 64 + mip * 4 + layer + 1) >>> 0;
  const all = [];
  for (let i = 0; i < 40; i++) all.push(allocator.createImage(info, { pool }));
  const live: { image: unknown; allocation: (typeof all)[number]["allocation"]; i: number }[] = [];
  for (const [i, img] of all.entries()) {
    if (i % 2 === 1) {
      allocator.destroyImage(img.image, img.allocation);
      continue;
    }
    const words = new Uint32Array(s.allocation.mappedData!);
    for (const r of regions()) words.fill(word(i, r.mip, r.layer), r.offset / 4, (r.offset + r.bytes) / 4);
    transfer(img.image, true);
    live.push({ image: img.image, allocation: img.allocation, i });
  }
  const before = pool.getStatistics().blockCount;
  const stats = allocator.defragment(context, { pool, algorithm: "full" });
  const after = pool.getStatistics().blockCount;
  let wrong = 0;
  for (const img of live) {
    transfer(img.image, false);
    const words = new Uint32Array(s.allocation.mappedData!);
    for (const r of regions()) {
      if (!words.subarray(r.offset / 4, (r.offset + r.bytes) / 4).every((w) => w === word(img.i, r.mip, r.layer))) {
        wrong++;
      }
    }
    allocator.destroyImage(img.image, img.allocation);
  }
  allocator.destroyBuffer(s.buffer, s.allocation);
  pool.destroy();
  check(
    "defragment(): optimal-tiling images move with every mip and layer intact",
    stats.allocationsMoved > 0 && after <= before && wrong === 0,
    `memory type ${memoryTypeIndex}, moved ${stats.allocationsMoved} (${(stats.bytesMoved / MiB).toFixed(1)} MiB), blocks ${before} -> ${after}, wrong subresources ${wrong}`,
  );
}

async function live(context: Context, loading: boolean): Promise<void> {
  const allocator = createAllocator(context, { label: "live", preferredLargeHeapBlockSize: 8 * MiB });
  const frames = createFrameManager(context, allocator, { label: "game" });
  const rand = mulberry(21);
  const made: { r: Buffer | Texture; word: number }[] = [];
  let next = 1;
  const load = (n: number) => {
    for (let i = 0; i < n; i++) {
      const word = next++;
      if (i % 6 === 0) {
        const t = frames.createTexture({ label: `t${word}`, width: 128, height: 128, format: 37 });
        frames.uploadImage(t, new Uint32Array(128 * 128).fill(word));
        made.push({ r: t, word });
      } else {
        const size = (16 + Math.floor(rand() * 48)) * 1024;
        const b = frames.createBuffer({ label: `b${word}`, size, usage: 0x80 });
        frames.upload(b, new Uint32Array(size / 4).fill(word));
        made.push({ r: b, word });
      }
    }
  };
  const unload = (p: number) => {
    for (let i = made.length - 1; i >= 0; i--) {
      if (rand() < p) {
        made[i].r.destroy();
        made.splice(i, 1);
      }
    }
  };
  let wrong = 0;
  let reads = 0;
  const pending: Promise<void>[] = [];
  const read = (e: { r: Buffer | Texture; word: number }) => {
    const p = "view" in e.r ? frames.downloadImage(e.r as Texture) : frames.download(e.r as Buffer);
    pending.push(
      p.then((bytes) => {
        reads++;
        if (!new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).every((w) => w === e.word)) wrong++;
      }),
    );
  };
  const frame = async (work: () => void) => {
    frames.beginFrame();
    work();
    frames.endFrame();
    await new Promise((r) => setImmediate(r));
  };
  for (let level = 0; level < 4; level++) {
    await frame(() => load(300));
    for (let f = 0; f < 3; f++) await frame(() => {});
    await frame(() => unload(0.6));
  }
  frames.waitIdle();
  // Blocks of the memory types the game's resources live in (the readbacks' host-visible memory comes and goes).
  const types = new Set(made.map((e) => e.r.allocation.memoryType));
  const gameBlocks = () =>
    allocator.calculateStatistics().memoryType.reduce((n, t, i) => n + (types.has(i) ? t.blockCount : 0), 0);
  const before = gameBlocks();
  frames.defragment();
  let f = 0;
  for (; f < 5000 && frames.defragmentation!.active; f++) {
    await frame(() => {
      for (let k = 0; k < 4; k++) read(made[Math.floor(rand() * made.length)]);
      if (loading && f % 30 === 10) load(6);
      if (loading && f % 30 === 20) unload(0.01);
    });
  }
  frames.waitIdle();
  await Promise.all(pending);
  const status = frames.defragmentation!;
  const after = gameBlocks();
  for (const e of made) e.r.destroy();
  frames.destroy();
  allocator.destroy();
  check(
    loading
      ? "FrameManager.defragment(): live while the game loads and unloads, every read sees its bytes"
      : "FrameManager.defragment(): live over frames, every read sees its bytes, blocks freed",
    !status.active &&
      status.resourcesMoved > 0 &&
      wrong === 0 &&
      (loading || (after < before && status.deviceMemoryBlocksFreed > 0)),
    `${f} frames, moved ${status.resourcesMoved} (${(status.bytesMoved / MiB).toFixed(1)} MiB), ignored ${status.movesIgnored}, blocks ${before} -> ${after} (VMA freed ${status.deviceMemoryBlocksFreed}), reads ${reads} wrong ${wrong}, CPU per frame max ${status.maxFrameMicroseconds.toFixed(0)} µs`,
  );
}

async function main(): Promise<number> {
  const context = createContext({
    applicationName: "vkmem defrag-check",
    validation: process.env.VK_LAYER_PATH !== undefined,
    synchronizationValidation: process.env.VK_LAYER_PATH !== undefined,
  });
  console.log(`device: ${context.deviceName}; validation ${process.env.VK_LAYER_PATH !== undefined ? "on" : "off"}`);
  const allocator = createAllocator(context, { label: "check", defragmentation: true });
  try {
    buffers(context, allocator);
    images(context, allocator);
  } finally {
    allocator.destroy();
  }
  await live(context, false);
  await live(context, true);
  const messages = context.validationMessages.filter((m) => m.severity === "error" || m.severity === "warning");
  check("no validation messages", messages.length === 0, messages.map((m) => m.message).join("\n") || "0");
  context.destroy();
  console.log(`defrag-check: ${failures} failure(s)`);
  return failures;
}

process.exitCode = await main();
