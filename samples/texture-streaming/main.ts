/**
 * The texture-streaming sample: a camera walking down a gallery of 1,000 panels whose textures (256 to 1024 texels
 * square, full mip chains, about 2.2 GiB together) stream through a {@link TextureStreamer} under a 128 MiB budget.
 * Windowed (nvk's VulkanWindow) or headless into a PNG; prints the streamer's statistics every second.
 *
 *   node dist/samples/texture-streaming/main.js [--headless | --window] [--frames N] [--settle N] [--time T]
 *        [--out FILE] [--width W] [--height H] [--budget MIB] [--upload-budget MIB] [--panels N] [--validation]
 *
 * Headless: `--frames` frames with the scene time advancing 1/60 s per frame from `--time` (the camera walks, the
 * streamer loads, uploads and evicts), then `--settle` frames at the final time so that what is visible is
 * resident at the mips it needs, the last one read back into the PNG. Windowed: real time until closed (or
 * `--frames`). At exit: totals, frame times, the allocator's statistics, and a leak check (there must be none).
 * Exit code 0; 1 on an error, a leak or (with --validation) any validation message; 2 for bad arguments.
 * @module
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  createAllocator,
  createFrameManager,
  createTextureStreamer,
  formatStatistics,
  nvk,
  type Allocator,
  type Context,
  type FrameManager,
  type TextureStreamer,
  type TextureStreamerFrameStatistics,
} from "../../engine/index.js";
import { decimalNumber, parseCommandLine, UsageError, wholeNumber } from "../../engine/cli/args.js";
import { formatBytes } from "../../engine/format.js";
import { formatFrameTimes } from "../common/frame-timer.js";
import { finishSample, sampleMain } from "../common/sample-exit.js";
import { runHeadless } from "../common/headless-loop.js";
import { OffscreenTarget } from "../common/offscreen-target.js";
import { writePng } from "../common/png.js";
import { Swapchain } from "../common/swapchain.js";
import { runWindowLoop, type LoopWindow, createSampleContext } from "../common/window-loop.js";
import { GalleryRenderer } from "./renderer.js";
import { PANEL_COUNT } from "./scene.js";

export const TITLE = "vkmem texture streaming";
const FRAMES_IN_FLIGHT = 2;
const MiB = 1024 * 1024;

export const USAGE = `usage: texture-streaming [--headless | --window] [--frames N] [--settle N] [--time T] [--out FILE]
                         [--width W] [--height H] [--budget MIB] [--upload-budget MIB] [--panels N] [--validation] [--quiet]
                         [--record TRACE] [--inspector PORT]

  --headless / --window   offscreen to a PNG (default without DISPLAY) / a window (default with DISPLAY)
  --frames N              frames with the camera moving (headless default 600; windowed default: until closed)
  --settle N              headless: frames at the final time before the PNG is read back (default 40)
  --time T                scene time of the first frame in seconds (default 0)
  --out FILE              the headless PNG (default out/texture-streaming.png)
  --width W, --height H   image or window size (default 960 x 540)
  --budget MIB            the streamer's memory budget (default 128)
  --upload-budget MIB     bytes uploaded per frame at most (default 8)
  --panels N              panels in the gallery (default ${PANEL_COUNT})
  --validation            validation layer with synchronization validation; any message fails the run (exit 1)
  --quiet                 only the summary lines
  --record TRACE          record every call that changes memory into TRACE ('vkmem replay', 'vkmem report')
  --inspector PORT        serve the live memory inspector on http://127.0.0.1:PORT/ while it runs (0: a free port;
                          the address is printed)`;

/** Parsed command line. */
export interface StreamingOptions {
  mode: "headless" | "window" | "auto";
  frames: number | undefined;
  settle: number;
  time: number;
  out: string;
  width: number;
  height: number;
  budgetMiB: number;
  uploadBudgetMiB: number;
  panels: number;
  validation: boolean;
  quiet: boolean;
  /** Record the allocator's calls into this trace file (`vkmem replay`, `vkmem report`). */
  record: string | undefined;
  /** Serve the live inspector on this port of 127.0.0.1 (0: a free one; the URL is printed). */
  inspector: number | undefined;
}

