/**
 * The scatter of small uploads (engine/resources/scatter-copies.ts, native/scatter_copy.cpp, shaders/scatter-copy.comp):
 * a frame's phases of 16 copies or more are copied by one compute dispatch, on real Vulkan with synchronization
 * validation on (any message fails). The bytes are checked against a model for copies the shader takes and those it
 * leaves to copy commands (unaligned, over 64 KiB), for writes that overlap within a frame (later phases), and for
 * buffers a live defragmentation moved; the option and its default are checked, and allocators are destroyed while
 * their manager lives.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  type Allocator,
  type Buffer,
  type Context,
  type FrameManager,
} from "../../engine/index.js";
import { MemoryUsage } from "../../engine/memory/usage.js";
import { scatterShaderPath } from "../../engine/resources/scatter-copies.js";
import { rawHandle } from "../../engine/vulkan/handles.js";
import { readFileSync } from "node:fs";
import { describeDifference, firstDifference } from "../helpers/bytes.js";
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
  // Each wrong buffer as "index: N wrong, first at I (got, expected)", to tell a lost copy from a shifted one.
  const wrong = got
    .map((g, i) => describeDifference(g, models[i]!))
    .flatMap((d, i) => (d === null ? [] : [`${i}: ${d}`]));
  expect(wrong, JSON.stringify(frames.statistics.transfers)).toEqual([]);
}

test("a frame of many small uploads is copied by the shader; unaligned, large and overlapping ones stay right", async () => {
  const frames = createFrameManager(context, allocator, { label: "scatter on", scatterUploads: true });
  try {
    const size = 256 * KiB;
    const buffers = Array.from({ length: 40 }, (_, i) => frames.createBuffer({ label: `b${i}`, size, usage: STORAGE }));
    expect(buffers.every((b) => (b.usage & DEVICE_ADDRESS) !== 0)).toBe(true);
    // On the main queue from the start: a buffer no queue used takes a dedicated transfer queue's copies (where the
    // device has one: no compute there) for uploads the shader cannot take, such as the 256 KiB zeros below.
    for (const b of buffers) b.markUsed();
    // Vulkan memory starts undefined (reused memory holds what was there: CI read other tests' bytes once, under
    // Wine and under the test layer), and the uploads below leave bytes untouched: zeros first, as the models say.
    frames.beginFrame();
    for (const b of buffers) frames.upload(b, new Uint8Array(size));
    frames.endFrame();
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

test("small first uploads into new buffers stay on the main queue and are scattered; a large one does not", async () => {
  const frames = createFrameManager(context, allocator, { label: "first uploads", scatterUploads: true });
  try {
    const dedicated = context.transferQueueFamilyIndex !== context.queueFamilyIndex;
    // A level load: 64 new buffers (no queue has used them), a small upload each, in a shuffled order.
    const buffers = Array.from({ length: 64 }, (_, i) =>
      frames.createBuffer({ label: `new ${i}`, size: 4 * KiB, usage: STORAGE }),
    );
    const large = frames.createBuffer({ label: "new large", size: 128 * KiB, usage: STORAGE });
    const models = buffers.map((_, i) => new Uint8Array(4 * KiB).fill((i * 13 + 5) & 0xff));
    const largeModel = new Uint8Array(large.size);
    for (let j = 0; j < largeModel.length; j += 7) largeModel[j] = j & 0xff;
    frames.beginFrame();
    for (let k = 0; k < buffers.length; k++) {
      const i = (k * 37) % buffers.length;
      frames.upload(buffers[i]!, models[i]!);
    }
    frames.upload(large, largeModel);
    // A buffer that took a small first upload is the main queue's now: an upload the shader cannot take (unaligned),
    // over the same bytes, goes there too, after it, rather than to the transfer queue.
    const unaligned = new Uint8Array(1001).fill(0xee);
    frames.upload(buffers[0]!, unaligned, 3);
    models[0]!.set(unaligned, 3);
    frames.endFrame();
    await expectModels(frames, [...buffers, large], [...models, largeModel]);
    const stats = frames.statistics.transfers;
    expect(stats.uploadCopiesScattered).toBeGreaterThanOrEqual(64);
    // Only the 128 KiB upload took a dedicated transfer queue (the shader copies at most 64 KiB), where there is one.
    expect(stats.transferQueueUploads).toBe(dedicated ? 1 : 0);
    for (const b of [...buffers, large]) b.destroy();
  } finally {
    frames.destroy();
  }
});

test("a buddy pool's buffer among many uploads: recorded through nvk, the rest scattered, every byte right", async () => {
  // Its table rows name it -1 (no slot of the addon's): 847223f's crash when such a row came first.
  const pool = allocator.createPool(
    { forBuffer: { size: 16 * KiB, usage: STORAGE | 0x2 | DEVICE_ADDRESS } },
    { algorithm: "buddy", blockSize: 1 << 20, name: "scatter buddy" },
  );
  const frames = createFrameManager(context, allocator, { label: "buddy", scatterUploads: true });
  try {
    const buddy = frames.createBuffer({ label: "buddy", size: 16 * KiB, usage: STORAGE, memory: { pool } });
    const plain = frames.createBuffer({ label: "plain", size: 16 * KiB, usage: STORAGE });
    const buffers = [buddy, plain];
    for (const b of buffers) b.markUsed();
    const models = buffers.map(() => new Uint8Array(16 * KiB));
    frames.beginFrame();
    // In turn, the buddy pool's first: 16 uploads of 512 bytes into each, every byte written.
    for (let k = 0; k < 32; k++) {
      const b = k % 2;
      const at = (((k >> 1) * 5) % 16) * 1024;
      const data = new Uint8Array(1024).fill((k * 11 + 3) & 0xff);
      frames.upload(buffers[b]!, data, at);
      models[b]!.set(data, at);
    }
    frames.endFrame();
    await expectModels(frames, buffers, models);
    expect(frames.statistics.transfers.uploadCopiesScattered).toBe(16); // the plain buffer's
  } finally {
    frames.destroy();
    pool.destroy();
  }
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

test("the native recording: rows land, a copy it cannot take stops the run, bad arguments are typed errors", () => {
  const other = createAllocator(context, { label: "no scatter pipeline" });
  const native = allocator._native as unknown as Record<string, (...args: unknown[]) => unknown>;
  const spirv = new Uint8Array(readFileSync(scatterShaderPath()));
  expect(native.createScatterPipeline!(allocator._handle, spirv)).toBe(true); // made, or there already
  expect(() => native.createScatterPipeline!(allocator._handle, new Uint8Array(64))).not.toThrow(); // there already
  expect(() => native.createScatterPipeline!(other._handle, new Uint8Array(64))).toThrow(/not SPIR-V/);
  expect(() => native.createScatterPipeline!(other._handle, "code")).toThrow(TypeError);
  const mapped = { usage: MemoryUsage.AutoPreferHost, hostAccess: "random", mapped: true } as const;
  const make = (usage: number, on: Allocator = allocator) => on.createBuffer({ size: 4 * KiB, usage }, mapped);
  const src = make(0x1 | DEVICE_ADDRESS);
  const dst = make(0x2 | DEVICE_ADDRESS);
  const plain = make(0x2); // no device address
  const foreign = make(0x2 | DEVICE_ADDRESS, other);
  const table = make(0x1 | DEVICE_ADDRESS);
  const noAddressTable = make(0x1);
  const h = (b: { allocation: { _handle: number } }) => b.allocation._handle;
  const rows = (r: number[][]) => new Float64Array(r.flat());
  try {
    new Uint8Array(src.allocation.mappedData!).forEach((_, i, a) => (a[i] = (i * 13 + 5) & 0xff));
    const out = new Uint8Array(dst.allocation.mappedData!);
    out.fill(0);
    context.submitAndWait((cmd) => {
      const raw = rawHandle(cmd);
      const scatter = (r: number[][], tableOffset = 0, on = table) =>
        native.cmdScatterCopies!(raw, rows(r), 0, r.length, h(on), tableOffset) as number;
      // Two rows, then one into a buffer without a device address: the run stops at index 2.
      expect(
        scatter([
          [h(src), h(dst), 0, 0, 64],
          [h(src), h(dst), 256, 1024, 48],
          [h(src), h(plain), 0, 0, 16],
        ]),
      ).toBe(2);
      expect(scatter([[h(src), h(dst), 2, 0, 16]])).toBe(0); // an offset not a multiple of 4
      expect(scatter([[h(src), h(dst), 0, 0, 6]])).toBe(0); // nor a size
      expect(scatter([[h(src), h(foreign), 0, 0, 16]])).toBe(0); // another allocator's buffer
      expect(scatter([[h(src), -1, 0, 0, 16]])).toBe(0); // no buffer at all
      expect(() => scatter([[h(src), h(dst), 0, 4092, 8]])).toThrow(
        /cmdScatterCopies: a copy lies outside its buffers/,
      );
      expect(() => scatter([[h(src), h(dst), 0, 0, 16]], 8)).toThrow(/does not fit its buffer/); // not 16-aligned
      expect(() => scatter([[h(src), h(dst), 0, 0, 16]], 4096)).toThrow(/does not fit its buffer/);
      expect(() => scatter([[h(src), h(dst), 0, 0, 16]], 0, noAddressTable)).toThrow(TypeError);
      expect(() => native.cmdScatterCopies!(raw, rows([[h(src), h(dst), 0, 0, 16]]), 0, 2, h(table), 0)).toThrow(
        /first and end must be copy indices/,
      );
      expect(() => native.cmdScatterCopies!(raw, [1, 2], 0, 1, h(table), 0)).toThrow(TypeError);
    });
    // Only the two rows recorded ran: 64 bytes at 0 from 0, 48 at 1024 from 256.
    const bytes = new Uint8Array(src.allocation.mappedData!);
    expect(firstDifference(out.subarray(0, 64), bytes.subarray(0, 64))).toBe(-1);
    expect(firstDifference(out.subarray(1024, 1072), bytes.subarray(256, 304))).toBe(-1);
    expect(out.subarray(64, 1024).every((v) => v === 0)).toBe(true);
    expect(out.subarray(1072).every((v) => v === 0)).toBe(true);
    // An allocator without the pipeline is refused with a typed error.
    const otherTable = make(0x1 | DEVICE_ADDRESS, other);
    try {
      context.submitAndWait((cmd) => {
        expect(() =>
          native.cmdScatterCopies!(rawHandle(cmd), rows([[h(src), h(dst), 0, 0, 16]]), 0, 1, h(otherTable), 0),
        ).toThrow(/has no scatter pipeline/);
      });
    } finally {
      other.destroyBuffer(otherTable.buffer, otherTable.allocation);
    }
  } finally {
    for (const b of [src, dst, plain, table, noAddressTable]) allocator.destroyBuffer(b.buffer, b.allocation);
    other.destroyBuffer(foreign.buffer, foreign.allocation);
    expect(other.destroy()).toEqual([]);
  }
});
