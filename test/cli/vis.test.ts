/** `vkmem vis dump.json -o map.png` end to end, as processes: `vkmem info --dump-json`, then `vkmem vis`. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { afterAll, expect, test } from "vitest";
import { runVkmem as vkmem } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "vkmem-vis-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("info --dump-json writes the dump; vis draws it as a 1200-px PNG with the workload's colours", () => {
  const json = join(dir, "d.json");
  const map = join(dir, "map.png");
  execFileSync(process.execPath, ["bin/vkmem.js", "info", "--no-dump", "--dump-json", json], { encoding: "utf8" });
  expect(JSON.parse(readFileSync(json, "utf8")).Total.AllocationCount).toBe(18);
  const r = vkmem("vis", json, "-o", map);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^vkmem vis: wrote .*map\.png \(1200x\d+, \d+ bar\(s\)\)$/m);
  const png = PNG.sync.read(readFileSync(map));
  expect(png.width).toBe(1200);
  const colours = new Set<string>();
  for (let i = 0; i < png.data.length; i += 4) colours.add(`${png.data[i]},${png.data[i + 1]},${png.data[i + 2]}`);
  // The workload's kinds: free, vertex buffers, storage buffer, depth, colour target, sampled texture, raw memory.
  for (const c of [
    "220,220,220",
    "255,148,148",
    "255,187,121",
    "246,128,255",
    "179,179,255",
    "0,255,255",
    "175,175,175",
  ])
    expect(colours).toContain(c);
});

test("vis reads `vkmem info`'s printed output too (lines before the dump), and --width scales the picture", () => {
  const json = join(dir, "stdout.txt");
  const dump = JSON.parse(readFileSync(join(dir, "d.json"), "utf8"));
  writeFileSync(
    json,
    `Device: test\nVMA JSON dump (vmaBuildStatsString, detailed):\n${JSON.stringify(dump, null, 2)}\n`,
  );
  const map = join(dir, "narrow.png");
  expect(vkmem("vis", json, "--width", "600", "-o", map).status).toBe(0);
  expect(PNG.sync.read(readFileSync(map)).width).toBe(600);
});

test("vis refuses missing arguments (exit 2) and a file that is not a dump (exit 1, the field named)", () => {
  const noOutput = vkmem("vis", "x.json");
  expect(noOutput.status).toBe(2);
  expect(noOutput.stderr).toMatch(/^vkmem vis: missing -o MAP\.png \(the PNG to write\)\n\nusage: vkmem vis /);
  const noInput = vkmem("vis", "-o", join(dir, "m.png"));
  expect(noInput.status).toBe(2);
  expect(noInput.stderr).toMatch(/^vkmem vis: missing the dump file \(DUMP\.json\)\n/);
  const bad = join(dir, "bad.json");
  writeFileSync(bad, JSON.stringify({ General: { API: "Vulkan" } }));
  const r = vkmem("vis", bad, "-o", join(dir, "bad.png"));
  expect(r.status).toBe(1);
  expect(r.stderr).toBe("vkmem vis: parseStatsString: $.General.apiVersion must be a string, got undefined\n");
});
