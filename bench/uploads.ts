/**
 * bench/uploads: what `FrameManager.upload()` costs against a plain copy of the same bytes into the same mapped
 * staging memory, and how fast one large upload reaches the GPU with the native upload threads (issue 14, target 4).
 *
 * Three measurements, each against its baseline in the same run (the small ones alternate which goes first):
 * - Contiguous. Uploads of 4 KiB to 16 MiB into consecutive ranges of one device buffer, 64 MiB per frame, timed from
 *   the first upload to the end of endFrame (which records the copies); the baseline is `Uint8Array.set` of the same
 *   bytes into the staging ring's own mapped block, laid out as the uploads lay them out (packed), in memory the ring
 *   last handed out about as long ago as the memory the uploads write (baselineOffsets). Ratio = memcpy time / upload
 *   time.
 * - Scattered. The same sizes, about 1,000 uploads a frame (at most 64 MiB), each into another buffer (of up to 250)
 *   than the one before, at another offset, no two writing the same bytes; the baseline copies the same bytes into
 *   the ring as for the contiguous rows.
 * - Large. One 64 MiB upload through a FrameManager with `uploadThreads` threads, timed from upload() to the end of
 *   waitIdle() after endFrame() (the GPU has copied it into the device buffer), against a one-thread memcpy of the
 *   same bytes in the same run: into the staging ring's memory and into plain host memory (where the manager stages
 *   large threaded uploads, engine/resources/staging-rings.ts), the faster of the two being the baseline; beside it,
 *   the upload threads copying into that host memory alone (no GPU), their ceiling; and the same upload into a
 *   persistently mapped buffer instead (written in place by the threads; `upload_large_in_place_gb_s`). Beside it,
 *   where the device has VK_EXT_external_memory_host, the GPU reading the caller's own memory instead
 *   (bench/host-import.ts: import, copy, release, in C++ on the same device); `upload_large_vs_host_import` is that
 *   path's time to GPU completion over vkmem's.
 *
 * - Scattered, mapped. The same scattered uploads into buffers created persistently mapped (VMA's "advanced data
 *   uploading": device-local host-visible memory where there is some), which no frame in flight uses, so upload()
 *   writes them in place; the baseline copies the same bytes into those buffers' mapped memory at the same offsets.
 *
 * `upload_vs_memcpy_min` is the minimum ratio over the contiguous and scattered rows (target >= 0.9), the mapped ones
 * left out (`upload_in_place_vs_memcpy_min`, beside it); beside it,
 * `upload_vs_memcpy_min_without_frame_submit` leaves out what an empty frame costs from beginFrame to endFrame
 * (measured the same way in the same run), which a game pays whether or not it uploads;
 * `upload_large_gb_s` and `upload_large_vs_memcpy` are the large upload with the headline thread count (targets on
 * the GPU machine: >= 30 GB/s and >= 3). GB are 10^9 bytes. Validation stays off. Writes bench/results/uploads.json.
 * @module
 */
import {
  createAllocator,
  createContext,
  createFrameManager,
  MemoryUsage,
  nvk,
  VK_BUFFER_USAGE_TRANSFER_DST_BIT,
  VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
  type Allocator,
  type Buffer,
  type Context,
  type FrameManager,
} from "../engine/index.js";
import type { RingMemory } from "../engine/resources/upload-ring.js";
import { defaultUploadThreads, UploadWorkers } from "../engine/resources/upload-workers.js";
import {
  describeDevice,
  describeHost,
  intFlag,
  layersFromEnvironment,
  median,
  nowNs,
  parseFlags,
  printTable,
  repoRoot,
  round,
  timeNs,
  UsageError,
  writeResults,
} from "./lib.js";
import { measureHostImport } from "./host-import.js";

export const description =
  "FrameManager.upload() vs memcpy into the same staging memory (contiguous, scattered), and a 64 MiB upload with native threads";

