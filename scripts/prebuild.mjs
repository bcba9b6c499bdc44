#!/usr/bin/env node
// `npm run prebuild` (and `npm pack`'s prepack, after the set-up step): the addons of this platform into the
// layout node-gyp-build reads, which is what the package ships and engine/native.ts loads:
//   prebuilds/<platform>-<arch>/vkmem.napi.node        from build/Release/vkmem.node
//   prebuilds/<platform>-<arch>/vkmem_debug.napi.node  from build/Release/vkmem_debug.node
// They are Node-API addons (NAPI_VERSION 8), so one file serves every Node version. Each copy is loaded once
// before it is accepted (a debug build where the normal one belongs is refused). Other platforms' folders
// (prebuilds/win32-x64/, written by `npm run build:win`) are left as they are and ship with the package too;
// this lists what the package will hold.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDONS, buildAddons, prebuiltPaths } from './lib/addons.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fail = (msg) => {
  console.error(`vkmem prebuild: ${msg}`);
  process.exit(1);
};

// make is incremental: this costs a second when the addons are up to date.
const why = buildAddons(ROOT);
if (why) fail(why);
const targets = prebuiltPaths(ROOT);
fs.mkdirSync(path.dirname(targets[0]), { recursive: true });
const require = createRequire(import.meta.url);
ADDONS.forEach((from, i) => {
  const to = targets[i];
  fs.copyFileSync(path.join(ROOT, from), to);
  const debugBuild = require(to).version().debugBuild;
  if (debugBuild !== (i === 1)) fail(`${to} is ${debugBuild ? '' : 'not '}a debug build`);
});
for (const tuple of fs.readdirSync(path.join(ROOT, 'prebuilds')).sort()) {
  const dir = path.join(ROOT, 'prebuilds', tuple);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.node'));
  console.log(`vkmem prebuild: prebuilds/${tuple}: ${files.map((f) => `${f} (${Math.round(fs.statSync(path.join(dir, f)).size / 1024)} KiB)`).join(', ')}`);
}
