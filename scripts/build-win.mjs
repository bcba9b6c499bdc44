#!/usr/bin/env node
// `npm run build:win`: cross-builds the vkmem addons for win32-x64 with MinGW-w64 (POSIX thread model), into
//   prebuilds/win32-x64/vkmem.napi.node        the normal build
//   prebuilds/win32-x64/vkmem_debug.napi.node  VKMEM_DEBUG_BUILD (VMA's debug margin, corruption detection, fills)
// and, with --oracles (test:win asks for it), the tests' vkmem_oracles build into .win/vkmem_oracles.node, outside
// prebuilds/ so that the package never carries it.
//
// What it takes from where:
// - sources, include folders, defines and C++ flags: binding.gyp, read here (its comments stripped, then JSON), so
//   the two builds cannot drift apart; `-DBUILDING_NODE_EXTENSION` is added as node-gyp does on Windows.
// - Node-API: the npm package node-api-headers (its include/ and def/node_api.def); the import library for
//   node.exe is made from that .def with x86_64-w64-mingw32-dlltool.
// - Vulkan: a private copy of the host's /usr/include/vulkan (adding /usr/include itself would pull in glibc's
//   headers) and an import library for vulkan-1.dll made from a two-symbol .def: VMA is built with dynamic Vulkan
//   functions (native/vma_config.h), so the addon calls only vkGetInstanceProcAddr and vkGetDeviceProcAddr.
// - libstdc++, libgcc and winpthread are linked statically; the imports are then checked
//   (x86_64-w64-mingw32-objdump -p) to be only node.exe, vulkan-1.dll, KERNEL32 and the C runtime.
//
// Incremental: each addon is rebuilt only when a hash of its inputs (sources and headers under native/, the VMA
// header, binding.gyp, the flags, this script, the compiler's version) differs from the one stored beside it.
// Everything it fetches or builds on the way lives in .win/ (git-ignored). Installs the cross compiler with
// apt-get when run as root; otherwise says what to install.
// Flags: --force  rebuild even when nothing changed; --oracles  build the tests' oracles build too.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const WIN = path.join(ROOT, '.win');
export const PREBUILDS = path.join(ROOT, 'prebuilds', 'win32-x64');
/** The addons that ship: binding.gyp target name -> file in PREBUILDS. */
export const WIN_ADDONS = { vkmem: 'vkmem.napi.node', vkmem_debug: 'vkmem_debug.napi.node' };
/** The test oracles build (binding.gyp's vkmem_oracles), for test:win only: in .win/, never in prebuilds/. */
export const WIN_ORACLES = path.join(WIN, 'vkmem_oracles.node');

const NODE_API_HEADERS = 'node-api-headers@1.9.0';
const CXX = 'x86_64-w64-mingw32-g++-posix';
const DLLTOOL = 'x86_64-w64-mingw32-dlltool';
const OBJDUMP = 'x86_64-w64-mingw32-objdump';
/** DLLs the addon may import (lower case; api-ms-win-crt-* are the UCRT's forwarders). */
const ALLOWED_IMPORTS = [/^node\.exe$/, /^vulkan-1\.dll$/, /^kernel32\.dll$/, /^msvcrt\.dll$/, /^api-ms-win-crt-[a-z0-9-]+\.dll$/];

export class BuildError extends Error {}

export function say(msg) {
  console.log(`vkmem win: ${msg}`);
}

/** The path of `cmd` on PATH (or `cmd` itself when it is an absolute path that exists), else null. */
export function which(cmd) {
  if (path.isAbsolute(cmd)) return fs.existsSync(cmd) ? cmd : null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, cmd))) return path.join(dir, cmd);
  }
  return null;
}

/** Runs a command, output captured; throws BuildError with its tail when it fails. */
export function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) throw new BuildError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw failed(cmd, argv, r.signal ?? `exit status ${r.status}`, out);
  return out;
}

