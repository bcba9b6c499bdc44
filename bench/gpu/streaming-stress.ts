/**
 * The streaming stress run (issue #6): thousands of frames of random, sweeping and flickering access to hundreds of
 * streamed textures under a small budget, with every check collected in a report.
 *
 * Three access patterns in turn, 500 frames each: random sets of 3 to 6 textures held for 20 frames, a window of 5
 * sweeping through the list, and a random set changed every frame (churn). A third of the loaders are asynchronous.
 * Checked every frame: memory never above the budget (the pool's blocks, the streamer's resident bytes), the pool in
 * DEVICE_LOCAL memory; no lost texture is ever sampled (every image shown in frame F and later made lost was lost in
 * a frame after F + frameInUseCount, when F's submission had completed; and every few frames a shown texture is
 * really read on the GPU, so a validation layer would report an image destroyed while in use); every texture
 * requested continuously becomes resident at the wanted mip within a bound computed from its set's bytes and the
 * upload budget. Mip tails (the streamer's default: mips of 32 texels and less, in a tail pool of an eighth of the
 * budget, so that 32x32 textures are all tail and the tail pool is under pressure too): the two pools within their
 * shares; a texture whose tail is resident never shows the placeholder, so a lost large image falls back to the
 * tail (counted), and the placeholder is counted apart, as shown before a first tail or after the tail was lost too;
 * a sample of the tails shown is read back on the GPU. At the end: the pixels read back match what the loaders
 * gave; nothing leaks.
 *
 * CI runs it on lavapipe through test/resources/texture-streamer.stress.test.ts (validation and synchronization
 * validation on, any message fails); the GPU machine runs it as a plain program:
 * `node dist/bench/gpu/streaming-stress.js [frames] [budget MiB]`, printing the report as JSON and exiting with the
 * number of failed checks plus validation messages.
 * @module
 */
import { fileURLToPath } from "node:url";
import {
  createAllocator,
  createFrameManager,
  createTextureStreamer,
  MemoryPropertyFlags,
  VK_FORMAT_R8G8B8A8_UNORM,
  type Allocation,
  type Context,
  type StreamedTexture,
} from "../../engine/index.js";
import { mulberry } from "../random.js";
import { closeRun, runStressProgram } from "./stress-program.js";
import { programNumbers } from "../lib.js";
import { checksum, mipPixels, mipRange } from "./mip-pixels.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Options of {@link runStreamingStress}. */
export interface StreamingStressOptions {
  context: Context;
  /** Frames (default 6000). */
  frames?: number;
  /** Registered textures, 32 to 256 texels square (default 500). */
  textures?: number;
  /** The streamer's memory budget (default 4 MiB, in 1 MiB blocks). */
  budgetBytes?: number;
  /** Bytes uploaded per frame at most (default 256 KiB). */
  uploadBudgetBytes?: number;
  seed?: number;
}

/** What {@link runStreamingStress} saw. */
export interface StreamingStressReport {
  frames: number;
  textures: number;
  budgetBytes: number;
  /** The largest block bytes of both pools together, and resident bytes, seen after any update. */
  maxPoolBytes: number;
  maxResidentBytes: number;
  /** The tail pool's share of the budget, and the most its blocks held. */
  tailBudgetBytes: number;
  maxTailPoolBytes: number;
  /** Tails made lost (the tail pool was full). */
  tailsEvicted: number;
  /** Shows of a tail in place of a large image that was shown before and then lost. */
  tailFallbacks: number;
  /** Shows of the placeholder: before the texture's first tail, and after its tail had been resident and was lost. */
  placeholderShows: number;
  placeholdersAfterTailLost: number;
  /** GPU reads of shown tails (included in reads). */
  tailReads: number;
  uploads: number;
  uploadedBytes: number;
  evictions: number;
  /** Lost images checked against their last showing. */
  lostChecked: number;
  /** GPU reads of shown textures, and how many of them did not match the loader's pixels. */
  reads: number;
  readFailures: number;
  /** The longest a continuously requested texture waited for its wanted mip, and the bound it was held to. */
  longestWait: number;
  loadErrors: number;
  leaks: number;
  seconds: number;
  /** Every failed check, in words. */
  failures: string[];
}

interface Entry {
  id: number;
  size: number;
  texture: StreamedTexture;
  bytes: number;
  /** Whether its tail has ever been resident. */
  tailSeen: boolean;
  /** The last large image (not the tail) it showed, while not yet seen lost. */
  largeShown: Allocation | null;
}

