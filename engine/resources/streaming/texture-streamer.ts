/**
 * TextureStreamer: textures whose pixels come and go under a memory budget, built on lost allocations
 * (engine/memory/lost-allocations.ts) and the FrameManager's upload ring.
 *
 * The application registers each texture once, with its full description (extent, format, mip count), a loader that
 * produces the pixels of a mip range (synchronously or as a promise) and a priority. Every frame it reports the
 * textures it will sample with {@link TextureStreamer.request} (optionally the finest mip it needs), calls
 * {@link TextureStreamer.update} once, and asks {@link TextureStreamer.show} what each texture can show: a view and
 * the resident mip range, or the placeholder.
 *
 * How it works, and the invariants:
 *
 * - Residency. A texture's pixels live in one image holding the mips from the finest requested one (its `base`) down
 *   to the smallest: a texture asked for at mip 2 never pays for mips 0 and 1. Mips are uploaded smallest first, so
 *   a texture being streamed shows its lowest mips early; `show()` then returns a view over only the uploaded mips.
 *   When a finer mip is asked for, a second image with more mips is filled beside the first, which stays on show
 *   until the new one is complete.
 * - Memory. Every streamed image is allocated from one custom pool of DEVICE_LOCAL memory (requiredFlags, so that a
 *   discrete GPU never places it in host memory) whose blocks add up to at most the budget: VK_EXT_memory_budget's
 *   budget for that heap times `budgetFraction` when the extension is there, else the heap size limit the allocator
 *   was made with, else VMA's estimate times `budgetFraction`; or `budgetBytes`, lowered to the heap size limit
 *   when there is one below it (the streamer fits itself to the heap rather than refusing). The pool's block count is the hard
 *   limit, so memory never goes above the budget. Images are created `canBecomeLost` and `canMakeOtherLost`: a new
 *   one that does not fit makes the least recently used images lost, never one used in the last frameInUseCount
 *   frames (the pool's, framesInFlight - 1 by default, so the GPU is done with whatever is taken).
 * - Use. `request()` touches the texture's images (O(1), the allocator's LRU move) and `show()` touches and marks
 *   used what it returns; uploading touches too. An image shown or requested in frame F therefore cannot be lost
 *   before F + frameInUseCount + 1, by which time the frame that sampled it has completed: no lost texture is ever
 *   sampled.
 * - Losing. The image's `onLost` destroys the streamer's partial views and the Texture (its default view and its
 *   VkImage), marks the texture non-resident and counts the eviction; the next request streams it again.
 * - Mip tails. Every requested texture also keeps a small tail image holding its smallest mips, those no larger than
 *   `tailSize` texels on the larger side (a texture no larger than that is all tail and has no other image), in a
 *   second pool of the same DEVICE_LOCAL memory type. The budget is split: `tailBudgetFraction` of it for the tail
 *   pool, the rest for the streamed images' pool; the two pools' blocks together never exceed the budget. Tails are
 *   lost-able too, but only compete with other tails, so a tail goes only when the tail pool is full, least recently
 *   used texture first (request() touches the tail too; show() when it returns it). `show()` gives the resident image; else the finer
 *   of a filling image's uploaded mips and the tail; else the placeholder. So a texture whose large image was lost
 *   shows its tail until the large image is streamed again, and shows the placeholder only when its tail is gone
 *   too. The large images keep their whole chain down to the smallest mip (one view samples one image), so the tail
 *   mips exist twice while both are resident: a few KiB per texture. A request for a mip the tail holds needs no
 *   large image. Tails are queued apart and uploaded before large images within the same upload budget: a tail is
 *   cheap and removes a placeholder.
 * - Per-frame cost grows with what changes, not with what is registered: requests are O(1) each; pending work sits in
 *   two binary heaps, tails and large images (priority, then first request), with lazy removal of requests not renewed for
 *   `requestLifetimeFrames`; eviction is the allocator's walk from the cold end of the pool's LRU list. Nothing
 *   iterates the registered textures except `destroy()`.
 * - Uploads go through `FrameManager.uploadImage` within `uploadBudgetBytes` per frame; one mip larger than the
 *   whole budget is still uploaded when it is the first of the frame, so every requested texture becomes resident
 *   within a bounded number of frames (its bytes over the budget, plus the queue ahead of it).
 * - Frames. `update()` must run inside a frame (between beginFrame and endFrame), so that uploads and the frame index
 *   agree. The streamer owns its pool, images, views and (unless given one) its placeholder; `destroy()` releases
 *   them through the frame manager's release queue. Destroy the streamer before the frame manager.
 * @module
 */
import { DestroyedResourceError, OutOfDeviceMemoryError, describeValue } from "../../errors.js";
import { creationStack, lifetimeName, unwatch, watch } from "../../lifetime.js";
import { checkBytes, isDetached, isOptionsObject } from "../../checks.js";
import type { Allocation } from "../../memory/allocation.js";
import type { Allocator, ImageInfo } from "../../memory/allocator.js";
import type { Pool } from "../../memory/pool.js";
import { MemoryPropertyFlags, MemoryUsage } from "../../memory/usage.js";
import { formatInfo, mipExtent, regionBytes, type FormatInfo } from "../../vulkan/formats.js";
import type { NvkHandle } from "../../vulkan/handles.js";
import { nvk } from "../../vulkan/nvk.js";
import type { FrameManager } from "../frame-manager.js";
import { Texture } from "../texture.js";
import { ALLOCATOR_EXT_MEMORY_BUDGET, FORMAT_R8G8B8A8_UNORM, IMAGE_USAGE_SAMPLED, IMAGE_USAGE_TRANSFER, OBJECT_TYPE_IMAGE_VIEW, VIEW_TYPE_2D } from "../../vulkan/vk.js";

/** Pixels of a mip range: one buffer with the mips one after another (finest first), or one buffer per mip. */
export type MipData = ArrayBufferView | ArrayBuffer | readonly (ArrayBufferView | ArrayBuffer)[];

/**
 * Produces the pixels of mips `firstMip` to `firstMip + mipCount - 1` (the last is always the smallest mip), tightly
 * packed rows, finest mip first; synchronously or as a promise.
 */
export type MipLoader = (firstMip: number, mipCount: number) => MipData | PromiseLike<MipData>;

/** What {@link TextureStreamer.register} takes. */
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

/** Options of {@link createTextureStreamer}. */
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

/** What a texture can show in the frame being recorded: {@link TextureStreamer.show}. */
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

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  "budgetBytes", "budgetFraction", "uploadBudgetBytes", "blockSize", "frameInUseCount", "maxLoadsInFlight",
  "requestLifetimeFrames", "placeholder", "usage", "label", "preallocate", "tailSize", "tailBudgetFraction",
]);
const KNOWN_DESC: ReadonlySet<string> = new Set(["label", "width", "height", "format", "mipLevels", "load", "priority"]);
const MiB = 1024 * 1024;

