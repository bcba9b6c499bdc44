/**
 * One seed of the fuzzer, run as its own Node process by the runner (runner.ts) so that a crash, a hang or an exit
 * without output is seen from outside: `node build/fuzz/seed.js --seed S --ops N [--known-bugs SPEC] [--disable PATTERNS] [--trace FILE]`.
 *
 * On the way out it prints one line `FUZZ-RESULT {json}` (the seed, its counters, and the failure with the last
 * operations when there was one) and exits 0 when the seed passed, 1 when it failed. An unhandled rejection is a
 * failure of the seed. The trace file gets every operation as it starts, written synchronously, so the runner can
 * show the last ones even after a crash.
 * @module
 */
import * as fs from "node:fs";
import { selectKnownBugs } from "./known-bugs.js";
import { FuzzFailure, describeError } from "./outcome.js";
import { World } from "./world.js";

/** What a seed reports on its FUZZ-RESULT line. */
export interface SeedResult {
  seed: number;
  ops: number;
  passed: boolean;
  category?: string;
  message?: string;
  lastOps?: string[];
  counts?: Record<string, number>;
  seconds: number;
}

function argument(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const seed = Number(argument("seed", "1"));
  const ops = Number(argument("ops", "1000"));
  const trace = argument("trace");
  const traceFd = trace === undefined ? null : fs.openSync(trace, "w");
  const start = performance.now();
  let world: World | null = null;
  let failure: { category: string; message: string } | null = null;
  const rejections: unknown[] = [];
  process.on("unhandledRejection", (reason) => {
    rejections.push(reason);
  });
  try {
    const bugs = selectKnownBugs(argument("known-bugs"));
    const extra = argument("disable");
    if (extra !== undefined && extra !== "")
      bugs.push({ item: "new", description: "--disable", disables: extra.split(",") });
    world = new World({ seed, ops, bugs, traceFd });
    await world.run();
  } catch (error) {
    failure =
      error instanceof FuzzFailure
        ? { category: error.category, message: error.message }
        : {
            category: "unexpected-error",
            message: `fuzzer stopped: ${describeError(error)}\n${(error as Error)?.stack ?? ""}`,
          };
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (failure === null && rejections.length > 0)
    failure = { category: "unhandled-rejection", message: describeError(rejections[0]) };
  const result: SeedResult = {
    seed,
    ops: world?.counts.ops ?? 0,
    passed: failure === null,
    seconds: (performance.now() - start) / 1000,
    counts: world ? { ...world.counts } : undefined,
  };
  if (failure !== null) {
    result.category = failure.category;
    result.message = failure.message;
    result.lastOps = world?.ring.slice() ?? [];
  }
  if (traceFd !== null) fs.closeSync(traceFd);
  process.stdout.write(`FUZZ-RESULT ${JSON.stringify(result)}\n`);
  process.exitCode = failure === null ? 0 : 1;
}

await main();
