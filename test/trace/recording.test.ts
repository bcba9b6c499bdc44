/**
 * Recording (engine/memory/recording.ts, engine/resources/frame-recording.ts) on real Vulkan: an allocator created
 * with `record` and a FrameManager over it write a trace of every call that changes memory; the trace reads back
 * with the right records, replays with no failure and no placement difference, and feeds the report's model. Bad
 * `record` options are refused naming the option.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  createVirtualBlock,
  InvalidStateError,
  MemoryUsage,
} from "../../engine/index.js";
import { RecordKind, type RecordOf } from "../../engine/trace/format.js";
import { readTrace } from "../../engine/trace/reader.js";
import { replayTrace } from "../../engine/trace/replay.js";
import { modelFromTrace } from "../../engine/report/from-trace.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";
import { dependentsOfDevice } from "../../engine/lifetime.js";
import { rawHandle } from "../../engine/vulkan/handles.js";

const gpu = useGpuContext({ applicationName: "vkmem recording tests" });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vkmem-record-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const KiB = 1024;
const MiB = 1024 * 1024;
const USAGE = vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT;

function byKind<K extends RecordKind>(records: readonly { kind: RecordKind }[], kind: K): RecordOf<K>[] {
  return records.filter((r) => r.kind === kind) as RecordOf<K>[];
}

describe("recording", () => {
  test("an allocator and its FrameManager write every call; the trace replays identically and feeds the report", () => {
    const file = path.join(dir, "game.vkmtrace");
    const allocator = createAllocator(gpu.context, {
      label: "game",
      record: { file },
      preferredLargeHeapBlockSize: 8 * MiB,
    });
    expect(allocator.recording?.file).toBe(file);
    const type = allocator.findMemoryTypeIndexForBufferInfo({ size: 1024, usage: USAGE }, { usage: MemoryUsage.Auto });
    const pool = allocator.createPool({ memoryTypeIndex: type }, { name: "particles", blockSize: 2 * MiB });
    const frames = createFrameManager(gpu.context, allocator, { label: "frames" });
    const kept = [];
    for (let f = 0; f < 12; f++) {
      frames.beginFrame();
      const b = frames.createBuffer({ label: `mesh ${f}`, size: (4 + f) * KiB, usage: USAGE });
      frames.upload(b, new Uint8Array(4 * KiB).fill(f));
      const p = allocator.createBuffer({ size: 16 * KiB, usage: USAGE }, { pool, name: `particles ${f}` });
      const staging = allocator.createBuffer(
        { size: 8 * KiB, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT },
        { usage: MemoryUsage.Auto, hostAccess: "sequentialWrite", name: `staging ${f}` },
      );
      staging.allocation.map();
      staging.allocation.unmap();
      staging.allocation.name = `staging ${f} (done)`;
      allocator.destroyBuffer(staging.buffer, staging.allocation);
      if (f % 2 === 0) allocator.destroyBuffer(p.buffer, p.allocation);
      else kept.push(p);
      if (f % 3 === 0) b.destroy();
      frames.endFrame();
    }
    allocator.recording!.note("level loaded");
    frames.destroy();
    for (const p of kept) allocator.destroyBuffer(p.buffer, p.allocation);
    pool.destroy();
    allocator.destroy(); // the FrameManager's remaining buffers were its to free: leaks are reported and recorded
    expect(allocator.recording).toBeNull();

    const trace = readTrace(fs.readFileSync(file));
    expect(trace.truncated).toBeNull();
    const r = trace.records;
    expect(r[0]!.kind).toBe(RecordKind.Session);
    expect(byKind(r, RecordKind.AllocatorCreate)).toHaveLength(1);
    expect(byKind(r, RecordKind.AllocatorCreate)[0]!.options).toContain('"preferredLargeHeapBlockSize":8388608');
    expect(byKind(r, RecordKind.PoolCreate)[0]).toMatchObject({
      name: "particles",
      blockSize: 2 * MiB,
      memoryType: type,
      algorithm: 0,
    });
    const allocs = byKind(r, RecordKind.Allocate);
    // 12 meshes + 12 particles + 12 staging buffers, and the FrameManager's own ring buffers.
    expect(allocs.filter((a) => /^(mesh|particles|staging) \d+$/.test(a.name))).toHaveLength(36);
    expect(allocs.every((a) => a.result === 0 && a.blockSize >= a.size)).toBe(true);
    const particles = allocs.find((a) => a.name === "particles 3")!;
    expect(particles).toMatchObject({
      resourceKind: 1,
      pool: byKind(r, RecordKind.PoolCreate)[0]!.pool,
      resource: [16 * KiB, USAGE, 0, 0],
    });
    expect(byKind(r, RecordKind.Map)).toHaveLength(12);
    expect(byKind(r, RecordKind.Unmap)).toHaveLength(12);
    expect(byKind(r, RecordKind.SetName).map((x) => x.name)).toContain("staging 5 (done)");
    expect(byKind(r, RecordKind.FrameBegin).map((x) => x.frame)).toEqual([...Array(12).keys()]);
    const ends = byKind(r, RecordKind.FrameEnd);
    expect(ends.map((x) => x.frame)).toEqual([...Array(12).keys()]);
    expect(ends[5]!.budgets.length).toBe(2 * gpu.context.memoryProperties.heaps.length);
    expect(byKind(r, RecordKind.Upload).every((u) => u.bytes === 4 * KiB)).toBe(true);
    expect(byKind(r, RecordKind.Note).map((n) => n.text)).toEqual(["level loaded"]);
    expect(r.at(-1)!.kind).toBe(RecordKind.AllocatorDestroy);

    const replayed = replayTrace(gpu.context, trace);
    expect(replayed.failures).toEqual([]);
    expect(replayed.differenceCount).toBe(0);
    expect(replayed.byKind.Allocate!.count).toBe(allocs.length);
    expect(replayed.unknownObjects).toBe(0);

    const model = modelFromTrace(trace);
    expect(
      model.largest
        .map((i) => model.allocations[i]!.name)
        .some((n) => n.startsWith("particles") || n.startsWith("mesh")),
    ).toBe(true);
  });

  test("a failed allocation is recorded with its VkResult and fails again in the replay", () => {
    const file = path.join(dir, "oom.vkmtrace");
    const heaps = gpu.context.memoryProperties.heaps.map(() => 4 * MiB);
    const allocator = createAllocator(gpu.context, { record: { file }, heapSizeLimits: heaps });
    const first = allocator.createBuffer({ size: 3 * MiB, usage: USAGE }, { name: "first" });
    // Not over the heap's size (vkmem refuses that before VMA), but over what is left of it: VMA refuses.
    // In the first one's memory type only: on a discrete GPU VMA would take another heap's type.
    const oneType = { name: "too big", memoryTypeBits: 2 ** first.allocation.memoryType };
    expect(() => allocator.createBuffer({ size: 3 * MiB, usage: USAGE }, oneType)).toThrow(
      /VK_ERROR_OUT_OF_DEVICE_MEMORY/,
    );
    allocator.destroyBuffer(first.buffer, first.allocation);
    const ok = allocator.createBuffer({ size: 64 * KiB, usage: USAGE }, { name: "fits" });
    allocator.destroyBuffer(ok.buffer, ok.allocation);
    allocator.destroy();
    const trace = readTrace(fs.readFileSync(file));
    const [, failed, fits] = byKind(trace.records, RecordKind.Allocate);
    expect(failed).toMatchObject({ name: "too big", result: -2, allocation: 0 });
    expect(fits).toMatchObject({ name: "fits", result: 0 });
    const replayed = replayTrace(gpu.context, trace);
    expect(replayed.expectedFailures).toBe(1);
    expect(replayed.failures).toEqual([]);
  });

  test("a FrameManager's record option starts the allocator's trace; another file for the same allocator is refused", () => {
    const file = path.join(dir, "frames.vkmtrace");
    const allocator = createAllocator(gpu.context, { label: "late" });
    const early = allocator.createBuffer({ size: 4 * KiB, usage: USAGE }, { name: "before recording" });
    const frames = createFrameManager(gpu.context, allocator, { record: { file } });
    expect(allocator.recording?.file).toBe(file);
    frames.beginFrame();
    frames.endFrame();
    frames.destroy();
    expect(() =>
      createFrameManager(gpu.context, allocator, { record: { file: path.join(dir, "other.vkmtrace") } }),
    ).toThrow(InvalidStateError);
    expect(() =>
      createFrameManager(gpu.context, allocator, { record: { file: path.join(dir, "other.vkmtrace") } }),
    ).toThrow(/already records into '.*frames\.vkmtrace'.*one trace per allocator/);
    allocator.destroyBuffer(early.buffer, early.allocation);
    allocator.destroy();
    const trace = readTrace(fs.readFileSync(file));
    expect(byKind(trace.records, RecordKind.Note)[0]!.text).toMatch(
      /recording started by a FrameManager with 1 live allocation/,
    );
    // The free of the allocation made before the recording is of an object the trace never made.
    expect(replayTrace(gpu.context, trace).unknownObjects).toBe(1);
  });

  test("bad record options are refused naming the option, and nothing is created", () => {
    expect(() => createAllocator(gpu.context, { record: { file: "" } })).toThrow(
      /createAllocator: options\.record\.file must be a non-empty path string, got ""/,
    );
    expect(() => createAllocator(gpu.context, { record: "trace.bin" as never })).toThrow(
      /options\.record must be \{ file: string \}/,
    );
    // A trace that cannot be created: the error, and the allocator made before it is destroyed again (it used to
    // stay alive until the context's destroy() took it along).
    const dependents = dependentsOfDevice(rawHandle(gpu.context.device))!;
    const before = dependents.size;
    expect(() => createAllocator(gpu.context, { record: { file: path.join(dir, "missing", "x.vkmtrace") } })).toThrow(
      /missing/,
    );
    expect(dependents.size).toBe(before);
    if (process.platform === "linux") {
      // A file that takes no bytes (/dev/full refuses every write): the same, from the addon's writer thread.
      expect(() => createAllocator(gpu.context, { record: { file: "/dev/full" } })).toThrow(
        /vkmem trace '\/dev\/full': writing failed/,
      );
      expect(dependents.size).toBe(before);
    }
    const allocator = createAllocator(gpu.context);
    expect(() => createFrameManager(gpu.context, allocator, { record: { file: 7 } as never })).toThrow(
      /createFrameManager: options\.record must be \{ file: string \}/,
    );
    allocator.destroy();
  });

  test("virtual blocks given the allocator's trace record every call; the replay places them identically", () => {
    const file = path.join(dir, "virtual.vkmtrace");
    const allocator = createAllocator(gpu.context, { label: "virtual", record: { file } });
    const record = allocator.recording;
    const tlsf = createVirtualBlock({ size: 1 * MiB, label: "suballocator", record });
    const linear = createVirtualBlock({ size: 64 * KiB, algorithm: "linear", record });
    const buddy = createVirtualBlock({ size: 256 * KiB, algorithm: "buddy", record, onLeaks: () => {} });
    const quiet = createVirtualBlock({ size: 4 * KiB }); // not given the trace: not in it
    const kept = [];
    for (let i = 0; i < 40; i++) {
      const a = tlsf.allocate(1000 + 97 * i, {
        alignment: 2 ** (i % 6),
        strategy: i % 3 === 0 ? "minOffset" : undefined,
      });
      if (i % 4 === 1) tlsf.free(a);
      else kept.push(a);
      const offset = buddy.allocateOffset(3000 + i * 11);
      if (i % 2 === 0) buddy.freeHandle(buddy.lastHandle);
      expect(offset).toBeGreaterThanOrEqual(0);
    }
    linear.allocate(1024);
    linear.allocate(2048, { upperAddress: true });
    expect(() => linear.allocate(128 * KiB)).toThrow(/no free range/); // refused, and recorded as refused
    expect(linear.clear()).toBe(2);
    const last = linear.allocate(512);
    quiet.free(quiet.allocate(16));
    for (const a of kept.splice(0, 10)) tlsf.free(a);
    linear.free(last);
    linear.destroy();
    expect(buddy.destroy().length).toBe(20); // left alive on purpose: reported, recorded as destroyed
    for (const a of kept) tlsf.free(a);
    tlsf.destroy();
    quiet.destroy();
    allocator.destroy();
    expect(() => createVirtualBlock({ size: 4 * KiB, record })).toThrow(/options\.record is closed/);
    expect(() => createVirtualBlock({ size: 4 * KiB, record: file as never })).toThrow(
      /createVirtualBlock: options\.record must be a TraceWriter \(allocator\.recording\) or null, got/,
    );

    const trace = readTrace(fs.readFileSync(file));
    const creates = byKind(trace.records, RecordKind.VirtualBlockCreate);
    expect(creates.map((r) => [r.size, r.algorithm, r.name])).toEqual([
      [1 * MiB, 0, "suballocator"],
      [64 * KiB, 1, ""],
      [256 * KiB, 2, ""],
      [64 * KiB, 1, ""], // the linear block after clear()
    ]);
    const allocates = byKind(trace.records, RecordKind.VirtualAllocate);
    expect(allocates).toHaveLength(40 + 40 + 3 + 1);
    expect(allocates.filter((r) => r.result !== 0).map((r) => r.size)).toEqual([128 * KiB]);
    expect(allocates.some((r) => (r.flags & 0x40) !== 0)).toBe(true); // the upper-address one
    expect(allocates.some((r) => (r.flags & 0x40000) !== 0)).toBe(true); // minOffset
    expect(byKind(trace.records, RecordKind.VirtualFree)).toHaveLength(10 + 20 + 30 + 1);
    expect(byKind(trace.records, RecordKind.VirtualBlockDestroy)).toHaveLength(4);

    const replay = replayTrace(gpu.context, trace);
    expect(replay.failures).toEqual([]);
    expect(replay.differences).toEqual([]);
    expect(replay.unknownObjects).toBe(0);
    expect(replay.byKind.VirtualAllocate!.count).toBe(allocates.length);
  });

  test("a buddy pool's sub-allocations are recorded in their pool, its blocks are not; the replay places them identically", () => {
    const file = path.join(dir, "buddy.vkmtrace");
    const allocator = createAllocator(gpu.context, { record: { file } });
    const type = allocator.findMemoryTypeIndexForBufferInfo({ size: 1024, usage: USAGE }, { usage: MemoryUsage.Auto });
    const pool = allocator.createPool(
      { memoryTypeIndex: type },
      { algorithm: "buddy", blockSize: 1 * MiB, name: "mips" },
    );
    const kept = [];
    for (let i = 0; i < 30; i++) {
      const b = allocator.createBuffer({ size: (3 + (i % 7) * 5) * KiB, usage: USAGE }, { pool, name: `node ${i}` });
      if (i % 3 === 0) allocator.destroyBuffer(b.buffer, b.allocation);
      else kept.push(b);
    }
    const image = allocator.createImage(
      { format: vk.VK_FORMAT_R8G8B8A8_UNORM, extent: { width: 64, height: 64 }, usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT },
      { pool, name: "mip 3" },
    );
    const raw = allocator.allocateMemory({ size: 100 * KiB, alignment: 256, memoryTypeBits: 2 ** type }, { pool });
    if (kept[0]!.allocation.memoryProperties & vk.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
      kept[0]!.allocation.map(); // maps the block under it: not in the trace (a discrete GPU's device memory: none)
      kept[0]!.allocation.unmap();
    }
    allocator.freeMemory(raw);
    for (const b of kept.splice(0, 8)) allocator.destroyBuffer(b.buffer, b.allocation);
    allocator.destroyImage(image.image, image.allocation);
    for (const b of kept) allocator.destroyBuffer(b.buffer, b.allocation);
    pool.destroy();
    allocator.destroy();

    const trace = readTrace(fs.readFileSync(file));
    const poolId = byKind(trace.records, RecordKind.PoolCreate)[0]!.pool;
    const allocates = byKind(trace.records, RecordKind.Allocate);
    expect(allocates).toHaveLength(32);
    expect(allocates.every((r) => r.pool === poolId && r.result === 0 && r.blockSize === 1 * MiB)).toBe(true);
    expect(allocates.filter((r) => r.resourceKind === 0).map((r) => r.resource)).toEqual([[100 * KiB, 256, 2 ** type]]);
    expect(allocates.some((r) => /block/.test(r.name))).toBe(false);
    expect(byKind(trace.records, RecordKind.Map)).toHaveLength(0);
    expect(byKind(trace.records, RecordKind.Free)).toHaveLength(32);

    const replay = replayTrace(gpu.context, trace);
    expect(replay.failures).toEqual([]);
    expect(replay.differences).toEqual([]);
    expect(replay.unknownObjects).toBe(0);
    expect(replay.byKind.Allocate!.count).toBe(32);
  });
});
