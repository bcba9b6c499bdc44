/** `vkmem info`: the device's memory, the workload's statistics, VMA's JSON dump. */
import { execFileSync } from "node:child_process";
import { expect, test } from "vitest";
import { info } from "../../engine/cli/info.js";
import { validationAvailable } from "../helpers/gpu.js";

test("info prints heaps, types, budgets, statistics and a JSON dump of the demonstration workload", () => {
  const lines: string[] = [];
  expect(info({ validation: validationAvailable, print: (l) => lines.push(l) })).toBe(0);
  const text = lines.join("\n");
  expect(text).toMatch(/^Device: .+ Vulkan 1\.\d/m);
  expect(text).toMatch(/^heap\s+size\s+flags\s+budget\s+usage/m);
  expect(text).toMatch(/DEVICE_LOCAL/);
  expect(text).toMatch(/^type\s+heap\s+property flags\s+blocks\s+block bytes\s+allocations/m);
  expect(text).toMatch(/^Total: 18 allocation\(s\)/m);
  expect(text).toMatch(/^Demonstration workload: 18 allocations/m);
  expect(text).not.toMatch(/validation (error|warning)/);
  const dump = JSON.parse(text.slice(text.indexOf("{")));
  expect(dump.General.API).toBe("Vulkan");
  expect(dump.Total.AllocationCount).toBe(18);
  const names = JSON.stringify(dump);
  for (const name of ["cube vertices", "staging", "depth", "cube texture", "big mesh (dedicated)", "raw memory"])
    expect(names).toContain(name);
});

test("the vkmem command runs `info --json` as a process and rejects unknown options", () => {
  const out = execFileSync(process.execPath, ["bin/vkmem.js", "info", "--json"], { encoding: "utf8" });
  const dump = JSON.parse(out.slice(out.indexOf("{")));
  expect(dump.Total.AllocationCount).toBe(18);
  let status = 0;
  try {
    execFileSync(process.execPath, ["bin/vkmem.js", "info", "--bogus"], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    status = (e as { status: number }).status;
  }
  expect(status).toBe(2);
});
