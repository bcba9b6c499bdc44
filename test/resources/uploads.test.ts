/**
 * Uploads, readback, transient memory and resource lifetimes of the FrameManager (engine/resources/transfers.ts,
 * upload-ring.ts, buffer.ts, texture.ts) on real Vulkan with synchronization validation on: any message fails.
 * Data goes through rings small enough to wrap and overflow, and is checked byte for byte against a model kept here.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  Buffer,
  createAllocator,
  createFrameManager,
  DestroyedResourceError,
  formatInfo,
  mipExtent,
  nvk,
  regionBytes,
  type Allocator,
  type Context,
  type FrameManager,
  InvalidStateError,
  MemoryUsage,
} from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
import { firstDifference } from "../helpers/bytes.js";
import { useGpuContext } from "../helpers/gpu.js";
import { rng } from "../helpers/random.js";

const gpu = useGpuContext({ applicationName: "vkmem upload tests", synchronizationValidation: true });

let context: Context;
let allocator: Allocator;
const KiB = 1024;
const STORAGE = vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "uploads" });
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

function randomBytes(next: (n: number) => number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = next(256);
  return out;
}

/** Runs `body` with a manager that is destroyed afterwards (its allocations must all be gone then). */
async function withManager(
  options: Parameters<typeof createFrameManager>[2],
  body: (m: FrameManager) => Promise<void> | void,
): Promise<void> {
  const before = allocator.allocationCount;
  const m = createFrameManager(context, allocator, options);
  try {
    await body(m);
  } finally {
    m.destroy();
  }
  expect(allocator.allocationCount).toBe(before);
}

/** Submits an empty frame (carrying what was recorded between frames) and waits for everything: readbacks resolve. */
function submitEmptyFrameAndWait(m: FrameManager): void {
  m.beginFrame();
  m.endFrame();
  m.waitIdle();
}

