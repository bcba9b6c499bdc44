/**
 * `vkmem vis dump.json -o map.png`: VMA's JSON dump (an allocator's, as `vkmem info --json` or
 * `Allocator.buildStatsString(true)` write it) drawn as a memory map, the way GpuMemDumpVis draws it.
 * @module
 */
import { readFileSync } from "node:fs";
import { parseStatsString } from "../memory/dump.js";
import { writeDumpPicture } from "../memory/dump-picture.js";

/** Options of {@link vis}. */
export interface VisOptions {
  /** The JSON dump to read. */
  input: string;
  /** The PNG to write. */
  output: string;
  /** Picture width in pixels (default 1200). */
  width?: number;
  /** Where to write lines (default console.log). */
  print?: (line: string) => void;
}

/**
 * Reads, parses and draws the dump; returns the exit code.
 * @throws StatsDumpError for a file that is not VMA's dump; the file system's errors.
 */
export function vis(options: VisOptions): number {
  const print = options.print ?? ((l: string) => console.log(l));
  const text = readFileSync(options.input, "utf8");
  // `vkmem info` without --json prints lines before the dump: start at the first brace.
  const start = text.indexOf("{");
  const dump = parseStatsString(start > 0 ? text.slice(start) : text);
  const picture = writeDumpPicture(dump, options.output, options.width === undefined ? {} : { width: options.width });
  print(`vkmem vis: wrote ${options.output} (${picture.width}x${picture.height}, ${picture.bars.length} bar(s))`);
  return 0;
}
