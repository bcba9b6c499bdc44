/**
 * The upload scheduler: once per frame, serves the lanes' request heaps within the frame's upload budget. For the
 * chain on top of a heap it starts the load if its pixels are not there, creates the image if the chain has none
 * being filled (which may make cold images of the lane's pool lost), and uploads the missing mips smallest first
 * through `FrameManager.uploadImage`; a chain whose image is complete is promoted, and queued again if a finer mip was
 * asked for meanwhile.
 *
 * Invariants: at most `uploadBudgetBytes` are uploaded per frame, except that one mip larger than the whole budget is
 * still uploaded when it is the first of the frame (so every requested texture becomes resident within a bounded
 * number of frames); a request not renewed for `requestLifetimeFrames` frames is dropped when it reaches the top, with
 * its loaded pixels (a partly filled image stays, and is evicted in its turn when cold); a heap is served in priority
 * order and serving stops at the first chain that cannot progress (the budget is spent, the loads in flight are at
 * their limit, or nothing more fits in the pool), so lower priorities never overtake it within the frame.
 * @module
 */
import { OutOfDeviceMemoryError } from "../../errors.js";
import { mipExtent } from "../../vulkan/formats.js";
import type { FrameManager } from "../frame-manager.js";
import type { Texture } from "../texture.js";
import { ChainImage, type ViewContext } from "./chain-image.js";
import type { LoaderPipeline } from "./loader.js";
import type { ChainLane, MipChain } from "./mip-chain.js";
import type { TextureResidency } from "./residency.js";
import type { TextureStreamerFrameStatistics } from "./types.js";

/** Serves the request heaps within the per-frame upload budget; see the module comment. Made and owned by the streamer. */
export class UploadScheduler {
  /** Upload budget left in the frame being served, and bytes uploaded in it. */
  #left = 0;
  #uploadedNow = 0;
  /** The region of each uploadImage call (FrameManager copies what it reads of it). */
  readonly #region = { mipLevel: 0 };

  constructor(
    readonly frames: FrameManager,
    /** Bytes uploaded per frame at most (one mip is always allowed). */
    readonly uploadBudgetBytes: number,
    /** Frames a request lives without being renewed. */
    readonly requestLifetimeFrames: number,
    /** VkImageUsageFlags of the images it creates. */
    readonly usage: number,
    readonly loader: LoaderPipeline,
    readonly views: ViewContext,
  ) {}

  /** Starts a frame: the whole upload budget is available again. */
  beginFrame(): void {
    this.#left = this.uploadBudgetBytes;
    this.#uploadedNow = 0;
  }

  /**
   * Serves `lane`'s heap in frame `frame` (the lane must have a pool).
   * @returns true when the upload budget is spent (later lanes get nothing this frame).
   */
  serve(lane: ChainLane<TextureResidency>, frame: number, stats: TextureStreamerFrameStatistics): boolean {
    const heap = lane.heap;
    const lifetime = this.requestLifetimeFrames;
    while (heap.length > 0) {
      if (this.#left <= 0) return true;
      const chain = heap.top();
      const r = chain.owner;
      if (frame - r.lastRequest >= lifetime) {
        // Not asked for lately: drop the request and the pixels loaded for it; a partial image stays.
        heap.pop();
        chain.data = null;
        continue;
      }
      if (!chain.needsWork()) {
        heap.pop();
        continue;
      }
      if (chain.data === null) {
        if (this.loader.full) return false;
        const base = chain.filling !== null ? chain.filling.base : chain.wantedBase();
        if (!this.loader.start(chain, base, stats) || chain.data === null) {
          // Failed (counted; the next request tries again), or asynchronous: back in the queue when it resolves.
          heap.pop();
          continue;
        }
      }
      let image = chain.filling;
      if (image === null) {
        image = this.#createImage(chain, chain.dataBase, stats);
        if (image === null) return false; // nothing more fits in this lane's pool: everything left is in use
      }
      if (!this.#upload(chain, image, chain.data!, chain.dataBase, stats)) return true;
      heap.pop();
      r.promote(chain);
      if (chain.needsWork() && frame - r.lastRequest < lifetime) heap.push(chain);
    }
    return false;
  }

  /**
   * Uploads the missing mips of `image` from `data` (per mip from `dataBase`), smallest first, within what is left of
   * the frame's upload budget. One mip larger than the budget goes when it is the first of the frame.
   * @returns true when the image is complete; false when the budget is spent first.
   */
  #upload(
    chain: MipChain<TextureResidency>,
    image: ChainImage,
    data: Uint8Array[],
    dataBase: number,
    stats: TextureStreamerFrameStatistics,
  ): boolean {
    // First the mips that fit, [to, from); then their uploads in one timed stretch (uploadUs holds only the calls).
    const from = image.uploadedFrom;
    let to = from;
    let left = this.#left;
    let bytes = 0;
    while (to > image.base && left > 0) {
      const n = data[to - 1 - dataBase]!.length;
      if (n > left && this.#uploadedNow + bytes > 0) {
        left = 0;
        break;
      }
      left -= n;
      bytes += n;
      to--;
    }
    if (to < from) {
      const { base, texture } = image;
      const region = this.#region;
      const uploadStart = performance.now();
      for (let m = from - 1; m >= to; m--) {
        region.mipLevel = m - base;
        this.frames.uploadImage(texture, data[m - dataBase]!, region);
      }
      stats.uploadUs += (performance.now() - uploadStart) * 1000;
      stats.uploads += from - to;
      stats.uploadedBytes += bytes;
      this.#uploadedNow += bytes;
      chain.owner.uploaded(image, to);
    }
    this.#left = left;
    image.allocation.touch();
    return image.uploadedFrom === image.base;
  }

  /**
   * Creates the image for mips [base, mipLevels) of `chain` in its lane's pool, making cold images of that pool lost
   * if needed, and attaches it to the chain. Null (counted as outOfBudget) when nothing more fits.
   * @throws VkError other than out of device memory.
   */
  #createImage(
    chain: MipChain<TextureResidency>,
    base: number,
    stats: TextureStreamerFrameStatistics,
  ): ChainImage | null {
    const r = chain.owner;
    let texture: Texture;
    const start = performance.now();
    try {
      texture = this.frames.createTexture({
        label: `${r.label} ${chain.lane.name} ${base}+`,
        width: mipExtent(r.width, base),
        height: mipExtent(r.height, base),
        format: r.format,
        mipLevels: r.mipLevels - base,
        usage: this.usage,
        memory: { pool: chain.lane.pool!, canBecomeLost: true, canMakeOtherLost: true },
      });
    } catch (error) {
      if (!(error instanceof OutOfDeviceMemoryError)) throw error;
      stats.outOfBudget++;
      return null;
    } finally {
      stats.createUs += (performance.now() - start) * 1000;
    }
    stats.creates++;
    const image = new ChainImage(texture, base, r.mipLevels, r.label, this.views);
    r.attach(chain, image);
    return image;
  }
}
