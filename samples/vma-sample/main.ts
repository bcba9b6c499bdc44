/**
 * VMA's sample (src/VulkanSample.cpp in its repository) on vkmem: the spinning textured cube, in a window
 * (nvk's VulkanWindow) or headless into a PNG. `npm start` runs it windowed when DISPLAY is set, headless otherwise.
 *
 *   node dist/samples/vma-sample/main.js [--headless | --window] [--frames N] [--time T] [--out FILE]
 *        [--width W] [--height H] [--validation] [--resize-at N:WxH] [--pause-after N] [--quiet]
 *
 * At start it prints the device's memory heaps and types and what they mean for the sample; at exit the
 * allocator's statistics, frame times, then it destroys everything and reports leaks (there must be none).
 * Exit code 0; 1 on an error, a leak, or (with --validation) any validation message; 2 for bad arguments.
 * @module
 */
import { readSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  createAllocator,
  createFrameManager,
  formatStatistics,
  nvk,
  type Allocator,
  type Context,
  type FrameManager,
} from "../../engine/index.js";
import { decimalNumber, parseCommandLine, UsageError, wholeNumber } from "../../engine/cli/args.js";
import { formatFrameTimes } from "../common/frame-timer.js";
import { finishSample, sampleMain } from "../common/sample-exit.js";
import { runHeadless } from "../common/headless-loop.js";
import { OffscreenTarget } from "../common/offscreen-target.js";
import { writePng } from "../common/png.js";
import { Swapchain } from "../common/swapchain.js";
import { runWindowLoop, type LoopWindow, type ScriptedResize, createSampleContext } from "../common/window-loop.js";
import { conclusionLines, memoryTypeLines } from "./memory-report.js";
import { CubeRenderer } from "./renderer.js";

/** The window title, after the original's. */
export const TITLE = "Vulkan Memory Allocator Sample (vkmem)";
const FRAMES_IN_FLIGHT = 2;

/** Parsed command line. */
export interface SampleOptions {
  /** "headless", "window", or "auto" (window when DISPLAY is set). */
  mode: "headless" | "window" | "auto";
  /** Frames to render; headless default 1, windowed default: until closed. */
  frames?: number;
  /** Fixed scene time in seconds; headless default 1.25, windowed default: real time. */
  time?: number;
  /** Headless PNG. Default out/vma-sample.png. */
  out: string;
  width: number;
  height: number;
  /** Validation layer with synchronization validation. */
  validation: boolean;
  resizes: ScriptedResize[];
  /** Frame numbers after which the windowed loop prints "paused after frame N" and waits for a line on stdin. */
  pauseAfter: number[];
  quiet: boolean;
  /** Record the allocator's calls into this trace file (`vkmem replay`, `vkmem report`). */
  record?: string;
  /** Serve the live inspector on this port of 127.0.0.1 (0: a free one; the URL is printed). */
  inspector?: number;
}

export const USAGE = `usage: vma-sample [--headless | --window] [--frames N] [--time T] [--out FILE] [--width W] [--height H]
                  [--validation] [--resize-at N:WxH] [--pause-after N] [--quiet] [--record TRACE]
                  [--inspector PORT]

  --headless         render offscreen and write a PNG (the default when DISPLAY is not set)
  --window           open a window (the default when DISPLAY is set); Escape or closing it ends the sample
  --frames N         frames to render (headless default 1; windowed default: until closed); prints frame times
  --time T           the scene at T seconds (the cube turns 0.2 pi rad/s); headless default 1.25
  --out FILE         the headless PNG (default out/vma-sample.png)
  --width W, --height H   window or image size (default 800 x 600)
  --validation       validation layer with synchronization validation; any message fails the run (exit 1)
  --resize-at N:WxH  resize the window to W x H before frame N (windowed; repeatable)
  --pause-after N    after presenting frame N print "paused after frame N" and wait for a line on stdin
                     (for taking a screenshot of the display; windowed; repeatable)
  --quiet            leave out the memory report and the statistics
  --record TRACE     record every call that changes memory into TRACE ('vkmem replay', 'vkmem report')
  --inspector PORT   serve the live memory inspector on http://127.0.0.1:PORT/ while it runs (0: a free port;
                     the address is printed); use with --frames N or a window`;

