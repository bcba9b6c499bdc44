#!/usr/bin/env node
// vkmem's developer set-up step, for the repository only. `npm install` in a clone (through scripts/install.mjs),
// `npm start`, `npm test` and `npm run bench` all run it first, so a fresh clone works with one command.
// A game that depends on vkmem never runs it: its install is scripts/install.mjs, which uses the prebuilt addons
// and installs nothing on the system. Idempotent: every step checks cheaply whether it has anything to do, and a run
// with nothing to do spawns no process and prints nothing (a few tens of milliseconds).
//
// Steps, in order:
//   1. system packages (Vulkan loader/headers, lavapipe, validation layers, glslang, Xvfb & co, build tools)
//   2. npm dependencies (skipped under --from-install: npm is installing them right now)
//   3. the VMA header (vendor/vma/fetch.sh)
//   4. the native addons (node-gyp -> build/Release/vkmem.node and, with VMA's debug margins, corruption
//      detection and fill patterns, build/Release/vkmem_debug.node; for the tests and benches only,
//      build/Release/vkmem_oracles.node with the C++ cross-check oracles; make -j builds them in parallel)
//   4b. the test layer (g++ -> build/test/libVkLayer_vkmem_discrete_memory.so and its manifest; Linux only): a
//      discrete GPU's memory over lavapipe, for the suite's `discrete-memory` run (test/native/discrete-memory.mjs)
//   5. TypeScript (tsc -p tsconfig.build.json -> dist/)
//   6. shaders (glslangValidator -V -> build/shaders/**.spv)
//
// Flags: --from-install  invoked by npm's install lifecycle (scripts/install.mjs): skip step 2 (npm is installing
//                        the dependencies)
//        --verbose       print each step's decision and timing
//        --check         report what would be done, change nothing (exit 0: all done, 2: work pending, 1: error)
// Environment: VKMEM_SKIP_SYSTEM_PACKAGES=1 skips step 1 (for images that provide the pieces some other way).
//
// Any failing step prints `vkmem setup: <step> failed: <why>` and exits 1.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDONS, ORACLES, buildAddons, tail, which } from './lib/addons.mjs';
import { LAYER_SOURCE, buildLayer, layerPending } from '../test/native/discrete-memory.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const FROM_INSTALL = args.has('--from-install');
const VERBOSE = args.has('--verbose');
const CHECK = args.has('--check');

class StepError extends Error {}
const fail = (why) => {
  throw new StepError(why);
};

// ---------------------------------------------------------------------------------------------- helpers

function statMtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

const exists = (p) => fs.existsSync(p);

/** Newest mtime of the files (and directories, so that deletions count) under dir whose name passes keep. */
function newestUnder(dir, keep = () => true) {
  let newest = -1;
  const walk = (d) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    newest = Math.max(newest, statMtime(d));
    for (const e of entries) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (keep(e.name)) newest = Math.max(newest, statMtime(p));
    }
  };
  walk(dir);
  return newest;
}

/** Files under dir whose name passes keep, as paths relative to dir. */
function filesUnder(dir, keep) {
  const out = [];
  const walk = (d, rel) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      if (e.isDirectory()) walk(path.join(d, e.name), path.join(rel, e.name));
      else if (keep(e.name)) out.push(path.join(rel, e.name));
    }
  };
  walk(dir, '');
  return out;
}

