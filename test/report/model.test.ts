/**
 * The report's model (engine/report), without a browser and without a GPU: a 50-frame trace written with
 * TraceWriter becomes positions, heaps with budgets, blocks and placements whose state at each frame is what the
 * trace did; the derived series (counts, fragmentation), the largest allocations and the leaks; and a JSON dump
 * becomes the same model for one moment.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parseStatsString } from "../../engine/memory/dump.js";
import { modelFromDump } from "../../engine/report/from-dump.js";
import { modelFromTrace } from "../../engine/report/from-trace.js";
import { allocationKind, freeRanges, stateAt, type ReportModel } from "../../engine/report/model.js";
import { readTrace } from "../../engine/trace/reader.js";
import { TraceWriter } from "../../engine/trace/writer.js";
import { GAME_TRACE_FACTS as F, writeGameTrace } from "./game-trace.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vkmem-report-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const MiB = 1 << 20;

function gameModel(): ReportModel {
  const file = path.join(dir, "game.vkmtrace");
  if (!fs.existsSync(file)) writeGameTrace(file);
  return modelFromTrace(readTrace(fs.readFileSync(file)));
}
const named = (m: ReportModel, name: string) => m.allocations.filter((a) => a.name === name);
const liveNames = (m: ReportModel, p: number) =>
  stateAt(m, p).blocks.flatMap((b) => b.allocations.map((i) => m.allocations[i]!.name));

describe("a trace as a model", () => {
  const m = gameModel();

  test("positions: one per frame, then 'end' for the frees after the last frame", () => {
    expect(m.source).toBe("trace");
    expect(m.frames.length).toBe(F.positions);
    expect(m.frames[0]).toMatchObject({ label: "frame 0", frame: 0 });
    expect(m.frames[49]).toMatchObject({ label: "frame 49", frame: 49 });
    expect(m.frames[50]).toMatchObject({ label: "end", frame: null });
    expect(m.title).toBe("lavapipe (simulated game), recorded by vkmem report test");
    for (let i = 1; i < m.frames.length; i++)
      expect(m.frames[i]!.timeUs!).toBeGreaterThanOrEqual(m.frames[i - 1]!.timeUs!);
  });

  test("heaps and memory types come from AllocatorCreate; usage and budget per frame from FrameEnd", () => {
    expect(m.heaps.map((h) => [h.size, h.flags])).toEqual([
      [512 * MiB, ["DEVICE_LOCAL"]],
      [256 * MiB, []],
    ]);
    expect(m.memoryTypes.map((t) => [t.label, t.heap, t.flags])).toEqual([
      ["Type 0", 0, ["DEVICE_LOCAL"]],
      ["Type 1", 1, ["HOST_VISIBLE", "HOST_COHERENT"]],
      ["Type 2", 1, ["HOST_VISIBLE", "HOST_COHERENT", "HOST_CACHED"]],
    ]);
    expect(m.heaps[0]!.budget.slice(0, 50).every((b) => b === 400 * MiB)).toBe(true);
    expect(m.heaps[0]!.budget[50]).toBeNull(); // "end" had no FrameEnd
    // Frame 0: two 64 MiB blocks (level 1) and the 48 MiB dedicated shadow atlas.
    expect(m.heaps[0]!.usage[0]).toBe(2 * 64 * MiB + 48 * MiB);
  });

  test("the state at a frame is what the trace did by that frame's end", () => {
    expect(liveNames(m, 0)).toContain(F.level1.name);
    expect(liveNames(m, 0)).not.toContain(F.level2.name);
    expect(liveNames(m, F.level2.born - 1)).toContain(F.level1.name);
    expect(liveNames(m, F.level2.born)).toContain(F.level2.name);
    expect(liveNames(m, F.level1.died)).not.toContain(F.level1.name);
    // Staging buffers live and die within a frame: never on the map.
    for (let p = 0; p < m.frames.length; p++) expect(liveNames(m, p).some((n) => n.startsWith("staging"))).toBe(false);
    // The end: only the leaks.
    expect(liveNames(m, 50).sort()).toEqual([...F.leaks].sort());
    const hero = named(m, F.hero.name);
    expect(hero).toHaveLength(1);
    expect(hero[0]).toMatchObject({
      size: F.hero.size,
      offset: F.hero.offset,
      type: "IMAGE_OPTIMAL",
      usage: 0x6,
      kind: "sampledImage",
      born: 0,
      made: 0,
      died: 50,
      pool: null,
    });
    expect(() => stateAt(m, 51)).toThrow(/position must be a whole number from 0 to 50, got 51/);
  });

  test("kinds, pools and dedicated blocks", () => {
    expect(named(m, "depth buffer")[0]!.kind).toBe("depthStencilImage");
    expect(named(m, "camera uniforms")[0]!.kind).toBe("uniformBuffer");
    expect(named(m, F.level1.name)[0]!.kind).toBe("vertexIndexIndirectBuffer");
    expect(named(m, "light storage")[0]!.kind).toBe("storageBuffer");
    expect(named(m, "raw upload heap")[0]!).toMatchObject({ type: "UNKNOWN", kind: "unknown" });
    const particle = named(m, "particles 10")[0]!;
    expect(particle.pool).toBe(F.poolName);
    expect(m.blocks[particle.block]).toMatchObject({
      pool: F.poolName,
      size: 4 * MiB,
      dedicated: false,
      memoryType: 1,
    });
    // Each particle lives three frames.
    expect([particle.born, particle.died]).toEqual([10, 13]);
    const atlas = named(m, F.largest.name)[0]!;
    expect(m.blocks[atlas.block]).toMatchObject({ dedicated: true, size: F.largest.size });
  });

  test("a move ends one placement and starts another with the same id, name and birth time", () => {
    const places = named(m, F.moved);
    expect(places).toHaveLength(2);
    expect(places[0]!.id).toBe(places[1]!.id);
    expect(places[0]!.died).toBe(45);
    expect(places[1]).toMatchObject({ born: 45, made: 25, offset: 0, bornUs: places[0]!.bornUs });
    expect(places[1]!.block).not.toBe(places[0]!.block);
  });

  test("counts per frame: uploads, evictions, lost and failed allocations", () => {
    expect(m.counts.uploadBytes[0]).toBe(60 * MiB + 256 * 1024 + 2 * MiB);
    expect(m.counts.uploadBytes[25]).toBe(29 * MiB + 256 * 1024);
    expect(m.counts.evictions.reduce((a, b) => a + b)).toBe(F.evictions);
    expect(m.counts.evictions[19]).toBe(0);
    expect(m.counts.evictions[20]).toBe(1);
    expect(m.counts.evictedBytes[20]).toBe(2 * MiB);
    expect(m.counts.lost[35]).toBe(F.lost);
    expect(m.counts.failedAllocations[30]).toBe(F.failed);
    expect(m.notes).toEqual([{ position: 25, text: "level 2 loaded" }]);
  });

  test("allocation counts and fragmentation per memory type agree with the state", () => {
    for (const p of [0, 10, 25, 49, 50]) {
      const state = stateAt(m, p);
      for (let t = 0; t < m.memoryTypes.length; t++) {
        const inType = state.blocks.filter((b) => m.blocks[b.block]!.memoryType === t);
        expect(m.memoryTypes[t]!.allocationCount[p]).toBe(inType.reduce((s, b) => s + b.allocations.length, 0));
        let total = 0;
        let largest = 0;
        for (const b of inType) {
          const f = freeRanges(
            m.blocks[b.block]!.size,
            b.allocations.map((i) => m.allocations[i]!),
          );
          total += f.totalFree;
          largest = Math.max(largest, f.largestFree);
        }
        expect(m.memoryTypes[t]!.fragmentation[p]).toBe(total > 0 ? largest / total : null);
      }
    }
    // After level 1's meshes go, device memory has holes: the largest free range is less than all that is free.
    expect(m.memoryTypes[0]!.fragmentation[25]!).toBeLessThan(1);
    expect(m.memoryTypes[0]!.fragmentation[25]!).toBeGreaterThan(0);
  });

  test("the largest allocations and the leaks", () => {
    const largest = m.largest.map((i) => m.allocations[i]!);
    expect(largest[0]).toMatchObject({ name: F.largest.name, size: F.largest.size });
    for (let i = 1; i < largest.length; i++) expect(largest[i]!.size).toBeLessThanOrEqual(largest[i - 1]!.size);
    expect(new Set(largest.map((a) => a.id)).size).toBe(largest.length); // a moved allocation once
    expect(m.leaks!.map((i) => m.allocations[i]!.name)).toEqual(["screenshot readback", "debug overlay font"]);
  });
});

describe("edge cases of traces", () => {
  test("a trace with no frames has one position 'end'; several allocators' FrameEnds of one frame make one position", () => {
    const file = path.join(dir, "two.vkmtrace");
    const w = TraceWriter.open(file);
    w.allocatorCreate(1, "a", 64, 1, [1 << 30, 1], [1, 0], "{}");
    w.allocatorCreate(2, "b", 64, 1, [1 << 30, 1], [1, 0], "{}");
    const s = new Float64Array(24);
    s.set([4096, 0x20, 0, 0], 0);
    w.frameBegin(7);
    w.allocate(1, 1, 0, 1, s, 0, 4, s, 16, 0, "x", 0, 0, 0, 4096, 9, 0, 65536);
    w.allocate(2, 2, 0, 1, s, 0, 4, s, 16, 0, "y", 0, 0, 4096, 4096, 9, 0, 65536);
    w.frameEnd(7, 1, [65536, 1000], 2);
    w.frameEnd(7, 2, [65536, 2000], 2);
    w.close();
    const m = modelFromTrace(readTrace(fs.readFileSync(file)));
    expect(m.frames.map((f) => f.label)).toEqual(["frame 7"]);
    expect(m.heaps.map((h) => [h.label.split(":")[0], h.budget[0]])).toEqual([
      ["a", 1000],
      ["b", 2000],
    ]);
    // Same handle 9 under two allocators: two blocks, not one.
    expect(m.blocks).toHaveLength(2);
    expect(m.memoryTypes.map((t) => t.label)).toEqual(["a: Type 0", "b: Type 0"]);
    // b's block: y at 4096 leaves 4096 bytes before it and 57344 after.
    expect(m.memoryTypes[1]!.fragmentation[0]).toBe(57344 / (4096 + 57344));
    expect(m.leaks).toHaveLength(2);

    const empty = path.join(dir, "empty.vkmtrace");
    TraceWriter.open(empty).close();
    const e = modelFromTrace(readTrace(fs.readFileSync(empty)));
    expect(e.frames).toHaveLength(1);
    expect(e.frames[0]).toMatchObject({ label: "end", frame: null });
    expect(e.leaks).toEqual([]);
  });

  test("freeRanges: gaps between sorted allocations, aliasing overlaps counted once", () => {
    expect(freeRanges(100, [])).toEqual({ totalFree: 100, largestFree: 100 });
    expect(
      freeRanges(100, [
        { offset: 50, size: 10 },
        { offset: 0, size: 10 },
      ]),
    ).toEqual({ totalFree: 80, largestFree: 40 });
    expect(
      freeRanges(100, [
        { offset: 0, size: 60 },
        { offset: 20, size: 20 },
        { offset: 70, size: 30 },
      ]),
    ).toEqual({ totalFree: 10, largestFree: 10 });
    expect(allocationKind("IMAGE_OPTIMAL", 0x20)).toBe("depthStencilImage");
    expect(allocationKind("IMAGE_LINEAR", 0)).toBe("linearImage");
  });
});

describe("a JSON dump as a model", () => {
  test("one position, GpuMemDumpVis's order of blocks, no leaks", () => {
    const dump = {
      General: {
        API: "Vulkan",
        apiVersion: "1.3.0",
        GPU: "llvmpipe",
        deviceType: 4,
        maxMemoryAllocationCount: 4096,
        bufferImageGranularity: 64,
        nonCoherentAtomSize: 64,
        memoryHeapCount: 1,
        memoryTypeCount: 2,
      },
      Total: { BlockCount: 2, BlockBytes: 3072, AllocationCount: 3, AllocationBytes: 1792, UnusedRangeCount: 2 },
      MemoryInfo: {
        "Heap 0": {
          Flags: ["DEVICE_LOCAL"],
          Size: 1 << 30,
          Budget: { BudgetBytes: 900, UsageBytes: 3072 },
          Stats: { BlockCount: 2, BlockBytes: 3072, AllocationCount: 3, AllocationBytes: 1792, UnusedRangeCount: 2 },
          MemoryPools: {
            "Type 1": {
              Flags: ["HOST_VISIBLE"],
              Stats: { BlockCount: 1, BlockBytes: 1024, AllocationCount: 1, AllocationBytes: 512, UnusedRangeCount: 1 },
            },
            "Type 0": {
              Flags: ["DEVICE_LOCAL"],
              Stats: {
                BlockCount: 1,
                BlockBytes: 2048,
                AllocationCount: 2,
                AllocationBytes: 1280,
                UnusedRangeCount: 1,
              },
            },
          },
        },
      },
      DefaultPools: {
        "Type 0": {
          PreferredBlockSize: 2048,
          Blocks: {
            "0": {
              MapRefCount: 0,
              TotalBytes: 2048,
              UnusedBytes: 768,
              Allocations: 1,
              UnusedRanges: 1,
              Suballocations: [
                { Offset: 0, Type: "IMAGE_OPTIMAL", Size: 1024, Usage: 0x4, Name: "albedo" },
                { Offset: 1024, Type: "FREE", Size: 1024 },
              ],
            },
          },
          DedicatedAllocations: [{ Type: "BUFFER", Size: 256, Usage: 0x80, Name: "big vb" }],
        },
      },
      CustomPools: {
        "Type 1": [
          {
            Name: "0 - particles",
            PreferredBlockSize: 1024,
            Blocks: {
              "0": {
                MapRefCount: 1,
                TotalBytes: 1024,
                UnusedBytes: 512,
                Allocations: 1,
                UnusedRanges: 1,
                Suballocations: [
                  { Offset: 0, Type: "FREE", Size: 512 },
                  { Offset: 512, Type: "BUFFER", Size: 512, Usage: 0x20 },
                ],
              },
            },
            DedicatedAllocations: [],
          },
        ],
      },
    };
    const m = modelFromDump(parseStatsString(JSON.stringify(dump)));
    expect(m.source).toBe("dump");
    expect(m.frames).toEqual([{ label: "dump", frame: null, timeUs: null }]);
    expect(m.heaps[0]).toMatchObject({ usage: [3072], budget: [900], flags: ["DEVICE_LOCAL"] });
    expect(m.memoryTypes.map((t) => t.label)).toEqual(["Type 0", "Type 1"]);
    expect(m.blocks.map((b) => [b.memoryType, b.pool, b.dedicated, b.size])).toEqual([
      [0, null, false, 2048],
      [0, null, true, 256],
      [1, "0 - particles", false, 1024],
    ]);
    expect(m.allocations.map((a) => [a.name, a.kind, a.offset, a.bornUs])).toEqual([
      ["albedo", "sampledImage", 0, null],
      ["big vb", "vertexIndexIndirectBuffer", 0, null],
      ["", "storageBuffer", 512, null],
    ]);
    expect(m.memoryTypes.map((t) => t.allocationCount[0])).toEqual([2, 1]);
    expect(m.memoryTypes.map((t) => t.fragmentation[0])).toEqual([1, 1]);
    expect(m.largest.map((i) => m.allocations[i]!.name)).toEqual(["albedo", "", "big vb"]);
    expect(m.leaks).toBeNull();
  });
});
