/**
 * The streaming stress test (issue #6): thousands of frames of random and sweeping access to a few hundred textures
 * under a small budget, on real Vulkan with validation and synchronization validation on.
 *
 * Three access patterns in turn: random sets held for 20 frames, a window sweeping through the list, and a random
 * set changed every frame. Asserted every frame: memory never above the budget (the pool's blocks, the streamer's resident bytes); no lost
 * texture is ever sampled (every image shown in frame F and later made lost was lost in a frame after
 * F + frameInUseCount, when F's serial had completed; and each frame really reads a shown texture on the GPU, so the
 * validation layer would report an image destroyed while in use); every texture requested continuously becomes
 * resident at the wanted mip within a bound computed from its set's bytes and the upload budget. At the end: the
 * pixels read back from re-streamed textures (the smallest mip of a shown texture every few frames, the finest
 * resident one every so often) match what the loaders gave; zero validation messages (the fixture); no leaks (the
 * allocator reports none, the device destroys clean). Sized to run in well under a minute on lavapipe.
 */
import { expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  createTextureStreamer,
  type Allocation,
  type StreamedTexture,
} from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";
import { random } from "../helpers/random.js";
import { checksum, mipPixels, mipRange } from "../helpers/mip-pixels.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const FRAMES = Number(process.env.VKMEM_STRESS_FRAMES ?? 6000);
const TEXTURES = 500;
const BUDGET = 4 * MiB;
const UPLOAD_BUDGET = 256 * KiB;

const gpu = useGpuContext({ applicationName: "vkmem streaming stress", synchronizationValidation: true });

interface Entry {
  id: number;
  size: number;
  texture: StreamedTexture;
  bytes: number;
}