/** Runs a command with its output captured; returns { ok, out } (stdout and stderr together). */
function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    ...opts,
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) return { ok: false, out: `${out}${r.error.message}` };
  const ok = r.status === 0;
  const why = r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`;
  return { ok, out, why };
}

function say(msg) {
  console.log(`vkmem: ${msg}`);
}

function touch(p) {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  const now = new Date();
  try {
    fs.utimesSync(p, now, now);
  } catch {
    fs.writeFileSync(p, '');
  }
}

// ---------------------------------------------------------------------- step 1: system packages

function libDirs() {
  // Multiarch library directories (/usr/lib/x86_64-linux-gnu, ...) without spawning `gcc -dumpmachine`.
  const dirs = [];
  for (const base of ['/usr/lib', '/lib', '/usr/lib64']) {
    try {
      for (const e of fs.readdirSync(base, { withFileTypes: true })) {
        if (e.isDirectory() && /-linux-gnu/.test(e.name)) dirs.push(path.join(base, e.name));
      }
    } catch {
      /* absent */
    }
    dirs.push(base);
  }
  return dirs;
}

function globDir(dir, re) {
  try {
    return fs.readdirSync(dir).some((n) => re.test(n));
  } catch {
    return false;
  }
}

/** Debian package -> a cheap test that it is there. */
const SYSTEM_PACKAGES = {
  'mesa-vulkan-drivers': () => globDir('/usr/share/vulkan/icd.d', /^lvp_icd.*\.json$/),
  libvulkan1: () => libDirs().some((d) => exists(path.join(d, 'libvulkan.so.1'))),
  'libvulkan-dev': () =>
    exists('/usr/include/vulkan/vulkan.h') && libDirs().some((d) => exists(path.join(d, 'libvulkan.so'))),
  'vulkan-validationlayers': () =>
    exists('/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json'),
  'glslang-tools': () => which('glslangValidator') !== null,
  xvfb: () => which('Xvfb') !== null,
  xauth: () => which('xauth') !== null,
  'x11-apps': () => which('xwd') !== null,
  // Key presses into windows under Xvfb (the sample's Escape test).
  xdotool: () => which('xdotool') !== null,
  // The `vkmem report` page's browser test (test/report/page.test.ts) drives it headless.
  chromium: () => exists('/usr/bin/chromium'),
  // ImageMagick's own convert (a stand-in elsewhere on PATH does not count).
  imagemagick: () => exists('/usr/bin/convert'),
  // What node-gyp needs to build the addon.
  make: () => which('make') !== null,
  'g++': () => which('g++') !== null,
  python3: () => which('python3') !== null,
};

function missingSystemPackages() {
  let missing = Object.keys(SYSTEM_PACKAGES).filter((pkg) => !SYSTEM_PACKAGES[pkg]());
  if (missing.length && which('dpkg-query')) {
    // A marker can be elsewhere than we look; dpkg is the authority where it exists.
    const r = run('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\\n', ...missing]);
    const installed = new Set(
      r.out
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter(([, status]) => status === 'installed')
        .map(([name]) => name.replace(/:.*$/, '')),
    );
    missing = missing.filter((pkg) => !installed.has(pkg));
  }
  return missing;
}

function aptListsEmpty() {
  return !globDir('/var/lib/apt/lists', /_Packages(\.\w+)?$/);
}

const systemStep = {
  name: 'system packages',
  check() {
    if (process.env.VKMEM_SKIP_SYSTEM_PACKAGES === '1') return null;
    const missing = missingSystemPackages();
    return missing.length ? { why: `missing: ${missing.join(' ')}`, missing } : null;
  },
  run({ missing }) {
    const cmd = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!which('apt-get')) {
      fail(
        `missing Debian packages ${missing.join(' ')} and no apt-get here: install their equivalents ` +
          `(or set VKMEM_SKIP_SYSTEM_PACKAGES=1 if they are provided some other way)`,
      );
    }
    if (!isRoot) {
      fail(`missing system packages. Run:\n  sudo apt-get update && sudo ${cmd}\nthen run this again.`);
    }
    say(`installing system packages: ${missing.join(' ')} (apt-get, may take a minute)...`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = () => run('apt-get', ['update', '-qq'], { env });
    const install = () =>
      run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
    if (aptListsEmpty()) {
      const u = update();
      if (!u.ok) fail(`apt-get update: ${u.why}\n${tail(u.out, 15)}`);
    }
    let r = install();
    if (!r.ok) {
      // Stale or absent package lists are the usual cause: refresh once and try again.
      const u = update();
      if (!u.ok) fail(`apt-get update: ${u.why}\n${tail(u.out, 15)}`);
      r = install();
      if (!r.ok) fail(`${cmd}: ${r.why}\n${tail(r.out, 20)}`);
    }
    const still = missingSystemPackages();
    if (still.length) fail(`apt-get reported success but these are still missing: ${still.join(' ')}`);
  },
};

// ---------------------------------------------------------------------- step 2: npm dependencies

const NEEDED_IN_NODE_MODULES = [
  'node_modules/nvk',
  'node_modules/node-addon-api',
  'node_modules/typescript',
  'node_modules/.bin/vitest',
  'node_modules/.bin/tsc',
];

function readJson(p) {
  try {
    return JSON.parse(fs.readFileSync(p, 'utf8'));
  } catch {
    return null;
  }
}

const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'];

/** Whether package-lock.json was made from package.json's current dependency ranges. */
function lockMatchesPackageJson(pkg, lock) {
  const rootEntry = lock?.packages?.[''];
  if (!rootEntry) return false;
  return DEP_FIELDS.every(
    (f) => JSON.stringify(sortKeys(pkg[f] ?? {})) === JSON.stringify(sortKeys(rootEntry[f] ?? {})),
  );
}

function sortKeys(o) {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Whether node_modules holds what package-lock.json asks for (npm's hidden lockfile records what it installed). */
function nodeModulesMatchLock(lock, hidden) {
  if (!lock?.packages || !hidden?.packages) return false;
  for (const [key, want] of Object.entries(lock.packages)) {
    if (!key.startsWith('node_modules/')) continue;
    const have = hidden.packages[key];
    if (!have) {
      if (want.optional) continue; // another platform's optional package
      return false;
    }
    if (have.version !== want.version) return false;
  }
  return true;
}

const npmStep = {
  name: 'npm dependencies',
  check() {
    const absent = NEEDED_IN_NODE_MODULES.filter((p) => !exists(path.join(ROOT, p)));
    if (absent.length) return { why: `node_modules lacks ${absent.join(', ')}` };
    const hiddenPath = path.join(ROOT, 'node_modules/.package-lock.json');
    const installed = statMtime(hiddenPath);
    if (installed < 0) return { why: 'node_modules/.package-lock.json is missing' };
    const pkgPath = path.join(ROOT, 'package.json');
    const lockPath = path.join(ROOT, 'package-lock.json');
    const hasLock = exists(lockPath);
    // Fast path: npm wrote its record after package.json and the lock last changed.
    if (installed >= Math.max(statMtime(pkgPath), statMtime(lockPath))) return null;
    // Slow path (a few ms): package.json may have changed in a way that leaves the dependencies alone
    // (a script, say); compare contents before paying for `npm ci`.
    if (!hasLock) return { why: 'package.json is newer than node_modules and there is no package-lock.json' };
    const pkg = readJson(pkgPath);
    const lock = readJson(lockPath);
    if (!pkg || !lock) return { why: 'cannot read package.json or package-lock.json' };
    if (!lockMatchesPackageJson(pkg, lock)) return { why: 'package.json dependencies differ from package-lock.json' };
    if (!nodeModulesMatchLock(lock, readJson(hiddenPath))) return { why: 'node_modules differs from package-lock.json' };
    return null;
  },
  run() {
    const pkg = readJson(path.join(ROOT, 'package.json'));
    const lock = readJson(path.join(ROOT, 'package-lock.json'));
    // `npm ci` needs a lock in step with package.json; otherwise `npm install` brings the lock up to date.
    const sub = lock && pkg && lockMatchesPackageJson(pkg, lock) ? 'ci' : 'install';
    const flags = ['--ignore-scripts', '--no-audit', '--no-fund'];
    say(`installing npm dependencies (npm ${sub} ${flags[0]})...`);
    const [cmd, pre] = npmCommand();
    const r = run(cmd, [...pre, sub, ...flags]);
    if (!r.ok) fail(`npm ${sub}: ${r.why}\n${tail(r.out, 25)}`);
    const again = this.check();
    if (again) fail(`npm ${sub} finished but ${again.why}`);
  },
};

/** npm as [command, leading args]: the npm that is running us when there is one, else npm on PATH. */
function npmCommand() {
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.[cm]?js$/.test(execpath) && exists(execpath)) return [process.execPath, [execpath]];
  const npm = which('npm');
  if (!npm) fail('npm is not on PATH');
  return [npm, []];
}

// ---------------------------------------------------------------------- step 3: the VMA header

const VMA_HEADER = 'vendor/vma/include/vk_mem_alloc.h';

const vmaStep = {
  name: 'VMA header',
  check() {
    return exists(path.join(ROOT, VMA_HEADER)) ? null : { why: `${VMA_HEADER} is missing` };
  },
  run() {
    // fetch.sh prints one line on success and its own diagnosis on failure: let it speak.
    const r = spawnSync('bash', [path.join(ROOT, 'vendor/vma/fetch.sh')], { cwd: ROOT, stdio: 'inherit' });
    if (r.error) fail(`bash vendor/vma/fetch.sh: ${r.error.message}`);
    if (r.status !== 0) fail(`bash vendor/vma/fetch.sh exited with status ${r.status ?? r.signal} (see above)`);
    if (!exists(path.join(ROOT, VMA_HEADER))) fail(`fetch.sh succeeded but ${VMA_HEADER} is still missing`);
  },
};

// ---------------------------------------------------------------------- step 4: the native addon

// Written after each successful build: an edit under native/ that make ignores (a note, an unused header)
// does not relink vkmem.node, and must not make every later run rebuild.
const ADDON_STAMP = 'build/.vkmem-addon-stamp';

function addonInputsNewest() {
  return Math.max(
    statMtime(path.join(ROOT, 'binding.gyp')),
    newestUnder(path.join(ROOT, 'native')),
    statMtime(path.join(ROOT, VMA_HEADER)),
    statMtime(path.join(ROOT, 'native/vma_config.h')),
  );
}

const addonStep = {
  name: 'native addon',
  check() {
    // binding.gyp is being written alongside this script; until it exists there is no addon to build.
    if (!exists(path.join(ROOT, 'binding.gyp'))) return null;
    const all = [...ADDONS, ORACLES]; // the tests and benches load the oracles build too
    const missing = all.find((a) => statMtime(path.join(ROOT, a)) < 0);
    if (missing) return { why: `${missing} is missing` };
    const built = Math.min(...all.map((a) => statMtime(path.join(ROOT, a))));
    const stamp = Math.max(built, statMtime(path.join(ROOT, ADDON_STAMP)));
    if (addonInputsNewest() > stamp) return { why: 'the native addons are older than their sources' };
    return null;
  },
  run() {
    const started = Date.now();
    say('building the native addons: normal, debug and the test oracles (about 40 s on two cores)...');
    const why = buildAddons(ROOT);
    if (why) fail(why);
    touch(path.join(ROOT, ADDON_STAMP));
    if (VERBOSE) say(`addons built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
};