/**
 * Parses `argv` (without node and the script) with `node:util` parseArgs (engine/cli/args.ts).
 * @returns the options, or a string: the error message (usage problems) or "help".
 */
export function parseArgs(argv: readonly string[]): SampleOptions | string {
  try {
    const { values: v } = parseCommandLine(argv, {
      headless: { type: "boolean" },
      window: { type: "boolean" },
      frames: { type: "string", value: "N" },
      time: { type: "string", value: "T" },
      out: { type: "string", value: "FILE" },
      width: { type: "string", value: "W" },
      height: { type: "string", value: "H" },
      validation: { type: "boolean" },
      "resize-at": { type: "string", value: "N:WxH", multiple: true },
      "pause-after": { type: "string", value: "N", multiple: true },
      quiet: { type: "boolean" },
      record: { type: "string", value: "TRACE" },
      inspector: { type: "string", value: "PORT" },
      help: { type: "boolean", short: "h" },
    });
    if (v.help) return "help";
    if (v.headless && v.window) return "--headless and --window exclude each other";
    if (v.out === "") return "--out needs a file name";
    if (v.record === "") return "--record needs a file name";
    const o: SampleOptions = {
      mode: v.headless ? "headless" : v.window ? "window" : "auto",
      out: typeof v.out === "string" ? v.out : path.join("out", "vma-sample.png"),
      width: wholeNumber("width", v.width, 800, 1, 16384),
      height: wholeNumber("height", v.height, 600, 1, 16384),
      validation: v.validation === true,
      resizes: [],
      pauseAfter: [],
      quiet: v.quiet === true,
    };
    if (typeof v.record === "string") o.record = v.record;
    const inspector = wholeNumber("inspector", v.inspector, undefined, 0, 65535);
    if (inspector !== undefined) o.inspector = inspector;
    const frames = wholeNumber("frames", v.frames, undefined);
    if (frames !== undefined) o.frames = frames;
    const time = decimalNumber("time", v.time, undefined, "a number of seconds");
    if (time !== undefined) o.time = time;
    for (const text of (v["resize-at"] ?? []) as string[]) {
      const m = /^(\d+):(\d+)x(\d+)$/.exec(text);
      if (m === null || Number(m[2]) < 1 || Number(m[3]) < 1)
        return `--resize-at needs FRAME:WIDTHxHEIGHT, e.g. 100:800x600, got '${text}'`;
      o.resizes.push({ atFrame: Number(m[1]), width: Number(m[2]), height: Number(m[3]) });
    }
    for (const text of (v["pause-after"] ?? []) as string[]) o.pauseAfter.push(wholeNumber("pause-after", text, 0, 0));
    return o;
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
}

/** Whether the options ask for a window (auto: when DISPLAY is set). */
export function wantsWindow(options: SampleOptions, env: NodeJS.ProcessEnv = process.env): boolean {
  return options.mode === "window" || (options.mode === "auto" && (env.DISPLAY ?? "") !== "");
}

function waitForLine(): void {
  const one = Buffer.alloc(1);
  for (;;) {
    let n = 0;
    try {
      n = readSync(0, one, 0, 1, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
      return;
    }
    if (n === 0 || one[0] === 0x0a) return;
  }
}

/**
 * Runs the sample with parsed options; `print` receives every line of output. Returns the exit code.
 * Creates and destroys everything itself (context, allocator, frame manager, window).
 */
export function runSample(options: SampleOptions, print: (line: string) => void = (l) => console.log(l)): number {
  const windowed = wantsWindow(options);
  const say = (line: string): void => {
    if (!options.quiet) print(line);
  };
  let window: LoopWindow | null = null;
  let context: Context | null = null;
  let allocator: Allocator | null = null;
  let frames: FrameManager | null = null;
  let renderer: CubeRenderer | null = null;
  let swapchain: Swapchain | null = null;
  let offscreen: OffscreenTarget | null = null;
  let code = 0;
  try {
    if (windowed) {
      try {
        window = new nvk.VulkanWindow({
          width: options.width,
          height: options.height,
          title: TITLE,
          resizable: true,
        }) as LoopWindow;
      } catch (error) {
        // DISPLAY set but no X server behind it (a stale SSH session, say): auto mode renders headless instead.
        if (options.mode === "window") throw error;
        print(`No usable display (DISPLAY=${process.env.DISPLAY}: ${(error as Error).message}); rendering headless`);
      }
    }
    context = createSampleContext(TITLE, options.validation, window);
    allocator = createAllocator(context, {
      label: "vma-sample",
      ...(options.record === undefined ? {} : { record: { file: options.record } }),
      ...(options.inspector === undefined ? {} : { inspector: { port: options.inspector } }),
    });
    if (allocator.inspector !== null) print(`Inspector: ${allocator.inspector.url}`);
    say(TITLE);
    say(`Device: ${context.deviceName} (${context.deviceType})`);
    for (const line of [...memoryTypeLines(allocator), ...conclusionLines(context, allocator)]) say(line);
    frames = createFrameManager(context, allocator, { framesInFlight: FRAMES_IN_FLIGHT, label: "vma-sample frames" });
    renderer = new CubeRenderer(context, allocator, frames);
    say(
      `Depth format ${renderer.depthFormatName}; sampler anisotropy ${renderer.maxAnisotropy > 0 ? renderer.maxAnisotropy : renderer.anisotropyReason}; ${FRAMES_IN_FLIGHT} frames in flight`,
    );

    let statistics = "";
    if (window !== null) {
      swapchain = new Swapchain(context, window, { framesInFlight: FRAMES_IN_FLIGHT, label: "vma-sample swapchain" });
      say(
        `Window ${options.width}x${options.height}: swapchain of ${swapchain.imageCount} images, ${swapchain.presentModeName}, format ${swapchain.format}`,
      );
      const pauses = new Set(options.pauseAfter);
      const fixed = options.time;
      const result = runWindowLoop({
        window,
        frames,
        swapchain,
        renderer,
        ...(options.frames !== undefined ? { maxFrames: options.frames } : {}),
        ...(fixed !== undefined ? { time: () => fixed } : {}),
        resizes: options.resizes,
        afterFrame: (n) => {
          if (!pauses.has(n)) return;
          frames!.waitIdle(); // the frame is on screen before anyone looks
          print(`paused after frame ${n} (${swapchain!.width}x${swapchain!.height})`);
          waitForLine();
        },
      });
      statistics = formatStatistics(allocator);
      print(
        `Windowed: ${result.frames} frames, ended by ${result.reason}, swapchain recreated ${result.swapchainRecreations} time(s), now ${swapchain.width}x${swapchain.height}`,
      );
      if (result.frames > 0)
        print(formatFrameTimes("Windowed frame time", result.timer.summary(Math.min(10, result.frames >> 2))));
    } else {
      offscreen = new OffscreenTarget(context, allocator, {
        width: options.width,
        height: options.height,
        label: "vma-sample offscreen",
      });
      const frameCount = options.frames ?? 1;
      const time = options.time ?? 1.25;
      const result = runHeadless({ frames, target: offscreen, renderer, frameCount, timeSeconds: time });
      statistics = formatStatistics(allocator);
      writePng(options.out, result.image);
      print(
        `Headless: ${frameCount} frame(s) of ${options.width}x${options.height} at t = ${time} s written to ${options.out}`,
      );
      if (frameCount > 1) {
        print(formatFrameTimes("Headless frame time", result.timer.summary(Math.min(10, frameCount >> 2))));
        print(
          `Headless total: ${result.totalMs.toFixed(1)} ms for ${frameCount} frames (${(result.totalMs / frameCount).toFixed(3)} ms/frame, PNG encoding excluded)`,
        );
      }
    }
    const fm = frames.statistics;
    say(
      `Frames: ${fm.framesSubmitted} submitted, back-pressure waits ${fm.backPressureWaits}, deferred destructions ${fm.deferredQueued} queued / ${fm.deferredImmediate} immediate`,
    );
    say("Allocator statistics at exit (before destruction):");
    say(statistics);
  } catch (error) {
    print(`vma-sample: ${(error as Error).stack ?? String(error)}`);
    code = 1;
  } finally {
    if (
      finishSample(
        { frames, made: [renderer, offscreen, swapchain], allocator, context, window, validation: options.validation },
        print,
      ) !== 0
    )
      code = 1;
  }
  return code;
}

/** Parses `argv` and runs; the exit code. */
export function main(argv: readonly string[]): number {
  return sampleMain("vma-sample", argv, USAGE, parseArgs, (options) => runSample(options));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
