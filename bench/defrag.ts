/**
 * bench/defrag: defragmentation (issue 13) — how fast `allocator.defragment()` moves bytes against a raw GPU copy,
 * how much of the possible memory it gives back, and what live defragmentation adds to a frame's CPU time.
 *
 * Three measurements, each against a baseline of the same run:
 * - Copy rate. A TLSF pool of device-local buffers (`--mib` MiB of `--buffer-kib` KiB buffers in `--block-mib` MiB
 *   blocks) with every other buffer freed is defragmented with `defragment()` ("full"), timed from the call to its
 *   return (planning, replacement buffers, the GPU copies waited for, the commit). The baseline copies the same number
 *   of bytes in the same buffer sizes with vkCmdCopyBuffer between two buffers of that memory type, submitted and
 *   waited for, with nothing else. `copy_vs_raw_copy` = defragment's bytes per second over the raw copy's (median of
 *   `--runs` runs, after one untimed run of each, as any warmed measurement; target ≥ 0.8 on the GPU).
 * - Blocks freed. For each algorithm, the blocks `defragment()` freed over the blocks a perfect packing would free
 *   (blocks before minus the blocks the live bytes need): `blocks_freed_fraction` is "full"'s (target ≥ 0.9), and
 *   every algorithm's is reported. VMA keeps one emptied block of each pool as a cache for the next allocation (its
 *   hysteresis), so with N blocks to free it frees N - 1 at best: `blocks_left_over_needed` says how many blocks
 *   remain beyond the perfect packing, that cached one included.
 * - Frame overhead. A FrameManager with `--resources` buffers and textures, three quarters destroyed at random, then
 *   `frames.defragment()` at its default budget while frames run (no draws: the frame is the manager's own work).
 *   Each frame's CPU time that the defragmentation added to beginFrame (planning, replacements, recording, the switch,
 *   the commit) is `frame_overhead_us_*` (target p99 ≤ 100 µs); frames until done and blocks freed beside it. This
 *   first run in the process starts with the rehearsal (engine/resources/defragmentation-rehearsal.ts: V8 compiles
 *   the code on memory of its own, inside the defragment() call, whose time is `live_start_us`) and still pays what
 *   compiling more of it costs; the same workload defragmented a second time (a game defragments more than once in
 *   its life) gives `frame_overhead_us_p99_warm`, so the two costs can be told apart. The headline stays the first
 *   run's.
 *
 * Writes bench/results/defrag.json with those names and `device`.
 * @module
 */
import {
  createAllocator,
  createContext,
  createFrameManager,
  MemoryUsage,
  type Allocator,
  type Buffer,
  type Context,
  type DefragmentationAlgorithm,
  type Texture,
} from "../engine/index.js";
import { nvk } from "../engine/vulkan/nvk.js";
import {
  describeDevice,
  describeHost,
  intFlag,
  layersFromEnvironment,
  median,
  parseFlags,
  percentile,
  printTable,
  round,
  UsageError,
  writeResults,
} from "./lib.js";
import { mulberry } from "./random.js";

export const description =
  "defragmentation: defragment() bytes/s vs a raw vkCmdCopyBuffer, blocks freed vs a perfect packing, live CPU per frame";

export const USAGE = `usage: npm run bench -- defrag [options]
  --mib N          MiB of buffers in the fragmented pool (default 256)
  --buffer-kib N   size of each buffer in KiB (default 1024)
  --block-mib N    pool block size in MiB (default 8)
  --runs N         copy-rate runs (default 5)
  --resources N    FrameManager resources for the frame-overhead run (default 4000)`;

const FLAGS = {
  "--mib": "value",
  "--buffer-kib": "value",
  "--block-mib": "value",
  "--runs": "value",
  "--resources": "value",
} as const;
const MiB = 1024 * 1024;
const TRANSFER = 0x1 | 0x2;
const VERTEX = 0x80;

interface Fragmented {
  pool: ReturnType<Allocator["createPool"]>;
  live: { buffer: unknown; allocation: ReturnType<Allocator["createBuffer"]>["allocation"] }[];
  liveBytes: number;
  blocksBefore: number;
}