/** Parses `argv` with `node:util` parseArgs (engine/cli/args.ts); returns the options, "help", or an error message. */
export function parseOptions(argv: readonly string[]): StreamingOptions | string {
  try {
    return parseStreamingOptions(argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
}

function parseStreamingOptions(argv: readonly string[]): StreamingOptions | "help" {
  const parsed = parseCommandLine(argv, {
    headless: { type: "boolean" },
    window: { type: "boolean" },
    frames: { type: "string", value: "N" },
    settle: { type: "string", value: "N" },
    time: { type: "string", value: "T" },
    out: { type: "string", value: "FILE" },
    width: { type: "string", value: "W" },
    height: { type: "string", value: "H" },
    budget: { type: "string", value: "MIB" },
    "upload-budget": { type: "string", value: "MIB" },
    panels: { type: "string", value: "N" },
    validation: { type: "boolean" },
    quiet: { type: "boolean" },
    record: { type: "string", value: "TRACE" },
    inspector: { type: "string", value: "PORT" },
    help: { type: "boolean", short: "h" },
  }).values as Record<string, string | boolean | undefined>;
  if (parsed.help) return "help";
  if (parsed.headless && parsed.window) throw new UsageError("--headless and --window exclude each other");
  const o = {
    frames: wholeNumber("frames", parsed.frames, undefined),
    settle: wholeNumber("settle", parsed.settle, 40),
    width: wholeNumber("width", parsed.width, 960, 1, 16384),
    height: wholeNumber("height", parsed.height, 540, 1, 16384),
    budgetMiB: wholeNumber("budget", parsed.budget, 128, 8, 1 << 20),
    uploadBudgetMiB: wholeNumber("upload-budget", parsed["upload-budget"], 8, 1, 1024),
    panels: wholeNumber("panels", parsed.panels, PANEL_COUNT, 1, 100000),
    inspector: wholeNumber("inspector", parsed.inspector, undefined, 0, 65535),
  };
  const time = decimalNumber("time", parsed.time, 0, "a number of seconds", 0)!;
  return {
    mode: parsed.headless ? "headless" : parsed.window ? "window" : "auto",
    frames: o.frames as number | undefined,
    settle: o.settle as number,
    time,
    out: typeof parsed.out === "string" ? parsed.out : path.join("out", "texture-streaming.png"),
    width: o.width as number,
    height: o.height as number,
    budgetMiB: o.budgetMiB as number,
    uploadBudgetMiB: o.uploadBudgetMiB as number,
    panels: o.panels as number,
    validation: parsed.validation === true,
    quiet: parsed.quiet === true,
    record: typeof parsed.record === "string" && parsed.record !== "" ? parsed.record : undefined,
    inspector: o.inspector as number | undefined,
  };
}

/** Sums the per-frame statistics and prints a line every second of wall time. */
class StatisticsPrinter {
  #last = performance.now();
  #frames = 0;
  #evicted = 0;
  #tailsEvicted = 0;
  #uploaded = 0;
  #updateUs = 0;
  constructor(
    readonly streamer: TextureStreamer,
    readonly renderer: GalleryRenderer,
    readonly print: (line: string) => void,
  ) {}

  add(s: TextureStreamerFrameStatistics, timeSeconds: number): void {
    this.#frames++;
    this.#evicted += s.evicted;
    this.#tailsEvicted += s.tailsEvicted;
    this.#uploaded += s.uploadedBytes;
    this.#updateUs += s.updateUs;
    const now = performance.now();
    if (now - this.#last < 1000) return;
    this.print(
      `t=${timeSeconds.toFixed(1)}s ${this.#frames} frames: resident ${s.residentTextures} textures, ${formatBytes(s.residentBytes)} ` +
        `(${((100 * s.residentBytes) / s.budgetBytes).toFixed(0)}% of the ${formatBytes(s.budgetBytes)} budget, pool blocks ${formatBytes(s.budgetUsedBytes)}), ` +
        `${s.tails} tails ${formatBytes(s.tailBytes)}; uploaded ${formatBytes(this.#uploaded)}, evicted ${this.#evicted} (tails ${this.#tailsEvicted}); ` +
        `pending ${s.pendingRequests}; drawn ${this.renderer.lastDrawn} (${this.renderer.lastPlaceholders} placeholder); update ${(this.#updateUs / this.#frames).toFixed(0)} µs/frame`,
    );
    this.#last = now;
    this.#frames = this.#evicted = this.#tailsEvicted = this.#uploaded = this.#updateUs = 0;
  }
}

/** Runs the sample; `print` receives every line. Returns the exit code. Creates and destroys everything itself. */
export function runStreamingSample(
  options: StreamingOptions,
  print: (line: string) => void = (l) => console.log(l),
): number {
  const windowed = options.mode === "window" || (options.mode === "auto" && (process.env.DISPLAY ?? "") !== "");
  const say = (line: string): void => {
    if (!options.quiet) print(line);
  };
  let window: LoopWindow | null = null;
  let context: Context | null = null;
  let allocator: Allocator | null = null;
  let frames: FrameManager | null = null;
  let streamer: TextureStreamer | null = null;
  let renderer: GalleryRenderer | null = null;
  let swapchain: Swapchain | null = null;
  let offscreen: OffscreenTarget | null = null;
  let code = 0;
  try {
    if (windowed)
      window = new nvk.VulkanWindow({
        width: options.width,
        height: options.height,
        title: TITLE,
        resizable: true,
      }) as LoopWindow;
    context = createSampleContext(TITLE, options.validation, window);
    allocator = createAllocator(context, {
      label: "texture-streaming",
      ...(options.record === undefined ? {} : { record: { file: options.record } }),
    });
    frames = createFrameManager(context, allocator, {
      framesInFlight: FRAMES_IN_FLIGHT,
      label: "texture-streaming frames",
      ...(options.inspector === undefined ? {} : { inspector: { port: options.inspector } }),
    });
    if (frames.inspector !== null) print(`Inspector: ${frames.inspector.url}`);
    streamer = createTextureStreamer(frames, {
      label: "gallery",
      budgetBytes: options.budgetMiB * MiB,
      uploadBudgetBytes: options.uploadBudgetMiB * MiB,
    });
    renderer = new GalleryRenderer(context, frames, streamer, options.panels);
    const totalBytes = renderer.textures.reduce((n, t) => {
      for (let m = 0; m < t.mipLevels; m++) n += Math.max(1, t.width >> m) ** 2 * 4;
      return n;
    }, 0);
    print(
      `${TITLE} on ${context.deviceName}: ${renderer.panels.length} textures, ${formatBytes(totalBytes)} of pixels, budget ${formatBytes(streamer.budgetBytes)} (${streamer.budgetSource}), upload budget ${formatBytes(streamer.uploadBudgetBytes)}/frame`,
    );
    const printer = new StatisticsPrinter(streamer, renderer, say);
    renderer.onStatistics = (s, t) => printer.add(s, t);

    let timeLine = "";
    if (window !== null) {
      swapchain = new Swapchain(context, window, {
        framesInFlight: FRAMES_IN_FLIGHT,
        label: "texture-streaming swapchain",
      });
      const start = performance.now();
      const result = runWindowLoop({
        window,
        frames,
        swapchain,
        renderer,
        ...(options.frames !== undefined ? { maxFrames: options.frames } : {}),
        time: () => options.time + (performance.now() - start) / 1000,
      });
      print(`Windowed: ${result.frames} frames, ended by ${result.reason}`);
      if (result.frames > 0)
        timeLine = formatFrameTimes("Windowed frame time", result.timer.summary(Math.min(10, result.frames >> 2)));
    } else {
      offscreen = new OffscreenTarget(context, allocator, {
        width: options.width,
        height: options.height,
        label: "texture-streaming offscreen",
      });
      renderer.setTarget(offscreen);
      const moving = options.frames ?? 600;
      for (let i = 0; i < moving; i++) {
        const frame = frames.beginFrame();
        renderer.record(frame, 0, options.time + i / 60);
        frames.endFrame();
      }
      const final = options.time + moving / 60;
      const result = runHeadless({
        frames,
        target: offscreen,
        renderer,
        frameCount: options.settle,
        timeSeconds: final,
      });
      writePng(options.out, result.image);
      print(
        `Headless: ${moving} moving frames from t = ${options.time} s, ${options.settle} at t = ${final.toFixed(2)} s; ${options.width}x${options.height} written to ${options.out} (${renderer.lastDrawn} panels drawn, ${renderer.lastPlaceholders} placeholder)`,
      );
      timeLine = formatFrameTimes("Settle frame time", result.timer.summary(0));
    }
    const totals = streamer.statistics;
    print(
      `Streamer totals: ${totals.uploads} mip uploads (${formatBytes(totals.uploadedBytes)}), ${totals.evicted} evictions (${formatBytes(totals.evictedBytes)}), ${totals.tailsEvicted} tails lost, ${totals.loads} loads, ${totals.loadErrors} load errors; resident now ${totals.residentTextures} textures, ${formatBytes(totals.residentBytes)} and ${totals.tails} tails, ${formatBytes(totals.tailBytes)}`,
    );
    if (timeLine !== "") say(timeLine);
    say("Allocator statistics at exit (before destruction):");
    say(formatStatistics(allocator));
  } catch (error) {
    print(`texture-streaming: ${(error as Error).stack ?? String(error)}`);
    code = 1;
  } finally {
    if (
      finishSample(
        {
          frames,
          made: [renderer, streamer, offscreen, swapchain],
          allocator,
          context,
          window,
          validation: options.validation,
        },
        print,
      ) !== 0
    )
      code = 1;
  }
  return code;
}

/** Parses `argv` and runs; the exit code. */
export function main(argv: readonly string[]): number {
  return sampleMain("texture-streaming", argv, USAGE, parseOptions, (options) => runStreamingSample(options));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
