/**
 * The fuzzer's runner: splits `--ops N` operations over `--seeds K` seeds (S, S+1, ...), runs each seed in its own
 * Node process (seed.ts), `--jobs J` at a time, and judges each process from outside as well as by its report:
 *
 * - a FUZZ-RESULT line with `passed: true` and exit code 0: the seed passed;
 * - a FUZZ-RESULT line with a failure: the failure (untyped error, validation message, content mismatch, leak, ...);
 * - no result line: a crash (killed by a signal, or exit 134 / 139), Node's exit 13 (a top-level await that never
 *   settled), or another exit code;
 * - no operation started for `--stall S` seconds (default 30; the seed writes each operation to its trace file as it
 *   starts): a hang (killed). A seed that is slow but moving (the validation layer on a GPU runs ~20 ops/s) is not
 *   one; `--timeout S` (default 300 s + 100 ms per op) still bounds the whole seed.
 *
 * Each failure is printed with its seed, category, message, the last operations (from the seed's own report, or
 * from its trace file when it died) and a one-line command that replays it. The last line is exactly
 * `N passed, M failed`, counting seeds. The exit code is 0 when none failed.
 *
 * Options: `--ops N` (default 10000), `--seed S` (default 1), `--seeds K` (default one per 4000 ops), `--jobs J`
 * (default 1), `--stall S`, `--timeout S`, `--known-bugs all|none|ITEMS` (default all: step around every bug in known-bugs.ts),
 * `--disable PATTERNS` (comma-separated op patterns to step around as well, as in known-bugs.ts), `--json FILE` (the
 * per-seed results). With VKMEM_TEST_LAYERS and VK_ADD_LAYER_PATH from test/native/discrete-memory.mjs
 * (layerEnvironment) in the environment, the contexts run over the test layer's discrete GPU memory.
 * @module
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { SeedResult } from "./seed.js";

const here = path.dirname(fileURLToPath(import.meta.url));

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function integer(name: string, fallback: number, min: number): number {
  const raw = argument(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min) {
    console.error(`fuzz: --${name} must be an integer of at least ${min}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return v;
}

interface Outcome {
  seed: number;
  ops: number;
  passed: boolean;
  category: string;
  message: string;
  lastOps: string[];
  seconds: number;
  counts?: Record<string, number>;
}

const totalOps = integer("ops", 10000, 1);
const firstSeed = integer("seed", 1, 0);
const seeds = integer("seeds", Math.max(1, Math.ceil(totalOps / 4000)), 1);
const jobs = integer("jobs", 1, 1);
const perSeed = Math.ceil(totalOps / seeds);
const timeoutS = integer("timeout", Math.ceil(300 + perSeed * 0.1), 1);
const stallS = integer("stall", 30, 1);
const knownBugs = argument("known-bugs") ?? "all";
const disable = argument("disable") ?? "";
const jsonOut = argument("json");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "vkmem-fuzz-"));

function lastLines(file: string, n: number): string[] {
  try {
    const lines = fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.length > 0);
    return lines.slice(-n);
  } catch {
    return [];
  }
}

function runSeed(seed: number): Promise<Outcome> {
  const trace = path.join(tmp, `seed-${seed}.trace`);
  const args = [
    path.join(here, "seed.js"),
    "--seed",
    String(seed),
    "--ops",
    String(perSeed),
    "--known-bugs",
    knownBugs,
    "--disable",
    disable,
    "--trace",
    trace,
  ];
  const start = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 20000) stderr = stderr.slice(-20000);
    });
    let hung: string | null = null;
    const timer = setTimeout(() => {
      hung = `still running after ${timeoutS} s (killed)`;
      child.kill("SIGKILL");
    }, timeoutS * 1000);
    // The watchdog: the trace file grows by a line per operation started; no growth for stallS seconds is a hang.
    let lastSize = -1;
    let lastGrowth = performance.now();
    const watchdog = setInterval(() => {
      let size = 0;
      try {
        size = fs.statSync(trace).size;
      } catch {
        // not created yet
      }
      if (size !== lastSize) {
        lastSize = size;
        lastGrowth = performance.now();
      } else if (performance.now() - lastGrowth > stallS * 1000 && hung === null) {
        hung = `no operation started for ${stallS} s (killed)`;
        child.kill("SIGKILL");
      }
    }, 1000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      clearInterval(watchdog);
      const seconds = (performance.now() - start) / 1000;
      const line = stdout.split("\n").find((l) => l.startsWith("FUZZ-RESULT "));
      const lastOps = lastLines(trace, 30);
      // For a seed that died: the number of the last operation it started.
      const started = Number(/^#(\d+)/.exec(lastOps[lastOps.length - 1] ?? "")?.[1] ?? 0);
      const base = { seed, ops: started, seconds, lastOps };
      let outcome: Outcome;
      if (hung !== null) outcome = { ...base, passed: false, category: "hang", message: hung };
      else if (line !== undefined) {
        const r = JSON.parse(line.slice("FUZZ-RESULT ".length)) as SeedResult;
        outcome = {
          seed,
          ops: r.ops,
          seconds,
          counts: r.counts,
          passed: r.passed && code === 0,
          category: r.category ?? (code === 0 ? "" : "crash"),
          message: r.message ?? (code === 0 ? "" : `exit code ${code} after its report`),
          lastOps: r.lastOps ?? base.lastOps,
        };
      } else if (code === 13)
        outcome = {
          ...base,
          passed: false,
          category: "exit-13",
          message: "Node exited with code 13: an await that never settles (nothing left to run)",
        };
      else {
        const tail = stderr.trim().split("\n").slice(-4).join(" | ");
        outcome = {
          ...base,
          passed: false,
          category: "crash",
          message: `${signal !== null ? `killed by ${signal}` : `exit code ${code}`}${tail ? `: ${tail}` : ""}`,
        };
      }
      if (outcome.passed) fs.rmSync(trace, { force: true });
      resolve(outcome);
    });
  });
}

function reproduction(o: Outcome): string {
  return `npm run fuzz -- --ops ${perSeed} --seed ${o.seed} --seeds 1${knownBugs !== "all" ? ` --known-bugs ${knownBugs}` : ""}${disable !== "" ? ` --disable ${disable}` : ""}`;
}

async function main(): Promise<void> {
  console.log(
    `fuzz: ${totalOps} ops over ${seeds} seed(s) from ${firstSeed} (${perSeed} each), ${jobs} job(s), known bugs: ${knownBugs}`,
  );
  const start = performance.now();
  const queue = Array.from({ length: seeds }, (_, i) => firstSeed + i);
  const outcomes: Outcome[] = [];
  const worker = async (): Promise<void> => {
    for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) {
      const o = await runSeed(seed);
      outcomes.push(o);
      const counts = o.counts
        ? `, ${o.counts.hostile} hostile, ${o.counts.frames} frames, ${o.counts.downloadsChecked} downloads checked`
        : "";
      console.log(
        `seed ${seed}: ${o.passed ? "passed" : `FAILED (${o.category})`} ${o.ops} ops in ${o.seconds.toFixed(1)} s${counts}`,
      );
      if (!o.passed) {
        console.log(`  ${o.message.split("\n").join("\n  ")}`);
        console.log(`  last operations:`);
        for (const op of o.lastOps) console.log(`    ${op}`);
        console.log(`  reproduce: ${reproduction(o)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, seeds) }, worker));
  const seconds = (performance.now() - start) / 1000;
  const ops = outcomes.reduce((s, o) => s + o.ops, 0);
  const failed = outcomes.filter((o) => !o.passed);
  if (jsonOut !== undefined)
    fs.writeFileSync(jsonOut, JSON.stringify({ totalOps, seeds, jobs, seconds, ops, outcomes }, null, 2));
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`fuzz: ${ops} ops in ${seconds.toFixed(1)} s (${Math.round(ops / seconds)} ops/s)`);
  if (failed.length > 0) {
    console.log(`failed seeds:`);
    for (const o of failed.sort((a, b) => a.seed - b.seed))
      console.log(`  seed ${o.seed} (${o.category}): ${reproduction(o)}`);
  }
  console.log(`${outcomes.length - failed.length} passed, ${failed.length} failed`);
  process.exitCode = failed.length === 0 ? 0 : 1;
}

await main();