/** One image of a streamed texture: resident, or being filled. */
class ImageSlot {
  /** The finest mip of the description it holds (its level 0). */
  readonly base: number;
  /** The finest mip uploaded so far (mipLevels while none). */
  uploadedFrom: number;
  /** A view over [uploadedFrom, mipLevels) while partial, and the uploadedFrom it was made for. */
  partialView: NvkHandle | null = null;
  partialFrom = -1;
  readonly show: { view: NvkHandle; texture: Texture; firstMip: number; lastMip: number; placeholder: boolean };

  constructor(
    readonly texture: Texture,
    readonly allocation: Allocation,
    readonly bytes: number,
    base: number,
    mipLevels: number,
  ) {
    this.base = base;
    this.uploadedFrom = mipLevels;
    this.show = { view: texture.view, texture, firstMip: -1, lastMip: mipLevels - 1, placeholder: false };
  }
}

/**
 * A texture registered with a {@link TextureStreamer}: its description and where its streaming stands. Made by
 * {@link TextureStreamer.register}; released by {@link StreamedTexture.destroy} (or with its streamer).
 */
export class StreamedTexture {
  readonly label: string;
  readonly width: number;
  readonly height: number;
  readonly format: number;
  readonly mipLevels: number;
  readonly priority: number;
  /** The finest mip its resident tail holds (every mip from it on is no larger than the streamer's tailSize); mipLevels when it has no tail. */
  readonly tailFirstMip: number;
  /** @internal */
  readonly _streamer: TextureStreamer;
  /** @internal */
  readonly _load: MipLoader;
  /** @internal */
  readonly _info: FormatInfo;
  /** @internal Bytes of each mip. */
  readonly _mipBytes: Int32Array;
  /** @internal The complete image on show, if any. */
  _resident: ImageSlot | null = null;
  /** @internal An image being filled (first load, or more mips than the resident one). */
  _next: ImageSlot | null = null;
  /** @internal Loaded pixels for _next (per mip, from _dataBase), kept until the image is complete. */
  _data: Uint8Array[] | null = null;
  _dataBase = 0;
  /** @internal An asynchronous load is in flight; its generation (a newer one supersedes older results). */
  _loading = false;
  _loadGeneration = 0;
  /** @internal Frame index of the last request, and the finest mip asked in it. */
  _lastRequest = -Infinity;
  _wantMip = 0;
  /** @internal Position in the streamer's heap (-1: not queued) and order of first request. */
  _heapIndex = -1;
  _sequence = 0;
  /** @internal The tail image (complete or being filled), its loaded pixels, its load, its place in the tail heap. */
  _tail: ImageSlot | null = null;
  _tailData: Uint8Array[] | null = null;
  _tailLoading = false;
  _tailLoadGeneration = 0;
  _tailHeapIndex = -1;
  _tailSequence = 0;
  /** @internal The last frame show() gave it the placeholder (counted once per frame). */
  _placeholderFrame = -1;
  /** @internal */
  _destroyed = false;
  /** The last error of its loader (thrown, rejected, or data of the wrong size), or null. */
  lastLoadError: unknown = null;

  /** @internal Use TextureStreamer.register. */
  constructor(streamer: TextureStreamer, desc: StreamedTextureDescription, mipLevels: number, info: FormatInfo, priority: number, tailSize: number) {
    this._streamer = streamer;
    this.label = desc.label;
    this.width = desc.width;
    this.height = desc.height;
    this.format = desc.format;
    this.mipLevels = mipLevels;
    this.priority = priority;
    this._load = desc.load;
    this._info = info;
    this._mipBytes = new Int32Array(mipLevels);
    for (let m = 0; m < mipLevels; m++) this._mipBytes[m] = regionBytes(info, mipExtent(desc.width, m), mipExtent(desc.height, m));
    let tail = 0;
    while (tail < mipLevels && Math.max(mipExtent(desc.width, tail), mipExtent(desc.height, tail)) > tailSize) tail++;
    this.tailFirstMip = tail;
  }

  /** Whether {@link destroy} (or the streamer's) has run. */
  get destroyed(): boolean {
    return this._destroyed;
  }

  /** Whether at least one mip is resident (in a large image or the tail). */
  get resident(): boolean {
    return (
      this._resident !== null ||
      (this._next !== null && this._next.uploadedFrom < this.mipLevels) ||
      (this._tail !== null && this._tail.uploadedFrom < this.mipLevels)
    );
  }

  /** The finest resident mip, or -1 when none is. */
  get firstResidentMip(): number {
    if (this._resident !== null) return this._resident.uploadedFrom;
    let best = this.mipLevels;
    if (this._next !== null && this._next.uploadedFrom < best) best = this._next.uploadedFrom;
    if (this._tail !== null && this._tail.uploadedFrom < best) best = this._tail.uploadedFrom;
    return best < this.mipLevels ? best : -1;
  }

  /** Whether its whole tail (mips tailFirstMip to mipLevels - 1) is resident. */
  get tailResident(): boolean {
    return this._tail !== null && this._tail.uploadedFrom === this._tail.base;
  }

  /**
   * The tail's image (its level 0 is mip tailFirstMip), complete or being filled, or null: for reading back and
   * statistics. It belongs to the streamer: never destroy it, and do not keep it past the frame (it may be lost).
   */
  get tailTexture(): Texture | null {
    return this._tail !== null ? this._tail.texture : null;
  }

  /** Unregisters the texture and releases its images (after the frames that used them). A second call does nothing. */
  destroy(): void {
    if (this._destroyed) return;
    this._streamer._unregister(this);
  }
}

/**
 * Creates a {@link TextureStreamer} over a frame manager.
 * @throws TypeError / RangeError for bad options; RangeError when the allocator's or the given frameInUseCount is
 *   below framesInFlight - 1 (images could be taken while the GPU still reads them).
 * @throws VkError when the pool or the placeholder cannot be created.
 */
export function createTextureStreamer(frames: FrameManager, options?: TextureStreamerOptions): TextureStreamer {
  return new TextureStreamer(frames, options);
}

/**
 * Streams registered textures under a memory budget; see the module comment. Made by {@link createTextureStreamer};
 * destroyed by {@link TextureStreamer.destroy}, or with its frame manager (engine/lifetime.ts).
 */
