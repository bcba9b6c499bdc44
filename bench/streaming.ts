/**
 * bench/streaming: the TextureStreamer's CPU time per frame with many registered textures, and what one eviction
 * costs (issue #6: at most 200 µs per frame at p99 with 10,000 registered textures, cost growing with what is
 * evicted, not with what is registered; issue #14: the streamer's own work at most 150 µs per frame at p99, at most
 * 5 µs per eviction).
 *
 * Two measurements:
 * - Frames. A streamer with R registered textures (64, 128 and 256 px RGBA8, full mip chains; default R = 1,000 and
 *   10,000), a 32 MiB budget in 8 MiB blocks and a 1 MiB upload budget per frame. The streamer's default mip tails
 *   take an eighth of it (4 MiB; the images' 28 MiB share holds three 8 MiB blocks), so each new texture also gets
 *   a tail image (and, once the tail pool is full, takes a cold texture's tail). Each frame a camera-like window of
 *   150 textures, sweeping 2 textures per frame through the first 2,000 registered ones, is requested, updated and
 *   shown: the same work whatever R is, with about 2 new textures to stream and as many going cold per frame, and
 *   steady eviction once the budget is full. Timed: request() for the window + update() + show() for the window.
 *   The headline (`streamer_us_per_frame_*`) subtracts the time spent inside FrameManager.uploadImage copying
 *   pixels into its staging ring (the streamer's `uploadUs`: proportional to the bytes uploaded, not the streamer's bookkeeping); the time
 *   with the copies is reported beside it, and so is
 *   the streamer's own work (without the copies and without FrameManager.createTexture, that is VMA and the driver
 *   creating images, which on lavapipe now and then takes milliseconds). Loaders return pixels made once per size, so loading costs nothing.
 *   The baseline in the same run: one pass over the R registered textures doing a field read each, what a streamer
 *   that scanned its registrations every frame would pay before doing any work. It runs in the warm-up frames only
 *   (after their timed part): at 10,000 registrations the pass reads about 1.3 MB, which evicts the streamer's data
 *   from the caches and so charged the bench's own work to the next frame's streamer time.
 * - Evictions. A pool of N lost-able 4 KiB buffers (N = 1,024 and 10,240), full; each step advances the frame and
 *   creates one more with canMakeOtherLost, which must take exactly the least recently used one. Against a baseline
 *   of the same create after a plain destroy (room already made), the difference is what the eviction costs: the
 *   failed first attempt, the choice of the victim, making it lost (onLost, destroy, free) and nothing that grows
 *   with N.
 * - Image creation, reported beside them: the frames' createTexture per image (`create_texture_us_per_image`: the
 *   create path run cold, twice a frame, with the pool's evictions) against the in-process C++ vmaCreateImage + view
 *   loop (`cpp_create_image_us`), and FrameManager.createTexture + destroy() of the same images in the same hot loop
 *   (`create_texture_hot_us_per_image`): the first ratio is mostly coldness and eviction, the second vkmem's work.
 *
 * Writes bench/results/streaming.json with `streamer_us_per_frame_p99`, `us_per_eviction` and `device` among others.
 * @module
 */
import {
  createAllocator,
  createContext,
  createFrameManager,
  createTextureStreamer,
  MemoryUsage,
  VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
  VK_FORMAT_R8G8B8A8_UNORM,
  VK_IMAGE_USAGE_SAMPLED_BIT,
  VK_IMAGE_USAGE_TRANSFER_DST_BIT,
  makeApiVersion,
  type Allocator,
  type Context,
  type StreamedTexture,
} from "../engine/index.js";
import { mipExtent } from "../engine/vulkan/formats.js";
import { rawHandle } from "../engine/vulkan/handles.js";
import { oracleNative } from "../engine/native.js";
import {
  describeDevice,
  describeHost,
  formatNs,
  intFlag,
  layersFromEnvironment,
  median,
  nowNs,
  offCpuWatch,
  parseFlags,
  percentile,
  printTable,
  round,
  UsageError,
  writeResults,
} from "./lib.js";

export const description =
  "TextureStreamer CPU time per frame with 1,000 / 10,000 registered textures, and cost per eviction";

export const USAGE = `usage: npm run bench -- streaming [options]
  --registered LIST     registered texture counts, comma-separated (default 1000,10000; the last is the headline)
  --frames N            measured frames per count (default 1500)
  --warmup N            unmeasured frames first (default 300)
  --evictions N         eviction steps per pool size (default 20000)`;

