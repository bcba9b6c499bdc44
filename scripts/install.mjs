#!/usr/bin/env node
// npm's `install` lifecycle script for vkmem (pnpm and `--ignore-scripts` skip it: the package works without it).
//
// Two cases, told apart by where the package is:
// - In vkmem's own repository (scripts/setup.mjs is there and the folder is not inside a node_modules), this is
//   the developer's `npm install`: it runs the full set-up step (`setup.mjs --from-install`: system packages,
//   VMA header, addons, TypeScript, shaders), as it always has.
// - Installed as a dependency of a game, it runs no apt-get, no sudo and nothing that needs a compiler when the
//   package holds a prebuilt addon for this platform and architecture (prebuilds/<platform>-<arch>/, which is
//   what engine/native.ts loads): it checks that and exits, printing nothing. Only when no prebuilt matches does it
//   build the addons from source (build/Release/), and when a tool for that is missing it says which, and what
//   provides it, and fails the install.
// Environment: VKMEM_ADDON=/path/to/vkmem.node skips everything (an addon supplied by hand).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDONS, buildAddons, missingBuildTools, prebuiltPaths } from './lib/addons.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => console.log(`vkmem: ${msg}`);
const fail = (msg) => {
  console.error(`vkmem install: ${msg}`);
  process.exit(1);
};

const inNodeModules = ROOT.split(path.sep).includes('node_modules');
if (!inNodeModules && fs.existsSync(path.join(ROOT, 'scripts', 'setup.mjs'))) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'setup.mjs'), '--from-install'], { cwd: ROOT, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

if (process.env.VKMEM_ADDON) process.exit(0);
const tuple = `${process.platform}-${process.arch}`;
if (prebuiltPaths(ROOT).every((p) => fs.existsSync(p))) process.exit(0);
if (ADDONS.every((a) => fs.existsSync(path.join(ROOT, a)))) process.exit(0);

let shipped = [];
try {
  shipped = fs.readdirSync(path.join(ROOT, 'prebuilds'));
} catch {
  /* none */
}
say(
  `this package has no prebuilt addon for ${tuple} (it has: ${shipped.join(', ') || 'none'}); ` +
    'building it from source (about a minute)...',
);
const missing = missingBuildTools();
// On Windows only the SDK counts: '/usr/include' there is a folder of the current drive (under Wine, the Linux one).
const windows = process.platform === 'win32';
const vulkanHeader = [...(windows ? [] : ['/usr/include', '/usr/local/include']), process.env.VULKAN_SDK && path.join(process.env.VULKAN_SDK, 'include')]
  .filter(Boolean)
  .some((d) => fs.existsSync(path.join(d, 'vulkan', 'vulkan.h')));
if (!vulkanHeader) {
  missing.push(
    windows
      ? 'the Vulkan SDK (LunarG: its headers and vulkan-1.lib; it sets VULKAN_SDK)'
      : 'the Vulkan headers and libvulkan.so (Debian/Ubuntu: libvulkan-dev; Fedora: vulkan-loader-devel vulkan-headers)',
  );
}
if (missing.length > 0) {
  fail(
    `cannot build the native addon for ${tuple}: missing ${missing.join('; ')}.\n` +
      '  Install them (vkmem never installs system packages itself) and run `npm rebuild vkmem`.',
  );
}
if (!fs.existsSync(path.join(ROOT, 'vendor', 'vma', 'include', 'vk_mem_alloc.h'))) {
  // fetch.sh takes $VMA_HEADER when set, else a system header, else Debian's package; it prints its own diagnosis.
  const r = spawnSync('bash', [path.join(ROOT, 'vendor', 'vma', 'fetch.sh')], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    fail('could not obtain the VMA 3.x header (see above); set VMA_HEADER=/path/to/vk_mem_alloc.h and run `npm rebuild vkmem`');
  }
}
const why = buildAddons(ROOT, { oracles: false });
if (why) fail(`building the native addon failed: ${why}`);
say(`built ${ADDONS.join(' and ')}`);