export const USAGE = `usage: npm run bench -- uploads [options]
  --threads LIST       upload thread counts for the large upload, comma-separated (default 1,<default>; the last is
                       the headline). The default is VKMEM_UPLOAD_THREADS, else min(8, cores - 1).
  --repetitions N      timed repetitions per row; the median is reported (default 11)
  --large-mib N        size of the large upload in MiB (default 64)
  --staging WHERE      the staging ring's memory: device (default; ReBAR on discrete GPUs) or host; results go to
                       bench/results/uploads.json, or uploads-host.json for host
  --no-host-import     skip the comparison with the GPU reading the caller's memory (bench/host-import.ts)
  --scatter WHEN       the manager's scatterUploads: auto (default: the shader on a GPU, not on a CPU device), on or
                       off (engine/resources/scatter-copies.ts)`;

const FLAGS = {
  "--threads": "value",
  "--repetitions": "value",
  "--large-mib": "value",
  "--staging": "value",
  "--no-host-import": "boolean",
  "--scatter": "value",
} as const;
const KiB = 1024;
const MiB = 1024 * KiB;
const PER_FRAME = 64 * MiB;
const SIZES = [4 * KiB, 64 * KiB, 1 * MiB, 16 * MiB];
const SCATTER_PER_FRAME = 1000;
const SCATTER_BUFFERS = 250;
const TARGET_VS_MEMCPY = 0.9;
/** Destinations that uploads write in place: VMA's "advanced data uploading" buffers, persistently mapped. */
const MAPPED_DESTINATION = { hostAccess: "sequentialWrite", allowTransferInstead: true, mapped: true } as const;
const TARGET_LARGE_GB_S = 30;
const TARGET_LARGE_VS_MEMCPY = 3;
/** upload() calls before a small-upload row is timed (see warmUpRounds). */
const WARM_UP_CALLS = 20_000;

interface Row {
  layout: "contiguous" | "scattered" | "scattered, mapped";
  size: number;
  count: number;
  uploadMs: number;
  memcpyMs: number;
  ratio: number;
  /** memcpy / (upload - an empty frame's beginFrame-to-endFrame), the frame's own submission left out. */
  ratioWithoutFrame: number;
  /** How many of the last frame's uploads were written in place (the rest staged: FrameManager.upload says when). */
  inPlace: number;
  /** How many of the last frame's copies the scatter shader made (engine/resources/scatter-copies.ts). */
  scattered: number;
}

/**
 * Warm-up rounds of a row of `count` uploads a frame: at least 2, and enough for WARM_UP_CALLS calls (at most 20
 * rounds). A game calls upload() all the time, so its steady cost is what counts; a row whose frames hold 1,000
 * uploads had only 2,000 calls of warm-up (the mapped 4 KiB row read 0.36-0.43 on the H200 with 11 repetitions and
 * 0.58 with 41, the same code: its first timed frames were the slow ones).
 */
function warmUpRounds(count: number): number {
  return Math.min(20, Math.max(2, Math.ceil(WARM_UP_CALLS / count)));
}

/** Times `a` and `b` alternately (`warmUp` rounds first, untimed); returns their medians in ms. */
function alternate(repetitions: number, warmUp: number, a: () => number, b: () => number): [number, number] {
  const as: number[] = [];
  const bs: number[] = [];
  for (let rep = 0; rep < repetitions + warmUp; rep++) {
    let x: number;
    let y: number;
    if (rep % 2 === 0) {
      x = a();
      y = b();
    } else {
      y = b();
      x = a();
    }
    if (rep >= warmUp) {
      as.push(x);
      bs.push(y);
    }
  }
  return [median(as), median(bs)];
}

/** What `repetitions` runs of `run` return (their times), after two runs not counted. */
function repeated<T>(repetitions: number, run: () => T): T[] {
  const samples: T[] = [];
  for (let rep = 0; rep < repetitions + 2; rep++) {
    const sample = run();
    if (rep >= 2) samples.push(sample);
  }
  return samples;
}

/** Staging offsets the ring gives a frame's uploads of `size` bytes: packed from 0, each aligned like Transfers. */
function packedOffsets(manager: FrameManager, size: number, count: number): Float64Array {
  const align = Math.max(16, manager.context.properties.optimalBufferCopyOffsetAlignment);
  const out = new Float64Array(count);
  let at = 0;
  for (let k = 0; k < count; k++) {
    at = Math.ceil(at / align) * align;
    out[k] = at;
    at += size;
  }
  return out;
}