const FLAGS = { "--registered": "value", "--frames": "value", "--warmup": "value", "--evictions": "value" } as const;
const TARGET_US_PER_FRAME_P99 = 200;
/** Issue 14, target 5: the streamer's own work (without the copies and createTexture) and the eviction's cost. */
const TARGET_OWN_US_PER_FRAME_P99 = 150;
const TARGET_US_PER_EVICTION = 5;
const MiB = 1024 * 1024;
const WINDOW = 150;
const SWEEP_SPAN = 2000;
const SIZES = [64, 128, 256];

/** Whether the bench's thread left its CPU during a frame's timed part (see offCpuWatch in lib.ts). */
const offCpu = offCpuWatch();

interface FrameRun {
  registered: number;
  /** µs per frame without the staging copies, per measured frame. */
  streamerUs: number[];
  /** µs per frame with them. */
  totalUs: number[];
  /** µs per frame of the streamer's own work: without the copies and without FrameManager.createTexture. */
  ownUs: number[];
  /** Per measured frame: whether the bench's thread was off its CPU during the timed part (see {@link offCpu}). */
  offCpu: boolean[];
  evictions: number[];
  uploads: number[];
  uploadedBytes: number;
  scanUs: number;
  budgetBytes: number;
  maxBudgetUsed: number;
  registerUs: number;
  /** µs inside FrameManager.createTexture over the measured frames, and the images it made. */
  createUs: number;
  creates: number;
}

function runFrames(context: Context, registered: number, frames: number, warmup: number): FrameRun {
  const allocator = createAllocator(context, { label: `bench streaming ${registered}` });
  const manager = createFrameManager(context, allocator, { label: "bench frames" });
  const streamer = createTextureStreamer(manager, {
    label: "bench",
    budgetBytes: 32 * MiB,
    blockSize: 8 * MiB,
    uploadBudgetBytes: MiB,
  });
  try {
    // Pixels made once per size and mip range: the loader costs nothing (a number key: a string built per load was
    // the bench's work inside the streamer's time).
    const cache = new Map<number, Uint8Array>();
    const pixels = (size: number, first: number, count: number): Uint8Array => {
      const key = (size * 32 + first) * 32 + count;
      let p = cache.get(key);
      if (p === undefined) {
        let bytes = 0;
        for (let m = first; m < first + count; m++) bytes += mipExtent(size, m) ** 2 * 4;
        p = new Uint8Array(bytes).fill(0x80);
        cache.set(key, p);
      }
      return p;
    };
    const t0 = performance.now();
    const textures: StreamedTexture[] = [];
    for (let i = 0; i < registered; i++) {
      const size = SIZES[i % SIZES.length]!;
      textures.push(
        streamer.register({
          label: `tex${i}`,
          width: size,
          height: size,
          format: VK_FORMAT_R8G8B8A8_UNORM,
          load: (first, count) => pixels(size, first, count),
        }),
      );
    }
    const registerUs = ((performance.now() - t0) * 1000) / registered;
    const run: FrameRun = {
      registered,
      streamerUs: [],
      totalUs: [],
      ownUs: [],
      offCpu: [],
      evictions: [],
      uploads: [],
      uploadedBytes: 0,
      scanUs: 0,
      budgetBytes: streamer.budgetBytes,
      maxBudgetUsed: 0,
      registerUs,
      createUs: 0,
      creates: 0,
    };
    const span = Math.min(SWEEP_SPAN, registered);
    const window = Math.min(WINDOW, span);
    const scans: number[] = [];
    // One pass over every registration, as a scanning streamer would make each frame; µs.
    const scan = (frameIndex: number): number => {
      const s = performance.now();
      let seen = 0;
      for (let i = 0; i < textures.length; i++) if (textures[i]!._residency.lastRequest === frameIndex) seen++;
      const us = (performance.now() - s) * 1000;
      if (seen !== window)
        throw new Error(`bench streaming: scan saw ${seen} textures requested this frame, expected ${window}`);
      return us;
    };
    for (let f = 0; f < warmup + frames; f++) {
      const start = (f * 2) % span;
      manager.beginFrame();
      const sched = offCpu.read();
      const a = performance.now();
      for (let k = 0; k < window; k++) streamer.request(textures[(start + k) % span]!);
      const stats = streamer.update();
      for (let k = 0; k < window; k++) streamer.show(textures[(start + k) % span]!);
      const us = (performance.now() - a) * 1000;
      const descheduled = offCpu.read() !== sched;
      const uploadUs = stats.uploadUs;
      // The baseline, in the warm-up frames only: its pass over every registration reads R textures' state, which
      // pushes the streamer's own out of the caches and would charge the bench's work to the streamer's next frame.
      if (f < warmup || (warmup === 0 && f === frames - 1)) scans.push(scan(stats.frameIndex));
      manager.endFrame();
      if (f < warmup) continue;
      run.totalUs.push(us);
      run.streamerUs.push(us - uploadUs);
      run.ownUs.push(us - uploadUs - stats.createUs);
      run.offCpu.push(descheduled);
      run.evictions.push(stats.evicted);
      run.uploads.push(stats.uploads);
      run.uploadedBytes += stats.uploadedBytes;
      run.createUs += stats.createUs;
      run.creates += stats.creates;
      run.maxBudgetUsed = Math.max(run.maxBudgetUsed, stats.budgetUsedBytes);
    }
    run.scanUs = median(scans);
    return run;
  } finally {
    streamer.destroy();
    manager.destroy();
    allocator.destroy();
  }
}

