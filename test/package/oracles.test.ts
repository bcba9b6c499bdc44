/**
 * The C++ cross-check oracles (VMA's virtual blocks and the C++ buddy allocator, native/virtual_block.cpp and
 * native/buddy.cpp) are a build of their own, `vkmem_oracles` (binding.gyp), for the repository's tests and benches:
 * the addons that ship (the ones engine/native.ts loads, prebuilt or local) export none of their functions, and the
 * oracles build does. That the packed tarball holds no oracles build is checked in install.test.ts. A consumer's
 * install from source (scripts/install.mjs) configures binding.gyp with `vkmem_oracles=0` and builds no oracles.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { expect, test } from "vitest";
import { addonPaths, oracleNative } from "../../engine/native.js";
// @ts-expect-error: a plain .mjs script without types
import { findNodeGyp, nodedirArgs } from "../../scripts/lib/addons.mjs";

const root = path.resolve(import.meta.dirname, "../..");

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

/** The targets node-gyp configures from binding.gyp with `defines` in GYP_DEFINES (their makefiles' names). */
function configuredTargets(defines: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vkmem-gyp-"));
  try {
    fs.copyFileSync(path.join(root, "binding.gyp"), path.join(dir, "binding.gyp"));
    fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
    const [cmd, pre] = findNodeGyp() as [string, string[]];
    const r = spawnSync(cmd, [...pre, "configure", ...(nodedirArgs() as string[])], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, GYP_DEFINES: defines },
    });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    return fs
      .readdirSync(path.join(dir, "build"))
      .filter((f) => f.endsWith(".target.mk"))
      .map((f) => f.slice(0, -".target.mk".length))
      .sort();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// node-gyp and make are the Linux build's; the Windows lane cross-builds with scripts/build-win.mjs instead.
test.skipIf(process.platform === "win32")(
  "binding.gyp configures the oracles build by default, and leaves it out with vkmem_oracles=0",
  () => {
    const shipped = ["vkmem", "vkmem_common", "vkmem_debug", "vkmem_no_oracles", "vkmem_vma_defaults"];
    expect(configuredTargets("")).toEqual([...shipped, "vkmem_oracles"].sort());
    expect(configuredTargets("vkmem_oracles=0")).toEqual(shipped);
  },
  60_000,
);
