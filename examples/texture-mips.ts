/**
 * A texture with a full mip chain: the mips made on the CPU (a 2x2 box filter), each uploaded through the staging
 * ring into its own level, then two levels read back from the GPU and compared with what was sent.
 *
 *   node dist/examples/texture-mips.js        (VKMEM_VALIDATION=1 turns the validation layer on)
 *
 * Uploads leave every level in SHADER_READ_ONLY_OPTIMAL, ready to sample; the manager records the layout
 * transitions and barriers. The Texture comes with a default view over all its levels.
 */
import { createAllocator, createContext, createFrameManager, mipExtent, VK_FORMAT_R8G8B8A8_UNORM } from "vkmem";

const SIZE = 256;
const LEVELS = Math.log2(SIZE) + 1; // 256, 128, ..., 1: 9 levels

/** Level 0: a checkerboard of 16-texel squares, red and blue; each next level averages 2x2 texels of the last. */
function makeMips(): Uint8Array[] {
  const mips: Uint8Array[] = [];
  let level = new Uint8Array(SIZE * SIZE * 4);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) level.set(((x >> 4) + (y >> 4)) % 2 === 0 ? [255, 0, 0, 255] : [0, 0, 255, 255], (y * SIZE + x) * 4);
  }
  mips.push(level);
  for (let l = 1; l < LEVELS; l++) {
    const w = mipExtent(SIZE, l);
    const pw = mipExtent(SIZE, l - 1);
    const next = new Uint8Array(w * w * 4);
    for (let y = 0; y < w; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 4; c++) {
          const at = (dx: number, dy: number) => level[((2 * y + dy) * pw + 2 * x + dx) * 4 + c]!;
          next[(y * w + x) * 4 + c] = (at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1) + 2) >> 2;
        }
      }
    }
    mips.push(next);
    level = next;
  }
  return mips;
}

const context = createContext({ validation: process.env.VKMEM_VALIDATION === "1" });
const allocator = createAllocator(context);
const frames = createFrameManager(context, allocator, { framesInFlight: 2 });
const texture = frames.createTexture({ label: "checkerboard", width: SIZE, height: SIZE, format: VK_FORMAT_R8G8B8A8_UNORM, mipLevels: LEVELS });

const mips = makeMips();
frames.beginFrame();
mips.forEach((pixels, mipLevel) => frames.uploadImage(texture, pixels, { mipLevel }));
frames.endFrame();
console.log(`uploaded ${LEVELS} levels (${mips.reduce((n, m) => n + m.length, 0)} bytes) of a ${SIZE}x${SIZE} RGBA8 texture`);
console.log(`allocation: ${texture.allocation.size} bytes in memory type ${texture.allocation.memoryType}`);

frames.beginFrame();
const level0 = frames.downloadImage(texture, { mipLevel: 0 });
const level4 = frames.downloadImage(texture, { mipLevel: 4 });
frames.endFrame();
frames.waitIdle();
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);
const ok0 = same(await level0, mips[0]!);
const ok4 = same(await level4, mips[4]!);
console.log(`read back level 0 (${SIZE}x${SIZE}): ${ok0 ? "identical" : "DIFFERENT"}; level 4 (${mipExtent(SIZE, 4)}x${mipExtent(SIZE, 4)}): ${ok4 ? "identical" : "DIFFERENT"}`);
console.log(`level 8 (1x1) is the average colour: ${[...mips[8]!].join(",")}`);

texture.destroy();
frames.destroy();
const leaks = allocator.destroy();
context.destroy();
console.log(`leaks: ${leaks.length}; validation messages: ${context.validationMessages.length}`);
process.exitCode = !ok0 || !ok4 || leaks.length + context.validationMessages.length > 0 ? 1 : 0;