/** run() without blocking: resolves with the output, rejects with the BuildError run() would throw. */
export function runAsync(cmd, argv, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => reject(new BuildError(`${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => (code === 0 ? resolve(out) : reject(failed(cmd, argv, signal ?? `exit status ${code}`, out))));
  });
}

/** The BuildError of a command that ended with `how`: the command and the last 30 lines of its output. */
function failed(cmd, argv, how, out) {
  const tail = out.trimEnd().split('\n').slice(-30).join('\n');
  return new BuildError(`${cmd} ${argv.join(' ')}: ${how}\n${tail}`);
}

/**
 * Makes sure the commands in `need` (command or absolute path -> Debian package) are there: apt-get installs the missing packages
 * when we are root, otherwise a BuildError says what to run.
 */
export function ensureAptPackages(need) {
  const missing = [...new Set(Object.entries(need).filter(([cmd]) => !which(cmd)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  const cmd = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (!which('apt-get')) throw new BuildError(`missing ${missing.join(' ')} and no apt-get here: install their equivalents`);
  if (process.getuid?.() !== 0) throw new BuildError(`missing system packages. Run:\n  sudo apt-get update && sudo ${cmd}\nthen run this again.`);
  say(`installing ${missing.join(' ')} (apt-get, a minute or two)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  } catch {
    run('apt-get', ['update', '-qq'], { env }); // stale or absent package lists: refresh once and try again
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  }
  const still = Object.keys(need).filter((c) => !which(c));
  if (still.length) throw new BuildError(`apt-get succeeded but ${still.join(', ')} still missing`);
}

/** Unpacks the npm package `spec` (name@version) into `dir` (its `package/` folder's contents), once. */
export function npmUnpack(spec, dir) {
  const stamp = path.join(dir, '.spec');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === spec) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vkmem-pack-'));
  try {
    say(`fetching ${spec} (npm pack)...`);
    const name = run('npm', ['pack', spec, '--silent', '--pack-destination', tmp]).trim().split('\n').pop();
    fs.mkdirSync(dir, { recursive: true });
    run('tar', ['xzf', path.join(tmp, name), '-C', dir, '--strip-components=1']);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  fs.writeFileSync(stamp, spec);
  return dir;
}

/** binding.gyp as an object: gyp is JSON plus # comments (and, in general, trailing commas). */
export function readBindingGyp() {
  const text = fs
    .readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/,(\s*[\]}])/g, '$1');
  return JSON.parse(text);
}

/**
 * What node-gyp would compile for one binding.gyp target: its include folders and C++ flags, and its objects in
 * groups, each group a target whose sources are compiled with that target's defines: the addon's own sources, then
 * those of the static libraries it depends on (binding.gyp compiles a source once for the addons that compile it
 * alike; so does this script, within one run).
 */
function targetConfig(gyp, name) {
  const base = gyp.target_defaults ?? {};
  // The oracles target sits in a top-level condition on `vkmem_oracles` (a consumer's install leaves it out); this
  // script builds it only when asked (--oracles), so every condition's targets count.
  const targets = [...gyp.targets, ...(gyp.conditions ?? []).flatMap(([, then]) => then.targets ?? [])];
  const find = (n) => {
    const t = targets.find((x) => x.target_name === n);
    if (!t) throw new BuildError(`binding.gyp has no target '${n}'`);
    return t;
  };
  const target = find(name);
  const list = (t, key) => [...(base[key] ?? []), ...(t[key] ?? [])];
  const includes = list(target, 'include_dirs').map((dir) => {
    if (dir.includes('node-addon-api')) return createRequire(path.join(ROOT, 'package.json'))('node-addon-api').include_dir;
    if (dir.startsWith('<')) throw new BuildError(`binding.gyp: cannot evaluate include_dirs entry ${dir}`);
    return dir;
  });
  const removed = new Set([...(base['cflags_cc!'] ?? []), ...(target['cflags_cc!'] ?? [])]);
  const flags = list(target, 'cflags_cc').filter((f) => !removed.has(f));
  const group = (t) => ({ name: t.target_name, sources: t.sources ?? [], defines: [...list(t, 'defines'), 'BUILDING_NODE_EXTENSION'] });
  const groups = [group(target), ...(target.dependencies ?? []).map((d) => group(find(d)))];
  return { groups, includes, flags };
}

function hashInputs(config, compilerVersion) {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify(config));
  h.update(compilerVersion);
  h.update(fs.readFileSync(fileURLToPath(import.meta.url)));
  const files = [
    ...fs.readdirSync(path.join(ROOT, 'native')).sort().map((n) => path.join('native', n)),
    'vendor/vma/include/vk_mem_alloc.h',
  ];
  for (const f of files) {
    h.update(f);
    h.update(fs.readFileSync(path.join(ROOT, f)));
  }
  return h.digest('hex');
}

/** The import libraries (node.exe from node-api-headers' .def, vulkan-1.dll from two symbols) and headers. */
function prepareToolchainInputs() {
  const headers = npmUnpack(NODE_API_HEADERS, path.join(WIN, 'node-api-headers'));
  const lib = path.join(WIN, 'lib');
  fs.mkdirSync(lib, { recursive: true });
  const libnode = path.join(lib, 'libnode.a');
  if (!fs.existsSync(libnode)) run(DLLTOOL, ['-d', path.join(headers, 'def', 'node_api.def'), '-l', libnode, '-D', 'node.exe']);
  const libvulkan = path.join(lib, 'libvulkan-1.a');
  if (!fs.existsSync(libvulkan)) {
    const def = path.join(lib, 'vulkan-1.def');
    fs.writeFileSync(def, 'LIBRARY vulkan-1.dll\nEXPORTS\nvkGetInstanceProcAddr\nvkGetDeviceProcAddr\n');
    run(DLLTOOL, ['-d', def, '-l', libvulkan, '-D', 'vulkan-1.dll']);
  }
  const vulkanInclude = path.join(WIN, 'include');
  if (!fs.existsSync(path.join(vulkanInclude, 'vulkan', 'vulkan.h'))) {
    if (!fs.existsSync('/usr/include/vulkan/vulkan.h')) throw new BuildError('/usr/include/vulkan is missing (Debian package libvulkan-dev; npm run setup installs it)');
    fs.mkdirSync(vulkanInclude, { recursive: true });
    for (const d of ['vulkan', 'vk_video']) {
      if (fs.existsSync(`/usr/include/${d}`)) fs.cpSync(`/usr/include/${d}`, path.join(vulkanInclude, d), { recursive: true });
    }
  }
  return { nodeInclude: path.join(headers, 'include'), vulkanInclude, lib };
}

