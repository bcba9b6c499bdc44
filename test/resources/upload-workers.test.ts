/**
 * Large uploads on native threads (engine/resources/upload-workers.ts, native/upload_workers.cpp) and the native
 * recording of buffer copies (native/copy_commands.cpp), on real Vulkan with synchronization validation on: any
 * message fails. Bytes are checked against what was uploaded, for many sizes and offsets, inside frames (where large
 * uploads go in pieces submitted early) and between them; managers and allocators are destroyed right after large
 * uploads, in either order.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  createAllocator,
  createFrameManager,
  nvk,
  type Allocator,
  type Context,
  type Frame,
  type FrameManager,
} from "../../engine/index.js";
import { TransferCommands } from "../../engine/resources/transfer-commands.js";
import { defaultUploadThreads, UploadWorkers } from "../../engine/resources/upload-workers.js";
import * as vk from "../../engine/vulkan/constants.js";
import { firstDifference } from "../helpers/bytes.js";
import { useGpuContext } from "../helpers/gpu.js";
import { rng } from "../helpers/random.js";

const gpu = useGpuContext({ applicationName: "vkmem upload worker tests", synchronizationValidation: true });

let context: Context;
let allocator: Allocator;
const KiB = 1024;
const MiB = 1024 * KiB;
const STORAGE = vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "upload workers" });
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

function patterned(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Whether every byte of `a` is 0. */
function allZero(a: Uint8Array): boolean {
  return Buffer.compare(a, new Uint8Array(a.length)) === 0;
}

/**
 * A VkEvent the host sets: `hold(frame)` makes the frame's commands wait for it, so that the queue runs nothing after
 * them until `set()` (the GPU made to fall behind); `destroy()` once the queue is idle.
 */
function hostEvent(): { hold(frame: Frame): void; set(): void; destroy(): void } {
  const device = context.device;
  const event = new nvk.VkEvent();
  expect(nvk.vkCreateEvent(device, new nvk.VkEventCreateInfo(), null, event)).toBe(0);
  return {
    hold: (frame) => nvk.vkCmdWaitEvents(frame.commandBuffer, 1, [event], 0x4000, 0x1000, 0, null, 0, null, 0, null),
    set: () => expect(nvk.vkSetEvent(device, event)).toBe(0),
    destroy: () => nvk.vkDestroyEvent(device, event, null),
  };
}

async function readBack(m: FrameManager, buffer: Parameters<FrameManager["download"]>[0]): Promise<Uint8Array> {
  const read = m.download(buffer);
  m.beginFrame();
  m.endFrame();
  m.waitIdle();
  return read;
}

