/**
 * `replayTrace` and `vkmem replay` on real Vulkan (lavapipe, the validation layer on): a workload's calls are
 * written to a trace with the placements a real allocator gave them, then replayed. Same device and options: every
 * allocation succeeds again at the same memory type and offset. A trace that claims other placements is reported
 * (differences, not a stop); what-if runs change pools' algorithm and block size, cap heaps and apply a budget, and
 * their figures differ as they must.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { createAllocator, MemoryUsage, type Allocation, type Allocator, type Pool } from "../../engine/index.js";
import { scratch, scratchU32, Slot } from "../../engine/native.js";
import { readTrace } from "../../engine/trace/reader.js";
import { replayTrace } from "../../engine/trace/replay.js";
import { TraceWriter } from "../../engine/trace/writer.js";
import * as vk from "../../engine/vulkan/constants.js";
import { replay } from "../../engine/cli/replay.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem replay tests" });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vkmem-replay-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const KiB = 1024;
const MiB = 1024 * 1024;
const USAGE = vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT;

/**
 * Runs a workload of `frames` frames on a real allocator and writes what it did as a trace: each allocation's record
 * carries the description and VMA create info exactly as the allocator encoded them in the scratch for its native
 * call, and the placement VMA gave it. `placementNoise` shifts recorded offsets of every 7th allocation to make
 * differences on purpose.
 */
function recordWorkload(file: string, frames: number, placementNoise = false): { allocations: number } {
  const context = gpu.context;
  const allocator = createAllocator(context, { label: "recorded", preferredLargeHeapBlockSize: 4 * MiB });
  const mp = context.memoryProperties;
  const w = TraceWriter.open(file, { producer: "vkmem replay test", device: context.deviceName });
  w.allocatorCreate(
    allocator._handle,
    "recorded",
    allocator.nonCoherentAtomSize,
    allocator.bufferImageGranularity,
    mp.heaps.flatMap((h) => [h.size, h.flags]),
    mp.types.flatMap((t) => [t.propertyFlags, t.heapIndex]),
    JSON.stringify({ preferredLargeHeapBlockSize: 4 * MiB }),
  );
  const type = allocator.findMemoryTypeIndexForBufferInfo({ size: 1024, usage: USAGE }, { usage: MemoryUsage.Auto });
  const pool: Pool = allocator.createPool(
    { memoryTypeIndex: type },
    { name: "particles", blockSize: 2 * MiB, maxBlockCount: 4 },
  );
  w.poolCreate(pool._handle, allocator._handle, type, 0, 2 * MiB, 0, 4, 0, "particles");
  const live: { a: Allocation; free: () => void }[] = [];
  let count = 0;
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const record = (a: Allocation, kind: number, resourceCount: number, inPool: boolean): void => {
    // What the allocator encoded for its native call is still in the scratch's input slots.
    const shift = placementNoise && count % 7 === 3 ? 256 : 0;
    allocator._native.getAllocationInfo(a._handle);
    w.allocate(
      a._handle,
      allocator._handle,
      inPool ? pool._handle : 0,
      kind,
      scratch,
      0,
      resourceCount,
      scratch,
      16,
      0,
      a.name,
      0,
      a.memoryType,
      a.offset + shift,
      a.size,
      scratchU32[Slot.OutMemory * 2]!,
      scratchU32[Slot.OutMemory * 2 + 1]!,
      scratch[Slot.OutBlockSize]!,
    );
    count++;
  };
  for (let frame = 0; frame < frames; frame++) {
    w.frameBegin(frame);
    allocator.setCurrentFrameIndex(frame);
    for (let i = 0; i < 6; i++) {
      const which = rand(3);
      const name = `f${frame}-${i}`;
      if (which === 0) {
        const b = allocator.createBuffer({ size: (1 + rand(64)) * KiB, usage: USAGE }, { name });
        record(b.allocation, 1, 4, false);
        live.push({ a: b.allocation, free: () => allocator.destroyBuffer(b.buffer, b.allocation) });
      } else if (which === 1) {
        const b = allocator.createBuffer({ size: (1 + rand(32)) * KiB, usage: USAGE }, { pool, name });
        record(b.allocation, 1, 4, true);
        live.push({ a: b.allocation, free: () => allocator.destroyBuffer(b.buffer, b.allocation) });
      } else {
        const size = 8 << rand(6);
        const img = allocator.createImage(
          {
            format: vk.VK_FORMAT_R8G8B8A8_UNORM,
            extent: { width: size, height: size },
            usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT,
            mipLevels: 1,
          },
          { name },
        );
        record(img.allocation, 2, 13, false);
        live.push({ a: img.allocation, free: () => allocator.destroyImage(img.image, img.allocation) });
      }
    }
    // Free about a third of what lives, from anywhere: fragmentation.
    for (let k = live.length - 1; k >= 0; k--) {
      if (rand(3) === 0) {
        w.free(live[k]!.a._handle);
        live[k]!.free();
        live.splice(k, 1);
      }
    }
    const budgets = allocator.getHeapBudgets().flatMap((b) => [b.usage, b.budget]);
    w.frameEnd(frame, allocator._handle, budgets, budgets.length);
  }
  for (const x of live) {
    w.free(x.a._handle);
    x.free();
  }
  w.poolDestroy(pool._handle);
  pool.destroy();
  w.allocatorDestroy(allocator._handle);
  expect(allocator.destroy()).toEqual([]);
  w.close();
  return { allocations: count };
}

