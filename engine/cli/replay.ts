/**
 * `vkmem replay TRACE [--algorithm A] [--default-pools A] [--block-size N] [--heap-limit N] [--budget N] [--validation]`: replays a
 * recorded trace (engine/trace) on this machine's device and prints what happened: calls per second, time per call
 * kind, peak memory per heap, failures and placement differences. With a what-if option it replays the trace twice,
 * as recorded and with the change, and prints the two side by side.
 *
 * Progress: on a terminal, one line rewritten in place (frames, calls, elapsed, ETA); otherwise a plain line about
 * every second, so logs stay readable.
 * @module
 */
import { readFileSync } from "node:fs";
import { formatBytes, table } from "../format.js";
import type { PoolAlgorithm } from "../memory/pool.js";
import { readTrace } from "../trace/reader.js";
import { replayTrace, type ReplayOptions, type ReplayProgress, type ReplayResult } from "../trace/replay.js";
import { createContext } from "../vulkan/context.js";

/** Options of {@link replay}. */
export interface ReplayCommandOptions {
  input: string;
  algorithm?: PoolAlgorithm;
  /** What-if: the default pools' allocations through one pool of this algorithm per memory type. */
  defaultPoolAlgorithm?: PoolAlgorithm;
  blockSize?: number;
  heapLimit?: number;
  budget?: number;
  validation?: boolean;
  /** Where result lines go (default console.log). */
  print?: (line: string) => void;
  /** Where progress goes (default process.stderr) and whether it is a terminal. */
  progress?: { write(text: string): void; isTTY?: boolean };
}

/**
 * Replays the trace, prints the report; returns the exit code (0: replayed, whatever it found).
 * @throws TraceFormatError for a file that is not a trace (a cut one is replayed up to the cut, with a warning).
 */
export function replay(options: ReplayCommandOptions): number {
  const print = options.print ?? ((l: string) => console.log(l));
  const out = options.progress ?? process.stderr;
  const trace = readTrace(readFileSync(options.input), { partial: true });
  if (trace.truncated !== null) {
    print(
      `vkmem replay: the trace is cut at byte ${trace.truncated.offset} (expected ${trace.truncated.expected}): replaying the ${trace.records.length} records before it`,
    );
  }
  const whatIf: ReplayOptions = {};
  if (options.algorithm !== undefined) whatIf.algorithm = options.algorithm;
  if (options.defaultPoolAlgorithm !== undefined) whatIf.defaultPoolAlgorithm = options.defaultPoolAlgorithm;
  if (options.blockSize !== undefined) whatIf.blockSize = options.blockSize;
  if (options.heapLimit !== undefined) whatIf.heapLimit = options.heapLimit;
  if (options.budget !== undefined) whatIf.budget = options.budget;
  const context = createContext({ applicationName: "vkmem replay", validation: options.validation === true });
  try {
    const session = trace.records[0];
    const device = session !== undefined && "device" in session ? session.device : "";
    print(
      `vkmem replay: ${trace.records.length} records${device ? ` recorded on ${device}` : ""}, replayed on ${context.deviceName}`,
    );
    const recorded = replayTrace(context, trace, { onProgress: progressPrinter("as recorded", out) });
    const runs: [string, ReplayResult][] = [["as recorded", recorded]];
    if (Object.keys(whatIf).length > 0) {
      const label = describeWhatIf(whatIf);
      runs.push([label, replayTrace(context, trace, { ...whatIf, onProgress: progressPrinter(label, out) })]);
    }
    if (recorded.memoryLayoutDifference !== null) {
      const map = recorded.memoryTypeMap;
      print(
        `vkmem replay: the memory differs from the recording's (${recorded.memoryLayoutDifference})` +
          (map === null ? "" : `; recorded memory types stand for ${map.map((d, t) => `${t} -> ${d}`).join(", ")}`) +
          ": placements differ by design",
      );
    }
    for (const line of report(runs, context.memoryProperties.heaps.length)) print(line);
  } finally {
    context.destroy();
  }
  return 0;
}

