/**
 * The frame-budget stress run: thousands of frames, 3 in flight, on an allocator whose device-local heaps are limited
 * (256 MiB by default). Every frame creates and destroys buffers and textures of random sizes, uploads random data
 * (whole and partial), hands out transient memory, and on a sample of frames reads resources back and compares
 * checksums with the model this file keeps. After every beginFrame it checks that the manager's and the allocator's
 * counts agree with the model and that the memory in use never exceeds the limit.
 *
 * CI runs it on lavapipe through test/resources/frame-stress.test.ts (validation and synchronization validation on,
 * any message fails); the GPU machine runs it as a plain program: `node dist/bench/gpu/frame-stress.js [frames]`,
 * printing the report and exiting with the number of failed checks.
 *
 * Resources ask for `requiredFlags: DEVICE_LOCAL`: on a discrete GPU, VMA would otherwise place what does not fit
 * under the limit in host memory, and the limit would never be reached.
 * @module
 */
import { fileURLToPath } from "node:url";
import { mulberry } from "../random.js";
import { closeRun, runStressProgram } from "./stress-program.js";
import { programNumbers } from "../lib.js";
import {
  createAllocator,
  createFrameManager,
  MemoryHeapFlags,
  MemoryPropertyFlags,
  MemoryUsage,
  mipExtent,
  OutOfDeviceMemoryError,
  type Buffer,
  type Context,
  type Texture,
} from "../../engine/index.js";

/** Options of {@link runFrameStress}. */
export interface FrameStressOptions {
  context: Context;
  frames?: number;
  framesInFlight?: number;
  /** Byte limit of every device-local heap (default 256 MiB). */
  heapLimit?: number;
  seed?: number;
  /** Read back and check a sample of resources every this many frames (default 25). */
  checkEvery?: number;
  /** Called with each failed check (default: collected in the report only). */
  onFailure?: (message: string) => void;
  /** Record the run's allocator into this trace file (`vkmem replay`, `vkmem report`; issue 15). */
  record?: string;
}

/** What {@link runFrameStress} saw. */
export interface FrameStressReport {
  frames: number;
  buffersCreated: number;
  texturesCreated: number;
  destroyed: number;
  /** Creations refused with OutOfDeviceMemoryError (the limit holding), not counted as created. */
  refusedOutOfMemory: number;
  uploads: number;
  uploadedBytes: number;
  transientAllocations: number;
  checksums: number;
  checksumFailures: number;
  /** The most device-local memory in use (VMA blocks, all device-local heaps) seen after any frame. */
  maxDeviceLocalBytes: number;
  heapLimit: number;
  /** Model/manager disagreements and limit violations, as messages. */
  failures: string[];
  stagingRing: { wraps: number; grows: number; waits: number };
  transientRing: { wraps: number; grows: number; waits: number };
  earlySubmits: number;
  /** Uploads that went through a dedicated transfer queue (0 on devices without one, such as lavapipe). */
  transferQueueUploads: number;
  backPressureWaits: number;
  leaks: number;
  seconds: number;
}

