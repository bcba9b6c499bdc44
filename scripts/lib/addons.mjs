// Building vkmem's two native addons from source: what the repository's set-up step (scripts/setup.mjs), the
// prebuilt packaging (scripts/prebuild.mjs) and a consumer's install without a matching prebuilt
// (scripts/install.mjs) share. Both addons come from binding.gyp: build/Release/vkmem.node and, with VMA's
// debug margins, corruption detection and fill patterns, build/Release/vkmem_debug.node; make -j builds the two
// in parallel. Nothing here installs system packages: a missing tool is reported, with what provides it.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The two builds that ship, relative to the package root. */
export const ADDONS = ['build/Release/vkmem.node', 'build/Release/vkmem_debug.node'];

/**
 * binding.gyp's third target, for the repository's tests and benches only: the normal build plus the C++
 * cross-check oracles (VMA's virtual blocks, the C++ buddy allocator). node-gyp builds it with the others unless
 * buildAddons is told not to (a consumer's install); nothing copies it into prebuilds/.
 */
export const ORACLES = 'build/Release/vkmem_oracles.node';

/** The gyp variables of build/'s last configure (buildAddons): a build with other ones configures again. */
const CONFIGURED_WITH = 'build/vkmem-gyp-defines.txt';

/** The prebuilt layout node-gyp-build reads (prebuildify's): prebuilds/<platform>-<arch>/<name>.napi.node. */
export function prebuiltPaths(root, platform = process.platform, arch = process.arch) {
  const dir = path.join(root, 'prebuilds', `${platform}-${arch}`);
  return [path.join(dir, 'vkmem.napi.node'), path.join(dir, 'vkmem_debug.napi.node')];
}

/** The path of `cmd` on PATH, else null; on Windows with each of PATHEXT's extensions too (python -> python.exe). */
export function which(cmd) {
  const exts = process.platform === 'win32' ? ['', ...(process.env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean)] : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const p = path.join(dir, cmd + ext);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        if (fs.statSync(p).isFile()) return p;
      } catch {
        /* not here */
      }
    }
  }
  return null;
}

