/**
 * The report as one self-contained HTML file: the page's elements and style, uPlot (the `uplot` npm package, MIT,
 * its minified IIFE build and its CSS, read from node_modules when the report is written) inlined, the model as
 * JSON in a `<script type="application/json">`, and the page's own code (./page-map.ts, ./page-script.ts).
 *
 * Self-contained means no request leaves the file: no `src` or `href` to anything, no `url(...)`, no `@import`.
 * Inlined text cannot end its element early: `</` inside a script becomes `<\/` (the same characters to the
 * JavaScript parser, and the JSON escape of `<` in the data).
 * @module
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { DUMP_COLORS } from "../memory/dump-picture.js";
import type { AllocationKind, ReportModel } from "./model.js";
import { MAP_SCRIPT } from "./page-map.js";
import { LIVE_SCRIPT } from "./page-live.js";
import { PAGE_SCRIPT } from "./page-script.js";

const KIND_LABELS: Record<AllocationKind, string> = {
  vertexIndexIndirectBuffer: "vertex/index/indirect buffer",
  storageBuffer: "storage buffer",
  uniformBuffer: "uniform buffer",
  otherBuffer: "other buffer",
  depthStencilImage: "depth/stencil image",
  attachmentImage: "attachment/storage image",
  sampledImage: "sampled image",
  otherOptimalImage: "other optimal image",
  linearImage: "linear image",
  unknownImage: "image (unknown tiling)",
  unknown: "unknown (raw memory)",
};

/** The kinds' labels and CSS colours, as the page reads them; `free` first. */
function kindTable(): Record<string, { label: string; css: string }> {
  const table: Record<string, { label: string; css: string }> = {
    free: { label: "free", css: `rgb(${DUMP_COLORS.free.join(",")})` },
  };
  for (const [key, label] of Object.entries(KIND_LABELS))
    table[key] = { label, css: `rgb(${DUMP_COLORS[key as AllocationKind].join(",")})` };
  return table;
}

/** uPlot's minified script and CSS, from the installed package. */
function uplotSources(): { js: string; css: string } {
  const require = createRequire(import.meta.url);
  const js = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8");
  const css = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
  return { js, css };
}

/** JSON that is safe inside a script element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Script text that cannot close its element. */
function scriptText(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1");
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

const FORMAT_BYTES = String.raw`
function formatBytes(n) {
  if (n === null || n === undefined || !isFinite(n)) return String(n);
  var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0, v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (Number.isInteger(v) ? v : v.toFixed(1)) + " " + units[i];
}
`;

const STYLE = `
[hidden] { display: none !important; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #222; background: #fafafa; }
h1 { margin: 0 0 4px; font-size: 22px; }
h2 { font-size: 17px; margin: 22px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 13px; margin: 0 0 4px; font-weight: 600; }
#title, #summary, #timeline-summary { margin: 2px 0; color: #444; }
#live-status { margin: 2px 0; color: #1a7f37; font-weight: 600; }
#charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { background: #fff; border: 1px solid #ddd; padding: 8px; }
.no-timeline { background: #fff8dc; border: 1px solid #e6d68a; padding: 8px 12px; }
.controls { display: flex; align-items: center; gap: 8px; margin: 6px 0; flex-wrap: wrap; }
#frame-slider { width: 420px; }
#map-wrap { position: relative; background: #fff; border: 1px solid #ddd; }
#map { display: block; width: 100%; cursor: crosshair; }
#tooltip { position: absolute; z-index: 10; background: #fff; border: 1px solid #888; box-shadow: 0 2px 6px rgba(0,0,0,.25);
  padding: 6px 8px; font-size: 12px; pointer-events: none; max-width: 420px; }
#tooltip .k { color: #666; }
#legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0; font-size: 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #999; margin-right: 4px; vertical-align: -2px; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f0f0f0; }
td:nth-child(2), td:nth-child(3) { white-space: nowrap; }
`;

/** Options of {@link renderReportHtml}. */
export interface ReportHtmlOptions {
  /** Where the model came from, shown under the title (a file name). */
  sourceName?: string;
  /**
   * The live inspector's page (./inspector.ts): it connects to `events` beside it and grows the model from there
   * (./page-live.ts). A report file never sets it.
   */
  live?: boolean;
}

/**
 * The report page for `model`, as a string of HTML that needs nothing outside itself.
 * @throws Error when the `uplot` package cannot be found (a broken install).
 */
export function renderReportHtml(model: ReportModel, options: ReportHtmlOptions = {}): string {
  const uplot = uplotSources();
  const heading = `vkmem report${options.sourceName ? `: ${options.sourceName}` : ""}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(heading)}</title>
<style>${uplot.css}</style>
<style>${STYLE}</style>
</head>
<body${options.live ? ' data-live="1"' : ""}>
<h1>${escapeHtml(heading)}</h1>
<p id="title"></p>${options.live ? '\n<p id="live-status" hidden></p>' : ""}
<p id="summary"></p>
<section id="timeline">
<h2>Timeline</h2>
<p id="timeline-summary"></p>
<div id="charts"></div>
</section>
<section id="map-section">
<h2>Memory map</h2>
<div class="controls" id="frame-controls">
<button id="frame-prev" type="button">&#9664;</button>
<input id="frame-slider" type="range" step="1" aria-label="frame">
<button id="frame-next" type="button">&#9654;</button>
<span id="frame-label"></span>
</div>
<div class="controls">
<button id="zoom-out" type="button" title="zoom out">&minus;</button>
<button id="zoom-in" type="button" title="zoom in (or the mouse wheel over the map)">+</button>
<button id="zoom-reset" type="button">reset</button>
<span id="zoom-label"></span>
<span id="map-status"></span>
<span id="frame-notes"></span>
</div>
<div id="legend"></div>
<div id="map-wrap"><canvas id="map"></canvas></div>
<div id="tooltip" hidden></div>
</section>
<section id="largest">
<h2>Largest allocations</h2>
<table id="largest-table"><thead><tr><th>#</th><th>name</th><th>size</th><th>kind</th><th>memory type</th><th>pool</th><th>made</th><th>freed</th></tr></thead><tbody></tbody></table>
</section>
<section id="leaks">
<h2>Leaks: alive at the end</h2>
<p id="leaks-note"></p>
<table id="leaks-table"><thead><tr><th>name</th><th>size</th><th>kind</th><th>memory type</th><th>pool</th><th>made</th><th>age at the end</th></tr></thead><tbody></tbody></table>
</section>
<script id="report-data" type="application/json">${scriptJson(model)}</script>
<script id="report-kinds" type="application/json">${scriptJson(kindTable())}</script>
<script>${scriptText(uplot.js)}</script>
<script>${scriptText(FORMAT_BYTES + MAP_SCRIPT + (options.live ? LIVE_SCRIPT : "") + PAGE_SCRIPT)}</script>
</body>
</html>
`;
}
