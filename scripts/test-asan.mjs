#!/usr/bin/env node
// `npm run test:asan`: the whole vitest suite (and a fuzz run, when the project has `npm run fuzz`) against the
// addons (the two that ship, and the oracles build whose virtual blocks the suite cross-checks against) built with
// AddressSanitizer and UndefinedBehaviorSanitizer. Ends with the line `sanitizer reports: N` and exits non-zero when
// N > 0 or anything failed.
//
// - The addons are built into build/asan/ (binding.gyp, native/ and vendor/ linked in, node-gyp run there with
//   -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1 -g1), so build/Release
//   stays the normal build. make rebuilds only what changed.
// - Node itself is not instrumented, so the ASan runtime must be the first library loaded: LD_PRELOAD=libasan.so
//   (the path from the compiler that built the addons). engine/native.ts loads the addons from $VKMEM_ADDON_DIR.
//   Child processes the tests start (samples, CLI, crash tests) inherit all of it.
// - ASAN_OPTIONS: detect_leaks=0, because LeakSanitizer would report at exit what Node, V8 and the Vulkan driver
//   (lavapipe) keep until the process dies, which is neither ours nor attributable; vkmem's own leaks are what the
//   suite checks (allocator leak reports, the validation layer's live objects at vkDestroyDevice). halt_on_error=1
//   so the first report ends the process (and fails its test); every report goes to a file under
//   build/asan/reports/, which this script counts and prints. UBSan likewise (halt_on_error, print_stacktrace).
//
// - The suite leaves out the files of scripts/test-lanes.mjs (ASAN_LEFT_OUT: they run none of vkmem's native code
//   under the sanitizers, and `npm test` ran them); the fuzz run after it is the suite's bounded one (FUZZ_ARGS),
//   run here as its own step.
//
// Flags: --skip-build   use the addons in build/asan as they are
//        --no-fuzz      skip the fuzz run
//        any other arguments go to vitest (e.g. a test file)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodedirArgs } from './lib/addons.mjs';
import { ASAN_LEFT_OUT, FUZZ_ARGS, LANE_ENV, laneArgs } from './test-lanes.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ASAN_DIR = path.join(ROOT, 'build', 'asan');
const REPORTS = path.join(ASAN_DIR, 'reports');
const args = process.argv.slice(2);
const SKIP_BUILD = args.includes('--skip-build');
const NO_FUZZ = args.includes('--no-fuzz');
const vitestArgs = args.filter((a) => a !== '--skip-build' && a !== '--no-fuzz');
const started = Date.now();

const say = (msg) => console.log(`vkmem test:asan: ${msg}`);
function die(msg) {
  console.error(`vkmem test:asan: ${msg}`);
  process.exit(1);
}
function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: ROOT, ...options });
  if (r.error) die(`${cmd} could not start: ${r.error.message}`);
  return r.status ?? 128 + (os.constants.signals[r.signal] ?? 0);
}
function capture(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

// 1. The normal set-up: dependencies, VMA header, dist/, shaders (and the normal addons, which the build needs not).
if (run(process.execPath, [path.join(ROOT, 'scripts/setup.mjs')]) !== 0) die('setup failed');

// 2. The sanitized addons.
const compiler = process.env.CXX || 'g++';
const libasan = capture(compiler, ['-print-file-name=libasan.so']);
if (!libasan || !fs.existsSync(libasan)) die(`${compiler} has no libasan.so (install the compiler's sanitizer runtime, e.g. libasan8)`);
if (!SKIP_BUILD) {
  fs.mkdirSync(ASAN_DIR, { recursive: true });
  // native/ and vendor/ are linked in; binding.gyp is copied: gyp writes its target makefiles beside the real path
  // of binding.gyp, so a linked one made it overwrite build/*.target.mk of the normal build with paths relative to
  // build/asan (the next normal `node-gyp build` then failed: "No rule to make target ... addon.o").
  for (const name of ['native', 'vendor']) {
    const link = path.join(ASAN_DIR, name);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join('..', '..', name), link);
  }
  const gypFile = path.join(ASAN_DIR, 'binding.gyp');
  if (fs.existsSync(gypFile) && fs.lstatSync(gypFile).isSymbolicLink()) fs.rmSync(gypFile);
  const gypText = fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8');
  if (!fs.existsSync(gypFile) || fs.readFileSync(gypFile, 'utf8') !== gypText) fs.writeFileSync(gypFile, gypText);
  const gyp = findNodeGyp();
  if (!gyp) die("node-gyp not found (neither npm's own nor on PATH)");
  // -O1 and line tables only (-g1), after the target's own -O2: what the sanitizers' documentation suggests, and
  // reports still name file and line. The three addons compiled in about half the CPU time of -O2 -g (measured on
  // vma_impl.cpp and addon.cpp, 13.7 against 25.6 s).
  const flags = '-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1 -g1';
  const makefile = path.join(ASAN_DIR, 'build', 'Makefile');
  // Configure again when binding.gyp changed since (a new target or source list leaves the old Makefile stale:
  // "No rule to make target ... addon.o").
  const fresh = fs.existsSync(makefile) && fs.statSync(makefile).mtimeMs >= fs.statSync(gypFile).mtimeMs;
  const argv = [...gyp.slice(1), ...(fresh ? ['build'] : ['configure', 'build'])];
  argv.push(...nodedirArgs());
  argv.push('-j', String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length)));
  say('building the addons with -fsanitize=address,undefined into build/asan ...');
  const env = { ...process.env, CFLAGS: flags, CXXFLAGS: flags, LDFLAGS: '-fsanitize=address,undefined' };
  if (run(gyp[0], argv, { cwd: ASAN_DIR, env }) !== 0) die('node-gyp failed for the sanitized build');
}
const ADDON_DIR = path.join(ASAN_DIR, 'build', 'Release');
for (const name of ['vkmem.node', 'vkmem_debug.node', 'vkmem_oracles.node']) { // the oracles: the suite's cross-checks
  if (!fs.existsSync(path.join(ADDON_DIR, name))) die(`${path.join(ADDON_DIR, name)} was not built`);
}

