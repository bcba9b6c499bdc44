/**
 * The `vkmem` command: `vkmem info`, `vkmem vis`, `vkmem report`, and `vkmem start` (what `npm start` runs: the VMA sample,
 * samples/vma-sample, windowed when DISPLAY is set and headless otherwise).
 *
 * Arguments are parsed with `node:util` parseArgs (./args.ts). Exit codes: 0 done (and for `--help`, `--version`),
 * 1 the command failed, 2 a wrong command line (no command, an unknown one, an unknown option, a missing or bad
 * value), with the message and the usage on stderr. `--help` and `--version` load neither Vulkan nor the addon.
 * @module
 */
import path from "node:path";
import { isInstalledPackage, packageVersion } from "../package-root.js";
import { byteCount, parseCommandLine, UsageError, wholeNumber, type OptionSpec } from "./args.js";

interface Command {
  /** One line for the command list. */
  summary: string;
  /** The command's own usage text (`vkmem CMD --help`). */
  usage: string;
}

const HELP: OptionSpec = { type: "boolean", short: "h" };

const INFO_OPTIONS = {
  json: { type: "boolean" },
  "no-dump": { type: "boolean" },
  validation: { type: "boolean" },
  "dump-json": { type: "string", value: "FILE" },
  help: HELP,
} as const satisfies Record<string, OptionSpec>;

const VIS_OPTIONS = {
  output: { type: "string", short: "o", value: "MAP.png" },
  width: { type: "string", value: "N" },
  help: HELP,
} as const satisfies Record<string, OptionSpec>;

const REPLAY_OPTIONS = {
  algorithm: { type: "string", value: "tlsf|linear|buddy" },
  "default-pools": { type: "string", value: "tlsf|linear|buddy" },
  "block-size": { type: "string", value: "BYTES" },
  "heap-limit": { type: "string", value: "BYTES" },
  budget: { type: "string", value: "BYTES" },
  validation: { type: "boolean" },
  help: HELP,
} as const satisfies Record<string, OptionSpec>;

/** A what-if's pool algorithm from the command line; UsageError for anything else. */
function poolAlgorithm(flag: string, v: unknown): "tlsf" | "linear" | "buddy" | undefined {
  if (v === undefined || v === "tlsf" || v === "linear" || v === "buddy") return v;
  throw new UsageError(`--${flag} needs tlsf, linear or buddy, got ${String(v)}`);
}

const REPORT_OPTIONS = {
  output: { type: "string", short: "o", value: "report.html" },
  help: HELP,
} as const satisfies Record<string, OptionSpec>;

/** Where `vkmem start` writes its picture by default from an installed package: not the game's own out/. */
export const INSTALLED_SAMPLE_OUT = path.join("vkmem-out", "vma-sample.png");

const COMMANDS: Record<string, Command> = {
  info: {
    summary:
      "the device's memory heaps and types, budgets, and the allocator's statistics and JSON dump after a demonstration workload",
    usage: `usage: vkmem info [--json] [--no-dump] [--validation] [--dump-json FILE]

  --json             print only VMA's JSON dump
  --no-dump          leave out the JSON dump
  --validation       turn the validation layer on
  --dump-json FILE   also write VMA's detailed JSON dump to FILE (what 'vkmem vis' reads)`,
  },
  vis: {
    summary: "VMA's JSON dump drawn as a memory map (as GpuMemDumpVis draws it)",
    usage: `usage: vkmem vis DUMP.json -o MAP.png [--width N]

  DUMP.json          VMA's JSON dump ('vkmem info --dump-json', Allocator.buildStatsString(true))
  -o, --output FILE  the PNG to write
  --width N          picture width in pixels, 64 to 16384 (default 1200)`,
  },
  replay: {
    summary:
      "replays a recorded trace on this device: calls per second, peak memory, failures; what-if runs side by side",
    usage: `usage: vkmem replay TRACE [--algorithm A] [--default-pools A] [--block-size BYTES] [--heap-limit BYTES]
                   [--budget BYTES] [--validation]

  TRACE               a trace recorded with { record: { file } } (createAllocator, createFrameManager)
  --algorithm A       what-if: custom pools use tlsf, linear or buddy
  --default-pools A   what-if: what went to the default pools goes to one tlsf, linear or buddy pool per memory type
  --block-size BYTES  what-if: pools' block size and the allocator's preferred block size (e.g. 64M)
  --heap-limit BYTES  what-if: cap every memory heap (VMA's heapSizeLimit)
  --budget BYTES      what-if: refuse allocations that take a heap's memory past BYTES
  --validation        turn the validation layer on

With a what-if option the trace is replayed twice, as recorded and changed, and the two are printed side by side.`,
  },
  report: {
    summary: "a trace or a JSON dump as one self-contained HTML page: memory map through time, budgets, leaks",
    usage: `usage: vkmem report TRACE|DUMP.json -o report.html

  TRACE              a vkmem trace (the memory map frame by frame, the timeline, the leaks at the end)
  DUMP.json          VMA's JSON dump (the memory map of that moment; no timeline)
  -o, --output FILE  the HTML file to write (self-contained: open it in any browser, offline)`,
  },
  start: {
    summary:
      "VMA's sample, the spinning cube: in a window when DISPLAY is set, else headless into a PNG ('vkmem start --help')",
    usage: "", // the sample's own (samples/vma-sample/main.ts)
  },
  help: { summary: "this text, or a command's ('vkmem help info')", usage: "usage: vkmem help [COMMAND]" },
};