// ---------------------------------------------------------------------- step 4b: the test layer

// VK_LAYER_VKMEM_discrete_memory (test/native/discrete-memory.mjs): a discrete GPU's memory over lavapipe, for the
// suite's second run of its GPU tests. Linux only (the Windows lane runs the suite without it), a second or so of g++.
const layerStep = {
  name: 'test layer',
  check() {
    if (process.platform !== 'linux' || !exists(path.join(ROOT, LAYER_SOURCE))) return null;
    const why = layerPending(ROOT);
    return why ? { why } : null;
  },
  run() {
    say("building the test layer (a discrete GPU's memory over lavapipe)...");
    const why = buildLayer(ROOT);
    if (why) fail(why);
  },
};

// ---------------------------------------------------------------------- step 5: TypeScript

const TS_DIRS = ['engine', 'bench', 'samples', 'examples'];
const TS_CONFIGS = ['tsconfig.json', 'tsconfig.build.json'];
const TS_STAMP = 'dist/.build-stamp';
const isTs = (n) => /\.(c|m)?ts$/.test(n);

function findTsc() {
  try {
    const req = createRequire(path.join(ROOT, 'package.json'));
    return req.resolve('typescript/bin/tsc');
  } catch {
    return null;
  }
}

const tsStep = {
  name: 'TypeScript',
  check() {
    const hasSources = TS_DIRS.some((d) => filesUnder(path.join(ROOT, d), isTs).length > 0);
    if (!hasSources) return null;
    if (!exists(path.join(ROOT, 'dist'))) return { why: 'dist/ is missing' };
    const stamp = statMtime(path.join(ROOT, TS_STAMP));
    if (stamp < 0) return { why: `${TS_STAMP} is missing` };
    const newest = Math.max(
      ...TS_DIRS.map((d) => newestUnder(path.join(ROOT, d), isTs)),
      ...TS_CONFIGS.map((c) => statMtime(path.join(ROOT, c))),
    );
    return newest > stamp ? { why: 'TypeScript sources are newer than dist/' } : null;
  },
  run() {
    const tsc = findTsc();
    if (!tsc) fail('typescript is not installed (node_modules/typescript); run npm install');
    if (!exists(path.join(ROOT, 'tsconfig.build.json'))) fail('tsconfig.build.json is missing');
    say('compiling TypeScript...');
    const r = run(process.execPath, [tsc, '-p', 'tsconfig.build.json']);
    if (!r.ok) fail(`tsc -p tsconfig.build.json: ${r.why}\n${tail(r.out, 40)}`);
    touch(path.join(ROOT, TS_STAMP));
  },
};