interface EvictionRun {
  lostable: number;
  /** ns per step: create with canMakeOtherLost into a full pool (one eviction each). */
  evictNs: number;
  /** ns per step: destroy the oldest, then the same create (no eviction). */
  baselineNs: number;
  evictions: number;
}

function runEvictions(context: Context, lostable: number, steps: number): EvictionRun {
  const allocator: Allocator = createAllocator(context, { label: `bench evictions ${lostable}` });
  try {
    const size = 4096;
    const usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    const perBlock = 1024;
    const pool = allocator.createPool(
      { forBuffer: { size, usage }, allocation: { usage: MemoryUsage.GpuOnly } },
      {
        blockSize: perBlock * size,
        maxBlockCount: Math.ceil(lostable / perBlock),
        minBlockCount: Math.ceil(lostable / perBlock),
        name: "evictions",
      },
    );
    const fifo: { buffer: any; allocation: any }[] = [];
    let frame = 0;
    allocator.setCurrentFrameIndex(frame);
    for (let i = 0; i < lostable; i++)
      fifo.push(allocator.createBuffer({ size, usage }, { pool, canBecomeLost: true }));
    let head = 0;
    const onLost = () => {};
    const evictLoop = (n: number) => {
      for (let i = 0; i < n; i++) {
        allocator.setCurrentFrameIndex((frame += 2));
        const r = allocator.createBuffer({ size, usage }, { pool, canBecomeLost: true, canMakeOtherLost: true });
        r.allocation.onLost = onLost;
        fifo.push(r);
      }
    };
    const baselineLoop = (n: number) => {
      for (let i = 0; i < n; i++) {
        allocator.setCurrentFrameIndex((frame += 2));
        const old = fifo[head++]!;
        allocator.destroyBuffer(old.buffer, old.allocation);
        const r = allocator.createBuffer({ size, usage }, { pool, canBecomeLost: true, canMakeOtherLost: true });
        r.allocation.onLost = onLost;
        fifo.push(r);
      }
    };
    const time = (loop: (n: number) => void): number => {
      loop(Math.min(2000, steps));
      const samples: number[] = [];
      for (let r = 0; r < 5; r++) {
        const t = process.hrtime.bigint();
        loop(steps);
        samples.push(Number(process.hrtime.bigint() - t) / steps);
      }
      return median(samples);
    };
    const before = allocator.getLostAllocationStatistics().lostAllocationCount;
    const evictNs = time(evictLoop);
    const evictions = allocator.getLostAllocationStatistics().lostAllocationCount - before;
    if (evictions !== Math.min(2000, steps) + 5 * steps)
      throw new Error(`bench streaming: ${evictions} evictions, expected one per step`);
    // Lost ones are released (a no-op on memory) so the baseline's destroy frees live ones only.
    head = fifo.length - lostable;
    for (let i = 0; i < head; i++) allocator.destroyBuffer(fifo[i]!.buffer, fifo[i]!.allocation);
    const baselineNs = time(baselineLoop);
    for (let i = head; i < fifo.length; i++) allocator.destroyBuffer(fifo[i]!.buffer, fifo[i]!.allocation);
    pool.destroy();
    return { lostable, evictNs, baselineNs, evictions };
  } finally {
    allocator.destroy();
  }
}