interface Wanted {
  entry: Entry;
  mip: number;
  /** The frame since which it has been requested at this mip without a break. */
  since: number;
}

/** Runs the stress workload on `options.context`; the caller owns the context (and its validation messages). */
export async function runStreamingStress(options: StreamingStressOptions): Promise<StreamingStressReport> {
  const started = performance.now();
  const frameCount = options.frames ?? 6000;
  const textureCount = options.textures ?? 500;
  const budget = options.budgetBytes ?? 4 * MiB;
  const blockSize = Math.min(budget, MiB);
  const uploadBudget = options.uploadBudgetBytes ?? 256 * KiB;
  const random = mulberry(options.seed ?? 0xc0ffee);
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const report: StreamingStressReport = {
    frames: frameCount,
    textures: textureCount,
    budgetBytes: budget,
    maxPoolBytes: 0,
    maxResidentBytes: 0,
    uploads: 0,
    uploadedBytes: 0,
    tailBudgetBytes: 0,
    maxTailPoolBytes: 0,
    tailsEvicted: 0,
    tailFallbacks: 0,
    placeholderShows: 0,
    placeholdersAfterTailLost: 0,
    tailReads: 0,
    evictions: 0,
    lostChecked: 0,
    reads: 0,
    readFailures: 0,
    longestWait: 0,
    loadErrors: 0,
    leaks: 0,
    seconds: 0,
    failures: [],
  };
  const fail = (message: string): void => {
    if (report.failures.length < 50) report.failures.push(message);
  };

  const allocator = createAllocator(options.context, { label: "streaming stress", frameInUseCount: 1 });
  const frames = createFrameManager(options.context, allocator, {
    label: "streaming stress frames",
    framesInFlight: 2,
  });
  const streamer = createTextureStreamer(frames, {
    label: "stress",
    budgetBytes: budget,
    blockSize,
    uploadBudgetBytes: uploadBudget,
  });
  const fic = streamer.frameInUseCount;
  report.tailBudgetBytes = streamer.tailBudgetBytes;
  const tailPool = streamer.tailPool;
  if (tailPool === null) fail("the streamer has no tail pool");
  if ((allocator.memoryTypes[streamer.memoryTypeIndex]!.propertyFlags & MemoryPropertyFlags.DEVICE_LOCAL) === 0) {
    fail(`the streamer's pool is in memory type ${streamer.memoryTypeIndex}, which is not DEVICE_LOCAL`);
  }
  const reads: { promise: Promise<Uint8Array>; expected: number; what: string }[] = [];
  try {
    const entries: Entry[] = [];
    for (let id = 0; id < textureCount; id++) {
      const size = 32 << int(0, 3);
      const asyncLoad = id % 3 === 0;
      const texture = streamer.register({
        label: `s${id}`,
        width: size,
        height: size,
        format: VK_FORMAT_R8G8B8A8_UNORM,
        priority: id % 5 === 0 ? 1 : 0,
        load: (first, count) =>
          asyncLoad ? Promise.resolve(mipRange(id, size, size, first, count)) : mipRange(id, size, size, first, count),
      });
      let bytes = 0;
      for (let m = 0; m < texture.mipLevels; m++) bytes += (size >> m) ** 2 * 4;
      entries.push({ id, size, texture, bytes, tailSeen: false, largeShown: null });
    }

    let visible: Wanted[] = [];
    const keep = (entry: Entry, mip: number, frame: number): Wanted => {
      const old = visible.find((v) => v.entry === entry && v.mip === mip);
      return { entry, mip, since: old?.since ?? frame };
    };
    // The most bytes a set of wanted textures may hold: half the main pool's blocks (its share of the budget in
    // whole blocks), so that the set fits whatever the textures resident before it left behind, and the streamer is
    // held to a residency bound only for a set it can hold. 1.5 MiB from a 4 MiB budget up; with a 2 MiB budget the
    // main pool is one 1 MiB block, and 40% of the budget (the limit before) was 80% of it: a set of that size
    // waited for room past its bound there, on every device.
    const mainPoolBytes = Math.floor((streamer.budgetBytes - streamer.tailBudgetBytes) / blockSize) * blockSize;
    const setLimit = Math.min(1.5 * MiB, mainPoolBytes / 2);
    const pickRandom = (frame: number): void => {
      const count = int(3, 6);
      const set = new Map<number, Wanted>();
      let bytes = 0;
      while (set.size < count) {
        const e = entries[int(0, textureCount - 1)]!;
        if (set.has(e.id) || bytes + e.bytes > setLimit) break;
        bytes += e.bytes;
        set.set(e.id, keep(e, int(0, 1), frame));
      }
      visible = [...set.values()];
    };
    // The window of 5 from `start`, cut where it would hold more than setLimit (5 textures of 256x256 with their
    // mips take 1.7 MiB, more than a 2 MiB budget's one main block: no streamer could make them all resident).
    const sweep = (frame: number, start: number): void => {
      const window = entries.slice(start % textureCount, (start % textureCount) + 5);
      let bytes = 0;
      visible = [];
      for (const entry of window) {
        if (visible.length > 0 && bytes + entry.bytes > setLimit) break;
        bytes += entry.bytes;
        visible.push(keep(entry, 0, frame));
      }
    };

    const shown = new Map<Allocation, { frame: number; serial: number }>();
    const completedAt = new Map<number, number>();
    for (let frame = 0; frame < frameCount; frame++) {
      const phase = Math.floor(frame / 500) % 3;
      if (phase === 0 && frame % 20 === 0) pickRandom(frame);
      if (phase === 1 && frame % 8 === 0) sweep(frame, frame / 8);
      if (phase === 2) pickRandom(frame);

      const f = frames.beginFrame();
      const frameIndex = allocator.currentFrameIndex;
      completedAt.set(frameIndex, frames.completedSerial);
      completedAt.delete(frameIndex - 64);
      for (const v of visible) streamer.request(v.entry.texture, v.mip);
      const stats = streamer.update();
      report.evictions += stats.evicted;
      report.tailsEvicted += stats.tailsEvicted;
      const mainBytes = streamer.pool.getStatistics().blockBytes;
      const tailBytes = tailPool?.getStatistics().blockBytes ?? 0;
      const poolBytes = mainBytes + tailBytes;
      report.maxPoolBytes = Math.max(report.maxPoolBytes, poolBytes);
      report.maxTailPoolBytes = Math.max(report.maxTailPoolBytes, tailBytes);
      report.maxResidentBytes = Math.max(report.maxResidentBytes, stats.residentBytes);
      if (poolBytes > budget || stats.residentBytes + stats.tailBytes > budget)
        fail(
          `frame ${frame}: pools ${poolBytes} / resident ${stats.residentBytes} + tails ${stats.tailBytes} bytes, above the budget of ${budget}`,
        );
      if (mainBytes > streamer.budgetBytes - streamer.tailBudgetBytes || tailBytes > streamer.tailBudgetBytes) {
        fail(
          `frame ${frame}: pool ${mainBytes} / tail pool ${tailBytes} bytes, above their shares (${streamer.budgetBytes - streamer.tailBudgetBytes} / ${streamer.tailBudgetBytes})`,
        );
      }
      if (stats.budgetUsedBytes !== poolBytes || stats.tailPoolBytes !== tailBytes)
        fail(
          `frame ${frame}: statistics say ${stats.budgetUsedBytes} / ${stats.tailPoolBytes} pool bytes, the pools ${poolBytes} / ${tailBytes}`,
        );

      let readThisFrame = false;
      let tailReadThisFrame = false;
      const setBytes = visible.reduce((n, x) => n + x.entry.bytes, 0);
      const bound = Math.ceil(setBytes / uploadBudget) + visible.length + 4;
      for (const v of visible) {
        const t = v.entry.texture;
        const tailResident = t.tailResident;
        if (tailResident) v.entry.tailSeen = true;
        const s = streamer.show(t);
        if (s.placeholder) {
          // Only with no tail: never shown yet, or its tail was lost too (the tail pool was full).
          report.placeholderShows++;
          if (tailResident) fail(`frame ${frame}: ${t.label} shows the placeholder while its tail is resident`);
          if (v.entry.tailSeen) report.placeholdersAfterTailLost++;
        } else {
          const isTail = s.texture === t.tailTexture;
          if (s.lastMip !== t.mipLevels - 1 || s.firstMip < 0 || (isTail && s.firstMip < t.tailFirstMip))
            fail(`frame ${frame}: ${t.label} shows mips ${s.firstMip} to ${s.lastMip}`);
          if (tailResident && s.firstMip > t.tailFirstMip)
            fail(
              `frame ${frame}: ${t.label} shows mips from ${s.firstMip}, coarser than its resident tail (${t.tailFirstMip})`,
            );
          if (isTail) {
            if (v.entry.largeShown !== null && v.entry.largeShown.lost) report.tailFallbacks++;
            v.entry.largeShown = null;
            if (!tailReadThisFrame && frame % 5 === 0 && s.firstMip === t.tailFirstMip) {
              // The tail's pixels, on the GPU: one of its mips, in turn.
              const mip = t.tailFirstMip + (frame % (t.mipLevels - t.tailFirstMip));
              const promise = frames.downloadImage(s.texture, { mipLevel: mip - t.tailFirstMip });
              reads.push({
                promise,
                expected: checksum(mipPixels(v.entry.id, v.entry.size, v.entry.size, mip)),
                what: `${t.label} tail mip ${mip} in frame ${frame}`,
              });
              report.tailReads++;
              tailReadThisFrame = true;
            }
          } else {
            v.entry.largeShown = s.texture.allocation;
          }
          shown.set(s.texture.allocation, { frame: frameIndex, serial: f.serial });
          if (!readThisFrame && frame % 7 === 0) {
            // A real GPU read of what is shown, in this frame: the smallest mip, now and then the finest resident one.
            const mip = frame % 91 === 0 ? s.firstMip : t.mipLevels - 1;
            const levelOffset = t.mipLevels - s.texture.mipLevels; // the image's level 0 is the description's mip levelOffset
            const promise = frames.downloadImage(s.texture, { mipLevel: mip - levelOffset });
            reads.push({
              promise,
              expected: checksum(mipPixels(v.entry.id, v.entry.size, v.entry.size, mip)),
              what: `${t.label} mip ${mip} in frame ${frame}`,
            });
            readThisFrame = true;
          }
        }
        if (t.firstResidentMip > v.mip || t.firstResidentMip < 0) {
          const wait = frame - v.since;
          report.longestWait = Math.max(report.longestWait, wait);
          if (wait > bound)
            fail(`frame ${frame}: ${t.label} (mip ${v.mip}) not resident after ${wait} frames (bound ${bound})`);
        }
      }
      frames.endFrame();

      // No lost texture was ever sampled: an image shown and later lost was lost after its last showing's frame plus
      // frameInUseCount, when that showing's submission had completed.
      for (const [allocation, last] of shown) {
        if (allocation.lost) {
          if (!(last.frame + fic < allocation.lostInFrame))
            fail(`an image shown in frame ${last.frame} was lost in frame ${allocation.lostInFrame}`);
          const completed = completedAt.get(allocation.lostInFrame);
          if (completed === undefined || last.serial > completed)
            fail(`an image shown in submission ${last.serial} was lost when only ${completed} had completed`);
          shown.delete(allocation);
          report.lostChecked++;
        } else if (allocation.destroyed) {
          shown.delete(allocation);
        }
      }
      if (frame % 4 === 0) await new Promise((r) => setImmediate(r)); // let asynchronous loads resolve
    }
    frames.waitIdle();
  } catch (error) {
    streamer.destroy();
    frames.destroy();
    allocator.destroy();
    throw error;
  }
  const results = await Promise.all(reads.map((r) => r.promise));
  results.forEach((bytes, i) => {
    if (checksum(bytes) !== reads[i]!.expected) {
      report.readFailures++;
      fail(`readback of ${reads[i]!.what} does not match the loader's pixels`);
    }
  });
  report.reads = reads.length;
  const totals = streamer.statistics;
  report.uploads = totals.uploads;
  report.uploadedBytes = totals.uploadedBytes;
  report.loadErrors = totals.loadErrors;
  if (totals.evicted !== report.evictions)
    fail(`the streamer counted ${totals.evicted} evictions, the frames ${report.evictions}`);
  if (totals.tailsEvicted !== report.tailsEvicted)
    fail(`the streamer counted ${totals.tailsEvicted} tail evictions, the frames ${report.tailsEvicted}`);
  streamer.destroy();
  frames.destroy();
  closeRun(allocator, report, fail, started);
  return report;
}

// As a program (the GPU machine): node dist/bench/gpu/streaming-stress.js [frames] [budget MiB]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [frames, budgetMiB] = programNumbers(
    "streaming-stress",
    process.argv.slice(2),
    ["frames", "budget MiB"],
    [6000, 4],
  );
  const budgetBytes = budgetMiB! * MiB;
  await runStressProgram("vkmem streaming stress", (context) => runStreamingStress({ context, frames, budgetBytes }));
}