// ---------------------------------------------------------------------- step 6: shaders

const SHADER_DIRS = [
  { src: 'shaders', out: 'build/shaders' },
  { src: 'samples', out: 'build/shaders/samples' },
];
const isShader = (n) => /\.(vert|frag|comp|geom|tesc|tese)$/.test(n);

function pendingShaders() {
  const pending = [];
  for (const { src, out } of SHADER_DIRS) {
    for (const rel of filesUnder(path.join(ROOT, src), isShader)) {
      const from = path.join(src, rel);
      const to = path.join(out, `${rel}.spv`);
      if (statMtime(path.join(ROOT, to)) < statMtime(path.join(ROOT, from))) pending.push({ from, to });
    }
  }
  return pending;
}

const shaderStep = {
  name: 'shaders',
  check() {
    const pending = pendingShaders();
    return pending.length ? { why: `${pending.length} shader(s) to compile`, pending } : null;
  },
  run({ pending }) {
    const glslang = which('glslangValidator');
    if (!glslang) fail('glslangValidator is not on PATH (Debian package glslang-tools)');
    say(`compiling ${pending.length} shader(s)...`);
    const errors = [];
    for (const { from, to } of pending) {
      fs.mkdirSync(path.join(ROOT, path.dirname(to)), { recursive: true });
      const r = run(glslang, ['-V', from, '-o', to]);
      if (!r.ok) {
        fs.rmSync(path.join(ROOT, to), { force: true });
        errors.push(`${from}: ${r.why}\n${tail(r.out, 15)}`);
      }
    }
    if (errors.length) fail(errors.join('\n'));
  },
};