/**
 * µs per image of `loop` (which creates and destroys `count` RGBA8 images of `size` x `size` with `mips` mips and
 * returns the nanoseconds each took, on average), averaged over SIZES: per size, 200 images of warm-up, then the
 * median of 5 runs of 500.
 */
function perImageUs(loop: (size: number, mips: number, count: number) => number): number {
  const perSize = SIZES.map((size) => {
    const mips = Math.floor(Math.log2(size)) + 1;
    loop(size, mips, 200); // warm-up
    const samples: number[] = [];
    for (let r = 0; r < 5; r++) samples.push(loop(size, mips, 500));
    return median(samples) / 1000;
  });
  return perSize.reduce((a, b) => a + b, 0) / perSize.length;
}

/**
 * The in-process C++ baseline of image creation (native/image_bench.cpp, oracles build): vmaCreateImage +
 * vkCreateImageView + destroys of the streamer's image shapes (64, 128 and 256 px RGBA8, full mip chains), on an
 * allocator of the oracles addon over the same device. Returns µs per image, the mean over the three sizes.
 */
function cppCreateImageUs(context: Context): number {
  const o = oracleNative();
  const allocator = o.createAllocator(
    rawHandle(context.instance),
    rawHandle(context.physicalDevice),
    rawHandle(context.device),
    Math.min(context.apiVersion, makeApiVersion(1, 3)),
    0,
    undefined as unknown as number[],
    0,
  );
  try {
    const usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    return perImageUs((size, mips, count) =>
      o.createImagesLoop(allocator, size, size, mips, VK_FORMAT_R8G8B8A8_UNORM, usage, count),
    );
  } finally {
    o.destroyAllocator(allocator);
  }
}

/**
 * FrameManager.createTexture + destroy() of the same images as {@link cppCreateImageUs}, in the same hot loop (no
 * frame uses them, so destroy() frees at once): µs per image. Beside the in-frame figure, it tells how much of that is
 * vkmem's work and how much the create path run cold, twice a frame between the frame's other work, with the pool's
 * evictions.
 */
