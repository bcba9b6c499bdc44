/**
 * Runs the `vkmem` command (bin/vkmem.js) as a process, for the tests of the command line.
 *
 * Under Wine, with the whole suite's workers running, starting node.exe itself fails now and then (status and stdout
 * null, an `error` from spawnSync, no output of ours: test/cli/main.test.ts met it first, test/cli/vis.test.ts on
 * 2026-12-05): a process that never started is started again, twice at most, and its error is kept for the message
 * of a test that still fails. Anything the command itself did is checked as it came.
 * @module
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";

/** `node bin/vkmem.js ...args` from the repository root (the tests' working directory), its output as text. */
export function runVkmem(...args: string[]): SpawnSyncReturns<string> {
  let r: SpawnSyncReturns<string>;
  let tries = 0;
  do r = spawnSync(process.execPath, ["bin/vkmem.js", ...args], { encoding: "utf8" });
  while (++tries < 3 && r.error !== undefined && r.status === null && r.stdout === null);
  return r;
}
