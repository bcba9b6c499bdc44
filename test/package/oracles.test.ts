/**
 * The C++ cross-check oracles (VMA's virtual blocks and the C++ buddy allocator, native/virtual_block.cpp and
 * native/buddy.cpp) are a build of their own, `vkmem_oracles` (binding.gyp), for the repository's tests and benches:
 * the addons that ship (the ones engine/native.ts loads, prebuilt or local) export none of their functions, and the
 * oracles build does. That the packed tarball holds no oracles build is checked in install.test.ts.
 */
import { createRequire } from "node:module";
import { expect, test } from "vitest";
import { addonPaths, oracleNative } from "../../engine/native.js";

const ORACLE_FUNCTIONS = [
  "createVirtualBlock",
  "destroyVirtualBlock",
  "clearVirtualBlock",
  "virtualBlockAllocationCount",
  "virtualAllocate",
  "virtualFree",
  "virtualAllocationInfo",
  "setVirtualAllocationUserData",
  "virtualBlockStatistics",
  "buildVirtualBlockStatsString",
];

test("the shipped addons, normal and debug, export no oracle function and say they are not the oracles build", () => {
  const require = createRequire(import.meta.url);
  for (const file of addonPaths()) {
    const addon = require(file) as Record<string, unknown> & { version(): { oracles: boolean } };
    expect(
      ORACLE_FUNCTIONS.filter((f) => f in addon),
      file,
    ).toEqual([]);
    expect(
      Object.keys(addon).filter((k) => /virtual/i.test(k)),
      file,
    ).toEqual([]);
    expect(addon.version().oracles, file).toBe(false);
  }
});

test("the oracles build exports every oracle function beside the normal addon's", () => {
  const oracles = oracleNative() as unknown as Record<string, unknown> & {
    version(): { oracles: boolean; debugBuild: boolean };
  };
  expect(ORACLE_FUNCTIONS.filter((f) => typeof oracles[f] !== "function")).toEqual([]);
  expect(oracles.version()).toMatchObject({ oracles: true, debugBuild: false });
  expect(typeof oracles.createAllocator).toBe("function");
});
