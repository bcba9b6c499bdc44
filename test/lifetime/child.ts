/**
 * Runs a lifetime scenario in a child Node process, so that a crash (SIGSEGV, an abort in VMA or the validation
 * layer) or a silent exit (code 13: a top-level await that never settles) shows as a failed assertion on its exit
 * code and output instead of a dead test worker.
 *
 * The scenario is an ES module body run with `node --input-type=module -e`; `vk` is the built package (dist/), and
 * `failing(context)` gives the ids of the validation warnings and errors a context collected.
 * @module
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

const PRELUDE = `
import * as vk from "./dist/engine/index.js";
const failing = (context) => context.validationMessages.filter((m) => m.severity === "error" || m.severity === "warning").map((m) => m.id || m.message.slice(0, 120));
const thrown = (fn) => { try { fn(); return "no error"; } catch (e) { return e.name + ": " + e.message; } };
`;

/** What a scenario printed and how it ended. */
export interface ScenarioResult {
  /** The exit code, or null when a signal killed it. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `body` (an ES module body using `vk`, `failing` and `thrown`) in a child process; `flags` go to node. */
export function runScenario(body: string, flags: string[] = []): ScenarioResult {
  const r = spawnSync(process.execPath, [...flags, "--input-type=module", "-e", PRELUDE + body], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A one-line account of a result for assertion messages. */
export function describeResult(r: ScenarioResult): string {
  return `exit ${r.status} signal ${r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