describe("replay", () => {
  test("same device, same options: every allocation succeeds again, in the same memory type at the same offset", () => {
    const file = path.join(dir, "same.vkmtrace");
    const { allocations } = recordWorkload(file, 40);
    const trace = readTrace(fs.readFileSync(file));
    const progress: number[] = [];
    const r = replayTrace(gpu.context, trace, { onProgress: (p) => progress.push(p.records), progressEveryMs: 0 });
    expect(r.failures).toEqual([]);
    expect(r.differenceCount).toBe(0);
    expect(r.byKind.Allocate!.count).toBe(allocations);
    expect(r.byKind.Free!.count).toBe(allocations);
    expect(r.frames).toHaveLength(40);
    expect(r.frames.every((f) => f.blocks >= 1)).toBe(true);
    expect(r.peakBlockBytesPerHeap.some((b) => b > 0)).toBe(true);
    expect(r.unknownObjects).toBe(0);
    expect(r.callsPerSecond).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(trace.records.length);
  });

  test("placements that differ from the recording are reported, not fatal", () => {
    const file = path.join(dir, "noisy.vkmtrace");
    const { allocations } = recordWorkload(file, 20, true);
    const r = replayTrace(gpu.context, readTrace(fs.readFileSync(file)), {});
    expect(r.failures).toEqual([]);
    // Every 7th allocation (count % 7 === 3) was recorded 256 bytes off.
    expect(r.differenceCount).toBe(Math.floor((allocations - 4) / 7) + 1);
    expect(r.differences[0]!.replayed.offset + 256).toBe(r.differences[0]!.recorded.offset);
  });

  test("what-if: another pool algorithm, a smaller block size, a heap limit and a budget change what they must", () => {
    const file = path.join(dir, "whatif.vkmtrace");
    recordWorkload(file, 30);
    const trace = readTrace(fs.readFileSync(file));
    const base = replayTrace(gpu.context, trace, {});
    const linear = replayTrace(gpu.context, trace, { algorithm: "linear" });
    // A linear pool only reuses space at its ends: the same frees leave more blocks than TLSF, or failures once
    // its 4 blocks are full.
    expect(
      linear.failures.length > 0 ||
        Math.max(...linear.frames.map((f) => f.blocks)) >= Math.max(...base.frames.map((f) => f.blocks)),
    ).toBe(true);
    const small = replayTrace(gpu.context, trace, { blockSize: 1 * MiB });
    expect(Math.max(...small.frames.map((f) => f.blocks))).toBeGreaterThan(
      Math.max(...base.frames.map((f) => f.blocks)),
    );
    const tight = replayTrace(gpu.context, trace, { budget: 2 * MiB });
    expect(tight.overBudget).toBeGreaterThan(0);
    // Every heap capped at the pool's block, the least its pool can be made under: no heap holds more; where the
    // heaps together hold less than the run's peak (lavapipe's one heap), allocations fail for want of memory, where
    // they hold more (a discrete GPU's default pools spill into its host heap) they go there.
    const heapLimit = 2 * MiB;
    const capped = replayTrace(gpu.context, trace, { heapLimit });
    expect(Math.max(...base.peakBlockBytesPerHeap)).toBeGreaterThan(heapLimit);
    for (const bytes of capped.peakBlockBytesPerHeap) expect(bytes).toBeLessThanOrEqual(heapLimit);
    const peak = base.peakBlockBytesPerHeap.reduce((sum, bytes) => sum + bytes, 0);
    if (heapLimit * base.peakBlockBytesPerHeap.length < peak) {
      expect(capped.failures.length).toBeGreaterThan(0);
      expect(capped.failures[0]!.error).toMatch(/OutOfDeviceMemoryError/);
    }
    expect(() => replayTrace(gpu.context, trace, { blockSize: -1 })).toThrow(
      /options.blockSize must be a positive integer number of bytes, got -1/,
    );
  });

  test("vkmem replay prints the side-by-side report and plain progress lines off a terminal", () => {
    const file = path.join(dir, "cli.vkmtrace");
    recordWorkload(file, 10);
    const lines: string[] = [];
    const progress: string[] = [];
    const code = replay({
      input: file,
      algorithm: "linear",
      print: (l) => lines.push(l),
      progress: { write: (t) => progress.push(t), isTTY: false },
    });
    expect(code).toBe(0);
    const text = lines.join("\n");
    expect(text).toMatch(/^calls\s+\d+\s+\d+$/m);
    expect(text).toMatch(/as recorded\s+algorithm linear/);
    expect(text).toMatch(/^placement differences\s+0\s+\d+$/m);
    expect(text).toMatch(/time per call kind \(as recorded\):/);
    expect(text).toMatch(/^Allocate\s+\d+/m);
    expect(progress.some((l) => /^replay \(as recorded\): frame 10\/10, \d+ calls, [\d.]+ s, done\n$/.test(l))).toBe(
      true,
    );
    expect(progress.every((l) => !l.includes("\r"))).toBe(true);
  });

  test("a trace cut short is replayed up to the cut, with a warning", () => {
    const file = path.join(dir, "cut.vkmtrace");
    recordWorkload(file, 10);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 3));
    const lines: string[] = [];
    expect(replay({ input: file, print: (l) => lines.push(l), progress: { write: () => {} } })).toBe(0);
    expect(lines[0]).toMatch(
      /^vkmem replay: the trace is cut at byte \d+ \(expected .+\): replaying the \d+ records before it$/,
    );
  });
});
