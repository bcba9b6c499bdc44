// The fuzzer's entry point (`npm run fuzz -- ...`): a plain Node script. test/ is not part of the TypeScript build
// (tsconfig.build.json), so this turns test/fuzz/*.ts into JavaScript under build/fuzz/ (type-stripping only, with
// TypeScript's transpileModule; `npm run typecheck` checks the types), pointing their imports of engine/ and bench/
// at the compiled dist/, and then runs build/fuzz/runner.js with the same arguments. Files are rebuilt only when
// their source is newer.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const out = path.join(root, "build", "fuzz");

async function build() {
  fs.mkdirSync(out, { recursive: true });
  const sources = fs
    .readdirSync(here)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.endsWith(".d.ts"));
  let ts = null;
  for (const file of sources) {
    const src = path.join(here, file);
    const dst = path.join(out, file.replace(/\.ts$/, ".js"));
    if (fs.existsSync(dst) && fs.statSync(dst).mtimeMs >= fs.statSync(src).mtimeMs) continue;
    ts ??= (await import("typescript")).default;
    const { outputText } = ts.transpileModule(fs.readFileSync(src, "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
      fileName: file,
    });
    // build/fuzz/ sits as deep as test/fuzz/: ../../engine/ becomes ../../dist/engine/.
    const js = outputText.replace(/(from\s+["'])\.\.\/\.\.\/(engine|bench)\//g, "$1../../dist/$2/");
    fs.writeFileSync(dst, js);
  }
}

await build();
if (!fs.existsSync(path.join(root, "dist", "engine", "index.js"))) {
  console.error("fuzz: dist/ is missing: run `node scripts/setup.mjs` (npm run fuzz does) first");
  process.exit(2);
}
await import(pathToFileURL(path.join(out, "runner.js")).href); // a URL: on Windows an absolute path is not one
