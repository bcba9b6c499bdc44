/**
 * The package's install step (scripts/install.mjs) as it runs inside a game's node_modules: silent and instant when a
 * prebuilt addon matches; when none does, a build from source that first says which tools are missing (here: PATH
 * holds only node) and fails the install, without trying apt-get or sudo.
 * On Windows (the suite under Wine) the same, with node.exe copied into the PATH folder (a symbolic link named `node`
 * is no program there) and Windows' build tools in the message; its prebuilt addons come from `npm run build:win`,
 * which test:win has run, not from scripts/prebuild.mjs (a node-gyp build of this platform's addons).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";

const work = mkdtempSync(join(tmpdir(), "vkmem-install-script-"));
const pkg = join(work, "node_modules", "vkmem");
const bin = join(work, "bin");
const windows = process.platform === "win32";
const node = join(bin, windows ? "node.exe" : "node");

beforeAll(() => {
  if (!windows) spawnSync(process.execPath, ["scripts/prebuild.mjs"], { encoding: "utf8" });
  mkdirSync(pkg, { recursive: true });
  for (const f of [
    "package.json",
    "scripts/install.mjs",
    "scripts/lib",
    "binding.gyp",
    "native",
    "vendor/vma/fetch.sh",
  ])
    cpSync(f, join(pkg, f), { recursive: true });
  mkdirSync(bin);
  if (windows) copyFileSync(process.execPath, node);
  else symlinkSync(process.execPath, node);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const install = () =>
  spawnSync(node, [join(pkg, "scripts/install.mjs")], { cwd: pkg, encoding: "utf8", env: { PATH: bin, HOME: work } });

test("no prebuilt for this platform and no compiler: the install fails naming every missing tool", () => {
  const r = install();
  expect(r.status).toBe(1);
  expect(r.stdout).toBe(
    `vkmem: this package has no prebuilt addon for ${process.platform}-${process.arch} (it has: none); building it from source (about a minute)...\n`,
  );
  expect(r.stderr).toMatch(
    windows
      ? /^vkmem install: cannot build the native addon for win32-x64: missing Visual Studio 2019 or later with the 'Desktop development with C\+\+' workload .*; python3 .*; node-gyp .*; the Vulkan SDK \(LunarG/
      : /^vkmem install: cannot build the native addon for linux-x64: missing a C\+\+17 compiler \(Debian\/Ubuntu: g\+\+\); make; python3/,
  );
  expect(r.stderr).toMatch(/vkmem never installs system packages itself\) and run `npm rebuild vkmem`\.\n$/);
});

test("with the prebuilt addons of this platform the install does nothing and prints nothing", () => {
  cpSync(
    join("prebuilds", `${process.platform}-${process.arch}`),
    join(pkg, "prebuilds", `${process.platform}-${process.arch}`),
    { recursive: true },
  );
  const r = install();
  expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: "", stderr: "" });
});