// ---------------------------------------------------------------------------------------------- main

function steps() {
  const list = [systemStep];
  if (!FROM_INSTALL) list.push(npmStep);
  list.push(vmaStep, addonStep, layerStep, tsStep, shaderStep);
  return list;
}

// Two set-ups in one tree at once (`npm test` beside `npm run bench`) would run node-gyp, tsc or npm over each
// other. Whoever has work to do takes this lock (git-ignored by `.setup-stamp*`); the other waits, then finds
// the work done. A lock left by a dead process is taken over.
const LOCK = path.join(ROOT, '.setup-stamp.lock');

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function acquireLock() {
  const deadline = Date.now() + 15 * 60 * 1000;
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      process.on('exit', () => fs.rmSync(LOCK, { force: true }));
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
        process.once(sig, () => {
          fs.rmSync(LOCK, { force: true });
          process.kill(process.pid, sig); // once: this listener is gone, so the default action follows
        });
      }
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') return; // read-only tree or the like: go on without the lock
    }
    const holder = Number.parseInt(fs.readFileSync(LOCK, { encoding: 'utf8', flag: 'r' }) || '0', 10);
    let alive = false;
    try {
      process.kill(holder, 0);
      alive = holder > 0 && holder !== process.pid;
    } catch (e) {
      alive = e.code === 'EPERM';
    }
    if (!alive) {
      fs.rmSync(LOCK, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      console.error(`vkmem setup: another set-up (pid ${holder}) has held ${LOCK} for 15 minutes; giving up`);
      process.exit(1);
    }
    if (!told) {
      say(`waiting for another set-up (pid ${holder}) to finish...`);
      told = true;
    }
    sleep(250);
  }
}

function report(step, todo, ms, doneVerb) {
  if (CHECK) console.log(`vkmem setup: ${step.name}: ${todo ? `to do (${todo.why})` : 'up to date'}`);
  else if (VERBOSE) {
    console.log(`vkmem setup: ${step.name}: ${todo ? `${doneVerb} (${todo.why})` : 'up to date'} [${ms.toFixed(1)} ms]`);
  }
}

function failed(step, e) {
  const why = e instanceof StepError ? e.message : (e?.stack ?? String(e));
  console.error(`vkmem setup: ${step.name} failed: ${why}`);
  process.exit(1);
}

function main() {
  const t0 = performance.now();
  const list = steps();
  // Pass 1 only looks: the usual run ends here, having found nothing to do, spawned nothing, locked nothing.
  const found = list.map((step) => {
    const s0 = performance.now();
    let todo;
    try {
      todo = step.check();
    } catch (e) {
      failed(step, e);
    }
    return { step, todo, ms: performance.now() - s0 };
  });
  const pending = found.filter((f) => f.todo).length;
  if (CHECK || pending === 0) {
    for (const { step, todo, ms } of found) report(step, todo, ms, 'to do');
  } else {
    // Pass 2, under the lock: look again (a set-up we waited for may have done it) and do what is left, in order.
    acquireLock();
    for (const step of list) {
      const s0 = performance.now();
      let todo;
      try {
        todo = step.check();
        if (todo) step.run(todo);
      } catch (e) {
        failed(step, e);
      }
      report(step, todo, performance.now() - s0, 'done');
    }
  }
  if (VERBOSE) {
    console.log(`vkmem setup: total ${(performance.now() - t0).toFixed(1)} ms` +
      `${FROM_INSTALL ? ' (from npm install)' : ''}`);
  }
  if (CHECK && pending) process.exit(2);
}

main();
