/**
 * The whole repository type-checks: `tsc --noEmit -p tsconfig.json`, whose `include` adds test/ and
 * vitest.config.ts to what the set-up step compiles (tsconfig.build.json: engine/, bench/, samples/, examples/).
 * vitest strips types without checking them, so a test file that does not type-check ran and passed; this test
 * is where it fails (two casts of test/resources/field-representations.test.ts did, 2026-12-05).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import * as path from "node:path";
import { expect, test } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");

test("tsc --noEmit -p tsconfig.json reports nothing", () => {
  const tsc = createRequire(path.join(root, "package.json")).resolve("typescript/bin/tsc");
  const r = spawnSync(process.execPath, [tsc, "--noEmit", "-p", "tsconfig.json"], { cwd: root, encoding: "utf8" });
  expect(`${r.stdout}${r.stderr}`.trim()).toBe("");
  expect(r.status).toBe(0);
}, 120_000);