/**
 * Fills `out` with where a baseline writes its copies of `size` bytes, laid out as `offsets` (the uploads' packed
 * layout): in the staging ring's block, from half the block away from the ring's head, where the next frame's uploads
 * will start. The uploads write memory the ring last handed out a whole block ago; the baseline so writes memory
 * untouched nearly as long, as cold in the caches, and not what the next upload frame writes. (Offsets from 0 every
 * time wrote the same bytes over and over: the scattered rows' 4 MiB stayed in the caches, a memcpy the uploads,
 * which write where the ring's head is, could never match.) Falls back to offsets from 0 when `size` does not divide
 * the block (a piece would straddle its end).
 */
function baselineOffsets(manager: FrameManager, size: number, offsets: Float64Array, out: Float64Array): void {
  const block = manager.stagingRing.currentBlock;
  const capacity = block.capacity;
  const start = capacity % size === 0 ? Math.floor(((block.head + capacity / 2) % capacity) / size) * size : 0;
  for (let k = 0; k < offsets.length; k++) out[k] = start === 0 ? offsets[k]! : (start + offsets[k]!) % capacity;
}

function smallUploads(
  context: Context,
  allocator: Allocator,
  source: Uint8Array,
  repetitions: number,
  threads: number,
  staging: RingMemory,
  scatterUploads: boolean | undefined,
): Row[] {
  const manager = createFrameManager(context, allocator, {
    label: "bench uploads",
    stagingRing: { size: 80 * MiB, maxSize: 80 * MiB, memory: staging },
    uploadThreads: threads,
    scatterUploads,
  });
  let scatteredLast = 0;
  const rows: Row[] = [];
  try {
    const ringBytes = manager.stagingRing.currentBlock.bytes;
    const usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    // What a frame costs with no upload in it (timed the same way): submitted whether or not anything is uploaded.
    const empty: number[] = [];
    for (let rep = 0; rep < 3 * repetitions; rep++) {
      manager.waitIdle();
      manager.beginFrame();
      const t0 = nowNs();
      manager.endFrame();
      empty.push(Number(nowNs() - t0) / 1e6);
    }
    const emptyMs = median(empty);
    const row = (layout: Row["layout"], size: number, count: number, uploadMs: number, memcpyMs: number): Row => ({
      layout,
      size,
      count,
      uploadMs,
      memcpyMs,
      ratio: memcpyMs / uploadMs,
      ratioWithoutFrame: memcpyMs / Math.max(uploadMs - emptyMs, 1e-6),
      inPlace: manager.frameStatistics!.uploadsInPlace,
      scattered: scatteredLast,
    });
    // A frame of `count` uploads, timed from the first to the end of endFrame (the GPU idle before and after), and
    // `count` plain copies timed alike: the two sides of a row.
    const uploadFrame = (count: number, upload: (k: number) => void) => (): number => {
      manager.waitIdle();
      manager.beginFrame();
      const before = manager.statistics.transfers.uploadCopiesScattered;
      const t0 = nowNs();
      for (let k = 0; k < count; k++) upload(k);
      manager.endFrame();
      const ms = Number(nowNs() - t0) / 1e6;
      scatteredLast = manager.statistics.transfers.uploadCopiesScattered - before;
      manager.waitIdle();
      return ms;
    };
    // `before` runs untimed (the staging baselines pick their destination there).
    const copies = (count: number, copy: (k: number) => void, before?: () => void) => (): number => {
      before?.();
      const t0 = nowNs();
      for (let k = 0; k < count; k++) copy(k);
      return Number(nowNs() - t0) / 1e6;
    };
    const target = manager.createBuffer({ label: "contiguous target", size: PER_FRAME, usage });
    for (const size of SIZES) {
      const count = PER_FRAME / size;
      const chunk = source.subarray(0, size);
      const offsets = packedOffsets(manager, size, count);
      const at = new Float64Array(count);
      const [uploadMs, memcpyMs] = alternate(
        repetitions,
        warmUpRounds(count),
        uploadFrame(count, (k) => manager.upload(target, chunk, k * size)),
        copies(
          count,
          (k) => ringBytes.set(chunk, at[k]!),
          () => baselineOffsets(manager, size, offsets, at),
        ),
      );
      rows.push(row("contiguous", size, count, uploadMs, memcpyMs));
    }
    target.destroy();

    const scattered = (layout: "scattered" | "scattered, mapped"): void => {
      const memory = layout === "scattered" ? undefined : MAPPED_DESTINATION;
      for (const size of SIZES) {
        const count = Math.min(SCATTER_PER_FRAME, PER_FRAME / size);
        const nb = Math.min(count, SCATTER_BUFFERS);
        const slots = Math.ceil(count / nb);
        const buffers: Buffer[] = [];
        for (let i = 0; i < nb; i++)
          buffers.push(manager.createBuffer({ label: `scatter ${i}`, size: slots * size, usage, memory }));
        // Upload k: buffer k*97 mod nb (another one each time), at slot k / nb of it taken in a shuffled order: no two
        // uploads of a frame write the same bytes (no barrier between them) and none continues the one before.
        const dst = new Int32Array(count);
        const at = new Float64Array(count);
        for (let k = 0; k < count; k++) {
          dst[k] = (k * 97) % nb;
          const slot = Math.floor(k / nb);
          at[k] = ((slot * 7 + 3) % slots) * size;
        }
        const chunk = source.subarray(0, size);
        // The baseline writes the same bytes as the upload's own memcpy: packed into the staging ring as the uploads
        // are, in memory as cold (baselineOffsets), or, for mapped destinations (written in place), into each
        // buffer's mapped memory at its offset.
        const offsets = packedOffsets(manager, size, count);
        const ringAt = new Float64Array(count);
        const mapped = memory === undefined ? [] : buffers.map((b) => new Uint8Array(b.allocation.mappedData!));
        const [uploadMs, memcpyMs] = alternate(
          repetitions,
          warmUpRounds(count),
          uploadFrame(count, (k) => manager.upload(buffers[dst[k]!]!, chunk, at[k]!)),
          memory === undefined
            ? copies(
                count,
                (k) => ringBytes.set(chunk, ringAt[k]!),
                () => baselineOffsets(manager, size, offsets, ringAt),
              )
            : copies(count, (k) => mapped[dst[k]!]!.set(chunk, at[k]!)),
        );
        rows.push(row(layout, size, count, uploadMs, memcpyMs));
        for (const b of buffers) b.destroy();
      }
    };
    scattered("scattered");
    scattered("scattered, mapped");
  } finally {
    manager.destroy();
  }
  return rows;
}