describe("UploadWorkers", () => {
  test("copies every byte of many ranges, with 1 to 4 threads", () => {
    const src = patterned(5 * MiB + 123, 11);
    const next = rng(3);
    for (const threads of [1, 2, 4]) {
      const w = new UploadWorkers(threads);
      try {
        expect(w.threads).toBe(threads);
        for (let k = 0; k < 12; k++) {
          const dst = new Uint8Array(6 * MiB);
          const size = k === 0 ? src.length : 1 + next(src.length - 1);
          const from = next(src.length - size + 1);
          const to = next(dst.length - size + 1);
          w.copy(dst, to, src, from, size);
          expect(firstDifference(dst.subarray(to, to + size), src.subarray(from, from + size))).toBe(-1);
          // Nothing outside the range was written.
          expect(allZero(dst.subarray(0, to))).toBe(true);
          expect(allZero(dst.subarray(to + size))).toBe(true);
        }
      } finally {
        w.destroy();
      }
    }
  });

  test("refuses ranges outside either array and calls after destroy(); a second destroy() does nothing", () => {
    const w = new UploadWorkers(2);
    const dst = new Uint8Array(1024);
    const src = new Uint8Array(512);
    expect(() => w.copy(dst, 1000, src, 0, 100)).toThrow(RangeError);
    expect(() => w.copy(dst, 0, src, 500, 100)).toThrow(RangeError);
    expect(() => w.copy(dst, -1, src, 0, 10)).toThrow(RangeError);
    expect(() => w.copy(dst, 0.5, src, 0, 10)).toThrow(RangeError);
    expect(() => w.copy({} as Uint8Array, 0, src, 0, 10)).toThrow(TypeError);
    w.copy(dst, 0, src, 0, 0); // an empty copy is fine
    w.destroy();
    expect(w.destroyed).toBe(true);
    expect(() => w.copy(dst, 0, src, 0, 10)).toThrow(/destroyed/);
    w.destroy();
    expect(() => new UploadWorkers(0)).toThrow(RangeError);
    expect(() => new UploadWorkers(65)).toThrow(RangeError);
  });

  test("a copy begun on the workers is whole after finish(), a later copy, or destroy()", () => {
    const src = patterned(4 * MiB + 77, 5);
    const w = new UploadWorkers(3);
    const whole = (dst: Uint8Array, at: number): number => firstDifference(dst.subarray(at, at + src.length), src);
    const a = new Uint8Array(5 * MiB);
    w.start(a, 100, src, 0, src.length);
    w.finish();
    expect(whole(a, 100)).toBe(-1);
    w.finish(); // nothing running: returns at once
    // A copy or a second start finishes the one running first.
    const b = new Uint8Array(5 * MiB);
    const c = new Uint8Array(5 * MiB);
    w.start(b, 0, src, 0, src.length);
    w.start(c, 1, src, 0, src.length);
    expect(whole(b, 0)).toBe(-1);
    w.copy(a, 0, src, 0, 1024);
    expect(whole(c, 1)).toBe(-1);
    // A bad range begins nothing; destroy() finishes the copy running, then joins.
    expect(() => w.start(a, 5 * MiB - 10, src, 0, 100)).toThrow(RangeError);
    const d = new Uint8Array(5 * MiB);
    w.start(d, 3, src, 0, src.length);
    w.destroy();
    expect(whole(d, 3)).toBe(-1);
    expect(() => w.start(d, 0, src, 0, 10)).toThrow(/destroyed/);
    w.finish(); // after destroy(): nothing to join
  });

  test("the default thread count comes from VKMEM_UPLOAD_THREADS, else min(8, cores - 1)", () => {
    const saved = process.env.VKMEM_UPLOAD_THREADS;
    try {
      process.env.VKMEM_UPLOAD_THREADS = "5";
      expect(defaultUploadThreads()).toBe(5);
      process.env.VKMEM_UPLOAD_THREADS = "zero";
      const fallback = defaultUploadThreads();
      expect(fallback).toBeGreaterThanOrEqual(1);
      expect(fallback).toBeLessThanOrEqual(8);
    } finally {
      if (saved === undefined) delete process.env.VKMEM_UPLOAD_THREADS;
      else process.env.VKMEM_UPLOAD_THREADS = saved;
    }
  });
});