describe("buffer uploads", () => {
  test("random uploads over 40 frames read back exactly, through a staging ring that wraps", async () => {
    await withManager({ framesInFlight: 3, stagingRing: { size: 64 * KiB, maxSize: 64 * KiB } }, async (m) => {
      const next = rng(7);
      const buffers = [0, 1, 2].map((i) => m.createBuffer({ label: `target ${i}`, size: 48 * KiB, usage: STORAGE }));
      const model = buffers.map((b) => new Uint8Array(b.size));
      // Fill everything once so that the model is defined everywhere.
      for (let i = 0; i < buffers.length; i++) {
        model[i]!.set(randomBytes(next, model[i]!.length));
        m.upload(buffers[i]!, model[i]!);
      }
      let uploaded = 0;
      for (let frame = 0; frame < 40; frame++) {
        m.beginFrame();
        for (let k = 0; k < 4; k++) {
          const which = next(buffers.length);
          const size = 1 + next(12 * KiB);
          const offset = next(buffers[which]!.size - size);
          const data = randomBytes(next, size);
          m.upload(buffers[which]!, data, offset);
          model[which]!.set(data, offset);
          uploaded += size;
        }
        m.endFrame();
      }
      const reads = buffers.map((b) => m.download(b));
      submitEmptyFrameAndWait(m);
      const got = await Promise.all(reads);
      for (let i = 0; i < buffers.length; i++) expect(firstDifference(got[i]!, model[i]!)).toBe(-1);
      const stats = m.statistics;
      expect(stats.stagingRing.wraps).toBeGreaterThan(0);
      expect(stats.stagingRing.grows).toBe(0);
      expect(stats.transfers.uploadedBytes).toBe(uploaded + 3 * 48 * KiB);
      expect(stats.transfers.downloads).toBe(3);
      for (const b of buffers) b.destroy();
    });
  });

  test("many small uploads a frame to buffers in turn, some overwriting earlier ones of the frame, read back exactly", async () => {
    // Buffers written in turn make the recording group each phase's copies by buffer (native/copy_commands.cpp);
    // a write over bytes written earlier in the frame starts a new phase, which must still land after the first.
    await withManager({ stagingRing: { size: 1024 * KiB, maxSize: 1024 * KiB } }, async (m) => {
      const next = rng(23);
      const buffers = Array.from({ length: 12 }, (_, i) =>
        m.createBuffer({ label: `turn ${i}`, size: 16 * KiB, usage: STORAGE }),
      );
      // Vulkan memory starts undefined (lavapipe hands back what an earlier test freed): fill it first.
      const model = buffers.map((b) => randomBytes(next, b.size));
      for (let i = 0; i < buffers.length; i++) m.upload(buffers[i]!, model[i]!);
      for (let frame = 0; frame < 6; frame++) {
        m.beginFrame();
        for (let k = 0; k < 240; k++) {
          const which = k % buffers.length;
          const size = 1 + next(2 * KiB);
          const offset = next(16 * KiB - size);
          const data = randomBytes(next, size);
          m.upload(buffers[which]!, data, offset);
          model[which]!.set(data, offset);
        }
        m.endFrame();
      }
      const reads = buffers.map((b) => m.download(b));
      submitEmptyFrameAndWait(m);
      const got = await Promise.all(reads);
      for (let i = 0; i < buffers.length; i++) expect(firstDifference(got[i]!, model[i]!), `buffer ${i}`).toBe(-1);
      for (const b of buffers) b.destroy();
    });
  });

  test("one frame uploading more than the ring holds submits early and loses nothing", async () => {
    await withManager({ stagingRing: { size: 64 * KiB, maxSize: 64 * KiB } }, async (m) => {
      const big = m.createBuffer({ label: "big", size: 1024 * KiB, usage: STORAGE });
      const data = randomBytes(rng(11), big.size);
      m.beginFrame();
      m.upload(big, data);
      const small = m.createBuffer({ label: "small", size: 100, usage: STORAGE });
      m.upload(small, data.subarray(0, 100));
      const reads = [m.download(big), m.download(small)];
      const frameStats = m.frameStatistics!;
      m.endFrame();
      m.waitIdle();
      const [a, b] = await Promise.all(reads);
      expect(firstDifference(a!, data)).toBe(-1);
      expect(firstDifference(b!, data.subarray(0, 100))).toBe(-1);
      expect(frameStats.earlySubmits).toBeGreaterThanOrEqual(15);
      expect(frameStats.uploads).toBe(2);
      expect(frameStats.uploadedBytes).toBe(big.size + 100);
      big.destroy();
      small.destroy();
    });
  });

  test("a ring allowed to grow grows instead of submitting early, and frees the old block once drained", async () => {
    await withManager({ stagingRing: { size: 64 * KiB, maxSize: 1024 * KiB } }, async (m) => {
      const buffer = m.createBuffer({ label: "grown", size: 300 * KiB, usage: STORAGE });
      const data = randomBytes(rng(3), buffer.size);
      m.beginFrame();
      m.upload(buffer, data);
      const read = m.download(buffer);
      m.endFrame();
      m.waitIdle();
      expect(firstDifference(await read, data)).toBe(-1);
      const s = m.statistics.stagingRing;
      expect(s.grows).toBeGreaterThan(0);
      expect(s.capacity).toBeGreaterThanOrEqual(300 * KiB);
      expect(m.statistics.transfers.earlySubmits).toBe(0);
      // The first block drained: only the current one is left.
      expect(s.blocks).toBe(1);
      buffer.destroy();
    });
  });

  test("uploads between frames go with the next frame", async () => {
    await withManager({}, async (m) => {
      const buffer = m.createBuffer({ label: "early", size: 4096, usage: STORAGE });
      const data = randomBytes(rng(5), 4096);
      m.upload(buffer, data);
      expect(buffer.lastUsedSerial).toBe(1);
      const read = m.download(buffer);
      submitEmptyFrameAndWait(m);
      expect(firstDifference(await read, data)).toBe(-1);
      buffer.destroy();
    });
  });

  test("a slot's transfer pool is reset after a frame that used the transfer queue, and only then", async () => {
    // Every pool is reset by the addon (native/frame_commands.cpp): the frames' with their command buffers' begin, a
    // transfer pool of a device with a dedicated transfer queue (transfer-commands.ts) by frameResetPool, counted
    // here; nvk's vkResetCommandPool is never called. Elsewhere no transfer pool is made.
    const dedicated = context.transferQueueFamilyIndex !== context.queueFamilyIndex;
    await withManager({ framesInFlight: 2 }, async (m) => {
      const buffer = m.createBuffer({ label: "transfer queue", size: 128 * KiB, usage: STORAGE });
      const data = randomBytes(rng(11), 128 * KiB);
      const addon = m.allocator._native as unknown as { frameResetPool: (...args: unknown[]) => number };
      const original = addon.frameResetPool;
      const originalNvk = nvk.vkResetCommandPool;
      let resets = 0;
      let nvkResets = 0;
      addon.frameResetPool = (...args: unknown[]) => {
        resets++;
        return original(...args);
      };
      nvk.vkResetCommandPool = (...args: unknown[]) => {
        nvkResets++;
        return originalNvk(...args);
      };
      const frame = (): void => {
        m.beginFrame();
        m.endFrame();
      };
      try {
        for (let f = 0; f < 4; f++) frame();
        expect(resets).toBe(0);
        m.beginFrame(); // slot 0
        m.upload(buffer, data); // a new buffer's first large upload: the transfer queue's, where there is one
        m.endFrame();
        frame(); // slot 1: nothing to reset
        expect(resets).toBe(0);
        frame(); // slot 0 again: its transfer pool, once
        expect(resets).toBe(dedicated ? 1 : 0);
        for (let f = 0; f < 4; f++) frame();
        expect(resets).toBe(dedicated ? 1 : 0);
        expect(nvkResets).toBe(0);
      } finally {
        addon.frameResetPool = original;
        nvk.vkResetCommandPool = originalNvk;
      }
      expect(m.statistics.transfers.transferQueueUploads).toBe(dedicated ? 1 : 0);
      const read = m.download(buffer);
      submitEmptyFrameAndWait(m);
      expect(firstDifference(await read, data)).toBe(-1);
      buffer.destroy();
    });
  });
});