interface LargeRow {
  threads: number;
  /** upload() to waitIdle() after endFrame(): on the GPU. */
  uploadMs: number;
  /** upload() to the return of endFrame(): the CPU's part. */
  cpuMs: number;
  /** One-thread Uint8Array.set of the same bytes: the faster of memcpyRingMs and memcpyHostMs (the baseline). */
  memcpyMs: number;
  /** One-thread Uint8Array.set into the main staging ring's memory. */
  memcpyRingMs: number;
  /** One-thread Uint8Array.set into plain host memory, where large uploads are staged (staging-rings.ts). */
  memcpyHostMs: number;
  /** The upload threads copying into that host memory alone (no GPU): their ceiling. */
  threadedCopyMs: number;
  /**
   * The same upload into a persistently mapped buffer (written in place by the threads), timed the same way, its
   * frame copying it on the GPU into the device buffer.
   */
  inPlaceMs: number;
  /** Whether that upload was written in place (false: staged, as a discrete GPU's ReBAR gets large uploads). */
  inPlaceWritten: boolean;
  /** Whether VMA put that buffer in DEVICE_LOCAL memory (else host memory, which the GPU copy reads over the bus). */
  mappedDeviceLocal: boolean;
  pieces: number;
  /** Of those, pieces the manager staged in the main ring because the GPU was behind (transfers.ts). */
  piecesInMainRing: number;
}