describe("FrameManager with upload threads", () => {
  test("the uploadThreads option is checked, naming it and the bad value", () => {
    for (const bad of [0, 1.5, 65, "2", Number.NaN])
      expect(() => createFrameManager(context, allocator, { uploadThreads: bad as number })).toThrow(
        /option 'uploadThreads' must be an integer from 1 to 64, got/,
      );
    expect(allocator.allocationCount).toBe(0);
  });

  test("large uploads of many sizes and offsets arrive intact, in pieces through the bulk ring inside frames and whole between them", async () => {
    const m = createFrameManager(context, allocator, {
      uploadThreads: 3,
      stagingRing: { size: 8 * MiB, maxSize: 32 * MiB },
    });
    try {
      expect(m.statistics.transfers.uploadThreads).toBe(3);
      const target = m.createBuffer({ label: "large target", size: 40 * MiB, usage: STORAGE });
      // New memory's bytes are undefined (Vulkan does not zero it; under ASan lavapipe's malloc'd memory starts with
      // 4 KiB of 0xbe): the model starts from what the buffer holds.
      const model = new Uint8Array(await readBack(m, target));
      const next = rng(19);
      const sizes = [1 * MiB, 1 * MiB + 7, 3 * MiB + 4096, 8 * MiB, 8 * MiB + 1, 17 * MiB + 333, 36 * MiB];
      let seed = 1;
      for (const [i, size] of sizes.entries()) {
        const data = patterned(size, seed++);
        const offset = next(target.size - size + 1);
        const inFrame = i % 2 === 0;
        if (inFrame) m.beginFrame();
        m.upload(target, data, offset);
        // A small upload over part of the large one, later in the same batch: the later bytes win.
        const patch = patterned(100, seed++);
        const patchAt = offset + next(size - 100);
        m.upload(target, patch, patchAt);
        if (inFrame) m.endFrame();
        model.set(data, offset);
        model.set(patch, patchAt);
      }
      const got = await readBack(m, target);
      expect(firstDifference(got, model)).toBe(-1);
      const stats = m.statistics.transfers;
      expect(stats.uploadPieces).toBeGreaterThan(0);
      // The pieces went through the bulk ring, in host memory, made at the first of them (staging-rings.ts).
      expect(allocator.buildStatsString()).toMatch(/bulk staging ring block \d/);
      target.destroy();
    } finally {
      m.destroy();
    }
    expect(allocator.allocationCount).toBe(0);
  });

  test("while the GPU is behind, a large upload's next pieces go through the main ring, and every byte arrives", async () => {
    // The frame before holds the queue on an event the host sets only after the upload: none of the upload's pieces
    // can run, so from the first check on (the piece submitted before the last is not done) the pieces go through
    // the main ring (transfers.ts: LAG_PIECES). A 40 MiB upload is 6 pieces (2 MiB, 4 x 8, 6), the last submitted
    // with the frame.
    const m = createFrameManager(context, allocator, {
      uploadThreads: 3,
      framesInFlight: 2,
      stagingRing: { size: 64 * MiB, maxSize: 64 * MiB },
    });
    const event = hostEvent();
    try {
      const target = m.createBuffer({ label: "behind target", size: 48 * MiB, usage: STORAGE });
      const data = patterned(40 * MiB, 91);
      event.hold(m.beginFrame());
      m.endFrame();
      m.beginFrame();
      try {
        m.upload(target, data, 4 * MiB);
      } finally {
        event.set();
      }
      m.endFrame();
      const stats = m.statistics.transfers;
      expect(stats.uploadPieces).toBe(5);
      // The first two went through the bulk ring before any check could say the GPU was behind; the rest did not.
      expect(stats.uploadPiecesInMainRing).toBeGreaterThan(0);
      expect(stats.uploadPiecesInMainRing).toBeLessThanOrEqual(4);
      const got = await readBack(m, target);
      expect(firstDifference(got.subarray(4 * MiB, 44 * MiB), data)).toBe(-1);
      target.destroy();
    } finally {
      m.waitIdle();
      event.destroy();
      m.destroy();
    }
    expect(allocator.allocationCount).toBe(0);
  });

  test("with the GPU behind, a piece the main ring has no room for now stays in the bulk ring: no early submission", async () => {
    // The GPU is made to read as behind for every piece (the transfers' own check, TransferCommands.piecesBehind), and
    // small uploads leave the main ring 4 MiB: the first piece (2 MiB) fits there, the 8 MiB ones do not and must go
    // through the bulk ring, not make room in the main ring by submitting early (which waits for the whole queue).
    const m = createFrameManager(context, allocator, {
      uploadThreads: 3,
      stagingRing: { size: 24 * MiB, maxSize: 24 * MiB },
    });
    const behind = vi.spyOn(TransferCommands.prototype, "piecesBehind").mockReturnValue(true);
    try {
      const target = m.createBuffer({ label: "no room", size: 48 * MiB, usage: STORAGE });
      const model = new Uint8Array(await readBack(m, target));
      m.beginFrame();
      const small = patterned(MiB - 16, 3);
      for (let i = 0; i < 20; i++) {
        m.upload(target, small, i * MiB);
        model.set(small, i * MiB);
      }
      const large = patterned(24 * MiB, 4);
      m.upload(target, large, 22 * MiB);
      model.set(large, 22 * MiB);
      m.endFrame();
      const stats = m.statistics.transfers;
      expect(behind).toHaveBeenCalled();
      expect(stats.earlySubmits).toBe(0);
      expect(stats.uploadPiecesInMainRing).toBe(1);
      expect(firstDifference(await readBack(m, target), model)).toBe(-1);
      target.destroy();
    } finally {
      behind.mockRestore();
      m.destroy();
    }
    expect(allocator.allocationCount).toBe(0);
  });

  test("with the GPU behind and the main ring full of a frame it has not run, the pieces take the bulk ring: no wait", async () => {
    // The frame before holds the queue on an event the host sets only after the upload, with 20 MiB of the 24 MiB
    // main ring: a piece that tried the main ring by waiting for older frames (UploadRing.allocate) would wait for
    // that frame's fence, which cannot signal before the event is set, and hang. Only the first piece (2 MiB) fits
    // the 4 MiB left; the 8 MiB ones go through the bulk ring.
    const m = createFrameManager(context, allocator, {
      uploadThreads: 3,
      framesInFlight: 2,
      stagingRing: { size: 24 * MiB, maxSize: 24 * MiB },
    });
    const event = hostEvent();
    const behind = vi.spyOn(TransferCommands.prototype, "piecesBehind").mockReturnValue(true);
    try {
      const target = m.createBuffer({ label: "full main ring", size: 48 * MiB, usage: STORAGE });
      const model = new Uint8Array(await readBack(m, target));
      event.hold(m.beginFrame());
      const small = patterned(MiB - 16, 5);
      for (let i = 0; i < 20; i++) {
        m.upload(target, small, i * MiB);
        model.set(small, i * MiB);
      }
      m.endFrame();
      m.beginFrame();
      const large = patterned(24 * MiB, 6);
      try {
        m.upload(target, large, 22 * MiB);
        model.set(large, 22 * MiB);
      } finally {
        event.set();
      }
      m.endFrame();
      const stats = m.statistics.transfers;
      expect(stats.uploadPiecesInMainRing).toBe(1);
      expect(stats.earlySubmits).toBe(0);
      expect(m.stagingRing.waits).toBe(0);
      expect(firstDifference(await readBack(m, target), model)).toBe(-1);
      target.destroy();
    } finally {
      behind.mockRestore();
      m.waitIdle();
      event.destroy();
      m.destroy();
    }
    expect(allocator.allocationCount).toBe(0);
  });

  test("a staging ring in host memory (stagingRing.memory) carries large uploads intact; a bad value is refused", async () => {
    expect(() => createFrameManager(context, allocator, { stagingRing: { memory: "vram" as "host" } })).toThrow(
      /option 'stagingRing.memory' must be "device" or "host", got "vram"/,
    );
    const m = createFrameManager(context, allocator, {
      uploadThreads: 2,
      stagingRing: { size: 16 * MiB, memory: "host" },
    });
    try {
      expect(m.stagingRing.memory).toBe("host");
      const target = m.createBuffer({ label: "host staging", size: 12 * MiB, usage: STORAGE });
      const data = patterned(target.size, 77);
      m.beginFrame();
      m.upload(target, data);
      m.endFrame();
      expect(firstDifference(await readBack(m, target), data)).toBe(-1);
      // The main ring is in host memory already: no bulk ring is made.
      expect(allocator.buildStatsString()).not.toMatch(/bulk staging/);
      target.destroy();
    } finally {
      m.destroy();
    }
  });

  test("a large upload that fills the bulk ring waits for the frames before it and arrives intact", async () => {
    // Two frames leave bytes in the bulk ring; the third's upload fills it and must get the older frames' bytes back
    // (their serials may be complete by then with only the main ring told: it threw "cannot hold a single byte").
    const m = createFrameManager(context, allocator, {
      uploadThreads: 2,
      stagingRing: { size: 32 * MiB, maxSize: 32 * MiB },
    });
    try {
      const target = m.createBuffer({ label: "fills the ring", size: 32 * MiB, usage: STORAGE });
      for (const size of [12 * MiB, 12 * MiB, 32 * MiB]) {
        const data = patterned(size, size + 1);
        m.beginFrame();
        m.upload(target, data);
        m.endFrame();
        if (size === 32 * MiB) expect(firstDifference(await readBack(m, target), data)).toBe(-1);
      }
      target.destroy();
    } finally {
      m.destroy();
    }
  });

  test("one thread keeps the plain path: no pieces, same bytes", async () => {
    const m = createFrameManager(context, allocator, { uploadThreads: 1, stagingRing: { size: 4 * MiB } });
    try {
      expect(m.statistics.transfers.uploadThreads).toBe(1);
      const target = m.createBuffer({ label: "one thread", size: 20 * MiB, usage: STORAGE });
      const data = patterned(target.size, 5);
      m.beginFrame();
      m.upload(target, data);
      m.endFrame();
      expect(firstDifference(await readBack(m, target), data)).toBe(-1);
      expect(m.statistics.transfers.uploadPieces).toBe(0);
      target.destroy();
    } finally {
      m.destroy();
    }
  });

  test("scattered uploads into 300 buffers at varying offsets, recorded natively, read back exactly", async () => {
    const m = createFrameManager(context, allocator, { uploadThreads: 2 });
    try {
      const buffers = Array.from({ length: 300 }, (_, i) =>
        m.createBuffer({ label: `scatter ${i}`, size: 8 * KiB, usage: STORAGE }),
      );
      const models = buffers.map((b) => new Uint8Array(b.size));
      // Defined contents everywhere first (new memory may hold anything).
      buffers.forEach((b, i) => m.upload(b, models[i]!));
      const next = rng(23);
      let seed = 100;
      for (let frame = 0; frame < 3; frame++) {
        m.beginFrame();
        for (let k = 0; k < 1000; k++) {
          const i = next(buffers.length);
          const size = 1 + next(4 * KiB);
          const offset = next(8 * KiB - size + 1);
          const data = patterned(size, seed++);
          m.upload(buffers[i]!, data, offset);
          models[i]!.set(data, offset);
        }
        m.endFrame();
      }
      const reads = buffers.map((b) => m.download(b));
      m.beginFrame();
      m.endFrame();
      m.waitIdle();
      const got = await Promise.all(reads);
      for (let i = 0; i < buffers.length; i++) expect(firstDifference(got[i]!, models[i]!)).toBe(-1);
      for (const b of buffers) b.destroy();
    } finally {
      m.destroy();
    }
  });

  test("copies into a debug allocator's buffers (another build of the addon) and a buddy pool's are recorded right", async () => {
    // The fuzzer found the first: the native recording looked the debug addon's handles up in the normal one.
    const debug = createAllocator(context, { label: "upload workers, debug", debug: {} });
    const m = createFrameManager(context, debug, { uploadThreads: 2 });
    const pool = debug.createPool(
      { forBuffer: { size: 4096, usage: STORAGE } },
      { algorithm: "buddy", blockSize: MiB, name: "buddy uploads" },
    );
    try {
      const plain = [0, 1, 2].map((i) => m.createBuffer({ label: `debug ${i}`, size: 16 * KiB, usage: STORAGE }));
      const pooled = [0, 1].map((i) =>
        m.createBuffer({ label: `buddy ${i}`, size: 8 * KiB, usage: STORAGE, memory: { pool } }),
      );
      const all = [...plain, ...pooled];
      const models = all.map((b, i) => patterned(b.size, 40 + i));
      m.beginFrame();
      // Interleaved, so that runs of plain buffers and pooled ones alternate within one phase.
      for (let k = 0; k < 4; k++)
        all.forEach((b, i) => {
          const quarter = b.size / 4;
          m.upload(b, models[i]!.subarray(k * quarter, (k + 1) * quarter), k * quarter);
        });
      m.endFrame();
      const reads = all.map((b) => m.download(b));
      m.beginFrame();
      m.endFrame();
      m.waitIdle();
      const got = await Promise.all(reads);
      all.forEach((_, i) => expect(firstDifference(got[i]!, models[i]!)).toBe(-1));
      for (const b of all) b.destroy();
    } finally {
      m.destroy();
      pool.destroy();
      expect(debug.destroy()).toEqual([]);
    }
  });

  test("destroying the manager mid-frame, right after a large upload went out in pieces, waits and frees all", () => {
    const m = createFrameManager(context, allocator, { uploadThreads: 4, stagingRing: { size: 32 * MiB } });
    const target = m.createBuffer({ label: "mid-frame", size: 24 * MiB, usage: STORAGE });
    m.beginFrame();
    m.upload(target, patterned(24 * MiB, 9));
    expect(m.statistics.transfers.uploadPieces).toBeGreaterThan(0);
    m.destroy(); // the frame is never ended
    expect(() => m.upload(target, new Uint8Array(4))).toThrow(/destroyed/);
    expect(allocator.allocationCount).toBe(0);
  });

  test("destroying the allocator first (it takes the manager along) right after a large upload is safe", () => {
    const own = createAllocator(context, { label: "upload workers, destroyed first" });
    const m = createFrameManager(context, own, { uploadThreads: 3, stagingRing: { size: 32 * MiB } });
    const target = m.createBuffer({ label: "allocator first", size: 20 * MiB, usage: STORAGE });
    m.beginFrame();
    m.upload(target, patterned(20 * MiB, 4));
    const leaks = own.destroy();
    expect(Array.isArray(leaks)).toBe(true);
    expect(() => m.beginFrame()).toThrow();
    m.destroy(); // a second destroy, through the manager, does nothing
  });
});