function fragment(
  context: Context,
  allocator: Allocator,
  mib: number,
  bufferBytes: number,
  blockBytes: number,
  seed: number,
): Fragmented {
  const memoryTypeIndex = allocator.findMemoryTypeIndexForBufferInfo(
    { size: bufferBytes, usage: TRANSFER | VERTEX },
    { usage: MemoryUsage.Auto },
  );
  const pool = allocator.createPool({ memoryTypeIndex }, { blockSize: blockBytes, name: `fragmented-${seed}` });
  const all: ReturnType<Allocator["createBuffer"]>[] = [];
  const count = Math.floor((mib * MiB) / bufferBytes);
  for (let i = 0; i < count; i++) {
    all.push(allocator.createBuffer({ size: bufferBytes, usage: VERTEX | TRANSFER }, { pool }));
  }
  // Written once, as a game's data is (and so that no copy below pays first-touch page faults on a CPU device).
  context.submitAndWait((cmd) => {
    for (const b of all) nvk.vkCmdFillBuffer(cmd, b.buffer, 0, bufferBytes, 0x5eed);
  });
  const live = [];
  let liveBytes = 0;
  for (const [i, b] of all.entries()) {
    if (i % 2 === 1) allocator.destroyBuffer(b.buffer, b.allocation);
    else {
      live.push(b);
      liveBytes += b.allocation.size;
    }
  }
  return { pool, live, liveBytes, blocksBefore: pool.getStatistics().blockCount };
}

function release(allocator: Allocator, f: Fragmented): void {
  for (const b of f.live) allocator.destroyBuffer(b.buffer, b.allocation);
  f.pool.destroy();
}

/** Seconds to copy `count` chunks of `bytes` with vkCmdCopyBuffer between two buffers of `memoryTypeIndex`. */
function rawCopySeconds(context: Context, allocator: Allocator, count: number, bytes: number): number {
  const make = () => allocator.createBuffer({ size: count * bytes, usage: TRANSFER }, { usage: MemoryUsage.Auto });
  const src = make();
  const dst = make();
  const regions: unknown[] = [];
  for (let i = 0; i < count; i++)
    regions.push(new nvk.VkBufferCopy({ srcOffset: i * bytes, dstOffset: i * bytes, size: bytes }));
  // Warm once, then time.
  context.submitAndWait((cmd) => nvk.vkCmdCopyBuffer(cmd, src.buffer, dst.buffer, regions.length, regions));
  const start = performance.now();
  context.submitAndWait((cmd) => nvk.vkCmdCopyBuffer(cmd, src.buffer, dst.buffer, regions.length, regions));
  const seconds = (performance.now() - start) / 1000;
  allocator.destroyBuffer(src.buffer, src.allocation);
  allocator.destroyBuffer(dst.buffer, dst.allocation);
  return seconds;
}