describe("uploads written in place (persistently mapped buffers)", () => {
  const MAPPED = { hostAccess: "sequentialWrite", allowTransferInstead: true, mapped: true } as const;

  function mappedBytes(buffer: Buffer): Uint8Array {
    return new Uint8Array(buffer.allocation.mappedData!, 0, buffer.size);
  }

  test("a mapped buffer no frame in flight used is written at once, with no staging copy, and the GPU reads it", async () => {
    await withManager({ framesInFlight: 2 }, async (m) => {
      const buffer = m.createBuffer({ label: "in place", size: 8 * KiB, usage: STORAGE, memory: MAPPED });
      expect(buffer.allocation.persistentlyMapped).toBe(true);
      const data = randomBytes(rng(11), 3 * KiB);
      m.beginFrame();
      m.upload(buffer, data, 2 * KiB);
      // Already there when upload() returns: no copy waits for the frame.
      expect(firstDifference(mappedBytes(buffer).subarray(2 * KiB, 5 * KiB), data)).toBe(-1);
      expect(buffer.lastUsedSerial).toBe(0);
      const read = m.download(buffer, 2 * KiB, 3 * KiB);
      m.endFrame();
      const stats = m.frameStatistics!;
      expect(stats.uploads).toBe(1);
      expect(stats.uploadsInPlace).toBe(1);
      expect(stats.uploadedBytes).toBe(3 * KiB);
      expect(stats.ringUsedBytes).toBe(0);
      expect(m.statistics.transfers).toMatchObject({ uploads: 1, uploadsInPlace: 1, uploadedBytes: 3 * KiB });
      m.waitIdle();
      m.beginFrame();
      m.endFrame();
      m.waitIdle();
      expect(firstDifference(await read, data)).toBe(-1);
      buffer.destroy();
    });
  });

  test("a mapped buffer the frame being recorded uses goes through staging: its bytes change only when the copy runs", async () => {
    await withManager({ framesInFlight: 2 }, async (m) => {
      const buffer = m.createBuffer({ label: "in use", size: 4 * KiB, usage: STORAGE, memory: MAPPED });
      const first = randomBytes(rng(12), 4 * KiB);
      const second = randomBytes(rng(13), 4 * KiB);
      m.upload(buffer, first);
      m.beginFrame();
      buffer.markUsed(); // the game's commands of this frame read it
      m.upload(buffer, second);
      expect(firstDifference(mappedBytes(buffer), first)).toBe(-1);
      m.endFrame();
      const stats = m.frameStatistics!;
      expect(stats.uploadsInPlace).toBe(0);
      expect(stats.uploads).toBe(1);
      expect(buffer.lastUsedSerial).toBe(stats.serial);
      m.waitIdle();
      expect(firstDifference(mappedBytes(buffer), second)).toBe(-1);
      // Its frame is complete: the next upload is written in place again.
      m.beginFrame();
      m.upload(buffer, first, 0);
      expect(firstDifference(mappedBytes(buffer), first)).toBe(-1);
      m.endFrame();
      expect(m.frameStatistics!.uploadsInPlace).toBe(1);
      m.waitIdle();
      buffer.destroy();
    });
  });

  test("a write in place, then a staged upload of the same bytes in one frame: the staged one lands last", async () => {
    await withManager({}, async (m) => {
      const buffer = m.createBuffer({ label: "order", size: 4 * KiB, usage: STORAGE, memory: MAPPED });
      const a = randomBytes(rng(14), 4 * KiB);
      const b = randomBytes(rng(15), 1 * KiB);
      m.beginFrame();
      m.upload(buffer, a);
      buffer.markUsed();
      m.upload(buffer, b, KiB);
      const read = m.download(buffer);
      m.endFrame();
      expect(m.frameStatistics!.uploadsInPlace).toBe(1);
      m.waitIdle();
      submitEmptyFrameAndWait(m);
      const expected = a.slice();
      expected.set(b, KiB);
      expect(firstDifference(await read, expected)).toBe(-1);
      expect(firstDifference(mappedBytes(buffer), expected)).toBe(-1);
      buffer.destroy();
    });
  });

  test("a large write in place is shared out to the upload threads and lands whole", async () => {
    await withManager({ uploadThreads: 3 }, async (m) => {
      const size = 3 * 1024 * KiB + 5;
      // Host memory: a discrete GPU's DEVICE_LOCAL mapped memory (ReBAR, where VMA may put MAPPED) takes uploads of
      // 1 MiB and more through staging instead (in-place-upload.ts); host memory is written in place on every device.
      const memory = { ...MAPPED, usage: MemoryUsage.AutoPreferHost };
      const buffer = m.createBuffer({ label: "large in place", size: size + 16, usage: STORAGE, memory });
      const data = randomBytes(rng(17), size);
      m.upload(buffer, data, 16);
      expect(m.statistics.transfers).toMatchObject({ uploadsInPlace: 1, uploadThreads: 3, uploadPieces: 0 });
      expect(firstDifference(mappedBytes(buffer).subarray(16), data)).toBe(-1);
      const read = m.download(buffer, 16, size);
      submitEmptyFrameAndWait(m);
      expect(firstDifference(await read, data)).toBe(-1);
      buffer.destroy();
    });
  });

  test("after allocator.defragment() moved mapped buffers, uploads are written in place at their new places", async () => {
    const movable = createAllocator(context, { label: "uploads, defragmented", defragmentation: true });
    const usage = STORAGE | vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    const memoryTypeIndex = movable.findMemoryTypeIndexForBufferInfo(
      { size: 64 * KiB, usage },
      { usage: MemoryUsage.Auto, hostAccess: "sequentialWrite" },
    );
    const pool = movable.createPool({ memoryTypeIndex }, { name: "mapped uploads", blockSize: 512 * KiB });
    const m = createFrameManager(context, movable, { label: "defragmented" });
    try {
      const memory = { pool, hostAccess: "sequentialWrite", mapped: true } as const;
      const all = Array.from({ length: 16 }, (_, i) =>
        m.createBuffer({ label: `d${i}`, size: 64 * KiB, usage: STORAGE, memory }),
      );
      const next = rng(18);
      for (const b of all) m.upload(b, randomBytes(next, b.size)); // in place: each buffer's view is made
      for (const [i, b] of all.entries()) if (i % 2 === 1) b.destroy();
      const live = all.filter((_, i) => i % 2 === 0);
      const views = live.map((b) => b.allocation.mappedData!);
      const stats = movable.defragment(context, { pool, algorithm: "full" });
      expect(stats.allocationsMoved).toBeGreaterThan(0);
      // A moved buffer's old view is detached; the next upload writes its new place, which the GPU then reads.
      expect(views.filter((v) => v.byteLength === 0).length).toBe(stats.allocationsMoved);
      const data = live.map((b) => randomBytes(next, b.size));
      m.beginFrame();
      for (const [k, b] of live.entries()) m.upload(b, data[k]!);
      const reads = live.map((b) => m.download(b));
      m.endFrame();
      expect(m.frameStatistics!.uploadsInPlace).toBe(live.length);
      submitEmptyFrameAndWait(m);
      for (const [k, read] of reads.entries()) expect(firstDifference(await read, data[k]!)).toBe(-1);
      for (const b of live) b.destroy();
    } finally {
      m.destroy();
      pool.destroy();
      expect(movable.destroy()).toEqual([]);
    }
  });

  test("buffers that are not persistently mapped always go through staging", async () => {
    await withManager({}, async (m) => {
      const plain = m.createBuffer({ label: "plain", size: 4 * KiB, usage: STORAGE });
      const hostOnly = m.createBuffer({
        label: "host, not mapped",
        size: 4 * KiB,
        usage: STORAGE,
        memory: { hostAccess: "sequentialWrite" },
      });
      const data = randomBytes(rng(16), 4 * KiB);
      m.beginFrame();
      m.upload(plain, data);
      m.upload(hostOnly, data);
      const reads = [m.download(plain), m.download(hostOnly)];
      m.endFrame();
      const stats = m.frameStatistics!;
      expect(stats.uploads).toBe(2);
      expect(stats.uploadsInPlace).toBe(0);
      m.waitIdle();
      submitEmptyFrameAndWait(m);
      for (const read of reads) expect(firstDifference(await read, data)).toBe(-1);
      plain.destroy();
      hostOnly.destroy();
    });
  });
});