export function tail(text, lines = 30) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** node-gyp as [command, leading args], or null: npm's own first, then beside npm or node, then on PATH. */
export function findNodeGyp() {
  const candidates = [];
  // npm tells its scripts where its own node-gyp is.
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  // Beside the npm that runs us: <npm>/bin/npm-cli.js -> <npm>/node_modules/node-gyp/bin/node-gyp.js
  if (process.env.npm_execpath) {
    candidates.push(path.resolve(path.dirname(process.env.npm_execpath), '../node_modules/node-gyp/bin/node-gyp.js'));
  }
  // Beside npm on PATH.
  const npm = which('npm');
  if (npm) {
    try {
      candidates.push(path.resolve(path.dirname(fs.realpathSync(npm)), '../node_modules/node-gyp/bin/node-gyp.js'));
    } catch {
      /* dangling */
    }
  }
  // Beside node: <prefix>/lib/node_modules/npm/node_modules/node-gyp
  const prefix = path.dirname(path.dirname(process.execPath));
  candidates.push(path.join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  for (const c of candidates) if (c.endsWith('.js') && fs.existsSync(c)) return [process.execPath, [c]];
  const onPath = which('node-gyp');
  return onPath ? [onPath, []] : null;
}

/**
 * The build tools node-gyp needs that are not there, each with what provides it. On Windows node-gyp builds with
 * Visual Studio's MSBuild, which it finds through vswhere (not PATH), and needs no make.
 */
export function missingBuildTools() {
  const missing = [];
  if (process.platform === 'win32') {
    const vswhere = path.join(process.env['ProgramFiles(x86)'] ?? 'C:\\Program Files (x86)', 'Microsoft Visual Studio', 'Installer', 'vswhere.exe');
    if (!fs.existsSync(vswhere)) missing.push("Visual Studio 2019 or later with the 'Desktop development with C++' workload (node-gyp builds with it)");
    if (!which('python3') && !which('python')) missing.push('python3 (python.org, or `winget install Python.Python.3.12`)');
  } else {
    if (!which('c++') && !which('g++') && !which('clang++')) missing.push('a C++17 compiler (Debian/Ubuntu: g++)');
    if (!which('make')) missing.push('make');
    if (!which('python3') && !which('python')) missing.push('python3');
  }
  if (!findNodeGyp()) missing.push("node-gyp (comes with npm; or 'npm install -g node-gyp')");
  return missing;
}

/**
 * node-gyp's `--nodedir` for this Node's own headers when its installation has them (a distribution's Node does),
 * else nothing (node-gyp then uses, or downloads, the headers of its cache).
 */
export function nodedirArgs() {
  const prefix = path.dirname(path.dirname(process.execPath));
  return fs.existsSync(path.join(prefix, 'include/node/node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/**
 * Runs node-gyp (configure when needed, then build) in `root`. Returns null on success, else a message saying
 * why, with the first compiler errors; the whole output goes to build/node-gyp.log. `oracles: false` leaves
 * binding.gyp's test oracles build out (its `vkmem_oracles` variable): a consumer's install from source builds the
 * two addons that ship and nothing else, about a third less to compile.
 */
export function buildAddons(root, { oracles = true } = {}) {
  const gyp = findNodeGyp();
  if (!gyp) return "node-gyp not found (neither npm's own nor on PATH)";
  const [cmd, pre] = gyp;
  // Configure when there is no Makefile yet, binding.gyp changed since, or the last configure had other variables
  // (CONFIGURED_WITH, written after it). Not `rebuild`: its `clean` deletes all of build/, shaders included.
  const mtime = (p) => {
    try {
      return fs.statSync(path.join(root, p)).mtimeMs;
    } catch {
      return -1;
    }
  };
  const defines = `vkmem_oracles=${oracles ? 1 : 0}`;
  const stamp = path.join(root, CONFIGURED_WITH);
  let configuredWith = null;
  try {
    configuredWith = fs.readFileSync(stamp, 'utf8');
  } catch {
    /* never configured here, or before the stamp existed */
  }
  const makefile = mtime('build/Makefile');
  const configure = makefile < 0 || mtime('binding.gyp') > makefile || mtime('build/config.gypi') < 0 || configuredWith !== defines;
  const argv = [...pre, ...(configure ? ['configure', 'build'] : ['build'])];
  argv.push(...nodedirArgs());
  const jobs = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  argv.push('-j', String(Math.max(1, jobs)));
  // gyp reads GYP_DEFINES when it configures; the caller's own definitions are kept, ours come last and win.
  const env = { ...process.env, GYP_DEFINES: [process.env.GYP_DEFINES, defines].filter(Boolean).join(' ') };
  if (configure) fs.rmSync(stamp, { force: true });
  const r = spawnSync(cmd, argv, { cwd: root, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`;
  if (r.error || r.status !== 0) {
    // make -j interleaves its jobs' output: the first compiler errors say more than the tail alone.
    const log = path.join(root, 'build/node-gyp.log');
    fs.mkdirSync(path.dirname(log), { recursive: true });
    fs.writeFileSync(log, out);
    const errors = out.split('\n').filter((l) => /\berror\b|No rule to make/.test(l) && !/^gyp ERR!/.test(l));
    const why = r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`;
    return (
      `node-gyp ${argv.slice(pre.length).join(' ')}: ${why}\n` +
      (errors.length ? `first errors:\n${errors.slice(0, 10).join('\n')}\n` : '') +
      `last lines:\n${tail(out, 20)}\n(full output: build/node-gyp.log)`
    );
  }
  if (configure) fs.writeFileSync(stamp, defines);
  const notBuilt = ADDONS.find((a) => !fs.existsSync(path.join(root, a)));
  if (notBuilt) return `node-gyp succeeded but ${notBuilt} was not produced (binding.gyp's targets must be "vkmem" and "vkmem_debug")`;
  return null;
}