export class TextureStreamer {
  readonly label: string;
  /** The memory budget in bytes: both pools' block sizes times their block counts (at most the budget asked for). */
  readonly budgetBytes: number;
  /** The tail pool's share of it (0 without tails). */
  readonly tailBudgetBytes: number;
  /** Mips no larger than this (texels, larger side) form a texture's tail; 0: no tails. */
  readonly tailSize: number;
  /** The tail pool's block size (0 without tails): the largest tail it can hold. */
  readonly tailBlockSize: number;
  /** Where the budget came from. */
  readonly budgetSource: "option" | "memory-budget" | "heap-size-limit" | "heap-estimate";
  /** Bytes uploaded per frame at most (one mip is always allowed). */
  readonly uploadBudgetBytes: number;
  /** The streamed images' pool's block size: the largest texture it can hold. */
  readonly blockSize: number;
  /** The memory type of the streamed images. */
  readonly memoryTypeIndex: number;
  /** Frames after its last use during which an image is never taken. */
  readonly frameInUseCount: number;
  readonly frames: FrameManager;
  readonly #allocator: Allocator;
  readonly #device: NvkHandle;
  #pool: Pool | null;
  #tailPool: Pool | null = null;
  readonly #placeholder: Texture;
  readonly #ownsPlaceholder: boolean;
  readonly #placeholderShow: TextureShow;
  readonly #usage: number;
  readonly #maxLoads: number;
  readonly #lifetime: number;
  readonly #registered = new Set<StreamedTexture>();
  readonly #heap = new RequestHeap(false);
  readonly #tailHeap = new RequestHeap(true);
  #loadsInFlight = 0;
  #residentTextures = 0;
  #residentBytes = 0;
  #tails = 0;
  #tailBytes = 0;
  #requestedFrame = -1;
  #requested = 0;
  #frame: TextureStreamerFrameStatistics;
  #last: TextureStreamerFrameStatistics | null = null;
  readonly #totals = { evicted: 0, evictedBytes: 0, tailsEvicted: 0, uploads: 0, uploadedBytes: 0, loads: 0, loadErrors: 0 };
  /** Upload budget left in the update being run, and bytes uploaded in it. */
  #uploadLeft = 0;
  #uploadedNow = 0;

