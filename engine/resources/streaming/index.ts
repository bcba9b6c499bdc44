/**
 * Texture streaming: textures whose pixels come and go under a memory budget. This module only re-exports the
 * public surface; how the parts fit:
 *
 * - texture-streamer.ts: the public {@link TextureStreamer} and {@link createTextureStreamer}. It checks what it is
 *   given, creates its two pools from the budget plan, answers `request()` and `show()`, and runs `update()` once per
 *   frame by handing the request heaps to the upload scheduler.
 * - budget-plan.ts: the budget and the pools' blocks as a pure function of the heap's figures and the options.
 * - streamed-texture.ts: {@link StreamedTexture}, the public face of one texture; it reads its residency.
 * - residency.ts: where one texture stands: its two mip chains, what was last asked of it, its load error. Every
 *   change of a texture's images (attach, upload, promote, release, lose) goes through it, with the counts.
 * - mip-chain.ts: the one mechanism behind a texture's tail and its large image: an image on show, one being filled,
 *   the pixels loaded for it, its load and its place in the queue; and the lane that the chains of one kind share
 *   (pool, request heap, counts, and which mip the chain should hold: the only difference between the two kinds).
 * - chain-image.ts: one image of a chain, filled smallest mip first, and its partial view.
 * - loader.ts: calls the application's loaders, synchronously or not, and checks what they give.
 * - upload-scheduler.ts: the per-frame upload budget: serves a lane's heap in priority order, creating images (which
 *   may evict cold ones) and uploading mips.
 * - request-heap.ts: the binary heap the lanes queue their chains in.
 * - types.ts: the public types.
 *
 * The dependencies go one way: texture-streamer → upload-scheduler → loader → residency → mip-chain → chain-image
 * → types, with request-heap and budget-plan importing nothing of the folder.
 * @module
 */
export { createTextureStreamer, TextureStreamer } from "./texture-streamer.js";
export { StreamedTexture } from "./streamed-texture.js";
export type {
  MipData,
  MipLoader,
  StreamedTextureDescription,
  TextureStreamerOptions,
  TextureShow,
  TextureStreamerFrameStatistics,
  TextureStreamerStatistics,
} from "./types.js";
