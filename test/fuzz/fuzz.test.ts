/**
 * The bounded fuzz run of `npm test`: about 30,000 operations over a few seeds, each seed in its own Node process,
 * two at a time (test/fuzz/runner.ts). The known bugs of test/fuzz/known-bugs.ts are stepped around; everything else
 * the fuzzer finds (a crash, a hang, an untyped error, a validation message, a content mismatch, a leak) fails the
 * test, whose message carries the runner's report: the seed, the last operations and the command that replays it.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { FUZZ_SEEDS, fuzzArgs, WIN_FUZZ_SEEDS } from "../../scripts/test-lanes.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Half the seeds on Windows (scripts/test-lanes.mjs). */
const seeds = process.platform === "win32" ? WIN_FUZZ_SEEDS : FUZZ_SEEDS;

test("the bounded fuzz run finds nothing beyond the known bugs", () => {
  const run = spawnSync(process.execPath, ["test/fuzz/main.mjs", ...fuzzArgs(seeds)], {
    cwd: root,
    encoding: "utf8",
    timeout: 280_000,
  });
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
  const lines = output.trim().split("\n");
  const last = lines[lines.length - 1] ?? "";
  expect(last, output).toMatch(/^\d+ passed, \d+ failed$/);
  expect(last, output).toBe(`${seeds} passed, 0 failed`);
  expect(run.status, output).toBe(0);
}, 300_000);
