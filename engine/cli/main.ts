/**
 * The `vkmem` command: `vkmem info`, `vkmem vis`, and `vkmem start` (what `npm start` runs: the VMA sample,
 * samples/vma-sample, windowed when DISPLAY is set and headless otherwise).
 * @module
 */
import { info } from "./info.js";
import { vis } from "./vis.js";

const USAGE = `usage: vkmem <command> [options]

commands:
  info [--json] [--no-dump] [--validation] [--dump-json FILE]
                                              the device's memory heaps and types, budgets, and the
                                              allocator's statistics and JSON dump after a demonstration workload
  vis DUMP.json -o MAP.png [--width N]        VMA's JSON dump drawn as a memory map (as GpuMemDumpVis draws it)
  start [SAMPLE OPTIONS]                      what 'npm start' runs: VMA's sample, the spinning cube, in a window when
                                              DISPLAY is set, else headless into out/vma-sample.png ('start --help')
  help                                        this text`;

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [command = "help", ...args] = argv;
  if (command === "start") {
    // The sample lives outside the library (samples/); load it only for this command.
    const sample = (await import("../../samples/vma-sample/main.js")) as { main(argv: readonly string[]): number };
    return sample.main(args);
  }
  const valued = command === "vis" ? ["-o", "--output", "--width"] : ["--dump-json"];
  const values = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (valued.includes(args[i]) && i + 1 < args.length) values.set(args[i], args[++i]);
    else rest.push(args[i]);
  }
  const flags = new Set(rest);
  const unknown = rest.filter((a) => !["--json", "--no-dump", "--validation"].includes(a));
  try {
    switch (command) {
      case "vis": {
        const output = values.get("-o") ?? values.get("--output");
        const width = values.get("--width");
        if (rest.length !== 1 || rest[0].startsWith("-") || output === undefined || (width !== undefined && !/^\d+$/.test(width))) {
          console.error(`vkmem vis: expected one dump file, -o MAP.png and optionally --width N\n\n${USAGE}`);
          return 2;
        }
        return vis({ input: rest[0], output, ...(width === undefined ? {} : { width: Number(width) }) });
      }
      case "info":
        if (unknown.length > 0) {
          console.error(`vkmem ${command}: unknown option ${unknown[0]}\n\n${USAGE}`);
          return 2;
        }
        return info({
          json: flags.has("--json"),
          noDump: flags.has("--no-dump"),
          validation: flags.has("--validation"),
          ...(values.has("--dump-json") ? { dumpJson: values.get("--dump-json") } : {}),
        });
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return 0;
      default:
        console.error(`vkmem: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    console.error(`vkmem ${command}: ${(e as Error).message}`);
    return 1;
  }
}
