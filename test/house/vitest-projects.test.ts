/**
 * The discrete-memory project (vitest.config.ts) leaves out only files that make no Vulkan context: a GPU test left
 * out there would never meet a discrete GPU's memory before it meets a GPU.
 */
import * as fs from "node:fs";
import { expect, test } from "vitest";
import config from "../../vitest.config.js";

test("the discrete-memory project leaves out only files without a Vulkan context", () => {
  const projects = (config.test?.projects ?? []) as { test?: { name?: string; exclude?: string[] } }[];
  const discrete = projects.find((p) => p.test?.name === "discrete-memory");
  if (process.platform !== "linux" || process.env.VKMEM_TEST_LANE === "1") {
    expect(discrete).toBeUndefined();
    return;
  }
  const excluded = discrete?.test?.exclude ?? [];
  expect(excluded.length).toBeGreaterThan(0);
  for (const file of excluded) {
    const text = fs.readFileSync(file, "utf8");
    expect(text, file).not.toMatch(/useGpuContext|createContext/);
  }
});