export async function main(argv: readonly string[]): Promise<void> {
  const flags = parseFlags(argv, FLAGS, USAGE);
  const mib = intFlag(flags, "--mib", 256, USAGE);
  const bufferKiB = intFlag(flags, "--buffer-kib", 1024, USAGE);
  const blockMiB = intFlag(flags, "--block-mib", 8, USAGE);
  const runs = intFlag(flags, "--runs", 5, USAGE);
  const resources = intFlag(flags, "--resources", 4000, USAGE);
  if (bufferKiB * 1024 > blockMiB * MiB) throw new UsageError(`--buffer-kib must fit a block\n${USAGE}`);
  const context = createContext({ applicationName: "vkmem bench defrag" });
  const allocator = createAllocator(context, { label: "bench", defragmentation: true });
  try {
    const bufferBytes = bufferKiB * 1024;
    const blockBytes = blockMiB * MiB;

    // Copy rate.
    const ratios: number[] = [];
    const rates: number[] = [];
    const rawRates: number[] = [];
    // Warmed once, as the raw copy is (rawCopySeconds): the first defragment() of a process also pays V8's first
    // compilation of its code and the driver's first use of what it creates, which says nothing of its copy rate.
    const warmUp = fragment(context, allocator, mib, bufferBytes, blockBytes, runs);
    allocator.defragment(context, { pool: warmUp.pool, algorithm: "full" });
    release(allocator, warmUp);
    for (let run = 0; run < runs; run++) {
      const f = fragment(context, allocator, mib, bufferBytes, blockBytes, run);
      const start = performance.now();
      const stats = allocator.defragment(context, { pool: f.pool, algorithm: "full" });
      const seconds = (performance.now() - start) / 1000;
      const moves = Math.max(1, stats.allocationsMoved);
      const raw = rawCopySeconds(context, allocator, moves, bufferBytes);
      const rate = stats.bytesMoved / seconds;
      const rawRate = (moves * bufferBytes) / raw;
      rates.push(rate);
      rawRates.push(rawRate);
      ratios.push(rate / rawRate);
      release(allocator, f);
    }

    // Blocks freed against a perfect packing.
    const fractions: Record<string, number | null> = {};
    const leftOver: Record<string, number> = {};
    for (const algorithm of ["fast", "balanced", "full", "extensive"] as DefragmentationAlgorithm[]) {
      const f = fragment(context, allocator, mib, bufferBytes, blockBytes, 100);
      const needed = Math.ceil(f.liveBytes / blockBytes);
      const possible = f.blocksBefore - needed;
      const stats = allocator.defragment(context, { pool: f.pool, algorithm });
      fractions[algorithm] = possible > 0 ? stats.deviceMemoryBlocksFreed / possible : null;
      leftOver[algorithm] = f.pool.getStatistics().blockCount - needed;
      release(allocator, f);
    }

    // Live defragmentation's CPU per frame.
    const live = await liveOverhead(context, allocator, resources);
    const warm = await liveOverhead(context, allocator, resources);

    const result = {
      copy_vs_raw_copy: round(median(ratios), 3),
      defragment_gb_s: round(median(rates) / 1e9, 2),
      raw_copy_gb_s: round(median(rawRates) / 1e9, 2),
      blocks_freed_fraction: fractions.full === null ? null : round(fractions.full!, 3),
      blocks_left_over_needed: leftOver,
      blocks_freed_fraction_by_algorithm: Object.fromEntries(
        Object.entries(fractions).map(([k, v]) => [k, v === null ? null : round(v, 3)]),
      ),
      frame_overhead_us_p50: round(percentile(live.frameUs, 0.5), 1),
      frame_overhead_us_p99: round(percentile(live.frameUs, 0.99), 1),
      frame_overhead_us_max: round(Math.max(...live.frameUs), 1),
      frame_overhead_us_p99_no_gc: round(percentile(live.noGcUs, 0.99), 1),
      frame_overhead_frames_with_gc: live.frameUs.length - live.noGcUs.length,
      frame_overhead_us_p50_warm: round(percentile(warm.frameUs, 0.5), 1),
      frame_overhead_us_p99_warm: round(percentile(warm.frameUs, 0.99), 1),
      frame_overhead_us_max_warm: round(Math.max(...warm.frameUs), 1),
      live_step_us_warm: warm.stepUs,
      live_start_us: round(live.startUs, 0),
      live_start_us_warm: round(warm.startUs, 0),
      live_frames: live.frameUs.length,
      live_resources_moved: live.moved,
      live_blocks_freed: live.blocksFreed,
      live_step_max_us: live.maxUs,
      live_step_us: live.stepUs,
      settings: { mib, bufferKiB, blockMiB, runs, resources },
      targets: { copy_vs_raw_copy: 0.8, frame_overhead_us_p99: 100, blocks_freed_fraction: 0.9 },
      runs: { ratios: ratios.map((r) => round(r, 3)) },
      device: describeDevice(context),
      host: describeHost(),
      layers: layersFromEnvironment(),
    };
    printTable(
      ["figure", "value", "target"],
      [
        ["copy_vs_raw_copy (median)", String(result.copy_vs_raw_copy), "≥ 0.8"],
        ["defragment() GB/s", String(result.defragment_gb_s), ""],
        ["raw vkCmdCopyBuffer GB/s", String(result.raw_copy_gb_s), ""],
        ["blocks_freed_fraction (full)", String(result.blocks_freed_fraction), "≥ 0.9"],
        ...Object.entries(result.blocks_freed_fraction_by_algorithm).map(([k, v]) => [
          `  ${k} (blocks left beyond a perfect packing)`,
          `${v} (${leftOver[k]})`,
          "",
        ]),
        ["frame_overhead_us p50", String(result.frame_overhead_us_p50), ""],
        ["frame_overhead_us p99", String(result.frame_overhead_us_p99), "≤ 100"],
        [
          `  p99 without the ${result.frame_overhead_frames_with_gc} frames a GC overlapped`,
          String(result.frame_overhead_us_p99_no_gc),
          "",
        ],
        [
          "frame_overhead_us p50 / p99 / max, second run (warm)",
          `${result.frame_overhead_us_p50_warm} / ${result.frame_overhead_us_p99_warm} / ${result.frame_overhead_us_max_warm}`,
          "≤ 100",
        ],
        [
          "live: defragment() call µs (first: the rehearsal) / second run",
          `${result.live_start_us} / ${result.live_start_us_warm}`,
          "",
        ],
        ["live: frames / moved / blocks freed", `${live.frameUs.length} / ${live.moved} / ${live.blocksFreed}`, ""],
        ["live: max µs copy / switch / commit", `${live.maxUs.copy} / ${live.maxUs.switch} / ${live.maxUs.commit}`, ""],
        ...Object.entries(live.stepUs).map(([k, v]) => [
          `  ${k} frames: n / p50 / p99 µs`,
          `${v.frames} / ${v.p50} / ${v.p99}`,
          "",
        ]),
      ],
    );
    console.log(`device: ${context.deviceName}; wrote ${writeResults("defrag", result)}`);
  } finally {
    allocator.destroy();
    context.destroy();
  }
}