function largeUpload(
  context: Context,
  allocator: Allocator,
  source: Uint8Array,
  threads: number,
  repetitions: number,
  staging: RingMemory,
): LargeRow {
  const size = source.length;
  const manager = createFrameManager(context, allocator, {
    label: `bench large upload ${threads}`,
    stagingRing: { size: size + 16 * MiB, maxSize: size + 16 * MiB, memory: staging },
    uploadThreads: threads,
  });
  const workers = threads > 1 ? new UploadWorkers(threads) : null;
  // Plain host memory made as the manager's bulk staging ring makes its blocks: where large threaded uploads go.
  const host = allocator.createBuffer(
    { size, usage: VK_BUFFER_USAGE_TRANSFER_SRC_BIT },
    { usage: MemoryUsage.AutoPreferHost, hostAccess: "sequentialWrite", mapped: true, name: "bench host copy" },
  );
  try {
    const target = manager.createBuffer({ label: "large target", size, usage: VK_BUFFER_USAGE_TRANSFER_DST_BIT });
    const ringBytes = manager.stagingRing.currentBlock.bytes;
    const hostBytes = new Uint8Array(host.allocation.mappedData!, 0, size);
    // The uploads back to back, then the baselines, not alternated as elsewhere: on the H200 a 64 MiB one-thread
    // write into ReBAR right before an upload was still draining over PCIe when the upload began and took 10-15% off
    // it (27.1 against 31.8 GB/s in a diagnostic of this loop), which is the baseline's doing, not the upload's.
    // [to the GPU, the CPU's part] of each upload.
    const uploads = repeated(repetitions, () => {
      manager.waitIdle();
      manager.beginFrame();
      const t0 = nowNs();
      manager.upload(target, source, 0);
      manager.endFrame();
      const t1 = nowNs();
      manager.waitIdle();
      return [Number(nowNs() - t0) / 1e6, Number(t1 - t0) / 1e6] as const;
    });
    // [host memory, ring] one-thread copies, each repetition both.
    const copies = repeated(repetitions, () => [
      timeNs(() => hostBytes.set(source, 0)) / 1e6,
      timeNs(() => ringBytes.set(source, 0)) / 1e6,
    ]);
    const memcpyHostMs = median(copies.map((c) => c[0]!));
    const memcpyRingMs = median(copies.map((c) => c[1]!));
    const memcpyMs = Math.min(memcpyRingMs, memcpyHostMs);
    const threadedCopyMs =
      workers === null
        ? memcpyHostMs
        : median(repeated(repetitions, () => timeNs(() => workers.copy(hostBytes, 0, source, 0, size)) / 1e6));
    const {
      uploadPieces: pieces,
      uploadPiecesInMainRing: piecesInMainRing,
      uploadThreads,
    } = manager.statistics.transfers;
    const mapped = manager.createBuffer({
      label: "large mapped",
      size,
      usage: VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      memory: MAPPED_DESTINATION,
    });
    // The frame copies the mapped buffer into the device one on the GPU, so that the time includes the bytes reaching
    // the GPU (over the bus: where VMA put the buffer in host memory, the copy reads it there), as the staged one's does.
    const region = [new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 0, size })];
    const inPlace = repeated(repetitions, () => {
      manager.waitIdle();
      const frame = manager.beginFrame();
      const t0 = nowNs();
      manager.upload(mapped, source, 0);
      mapped.markUsed();
      nvk.vkCmdCopyBuffer(frame.commandBuffer, mapped.handle, target.handle, 1, region);
      manager.endFrame();
      manager.waitIdle();
      return Number(nowNs() - t0) / 1e6;
    });
    const inPlaceWritten = manager.frameStatistics!.uploadsInPlace === 1;
    const mappedDeviceLocal = (mapped.allocation.memoryProperties & 0x1) !== 0;
    mapped.destroy();
    target.destroy();
    return {
      threads: uploadThreads,
      uploadMs: median(uploads.map((u) => u[0])),
      cpuMs: median(uploads.map((u) => u[1])),
      memcpyMs,
      memcpyRingMs,
      memcpyHostMs,
      threadedCopyMs,
      inPlaceMs: median(inPlace),
      inPlaceWritten,
      mappedDeviceLocal,
      pieces,
      piecesInMainRing,
    };
  } finally {
    workers?.destroy();
    manager.destroy();
    allocator.destroyBuffer(host.buffer, host.allocation);
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  const flags = parseFlags(argv, FLAGS, USAGE);
  const repetitions = intFlag(flags, "--repetitions", 11, USAGE);
  const largeMiB = intFlag(flags, "--large-mib", 64, USAGE);
  const fallback = defaultUploadThreads();
  const list = flags.get("--threads");
  const threadCounts =
    list === undefined
      ? [...new Set([1, fallback])]
      : String(list)
          .split(",")
          .map((s) => Number(s));
  if (threadCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 64))
    throw new UsageError(`--threads wants integers from 1 to 64, got '${String(list)}'\n${USAGE}`);
  if (largeMiB < 1 || largeMiB > 1024) throw new UsageError(`--large-mib wants 1..1024, got ${largeMiB}\n${USAGE}`);
  const headlineThreads = threadCounts[threadCounts.length - 1]!;
  const staging = (flags.get("--staging") ?? "device") as RingMemory;
  if (staging !== "device" && staging !== "host")
    throw new UsageError(`--staging wants device or host, got '${String(staging)}'\n${USAGE}`);
  const scatterFlag = flags.get("--scatter") ?? "auto";
  if (scatterFlag !== "auto" && scatterFlag !== "on" && scatterFlag !== "off")
    throw new UsageError(`--scatter wants auto, on or off, got '${String(scatterFlag)}'\n${USAGE}`);
  const scatter = scatterFlag === "auto" ? undefined : scatterFlag === "on";
  const layers = layersFromEnvironment();
  if (layers.length > 0)
    console.warn(
      `bench uploads: warning: the environment enables Vulkan layers (${layers.join(", ")}): numbers will be off`,
    );

  const context = createContext({ applicationName: "vkmem bench uploads", validation: false });
  try {
    const allocator = createAllocator(context, { label: "bench uploads" });
    try {
      const device = describeDevice(context);
      console.log(`device: ${device.name} (${device.type}, Vulkan ${device.apiVersion})`);
      const source = new Uint8Array(Math.max(16 * MiB, largeMiB * MiB));
      for (let i = 0; i < source.length; i++) source[i] = (i * 31) & 0xff;
      console.log(`staging ring memory: ${staging}`);
      const rows = smallUploads(context, allocator, source, repetitions, headlineThreads, staging, scatter);
      const large = threadCounts.map((t) =>
        largeUpload(context, allocator, source.subarray(0, largeMiB * MiB), t, repetitions, staging),
      );
      const hostImport = flags.has("--no-host-import")
        ? null
        : measureHostImport(repoRoot(), context, largeMiB, repetitions);
      const bytes = largeMiB * MiB;
      const gbs = (ms: number) => bytes / 1e9 / (ms / 1000);
      const head = large[large.length - 1]!;
      // The headline is the case: device-local destinations, every upload through the staging ring.
      const staged = rows.filter((r) => r.layout !== "scattered, mapped");
      const inPlace = rows.filter((r) => r.layout === "scattered, mapped");
      const minRatio = Math.min(...staged.map((r) => r.ratio));
      const minRatioWithoutFrame = Math.min(...staged.map((r) => r.ratioWithoutFrame));
      const minInPlace = Math.min(...inPlace.map((r) => r.ratio));
      const largeGbs = gbs(head.uploadMs);
      const largeVsMemcpy = head.memcpyMs / head.uploadMs;
      const met = (ok: boolean) => (ok ? "yes" : "NO");

      console.log(`\nsmall uploads (upload threads ${headlineThreads}); ratio = memcpy time / upload time\n`);
      printTable(
        [
          "layout",
          "upload size",
          "uploads/frame",
          "upload ms",
          "memcpy ms",
          "GB/s",
          "upload vs memcpy",
          "without frame submit",
          "in place",
          "scattered",
        ],
        rows.map((r) => [
          r.layout,
          r.size >= MiB ? `${r.size / MiB} MiB` : `${r.size / KiB} KiB`,
          String(r.count),
          r.uploadMs.toFixed(3),
          r.memcpyMs.toFixed(3),
          ((r.size * r.count) / 1e9 / (r.uploadMs / 1000)).toFixed(2),
          r.ratio.toFixed(3),
          r.ratioWithoutFrame.toFixed(3),
          String(r.inPlace),
          String(r.scattered),
        ]),
      );
      console.log(`\nlarge upload: ${largeMiB} MiB in one upload(), timed to GPU completion\n`);
      printTable(
        [
          "threads",
          "to GPU ms",
          "GB/s",
          "CPU part ms",
          "pieces (main ring)",
          "memcpy 1 thread ms: ring / host",
          "threads copy to host alone ms",
          "vs memcpy",
          "mapped target ms",
          "mapped vs memcpy",
        ],
        large.map((r) => [
          String(r.threads),
          r.uploadMs.toFixed(2),
          gbs(r.uploadMs).toFixed(2),
          r.cpuMs.toFixed(2),
          `${r.pieces} (${r.piecesInMainRing})`,
          `${r.memcpyRingMs.toFixed(2)} / ${r.memcpyHostMs.toFixed(2)}`,
          r.threadedCopyMs.toFixed(2),
          (r.memcpyMs / r.uploadMs).toFixed(2),
          `${r.inPlaceMs.toFixed(2)} (${r.mappedDeviceLocal ? "device" : "host"}, ${r.inPlaceWritten ? "in place" : "staged"})`,
          (r.memcpyMs / r.inPlaceMs).toFixed(2),
        ]),
      );
      if (hostImport !== null) {
        console.log(`\nthe GPU reading the caller's ${largeMiB} MiB (VK_EXT_external_memory_host, C++, same device)\n`);
        printTable(
          ["import ms", "GPU copy ms", "to GPU ms", "GB/s", "copy again ms", "release ms", "memcpy 1 thread ms"],
          [
            [
              hostImport.importMs.toFixed(2),
              hostImport.copyMs.toFixed(2),
              hostImport.toGpuMs.toFixed(2),
              gbs(hostImport.toGpuMs).toFixed(2),
              `${hostImport.reusedCopyMs.toFixed(2)} (${gbs(hostImport.reusedCopyMs).toFixed(1)} GB/s)`,
              hostImport.releaseMs.toFixed(2),
              hostImport.memcpyMs.toFixed(2),
            ],
          ],
        );
      }
      const vsHostImport = hostImport === null ? null : hostImport.toGpuMs / head.uploadMs;
      console.log("");
      printTable(
        ["figure", "value", "target", "met"],
        [
          ["upload_vs_memcpy_min", minRatio.toFixed(3), `>= ${TARGET_VS_MEMCPY}`, met(minRatio >= TARGET_VS_MEMCPY)],
          ["  the same, an empty frame's submission left out", minRatioWithoutFrame.toFixed(3), "", ""],
          ["upload_in_place_vs_memcpy_min (mapped destinations)", minInPlace.toFixed(3), "", ""],
          [
            `upload_large_gb_s (${head.threads} threads)`,
            largeGbs.toFixed(2),
            `>= ${TARGET_LARGE_GB_S} (GPU machine)`,
            met(largeGbs >= TARGET_LARGE_GB_S),
          ],
          [
            `upload_large_in_place_gb_s (mapped ${head.mappedDeviceLocal ? "device" : "host"} memory${head.inPlaceWritten ? "" : ", staged"}), vs memcpy`,
            `${gbs(head.inPlaceMs).toFixed(2)}, ${(head.memcpyMs / head.inPlaceMs).toFixed(2)}`,
            "",
            "",
          ],
          [
            "upload_large_vs_memcpy",
            largeVsMemcpy.toFixed(2),
            `>= ${TARGET_LARGE_VS_MEMCPY} (GPU machine)`,
            met(largeVsMemcpy >= TARGET_LARGE_VS_MEMCPY),
          ],
          ["upload_large_vs_host_import (host import's time / vkmem's)", vsHostImport?.toFixed(2) ?? "-", "", ""],
        ],
      );
      const file = writeResults(staging === "host" ? "uploads-host" : "uploads", {
        benchmark: "uploads",
        timestamp: new Date().toISOString(),
        upload_vs_memcpy_min: round(minRatio, 3),
        upload_vs_memcpy_min_without_frame_submit: round(minRatioWithoutFrame, 3),
        upload_in_place_vs_memcpy_min: round(minInPlace, 3),
        upload_large_gb_s: round(largeGbs, 2),
        upload_large_vs_memcpy: round(largeVsMemcpy, 3),
        upload_large_in_place_gb_s: round(gbs(head.inPlaceMs), 2),
        upload_large_in_place_vs_memcpy: round(head.memcpyMs / head.inPlaceMs, 3),
        upload_large_in_place_written: head.inPlaceWritten,
        upload_large_vs_host_import: round(vsHostImport, 3),
        upload_threads: head.threads,
        staging_memory: staging,
        scatter_uploads: scatterFlag,
        device: context.deviceName,
        targets: {
          upload_vs_memcpy_min: TARGET_VS_MEMCPY,
          upload_large_gb_s: TARGET_LARGE_GB_S,
          upload_large_vs_memcpy: TARGET_LARGE_VS_MEMCPY,
        },
        met: {
          upload_vs_memcpy_min: minRatio >= TARGET_VS_MEMCPY,
          upload_large_gb_s: largeGbs >= TARGET_LARGE_GB_S,
          upload_large_vs_memcpy: largeVsMemcpy >= TARGET_LARGE_VS_MEMCPY,
        },
        small: rows.map((r) => ({
          layout: r.layout,
          size: r.size,
          uploads_per_frame: r.count,
          upload_ms: round(r.uploadMs, 4),
          memcpy_ms: round(r.memcpyMs, 4),
          ratio: round(r.ratio, 4),
          ratio_without_frame_submit: round(r.ratioWithoutFrame, 4),
          written_in_place: r.inPlace,
          copies_scattered: r.scattered,
        })),
        large: large.map((r) => ({
          threads: r.threads,
          to_gpu_ms: round(r.uploadMs, 3),
          gb_s: round(gbs(r.uploadMs), 3),
          cpu_ms: round(r.cpuMs, 3),
          pieces: r.pieces,
          pieces_in_main_ring: r.piecesInMainRing,
          memcpy_one_thread_ms: round(r.memcpyMs, 3),
          threads_copy_alone_ms: round(r.threadedCopyMs, 3),
          vs_memcpy: round(r.memcpyMs / r.uploadMs, 3),
          mapped_target_ms: round(r.inPlaceMs, 3),
          mapped_target_written_in_place: r.inPlaceWritten,
          mapped_target_device_local: r.mappedDeviceLocal,
        })),
        host_import:
          hostImport === null
            ? null
            : {
                alignment: hostImport.alignment,
                import_ms: round(hostImport.importMs, 3),
                copy_ms: round(hostImport.copyMs, 3),
                to_gpu_ms: round(hostImport.toGpuMs, 3),
                gb_s: round(gbs(hostImport.toGpuMs), 3),
                reused_copy_ms: round(hostImport.reusedCopyMs, 3),
                release_ms: round(hostImport.releaseMs, 3),
                memcpy_one_thread_ms: round(hostImport.memcpyMs, 3),
                vs_memcpy: round(hostImport.memcpyMs / hostImport.toGpuMs, 3),
              },
        workload: {
          small: `64 MiB per frame (scattered: at most ${SCATTER_PER_FRAME} uploads, into up to ${SCATTER_BUFFERS} buffers at varying offsets); timed first upload to end of endFrame; after ${WARM_UP_CALLS} warm-up calls (2-20 frames); ${repetitions} repetitions, median`,
          large: `${largeMiB} MiB, one upload() in a frame, timed to waitIdle(); ${repetitions} repetitions, median`,
        },
        device_info: device,
        host: describeHost(),
        validation_layers: layers.length > 0 ? layers : "off",
      });
      console.log(`\nwrote ${file}`);
    } finally {
      allocator.destroy();
    }
  } finally {
    context.destroy();
  }
}