/**
 * Compiles the sources two at a time (this machine's usual two cores), then links. `compiled` names the groups
 * (binding.gyp targets) compiled earlier in this run: their objects are shared rather than compiled again.
 */
async function buildAddon(config, inputs, out, compiled) {
  const objectOf = (group, src) => path.join(WIN, 'obj', group.name, `${path.basename(src, '.cpp')}.o`);
  const queue = [];
  for (const group of config.groups) {
    if (compiled.has(group.name)) continue;
    compiled.add(group.name);
    const dir = path.join(WIN, 'obj', group.name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const cflags = [
      ...config.flags,
      ...group.defines.map((d) => `-D${d}`),
      ...config.includes.map((d) => `-I${path.resolve(ROOT, d)}`),
      `-I${inputs.nodeInclude}`,
      `-I${inputs.vulkanInclude}`,
    ];
    for (const src of group.sources) queue.push([...cflags, '-c', src, '-o', objectOf(group, src)]);
  }
  const texts = [];
  const worker = async () => {
    for (let argv; (argv = queue.shift()) !== undefined; ) texts.push(await runAsync(CXX, argv));
  };
  await Promise.all([worker(), worker()]);
  const warnings = texts.join('').trim();
  if (warnings) console.log(warnings);
  const objects = config.groups.flatMap((g) => g.sources.map((src) => objectOf(g, src)));
  const tmpOut = `${out}.tmp`;
  run(CXX, [
    '-shared', '-o', tmpOut, ...objects.sort(),
    `-L${inputs.lib}`, '-lnode', '-lvulkan-1',
    '-static-libgcc', '-static-libstdc++', '-Wl,-Bstatic', '-lwinpthread', '-Wl,-Bdynamic', '-s',
  ]);
  checkImports(tmpOut);
  fs.renameSync(tmpOut, out);
}

/** The DLLs a PE file imports; throws when any is outside ALLOWED_IMPORTS. */
export function checkImports(file) {
  const dlls = [...run(OBJDUMP, ['-p', file]).matchAll(/DLL Name:\s*(\S+)/g)].map((m) => m[1]);
  const bad = dlls.filter((d) => !ALLOWED_IMPORTS.some((re) => re.test(d.toLowerCase())));
  if (bad.length) throw new BuildError(`${path.relative(ROOT, file)} imports ${bad.join(', ')} (allowed: node.exe, vulkan-1.dll, KERNEL32, the C runtime)`);
  return dlls;
}

/** Builds what is out of date (with `oracles`, the test oracles build too); returns the files built or up to date. */
export async function buildWin({ force = false, oracles = false } = {}) {
  ensureAptPackages({ [CXX]: 'g++-mingw-w64-x86-64-posix', [DLLTOOL]: 'binutils-mingw-w64-x86-64', [OBJDUMP]: 'binutils-mingw-w64-x86-64' });
  if (!fs.existsSync(path.join(ROOT, 'vendor/vma/include/vk_mem_alloc.h')) || !fs.existsSync(path.join(ROOT, 'node_modules/node-addon-api'))) {
    run(process.execPath, [path.join(ROOT, 'scripts/setup.mjs')], { stdio: 'inherit' });
  }
  const gyp = readBindingGyp();
  const compilerVersion = run(CXX, ['--version']).split('\n')[0];
  let inputs = null;
  fs.mkdirSync(PREBUILDS, { recursive: true });
  const built = [];
  const compiled = new Set(); // the groups compiled in this run (buildAddon)
  const targets = [...Object.entries(WIN_ADDONS).map(([name, file]) => [name, path.join(PREBUILDS, file)]), ...(oracles ? [['vkmem_oracles', WIN_ORACLES]] : [])];
  for (const [name, out] of targets) {
    const config = targetConfig(gyp, name);
    const stamp = path.join(WIN, `${name}.inputs`);
    const hash = hashInputs(config, compilerVersion);
    if (!force && fs.existsSync(out) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash) {
      built.push(out);
      continue;
    }
    inputs ??= prepareToolchainInputs();
    const t0 = performance.now();
    say(`building ${path.relative(ROOT, out)} (${CXX}, 10 to 30 s)...`);
    await buildAddon(config, inputs, out, compiled);
    fs.writeFileSync(stamp, hash);
    say(`built ${path.relative(ROOT, out)} in ${((performance.now() - t0) / 1000).toFixed(1)} s; imports ${checkImports(out).join(', ')}`);
    built.push(out);
  }
  return built;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildWin({ force: process.argv.includes('--force'), oracles: process.argv.includes('--oracles') }).catch((e) => {
    console.error(`vkmem build:win failed: ${e instanceof BuildError ? e.message : (e?.stack ?? e)}`);
    process.exit(1);
  });
}
