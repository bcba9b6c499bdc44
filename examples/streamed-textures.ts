/**
 * A set of textures larger than its memory budget, streamed: 48 textures of 256x256 RGBA8 with mips (about 16 MiB
 * of pixels) under an 8 MiB budget. Each frame the program requests the textures a moving window of the "level"
 * would draw, calls `update()` once, and asks `show()` what to bind for each. Textures out of view are evicted when
 * memory is needed; a texture always shows something (its resident mip tail, or a finer mip once streamed).
 *
 *   node dist/examples/streamed-textures.js        (VKMEM_VALIDATION=1 turns the validation layer on)
 *
 * Loaders give the pixels of the mips asked for, finest first; here they are generated, in a game they come from
 * disk (and may return a promise).
 */
import { createAllocator, createContext, createFrameManager, createTextureStreamer, mipExtent, VK_FORMAT_R8G8B8A8_UNORM } from "vkmem";

const MiB = 1024 * 1024;
const TEXTURES = 48;
const SIZE = 256;
const LEVELS = 9;
const VISIBLE = 8; // textures in view at once
const FRAMES = 120;

/** Mips firstMip..firstMip+count-1 of texture `t`: a flat colour per texture and level. */
function load(t: number, firstMip: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const w = mipExtent(SIZE, firstMip + i);
    return new Uint8Array(w * w * 4).fill(t * 5 + firstMip + i);
  });
}

const context = createContext({ validation: process.env.VKMEM_VALIDATION === "1" });
const allocator = createAllocator(context);
const frames = createFrameManager(context, allocator, { framesInFlight: 2 });
const streamer = createTextureStreamer(frames, { budgetBytes: 8 * MiB, uploadBudgetBytes: 1 * MiB });
const textures = Array.from({ length: TEXTURES }, (_, t) =>
  streamer.register({ label: `wall ${t}`, width: SIZE, height: SIZE, format: VK_FORMAT_R8G8B8A8_UNORM, mipLevels: LEVELS, load: (first, count) => load(t, first, count) }),
);

let peakResident = 0;
let fullDetail = 0;
for (let f = 0; f < FRAMES; f++) {
  frames.beginFrame();
  const first = Math.floor((f / FRAMES) * (TEXTURES - VISIBLE)); // the view walks along the level
  const inView = textures.slice(first, first + VISIBLE);
  for (const t of inView) streamer.request(t, 0);
  const stats = streamer.update();
  // What a draw would bind: show() never fails, it gives the best that is resident.
  const shown = inView.map((t) => streamer.show(t));
  fullDetail = shown.filter((s) => s.firstMip === 0).length;
  peakResident = Math.max(peakResident, stats.residentBytes + stats.tailBytes);
  if (f % 30 === 0 || f === FRAMES - 1) {
    console.log(`frame ${String(f).padStart(3)}: textures ${first}-${first + VISIBLE - 1} in view, ${fullDetail} at full detail; ` +
      `resident ${stats.residentTextures} (${(stats.residentBytes / MiB).toFixed(1)} MiB) + ${stats.tails} tails; evicted ${stats.evicted}; uploaded ${(stats.uploadedBytes / MiB).toFixed(2)} MiB`);
  }
  frames.endFrame();
}
const totals = streamer.statistics;
console.log(`peak resident ${(peakResident / MiB).toFixed(1)} MiB under the 8 MiB budget: ${peakResident <= 8 * MiB}; ` +
  `evictions ${totals.evicted}; last frame ${fullDetail}/${VISIBLE} textures at full detail`);

frames.waitIdle();
streamer.destroy();
frames.destroy();
const leaks = allocator.destroy();
context.destroy();
console.log(`leaks: ${leaks.length}; validation messages: ${context.validationMessages.length}`);
process.exitCode = peakResident > 8 * MiB || leaks.length + context.validationMessages.length > 0 ? 1 : 0;
