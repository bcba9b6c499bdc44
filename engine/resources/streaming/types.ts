/**
 * The public types of the texture streamer: what `TextureStreamer.register` and `createTextureStreamer`
 * take, what `TextureStreamer.show` returns, and the statistics. Types only: this module holds no state and
 * imports nothing of the package at run time, so every module of the folder may import it.
 * @module
 */
import type { NvkHandle } from "../../vulkan/handles.js";
import type { Texture } from "../texture.js";

/** Pixels of a mip range: one buffer with the mips one after another (finest first), or one buffer per mip. */
export type MipData = ArrayBufferView | ArrayBuffer | readonly (ArrayBufferView | ArrayBuffer)[];

/**
 * Produces the pixels of mips `firstMip` to `firstMip + mipCount - 1` (the last is always the smallest mip), tightly
 * packed rows, finest mip first; synchronously or as a promise.
 */
export type MipLoader = (firstMip: number, mipCount: number) => MipData | PromiseLike<MipData>;

/** What `TextureStreamer.register` takes. */
export interface StreamedTextureDescription {
  label: string;
  width: number;
  height: number;
  /** A colour VkFormat that engine/vulkan/formats.ts knows. */
  format: number;
  /** Default: the full chain down to 1x1. */
  mipLevels?: number;
  load: MipLoader;
  /** Higher is streamed first (default 0). Equal priorities go in the order they were first requested. */
  priority?: number;
}

/** Options of `createTextureStreamer`. */
export interface TextureStreamerOptions {
  /**
   * The memory budget in bytes. Default: from VK_EXT_memory_budget, the heap size limit, or VMA's estimate. A value
   * above the allocator's heap size limit for the streamer's heap is lowered to that limit.
   */
  budgetBytes?: number;
  /** Share of the heap's budget taken when `budgetBytes` and a heap size limit are absent (default 0.5). */
  budgetFraction?: number;
  /** Bytes uploaded per frame at most (default 4 MiB; one mip is always allowed). */
  uploadBudgetBytes?: number;
  /**
   * Size of the streamed images' pool's blocks (default: the pool's share of the budget in equal blocks of at most
   * 32 MiB); no texture may be larger. It must not exceed that share.
   */
  blockSize?: number;
  /**
   * Mips no larger than this many texels on the larger side form a texture's resident tail (default 32; 0: no tails,
   * a lost texture shows the placeholder).
   */
  tailSize?: number;
  /** Share of the budget given to the tail pool (default 0.125; ignored when tailSize is 0). */
  tailBudgetFraction?: number;
  /** Frames after its last use during which an image is not taken (default framesInFlight - 1, the minimum). */
  frameInUseCount?: number;
  /** Asynchronous loads in flight at most (default 16). */
  maxLoadsInFlight?: number;
  /** A request not renewed for this many frames is dropped from the queue (default 2). */
  requestLifetimeFrames?: number;
  /** What a texture with nothing resident shows (default: the streamer's own 4x4 magenta and black checker). */
  placeholder?: Texture;
  /** VkImageUsageFlags of the images beyond TRANSFER (default SAMPLED). */
  usage?: number;
  /** A label for messages and the pool's name. */
  label?: string;
  /**
   * Allocate the whole budget's blocks at creation and keep them (default false: blocks come as textures need them
   * and VMA frees a second empty one). Spares the frames the cost of vkAllocateMemory, at the price of holding the
   * budget from the start.
   */
  preallocate?: boolean;
}

/** What a texture can show in the frame being recorded: `TextureStreamer.show`. */
export interface TextureShow {
  /** The VkImageView to sample: over the resident mips (of the large image or of the tail), or the placeholder's. */
  readonly view: NvkHandle;
  /** The Texture behind the view (the placeholder when nothing is resident). */
  readonly texture: Texture;
  /** The finest resident mip, as a mip index of the registered description (0 is full size). -1 for the placeholder. */
  readonly firstMip: number;
  /** The smallest resident mip (mipLevels - 1), or -1 for the placeholder. */
  readonly lastMip: number;
  /** Level `firstMip` is the view's level 0: add it to LOD computations, or use the view's own mips. */
  readonly placeholder: boolean;
}

/** What the streamer did in one `update()`, and where it stands after it. */
export interface TextureStreamerFrameStatistics {
  /** The allocator's frame index of the update. */
  frameIndex: number;
  /** Textures with at least one mip resident (in a large image or a tail). */
  residentTextures: number;
  /** Bytes of the streamed (large) images alive (VMA allocation sizes); tails are in tailBytes. */
  residentBytes: number;
  /** Tails alive (complete or being filled), and their bytes (VMA allocation sizes). */
  tails: number;
  tailBytes: number;
  /** Tails made lost during the frame (the tail pool was full). */
  tailsEvicted: number;
  /** Textures that `show()` gave the placeholder in this frame (counted once each, as show() is called). */
  placeholders: number;
  /** Textures requested this frame. */
  requested: number;
  /** Large images made lost (evicted) during the frame. */
  evicted: number;
  /** Their bytes. */
  evictedBytes: number;
  /** Mip uploads issued. */
  uploads: number;
  /** Their bytes. */
  uploadedBytes: number;
  /** Requests waiting: tails and large images queued for upload, or being loaded. */
  pendingRequests: number;
  /** Asynchronous loads in flight. */
  loadsInFlight: number;
  /** Image creations that did not fit even after eviction (everything left was in use). */
  outOfBudget: number;
  /** Loader calls that threw, rejected, or gave data of the wrong size, during the frame. */
  loadErrors: number;
  /** The budget in bytes (both pools' block counts times their block sizes). */
  budgetBytes: number;
  /** Bytes of both pools' blocks now. */
  budgetUsedBytes: number;
  /** Of those, the tail pool's. */
  tailPoolBytes: number;
  /** budgetUsedBytes / budgetBytes. */
  budgetUse: number;
  /** CPU microseconds spent in `update()`. */
  updateUs: number;
  /** Of those, microseconds inside `FrameManager.uploadImage` (copying pixels into the staging ring). */
  uploadUs: number;
  /** Of those, microseconds inside `FrameManager.createTexture` (VMA and the driver; evictions it caused included). */
  createUs: number;
  /** Images `FrameManager.createTexture` made for the streamer during the frame (what `createUs` paid for). */
  creates: number;
}

/** Totals since creation. */
export interface TextureStreamerStatistics {
  registered: number;
  residentTextures: number;
  residentBytes: number;
  tails: number;
  tailBytes: number;
  evicted: number;
  evictedBytes: number;
  tailsEvicted: number;
  uploads: number;
  uploadedBytes: number;
  loads: number;
  loadErrors: number;
  budgetBytes: number;
}