describe("image uploads", () => {
  const supported = (format: number): boolean => {
    const props = new nvk.VkFormatProperties();
    nvk.vkGetPhysicalDeviceFormatProperties(context.physicalDevice, format, props);
    const needed = 0x1 /* SAMPLED_IMAGE */ | 0x4000 /* TRANSFER_SRC */ | 0x8000; /* TRANSFER_DST */
    return ((props.optimalTilingFeatures as number) & needed) === needed;
  };

  const FORMATS = [
    { format: vk.VK_FORMAT_R8G8B8A8_UNORM, width: 67, height: 45, mips: 4, layers: 1 },
    { format: vk.VK_FORMAT_R8_UNORM, width: 128, height: 32, mips: 8, layers: 2 },
    { format: vk.VK_FORMAT_R16G16B16A16_SFLOAT, width: 33, height: 17, mips: 3, layers: 1 },
    { format: 131 /* BC1_RGB_UNORM_BLOCK */, width: 64, height: 64, mips: 7, layers: 1 },
  ];

  for (const f of FORMATS) {
    const name = formatInfo(f.format)!.name;
    test(`${name}: every mip and layer uploaded, partial regions overwritten, read back exactly`, async () => {
      if (!supported(f.format)) {
        // lavapipe supports all four; a device without one must say so instead of passing silently.
        expect.fail(`${name} is not supported for sampling and transfers on ${context.deviceName}`);
      }
      await withManager({ stagingRing: { size: 64 * KiB, maxSize: 64 * KiB } }, async (m) => {
        const next = rng(f.format);
        const texture = m.createTexture({
          label: `${name} texture`,
          width: f.width,
          height: f.height,
          format: f.format,
          mipLevels: f.mips,
          arrayLayers: f.layers,
        });
        const info = texture.formatInfo;
        const model = new Map<string, Uint8Array>();
        m.beginFrame();
        for (let mip = 0; mip < f.mips; mip++) {
          for (let layer = 0; layer < f.layers; layer++) {
            const w = mipExtent(f.width, mip);
            const h = mipExtent(f.height, mip);
            const data = randomBytes(next, regionBytes(info, w, h));
            m.uploadImage(texture, data, { mipLevel: mip, arrayLayer: layer });
            model.set(`${mip}/${layer}`, data);
          }
        }
        m.endFrame();
        // A second frame overwrites a block-aligned region inside mip 0, layer 0 (the model follows).
        m.beginFrame();
        const rx = info.blockWidth * 2;
        const ry = info.blockHeight;
        const rw = info.blockWidth * 3;
        const rh = info.blockHeight * 2;
        const patch = randomBytes(next, regionBytes(info, rw, rh));
        m.uploadImage(texture, patch, { x: rx, y: ry, width: rw, height: rh });
        const base = model.get("0/0")!;
        const rowBytes = regionBytes(info, f.width, info.blockHeight);
        const patchRow = regionBytes(info, rw, info.blockHeight);
        for (let row = 0; row < rh / info.blockHeight; row++) {
          const at = (ry / info.blockHeight + row) * rowBytes + (rx / info.blockWidth) * info.blockBytes;
          base.set(patch.subarray(row * patchRow, (row + 1) * patchRow), at);
        }
        const reads = [...model.keys()].map((key) => {
          const [mip, layer] = key.split("/").map(Number);
          return m.downloadImage(texture, { mipLevel: mip, arrayLayer: layer }).then((data) => [key, data] as const);
        });
        m.endFrame();
        m.waitIdle();
        for (const [key, data] of await Promise.all(reads)) {
          expect(firstDifference(data, model.get(key)!), `mip/layer ${key}`).toBe(-1);
        }
        for (let mip = 0; mip < f.mips; mip++) expect(texture.layout(mip, 0)).toBe(5 /* SHADER_READ_ONLY_OPTIMAL */);
        texture.destroy();
      });
    });
  }

  test("an image larger than the ring is split into whole rows", async () => {
    await withManager({ stagingRing: { size: 64 * KiB, maxSize: 64 * KiB } }, async (m) => {
      const texture = m.createTexture({ label: "large", width: 256, height: 200, format: vk.VK_FORMAT_R8G8B8A8_UNORM });
      const data = randomBytes(rng(99), 256 * 200 * 4);
      m.beginFrame();
      m.uploadImage(texture, data);
      const read = m.downloadImage(texture);
      const frameStats = m.frameStatistics!;
      m.endFrame();
      m.waitIdle();
      expect(firstDifference(await read, data)).toBe(-1);
      expect(frameStats.earlySubmits).toBeGreaterThan(0);
      texture.destroy();
    });
  });
});

