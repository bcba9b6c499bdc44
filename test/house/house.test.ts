/**
 * The house rules of issue 12, checked on every `npm test`: Prettier (120 columns, .prettierrc.json) decides the
 * layout of engine/, samples/, bench/ and test/ (`npm run format` applies it); no import cycle under engine/, type
 * imports included; no module under engine/ past 700 lines (scripts/check-house.mjs); every shell script the
 * repository tracks parses (`bash -n`).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as prettier from "prettier";
import { describe, expect, test } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { checkHouse } from "../../scripts/check-house.mjs";

const root = path.resolve(import.meta.dirname, "../..");
const FORMATTED = ["engine", "samples", "bench", "test"];

function files(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" }).map((f) => path.join(dir, f));
}

describe("house rules", () => {
  test("engine/ has no import cycle and no module past 700 lines", () => {
    expect(checkHouse("engine")).toEqual([]);
  });

  test("engine/, samples/, bench/ and test/ are as Prettier lays them out (npm run format)", async () => {
    const ignorePath = path.join(root, ".prettierignore");
    const unformatted: string[] = [];
    let checked = 0;
    for (const file of FORMATTED.flatMap(files)) {
      const full = path.join(root, file);
      if (!fs.statSync(full).isFile()) continue;
      const info = await prettier.getFileInfo(full, { ignorePath });
      if (info.ignored || info.inferredParser === null) continue;
      const options = { ...(await prettier.resolveConfig(full)), filepath: full };
      if (!(await prettier.check(fs.readFileSync(full, "utf8"), options))) unformatted.push(file);
      checked++;
    }
    expect(checked).toBeGreaterThan(200);
    expect(unformatted, "run `npm run format`").toEqual([]);
  }, 120_000);

  // bench/gpu/run-checks.sh carries a Node program in single quotes: an apostrophe in its comment ended the quote,
  // and --pack-tests failed only when run on the day of a GPU lease (2026-12-05).
  test("every tracked shell script parses (bash -n)", () => {
    const listed = spawnSync("git", ["ls-files", "*.sh", ".ci/run"], { cwd: root, encoding: "utf8" });
    const scripts = listed.stdout.split("\n").filter(Boolean);
    expect(scripts).toContain("bench/gpu/run-checks.sh");
    const failures = scripts
      .map((script) => ({ script, r: spawnSync("bash", ["-n", script], { cwd: root, encoding: "utf8" }) }))
      .filter(({ r }) => r.status !== 0)
      .map(({ script, r }) => `${script}: ${r.stderr.trim()}`);
    expect(failures).toEqual([]);
  });
});
