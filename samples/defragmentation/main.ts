/**
 * The defragmentation sample: a game streams levels in and out (samples/defragmentation/scene.ts) until its memory
 * is fragmented, then defragments it live while it keeps drawing every quad with its own texture and vertex buffer
 * (FrameManager.defragment). Windowed (nvk's VulkanWindow) or headless into a PNG.
 *
 *   node dist/samples/defragmentation/main.js [--headless | --window] [--frames N] [--out FILE] [--width W]
 *        [--height H] [--levels N] [--algorithm A] [--moves-per-frame N] [--mib-per-frame MIB] [--no-defrag]
 *        [--validation] [--quiet] [--record TRACE]
 *
 * The memory maps before and after the defragmentation (what `vkmem vis` draws) are written next to the output:
 * FILE's name with `.memory-before.png` and `.memory-after.png` for `.png`. At exit: blocks freed, bytes and resources
 * moved, the frame times before and during the defragmentation, the allocator's statistics, and a leak check.
 * Exit code 0; 1 on an error, a leak or (with --validation) any validation message; 2 for bad arguments.
 * @module
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  createAllocator,
  createFrameManager,
  formatStatistics,
  nvk,
  type Allocator,
  type Context,
  type DefragmentationAlgorithm,
  type FrameManager,
} from "../../engine/index.js";
import { parseCommandLine, UsageError, wholeNumber } from "../../engine/cli/args.js";
import { formatBytes } from "../../engine/format.js";
import { finishSample, sampleMain } from "../common/sample-exit.js";
import { OffscreenTarget } from "../common/offscreen-target.js";
import { writePng } from "../common/png.js";
import { Swapchain } from "../common/swapchain.js";
import { runWindowLoop, type LoopWindow, createSampleContext } from "../common/window-loop.js";
import { LevelGame, type GameReport } from "./game.js";
import { QuadRenderer } from "./renderer.js";
import { LEVEL_COUNT } from "./scene.js";

export const TITLE = "vkmem live defragmentation";
const FRAMES_IN_FLIGHT = 2;
const MiB = 1024 * 1024;
/** Device memory blocks of the default pools: small, so that levels spread over many and freed blocks show. */
export const BLOCK_BYTES = 2 * MiB;
const ALGORITHMS: readonly DefragmentationAlgorithm[] = ["fast", "balanced", "full", "extensive"];

export const USAGE = `usage: defragmentation [--headless | --window] [--frames N] [--out FILE] [--width W] [--height H]
                      [--levels N] [--algorithm A] [--moves-per-frame N] [--mib-per-frame MIB] [--no-defrag]
                      [--validation] [--quiet] [--record TRACE]

  --headless / --window   offscreen to a PNG (default without DISPLAY) / a window (default with DISPLAY)
  --frames N              frames in all (headless default 300; windowed default: until closed); the levels stream
                          in and out for the first 12 per level + 9 (81 for 6), the defragmentation starts 48
                          frames later
  --out FILE              the headless PNG (default out/defragmentation.png); the memory maps go next to it
  --width W, --height H   image or window size (default 960 x 540)
  --levels N              levels streamed in and out, 1 to 8 (default ${LEVEL_COUNT})
  --algorithm A           fast, balanced, full or extensive (default full)
  --moves-per-frame N     resources moved per frame at most (default 8)
  --mib-per-frame MIB     MiB copied per frame at most (default 4)
  --no-defrag             the same frames without defragmentation (the picture must be the same)
  --validation            validation layer with synchronization validation; any message fails the run (exit 1)
  --quiet                 only the summary lines
  --record TRACE          record every call that changes memory into TRACE ('vkmem replay', 'vkmem report')`;

/** Parsed command line. */
export interface DefragmentationOptions {
  mode: "headless" | "window" | "auto";
  frames: number | undefined;
  out: string;
  width: number;
  height: number;
  levels: number;
  algorithm: DefragmentationAlgorithm;
  movesPerFrame: number;
  mibPerFrame: number;
  defragment: boolean;
  validation: boolean;
  quiet: boolean;
  /** Record the allocator's calls into this trace file (`vkmem replay`, `vkmem report`). */
  record: string | undefined;
}