describe("transient memory", () => {
  test("per-frame uniforms are aligned, copied by the GPU from the ring, and the ring wraps without overwriting", async () => {
    await withManager({ framesInFlight: 3, transientRing: { size: 64 * KiB, maxSize: 64 * KiB } }, async (m) => {
      const align = Math.max(16, context.properties.minUniformBufferOffsetAlignment);
      const slots = 12;
      const slotSize = 4 * KiB;
      const target = m.createBuffer({ label: "gathered", size: slots * slotSize * 20, usage: STORAGE });
      const model = new Uint8Array(target.size);
      m.upload(target, model); // defined contents in the gaps between copies
      const next = rng(21);
      for (let frame = 0; frame < 20; frame++) {
        const f = m.beginFrame();
        const regions = [];
        let src = null;
        for (let i = 0; i < slots; i++) {
          const t = m.allocateTransient(slotSize - next(64), "uniform");
          expect(t.offset % align).toBe(0);
          const data = randomBytes(next, t.size);
          t.bytes.set(data);
          const dst = (frame * slots + i) * slotSize;
          model.set(data, dst);
          regions.push({
            buffer: t.buffer,
            copy: new nvk.VkBufferCopy({ srcOffset: t.offset, dstOffset: dst, size: t.size }),
          });
          src = t.buffer;
        }
        expect(src).not.toBeNull();
        for (const r of regions) nvk.vkCmdCopyBuffer(f.commandBuffer, r.buffer, target.handle, 1, [r.copy]);
        target.markUsed();
        m.endFrame();
      }
      const read = m.download(target);
      submitEmptyFrameAndWait(m);
      expect(firstDifference(await read, model)).toBe(-1);
      const s = m.statistics.transientRing;
      expect(s.wraps).toBeGreaterThan(0);
      expect(s.grows).toBe(0);
      target.destroy();
    });
  });

  test("policy 'wait' waits for the oldest frame instead of growing; 'grow' grows", async () => {
    for (const policy of ["wait", "grow"] as const) {
      await withManager({ framesInFlight: 3, transientRing: { size: 64 * KiB, maxSize: 256 * KiB, policy } }, (m) => {
        for (let frame = 0; frame < 8; frame++) {
          m.beginFrame();
          m.allocateTransient(30 * KiB, "storage").bytes.fill(frame);
          m.endFrame();
        }
        const s = m.statistics.transientRing;
        if (policy === "wait") {
          expect(s.waits).toBeGreaterThan(0);
          expect(s.grows).toBe(0);
        } else {
          expect(s.grows).toBeGreaterThan(0);
          expect(s.waits).toBe(0);
        }
      });
    }
  });

  test("a frame whose transient data exceed the ring's maximum gets a RangeError and carries on", async () => {
    await withManager({ transientRing: { size: 64 * KiB, maxSize: 64 * KiB } }, (m) => {
      m.beginFrame();
      m.allocateTransient(40 * KiB, "vertex");
      expect(() => m.allocateTransient(40 * KiB, "vertex")).toThrow(
        /40960 bytes do not fit.*raise transientRing.maxSize/,
      );
      const ok = m.allocateTransient(1024, "index");
      expect(ok.offset % 16).toBe(0);
      m.endFrame();
      m.waitIdle();
    });
  });
});

