/**
 * The upload check for the GPU machine: large uploads on native threads, in pieces submitted while the next is copied
 * (engine/resources/upload-workers.ts), and scattered uploads recorded natively, with the validation layer and
 * synchronization validation on when the layer is there. On a GPU with a dedicated transfer queue (the H200) the
 * first piece of an upload into an unused buffer goes on that queue and the rest on the main queue after the
 * ownership transfer: lavapipe, which has one queue, never runs that path in CI (test/resources/upload-workers.test.ts
 * runs the rest of it).
 *
 * Persistently mapped buffers are written in place unless a frame not yet complete used them, then staged.
 * `node dist/bench/gpu/upload-check.js [threads]` (default 8): prints what it checked and exits with the number of
 * failed checks (a byte that differs, a validation message, a leak). The validation layer must be there
 * (`run-checks.sh --pack-layer`), unless VKMEM_NO_VALIDATION=1.
 * @module
 */
import { fileURLToPath } from "node:url";
import {
  createAllocator,
  createContext,
  createFrameManager,
  type Buffer,
  type FrameManager,
} from "../../engine/index.js";

const MiB = 1024 * 1024;

function patterned(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Reads `buffers` back in one frame (waited for). */
async function readBack(m: FrameManager, buffers: Buffer[]): Promise<Uint8Array[]> {
  const reads = buffers.map((b) => m.download(b));
  m.beginFrame();
  m.endFrame();
  m.waitIdle();
  return Promise.all(reads);
}

/** Reads `buffers` back and adds a failure for each that differs from its model. */
async function compareWithModels(
  m: FrameManager,
  buffers: Buffer[],
  models: Uint8Array[],
  what: string,
  failures: string[],
): Promise<void> {
  const got = await readBack(m, buffers);
  for (let i = 0; i < buffers.length; i++) {
    const at = firstDifference(got[i]!, models[i]!);
    if (at !== -1) failures.push(`${what} ${i}: first difference at ${at}`);
  }
}

/** Runs the checks; returns the failures (messages). */
export async function runUploadCheck(threads: number): Promise<string[]> {
  const failures: string[] = [];
  const context = createContext({
    applicationName: "vkmem upload check",
    synchronizationValidation: process.env.VKMEM_NO_VALIDATION !== "1",
  });
  try {
    console.log(
      `device: ${context.deviceName}; dedicated transfer queue: ${context.transferQueueFamilyIndex !== context.queueFamilyIndex}; validation: ${context.validation}`,
    );
    const allocator = createAllocator(context, { label: "upload check" });
    const m = createFrameManager(context, allocator, { uploadThreads: threads, stagingRing: { size: 64 * MiB } });
    try {
      // Large uploads into fresh buffers (the transfer queue's case) and into used ones, inside and between frames.
      for (const [i, size] of [3 * MiB, 24 * MiB + 5, 64 * MiB, 100 * MiB + 4096].entries()) {
        const target = m.createBuffer({ label: `large ${i}`, size: size + 8192, usage: 0x20 | 0x2 });
        const data = patterned(size, i + 1);
        const inFrame = i !== 1;
        if (inFrame) m.beginFrame();
        m.upload(target, data, 4096);
        if (inFrame) m.endFrame();
        // Again into the same buffer, now owned by the main queue.
        m.beginFrame();
        const again = patterned(size, i + 100);
        m.upload(target, again, 4096);
        m.endFrame();
        const got = (await readBack(m, [target]))[0]!.subarray(4096, 4096 + size);
        const at = firstDifference(got, again);
        if (at !== -1) failures.push(`large upload ${i} (${size} bytes): first difference at ${at}`);
        target.destroy();
      }
      // Scattered: 1,000 uploads a frame into 250 buffers.
      const buffers = Array.from({ length: 250 }, (_, i) =>
        m.createBuffer({ label: `s${i}`, size: 64 * 1024, usage: 0x20 }),
      );
      const models = buffers.map((b) => new Uint8Array(b.size));
      buffers.forEach((b, i) => m.upload(b, models[i]!));
      let seed = 1000;
      for (let f = 0; f < 5; f++) {
        m.beginFrame();
        for (let k = 0; k < 1000; k++) {
          const i = (k * 97 + f) % buffers.length;
          const size = 4096;
          const offset = ((k * 13 + f * 7) % 16) * 4096;
          const data = patterned(size, seed++);
          m.upload(buffers[i]!, data, offset);
          models[i]!.set(data, offset);
        }
        m.endFrame();
      }
      await compareWithModels(m, buffers, models, "scattered buffer", failures);
      for (const b of buffers) b.destroy();
      // In place: persistently mapped buffers (VMA's "advanced data uploading": ReBAR on this GPU), written by memcpy
      // unless a frame not yet complete used them (markUsed() here, as a game's draw would), then staged.
      const mapped = Array.from({ length: 64 }, (_, i) =>
        m.createBuffer({
          label: `m${i}`,
          size: 64 * 1024,
          usage: 0x20,
          memory: { hostAccess: "sequentialWrite", allowTransferInstead: true, mapped: true },
        }),
      );
      const mappedModels = mapped.map((b) => new Uint8Array(b.size));
      mapped.forEach((b, i) => m.upload(b, mappedModels[i]!));
      let inPlace = 0;
      for (let f = 0; f < 8; f++) {
        m.beginFrame();
        for (let k = 0; k < 400; k++) {
          const i = (k * 31 + f) % mapped.length;
          if (k % 40 === f) mapped[i]!.markUsed();
          const offset = ((k * 11 + f) % 16) * 4096;
          const data = patterned(4096, seed++);
          m.upload(mapped[i]!, data, offset);
          mappedModels[i]!.set(data, offset);
        }
        m.endFrame();
        inPlace += m.frameStatistics!.uploadsInPlace;
      }
      await compareWithModels(m, mapped, mappedModels, "mapped buffer", failures);
      console.log(
        `in place: memory properties 0x${mapped[0]!.allocation.memoryProperties.toString(16)}, ${inPlace} of 3200 uploads written in place, the rest staged`,
      );
      if (inPlace === 0 || inPlace === 3200) failures.push(`in place: ${inPlace} of 3200 uploads: one path never ran`);
      for (const b of mapped) b.destroy();
      const t = m.statistics.transfers;
      console.log(
        `uploads ${t.uploads}, ${(t.uploadedBytes / MiB).toFixed(1)} MiB, ${t.transferQueueUploads} via the transfer queue, ${t.uploadPieces} pieces (${t.uploadPiecesInMainRing} in the main ring), ${t.uploadThreads} threads, ${t.earlySubmits} early submits`,
      );
    } finally {
      m.destroy();
      const leaks = allocator.destroy();
      if (leaks.length > 0) failures.push(`${leaks.length} allocations leaked`);
    }
  } finally {
    context.destroy();
    for (const msg of context.validationMessages) failures.push(`validation: ${msg.message}`);
  }
  return failures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const threads = Number(process.argv[2] ?? 8);
  const failures = await runUploadCheck(threads);
  for (const f of failures.slice(0, 20)) console.log(`FAIL ${f}`);
  console.log(failures.length === 0 ? "upload check: all bytes intact, no message" : `${failures.length} failure(s)`);
  process.exitCode = Math.min(failures.length, 100);
}
