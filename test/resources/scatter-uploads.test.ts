/**
 * The scatter of small uploads (engine/resources/scatter-copies.ts, native/scatter_copy.cpp, shaders/scatter-copy.comp):
 * a frame's phases of 16 copies or more are copied by one compute dispatch, on real Vulkan with synchronization
 * validation on (any message fails). The bytes are checked against a model for copies the shader takes and those it
 * leaves to copy commands (unaligned, over 64 KiB), for writes that overlap within a frame (later phases), and for
 * buffers a live defragmentation moved; the option and its default are checked, and allocators are destroyed while
 * their manager lives.
 */
import { Buffer as Bytes } from "node:buffer";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  type Allocator,
  type Buffer,
  type Context,
  type FrameManager,
} from "../../engine/index.js";
import { useGpuContext } from "../helpers/gpu.js";
import { mulberry } from "../helpers/random.js";

const gpu = useGpuContext({ applicationName: "vkmem scatter upload tests", synchronizationValidation: true });

const KiB = 1024;
const STORAGE = 0x20;
const VERTEX = 0x80;
const DEVICE_ADDRESS = 0x20000;
let context: Context;
let allocator: Allocator;

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "scatter" });
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

/** Reads every buffer back after the frames recorded so far and compares it with its model. */
async function expectModels(frames: FrameManager, buffers: Buffer[], models: Uint8Array[]): Promise<void> {
  const reads = buffers.map((b) => frames.download(b, 0, b.size));
  frames.beginFrame();
  frames.endFrame();
  frames.waitIdle();
  const got = await Promise.all(reads);
  const wrong = got.map((g, i) => (Bytes.compare(g, models[i]!) === 0 ? -1 : i)).filter((i) => i >= 0);
  expect(wrong).toEqual([]);
}

test("a frame of many small uploads is copied by the shader; unaligned, large and overlapping ones stay right", async () => {
  const frames = createFrameManager(context, allocator, { label: "scatter on", scatterUploads: true });
  try {
    const size = 256 * KiB;
    const buffers = Array.from({ length: 40 }, (_, i) => frames.createBuffer({ label: `b${i}`, size, usage: STORAGE }));
    expect(buffers.every((b) => (b.usage & DEVICE_ADDRESS) !== 0)).toBe(true);
    // On the main queue from the start (a buffer no queue used takes a dedicated transfer queue's copies, where the
    // device has one: no compute there).
    for (const b of buffers) b.markUsed();
    const models = buffers.map(() => new Uint8Array(size));
    const random = mulberry(14);
    const kinds = { aligned: 0, unaligned: 0, large: 0, again: 0 };
    for (let f = 0; f < 4; f++) {
      frames.beginFrame();
      let last: { b: number; offset: number; length: number } = { b: 0, offset: 0, length: 4 };
      for (let k = 0; k < 500; k++) {
        const pick = random();
        let b = Math.floor(random() * buffers.length);
        let length: number;
        let offset: number;
        if (pick < 0.7) {
          kinds.aligned++;
          length = 4 * (1 + Math.floor(random() * 2048));
          offset = 4 * Math.floor(random() * ((size - length) / 4));
        } else if (pick < 0.85) {
          kinds.unaligned++;
          length = 1 + Math.floor(random() * 5000);
          offset = Math.floor(random() * (size - length));
        } else if (pick < 0.93) {
          kinds.large++;
          length = 64 * KiB + 4 * (1 + Math.floor(random() * 8192));
          offset = 4 * Math.floor(random() * ((size - length) / 4));
        } else {
          // The bytes of the upload before, written again: a later phase, which must land after it.
          kinds.again++;
          ({ b, offset, length } = last);
        }
        const data = new Uint8Array(length);
        for (let j = 0; j < length; j += 97) data[j] = Math.floor(random() * 256);
        data[length - 1] = k & 0xff;
        frames.upload(buffers[b]!, data, offset);
        models[b]!.set(data, offset);
        last = { b, offset, length };
      }
      frames.endFrame();
    }
    await expectModels(frames, buffers, models);
    const stats = frames.statistics.transfers;
    expect(Object.values(kinds).every((n) => n > 20)).toBe(true);
    // The aligned small ones (most of them) went through the shader; the others could not.
    expect(stats.uploadCopiesScattered).toBeGreaterThan(kinds.aligned / 2);
    expect(stats.uploadCopiesScattered).toBeLessThanOrEqual(kinds.aligned + kinds.again);
  } finally {
    frames.destroy();
  }
});