function hotCreateTextureUs(context: Context): number {
  const allocator = createAllocator(context, { label: "bench streaming hot createTexture" });
  const manager = createFrameManager(context, allocator, { label: "bench hot createTexture" });
  try {
    const usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    return perImageUs((size, mipLevels, count) => {
      const desc = { label: "hot", width: size, height: size, format: VK_FORMAT_R8G8B8A8_UNORM, mipLevels, usage };
      const start = nowNs();
      for (let i = 0; i < count; i++) manager.createTexture(desc).destroy();
      return Number(nowNs() - start) / count;
    });
  } finally {
    manager.destroy();
    allocator.destroy();
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  const flags = parseFlags(argv, FLAGS, USAGE);
  const frames = intFlag(flags, "--frames", 1500, USAGE);
  const warmup = intFlag(flags, "--warmup", 300, USAGE);
  const evictionSteps = intFlag(flags, "--evictions", 20000, USAGE);
  const list = flags.get("--registered");
  const counts =
    list === undefined
      ? [1000, 10000]
      : String(list)
          .split(",")
          .map((s) => Number(s));
  if (counts.some((n) => !Number.isSafeInteger(n) || n < WINDOW))
    throw new UsageError(`--registered wants counts of at least ${WINDOW}, got '${String(list)}'\n${USAGE}`);
  const layers = layersFromEnvironment();
  if (layers.length > 0)
    console.warn(
      `bench streaming: warning: the environment enables Vulkan layers (${layers.join(", ")}): numbers will be off`,
    );

  const context = createContext({ applicationName: "vkmem bench streaming", validation: false });
  try {
    const device = describeDevice(context);
    console.log(`device: ${device.name} (${device.type}, Vulkan ${device.apiVersion})`);
    console.log(
      `frames: window of ${WINDOW} textures sweeping 2/frame over ${SWEEP_SPAN}; ${warmup} warm-up + ${frames} measured frames per count\n`,
    );
    const runs = counts.map((n) => {
      const r = runFrames(context, n, frames, warmup);
      console.log(
        `registered ${n}: median ${r.streamerUs.length ? median(r.streamerUs).toFixed(1) : "n/a"} µs, p99 ${percentile(r.streamerUs, 0.99).toFixed(1)} µs per frame (without staging copies)`,
      );
      return r;
    });
    const head = runs[runs.length - 1]!;
    const evictions = [1024, 10240].map((n) => runEvictions(context, n, evictionSteps));
    const cppCreateUs = cppCreateImageUs(context);
    const hotCreateUs = hotCreateTextureUs(context);
    const createUsPerImage = head.creates > 0 ? head.createUs / head.creates : NaN;
    const p99 = percentile(head.streamerUs, 0.99);
    const ownP99 = percentile(head.ownUs, 0.99);
    const onCpu = (r: FrameRun) => r.ownUs.filter((_, i) => !r.offCpu[i]);
    const offCpuFrames = (r: FrameRun) => r.offCpu.filter((x) => x).length;
    const perEviction = (e: EvictionRun) => (e.evictNs - e.baselineNs) / 1000;
    const usPerEviction = perEviction(evictions[evictions.length - 1]!);
    const met = (ok: boolean) => (ok ? "yes" : "NO");

    console.log("");
    printTable(
      [
        "registered",
        "median µs/frame",
        "p99 µs/frame",
        "p99 with copies",
        "p99 own work",
        "scan baseline µs",
        "evictions/frame",
        "uploads/frame",
        "MiB uploaded/frame",
        "register µs/texture",
      ],
      runs.map((r) => [
        String(r.registered),
        median(r.streamerUs).toFixed(1),
        percentile(r.streamerUs, 0.99).toFixed(1),
        percentile(r.totalUs, 0.99).toFixed(1),
        percentile(r.ownUs, 0.99).toFixed(1),
        r.scanUs.toFixed(1),
        (r.evictions.reduce((a, b) => a + b, 0) / r.evictions.length).toFixed(2),
        (r.uploads.reduce((a, b) => a + b, 0) / r.uploads.length).toFixed(2),
        (r.uploadedBytes / r.uploads.length / MiB).toFixed(3),
        r.registerUs.toFixed(2),
      ]),
    );
    console.log("");
    printTable(
      ["lost-able in pool", "create + eviction", "create, room made", "eviction costs"],
      evictions.map((e) => [
        String(e.lostable),
        formatNs(e.evictNs),
        formatNs(e.baselineNs),
        formatNs(perEviction(e) * 1000),
      ]),
    );
    console.log("");
    printTable(
      ["figure", "value", "target", "met"],
      [
        [
          `streamer µs per frame, p99 (${head.registered} registered)`,
          p99.toFixed(1),
          `<= ${TARGET_US_PER_FRAME_P99}`,
          met(p99 <= TARGET_US_PER_FRAME_P99),
        ],
        [
          `µs per eviction (${evictions[evictions.length - 1]!.lostable} lost-able)`,
          usPerEviction.toFixed(2),
          `<= ${TARGET_US_PER_EVICTION}`,
          met(usPerEviction <= TARGET_US_PER_EVICTION),
        ],
        [
          `streamer's own work, µs per frame p99 (without createTexture)`,
          ownP99.toFixed(1),
          `<= ${TARGET_OWN_US_PER_FRAME_P99}`,
          met(ownP99 <= TARGET_OWN_US_PER_FRAME_P99),
        ],
        [
          `  the same over the ${head.ownUs.length - offCpuFrames(head)} frames the thread kept its CPU`,
          percentile(onCpu(head), 0.99).toFixed(1),
          "",
          "",
        ],
        [
          "createTexture µs per image (streamer, pool + eviction)",
          createUsPerImage.toFixed(1),
          `C++ vmaCreateImage+view: ${cppCreateUs.toFixed(1)}`,
          `${(createUsPerImage / cppCreateUs).toFixed(2)}x`,
        ],
        [
          "  the same in a loop (createTexture + destroy(), hot)",
          hotCreateUs.toFixed(1),
          `C++, the same loop: ${cppCreateUs.toFixed(1)}`,
          `${(hotCreateUs / cppCreateUs).toFixed(2)}x`,
        ],
        [
          "p99 ratio, most/fewest registered",
          (p99 / percentile(runs[0]!.streamerUs, 0.99)).toFixed(2),
          "~1 (flat)",
          "",
        ],
      ],
    );
    const file = writeResults("streaming", {
      benchmark: "streaming",
      timestamp: new Date().toISOString(),
      streamer_us_per_frame_p99: round(p99, 2),
      streamer_us_per_frame_median: round(median(head.streamerUs), 2),
      streamer_with_copies_us_per_frame_p99: round(percentile(head.totalUs, 0.99), 2),
      us_per_eviction: round(usPerEviction, 3),
      streamer_own_us_per_frame_p99: round(ownP99, 2),
      streamer_own_us_per_frame_median: round(median(head.ownUs), 2),
      streamer_own_us_per_frame_p99_on_cpu: round(percentile(onCpu(head), 0.99), 2),
      frames_off_cpu: offCpuFrames(head),
      create_texture_us_per_image: round(createUsPerImage, 2),
      cpp_create_image_us: round(cppCreateUs, 2),
      create_texture_vs_cpp: round(createUsPerImage / cppCreateUs, 3),
      create_texture_hot_us_per_image: round(hotCreateUs, 2),
      create_texture_hot_vs_cpp: round(hotCreateUs / cppCreateUs, 3),
      images_created: head.creates,
      device: context.deviceName,
      targets: {
        streamer_us_per_frame_p99_max: TARGET_US_PER_FRAME_P99,
        streamer_own_us_per_frame_p99_max: TARGET_OWN_US_PER_FRAME_P99,
        us_per_eviction_max: TARGET_US_PER_EVICTION,
      },
      met: {
        streamer_us_per_frame_p99: p99 <= TARGET_US_PER_FRAME_P99,
        streamer_own_us_per_frame_p99: ownP99 <= TARGET_OWN_US_PER_FRAME_P99,
        us_per_eviction: usPerEviction <= TARGET_US_PER_EVICTION,
      },
      by_registered: runs.map((r) => ({
        registered: r.registered,
        median_us: round(median(r.streamerUs)),
        p99_us: round(percentile(r.streamerUs, 0.99)),
        p99_with_copies_us: round(percentile(r.totalUs, 0.99)),
        p99_own_us: round(percentile(r.ownUs, 0.99)),
        p99_own_on_cpu_us: round(percentile(onCpu(r), 0.99)),
        frames_off_cpu: offCpuFrames(r),
        scan_baseline_us: round(r.scanUs, 3),
        evictions_per_frame: round(r.evictions.reduce((a, b) => a + b, 0) / r.evictions.length, 3),
        uploads_per_frame: round(r.uploads.reduce((a, b) => a + b, 0) / r.uploads.length, 3),
        register_us_per_texture: round(r.registerUs, 3),
        budget_bytes: r.budgetBytes,
        max_budget_used_bytes: r.maxBudgetUsed,
        samples_us: r.streamerUs.map((x) => round(x, 1)),
      })),
      evictions: evictions.map((e) => ({
        lostable: e.lostable,
        create_with_eviction_ns: round(e.evictNs, 1),
        create_room_made_ns: round(e.baselineNs, 1),
        us_per_eviction: round(perEviction(e), 3),
      })),
      workload: {
        frames: `${warmup} warm-up + ${frames} measured; window ${WINDOW} textures sweeping 2 per frame over the first ${SWEEP_SPAN}; request + update + show timed`,
        textures: "64/128/256 px RGBA8, full mip chains, loaders return cached pixels",
        streamer:
          "budget 32 MiB: 3 blocks of 8 MiB for images, 4 MiB for mip tails (default tailSize 32); upload budget 1 MiB/frame, 2 frames in flight",
        headline: "streamer_us_per_frame excludes the time inside FrameManager.uploadImage (the streamer's uploadUs)",
        scan_baseline:
          "one pass over the registrations after the timed part of each warm-up frame, none in measured frames",
        on_cpu:
          "frames whose timed part the thread spent on its CPU throughout (/proc/thread-self/schedstat unchanged; Linux only)",
        evictions: `${evictionSteps} steps x 5 repetitions (median), 4 KiB buffers in a full pool; minus the same create after a destroy`,
      },
      device_info: device,
      host: describeHost(),
      validation_layers: layers.length > 0 ? layers : "off",
    });
    console.log(`\nwrote ${file}`);
  } finally {
    context.destroy();
    offCpu.close();
  }
}
