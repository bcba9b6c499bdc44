#!/usr/bin/env node
// The structural rules of issue 12, checked over engine/: no import cycle (type imports included) and no module
// past MAX_LINES lines. Prints every violation and exits 1 when there is one; `node scripts/check-house.mjs [dir]`
// restricts the report to modules under dir (cycles are still found over the whole of engine/).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const MAX_LINES = 700;
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Every .ts file under dir, as paths relative to the repository root. */
function sources(dir) {
  const out = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sources(path));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out.sort();
}

/** Relative imports and re-exports of one module (`import type` included), resolved to repository paths. */
function importsOf(file) {
  const text = readFileSync(join(root, file), "utf8");
  const found = new Set();
  const pattern = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;
  for (const match of text.matchAll(pattern)) {
    const spec = match[1] ?? match[2];
    found.add(join(dirname(file), spec.replace(/\.js$/, ".ts")));
  }
  return [...found];
}

/** Strongly connected components of more than one module (or a module importing itself): Tarjan's algorithm. */
function cycles(graph) {
  let index = 0;
  const indices = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const result = [];
  const visit = (node) => {
    indices.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node), indices.get(next)));
    }
    if (low.get(node) === indices.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) result.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return result;
}

/** The violations under `scope` (a folder relative to the repository root). */
export function checkHouse(scope = "engine") {
  const files = sources("engine");
  const graph = new Map(files.map((file) => [file, importsOf(file)]));
  const problems = [];
  for (const component of cycles(graph)) {
    if (component.some((file) => file.startsWith(scope))) problems.push(`import cycle: ${component.join(" -> ")}`);
  }
  for (const file of files) {
    if (!file.startsWith(scope)) continue;
    const lines = readFileSync(join(root, file), "utf8").split("\n").length - 1;
    if (lines > MAX_LINES) problems.push(`${file}: ${lines} lines (more than ${MAX_LINES})`);
  }
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const scope = relative(root, resolve(process.argv[2] ?? join(root, "engine")));
  const problems = checkHouse(scope);
  for (const problem of problems) console.log(problem);
  console.log(problems.length === 0 ? `house rules hold under ${scope}` : `${problems.length} violation(s) under ${scope}`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}
