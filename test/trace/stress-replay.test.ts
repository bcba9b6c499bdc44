/**
 * A trace written by the frame-stress run (bench/gpu/frame-stress.ts with `record`): random buffers and textures
 * made, uploaded and destroyed every frame under a device-local heap limit, with three frames in flight. The trace
 * replays on this device with no failure and no placement difference (the allocations VMA refused when recorded are
 * refused again), and the same calls are compared under other algorithms: the default pools' allocations sent to
 * one linear or buddy pool per memory type (`defaultPoolAlgorithm`), side by side with the recorded run.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, expect, test } from "vitest";
import { runFrameStress } from "../../bench/gpu/frame-stress.js";
import { RecordKind } from "../../engine/trace/format.js";
import { readTrace } from "../../engine/trace/reader.js";
import { replayTrace } from "../../engine/trace/replay.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem stress trace" });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vkmem-stress-trace-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const MiB = 1024 * 1024;
const vkmem = path.resolve(import.meta.dirname, "../../bin/vkmem.js");

test("the frame-stress run's trace replays identically, and is compared under linear and buddy pools", async () => {
  const file = path.join(dir, "stress.vkmtrace");
  const report = await runFrameStress({
    context: gpu.context,
    frames: 400,
    framesInFlight: 3,
    heapLimit: 96 * MiB,
    seed: 15,
    record: file,
  });
  expect(report.failures).toEqual([]);
  const trace = readTrace(fs.readFileSync(file));
  expect(trace.truncated).toBeNull();
  const allocates = trace.records.filter((r) => r.kind === RecordKind.Allocate);
  const refused = allocates.filter((r) => r.result !== 0).length;
  expect(allocates.length).toBeGreaterThan(report.buffersCreated + report.texturesCreated);
  expect(trace.records.filter((r) => r.kind === RecordKind.FrameEnd).length).toBe(400);
  expect(trace.records.filter((r) => r.kind === RecordKind.Upload).length).toBeGreaterThan(100);
  expect(trace.records.at(-1)!.kind).toBe(RecordKind.AllocatorDestroy);

  const same = replayTrace(gpu.context, trace);
  expect(same.failures).toEqual([]);
  expect(same.differences).toEqual([]);
  expect(same.differenceCount).toBe(0);
  expect(same.newSuccesses).toBe(0);
  expect(same.expectedFailures).toBe(refused);
  expect(same.byKind.Allocate!.count).toBe(allocates.length);
  expect(same.frames).toHaveLength(400);

  const lines = [`recorded run: ${fmt(same)}`];
  for (const algorithm of ["linear", "buddy"] as const) {
    const other = replayTrace(gpu.context, trace, { defaultPoolAlgorithm: algorithm, blockSize: 16 * MiB });
    lines.push(`default pools as ${algorithm} pools: ${fmt(other)}`);
    expect(other.byKind.Allocate!.count).toBe(allocates.length);
    expect(other.frames).toHaveLength(400);
    // Every allocation is placed or counted as failed; the places are another allocator's.
    expect(other.differenceCount).toBeGreaterThan(0);
    expect(other.peakBlockBytesPerHeap).not.toEqual(same.peakBlockBytesPerHeap);
  }
  console.log(lines.join("\n"));

  // The same from the command line: both runs side by side.
  const cli = spawnSync(process.execPath, [vkmem, "replay", file, "--default-pools", "buddy", "--block-size", "16M"], {
    encoding: "utf8",
  });
  expect(cli.status).toBe(0);
  expect(cli.stdout).toMatch(/as recorded/);
  expect(cli.stdout).toMatch(/default pools buddy, block 16 MiB/);
  const bad = spawnSync(process.execPath, [vkmem, "replay", file, "--default-pools", "best"], { encoding: "utf8" });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/^vkmem replay: --default-pools needs tlsf, linear or buddy, got best\n/);
}, 240_000);

function fmt(r: ReturnType<typeof replayTrace>): string {
  const peak = Math.max(...r.peakBlockBytesPerHeap) / MiB;
  const worst = Math.min(...r.frames.map((f) => f.largestFreeOverTotalFree));
  const blocks = Math.max(...r.frames.map((f) => f.blocks));
  return `peak ${peak.toFixed(1)} MiB, up to ${blocks} blocks, worst fragmentation ${worst.toFixed(3)}, ${r.failures.length} failures, ${r.differenceCount} placement differences`;
}