const USAGE = `usage: vkmem <command> [options]
       vkmem --version | --help

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(7)}${c.summary}`)
  .join("\n")}

'vkmem <command> --help' shows a command's options.`;

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined) {
    console.error(`vkmem: no command given\n\n${USAGE}`);
    return 2;
  }
  if (command === "--version" || command === "-v") {
    console.log(`vkmem ${packageVersion()}`);
    return 0;
  }
  if (command === "--help" || command === "-h") {
    console.log(USAGE);
    return 0;
  }
  if (command === "start") return start(args);
  const spec = COMMANDS[command];
  if (spec === undefined) {
    console.error(`vkmem: unknown command '${command}'\n\n${USAGE}`);
    return 2;
  }
  try {
    switch (command) {
      case "help": {
        const { values, positionals } = parseCommandLine(args, { help: HELP }, 1);
        if (values.help) return help(spec);
        const topic = positionals[0];
        if (topic === undefined) console.log(USAGE);
        else if (topic === "start") return start(["--help"]);
        else if (COMMANDS[topic] !== undefined) console.log(COMMANDS[topic].usage);
        else throw new UsageError(`unknown command '${topic}'`);
        return 0;
      }
      case "info": {
        const { values } = parseCommandLine(args, INFO_OPTIONS);
        if (values.help) return help(spec);
        const { info } = await import("./info.js");
        return info({
          json: values.json === true,
          noDump: values["no-dump"] === true,
          validation: values.validation === true,
          ...(typeof values["dump-json"] === "string" ? { dumpJson: values["dump-json"] } : {}),
        });
      }
      case "vis": {
        const { values, positionals } = parseCommandLine(args, VIS_OPTIONS, 1);
        if (values.help) return help(spec);
        if (positionals.length === 0) throw new UsageError("missing the dump file (DUMP.json)");
        if (typeof values.output !== "string") throw new UsageError("missing -o MAP.png (the PNG to write)");
        const width = wholeNumber("width", values.width, undefined, 64, 16384);
        const { vis } = await import("./vis.js");
        return vis({ input: positionals[0]!, output: values.output, ...(width === undefined ? {} : { width }) });
      }
      case "replay": {
        const { values, positionals } = parseCommandLine(args, REPLAY_OPTIONS, 1);
        if (values.help) return help(spec);
        if (positionals.length === 0) throw new UsageError("missing the trace file (TRACE)");
        const algorithm = poolAlgorithm("algorithm", values.algorithm);
        const defaultPools = poolAlgorithm("default-pools", values["default-pools"]);
        const { replay } = await import("./replay.js");
        return replay({
          input: positionals[0]!,
          ...(algorithm === undefined ? {} : { algorithm }),
          ...(defaultPools === undefined ? {} : { defaultPoolAlgorithm: defaultPools }),
          ...optional("blockSize", byteCount("block-size", values["block-size"])),
          ...optional("heapLimit", byteCount("heap-limit", values["heap-limit"])),
          ...optional("budget", byteCount("budget", values.budget)),
          validation: values.validation === true,
        });
      }
      case "report": {
        const { values, positionals } = parseCommandLine(args, REPORT_OPTIONS, 1);
        if (values.help) return help(spec);
        if (positionals.length === 0) throw new UsageError("missing the trace or dump to read (TRACE|DUMP.json)");
        if (typeof values.output !== "string") throw new UsageError("missing -o report.html (the HTML file to write)");
        const { report } = await import("./report.js");
        return report({ input: positionals[0]!, output: values.output });
      }
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`vkmem ${command}: ${e.message}\n\n${spec.usage}`);
      return 2;
    }
    console.error(`vkmem ${command}: ${(e as Error).message}`);
    return 1;
  }
  return 0;
}

function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

function help(spec: Command): number {
  console.log(spec.usage);
  return 0;
}

/**
 * `vkmem start`: the VMA sample with its own options. From an installed package, and without `--out`, the
 * headless picture goes to {@link INSTALLED_SAMPLE_OUT} rather than the sample's default out/, which a game
 * may use for its own build.
 */
async function start(args: string[]): Promise<number> {
  // The sample lives outside the library (samples/); load it only for this command.
  const sample = (await import("../../samples/vma-sample/main.js")) as { main(argv: readonly string[]): number };
  const hasOut = args.some((a) => a === "--out" || a.startsWith("--out="));
  return sample.main(isInstalledPackage() && !hasOut ? [...args, "--out", INSTALLED_SAMPLE_OUT] : args);
}