describe("resource lifetimes", () => {
  test("a buffer destroyed while its frame is in flight is freed only after that frame's fence", async () => {
    await withManager({ framesInFlight: 2 }, (m) => {
      const live = () => allocator.allocationCount;
      const buffer = m.createBuffer({ label: "in flight", size: 64 * KiB, usage: STORAGE });
      const f = m.beginFrame();
      nvk.vkCmdFillBuffer(f.commandBuffer, buffer.handle, 0, buffer.size, 0x12345678);
      buffer.markUsed();
      expect(buffer.lastUsedSerial).toBe(f.serial);
      const before = live();
      buffer.destroy();
      buffer.destroy(); // a second call does nothing
      expect(live()).toBe(before);
      expect(m.frameStatistics!.deferredQueued).toBe(1);
      m.endFrame();
      // Frame 2 uses the other slot: nothing forced a wait for frame 1, so the buffer may still be alive.
      m.beginFrame();
      m.endFrame();
      // Frame 3 reuses frame 1's slot: beginFrame waits on its fence and then retires the buffer.
      m.beginFrame();
      expect(live()).toBe(before - 1);
      m.endFrame();
      m.waitIdle();
    });
  });

  test("an unused buffer is freed at once; use after destroy throws DestroyedResourceError naming the label", async () => {
    await withManager({}, (m) => {
      const before = allocator.allocationCount;
      const buffer = m.createBuffer({ label: "shadowMap", size: 256, usage: STORAGE });
      const texture = m.createTexture({ label: "albedo", width: 4, height: 4, format: vk.VK_FORMAT_R8G8B8A8_UNORM });
      expect(allocator.allocationCount).toBe(before + 2);
      buffer.destroy();
      texture.destroy();
      expect(allocator.allocationCount).toBe(before);
      expect(() => buffer.handle).toThrow(DestroyedResourceError);
      expect(() => buffer.handle).toThrow("Buffer 'shadowMap' has been destroyed");
      expect(() => texture.view).toThrow("Texture 'albedo' has been destroyed");
      expect(() => m.upload(buffer, new Uint8Array(4))).toThrow("Buffer 'shadowMap' has been destroyed");
      expect(() => m.uploadImage(texture, new Uint8Array(64))).toThrow("Texture 'albedo' has been destroyed");
    });
  });

  test("a buffer uploaded between frames and destroyed at once waits for the submission that carries the copy", async () => {
    await withManager({}, async (m) => {
      const before = allocator.allocationCount;
      const buffer = m.createBuffer({ label: "short-lived", size: 1024, usage: STORAGE });
      m.upload(buffer, new Uint8Array(1024).fill(1));
      buffer.destroy();
      expect(allocator.allocationCount).toBe(before + 1);
      submitEmptyFrameAndWait(m);
      expect(allocator.allocationCount).toBe(before);
    });
  });

  test("shutdown with three frames in flight, pending uploads and downloads drains and leaks nothing", async () => {
    const before = allocator.allocationCount;
    const m = createFrameManager(context, allocator, { framesInFlight: 3 });
    const buffers: Buffer[] = [];
    const reads: Promise<Uint8Array>[] = [];
    for (let frame = 0; frame < 3; frame++) {
      m.beginFrame();
      const b = m.createBuffer({ label: `frame ${frame}`, size: 256 * KiB, usage: STORAGE });
      m.upload(b, new Uint8Array(b.size).fill(frame + 1));
      reads.push(m.download(b));
      buffers.push(b);
      m.endFrame();
      b.destroy();
    }
    const pending = m.createBuffer({ label: "never submitted", size: 1024, usage: STORAGE });
    m.upload(pending, new Uint8Array(1024));
    const never = m.download(pending);
    pending.destroy();
    m.destroy();
    expect(allocator.allocationCount).toBe(before);
    const got = await Promise.all(reads);
    got.forEach((data, i) => expect(data.every((v) => v === i + 1)).toBe(true));
    await expect(never).rejects.toThrow(/never submitted/);
  });
});