function describeWhatIf(o: ReplayOptions): string {
  const parts: string[] = [];
  if (o.algorithm !== undefined) parts.push(`algorithm ${o.algorithm}`);
  if (o.defaultPoolAlgorithm !== undefined) parts.push(`default pools ${o.defaultPoolAlgorithm}`);
  if (o.blockSize !== undefined) parts.push(`block ${formatBytes(o.blockSize)}`);
  if (o.heapLimit !== undefined) parts.push(`heap limit ${formatBytes(o.heapLimit)}`);
  if (o.budget !== undefined) parts.push(`budget ${formatBytes(o.budget)}`);
  return parts.join(", ");
}

function progressPrinter(
  label: string,
  out: { write(text: string): void; isTTY?: boolean },
): (p: ReplayProgress) => void {
  let lastPlain = -Infinity;
  return (p) => {
    const done = p.records === p.recordsTotal;
    const line =
      `replay (${label}): frame ${p.frames}/${p.framesTotal}, ${p.calls} calls, ` +
      `${(p.elapsedMs / 1000).toFixed(1)} s` +
      (done ? ", done" : p.etaMs === null ? "" : `, ETA ${(p.etaMs / 1000).toFixed(1)} s`);
    if (out.isTTY) {
      out.write(`\r${line}\x1b[K${done ? "\n" : ""}`);
    } else if (done || p.elapsedMs - lastPlain >= 1000) {
      lastPlain = p.elapsedMs;
      out.write(`${line}\n`);
    }
  };
}

/** The report lines: one column per run. */
export function report(runs: readonly [string, ReplayResult][], heapCount: number): string[] {
  const rows: string[][] = [];
  const row = (name: string, f: (r: ReplayResult) => string): void => {
    rows.push([name, ...runs.map(([, r]) => f(r))]);
  };
  row("calls", (r) => String(r.calls));
  row("calls per second", (r) => Math.round(r.callsPerSecond).toLocaleString("en-US"));
  row("frames", (r) => String(r.frames.length));
  for (let h = 0; h < heapCount; h++)
    row(`peak memory, heap ${h}`, (r) => formatBytes(r.peakBlockBytesPerHeap[h] ?? 0));
  row("peak blocks", (r) => String(Math.max(0, ...r.frames.map((f) => f.blocks))));
  row("worst fragmentation (largest free / free)", (r) => {
    const worst = Math.min(1, ...r.frames.map((f) => f.largestFreeOverTotalFree));
    return worst.toFixed(3);
  });
  row("failures (succeeded when recorded)", (r) => String(r.failures.length));
  row("refused by the budget", (r) => String(r.overBudget));
  row("failed as recorded", (r) => String(r.expectedFailures));
  row("placement differences", (r) => String(r.differenceCount));
  row("not replayed (descriptive records)", (r) => String(r.notReplayed));
  const lines = table(["", ...runs.map(([label]) => label)], rows).split("\n");

  const [, first] = runs[0]!;
  lines.push("", "time per call kind (as recorded):");
  const kinds = Object.entries(first.byKind).sort((a, b) => b[1].totalMs - a[1].totalMs);
  lines.push(
    ...table(
      ["kind", "calls", "total ms", "µs per call"],
      kinds.map(([kind, k]) => [
        kind,
        String(k.count),
        k.totalMs.toFixed(1),
        ((k.totalMs * 1000) / Math.max(k.count, 1)).toFixed(2),
      ]),
    ).split("\n"),
  );
  for (const [label, r] of runs) {
    for (const f of r.failures.slice(0, 10))
      lines.push(`failure (${label}): '${f.name}' at byte ${f.fileOffset}: ${f.error}`);
    if (r.failures.length > 10) lines.push(`failure (${label}): ... and ${r.failures.length - 10} more`);
    for (const d of r.differences.slice(0, 5)) {
      lines.push(
        `difference (${label}): '${d.name}' was type ${d.recorded.memoryType} @${d.recorded.offset}, now type ${d.replayed.memoryType} @${d.replayed.offset}`,
      );
    }
  }
  return lines;
}
