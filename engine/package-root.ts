/**
 * Where the vkmem package is: the repository in development, `node_modules/vkmem` (or pnpm's store) when installed.
 * Imports nothing of the package, so the CLI can answer `--version` and `--help` without loading the addon.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | null = null;

/**
 * The package root: the nearest folder above this file whose package.json is named "vkmem".
 * @throws Error when there is none.
 */
export function packageRoot(): string {
  if (root !== null) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "vkmem")
      return (root = dir);
    const up = dirname(dir);
    if (up === dir)
      throw new Error(`vkmem: cannot find the package root (package.json named "vkmem") above ${import.meta.url}`);
    dir = up;
  }
}

/** The package's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}

/** Whether vkmem runs as an installed dependency (inside a node_modules folder) rather than from its repository. */
export function isInstalledPackage(): boolean {
  return packageRoot().split(sep).includes("node_modules");
}
