/**
 * Every TypeScript block in README.md compiles against the package as a game imports it ("vkmem", resolved through
 * package.json's exports to dist/), with the project's strict settings, and runs: exit 0, nothing on stderr, and
 * "leaks: 0" (each block prints what its allocator.destroy() returned). The blocks are written to the git-ignored .cache/readme/ (inside the package, so that "vkmem"
 * resolves to this package by name), compiled there with tsc, and run from a temporary folder (what they write,
 * such as map.png, lands there). On Windows (the suite under Wine) there is no validation layer: a block's
 * `createContext({ validation: true })` is written with `validation: false` there, and the run says so.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { validationAvailable } from "./helpers/gpu.js";

const DIR = join(".cache", "readme");
const blocks = [...readFileSync("README.md", "utf8").matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
const runDir = mkdtempSync(join(tmpdir(), "vkmem-readme-"));
let compile: { status: number | null; out: string };

beforeAll(() => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  if (!validationAvailable)
    console.log(`vkmem-test: ${process.platform}: no Vulkan validation layer here; README's blocks run without it`);
  const asRun = (code: string) =>
    validationAvailable ? code : code.replaceAll("validation: true", "validation: false");
  blocks.forEach((code, i) => writeFileSync(join(DIR, `block-${i}.ts`), asRun(code)));
  writeFileSync(
    join(DIR, "tsconfig.json"),
    JSON.stringify({
      extends: "../../tsconfig.json",
      compilerOptions: { noEmit: false, outDir: "out", rootDir: ".", declaration: false, sourceMap: false, paths: {} },
      include: ["block-*.ts"],
    }),
  );
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", join(DIR, "tsconfig.json")], { encoding: "utf8" });
  compile = { status: r.status, out: `${r.stdout}${r.stderr}` };
}, 120_000);

afterAll(() => rmSync(runDir, { recursive: true, force: true }));

test("README has TypeScript blocks: the smallest program and the API at a glance", () => {
  expect(blocks.length).toBeGreaterThanOrEqual(2);
  expect(blocks.some((b) => b.includes("createFrameManager") && b.includes("context.destroy()"))).toBe(true);
});

test("every TypeScript block in README compiles (tsc, strict, importing 'vkmem' by name)", () => {
  expect(compile.out).toBe("");
  expect(compile.status).toBe(0);
});

test.each(blocks.map((_, i) => i))("README TypeScript block %i runs: exit 0, no stderr, no leak", (i) => {
  expect(compile.status).toBe(0);
  const r = spawnSync(process.execPath, [join(process.cwd(), DIR, "out", `block-${i}.js`)], {
    cwd: runDir,
    encoding: "utf8",
  });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^leaks: 0$/m); // each block reports what its allocator.destroy() found
});

test("the smallest program prints its three frames and no leak", () => {
  const i = blocks.findIndex((b) => b.includes("createFrameManager") && b.includes("context.destroy()"));
  const out = execFileSync(process.execPath, [join(process.cwd(), DIR, "out", `block-${i}.js`)], {
    cwd: runDir,
    encoding: "utf8",
  });
  expect(out).toBe("frame 0 submitted\nframe 1 submitted\nframe 2 submitted\nleaks: 0\n");
});
