/**
 * What every benchmark under bench/ shares: timing, repetitions and medians, the printed table, the JSON result
 * file and a description of the machine.
 *
 * Conventions of vkmem's benchmarks:
 * - A benchmark is a plain script (compiled to dist/bench/) started by `npm run bench -- <name>` through
 *   bench/run.ts. It prints a table and writes `bench/results/<name>.json` (git-ignored). It never asserts and
 *   never fails because a number missed its target: the table says whether each target is met.
 * - Every measured loop is warmed up first, then run a number of repetitions; what is reported is the median of the
 *   repetitions, and every sample is kept in the JSON so that spread can be judged later.
 * - Time is `process.hrtime.bigint()`: monotonic, nanoseconds.
 * - Validation layers stay off (they multiply Vulkan call costs); {@link layersFromEnvironment} notes when the
 *   environment turns some on behind our back.
 * @module
 */
import { closeSync, mkdirSync, openSync, readSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCommandLine, UsageError as CliUsageError, type OptionSpec } from "../engine/cli/args.js";

/** The repository root: the nearest folder above this file holding package.json (works from bench/ and dist/bench/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "bench"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`bench: cannot find the repository root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Nanoseconds now, from the monotonic clock. */
export function nowNs(): bigint {
  return process.hrtime.bigint();
}

/** Runs `fn` once and returns how long it took, in nanoseconds. */
export function timeNs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}

/** The median of `values` (mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The `q` quantile of `values` (q in [0, 1]; 0.99 for the 99th percentile): the value at rank floor(q * n). */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** `x` rounded to `digits` decimals for a results file; null for null, NaN and infinities. */
export function round(x: number | null, digits = 1): number | null {
  return x === null || !Number.isFinite(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits;
}

/** One measured loop: the samples of every repetition and their median, per item (pair, call, ...). */
export interface Measurement {
  /** Items per repetition. */
  iterations: number;
  repetitions: number;
  /** Items run before the repetitions and not measured. */
  warmup: number;
  /** Nanoseconds per item, one per repetition, in the order they ran. */
  samples: number[];
  /** The median of `samples`. */
  median: number;
  min: number;
  max: number;
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  /** Items per repetition. */
  iterations: number;
  /** Repetitions (default 7). */
  repetitions?: number;
  /** Items run once first, unmeasured, so that JIT, caches and the allocator's first block are warm (default 0). */
  warmup?: number;
  /** Called after each repetition with its nanoseconds per item (progress output). */
  onSample?: (nsPerItem: number, repetition: number) => void;
}

/**
 * Measures `run(n)`, which must perform `n` items: once with `warmup` items, then `repetitions` times with
 * `iterations` items each, timing each repetition as a whole.
 */
export function measure(run: (n: number) => void, options: MeasureOptions): Measurement {
  const repetitions = options.repetitions ?? 7;
  const warmup = options.warmup ?? 0;
  const { iterations } = options;
  if (warmup > 0) run(warmup);
  const samples: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    const ns = timeNs(() => run(iterations));
    const perItem = ns / iterations;
    samples.push(perItem);
    options.onSample?.(perItem, r);
  }
  return summarize(samples, iterations, warmup);
}

/** A {@link Measurement} from samples measured elsewhere (e.g. by a child process). */
export function summarize(samples: number[], iterations: number, warmup: number): Measurement {
  return {
    iterations,
    repetitions: samples.length,
    warmup,
    samples,
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
  };
}

/**
 * How many items make one repetition last about `targetNs`, from a short calibration run of `run`, clamped to
 * [min, max]. For loops whose cost per item differs by orders of magnitude between machines (raw Vulkan
 * allocations: microseconds on lavapipe, most of a millisecond on a discrete GPU).
 */
export function calibrate(run: (n: number) => void, targetNs: number, min: number, max: number): number {
  let n = 1;
  let ns = 0;
  // Grow the probe until it takes 50 ms or reaches max: one slow first call does not decide alone.
  for (;;) {
    ns = timeNs(() => run(n));
    if (ns >= 50e6 || n >= max) break;
    n = Math.min(max, n * 4);
  }
  const perItem = ns / n;
  return Math.max(min, Math.min(max, Math.round(targetNs / perItem)));
}