/** A FrameManager's resources fragmented, then defragmented live at the default budget: µs added per frame. */
async function liveOverhead(
  context: Context,
  allocator: Allocator,
  count: number,
): Promise<{
  frameUs: number[];
  noGcUs: number[];
  moved: number;
  blocksFreed: number;
  maxUs: Record<string, number>;
  stepUs: Record<string, { frames: number; p50: number | null; p99: number | null }>;
  startUs: number;
}> {
  const frames = createFrameManager(context, allocator, { label: "bench" });
  const rand = mulberry(5);
  const made: (Buffer | Texture)[] = [];
  const pixels = new Uint8Array(64 * 64 * 4);
  try {
    for (let batch = 0; batch < count; batch += 500) {
      frames.beginFrame();
      for (let i = batch; i < Math.min(count, batch + 500); i++) {
        if (i % 10 === 0) {
          const t = frames.createTexture({ label: `t${i}`, width: 64, height: 64, format: 37 });
          frames.uploadImage(t, pixels);
          made.push(t);
        } else {
          const b = frames.createBuffer({ label: `b${i}`, size: 16 * 1024 * (1 + (i % 4)), usage: VERTEX });
          frames.upload(b, pixels.subarray(0, 4096));
          made.push(b);
        }
      }
      frames.endFrame();
    }
    frames.waitIdle();
    for (const r of made) if (rand() < 0.75) r.destroy();
    frames.beginFrame();
    frames.endFrame();
    frames.waitIdle();
    frames.defragment();
    const startUs = frames.defragmentation!.startMicroseconds;
    const frameUs: number[] = [];
    const windows: [number, number][] = [];
    const gcs: [number, number][] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcs.push([e.startTime, e.startTime + e.duration]);
    });
    observer.observe({ entryTypes: ["gc"] });
    // Each frame's step told by the counters it moved: a copy frame counts copyFrames, a commit counts passes (or
    // ends the run), a switch neither.
    const byStep: Record<string, number[]> = { copy: [], switch: [], commit: [] };
    let before = frames.defragmentation!;
    for (let f = 0; f < 20000 && frames.defragmentation!.active; f++) {
      const start = performance.now();
      frames.beginFrame();
      windows.push([start, performance.now()]);
      const now = frames.defragmentation!;
      frameUs.push(now.lastFrameMicroseconds);
      const step =
        now.copyFrames > before.copyFrames ? "copy" : now.passes > before.passes || !now.active ? "commit" : "switch";
      byStep[step]!.push(now.lastFrameMicroseconds);
      before = now;
      frames.endFrame();
    }
    frames.waitIdle();
    await new Promise((r) => setImmediate(r)); // the observer's last entries
    observer.disconnect();
    // The frames whose beginFrame no garbage collection overlapped: the defragmentation's own CPU, not V8's.
    const noGcUs = frameUs.filter((_, i) => !gcs.some(([a, b]) => a < windows[i]![1] && b > windows[i]![0]));
    const status = frames.defragmentation!;
    for (const r of made) r.destroy();
    const maxUs = {
      copy: round(status.maxCopyMicroseconds, 0)!,
      switch: round(status.maxSwitchMicroseconds, 0)!,
      commit: round(status.maxCommitMicroseconds, 0)!,
    };
    const stepUs = Object.fromEntries(
      Object.entries(byStep).map(([k, v]) => [
        k,
        {
          frames: v.length,
          p50: v.length > 0 ? round(percentile(v, 0.5), 1) : null,
          p99: v.length > 0 ? round(percentile(v, 0.99), 1) : null,
        },
      ]),
    );
    return {
      frameUs,
      noGcUs,
      moved: status.resourcesMoved,
      blocksFreed: status.deviceMemoryBlocksFreed,
      maxUs,
      stepUs,
      startUs,
    };
  } finally {
    frames.destroy();
  }
}
