/**
 * The trace writer's integer encoding (engine/trace/writer.ts): every value written reads back the same, across the
 * fast paths (below 128 in place, below 2^31 in int arithmetic, 2^31 to 2^53 split into 32-bit halves), and the clock
 * is read once per CLOCK_EVERY records and at frame boundaries: the records in between carry no time of their own.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { readTrace, RecordKind, TraceWriter } from "../../engine/index.js";
import { CLOCK_EVERY } from "../../engine/trace/writer.js";

function written(fill: (w: TraceWriter) => void) {
  const dir = mkdtempSync(join(tmpdir(), "vkmem-varints-"));
  try {
    const file = join(dir, "t.vkmtrace");
    const w = TraceWriter.open(file);
    fill(w);
    w.close();
    return readTrace(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("integers from 0 to 2^53 - 1 read back as written; fractions as their integer part, bad numbers as 0", () => {
  const values = [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5];
  values.push(2 ** 40 + 123, 2 ** 47 + 99, 2 ** 53 - 1, 3.7, 2 ** 31 + 0.5, -5, NaN);
  const trace = written((w) => values.forEach((v) => w.free(v)));
  const read = trace.records.flatMap((r) => (r.kind === RecordKind.Free ? [r.allocation] : []));
  expect(read).toEqual(values.map((v) => (v >= 0 ? Math.floor(v) : 0)));
});

test("the clock is read for one record in CLOCK_EVERY and for every frame boundary", () => {
  const trace = written((w) => {
    for (let i = 0; i < 3 * CLOCK_EVERY; i++) w.free(i);
    w.frameBegin(1);
    w.free(1);
  });
  const frees = trace.records.filter((r) => r.kind === RecordKind.Free);
  // The Session record read the clock; then records CLOCK_EVERY - 1, 2 * CLOCK_EVERY - 1, ... do. The others
  // share the time of the read before them.
  for (let i = 1; i < 3 * CLOCK_EVERY; i++) {
    if (i % CLOCK_EVERY !== CLOCK_EVERY - 1) expect(frees[i]!.timeUs).toBe(frees[i - 1]!.timeUs);
  }
  const frame = trace.records.find((r) => r.kind === RecordKind.FrameBegin)!;
  expect(frame.timeUs).toBeGreaterThanOrEqual(frees[3 * CLOCK_EVERY - 1]!.timeUs);
});