describe("bad input", () => {
  test("is refused with the argument and the value named, and what was uploaded survives", async () => {
    await withManager({}, async (m) => {
      const buffer = m.createBuffer({ label: "kept", size: 64, usage: STORAGE });
      const texture = m.createTexture({
        label: "tex",
        width: 8,
        height: 8,
        format: vk.VK_FORMAT_R8G8B8A8_UNORM,
        mipLevels: 2,
      });
      const data = new Uint8Array(64).map((_, i) => i);
      m.upload(buffer, data);
      const bad: [() => unknown, RegExp][] = [
        [() => m.createBuffer({ label: "", size: 4, usage: STORAGE }), /desc.label must be a non-empty string, got ""/],
        [
          () => m.createBuffer({ label: "x", size: -1, usage: STORAGE }),
          /desc.size must be a positive integer number of bytes, got -1/,
        ],
        [
          () => m.createBuffer({ label: "x", size: 4, usage: 0 }),
          /desc.usage must be non-zero VkBufferUsageFlags, got 0/,
        ],
        [
          () => m.createBuffer({ label: "x", size: 4, usage: STORAGE, colour: 1 } as never),
          /unknown member desc.colour/,
        ],
        [
          () => m.createTexture({ label: "x", width: 0, height: 4, format: 37 }),
          /desc.width must be an integer from 1 to 65536, got 0/,
        ],
        [
          () => m.createTexture({ label: "x", width: 4, height: 4, format: 12345 }),
          /desc.format 12345 is not a VkFormat vkmem knows/,
        ],
        [
          () => m.createTexture({ label: "x", width: 4, height: 4, format: 37, mipLevels: 4 }),
          /desc.mipLevels must be at most 3/,
        ],
        [() => m.upload(buffer, data, 1), /offset 1 \+ 64 bytes must lie within buffer 'kept' of 64 bytes/],
        [() => m.upload(buffer, "text" as never), /data must be an ArrayBuffer or a typed array/],
        [() => m.upload({} as never, data), /buffer must be a Buffer made by this manager.s createBuffer/],
        [
          () => m.uploadImage(texture, new Uint8Array(10)),
          /data must hold 256 bytes for a 8x8 region of texture 'tex' \(R8G8B8A8_UNORM\), got 10/,
        ],
        [
          () => m.uploadImage(texture, new Uint8Array(16), { mipLevel: 2 }),
          /region.mipLevel must be an integer from 0 to 1 for texture 'tex', got 2/,
        ],
        [
          () => m.uploadImage(texture, new Uint8Array(16), { x: 7, width: 2 }),
          /region.width must be an integer from 1 to 1/,
        ],
        [() => m.downloadImage(texture, { mipLevel: 1 }), /mip 1 layer 0 of texture 'tex' has no contents yet/],
        [() => texture.assumeLayout(12345), /assumeLayout: layout must be a VkImageLayout .*got 12345/],
        [() => texture.assumeLayout(5, 2), /mipLevel must be an integer from 0 to 1, got 2/],
        [() => texture.layout(0, 1), /arrayLayer must be an integer from 0 to 0, got 1/],
        [() => m.allocateTransient(0), /size must be a positive integer number of bytes, got 0/],
        [
          () => m.allocateTransient(16, "texture" as never),
          /usage must be "uniform", "storage", "vertex", "index" or "copy", got "texture"/,
        ],
        [
          // After a usage that passed (the one remembered), the next bad one is still refused.
          () => (m.allocateTransient(16, "storage"), m.allocateTransient(16, "toString" as never)),
          /usage must be "uniform", "storage", "vertex", "index" or "copy", got "toString"/,
        ],
        [() => m.download(buffer, 64), /offset must be an integer from 0 to 63, got 64/],
        [
          () => createFrameManager(context, allocator, { stagingRing: { size: 100 } }),
          /stagingRing.size' must be an integer number of bytes of at least 4096, got 100/,
        ],
        [
          () => createFrameManager(context, allocator, { transientRing: { policy: "drop" as never } }),
          /transientRing.policy' must be "grow" or "wait", got "drop"/,
        ],
      ];
      for (const [call, message] of bad) expect(call).toThrow(message);
      // A resource of another manager (possibly over another device) is refused, never recorded.
      // One manager per allocator: the allocator's frame index is its manager's frame number.
      expect(() => createFrameManager(context, allocator, { label: "second" })).toThrow(
        /allocator 'uploads' already has FrameManager: one FrameManager per Allocator/,
      );
      expect(() => createFrameManager(context, allocator, { label: "second" })).toThrow(InvalidStateError);
      const otherAllocator = createAllocator(context, { label: "other" });
      const other = createFrameManager(context, otherAllocator, { label: "other" });
      const foreign = other.createBuffer({ label: "foreign", size: 64, usage: STORAGE });
      const foreignTexture = other.createTexture({
        label: "foreign tex",
        width: 4,
        height: 4,
        format: vk.VK_FORMAT_R8G8B8A8_UNORM,
      });
      expect(() => m.upload(foreign, data)).toThrow(/buffer must be a Buffer made by this manager's createBuffer/);
      expect(() => m.download(foreign)).toThrow(/buffer must be a Buffer made by this manager's createBuffer/);
      expect(() => m.uploadImage(foreignTexture, new Uint8Array(64))).toThrow(
        /texture must be a Texture made by this manager's createTexture/,
      );
      expect(() => m.downloadImage(foreignTexture)).toThrow(
        /texture must be a Texture made by this manager's createTexture/,
      );
      foreign.destroy();
      foreignTexture.destroy();
      other.destroy();
      expect(otherAllocator.destroy()).toEqual([]);
      const read = m.download(buffer);
      submitEmptyFrameAndWait(m);
      expect(firstDifference(await read, data)).toBe(-1);
      buffer.destroy();
      texture.destroy();
    });
  });
});
