/**
 * The `vkmem` command: `vkmem info`, and `vkmem start` (what `npm start` runs).
 * @module
 */
import { info } from "./info.js";

const USAGE = `usage: vkmem <command> [options]

commands:
  info [--json] [--no-dump] [--validation]   the device's memory heaps and types, budgets, and the
                                              allocator's statistics and JSON dump after a demonstration workload
  start                                       what 'npm start' runs (currently: info)
  help                                        this text`;

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [command = "help", ...rest] = argv;
  const flags = new Set(rest);
  const unknown = rest.filter((a) => !["--json", "--no-dump", "--validation"].includes(a));
  try {
    switch (command) {
      case "info":
      case "start":
        if (unknown.length > 0) {
          console.error(`vkmem ${command}: unknown option ${unknown[0]}\n\n${USAGE}`);
          return 2;
        }
        return info({ json: flags.has("--json"), noDump: flags.has("--no-dump"), validation: flags.has("--validation") });
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