test(`streaming stress: ${FRAMES} frames, ${TEXTURES} textures, random and sweeping access, ${BUDGET / MiB} MiB budget`, async () => {
  const context = gpu.context;
  const allocator = createAllocator(context, { label: "stress", frameInUseCount: 1 });
  const frames = createFrameManager(context, allocator, { label: "stress frames", framesInFlight: 2 });
  const streamer = createTextureStreamer(frames, { label: "stress", budgetBytes: BUDGET, blockSize: MiB, uploadBudgetBytes: UPLOAD_BUDGET });
  const fic = streamer.frameInUseCount;
  const next = random(0xc0ffee);
  try {

    const entries: Entry[] = [];
    for (let id = 0; id < TEXTURES; id++) {
      const size = 32 << next(0, 3); // 32 to 256
      const asyncLoad = id % 3 === 0;
      const texture = streamer.register({
        label: `s${id}`,
        width: size,
        height: size,
        format: vk.VK_FORMAT_R8G8B8A8_UNORM,
        priority: id % 5 === 0 ? 1 : 0,
        load: (first, count) => (asyncLoad ? Promise.resolve(mipRange(id, size, size, first, count)) : mipRange(id, size, size, first, count)),
      });
      let bytes = 0;
      for (let m = 0; m < texture.mipLevels; m++) bytes += mipPixels(id, size, size, m).length;
      entries.push({ id, size, texture, bytes });
    }

    // What each frame asks for: random sets that change every 20 frames, and a window sweeping through the list.
    let visible: { entry: Entry; mip: number; since: number }[] = [];
    const pickRandom = (frame: number) => {
      const count = next(3, 6);
      const set = new Map<number, { entry: Entry; mip: number; since: number }>();
      let bytes = 0;
      while (set.size < count) {
        const e = entries[next(0, TEXTURES - 1)]!;
        if (set.has(e.id) || bytes + e.bytes > 1.5 * MiB) break;
        bytes += e.bytes;
        const old = visible.find((v) => v.entry === e);
        const mip = next(0, 1);
        set.set(e.id, { entry: e, mip, since: old !== undefined && old.mip === mip ? old.since : frame });
      }
      visible = [...set.values()];
    };
    const sweep = (frame: number, start: number) => {
      const window = entries.slice(start % TEXTURES, (start % TEXTURES) + 5);
      visible = window.map((entry) => {
        const old = visible.find((v) => v.entry === entry && v.mip === 0);
        return { entry, mip: 0, since: old?.since ?? frame };
      });
    };

    const shown = new Map<Allocation, { frame: number; serial: number }>();
    const completedAt = new Map<number, number>();
    const reads: { promise: Promise<Uint8Array>; expected: number; what: string }[] = [];
    let maxWait = 0;
    let evicted = 0;
    let lostChecked = 0;

    for (let frame = 0; frame < FRAMES; frame++) {
      // Three patterns in turn, 500 frames each: random sets held for 20 frames, a sweeping window, and a random
      // flicker (a new random set every frame: churn with nothing held long enough to be bound by the residency check).
      const phase = Math.floor(frame / 500) % 3;
      if (phase === 0 && frame % 20 === 0) pickRandom(frame);
      if (phase === 1 && frame % 8 === 0) sweep(frame, frame / 8);
      if (phase === 2) pickRandom(frame);

      const f = frames.beginFrame();
      const frameIndex = allocator.currentFrameIndex;
      completedAt.set(frameIndex, frames.completedSerial);
      for (const v of visible) streamer.request(v.entry.texture, v.mip);
      const stats = streamer.update();
      evicted += stats.evicted;

      // Memory never above the budget.
      expect(stats.budgetUsedBytes).toBeLessThanOrEqual(BUDGET);
      expect(streamer.pool.getStatistics().blockBytes).toBeLessThanOrEqual(BUDGET);
      expect(stats.residentBytes).toBeLessThanOrEqual(BUDGET);

      let readThisFrame = false;
      for (const v of visible) {
        const t = v.entry.texture;
        const s = streamer.show(t);
        if (s.placeholder) continue;
        shown.set(s.texture.allocation, { frame: frameIndex, serial: f.serial });
        const levelOffset = t.mipLevels - s.texture.mipLevels; // the image's level 0 is the description's mip levelOffset
        if (!readThisFrame && frame % 7 === 0) {
          // A real GPU read of what is shown, in this frame: smallest mip, and now and then the finest resident one.
          const mip = frame % 91 === 0 ? s.firstMip : t.mipLevels - 1;
          const promise = frames.downloadImage(s.texture, { mipLevel: mip - levelOffset });
          reads.push({ promise, expected: checksum(mipPixels(v.entry.id, v.entry.size, v.entry.size, mip)), what: `${t.label} mip ${mip} in frame ${frame}` });
          readThisFrame = true;
        }
        // Bounded time to residency: the set's bytes over the upload budget, a frame per texture for a mip that does
        // not fit behind others, and a few frames for asynchronous loads and the previous set to go cold.
        const wait = frame - v.since;
        const setBytes = visible.reduce((n, x) => n + x.entry.bytes, 0);
        const bound = Math.ceil(setBytes / UPLOAD_BUDGET) + visible.length + 4;
        if (t.firstResidentMip > v.mip || t.firstResidentMip < 0) {
          maxWait = Math.max(maxWait, wait);
          expect(wait, `${t.label} (mip ${v.mip}) not resident after ${wait} frames (bound ${bound})`).toBeLessThanOrEqual(bound);
        }
      }
      for (const v of visible) {
        if (v.entry.texture.firstResidentMip > v.mip || v.entry.texture.firstResidentMip < 0) maxWait = Math.max(maxWait, frame - v.since);
      }
      frames.endFrame();

      // No lost texture was ever sampled: every shown image that is lost now was lost after its last showing's frame
      // plus frameInUseCount, when that showing's serial was complete.
      for (const [allocation, last] of shown) {
        if (allocation.lost) {
          expect(last.frame + fic).toBeLessThan(allocation.lostInFrame);
          expect(last.serial).toBeLessThanOrEqual(completedAt.get(allocation.lostInFrame)!);
          shown.delete(allocation);
          lostChecked++;
        } else if (allocation.destroyed) {
          shown.delete(allocation);
        }
      }
      if (frame % 4 === 0) await new Promise((r) => setImmediate(r)); // let asynchronous loads resolve
    }
    frames.waitIdle();
    const results = await Promise.all(reads.map((r) => r.promise));
    results.forEach((bytes, i) => expect(checksum(bytes), reads[i]!.what).toBe(reads[i]!.expected));

    const totals = streamer.statistics;
    expect(evicted).toBeGreaterThan(FRAMES / 10); // the budget really was under pressure
    expect(totals.evicted).toBe(evicted);
    expect(lostChecked).toBeGreaterThan(FRAMES / 50);
    expect(reads.length).toBeGreaterThan(FRAMES / 10);
    expect(totals.loadErrors).toBe(0);
    console.log(
      `stress: ${FRAMES} frames, ${totals.uploads} uploads (${(totals.uploadedBytes / MiB).toFixed(1)} MiB), ${totals.evicted} evictions, ` +
        `${lostChecked} lost images checked against their last showing, ${reads.length} GPU reads verified, longest wait ${maxWait} frames`,
    );

  } finally {
    // Also after a failed assertion, so that the fixture's leak check reports the failure and not its aftermath.
    streamer.destroy();
    frames.destroy();
    expect(allocator.destroy()).toEqual([]);
  }
}, 170_000);
