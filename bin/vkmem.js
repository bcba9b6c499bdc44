#!/usr/bin/env node
// The vkmem command line. The code lives in engine/cli/ (compiled to dist/ by the set-up step).
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";

const main = new URL("../dist/engine/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error("vkmem: not built yet (dist/ is missing); run 'npm run setup' in the vkmem folder");
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
