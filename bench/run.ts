/**
 * The benchmarks' entry point: `npm run bench -- <name> [args]` (package.json runs the set-up step, then
 * `node dist/bench/run.js`). With no name, or `--help`, it lists the benchmarks.
 *
 * Each benchmark is a module under bench/ exporting `description` (one line) and `main(argv)`, where argv are the
 * arguments after its name. Modules are imported only when chosen, so that listing them touches no GPU.
 * Exit status: 0 when the benchmark ran (whatever its numbers), 2 for a wrong command line, 1 when it failed.
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "./lib.js";

interface BenchModule {
  description: string;
  main(argv: readonly string[]): Promise<void>;
}

/** Every benchmark, by name. */
const BENCHMARKS: Record<string, { description: string; load: () => Promise<BenchModule> }> = {
  allocator: {
    description:
      "createBuffer + destroyBuffer pairs through the TS API vs the same loop in C++ on VMA vs raw nvk allocations",
    load: () => import("./allocator.js"),
  },
  algorithms: {
    description:
      "virtual blocks (tlsf, linear, buddy): random/FIFO/LIFO allocate+free from TS vs the same loops in C++; fragmentation",
    load: () => import("./algorithms.js"),
  },
  frame: {
    description:
      "frame manager CPU time per frame (10k live, 1k deferred destroys, 1k transients) and upload throughput vs memcpy",
    load: () => import("./frame.js"),
  },
  defrag: {
    description:
      "defragmentation: defragment() bytes/s vs a raw vkCmdCopyBuffer, blocks freed vs a perfect packing, live CPU per frame",
    load: () => import("./defrag.js"),
  },
  uploads: {
    description:
      "FrameManager.upload() vs memcpy into the same staging memory (contiguous, scattered), and a 64 MiB upload with native threads",
    load: () => import("./uploads.js"),
  },
  resources: {
    description: "FrameManager createBuffer/createTexture + destroy() against the allocator's create + destroy",
    load: () => import("./resources.js"),
  },
  streaming: {
    description: "TextureStreamer CPU time per frame with 1,000 / 10,000 registered textures, and cost per eviction",
    load: () => import("./streaming.js"),
  },
};

function list(): void {
  console.log("usage: npm run bench -- <name> [args]   (or: node dist/bench/run.js <name> [args])\n\nbenchmarks:");
  const width = Math.max(...Object.keys(BENCHMARKS).map((n) => n.length));
  for (const [name, b] of Object.entries(BENCHMARKS)) console.log(`  ${name.padEnd(width)}  ${b.description}`);
  console.log("\n`<name> --help` shows a benchmark's options where it has any.");
}

async function run(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "list") {
    list();
    return 0;
  }
  const bench = BENCHMARKS[name];
  if (bench === undefined) {
    console.error(`bench: unknown benchmark '${name}'\n`);
    list();
    return 2;
  }
  const mod = await bench.load();
  // Only --help is looked at here (node:util parseArgs, lenient: the rest belongs to the benchmark's own parser).
  if (
    parseArgs({
      args: [...rest],
      strict: false,
      allowPositionals: true,
      options: { help: { type: "boolean", short: "h" } },
    }).values.help
  ) {
    const usage = (mod as BenchModule & { USAGE?: string }).USAGE;
    console.log(usage ?? `${name}: ${mod.description} (no options)`);
    return 0;
  }
  await mod.main(rest);
  return 0;
}

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`bench: ${error.message}`);
    process.exitCode = 2;
  } else {
    console.error("bench: failed:", error);
    process.exitCode = 1;
  }
}