// 3. The suite and the fuzz run under the sanitizers.
fs.rmSync(REPORTS, { recursive: true, force: true });
fs.mkdirSync(REPORTS, { recursive: true });
const env = {
  ...process.env,
  ...LANE_ENV,
  VKMEM_ADDON_DIR: ADDON_DIR,
  LD_PRELOAD: [libasan, process.env.LD_PRELOAD].filter(Boolean).join(':'),
  ASAN_OPTIONS: [
    'detect_leaks=0',
    'halt_on_error=1',
    'abort_on_error=0',
    'exitcode=86',
    'allocator_may_return_null=1',
    `log_path=${path.join(REPORTS, 'asan')}`,
  ].join(':'),
  UBSAN_OPTIONS: ['halt_on_error=1', 'print_stacktrace=1', 'exitcode=87', `log_path=${path.join(REPORTS, 'ubsan')}`].join(':'),
};
const vitest = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
say(`vitest under ASan + UBSan (addons from ${path.relative(ROOT, ADDON_DIR)}) ...`);
const suite = run(process.execPath, [vitest, 'run', ...laneArgs(ASAN_LEFT_OUT, vitestArgs)], { env });
let fuzz = 0;
const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts ?? {};
if (!NO_FUZZ && vitestArgs.length === 0 && scripts.fuzz) {
  say('fuzz run under ASan + UBSan ...');
  fuzz = run('npm', ['run', '--silent', 'fuzz', '--', ...FUZZ_ARGS], { env });
} else if (!scripts.fuzz) {
  say('no `npm run fuzz` in package.json: fuzz run skipped');
}

// 4. The reports.
const reports = fs.readdirSync(REPORTS).map((f) => path.join(REPORTS, f)).filter((f) => fs.statSync(f).size > 0);
for (const f of reports) {
  console.error(`\n---- ${path.relative(ROOT, f)}`);
  console.error(fs.readFileSync(f, 'utf8').slice(0, 20000));
}
const seconds = ((Date.now() - started) / 1000).toFixed(0);
say(`vitest exit ${suite}, fuzz exit ${fuzz}, ${seconds} s`);
console.log(`sanitizer reports: ${reports.length}`);
process.exit(suite !== 0 || fuzz !== 0 || reports.length > 0 ? 1 : 0);

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) {
    candidates.push(path.resolve(path.dirname(process.env.npm_execpath), '../node_modules/node-gyp/bin/node-gyp.js'));
  }
  const prefix = path.dirname(path.dirname(process.execPath));
  candidates.push(path.join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  for (const c of candidates) if (c.endsWith('.js') && fs.existsSync(c)) return [process.execPath, c];
  const onPath = capture('sh', ['-c', 'command -v node-gyp']);
  return onPath ? [onPath] : null;
}
