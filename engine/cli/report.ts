/**
 * `vkmem report TRACE|DUMP -o report.html`: a vkmem trace or VMA's JSON dump as one self-contained HTML page (the
 * memory map through time, the timeline, the largest allocations and the leaks; engine/report). A file that starts
 * with the trace magic is read as a trace, anything else as a dump (from its first brace, so `vkmem info`'s printed
 * output works too).
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { formatBytes } from "../format.js";
import { parseStatsString } from "../memory/dump.js";
import { modelFromDump } from "../report/from-dump.js";
import { modelFromTrace } from "../report/from-trace.js";
import { renderReportHtml } from "../report/html.js";
import { TRACE_MAGIC } from "../trace/format.js";
import { readTrace } from "../trace/reader.js";

/** Options of {@link report}. */
export interface ReportOptions {
  /** The trace or JSON dump to read. */
  input: string;
  /** The HTML file to write. */
  output: string;
  /** Where to write lines (default console.log). */
  print?: (line: string) => void;
}

/**
 * Reads the input, builds the model and writes the page; returns the exit code.
 * @throws TraceFormatError for a damaged trace (a trace cut short is read up to the cut, and says so);
 *   StatsDumpError for a file that is neither; the file system's errors.
 */
export function report(options: ReportOptions): number {
  const print = options.print ?? ((l: string) => console.log(l));
  const bytes = readFileSync(options.input);
  let model;
  if (bytes.subarray(0, TRACE_MAGIC.length).toString("latin1") === TRACE_MAGIC) {
    const trace = readTrace(bytes, { partial: true });
    if (trace.truncated)
      print(
        `vkmem report: the trace is cut short at byte ${trace.truncated.offset}; showing the ${trace.records.length} records before it`,
      );
    model = modelFromTrace(trace);
  } else {
    const text = bytes.toString("utf8");
    const start = text.indexOf("{");
    model = modelFromDump(parseStatsString(start > 0 ? text.slice(start) : text));
  }
  const html = renderReportHtml(model, { sourceName: path.basename(options.input) });
  writeFileSync(options.output, html);
  const what =
    model.source === "trace"
      ? `${model.frames.length} frames, ${model.leaks?.length ?? 0} leaks`
      : "a dump, no timeline";
  print(`vkmem report: wrote ${options.output} (${formatBytes(Buffer.byteLength(html))}; ${what})`);
  return 0;
}