test("scatterUploads false keeps copy commands; the default uses the shader on a GPU, not on a CPU device", async () => {
  for (const scatterUploads of [false, undefined]) {
    const frames = createFrameManager(context, allocator, { label: "scatter option", scatterUploads });
    try {
      const on = scatterUploads ?? context.deviceType !== "cpu";
      const buffer = frames.createBuffer({ label: "target", size: 64 * KiB, usage: STORAGE });
      buffer.markUsed(); // the main queue's (see the first test)
      expect((buffer.usage & DEVICE_ADDRESS) !== 0).toBe(on);
      const model = new Uint8Array(64 * KiB);
      frames.beginFrame();
      for (let k = 0; k < 64; k++) {
        const data = new Uint8Array(1 * KiB).fill(k + 1);
        const at = ((k * 37) % 64) * KiB; // not one after the other: each its own copy
        frames.upload(buffer, data, at);
        model.set(data, at);
      }
      frames.endFrame();
      await expectModels(frames, [buffer], [model]);
      expect(frames.statistics.transfers.uploadCopiesScattered).toBe(on ? 64 : 0);
    } finally {
      frames.destroy();
    }
  }
  expect(() => createFrameManager(context, allocator, { scatterUploads: "yes" as never })).toThrow(
    /option 'scatterUploads' must be a boolean, got "yes"/,
  );
});

test("a frame whose uploads leave the staging ring no room for the table records copy commands instead", async () => {
  // A ring of 1 MiB that may not grow: 1,008 uploads of 1 KiB leave 16 KiB, and their table needs 31.5 KiB.
  const ring = { size: 1024 * KiB, maxSize: 1024 * KiB };
  const frames = createFrameManager(context, allocator, {
    label: "full ring",
    scatterUploads: true,
    stagingRing: ring,
  });
  try {
    const buffer = frames.createBuffer({ label: "target", size: 1008 * KiB, usage: STORAGE });
    buffer.markUsed(); // the main queue's (see the first test)
    const model = new Uint8Array(buffer.size);
    for (const uploads of [1008, 512]) {
      frames.beginFrame();
      for (let k = 0; k < uploads; k++) {
        const data = new Uint8Array(KiB).fill((k * 7 + uploads) & 0xff);
        // In a shuffled order: consecutive uploads would be one copy (the batch joins contiguous ones).
        const at = ((k * 37) % uploads) * KiB;
        frames.upload(buffer, data, at);
        model.set(data, at);
      }
      frames.endFrame();
      frames.waitIdle();
      // The full frame: no table, every copy a command; the next one (half as many) has room for it.
      expect(frames.statistics.transfers.uploadCopiesScattered).toBe(uploads === 1008 ? 0 : 512);
    }
    await expectModels(frames, [buffer], [model]);
    expect(frames.statistics.transfers.earlySubmits).toBe(0);
  } finally {
    frames.destroy();
  }
});

test("uploads into buffers a live defragmentation moved land in their new place", async () => {
  const own = createAllocator(context, { label: "scatter defrag", preferredLargeHeapBlockSize: 1024 * KiB });
  const frames = createFrameManager(context, own, { label: "scatter defrag", scatterUploads: true });
  const size = 16 * KiB;
  const buffers: Buffer[] = [];
  const models: Uint8Array[] = [];
  /** 32 uploads of 512 bytes each, filling `b`'s model with `word`. */
  const fill = (b: Buffer, model: Uint8Array, word: number): void => {
    for (let k = 0; k < 32; k++) {
      const data = new Uint8Array(512).fill(word & 0xff);
      data[0] = k;
      frames.upload(b, data, k * 512);
      model.set(data, k * 512);
    }
  };
  frames.beginFrame();
  for (let i = 0; i < 128; i++) {
    buffers.push(frames.createBuffer({ label: `b${i}`, size, usage: VERTEX })); // movable: no shader writes
    models.push(new Uint8Array(size));
    fill(buffers[i]!, models[i]!, i);
  }
  frames.endFrame();
  for (let i = 0; i < 128; i += 2) buffers[i]!.destroy();
  const kept = buffers.filter((_, i) => i % 2 === 1);
  const keptModels = models.filter((_, i) => i % 2 === 1);
  frames.waitIdle();
  const switched: Buffer[] = [];
  let moved = 0;
  frames.defragment({ maxMovesPerFrame: 8, maxPlanningMicroseconds: 0, onMove: (r) => switched.push(r as Buffer) });
  for (let f = 0; f < 200 && frames.defragmentation!.active; f++) {
    frames.beginFrame();
    // The buffers switched in this beginFrame get new bytes in this frame (a buffer in use is not moved).
    for (const b of switched.splice(0)) {
      const i = kept.indexOf(b);
      fill(b, keptModels[i]!, 0x40 + f + i);
      moved++;
    }
    frames.endFrame();
    frames.waitIdle();
  }
  expect(frames.defragmentation!.active).toBe(false);
  expect(moved).toBeGreaterThan(4);
  // And after the pass: the moved buffers' addresses are their new ones.
  frames.beginFrame();
  kept.forEach((b, i) => fill(b, keptModels[i]!, 0xa0 + i));
  frames.endFrame();
  await expectModels(frames, kept, keptModels);
  expect(frames.statistics.transfers.uploadCopiesScattered).toBeGreaterThan(0);
  // The allocator goes first: it takes its manager, its buffers and its scatter pipeline with it.
  const leaks = own.destroy();
  expect(frames.destroyed).toBe(true);
  expect(leaks).toEqual([]);
});