interface Live {
  kind: "buffer" | "texture";
  resource: Buffer | Texture;
  /** Contents as the model knows them: for textures, mip 0 only (the other mips are checked by size). */
  data: Uint8Array;
  bytes: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** FNV-1a over `data`. */
export function checksum(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Runs the stress workload on `options.context`; the caller owns the context (and its validation messages). */
export async function runFrameStress(options: FrameStressOptions): Promise<FrameStressReport> {
  const started = performance.now();
  const { context } = options;
  const frames = options.frames ?? 2000;
  const heapLimit = options.heapLimit ?? 256 * MiB;
  const checkEvery = options.checkEvery ?? 25;
  const random = mulberry(options.seed ?? 1);
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  /** Log-uniform sizes: many small, a few large. */
  const size = (lo: number, hi: number): number =>
    Math.round(Math.exp(Math.log(lo) + random() * (Math.log(hi) - Math.log(lo))));
  const fill = (data: Uint8Array): Uint8Array => {
    // Random words, then bytes: fast enough for tens of MiB per second.
    const words = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = (random() * 4294967296) >>> 0;
    for (let i = words.length * 4; i < data.length; i++) data[i] = (random() * 256) | 0;
    return data;
  };
  const failures: string[] = [];
  const fail = (message: string): void => {
    if (failures.length < 50) failures.push(message);
    options.onFailure?.(message);
  };

  const heaps = context.memoryProperties.heaps;
  const deviceHeaps = heaps
    .map((h, i) => ((h.flags & MemoryHeapFlags.DEVICE_LOCAL) !== 0 ? i : -1))
    .filter((i) => i >= 0);
  const allocator = createAllocator(context, {
    label: "frame stress",
    heapSizeLimits: heaps.map((h) =>
      (h.flags & MemoryHeapFlags.DEVICE_LOCAL) !== 0 ? Math.min(heapLimit, h.size) : null,
    ),
    ...(options.record === undefined ? {} : { record: { file: options.record } }),
  });
  const manager = createFrameManager(context, allocator, {
    label: "stress",
    framesInFlight: options.framesInFlight ?? 3,
    stagingRing: { size: 2 * MiB, maxSize: 8 * MiB },
    transientRing: { size: 256 * KiB, maxSize: 1 * MiB },
  });
  const memory = { usage: MemoryUsage.Auto, requiredFlags: MemoryPropertyFlags.DEVICE_LOCAL };
  const live: Live[] = [];
  let liveBytes = 0;
  /** Serials of destroyed resources whose destruction the model expects still queued. */
  const pendingDestroys: number[] = [];
  const pendingReads: Promise<void>[] = [];
  let unresolvedReads = 0;
  const report: FrameStressReport = {
    frames,
    buffersCreated: 0,
    texturesCreated: 0,
    destroyed: 0,
    refusedOutOfMemory: 0,
    uploads: 0,
    uploadedBytes: 0,
    transientAllocations: 0,
    checksums: 0,
    checksumFailures: 0,
    maxDeviceLocalBytes: 0,
    heapLimit,
    failures,
    stagingRing: { wraps: 0, grows: 0, waits: 0 },
    transientRing: { wraps: 0, grows: 0, waits: 0 },
    earlySubmits: 0,
    transferQueueUploads: 0,
    backPressureWaits: 0,
    leaks: 0,
    seconds: 0,
  };
  // Keep the live set around 85% of the limit so that refusals happen at peaks but most creations succeed.
  const target = heapLimit * 0.85;

  const destroyOne = (index: number): void => {
    const item = live[index]!;
    live[index] = live[live.length - 1]!;
    live.pop();
    liveBytes -= item.bytes;
    const serial = item.resource.lastUsedSerial;
    item.resource.destroy();
    report.destroyed++;
    if (serial > manager.completedSerial) pendingDestroys.push(serial);
  };

  const createBuffer = (frame: number): void => {
    const bytes = size(256, 4 * MiB);
    let buffer: Buffer;
    try {
      buffer = manager.createBuffer({
        label: `buffer ${frame}.${report.buffersCreated}`,
        size: bytes,
        usage: 0x20 /* STORAGE */ | 0x80 /* VERTEX */,
        memory,
      });
    } catch (error) {
      if (error instanceof OutOfDeviceMemoryError) {
        report.refusedOutOfMemory++;
        return;
      }
      throw error;
    }
    const data = fill(new Uint8Array(bytes));
    manager.upload(buffer, data);
    report.uploads++;
    report.uploadedBytes += bytes;
    report.buffersCreated++;
    live.push({ kind: "buffer", resource: buffer, data, bytes: buffer.allocation.size });
    liveBytes += buffer.allocation.size;
  };

  const createTexture = (frame: number): void => {
    const width = 1 << int(3, 10);
    const height = 1 << int(3, 10);
    const format = random() < 0.7 ? 37 /* R8G8B8A8_UNORM */ : 9; /* R8_UNORM */
    const texel = format === 37 ? 4 : 1;
    const maxMips = Math.floor(Math.log2(Math.max(width, height))) + 1;
    const mipLevels = int(1, maxMips);
    let texture: Texture;
    try {
      texture = manager.createTexture({
        label: `texture ${frame}.${report.texturesCreated}`,
        width,
        height,
        format,
        mipLevels,
        memory,
      });
    } catch (error) {
      if (error instanceof OutOfDeviceMemoryError) {
        report.refusedOutOfMemory++;
        return;
      }
      throw error;
    }
    let base: Uint8Array | null = null;
    for (let mip = 0; mip < mipLevels; mip++) {
      const data = fill(new Uint8Array(mipExtent(width, mip) * mipExtent(height, mip) * texel));
      manager.uploadImage(texture, data, { mipLevel: mip });
      report.uploads++;
      report.uploadedBytes += data.length;
      if (mip === 0) base = data;
    }
    report.texturesCreated++;
    live.push({ kind: "texture", resource: texture, data: base!, bytes: texture.allocation.size });
    liveBytes += texture.allocation.size;
  };

  const verify = (item: Live): void => {
    const expected = checksum(item.data);
    const label = item.resource.label;
    let read: Promise<Uint8Array>;
    try {
      read =
        item.kind === "buffer"
          ? manager.download(item.resource as Buffer)
          : manager.downloadImage(item.resource as Texture);
    } catch (error) {
      // The readback buffer shares the limited heap on devices with one heap (lavapipe): a refusal is the limit holding.
      if (error instanceof OutOfDeviceMemoryError) {
        report.refusedOutOfMemory++;
        return;
      }
      throw error;
    }
    unresolvedReads++;
    pendingReads.push(
      read.then((data) => {
        unresolvedReads--;
        report.checksums++;
        if (checksum(data) !== expected) {
          report.checksumFailures++;
          fail(`checksum of ${label} differs from what was uploaded`);
        }
      }),
    );
  };

  try {
    for (let frame = 0; frame < frames; frame++) {
      manager.beginFrame();
      await null; // let the readbacks that beginFrame resolved run their checks before the counts are compared
      // The model after retirement: queued destructions of completed serials have run.
      for (let i = pendingDestroys.length - 1; i >= 0; i--)
        if (pendingDestroys[i]! <= manager.completedSerial) pendingDestroys.splice(i, 1);
      const stats = manager.statistics;
      if (stats.deferredPending !== pendingDestroys.length)
        fail(
          `frame ${frame}: manager has ${stats.deferredPending} destructions queued, the model ${pendingDestroys.length}`,
        );
      if (stats.resourcesDestroyed !== report.destroyed)
        fail(`frame ${frame}: manager counts ${stats.resourcesDestroyed} destroyed, the model ${report.destroyed}`);
      if (stats.resourcesCreated !== report.buffersCreated + report.texturesCreated)
        fail(
          `frame ${frame}: manager counts ${stats.resourcesCreated} created, the model ${report.buffersCreated + report.texturesCreated}`,
        );
      if (stats.transfers.uploads !== report.uploads || stats.transfers.uploadedBytes !== report.uploadedBytes) {
        fail(
          `frame ${frame}: manager counts ${stats.transfers.uploads} uploads / ${stats.transfers.uploadedBytes} bytes, the model ${report.uploads} / ${report.uploadedBytes}`,
        );
      }
      const expectedAllocations =
        live.length + pendingDestroys.length + stats.stagingRing.blocks + stats.transientRing.blocks + unresolvedReads;
      if (allocator.allocationCount !== expectedAllocations)
        fail(
          `frame ${frame}: allocator has ${allocator.allocationCount} allocations, the model ${expectedAllocations}`,
        );
      const totals = allocator.calculateStatistics();
      let deviceBytes = 0;
      for (const h of deviceHeaps) deviceBytes += totals.memoryHeap[h]!.blockBytes;
      report.maxDeviceLocalBytes = Math.max(report.maxDeviceLocalBytes, deviceBytes);
      for (const h of deviceHeaps) {
        if (totals.memoryHeap[h]!.blockBytes > Math.min(heapLimit, heaps[h]!.size))
          fail(
            `frame ${frame}: heap ${h} holds ${totals.memoryHeap[h]!.blockBytes} bytes, above the limit ${heapLimit}`,
          );
      }

      // Destroy: a few at random, more when above the target.
      let destroys = int(0, 3);
      while (live.length > 0 && (destroys-- > 0 || liveBytes > target)) destroyOne(int(0, live.length - 1));
      // Create.
      const buffers = int(0, 3);
      for (let i = 0; i < buffers; i++) createBuffer(frame);
      if (random() < 0.5) createTexture(frame);
      // Partial updates of live buffers, and uses recorded by this frame.
      for (let i = 0; i < 3 && live.length > 0; i++) {
        const item = live[int(0, live.length - 1)]!;
        if (item.kind !== "buffer") {
          item.resource.markUsed();
          continue;
        }
        const n = int(1, Math.min(item.data.length, 64 * KiB));
        const at = int(0, item.data.length - n);
        const patch = fill(new Uint8Array(n));
        manager.upload(item.resource as Buffer, patch, at);
        item.data.set(patch, at);
        report.uploads++;
        report.uploadedBytes += n;
      }
      // Transient memory: uniforms and dynamic vertices for this frame.
      for (let i = int(1, 6); i > 0; i--) {
        const t = manager.allocateTransient(size(64, 64 * KiB), random() < 0.5 ? "uniform" : "vertex");
        t.bytes[0] = frame & 0xff;
        report.transientAllocations++;
      }
      if (frame % checkEvery === checkEvery - 1) {
        for (let i = 0; i < 4 && live.length > 0; i++) verify(live[int(0, live.length - 1)]!);
      }
      manager.endFrame();
    }
  } catch (error) {
    // Leave nothing alive on the device for the caller's context, then report.
    for (const item of live) item.resource.destroy();
    manager.destroy();
    allocator.destroy();
    throw error;
  }
  for (const item of [...live]) destroyOne(live.indexOf(item));
  manager.waitIdle();
  await Promise.all(pendingReads);
  const s = manager.statistics;
  report.stagingRing = { wraps: s.stagingRing.wraps, grows: s.stagingRing.grows, waits: s.stagingRing.waits };
  report.transientRing = { wraps: s.transientRing.wraps, grows: s.transientRing.grows, waits: s.transientRing.waits };
  report.earlySubmits = s.transfers.earlySubmits;
  report.transferQueueUploads = s.transfers.transferQueueUploads;
  report.backPressureWaits = s.backPressureWaits;
  if (s.deferredPending !== 0) fail(`after waitIdle: ${s.deferredPending} destructions still queued`);
  manager.destroy();
  closeRun(allocator, report, fail, started);
  return report;
}

// As a program (the GPU machine): node dist/bench/gpu/frame-stress.js [frames]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [frames] = programNumbers("frame-stress", process.argv.slice(2), ["frames"], [2000]);
  await runStressProgram("vkmem frame stress", (context) => runFrameStress({ context, frames }));
}
