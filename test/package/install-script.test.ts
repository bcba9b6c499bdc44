/**
 * The package's install step (scripts/install.mjs) as it runs inside a game's node_modules: silent and instant when a
 * prebuilt addon matches; when none does, a build from source that first says which tools are missing (here: PATH
 * holds only node) and fails the install, without trying apt-get or sudo.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";

const work = mkdtempSync(join(tmpdir(), "vkmem-install-script-"));
const pkg = join(work, "node_modules", "vkmem");
const bin = join(work, "bin");

beforeAll(() => {
  spawnSync(process.execPath, ["scripts/prebuild.mjs"], { encoding: "utf8" });
  mkdirSync(pkg, { recursive: true });
  for (const f of ["package.json", "scripts/install.mjs", "scripts/lib", "binding.gyp", "native", "vendor/vma/fetch.sh"]) cpSync(f, join(pkg, f), { recursive: true });
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, "node"));
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const install = () => spawnSync(join(bin, "node"), [join(pkg, "scripts/install.mjs")], { cwd: pkg, encoding: "utf8", env: { PATH: bin, HOME: work } });

test("no prebuilt for this platform and no compiler: the install fails naming every missing tool", () => {
  const r = install();
  expect(r.status).toBe(1);
  expect(r.stdout).toBe(`vkmem: this package has no prebuilt addon for ${process.platform}-${process.arch} (it has: none); building it from source (about a minute)...\n`);
  expect(r.stderr).toMatch(/^vkmem install: cannot build the native addon for linux-x64: missing a C\+\+17 compiler \(Debian\/Ubuntu: g\+\+\); make; python3/);
  expect(r.stderr).toMatch(/vkmem never installs system packages itself\) and run `npm rebuild vkmem`\.\n$/);
});

test("with the prebuilt addons of this platform the install does nothing and prints nothing", () => {
  cpSync(join("prebuilds", `${process.platform}-${process.arch}`), join(pkg, "prebuilds", `${process.platform}-${process.arch}`), { recursive: true });
  const r = install();
  expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: "", stderr: "" });
});