  /** Same as {@link createTextureStreamer}. */
  constructor(frames: FrameManager, options: TextureStreamerOptions = {}) {
    const op = "createTextureStreamer";
    if (frames === null || typeof frames !== "object" || typeof (frames as FrameManager).uploadImage !== "function") {
      throw new TypeError(`${op}: frames must be a FrameManager, got ${describeValue(frames)}`);
    }
    if (!isOptionsObject(options)) throw new TypeError(`${op}: options must be an object, got ${describeValue(options)}`);
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`${op}: unknown option '${key}' (value ${describeValue((options as Record<string, unknown>)[key])})`);
    }
    if (frames.destroyed) throw new DestroyedResourceError("FrameManager", frames.label, op);
    const positive = (name: keyof TextureStreamerOptions, fallback: number | undefined): number | undefined => {
      const v = options[name] === undefined ? fallback : options[name];
      if (v !== undefined && !(typeof v === "number" && Number.isSafeInteger(v) && v > 0)) {
        throw new RangeError(`${op}: option '${name}' must be a positive integer, got ${describeValue(v)}`);
      }
      return v as number | undefined;
    };
    const fraction = options.budgetFraction ?? 0.5;
    if (!(typeof fraction === "number" && fraction > 0 && fraction <= 1)) throw new RangeError(`${op}: option 'budgetFraction' must be a number in (0, 1], got ${describeValue(fraction)}`);
    const minimumInUse = frames.framesInFlight - 1;
    const frameInUseCount = options.frameInUseCount ?? minimumInUse;
    if (!(Number.isInteger(frameInUseCount) && frameInUseCount >= minimumInUse && frameInUseCount <= 1000)) {
      throw new RangeError(`${op}: option 'frameInUseCount' must be an integer from framesInFlight - 1 (${minimumInUse}) to 1000, got ${describeValue(frameInUseCount)}`);
    }
    if (options.preallocate !== undefined && typeof options.preallocate !== "boolean") throw new TypeError(`${op}: option 'preallocate' must be a boolean, got ${describeValue(options.preallocate)}`);
    if (options.label !== undefined && typeof options.label !== "string") throw new TypeError(`${op}: option 'label' must be a string, got ${describeValue(options.label)}`);
    const usage = options.usage ?? IMAGE_USAGE_SAMPLED;
    if (!(Number.isInteger(usage) && usage > 0 && usage <= 0x7fffffff)) throw new RangeError(`${op}: option 'usage' must be VkImageUsageFlags, got ${describeValue(usage)}`);
    this.label = options.label ?? "TextureStreamer";
    this.frames = frames;
    this.frameInUseCount = frameInUseCount;
    this.uploadBudgetBytes = positive("uploadBudgetBytes", 4 * MiB)!;
    this.#maxLoads = positive("maxLoadsInFlight", 16)!;
    this.#lifetime = positive("requestLifetimeFrames", 2)!;
    this.#usage = usage | IMAGE_USAGE_TRANSFER;
    const allocator = frames.allocator;
    this.#allocator = allocator;
    this.#device = frames.context.device;

    // The memory type of a typical streamed image in DEVICE_LOCAL memory, and the budget of its heap.
    const probe: ImageInfo = { format: FORMAT_R8G8B8A8_UNORM, extent: { width: 1024, height: 1024 }, mipLevels: 11, usage: this.#usage };
    this.memoryTypeIndex = allocator.findMemoryTypeIndexForImageInfo(probe, { usage: MemoryUsage.Auto, requiredFlags: MemoryPropertyFlags.DEVICE_LOCAL });
    const heap = allocator.memoryTypes[this.memoryTypeIndex]!.heapIndex;
    let budget: number;
    if (options.budgetBytes !== undefined) {
      budget = positive("budgetBytes", undefined)!;
      this.budgetSource = "option";
    } else if ((allocator.flags & ALLOCATOR_EXT_MEMORY_BUDGET) !== 0) {
      budget = Math.floor(allocator.getHeapBudgets()[heap]!.budget * fraction);
      this.budgetSource = "memory-budget";
    } else if (allocator.heapSizeLimits[heap]! > 0) {
      budget = allocator.heapSizeLimits[heap]!;
      this.budgetSource = "heap-size-limit";
    } else {
      budget = Math.floor(allocator.getHeapBudgets()[heap]!.budget * fraction);
      this.budgetSource = "heap-estimate";
    }
    // A heap size limit is a hard ceiling (VMA refuses any block beyond it): a budget asked above it is fitted to
    // it, so that the pools' blocks are sized for the heap that exists rather than refused at creation.
    const heapLimit = allocator.heapSizeLimits[heap]!;
    if (heapLimit > 0 && budget > heapLimit) budget = heapLimit;
    const tailSize = options.tailSize ?? 32;
    if (!(Number.isInteger(tailSize) && tailSize >= 0 && tailSize <= 16384)) throw new RangeError(`${op}: option 'tailSize' must be an integer from 0 to 16384, got ${describeValue(tailSize)}`);
    const tailFraction = options.tailBudgetFraction ?? 0.125;
    if (!(typeof tailFraction === "number" && tailFraction > 0 && tailFraction < 1)) throw new RangeError(`${op}: option 'tailBudgetFraction' must be a number in (0, 1), got ${describeValue(tailFraction)}`);
    // The tail pool's share first (in equal blocks of at most 4 MiB), the streamed images' pool gets the rest: the
    // two pools' blocks together never exceed the budget.
    const tailShare = tailSize > 0 ? Math.floor(budget * tailFraction) : 0;
    if (tailSize > 0 && tailShare < 64 * 1024) throw new RangeError(`${op}: the tail pool's share of the budget (${tailShare} bytes) is below 64 KiB: raise the budget or tailBudgetFraction, or set tailSize 0`);
    const mainShare = budget - tailShare;
    const evenBlocks = (share: number, most: number): number => Math.floor(share / Math.ceil(share / most));
    const blockSize = positive("blockSize", evenBlocks(mainShare, 32 * MiB))!;
    if (blockSize > mainShare) throw new RangeError(`${op}: option 'blockSize' (${blockSize}) must not exceed the streamed images' share of the budget (${mainShare} of ${budget} bytes)`);
    const blockCount = Math.floor(mainShare / blockSize);
    const tailBlockSize = tailShare > 0 ? evenBlocks(tailShare, 4 * MiB) : 0;
    const tailBlockCount = tailShare > 0 ? Math.floor(tailShare / tailBlockSize) : 0;
    this.blockSize = blockSize;
    this.tailSize = tailSize;
    this.tailBlockSize = tailBlockSize;
    this.tailBudgetBytes = tailBlockSize * tailBlockCount;
    this.budgetBytes = blockSize * blockCount + this.tailBudgetBytes;
    const preallocate = options.preallocate === true;
    this.#pool = allocator.createPool(
      { memoryTypeIndex: this.memoryTypeIndex },
      { blockSize, maxBlockCount: blockCount, minBlockCount: preallocate ? blockCount : 0, frameInUseCount, name: `${this.label} pool` },
    );
    this.#pool._ownedBy = this._lifetimeName;
    try {
      if (tailBlockCount > 0) {
        this.#tailPool = allocator.createPool(
          { memoryTypeIndex: this.memoryTypeIndex },
          { blockSize: tailBlockSize, maxBlockCount: tailBlockCount, minBlockCount: preallocate ? tailBlockCount : 0, frameInUseCount, name: `${this.label} tail pool` },
        );
        this.#tailPool._ownedBy = this._lifetimeName;
      }
      if (options.placeholder !== undefined) {
        if (!(options.placeholder instanceof Texture) || options.placeholder.destroyed) {
          throw new TypeError(`${op}: option 'placeholder' must be a live Texture, got ${describeValue(options.placeholder)}`);
        }
        this.#placeholder = options.placeholder;
        this.#ownsPlaceholder = false;
      } else {
        this.#placeholder = this.#makePlaceholder();
        this.#ownsPlaceholder = true;
      }
    } catch (error) {
      for (const p of [this.#pool, this.#tailPool]) {
        if (p === null) continue;
        p._ownedBy = null;
        p.destroy();
      }
      throw error;
    }
    const placeholder = this.#placeholder;
    this.#placeholderShow = Object.freeze({ view: placeholder.view, texture: placeholder, firstMip: -1, lastMip: -1, placeholder: true });
    this.#frame = this.#emptyStatistics(-1);
    frames._dependents.add(this);
    watch(this, "TextureStreamer", this.label, creationStack(frames.allocator._capturesStacks));
  }

  /** The ancestor whose destroy() took it along (its FrameManager, or what destroyed that), once that happened. */
  #goneCause: string | undefined = undefined;

  /** @internal What reports and errors call it: "TextureStreamer 'label'". */
  get _lifetimeName(): string {
    return lifetimeName("TextureStreamer", this.label);
  }

  /** @internal Its frame manager is being destroyed on behalf of `cause` (engine/lifetime.ts). */
  _destroyWithParent(cause: string): void {
    if (this.#pool === null) return;
    this.#goneCause = cause;
    this.destroy();
  }

  #makePlaceholder(): Texture {
    const texture = this.frames.createTexture({ label: `${this.label} placeholder`, width: 4, height: 4, format: FORMAT_R8G8B8A8_UNORM });
    const pixels = new Uint8Array(4 * 4 * 4);
    for (let i = 0; i < 16; i++) {
      const on = ((i & 3) + (i >> 2)) % 2 === 0;
      pixels.set(on ? [255, 0, 255, 255] : [0, 0, 0, 255], i * 4);
    }
    this.frames.uploadImage(texture, pixels);
    return texture;
  }

  #emptyStatistics(frameIndex: number): TextureStreamerFrameStatistics {
    return {
      frameIndex,
      residentTextures: this.#residentTextures,
      residentBytes: this.#residentBytes,
      tails: this.#tails,
      tailBytes: this.#tailBytes,
      tailsEvicted: 0,
      placeholders: 0,
      requested: 0,
      evicted: 0,
      evictedBytes: 0,
      uploads: 0,
      uploadedBytes: 0,
      pendingRequests: this.#heap.length + this.#loadsInFlight,
      loadsInFlight: this.#loadsInFlight,
      outOfBudget: 0,
      loadErrors: 0,
      budgetBytes: this.budgetBytes,
      budgetUsedBytes: 0,
      tailPoolBytes: 0,
      budgetUse: 0,
      updateUs: 0,
      uploadUs: 0,
      createUs: 0,
    };
  }

  /** The statistics object of frame `frame`, made when the frame's first event comes. */
  #statisticsOf(frame: number): TextureStreamerFrameStatistics {
    return this.#frame.frameIndex === frame ? this.#frame : (this.#frame = this.#emptyStatistics(frame));
  }

  #live(operation: string): Pool {
    const pool = this.#pool;
    if (pool === null) throw new DestroyedResourceError("TextureStreamer", this.label, operation, this.#goneCause);
    return pool;
  }

  /** Whether destroy() has run. */
  get destroyed(): boolean {
    return this.#pool === null;
  }

  /** The placeholder texture shown for textures with nothing resident. */
  get placeholder(): Texture {
    this.#live("placeholder");
    return this.#placeholder;
  }

  /** The pool the streamed (large) images live in (for statistics; do not allocate from it; it refuses destroy()). */
  get pool(): Pool {
    return this.#live("pool");
  }

  /** The pool the tails live in (for statistics; do not allocate from it), or null when tailSize is 0. */
  get tailPool(): Pool | null {
    this.#live("tailPool");
    return this.#tailPool;
  }

  /**
   * Registers a texture. Nothing is loaded until it is requested.
   * @throws TypeError / RangeError for a bad description (unknown option, a format vkmem does not know or that is not
   *   a colour format, a texture larger than the pool's block size, a loader that is not a function).
   * @throws DestroyedResourceError after destroy().
   */
  register(desc: StreamedTextureDescription): StreamedTexture {
    this.#live("register");
    const op = `TextureStreamer '${this.label}'.register`;
    if (!isOptionsObject(desc)) throw new TypeError(`${op}: desc must be an object, got ${describeValue(desc)}`);
    for (const key of Object.keys(desc)) {
      if (!KNOWN_DESC.has(key)) throw new TypeError(`${op}: desc has an unknown field '${key}' (value ${describeValue((desc as unknown as Record<string, unknown>)[key])})`);
    }
    if (typeof desc.label !== "string" || desc.label.length === 0 || desc.label.includes("\0")) {
      throw new TypeError(`${op}: desc.label must be a non-empty string without NUL, got ${describeValue(desc.label)}`);
    }
    for (const name of ["width", "height"] as const) {
      const v = desc[name];
      if (!(Number.isInteger(v) && v >= 1 && v <= 16384)) throw new RangeError(`${op}: desc.${name} must be an integer from 1 to 16384, got ${describeValue(v)}`);
    }
    const info = formatInfo(desc.format);
    if (info === undefined || info.aspect !== 1) {
      throw new RangeError(`${op}: desc.format must be a colour VkFormat vkmem knows (engine/vulkan/formats.ts), got ${describeValue(desc.format)}`);
    }
    const maxMips = Math.floor(Math.log2(Math.max(desc.width, desc.height))) + 1;
    const mipLevels = desc.mipLevels ?? maxMips;
    if (!(Number.isInteger(mipLevels) && mipLevels >= 1 && mipLevels <= maxMips)) {
      throw new RangeError(`${op}: desc.mipLevels must be an integer from 1 to ${maxMips} for ${desc.width}x${desc.height}, got ${describeValue(desc.mipLevels)}`);
    }
    if (typeof desc.load !== "function") throw new TypeError(`${op}: desc.load must be a function (firstMip, mipCount) => pixels, got ${describeValue(desc.load)}`);
    const priority = desc.priority ?? 0;
    if (!(typeof priority === "number" && Number.isFinite(priority))) throw new RangeError(`${op}: desc.priority must be a finite number, got ${describeValue(priority)}`);
    const texture = new StreamedTexture(this, desc, mipLevels, info, priority, this.#tailPool !== null ? this.tailSize : 0);
    let total = 0;
    let tail = 0;
    for (let m = 0; m < mipLevels; m++) {
      total += texture._mipBytes[m]!;
      if (m >= texture.tailFirstMip) tail += texture._mipBytes[m]!;
    }
    if (texture.tailFirstMip > 0 && total > this.blockSize) {
      throw new RangeError(`${op}: texture '${desc.label}' needs ${total} bytes with all its mips, more than the pool's block size (${this.blockSize}); raise blockSize`);
    }
    if (tail > this.tailBlockSize) {
      throw new RangeError(`${op}: texture '${desc.label}' needs ${tail} bytes for its tail (mips ${texture.tailFirstMip} to ${mipLevels - 1}), more than the tail pool's block size (${this.tailBlockSize}); raise the budget or tailBudgetFraction, or lower tailSize`);
    }
    this.#registered.add(texture);
    return texture;
  }

  /** @internal StreamedTexture.destroy(). */
  _unregister(texture: StreamedTexture): void {
    texture._destroyed = true;
    this.#registered.delete(texture);
    if (texture._heapIndex >= 0) this.#heap.remove(texture);
    if (texture._tailHeapIndex >= 0) this.#tailHeap.remove(texture);
    texture._data = null;
    texture._tailData = null;
    if (texture._resident !== null) this.#release(texture, texture._resident);
    if (texture._next !== null) this.#release(texture, texture._next);
    if (texture._tail !== null) this.#release(texture, texture._tail);
  }

  /**
   * Reports that the frame being recorded will sample `texture`, at mips `mip` and smaller (default 0: full size).
   * Keeps what is resident from being evicted and queues what is missing. O(1) (O(log n) when it queues).
   * @throws TypeError for a texture not registered here; RangeError for a bad mip; DestroyedResourceError for a
   *   destroyed texture or streamer.
   */
  request(texture: StreamedTexture, mip = 0): void {
    this.#checkTexture(texture, "request");
    if (!(Number.isInteger(mip) && mip >= 0 && mip < texture.mipLevels)) {
      throw new RangeError(`TextureStreamer '${this.label}'.request: mip must be an integer from 0 to ${texture.mipLevels - 1} for '${texture.label}', got ${describeValue(mip)}`);
    }
    const frame = this.#allocator.currentFrameIndex;
    if (frame !== this.#requestedFrame) {
      this.#requestedFrame = frame;
      this.#requested = 0;
    }
    if (texture._lastRequest !== frame) {
      texture._lastRequest = frame;
      texture._wantMip = mip;
      this.#requested++;
    } else if (mip < texture._wantMip) {
      texture._wantMip = mip;
    }
    const resident = texture._resident;
    if (resident !== null) resident.allocation.touch();
    const next = texture._next;
    if (next !== null) next.allocation.touch();
    const tail = texture._tail;
    if (tail !== null) tail.allocation.touch();
    if (
      texture._tailHeapIndex < 0 &&
      !texture._tailLoading &&
      texture.tailFirstMip < texture.mipLevels &&
      (tail === null || tail.uploadedFrom > tail.base)
    ) {
      this.#tailHeap.push(texture);
    }
    if (
      texture._heapIndex < 0 &&
      !texture._loading &&
      (next !== null || (texture._wantMip < texture.tailFirstMip && (resident === null || resident.base > texture._wantMip)))
    ) {
      this.#heap.push(texture);
    }
  }

  /**
   * What `texture` can show in the frame being recorded: a view over its resident mips, or the placeholder. Marks
   * what it returns used by this frame (so it is neither evicted nor destroyed while the frame may sample it). The
   * returned object belongs to the streamer and changes with later calls: read it now.
   * @throws TypeError for a texture not registered here; DestroyedResourceError for a destroyed texture or streamer.
   */
  show(texture: StreamedTexture): TextureShow {
    this.#checkTexture(texture, "show");
    // Only what is returned is touched and marked used: a tail behind a large image is never sampled (request()
    // keeps it warm in the LRU).
    const tail = texture._tail;
    let slot = texture._resident;
    if (slot === null) {
      // The finer of a filling image's uploaded mips and the tail's.
      const next = texture._next;
      const tailFrom = tail !== null ? tail.uploadedFrom : texture.mipLevels;
      if (next !== null && next.uploadedFrom < tailFrom) slot = next;
      else if (tail !== null && tailFrom < texture.mipLevels) slot = tail;
      else {
        const frame = this.#allocator.currentFrameIndex;
        if (texture._placeholderFrame !== frame) {
          texture._placeholderFrame = frame;
          this.#statisticsOf(frame).placeholders++;
        }
        return this.#placeholderShow;
      }
    }
    slot.allocation.touch();
    slot.texture.markUsed();
    const show = slot.show;
    if (slot.uploadedFrom === slot.base) {
      show.view = slot.texture.view;
    } else {
      if (slot.partialFrom !== slot.uploadedFrom) this.#remakePartialView(texture, slot);
      show.view = slot.partialView!;
    }
    show.firstMip = slot.uploadedFrom;
    return show;
  }

  #remakePartialView(texture: StreamedTexture, slot: ImageSlot): void {
    this.#dropPartialView(slot, false);
    const view = new nvk.VkImageView();
    const info = new nvk.VkImageViewCreateInfo({
      image: slot.texture.image,
      viewType: VIEW_TYPE_2D,
      format: texture.format,
      subresourceRange: new nvk.VkImageSubresourceRange({
        aspectMask: 1,
        baseMipLevel: slot.uploadedFrom - slot.base,
        levelCount: texture.mipLevels - slot.uploadedFrom,
        baseArrayLayer: 0,
        layerCount: 1,
      }),
    });
    const result = nvk.vkCreateImageView(this.#device, info, null, view);
    if (result < 0) throw new Error(`TextureStreamer '${this.label}': vkCreateImageView for '${texture.label}' failed (${result})`);
    this.frames.context.setObjectName(OBJECT_TYPE_IMAGE_VIEW, view, `${texture.label} mips ${slot.uploadedFrom}+`);
    slot.partialView = view;
    slot.partialFrom = slot.uploadedFrom;
  }

  /** Destroys a slot's partial view: at once (`now`, the image is being lost) or after the frames that used it. */
  #dropPartialView(slot: ImageSlot, now: boolean): void {
    const view = slot.partialView;
    if (view === null) return;
    slot.partialView = null;
    slot.partialFrom = -1;
    const device = this.#device;
    if (now) nvk.vkDestroyImageView(device, view, null);
    else this.frames.destroyLater("partial view", 0, () => nvk.vkDestroyImageView(device, view, null), slot.texture.lastUsedSerial);
  }

  #checkTexture(texture: StreamedTexture, op: string): void {
    this.#live(op);
    if (!(texture instanceof StreamedTexture) || texture._streamer !== this) {
      throw new TypeError(`TextureStreamer '${this.label}'.${op}: texture must be a StreamedTexture registered with this streamer, got ${describeValue(texture)}`);
    }
    if (texture._destroyed) throw new DestroyedResourceError("StreamedTexture", texture.label, op);
  }

  /**
   * Streams: starts loads and uploads mips of the queued textures, highest priority first, within the per-frame
   * upload budget, creating images (which may evict cold ones). Call it once per frame, inside the frame, after the
   * frame's requests (requests made after it are served in the next frame).
   * @returns this frame's statistics (a new object per frame).
   * @throws Error outside a frame; DestroyedResourceError after destroy(). Loader failures are not thrown: they are
   *   counted and kept in the texture's `lastLoadError`.
   */
  update(): TextureStreamerFrameStatistics {
    const pool = this.#live("update");
    if (this.frames.currentFrame === null) throw new Error(`TextureStreamer '${this.label}'.update: no frame is being recorded: call it between beginFrame() and endFrame()`);
    const start = performance.now();
    const frame = this.#allocator.currentFrameIndex;
    const stats = this.#statisticsOf(frame);
    stats.requested = this.#requestedFrame === frame ? this.#requested : 0;
    this.#uploadLeft = this.uploadBudgetBytes;
    this.#uploadedNow = 0;
    let spent = false;
    // Tails first: a few KiB each, and each one removes a placeholder.
    const tails = this.#tailHeap;
    const tailPool = this.#tailPool;
    while (tailPool !== null && tails.length > 0) {
      if (this.#uploadLeft <= 0) {
        spent = true;
        break;
      }
      const t = tails.top();
      if (frame - t._lastRequest >= this.#lifetime) {
        tails.pop();
        t._tailData = null;
        continue;
      }
      let tail = t._tail;
      if (tail !== null && tail.uploadedFrom === tail.base) {
        tails.pop();
        continue;
      }
      if (t._tailData === null) {
        if (this.#loadsInFlight >= this.#maxLoads) break;
        if (!this.#startLoad(t, t.tailFirstMip, stats, true) || t._tailData === null) {
          tails.pop();
          continue;
        }
      }
      if (tail === null) {
        tail = this.#createImage(t, t.tailFirstMip, tailPool, stats, true);
        if (tail === null) break; // the tail pool is full of tails in use: large images may still fit in theirs
      }
      if (!this.#upload(t, tail, t._tailData!, t.tailFirstMip, stats)) {
        spent = true;
        break;
      }
      tails.pop();
      t._tailData = null;
    }
    const heap = this.#heap;
    while (!spent && heap.length > 0 && this.#uploadLeft > 0) {
      const t = heap.top();
      if (frame - t._lastRequest >= this.#lifetime) {
        // Not asked for lately: drop the request; the pixels loaded for it go too, the partial image stays (and is
        // evicted in its turn when it is cold).
        heap.pop();
        t._data = null;
        continue;
      }
      const resident = t._resident;
      if (t._next === null && (t._wantMip >= t.tailFirstMip || (resident !== null && resident.base <= t._wantMip))) {
        heap.pop();
        continue;
      }
      if (t._data === null) {
        if (this.#loadsInFlight >= this.#maxLoads) break;
        const base = t._next !== null ? t._next.base : t._wantMip;
        if (!this.#startLoad(t, base, stats, false) || t._data === null) {
          // Failed (counted; the next request tries again), or asynchronous: back in the queue when it resolves.
          heap.pop();
          continue;
        }
      }
      let next = t._next;
      if (next === null) {
        next = this.#createImage(t, t._dataBase, pool, stats, false);
        if (next === null) break; // nothing more fits this frame: everything left is in use
      }
      if (!this.#upload(t, next, t._data!, t._dataBase, stats)) break; // the budget is spent
      heap.pop();
      this.#promote(t, next);
      if (t._resident !== null && t._resident.base > t._wantMip && frame - t._lastRequest < this.#lifetime) heap.push(t);
    }
    this.#totals.uploads += stats.uploads;
    this.#totals.uploadedBytes += stats.uploadedBytes;
    const tailUsed = tailPool !== null ? tailPool.getStatistics().blockBytes : 0;
    const used = pool.getStatistics().blockBytes + tailUsed;
    stats.residentTextures = this.#residentTextures;
    stats.residentBytes = this.#residentBytes;
    stats.tails = this.#tails;
    stats.tailBytes = this.#tailBytes;
    stats.pendingRequests = heap.length + tails.length + this.#loadsInFlight;
    stats.loadsInFlight = this.#loadsInFlight;
    stats.budgetUsedBytes = used;
    stats.tailPoolBytes = tailUsed;
    stats.budgetUse = used / this.budgetBytes;
    stats.updateUs += (performance.now() - start) * 1000;
    this.#last = stats;
    return stats;
  }

  /**
   * Uploads the missing mips of `slot` from `data` (per mip from `dataBase`), smallest first, within what is left of
   * the frame's upload budget. One mip larger than the budget goes when it is the first of the frame.
   * @returns true when the slot is complete; false when the budget is spent first.
   */
  #upload(t: StreamedTexture, slot: ImageSlot, data: Uint8Array[], dataBase: number, stats: TextureStreamerFrameStatistics): boolean {
    while (slot.uploadedFrom > slot.base) {
      if (this.#uploadLeft <= 0) break;
      const m = slot.uploadedFrom - 1;
      const bytes = data[m - dataBase]!;
      if (bytes.length > this.#uploadLeft && this.#uploadedNow > 0) {
        this.#uploadLeft = 0;
        break;
      }
      const uploadStart = performance.now();
      this.frames.uploadImage(slot.texture, bytes, { mipLevel: m - slot.base });
      stats.uploadUs += (performance.now() - uploadStart) * 1000;
      this.#uploadLeft -= bytes.length;
      this.#uploadedNow += bytes.length;
      stats.uploads++;
      stats.uploadedBytes += bytes.length;
      const was = t.resident;
      slot.uploadedFrom = m;
      if (!was) this.#residentTextures++;
    }
    slot.allocation.touch();
    return slot.uploadedFrom === slot.base;
  }

  /** The statistics of the last `update()`, or null before the first. */
  get frameStatistics(): Readonly<TextureStreamerFrameStatistics> | null {
    this.#live("frameStatistics");
    return this.#last;
  }

  /** Totals since creation. */
  get statistics(): TextureStreamerStatistics {
    this.#live("statistics");
    return {
      registered: this.#registered.size,
      residentTextures: this.#residentTextures,
      residentBytes: this.#residentBytes,
      tails: this.#tails,
      tailBytes: this.#tailBytes,
      ...this.#totals,
      budgetBytes: this.budgetBytes,
    };
  }

  /**
   * Calls the loader for mips [base, mipLevels) of the large image or (`tail`) of the tail; returns false when it
   * failed at once. Sets _data (or _tailData) for a synchronous loader.
   */
  #startLoad(t: StreamedTexture, base: number, stats: TextureStreamerFrameStatistics, tail: boolean): boolean {
    const count = t.mipLevels - base;
    let result: MipData | PromiseLike<MipData>;
    this.#totals.loads++;
    try {
      result = t._load(base, count);
    } catch (error) {
      this.#loadFailed(t, error, stats);
      return false;
    }
    if (result !== null && typeof result === "object" && typeof (result as PromiseLike<MipData>).then === "function") {
      let generation: number;
      if (tail) {
        generation = ++t._tailLoadGeneration;
        t._tailLoading = true;
      } else {
        generation = ++t._loadGeneration;
        t._loading = true;
      }
      this.#loadsInFlight++;
      (result as PromiseLike<MipData>).then(
        (data) => this.#loadSettled(t, tail, generation, base, true, data),
        (error: unknown) => this.#loadSettled(t, tail, generation, base, false, error),
      );
      return true;
    }
    return this.#take(t, tail, base, this.#accept(t, base, result as MipData, stats));
  }

  /** An asynchronous load of the large image or the tail resolved (`data`) or rejected (`error`). */
  #loadSettled(t: StreamedTexture, tail: boolean, generation: number, base: number, ok: boolean, value: unknown): void {
    if (tail) {
      if (generation !== t._tailLoadGeneration || !t._tailLoading) return;
      t._tailLoading = false;
    } else {
      if (generation !== t._loadGeneration || !t._loading) return;
      t._loading = false;
    }
    this.#loadsInFlight--;
    if (t._destroyed || this.#pool === null) return;
    if (!ok) {
      this.#loadFailed(t, value, this.#frame);
      return;
    }
    if (!this.#take(t, tail, base, this.#accept(t, base, value as MipData, this.#frame))) return;
    const heap = tail ? this.#tailHeap : this.#heap;
    if ((tail ? t._tailHeapIndex : t._heapIndex) < 0) heap.push(t);
  }

  /** Keeps accepted pixels for the large image or the tail; false when there are none. */
  #take(t: StreamedTexture, tail: boolean, base: number, mips: Uint8Array[] | null): boolean {
    if (mips === null) return false;
    if (tail) t._tailData = mips;
    else {
      t._data = mips;
      t._dataBase = base;
    }
    return true;
  }

  #loadFailed(t: StreamedTexture, error: unknown, stats: TextureStreamerFrameStatistics): void {
    t.lastLoadError = error;
    stats.loadErrors++;
    this.#totals.loadErrors++;
  }

  /** Checks and splits loaded pixels into one view per mip; null (counted as a load error) when the sizes are wrong. */
  #accept(t: StreamedTexture, base: number, data: MipData, stats: TextureStreamerFrameStatistics): Uint8Array[] | null {
    const count = t.mipLevels - base;
    const mips: Uint8Array[] = [];
    // Anything but live bytes (a detached buffer or view included) is null: a load error, never an engine error.
    const asBytes = (d: unknown): Uint8Array | null => {
      if (!(d instanceof ArrayBuffer || ArrayBuffer.isView(d))) return null;
      return isDetached(ArrayBuffer.isView(d) ? d.buffer : d) ? null : checkBytes(d, "load", "data");
    };
    if (Array.isArray(data)) {
      if (data.length !== count) {
        this.#loadFailed(t, new RangeError(`loader of '${t.label}' gave ${data.length} mips for mips ${base} to ${t.mipLevels - 1} (${count})`), stats);
        return null;
      }
      for (let i = 0; i < count; i++) {
        const bytes = asBytes(data[i]);
        const want = t._mipBytes[base + i]!;
        if (bytes === null || bytes.length !== want) {
          this.#loadFailed(t, new RangeError(`loader of '${t.label}' gave ${bytes === null ? describeValue(data[i]) : `${bytes.length} bytes`} for mip ${base + i}, which has ${want}`), stats);
          return null;
        }
        mips.push(bytes);
      }
    } else {
      const bytes = asBytes(data);
      let want = 0;
      for (let m = base; m < t.mipLevels; m++) want += t._mipBytes[m]!;
      if (bytes === null || bytes.length !== want) {
        this.#loadFailed(t, new RangeError(`loader of '${t.label}' gave ${bytes === null ? describeValue(data) : `${bytes.length} bytes`} for mips ${base} to ${t.mipLevels - 1}, which have ${want}`), stats);
        return null;
      }
      let at = 0;
      for (let m = base; m < t.mipLevels; m++) {
        const n = t._mipBytes[m]!;
        mips.push(bytes.subarray(at, at + n));
        at += n;
      }
    }
    return mips;
  }

  /**
   * Creates the image for mips [base, mipLevels) in `pool`, evicting cold images of that pool: the texture's next
   * large image, or (`tail`) its tail. Null when nothing more fits.
   */
  #createImage(t: StreamedTexture, base: number, pool: Pool, stats: TextureStreamerFrameStatistics, tail: boolean): ImageSlot | null {
    let texture: Texture;
    const start = performance.now();
    try {
      texture = this.frames.createTexture({
        label: tail ? `${t.label} tail ${base}+` : `${t.label} mips ${base}+`,
        width: mipExtent(t.width, base),
        height: mipExtent(t.height, base),
        format: t.format,
        mipLevels: t.mipLevels - base,
        usage: this.#usage,
        memory: { pool, canBecomeLost: true, canMakeOtherLost: true },
      });
    } catch (error) {
      if (!(error instanceof OutOfDeviceMemoryError)) throw error;
      stats.outOfBudget++;
      return null;
    } finally {
      stats.createUs += (performance.now() - start) * 1000;
    }
    const allocation = texture.allocation;
    const slot = new ImageSlot(texture, allocation, allocation.size, base, t.mipLevels);
    allocation.onLost = () => this.#lost(t, slot);
    if (tail) {
      t._tail = slot;
      this.#tails++;
      this.#tailBytes += slot.bytes;
    } else {
      t._next = slot;
      this.#residentBytes += slot.bytes;
    }
    return slot;
  }

  /** Takes `slot` away from `t` and from the counts (released or lost). */
  #detach(t: StreamedTexture, slot: ImageSlot): void {
    const was = t.resident;
    if (t._resident === slot) t._resident = null;
    if (t._next === slot) {
      t._next = null;
      t._data = null;
    }
    if (t._tail === slot) {
      t._tail = null;
      t._tailData = null;
      this.#tails--;
      this.#tailBytes -= slot.bytes;
    } else {
      this.#residentBytes -= slot.bytes;
    }
    if (was && !t.resident) this.#residentTextures--;
  }

  /** `slot`, now complete, becomes the texture's resident image; the one it replaces is released. */
  #promote(t: StreamedTexture, slot: ImageSlot): void {
    const old = t._resident;
    t._resident = slot;
    t._next = null;
    t._data = null;
    this.#dropPartialView(slot, false);
    if (old !== null) this.#release(t, old);
  }

  /** Releases a slot through the frame manager's release queue (not lost: destroyed after its last frame). */
  #release(t: StreamedTexture, slot: ImageSlot): void {
    this.#detach(t, slot);
    slot.allocation.onLost = null;
    this.#dropPartialView(slot, false);
    slot.texture.destroy();
  }

  /** onLost of a slot's allocation: called by the allocator before it destroys the image and frees its memory. */
  #lost(t: StreamedTexture, slot: ImageSlot): void {
    const stats = this.#frame;
    if (slot === t._tail) {
      stats.tailsEvicted++;
      this.#totals.tailsEvicted++;
    } else {
      stats.evicted++;
      stats.evictedBytes += slot.bytes;
      this.#totals.evicted++;
      this.#totals.evictedBytes += slot.bytes;
    }
    this.#detach(t, slot);
    // Not used for frameInUseCount frames: the GPU is done with the views and the image.
    this.#dropPartialView(slot, true);
    slot.texture.destroy();
  }

  /**
   * Releases every streamed image and tail, the placeholder (when the streamer made it) and both pools, through the
   * frame manager's release queue. Registered textures are destroyed. A second call does nothing. Destroying the
   * frame manager (or its allocator, or their context) destroys the streamer first (engine/lifetime.ts).
   */
  destroy(): void {
    const pool = this.#pool;
    if (pool === null) return;
    this.frames._dependents.delete(this);
    unwatch(this);
    for (const t of [...this.#registered]) this._unregister(t);
    this.#heap.clear();
    this.#tailHeap.clear();
    if (this.#ownsPlaceholder) this.#placeholder.destroy();
    this.#pool = null;
    const tailPool = this.#tailPool;
    this.#tailPool = null;
    // After the images queued above (same or earlier serial, queue order): the pools are empty by then.
    const destroyPools = (): void => {
      for (const p of [pool, tailPool]) {
        if (p === null) continue;
        p._ownedBy = null;
        p.destroy();
      }
    };
    if (this.frames.destroyed) destroyPools();
    else this.frames.destroyLater(`${this.label} pools`, 0, destroyPools);
  }
}

/**
 * A binary heap of queued textures: highest priority first, then earliest first request. Two of them, one for large
 * images and one for tails; each texture keeps its position in each (_heapIndex, _tailHeapIndex) for O(log n) removal.
 */
class RequestHeap {
  readonly #items: StreamedTexture[] = [];
  #sequence = 0;

  constructor(readonly tail: boolean) {}

  get length(): number {
    return this.#items.length;
  }

  top(): StreamedTexture {
    return this.#items[0]!;
  }

  push(t: StreamedTexture): void {
    const sequence = ++this.#sequence;
    if (this.tail) t._tailSequence = sequence;
    else t._sequence = sequence;
    this.#items.push(t);
    this.#siftUp(this.#items.length - 1);
  }

  pop(): void {
    this.remove(this.#items[0]!);
  }

  remove(t: StreamedTexture): void {
    const items = this.#items;
    const i = this.#index(t);
    this.#set(t, -1);
    const last = items.pop()!;
    if (last === t) return;
    items[i] = last;
    this.#set(last, i);
    this.#siftDown(i);
    this.#siftUp(this.#index(last));
  }

  clear(): void {
    for (const t of this.#items) this.#set(t, -1);
    this.#items.length = 0;
  }

  #index(t: StreamedTexture): number {
    return this.tail ? t._tailHeapIndex : t._heapIndex;
  }

  #set(t: StreamedTexture, i: number): void {
    if (this.tail) t._tailHeapIndex = i;
    else t._heapIndex = i;
  }

  #before(a: StreamedTexture, b: StreamedTexture): boolean {
    if (a.priority !== b.priority) return a.priority > b.priority;
    return this.tail ? a._tailSequence < b._tailSequence : a._sequence < b._sequence;
  }

  #siftUp(i: number): void {
    const items = this.#items;
    const t = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!this.#before(t, p)) break;
      items[i] = p;
      this.#set(p, i);
      i = parent;
    }
    items[i] = t;
    this.#set(t, i);
  }

  #siftDown(i: number): void {
    const items = this.#items;
    const n = items.length;
    const t = items[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.#before(items[child + 1]!, items[child]!)) child++;
      const c = items[child]!;
      if (!this.#before(c, t)) break;
      items[i] = c;
      this.#set(c, i);
      i = child;
    }
    items[i] = t;
    this.#set(t, i);
  }
}
