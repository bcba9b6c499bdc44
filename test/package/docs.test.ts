/**
 * `npm run docs`: TypeDoc over engine/index.ts with zero warnings (typedoc.json treats any warning as an error: an
 * unexported type in a public signature, a broken {@link}). Generated without writing (--emit none).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { expect, test } from "vitest";

test("TypeDoc documents the public API without a single warning", () => {
  const typedoc = join(dirname(createRequire(import.meta.url).resolve("typedoc/package.json")), "bin", "typedoc");
  const r = spawnSync(process.execPath, [typedoc, "--emit", "none"], { encoding: "utf8" });
  expect(`${r.stdout}${r.stderr}`).not.toMatch(/\[warning\]|\[error\]/);
  expect(r.status).toBe(0);
}, 120_000);