/** Formats nanoseconds with a unit that keeps 3-4 significant digits. */
export function formatNs(ns: number | null): string {
  if (ns === null || !Number.isFinite(ns)) return "n/a";
  if (ns < 1e3) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

/** Prints rows as a table with a header line; every cell is a string already. Numbers align right. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const numeric = header.map((_, c) => rows.every((r) => /^[-+]?[\d.]|^n\/a$|^$/.test(r[c] ?? "")));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}

/** Writes `bench/results/<name>.json` (creating the folder) and returns its path. */
export function writeResults(name: string, data: unknown): string {
  const dir = join(repoRoot(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return relative(process.cwd(), file) || file;
}

/** The machine the benchmark ran on, beyond the GPU: CPU, cores, memory, OS, Node. */
export function describeHost(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    hostname: os.hostname(),
    node: process.version,
    v8: process.versions.v8,
  };
}

/** The Vulkan device a benchmark ran on, as its results describe it. */
export interface DeviceDescription {
  name: string;
  type: string;
  /** The Vulkan version in use, "1.3". */
  apiVersion: string;
  enabledDeviceExtensions: string[];
  features: Record<string, boolean>;
  heaps: { sizeMiB: number; flags: number }[];
  memoryTypes: { propertyFlags: number; heapIndex: number }[];
}

/** The fields of a Context that {@link describeDevice} reads. */
interface DescribableContext {
  deviceName: string;
  deviceType: string;
  apiVersion: number;
  enabledDeviceExtensions: Iterable<string>;
  features: object;
  memoryProperties: {
    heaps: readonly { size: number; flags: number }[];
    types: readonly { propertyFlags: number; heapIndex: number }[];
  };
}

/** Describes a Context's device for the results file. */
export function describeDevice(context: DescribableContext): DeviceDescription {
  const v = context.apiVersion;
  return {
    name: context.deviceName,
    type: context.deviceType,
    apiVersion: `${v >>> 22}.${(v >>> 12) & 0x3ff}`,
    enabledDeviceExtensions: [...context.enabledDeviceExtensions].sort(),
    features: Object.fromEntries(Object.entries(context.features).map(([k, on]) => [k, on === true])),
    heaps: context.memoryProperties.heaps.map((h) => ({ sizeMiB: Math.round(h.size / 2 ** 20), flags: h.flags })),
    memoryTypes: context.memoryProperties.types.map((t) => ({
      propertyFlags: t.propertyFlags,
      heapIndex: t.heapIndex,
    })),
  };
}

/**
 * Vulkan layers that the environment would switch on without the program asking (the loader's VK_INSTANCE_LAYERS
 * and VK_LOADER_LAYERS_ENABLE): a benchmark reports them, since a validation layer makes its numbers meaningless.
 */
export function layersFromEnvironment(): string[] {
  const found: string[] = [];
  for (const name of ["VK_INSTANCE_LAYERS", "VK_LOADER_LAYERS_ENABLE"]) {
    const value = process.env[name];
    if (value !== undefined && value.trim() !== "") found.push(`${name}=${value}`);
  }
  return found;
}

/** A small file's text, or null when it cannot be read. */
export function readTextOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

/**
 * Command-line flags of the form `--name value` (or `--name=value`) and `--flag`, against a list of known names,
 * parsed with `node:util` parseArgs (engine/cli/args.ts). Unknown flags and missing values throw with a message
 * that lists what is accepted.
 */
export function parseFlags(
  argv: readonly string[],
  known: Readonly<Record<string, "value" | "boolean">>,
  usage: string,
): Map<string, string | true> {
  const options: Record<string, OptionSpec> = {};
  for (const [flag, kind] of Object.entries(known))
    options[flag.replace(/^--/, "")] = { type: kind === "value" ? "string" : "boolean", value: "VALUE" };
  let values;
  try {
    values = parseCommandLine(argv, options).values;
  } catch (e) {
    if (e instanceof CliUsageError) throw new UsageError(`${e.message}\n${usage}`);
    throw e;
  }
  const out = new Map<string, string | true>();
  for (const [name, v] of Object.entries(values))
    if (v !== undefined) out.set(`--${name}`, v === true ? true : String(v));
  return out;
}

/**
 * A bench program's positional arguments (`node dist/bench/gpu/x.js [A] [B]`), parsed with parseArgs: each a whole
 * number from 1 up, or its default when absent.
 * @throws UsageError naming the argument and the bad value.
 */
export function positionalNumbers(
  argv: readonly string[],
  names: readonly string[],
  defaults: readonly number[],
): number[] {
  let positionals;
  try {
    positionals = parseCommandLine(argv, {}, names.length).positionals;
  } catch (e) {
    if (e instanceof CliUsageError)
      throw new UsageError(`${e.message} (arguments: ${names.map((n) => `[${n}]`).join(" ")})`);
    throw e;
  }
  return names.map((name, i) => {
    const text = positionals[i];
    if (text === undefined) return defaults[i]!;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1) throw new UsageError(`${name} must be a whole number from 1, got ${text}`);
    return n;
  });
}

/** {@link positionalNumbers} for a program's own command line: a wrong one prints `program: why` and exits with status 2. */
export function programNumbers(
  program: string,
  argv: readonly string[],
  names: readonly string[],
  defaults: readonly number[],
): number[] {
  try {
    return positionalNumbers(argv, names, defaults);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${program}: ${e.message}`);
    process.exit(2);
  }
}

/** A positive integer flag value, or `fallback` when absent. */
export function intFlag(flags: Map<string, string | true>, name: string, fallback: number, usage: string): number {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v === true || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${name} must be a positive integer, got '${String(v)}'\n${usage}`);
  }
  return n;
}

/** A wrong command line: bench/run.ts prints the message alone (no stack) and exits with status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** What {@link offCpuWatch} returns: `read()` before and after a timed part; a different line means it left its CPU. */
export interface OffCpuWatch {
  read(): string;
  close(): void;
}

/**
 * Watches whether the calling thread leaves its CPU, from Linux's /proc/thread-self/schedstat: its second field is
 * the time the thread spent runnable but waiting for a CPU and its third the number of times it was put on one, so
 * the line changes when the thread was descheduled (preempted by another process, or blocked and woken). On a shared
 * machine such a part's time is partly someone else's; benchmarks report the figures without those parts beside the
 * full ones. Reading costs a few µs: do it outside the timed part. Elsewhere (no such file) `read()` returns "" and
 * nothing is flagged. Open it on the thread it watches (the file names the thread that opens it).
 */
export function offCpuWatch(): OffCpuWatch {
  let fd = -1;
  try {
    fd = openSync("/proc/thread-self/schedstat", "r");
  } catch {
    fd = -1;
  }
  const buf = Buffer.alloc(128);
  return {
    read(): string {
      if (fd < 0) return "";
      const n = readSync(fd, buf, 0, buf.length, 0);
      return buf.toString("latin1", buf.indexOf(32), n);
    },
    close(): void {
      if (fd >= 0) closeSync(fd);
      fd = -1;
    },
  };
}
