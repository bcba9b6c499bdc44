/**
 * Traces recorded by both samples (`--record`), as a user would make them: the compiled programs run headless, the
 * trace they leave is replayed on this device with no failure and no placement difference, replayed again under
 * another block size, and drawn by `vkmem report` into a page that names the samples' allocations.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { RecordKind } from "../../engine/trace/format.js";
import { readTrace } from "../../engine/trace/reader.js";
import { replayTrace } from "../../engine/trace/replay.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem sample-trace tests" });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vkmem-sample-traces-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const dist = path.resolve(import.meta.dirname, "../../dist");
const cli = path.resolve(import.meta.dirname, "../../bin/vkmem.js");

const SAMPLES = [
  {
    name: "vma-sample",
    args: ["--headless", "--frames", "30", "--quiet"],
    allocation: /cube|texture|vertex|index/i,
    evicts: false,
  },
  {
    name: "texture-streaming",
    args: [
      "--headless",
      "--frames",
      "400",
      "--budget",
      "8",
      "--panels",
      "300",
      "--width",
      "640",
      "--height",
      "360",
      "--quiet",
    ],
    allocation: /panel|streamer|tail/i,
    evicts: true,
  },
];

describe("traces recorded by the samples", () => {
  for (const sample of SAMPLES) {
    const program = path.join(dist, "samples", sample.name, "main.js");
    test.skipIf(!fs.existsSync(program))(
      `${sample.name} --record: replays identically, under another block size, and as a report`,
      () => {
        const trace = path.join(dir, `${sample.name}.vkmtrace`);
        execFileSync(
          process.execPath,
          [program, ...sample.args, "--out", path.join(dir, `${sample.name}.png`), "--record", trace],
          { encoding: "utf8" },
        );
        const parsed = readTrace(fs.readFileSync(trace));
        expect(parsed.truncated).toBeNull();
        const allocations = parsed.records.filter((r) => r.kind === RecordKind.Allocate);
        expect(allocations.length).toBeGreaterThan(5);
        expect(parsed.records.filter((r) => r.kind === RecordKind.FrameEnd).length).toBeGreaterThanOrEqual(30);
        expect(parsed.records.at(-1)!.kind).toBe(RecordKind.AllocatorDestroy);
        // Under an 8 MiB budget the streamer evicts, and says so in the trace.
        expect(parsed.records.some((r) => r.kind === RecordKind.StreamerEvict)).toBe(sample.evicts);
        // The streamer's requests are recorded too (those that change what a frame wants), each naming a texture.
        const requests = parsed.records.filter((r) => r.kind === RecordKind.StreamerRequest);
        expect(requests.length > 0).toBe(sample.evicts);
        expect(requests.every((r) => r.texture >= 1 && r.streamer >= 1)).toBe(true);
        // An eviction is the allocator making the image lost: both are recorded, and the replay makes it lost again.
        expect(parsed.records.filter((r) => r.kind === RecordKind.Lost).length).toBe(
          parsed.records.filter((r) => r.kind === RecordKind.StreamerEvict).length,
        );

        const same = replayTrace(gpu.context, parsed);
        expect(same.failures).toEqual([]);
        // Placed identically on the memory it was recorded on (a fixture over the discrete-memory test layer replays
        // a recording its child process made without it: the report says how they differ, and placements may).
        if (same.memoryLayoutDifference === null) expect(same.differenceCount).toBe(0);
        expect(same.byKind.Allocate!.count).toBe(allocations.length);

        const smaller = replayTrace(gpu.context, parsed, { blockSize: 1024 * 1024 });
        expect(smaller.frames.length).toBe(same.frames.length);

        const html = path.join(dir, `${sample.name}.html`);
        execFileSync(process.execPath, [cli, "report", trace, "-o", html], { encoding: "utf8" });
        const page = fs.readFileSync(html, "utf8");
        expect(page).toMatch(sample.allocation);
        expect(page).toContain(sample.name);
      },
      120_000,
    );
  }
});
