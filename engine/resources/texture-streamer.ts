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
 *   was made with, else VMA's estimate times `budgetFraction`; or `budgetBytes`. The pool's block count is the hard
 *   limit, so memory never goes above the budget. Images are created `canBecomeLost` and `canMakeOtherLost`: a new
 *   one that does not fit makes the least recently used images lost, never one used in the last frameInUseCount
 *   frames (the pool's, framesInFlight - 1 by default, so the GPU is done with whatever is taken).
 * - Use. `request()` touches the texture's images (O(1), the allocator's LRU move) and `show()` touches and marks
 *   used what it returns; uploading touches too. An image shown or requested in frame F therefore cannot be lost
 *   before F + frameInUseCount + 1, by which time the frame that sampled it has completed: no lost texture is ever
 *   sampled.
 * - Losing. The image's `onLost` destroys the streamer's partial views and the Texture (its default view and its
 *   VkImage), marks the texture non-resident and counts the eviction; the next request streams it again.
 * - Per-frame cost grows with what changes, not with what is registered: requests are O(1) each; pending work sits in
 *   a binary heap (priority, then first request) with lazy removal of requests not renewed for
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
import { DestroyedResourceError, OutOfDeviceMemoryError, describeValue } from "../errors.js";
import type { Allocation } from "../memory/allocation.js";
import type { Allocator, ImageInfo } from "../memory/allocator.js";
import type { Pool } from "../memory/pool.js";
import { MemoryPropertyFlags, MemoryUsage } from "../memory/usage.js";
import { formatInfo, mipExtent, regionBytes, type FormatInfo } from "../vulkan/formats.js";
import type { NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";
import type { FrameManager } from "./frame-manager.js";
import type { Texture } from "./texture.js";

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
  /** The memory budget in bytes. Default: from VK_EXT_memory_budget, the heap size limit, or VMA's estimate. */
  budgetBytes?: number;
  /** Share of the heap's budget taken when `budgetBytes` and a heap size limit are absent (default 0.5). */
  budgetFraction?: number;
  /** Bytes uploaded per frame at most (default 4 MiB; one mip is always allowed). */
  uploadBudgetBytes?: number;
  /** Size of the pool's blocks (default the budget, at most 32 MiB); no texture may be larger. */
  blockSize?: number;
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
  /** The VkImageView to sample: over the resident mips, or the placeholder's. */
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
  /** Textures with at least one mip resident. */
  residentTextures: number;
  /** Bytes of the streamed images alive (VMA allocation sizes). */
  residentBytes: number;
  /** Textures requested this frame. */
  requested: number;
  /** Images made lost (evicted) during the frame. */
  evicted: number;
  /** Their bytes. */
  evictedBytes: number;
  /** Mip uploads issued. */
  uploads: number;
  /** Their bytes. */
  uploadedBytes: number;
  /** Textures waiting: queued for upload, or being loaded. */
  pendingRequests: number;
  /** Asynchronous loads in flight. */
  loadsInFlight: number;
  /** Image creations that did not fit even after eviction (everything left was in use). */
  outOfBudget: number;
  /** Loader calls that threw, rejected, or gave data of the wrong size, during the frame. */
  loadErrors: number;
  /** The budget in bytes (the pool's block count times its block size). */
  budgetBytes: number;
  /** Bytes of the pool's blocks now. */
  budgetUsedBytes: number;
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
  evicted: number;
  evictedBytes: number;
  uploads: number;
  uploadedBytes: number;
  loads: number;
  loadErrors: number;
  budgetBytes: number;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  "budgetBytes", "budgetFraction", "uploadBudgetBytes", "blockSize", "frameInUseCount", "maxLoadsInFlight",
  "requestLifetimeFrames", "placeholder", "usage", "label", "preallocate",
]);
const KNOWN_DESC: ReadonlySet<string> = new Set(["label", "width", "height", "format", "mipLevels", "load", "priority"]);
const MiB = 1024 * 1024;
const IMAGE_USAGE_SAMPLED = 0x4;
const IMAGE_USAGE_TRANSFER = 0x1 | 0x2;
const ALLOCATOR_EXT_MEMORY_BUDGET = 0x8;
const FORMAT_R8G8B8A8_UNORM = 37;
const VIEW_TYPE_2D = 1;
const OBJECT_TYPE_IMAGE_VIEW = 14;

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
  /** @internal */
  _destroyed = false;
  /** The last error of its loader (thrown, rejected, or data of the wrong size), or null. */
  lastLoadError: unknown = null;

  /** @internal Use TextureStreamer.register. */
  constructor(streamer: TextureStreamer, desc: StreamedTextureDescription, mipLevels: number, info: FormatInfo, priority: number) {
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
  }

  /** Whether {@link destroy} (or the streamer's) has run. */
  get destroyed(): boolean {
    return this._destroyed;
  }

  /** Whether at least one mip is resident. */
  get resident(): boolean {
    return this._resident !== null || (this._next !== null && this._next.uploadedFrom < this.mipLevels);
  }

  /** The finest resident mip, or -1 when none is. */
  get firstResidentMip(): number {
    if (this._resident !== null) return this._resident.uploadedFrom;
    if (this._next !== null && this._next.uploadedFrom < this.mipLevels) return this._next.uploadedFrom;
    return -1;
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
 * destroyed by {@link TextureStreamer.destroy}, before its frame manager.
 */
export class TextureStreamer {
  readonly label: string;
  /** The memory budget in bytes: the pool's block size times its block count. */
  readonly budgetBytes: number;
  /** Where the budget came from. */
  readonly budgetSource: "option" | "memory-budget" | "heap-size-limit" | "heap-estimate";
  /** Bytes uploaded per frame at most (one mip is always allowed). */
  readonly uploadBudgetBytes: number;
  /** The pool's block size: the largest texture it can hold. */
  readonly blockSize: number;
  /** The memory type of the streamed images. */
  readonly memoryTypeIndex: number;
  /** Frames after its last use during which an image is never taken. */
  readonly frameInUseCount: number;
  readonly frames: FrameManager;
  readonly #allocator: Allocator;
  readonly #device: NvkHandle;
  #pool: Pool | null;
  readonly #placeholder: Texture;
  readonly #ownsPlaceholder: boolean;
  readonly #placeholderShow: TextureShow;
  readonly #usage: number;
  readonly #maxLoads: number;
  readonly #lifetime: number;
  readonly #registered = new Set<StreamedTexture>();
  readonly #heap: StreamedTexture[] = [];
  #sequence = 0;
  #loadsInFlight = 0;
  #residentTextures = 0;
  #residentBytes = 0;
  #requestedFrame = -1;
  #requested = 0;
  #frame: TextureStreamerFrameStatistics;
  #last: TextureStreamerFrameStatistics | null = null;
  readonly #totals = { evicted: 0, evictedBytes: 0, uploads: 0, uploadedBytes: 0, loads: 0, loadErrors: 0 };

  /** Same as {@link createTextureStreamer}. */
  constructor(frames: FrameManager, options: TextureStreamerOptions = {}) {
    const op = "createTextureStreamer";
    if (frames === null || typeof frames !== "object" || typeof (frames as FrameManager).uploadImage !== "function") {
      throw new TypeError(`${op}: frames must be a FrameManager, got ${describeValue(frames)}`);
    }
    if (options === null || typeof options !== "object" || Array.isArray(options)) throw new TypeError(`${op}: options must be an object, got ${describeValue(options)}`);
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`${op}: unknown option '${key}' (value ${describeValue((options as Record<string, unknown>)[key])})`);
    }
    if (frames.destroyed) throw new DestroyedResourceError("FrameManager", frames.label, op);
    const positive = (name: keyof TextureStreamerOptions, fallback: number | undefined): number | undefined => {
      const v = options[name] ?? fallback;
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
    const blockSize = positive("blockSize", Math.min(budget, 32 * MiB))!;
    if (blockSize > budget) throw new RangeError(`${op}: option 'blockSize' (${blockSize}) must not exceed the budget (${budget} bytes)`);
    const blockCount = Math.floor(budget / blockSize);
    this.blockSize = blockSize;
    this.budgetBytes = blockSize * blockCount;
    this.#pool = allocator.createPool(
      { memoryTypeIndex: this.memoryTypeIndex },
      { blockSize, maxBlockCount: blockCount, minBlockCount: options.preallocate === true ? blockCount : 0, frameInUseCount, name: `${this.label} pool` },
    );
    try {
      if (options.placeholder !== undefined) {
        if (options.placeholder === null || typeof options.placeholder !== "object" || options.placeholder.destroyed) {
          throw new TypeError(`${op}: option 'placeholder' must be a live Texture, got ${describeValue(options.placeholder)}`);
        }
        this.#placeholder = options.placeholder;
        this.#ownsPlaceholder = false;
      } else {
        this.#placeholder = this.#makePlaceholder();
        this.#ownsPlaceholder = true;
      }
    } catch (error) {
      this.#pool.destroy();
      throw error;
    }
    const placeholder = this.#placeholder;
    this.#placeholderShow = Object.freeze({ view: placeholder.view, texture: placeholder, firstMip: -1, lastMip: -1, placeholder: true });
    this.#frame = this.#emptyStatistics(-1);
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
      budgetUse: 0,
      updateUs: 0,
      uploadUs: 0,
      createUs: 0,
    };
  }

  #live(operation: string): Pool {
    const pool = this.#pool;
    if (pool === null) throw new DestroyedResourceError("TextureStreamer", this.label, operation);
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

  /** The pool the streamed images live in (for statistics; do not allocate from it). */
  get pool(): Pool {
    return this.#live("pool");
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
    if (desc === null || typeof desc !== "object") throw new TypeError(`${op}: desc must be an object, got ${describeValue(desc)}`);
    for (const key of Object.keys(desc)) {
      if (!KNOWN_DESC.has(key)) throw new TypeError(`${op}: unknown field '${key}' (value ${describeValue((desc as unknown as Record<string, unknown>)[key])})`);
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
    const texture = new StreamedTexture(this, desc, mipLevels, info, priority);
    let total = 0;
    for (let m = 0; m < mipLevels; m++) total += texture._mipBytes[m]!;
    if (total > this.blockSize) {
      throw new RangeError(`${op}: texture '${desc.label}' needs ${total} bytes with all its mips, more than the pool's block size (${this.blockSize}); raise blockSize`);
    }
    this.#registered.add(texture);
    return texture;
  }

  /** @internal StreamedTexture.destroy(). */
  _unregister(texture: StreamedTexture): void {
    texture._destroyed = true;
    this.#registered.delete(texture);
    if (texture._heapIndex >= 0) this.#heapRemove(texture);
    texture._data = null;
    if (texture._resident !== null) this.#release(texture, texture._resident);
    if (texture._next !== null) this.#release(texture, texture._next);
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
    if (texture._heapIndex < 0 && !texture._loading && (resident === null || resident.base > texture._wantMip || next !== null)) {
      this.#heapPush(texture);
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
    let slot = texture._resident;
    if (slot === null) {
      slot = texture._next;
      if (slot === null || slot.uploadedFrom >= texture.mipLevels) return this.#placeholderShow;
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
    const stats = this.#frame.frameIndex === frame ? this.#frame : (this.#frame = this.#emptyStatistics(frame));
    stats.requested = this.#requestedFrame === frame ? this.#requested : 0;
    let budget = this.uploadBudgetBytes;
    let uploaded = 0;
    const heap = this.#heap;
    work: while (heap.length > 0) {
      const t = heap[0]!;
      if (frame - t._lastRequest >= this.#lifetime) {
        // Not asked for lately: drop the request; the pixels loaded for it go too, the partial image stays (and is
        // evicted in its turn when it is cold).
        this.#heapPop();
        t._data = null;
        continue;
      }
      const resident = t._resident;
      if (t._next === null && resident !== null && resident.base <= t._wantMip) {
        this.#heapPop();
        continue;
      }
      if (t._data === null) {
        if (this.#loadsInFlight >= this.#maxLoads) break;
        const base = t._next !== null ? t._next.base : t._wantMip;
        if (!this.#startLoad(t, base, stats) || t._data === null) {
          // Failed (counted; the next request tries again), or asynchronous: back in the queue when it resolves.
          this.#heapPop();
          continue;
        }
      }
      let next = t._next;
      if (next === null) {
        next = this.#createImage(t, t._dataBase, pool, stats);
        if (next === null) break; // nothing more fits this frame: everything left is in use
      }
      const data = t._data!;
      while (next.uploadedFrom > next.base) {
        const m = next.uploadedFrom - 1;
        const bytes = data[m - t._dataBase]!;
        if (bytes.length > budget && uploaded > 0) break work;
        const uploadStart = performance.now();
        this.frames.uploadImage(next.texture, bytes, { mipLevel: m - next.base });
        stats.uploadUs += (performance.now() - uploadStart) * 1000;
        budget -= bytes.length;
        uploaded += bytes.length;
        stats.uploads++;
        stats.uploadedBytes += bytes.length;
        const was = t.resident;
        next.uploadedFrom = m;
        if (!was) this.#residentTextures++;
        if (budget <= 0) break;
      }
      next.allocation.touch();
      if (next.uploadedFrom > next.base) break; // the budget is spent
      this.#heapPop();
      this.#promote(t, next);
      if (t._resident !== null && t._resident.base > t._wantMip && frame - t._lastRequest < this.#lifetime) this.#heapPush(t);
    }
    this.#totals.uploads += stats.uploads;
    this.#totals.uploadedBytes += stats.uploadedBytes;
    const used = pool.getStatistics().blockBytes;
    stats.residentTextures = this.#residentTextures;
    stats.residentBytes = this.#residentBytes;
    stats.pendingRequests = heap.length + this.#loadsInFlight;
    stats.loadsInFlight = this.#loadsInFlight;
    stats.budgetUsedBytes = used;
    stats.budgetUse = used / this.budgetBytes;
    stats.updateUs += (performance.now() - start) * 1000;
    this.#last = stats;
    return stats;
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
      ...this.#totals,
      budgetBytes: this.budgetBytes,
    };
  }

  /** Calls the loader; returns false when it failed at once. Sets _data for a synchronous loader. */
  #startLoad(t: StreamedTexture, base: number, stats: TextureStreamerFrameStatistics): boolean {
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
      const generation = ++t._loadGeneration;
      t._loading = true;
      this.#loadsInFlight++;
      (result as PromiseLike<MipData>).then(
        (data) => this.#loaded(t, generation, base, data),
        (error) => this.#loadSettledWithError(t, generation, error),
      );
      return true;
    }
    return this.#accept(t, base, result as MipData, stats);
  }

  #loaded(t: StreamedTexture, generation: number, base: number, data: MipData): void {
    if (generation !== t._loadGeneration || !t._loading) return;
    t._loading = false;
    this.#loadsInFlight--;
    if (t._destroyed || this.#pool === null) return;
    if (this.#accept(t, base, data, this.#frame) && t._heapIndex < 0) this.#heapPush(t);
  }

  #loadSettledWithError(t: StreamedTexture, generation: number, error: unknown): void {
    if (generation !== t._loadGeneration || !t._loading) return;
    t._loading = false;
    this.#loadsInFlight--;
    if (t._destroyed || this.#pool === null) return;
    this.#loadFailed(t, error, this.#frame);
  }

  #loadFailed(t: StreamedTexture, error: unknown, stats: TextureStreamerFrameStatistics): void {
    t.lastLoadError = error;
    stats.loadErrors++;
    this.#totals.loadErrors++;
  }

  /** Checks and splits loaded pixels into one view per mip; false (counted as a load error) when the sizes are wrong. */
  #accept(t: StreamedTexture, base: number, data: MipData, stats: TextureStreamerFrameStatistics): boolean {
    const count = t.mipLevels - base;
    const mips: Uint8Array[] = [];
    const asBytes = (d: unknown): Uint8Array | null =>
      d instanceof Uint8Array ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : d instanceof ArrayBuffer ? new Uint8Array(d) : null;
    if (Array.isArray(data)) {
      if (data.length !== count) {
        this.#loadFailed(t, new RangeError(`loader of '${t.label}' gave ${data.length} mips for mips ${base} to ${t.mipLevels - 1} (${count})`), stats);
        return false;
      }
      for (let i = 0; i < count; i++) {
        const bytes = asBytes(data[i]);
        const want = t._mipBytes[base + i]!;
        if (bytes === null || bytes.length !== want) {
          this.#loadFailed(t, new RangeError(`loader of '${t.label}' gave ${bytes === null ? describeValue(data[i]) : `${bytes.length} bytes`} for mip ${base + i}, which has ${want}`), stats);
          return false;
        }
        mips.push(bytes);
      }
    } else {
      const bytes = asBytes(data);
      let want = 0;
      for (let m = base; m < t.mipLevels; m++) want += t._mipBytes[m]!;
      if (bytes === null || bytes.length !== want) {
        this.#loadFailed(t, new RangeError(`loader of '${t.label}' gave ${bytes === null ? describeValue(data) : `${bytes.length} bytes`} for mips ${base} to ${t.mipLevels - 1}, which have ${want}`), stats);
        return false;
      }
      let at = 0;
      for (let m = base; m < t.mipLevels; m++) {
        const n = t._mipBytes[m]!;
        mips.push(bytes.subarray(at, at + n));
        at += n;
      }
    }
    t._data = mips;
    t._dataBase = base;
    return true;
  }

  /** Creates the image for mips [base, mipLevels) in the pool, evicting cold images; null when nothing more fits. */
  #createImage(t: StreamedTexture, base: number, pool: Pool, stats: TextureStreamerFrameStatistics): ImageSlot | null {
    let texture: Texture;
    const start = performance.now();
    try {
      texture = this.frames.createTexture({
        label: `${t.label} mips ${base}+`,
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
    t._next = slot;
    this.#residentBytes += slot.bytes;
    return slot;
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
    const was = t.resident;
    if (t._resident === slot) t._resident = null;
    if (t._next === slot) t._next = null;
    if (was && !t.resident) this.#residentTextures--;
    this.#residentBytes -= slot.bytes;
    slot.allocation.onLost = null;
    this.#dropPartialView(slot, false);
    slot.texture.destroy();
  }

  /** onLost of a slot's allocation: called by the allocator before it destroys the image and frees its memory. */
  #lost(t: StreamedTexture, slot: ImageSlot): void {
    const stats = this.#frame;
    stats.evicted++;
    stats.evictedBytes += slot.bytes;
    this.#totals.evicted++;
    this.#totals.evictedBytes += slot.bytes;
    const wasShowing = t.resident;
    if (t._resident === slot) t._resident = null;
    if (t._next === slot) {
      t._next = null;
      t._data = null;
    }
    if (wasShowing && !t.resident) this.#residentTextures--;
    this.#residentBytes -= slot.bytes;
    // Not used for frameInUseCount frames: the GPU is done with the views and the image.
    this.#dropPartialView(slot, true);
    slot.texture.destroy();
  }

  /**
   * Releases every streamed image, the placeholder (when the streamer made it) and the pool, through the frame
   * manager's release queue. Registered textures are destroyed. A second call does nothing.
   */
  destroy(): void {
    const pool = this.#pool;
    if (pool === null) return;
    for (const t of [...this.#registered]) this._unregister(t);
    this.#heap.length = 0;
    if (this.#ownsPlaceholder) this.#placeholder.destroy();
    this.#pool = null;
    // After the images queued above (same or earlier serial, queue order): the pool is empty by then.
    if (this.frames.destroyed) pool.destroy();
    else this.frames.destroyLater(`${this.label} pool`, 0, () => pool.destroy());
  }

  // A binary heap of queued textures: highest priority first, then earliest first request (_sequence).

  #before(a: StreamedTexture, b: StreamedTexture): boolean {
    return a.priority > b.priority || (a.priority === b.priority && a._sequence < b._sequence);
  }

  #heapPush(t: StreamedTexture): void {
    t._sequence = ++this.#sequence;
    const heap = this.#heap;
    heap.push(t);
    this.#siftUp(heap.length - 1);
  }

  #heapPop(): void {
    this.#heapRemove(this.#heap[0]!);
  }

  #heapRemove(t: StreamedTexture): void {
    const heap = this.#heap;
    const i = t._heapIndex;
    t._heapIndex = -1;
    const last = heap.pop()!;
    if (last === t) return;
    heap[i] = last;
    last._heapIndex = i;
    this.#siftDown(i);
    this.#siftUp(last._heapIndex);
  }

  #siftUp(i: number): void {
    const heap = this.#heap;
    const t = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!this.#before(t, p)) break;
      heap[i] = p;
      p._heapIndex = i;
      i = parent;
    }
    heap[i] = t;
    t._heapIndex = i;
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const t = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.#before(heap[child + 1]!, heap[child]!)) child++;
      const c = heap[child]!;
      if (!this.#before(c, t)) break;
      heap[i] = c;
      c._heapIndex = i;
      i = child;
    }
    heap[i] = t;
    t._heapIndex = i;
  }
}