/** Parses `argv` with `node:util` parseArgs (engine/cli/args.ts); returns the options, "help", or an error message. */
export function parseOptions(argv: readonly string[]): DefragmentationOptions | string {
  try {
    return parseDefragmentationOptions(argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
}

function parseDefragmentationOptions(argv: readonly string[]): DefragmentationOptions | "help" {
  const parsed = parseCommandLine(argv, {
    headless: { type: "boolean" },
    window: { type: "boolean" },
    frames: { type: "string", value: "N" },
    out: { type: "string", value: "FILE" },
    width: { type: "string", value: "W" },
    height: { type: "string", value: "H" },
    levels: { type: "string", value: "N" },
    algorithm: { type: "string", value: "A" },
    "moves-per-frame": { type: "string", value: "N" },
    "mib-per-frame": { type: "string", value: "MIB" },
    "no-defrag": { type: "boolean" },
    validation: { type: "boolean" },
    quiet: { type: "boolean" },
    record: { type: "string", value: "TRACE" },
    help: { type: "boolean", short: "h" },
  }).values as Record<string, string | boolean | undefined>;
  if (parsed.help) return "help";
  if (parsed.headless && parsed.window) throw new UsageError("--headless and --window exclude each other");
  const algorithm = parsed.algorithm ?? "full";
  if (!ALGORITHMS.includes(algorithm as DefragmentationAlgorithm))
    throw new UsageError(`--algorithm needs one of ${ALGORITHMS.join(", ")}, got ${String(algorithm)}`);
  return {
    mode: parsed.headless ? "headless" : parsed.window ? "window" : "auto",
    frames: wholeNumber("frames", parsed.frames, undefined, 1) as number | undefined,
    out: typeof parsed.out === "string" ? parsed.out : path.join("out", "defragmentation.png"),
    width: wholeNumber("width", parsed.width, 960, 1, 16384) as number,
    height: wholeNumber("height", parsed.height, 540, 1, 16384) as number,
    levels: wholeNumber("levels", parsed.levels, LEVEL_COUNT, 1, 8) as number,
    algorithm: algorithm as DefragmentationAlgorithm,
    movesPerFrame: wholeNumber("moves-per-frame", parsed["moves-per-frame"], 8, 1, 100000) as number,
    mibPerFrame: wholeNumber("mib-per-frame", parsed["mib-per-frame"], 4, 1, 4096) as number,
    defragment: parsed["no-defrag"] !== true,
    validation: parsed.validation === true,
    quiet: parsed.quiet === true,
    record: typeof parsed.record === "string" && parsed.record !== "" ? parsed.record : undefined,
  };
}

/** `shot.png` -> `shot.memory-before.png` (any other name: the suffix appended). */
export function memoryPicturePath(out: string, when: "before" | "after"): string {
  const base = out.toLowerCase().endsWith(".png") ? out.slice(0, -4) : out;
  return `${base}.memory-${when}.png`;
}

/** The value at quantile `q` (0 to 1) of `values` (nearest rank), 0 for none. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

function frameTimeLine(label: string, times: readonly number[]): string {
  if (times.length === 0) return `${label}: no frames`;
  return `${label}: p50 ${percentile(times, 0.5).toFixed(3)} ms, p99 ${percentile(times, 0.99).toFixed(3)} ms over ${times.length} frames`;
}

/** The summary lines of a run: what the defragmentation did and the frame times. */
export function summaryLines(report: GameReport, defragment: boolean): string[] {
  const lines: string[] = [];
  const s = report.status;
  if (!defragment) lines.push(`Defragmentation: off (--no-defrag); memory blocks ${report.blocksNow}`);
  else if (s === null) lines.push("Defragmentation: not started (the run ended first: more --frames)");
  else {
    lines.push(
      `Defragmentation ${s.active ? "still running" : "done"}: ${s.deviceMemoryBlocksFreed} memory blocks freed (${formatBytes(s.bytesFreed)}), ` +
        `${s.resourcesMoved} resources moved (${report.texturesMoved} textures, ${report.buffersMoved} vertex buffers), ${formatBytes(s.bytesMoved)} moved ` +
        `(${s.bytesMoved} bytes), ${s.movesIgnored} moves ignored, ${s.passes} passes over ${s.copyFrames} copy frames; ` +
        `memory blocks ${report.blocksBefore} -> ${report.blocksNow}`,
    );
    lines.push(
      `Defragmentation CPU in beginFrame: at most ${s.maxFrameMicroseconds.toFixed(0)} µs in one frame, ${s.lastFrameMicroseconds.toFixed(0)} µs in the last`,
    );
  }
  lines.push(frameTimeLine("Frame time before defragmentation", report.frameTimes.before));
  if (defragment) lines.push(frameTimeLine("Frame time during defragmentation", report.frameTimes.during));
  lines.push(frameTimeLine("Frame time after", report.frameTimes.after));
  return lines;
}

/** Runs the sample; `print` receives every line. Returns the exit code. Creates and destroys everything itself. */
export function runDefragmentationSample(
  options: DefragmentationOptions,
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
  let game: LevelGame | null = null;
  let renderer: QuadRenderer | null = null;
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
      label: "defragmentation",
      preferredLargeHeapBlockSize: BLOCK_BYTES,
      ...(options.record === undefined ? {} : { record: { file: options.record } }),
    });
    frames = createFrameManager(context, allocator, { framesInFlight: FRAMES_IN_FLIGHT, label: "defragmentation" });
    mkdirSync(path.dirname(path.resolve(options.out)), { recursive: true });
    game = new LevelGame(frames, allocator, {
      levels: options.levels,
      defragment: options.defragment,
      algorithm: options.algorithm,
      maxMovesPerFrame: options.movesPerFrame,
      maxBytesPerFrame: options.mibPerFrame * MiB,
      pictureBefore: options.defragment ? memoryPicturePath(options.out, "before") : null,
      pictureAfter: options.defragment ? memoryPicturePath(options.out, "after") : null,
      print: say,
    });
    renderer = new QuadRenderer(context, frames, game);
    print(
      `${TITLE} on ${context.deviceName}: ${options.levels} levels, memory blocks of ${formatBytes(BLOCK_BYTES)}, ` +
        `defragmentation ${options.defragment ? `from frame ${game.defragmentAt}` : "off"}`,
    );

    if (window !== null) {
      swapchain = new Swapchain(context, window, {
        framesInFlight: FRAMES_IN_FLIGHT,
        label: "defragmentation swapchain",
      });
      const result = runWindowLoop({
        window,
        frames,
        swapchain,
        renderer,
        ...(options.frames !== undefined ? { maxFrames: options.frames } : {}),
      });
      print(`Windowed: ${result.frames} frames, ended by ${result.reason}`);
    } else {
      offscreen = new OffscreenTarget(context, allocator, {
        width: options.width,
        height: options.height,
        label: "defragmentation offscreen",
      });
      renderer.setTarget(offscreen);
      const count = options.frames ?? 300;
      for (let i = 0; i < count; i++) {
        const frame = frames.beginFrame();
        renderer.record(frame, 0, i / 60);
        if (i === count - 1) offscreen.recordReadback(frame.commandBuffer);
        frames.endFrame();
      }
      frames.waitIdle();
      writePng(options.out, offscreen.readPixels());
      print(
        `Headless: ${count} frames, ${game.quads.size} quads drawn; ${options.width}x${options.height} written to ${options.out}`,
      );
    }
    game.finish();
    for (const line of summaryLines(game.report(), options.defragment)) print(line);
    say("Allocator statistics at exit (before destruction):");
    say(formatStatistics(allocator));
  } catch (error) {
    print(`defragmentation: ${(error as Error).stack ?? String(error)}`);
    code = 1;
  } finally {
    if (
      finishSample(
        {
          frames,
          made: [renderer, game, offscreen, swapchain],
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
  return sampleMain("defragmentation", argv, USAGE, parseOptions, (options) => runDefragmentationSample(options));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
