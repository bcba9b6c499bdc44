/**
 * The C++ programs some benchmarks compare against (bench/native/*.cpp): built with g++ into build/bench/ when
 * missing or older than their inputs, run with the device the TypeScript side chose, and read as JSON lines.
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import nvk from "nvk";
import { rawHandle, type Context } from "../engine/index.js";

/** How one program is built. Paths are relative to the repository root. */
export interface CppProgram {
  /** The benchmark's name, for messages. */
  readonly bench: string;
  /** Sources compiled together (the first is the program's own). */
  readonly sources: readonly string[];
  /** Everything whose change means a rebuild: the sources and the headers they include. */
  readonly inputs: readonly string[];
  readonly binary: string;
  readonly flags: readonly string[];
}

/** A program ready to run. */
export interface CppBinary {
  path: string;
  /** What happened: "built", "up to date", "prebuilt (--cpp-binary)", "stale but no compiler". */
  state: string;
  compileCommand: string;
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * Finds or builds `program`. `explicit` is a prebuilt binary to use as it is. A binary older than its inputs is used
 * with a warning when it cannot be rebuilt (no compiler on the GPU machine).
 * @throws Error with the reason when there is none to run.
 */
export function cppBinary(root: string, program: CppProgram, explicit?: string): CppBinary {
  const compileArgs = [...program.flags, ...program.sources];
  const compileCommand = cppCompileCommand(program);
  if (explicit !== undefined) {
    const path = resolve(explicit);
    if (!existsSync(path)) throw new Error(`--cpp-binary ${explicit}: no such file`);
    return { path, state: "prebuilt (--cpp-binary)", compileCommand };
  }
  const path = join(root, program.binary);
  const built = mtime(path);
  if (built >= 0 && built >= Math.max(...program.inputs.map((f) => mtime(join(root, f))))) {
    return { path, state: "up to date", compileCommand };
  }
  const missingInputs = program.inputs.filter((f) => mtime(join(root, f)) < 0);
  const tmp = `${path}.tmp-${process.pid}`;
  mkdirSync(dirname(path), { recursive: true });
  const r =
    missingInputs.length > 0
      ? null
      : spawnSync("g++", [...compileArgs, "-o", tmp, "-lvulkan"], { cwd: root, encoding: "utf8" });
  if (r !== null && r.status === 0) {
    renameSync(tmp, path);
    return { path, state: "built", compileCommand };
  }
  rmSync(tmp, { force: true });
  const why =
    r === null
      ? `missing ${missingInputs.join(", ")}`
      : r.error !== undefined
        ? `g++: ${r.error.message}`
        : `g++ exited with ${r.status ?? r.signal}:\n${`${r.stderr}`
            .split("\n")
            .filter((l) => /error/.test(l))
            .slice(0, 10)
            .join("\n")}`;
  if (built >= 0) {
    console.warn(
      `bench ${program.bench}: warning: ${program.binary} is older than its sources and cannot be rebuilt (${why}); using it as it is`,
    );
    return { path, state: "stale but no compiler", compileCommand };
  }
  throw new Error(`cannot build ${program.binary} (${why})`);
}

/** The command line that builds `program`, from the repository root. */
export function cppCompileCommand(program: CppProgram): string {
  return `g++ ${[...program.flags, ...program.sources].join(" ")} -o ${program.binary} -lvulkan`;
}

/** Runs a built program and returns its stdout's JSON lines; its stderr, when any, is printed as a warning. */
export function runJsonLines(bench: string, binary: string, args: readonly string[]): Record<string, unknown>[] {
  const r = spawnSync(binary, args, { encoding: "utf8", maxBuffer: 16 << 20 });
  if (r.error !== undefined) throw new Error(`${binary}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${binary} exited with ${r.status ?? r.signal}: ${r.stderr.trim()}`);
  if (r.stderr.trim() !== "") console.warn(`bench ${bench}: the C++ program said:\n${r.stderr.trim()}`);
  return r.stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The index of the context's physical device in vkEnumeratePhysicalDevices' list (for a C++ program). */
export function physicalDeviceIndex(context: Context): number {
  const count = { $: 0 };
  nvk.vkEnumeratePhysicalDevices(context.instance, count, null);
  const handles = Array.from({ length: count.$ }, () => new nvk.VkPhysicalDevice());
  nvk.vkEnumeratePhysicalDevices(context.instance, count, handles);
  const want = rawHandle(context.physicalDevice);
  const index = handles.findIndex((h) => rawHandle(h) === want);
  if (index < 0) throw new Error("the context's physical device is not in vkEnumeratePhysicalDevices' list");
  return index;
}
