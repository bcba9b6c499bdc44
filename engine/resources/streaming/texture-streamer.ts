/**
 * TextureStreamer: textures whose pixels come and go under a memory budget, built on lost allocations
 * (engine/memory/lost-allocations.ts) and the FrameManager's upload ring. The public streamer: it checks what it is
 * given, creates its pools from the budget plan (budget-plan.ts) and runs the frame; residency.ts, mip-chain.ts,
 * loader.ts and upload-scheduler.ts do the work (the folder's index.ts explains how they fit).
 *
 * The application registers each texture once, with its full description (extent, format, mip count), a loader that
 * produces the pixels of a mip range (synchronously or as a promise) and a priority. Every frame it reports the
 * textures it will sample with {@link TextureStreamer.request} (optionally the finest mip it needs), calls
 * {@link TextureStreamer.update} once, and asks {@link TextureStreamer.show} what each texture can show: a view and
 * the resident mip range, or the placeholder.
 *
 * The invariants it keeps:
 *
 * - Memory. Every streamed image is allocated from one of two custom pools of DEVICE_LOCAL memory (requiredFlags, so
 *   that a discrete GPU never places it in host memory), the streamed images' pool and the tail pool, whose blocks add
 *   up to at most the budget (budget-plan.ts says how it is found and split). The pools' block counts are the hard
 *   limit, so memory never goes above the budget. Images are created `canBecomeLost` and `canMakeOtherLost`: a new
 *   one that does not fit makes the least recently used images of its pool lost, never one used in the last
 *   frameInUseCount frames (the pools', framesInFlight - 1 by default, so the GPU is done with whatever is taken).
 *   Tails only compete with other tails. A FrameManager's live defragmentation of either pool moves the images
 *   (engine/resources/live-defragmentation.ts): the chains keep the same Texture and Allocation objects, so the counts,
 *   the LRU lists and the requests stay as they are, and the image's partial view is remade over the new image.
 * - Use. `request()` touches the texture's images (O(1), the allocator's LRU move; once per frame) and `show()`
 *   marks used what it returns, and touches it when the texture was not requested in the frame; uploading and
 *   creating touch too. An image shown or requested in frame F therefore cannot be lost
 *   before F + frameInUseCount + 1, by which time the frame that sampled it has completed: no lost texture is ever
 *   sampled.
 * - Showing. `show()` gives the complete large image; else the finer of a filling large image's uploaded mips and the
 *   tail; else the placeholder. So a texture whose large image was lost shows its tail until the large image is
 *   streamed again, and shows the placeholder only when its tail is gone too. The large images keep their whole
 *   chain down to the smallest mip (one view samples one image), so the tail mips exist twice while both are
 *   resident: a few KiB per texture.
 * - Per-frame cost grows with what changes, not with what is registered: requests are O(1) each (O(log n) when they
 *   queue); pending work sits in two request heaps, tails (served first: a tail is cheap and removes a placeholder)
 *   and large images; eviction is the allocator's walk from the cold end of a pool's LRU list. Nothing iterates the
 *   registered textures except `destroy()`.
 * - Frames. `update()` must run inside a frame (between beginFrame and endFrame), so that uploads and the frame index
 *   agree. The streamer owns its pools, images, views and (unless given one) its placeholder; `destroy()` releases
 *   them through the frame manager's release queue. Destroy the streamer before the frame manager.
 * @module
 */
import { DestroyedResourceError, InvalidStateError, describeValue } from "../../errors.js";
import { creationStack, lifetimeName, unwatch, watch } from "../../lifetime.js";
import { isOptionsObject } from "../../checks.js";
import type { Allocator, ImageInfo } from "../../memory/allocator.js";
import type { Pool } from "../../memory/pool.js";
import { MemoryPropertyFlags, MemoryUsage } from "../../memory/usage.js";
import { ASPECT_COLOR, formatInfo } from "../../vulkan/formats.js";
import {
  ALLOCATOR_EXT_MEMORY_BUDGET,
  FORMAT_R8G8B8A8_UNORM,
  IMAGE_USAGE_SAMPLED,
  IMAGE_USAGE_TRANSFER,
} from "../../vulkan/vk.js";
import type { FrameManager } from "../frame-manager.js";
import { Texture } from "../texture.js";
import { budgetFractionOption, planBudget, positiveOption } from "./budget-plan.js";
import { LoaderPipeline } from "./loader.js";
import { ChainLane } from "./mip-chain.js";
import { TextureResidency, type ResidencyCounts } from "./residency.js";
import { StreamedTexture } from "./streamed-texture.js";
import type {
  StreamedTextureDescription,
  TextureShow,
  TextureStreamerFrameStatistics,
  TextureStreamerOptions,
  TextureStreamerStatistics,
} from "./types.js";
import { UploadScheduler } from "./upload-scheduler.js";

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  "budgetBytes",
  "budgetFraction",
  "uploadBudgetBytes",
  "blockSize",
  "frameInUseCount",
  "maxLoadsInFlight",
  "requestLifetimeFrames",
  "placeholder",
  "usage",
  "label",
  "preallocate",
  "tailSize",
  "tailBudgetFraction",
]);
const KNOWN_DESC: ReadonlySet<string> = new Set([
  "label",
  "width",
  "height",
  "format",
  "mipLevels",
  "load",
  "priority",
]);
const MiB = 1024 * 1024;

/** Streamers made in this process: a streamer's number in traces. */
let streamersMade = 0;

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
  #pool: Pool | null;
  #tailPool: Pool | null = null;
  readonly #placeholder: Texture;
  readonly #ownsPlaceholder: boolean;
  readonly #placeholderShow: TextureShow;
  readonly #registered = new Set<TextureResidency>();
  /** The large images' lane and the tails' lane: their pools, request heaps and counts. */
  readonly #large: ChainLane<TextureResidency>;
  readonly #tails: ChainLane<TextureResidency>;
  readonly #counts: ResidencyCounts = { residentTextures: 0 };
  readonly #loader: LoaderPipeline;
  readonly #scheduler: UploadScheduler;
  #requestedFrame = -1;
  #requested = 0;
  /** Its number in the allocator's trace, and each registered texture's (StreamerRequest records). */
  #number = 0;
  #textureNumbers = new WeakMap<TextureResidency, number>();
  #texturesRegistered = 0;
  #frame: TextureStreamerFrameStatistics;
  #last: TextureStreamerFrameStatistics | null = null;
  readonly #totals = { evicted: 0, evictedBytes: 0, tailsEvicted: 0, uploads: 0, uploadedBytes: 0 };

  /** Same as {@link createTextureStreamer}. */
  constructor(frames: FrameManager, options: TextureStreamerOptions = {}) {
    const op = "createTextureStreamer";
    if (frames === null || typeof frames !== "object" || typeof (frames as FrameManager).uploadImage !== "function") {
      throw new TypeError(`${op}: frames must be a FrameManager, got ${describeValue(frames)}`);
    }
    if (!isOptionsObject(options))
      throw new TypeError(`${op}: options must be an object, got ${describeValue(options)}`);
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key))
        throw new TypeError(
          `${op}: unknown option '${key}' (value ${describeValue((options as Record<string, unknown>)[key])})`,
        );
    }
    if (frames.destroyed) throw new DestroyedResourceError("FrameManager", frames.label, op);
    budgetFractionOption(op, options.budgetFraction);
    const minimumInUse = frames.framesInFlight - 1;
    const frameInUseCount = options.frameInUseCount ?? minimumInUse;
    if (!(Number.isInteger(frameInUseCount) && frameInUseCount >= minimumInUse && frameInUseCount <= 1000)) {
      throw new RangeError(
        `${op}: option 'frameInUseCount' must be an integer from framesInFlight - 1 (${minimumInUse}) to 1000, got ${describeValue(frameInUseCount)}`,
      );
    }
    if (options.preallocate !== undefined && typeof options.preallocate !== "boolean")
      throw new TypeError(`${op}: option 'preallocate' must be a boolean, got ${describeValue(options.preallocate)}`);
    if (options.label !== undefined && typeof options.label !== "string")
      throw new TypeError(`${op}: option 'label' must be a string, got ${describeValue(options.label)}`);
    const usage = options.usage ?? IMAGE_USAGE_SAMPLED;
    if (!(Number.isInteger(usage) && usage > 0 && usage <= 0x7fffffff))
      throw new RangeError(`${op}: option 'usage' must be VkImageUsageFlags, got ${describeValue(usage)}`);
    this.label = options.label ?? "TextureStreamer";
    this.frames = frames;
    this.frameInUseCount = frameInUseCount;
    this.uploadBudgetBytes = positiveOption(op, "uploadBudgetBytes", options.uploadBudgetBytes, 4 * MiB)!;
    const maxLoads = positiveOption(op, "maxLoadsInFlight", options.maxLoadsInFlight, 16)!;
    const lifetime = positiveOption(op, "requestLifetimeFrames", options.requestLifetimeFrames, 2)!;
    const imageUsage = usage | IMAGE_USAGE_TRANSFER;
    const allocator = frames.allocator;
    this.#allocator = allocator;

    // The memory type of a typical streamed image in DEVICE_LOCAL memory, and the figures of its heap.
    const probe: ImageInfo = {
      format: FORMAT_R8G8B8A8_UNORM,
      extent: { width: 1024, height: 1024 },
      mipLevels: 11,
      usage: imageUsage,
    };
    this.memoryTypeIndex = allocator.findMemoryTypeIndexForImageInfo(probe, {
      usage: MemoryUsage.Auto,
      requiredFlags: MemoryPropertyFlags.DEVICE_LOCAL,
    });
    const heap = allocator.memoryTypes[this.memoryTypeIndex]!.heapIndex;
    const plan = planBudget(
      {
        memoryBudget: (allocator.flags & ALLOCATOR_EXT_MEMORY_BUDGET) !== 0,
        heapBudget: allocator.getHeapBudgets()[heap]!.budget,
        heapSizeLimit: allocator.heapSizeLimits[heap]!,
      },
      options,
      op,
    );
    this.budgetSource = plan.source;
    this.blockSize = plan.blockSize;
    this.tailSize = plan.tailSize;
    this.tailBlockSize = plan.tailBlockSize;
    this.tailBudgetBytes = plan.tailBudgetBytes;
    this.budgetBytes = plan.budgetBytes;
    const preallocate = options.preallocate === true;
    const pool = allocator.createPool(
      { memoryTypeIndex: this.memoryTypeIndex },
      {
        blockSize: plan.blockSize,
        maxBlockCount: plan.blockCount,
        minBlockCount: preallocate ? plan.blockCount : 0,
        frameInUseCount,
        name: `${this.label} pool`,
      },
    );
    this.#pool = pool;
    pool._ownedBy = this._lifetimeName;
    try {
      if (plan.tailBlockCount > 0) {
        this.#tailPool = allocator.createPool(
          { memoryTypeIndex: this.memoryTypeIndex },
          {
            blockSize: plan.tailBlockSize,
            maxBlockCount: plan.tailBlockCount,
            minBlockCount: preallocate ? plan.tailBlockCount : 0,
            frameInUseCount,
            name: `${this.label} tail pool`,
          },
        );
        this.#tailPool._ownedBy = this._lifetimeName;
      }
      if (options.placeholder !== undefined) {
        if (!(options.placeholder instanceof Texture) || options.placeholder.destroyed) {
          throw new TypeError(
            `${op}: option 'placeholder' must be a live Texture, got ${describeValue(options.placeholder)}`,
          );
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
    this.#placeholderShow = Object.freeze({
      view: placeholder.view,
      texture: placeholder,
      firstMip: -1,
      lastMip: -1,
      placeholder: true,
    });
    // The two kinds of mip chain differ only in the mip each one should hold (mip-chain.ts) and in how an eviction
    // is counted.
    const totals = this.#totals;
    const streamerNumber = (this.#number = ++streamersMade);
    this.#large = new ChainLane<TextureResidency>(
      "mips",
      pool,
      (r) => (r.wantMip < r.tailFirstMip ? r.wantMip : -1),
      (bytes) => {
        const stats = this.#frame;
        stats.evicted++;
        stats.evictedBytes += bytes;
        totals.evicted++;
        totals.evictedBytes += bytes;
        // Into the allocator's trace when it records (the texture is not named: the lane knows only the bytes).
        frames.allocator._recording?.writer.streamerEvict(streamerNumber, 0, bytes);
        frames.allocator._inspector?._evicted(bytes);
      },
    );
    this.#tails = new ChainLane<TextureResidency>(
      "tail",
      this.#tailPool,
      (r) => (r.tailFirstMip < r.mipLevels ? r.tailFirstMip : -1),
      () => {
        this.#frame.tailsEvicted++;
        totals.tailsEvicted++;
      },
    );
    this.#loader = new LoaderPipeline(maxLoads, {
      live: () => this.#pool !== null,
      currentStatistics: () => this.#frame,
    });
    this.#scheduler = new UploadScheduler(frames, this.uploadBudgetBytes, lifetime, imageUsage, this.#loader, {
      frames,
      label: this.label,
    });
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
    const texture = this.frames.createTexture({
      label: `${this.label} placeholder`,
      width: 4,
      height: 4,
      format: FORMAT_R8G8B8A8_UNORM,
    });
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
      residentTextures: this.#counts.residentTextures,
      residentBytes: this.#large.bytes,
      tails: this.#tails.images,
      tailBytes: this.#tails.bytes,
      tailsEvicted: 0,
      placeholders: 0,
      requested: 0,
      evicted: 0,
      evictedBytes: 0,
      uploads: 0,
      uploadedBytes: 0,
      pendingRequests: this.#large.heap.length + this.#loader.inFlight,
      loadsInFlight: this.#loader.inFlight,
      outOfBudget: 0,
      loadErrors: 0,
      budgetBytes: this.budgetBytes,
      budgetUsedBytes: 0,
      tailPoolBytes: 0,
      budgetUse: 0,
      updateUs: 0,
      uploadUs: 0,
      createUs: 0,
      creates: 0,
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
      if (!KNOWN_DESC.has(key))
        throw new TypeError(
          `${op}: desc has an unknown field '${key}' (value ${describeValue((desc as unknown as Record<string, unknown>)[key])})`,
        );
    }
    if (typeof desc.label !== "string" || desc.label.length === 0 || desc.label.includes("\0")) {
      throw new TypeError(`${op}: desc.label must be a non-empty string without NUL, got ${describeValue(desc.label)}`);
    }
    for (const name of ["width", "height"] as const) {
      const v = desc[name];
      if (!(Number.isInteger(v) && v >= 1 && v <= 16384))
        throw new RangeError(`${op}: desc.${name} must be an integer from 1 to 16384, got ${describeValue(v)}`);
    }
    const info = formatInfo(desc.format);
    if (info === undefined || info.aspect !== ASPECT_COLOR) {
      throw new RangeError(
        `${op}: desc.format must be a colour VkFormat vkmem knows (engine/vulkan/formats.ts), got ${describeValue(desc.format)}`,
      );
    }
    const maxMips = Math.floor(Math.log2(Math.max(desc.width, desc.height))) + 1;
    const mipLevels = desc.mipLevels ?? maxMips;
    if (!(Number.isInteger(mipLevels) && mipLevels >= 1 && mipLevels <= maxMips)) {
      throw new RangeError(
        `${op}: desc.mipLevels must be an integer from 1 to ${maxMips} for ${desc.width}x${desc.height}, got ${describeValue(desc.mipLevels)}`,
      );
    }
    if (typeof desc.load !== "function")
      throw new TypeError(
        `${op}: desc.load must be a function (firstMip, mipCount) => pixels, got ${describeValue(desc.load)}`,
      );
    const priority = desc.priority ?? 0;
    if (!(typeof priority === "number" && Number.isFinite(priority)))
      throw new RangeError(`${op}: desc.priority must be a finite number, got ${describeValue(priority)}`);
    const residency = new TextureResidency(
      this,
      {
        label: desc.label,
        width: desc.width,
        height: desc.height,
        format: desc.format,
        mipLevels,
        priority,
        load: desc.load,
        info,
        tailSize: this.#tailPool !== null ? this.tailSize : 0,
      },
      this.#large,
      this.#tails,
      this.#counts,
    );
    let total = 0;
    let tail = 0;
    for (let m = 0; m < mipLevels; m++) {
      total += residency.mipBytes[m]!;
      if (m >= residency.tailFirstMip) tail += residency.mipBytes[m]!;
    }
    if (residency.tailFirstMip > 0 && total > this.blockSize) {
      throw new RangeError(
        `${op}: texture '${desc.label}' needs ${total} bytes with all its mips, more than the pool's block size (${this.blockSize}); raise blockSize`,
      );
    }
    if (tail > this.tailBlockSize) {
      throw new RangeError(
        `${op}: texture '${desc.label}' needs ${tail} bytes for its tail (mips ${residency.tailFirstMip} to ${mipLevels - 1}), more than the tail pool's block size (${this.tailBlockSize}); raise the budget or tailBudgetFraction, or lower tailSize`,
      );
    }
    const texture = new StreamedTexture(residency);
    this.#registered.add(residency);
    this.#textureNumbers.set(residency, ++this.#texturesRegistered);
    return texture;
  }

  /** @internal StreamedTexture.destroy(): unregisters a texture and releases its images. */
  _unregister(residency: TextureResidency): void {
    this.#registered.delete(residency);
    residency.releaseAll();
  }

  /**
   * Reports that the frame being recorded will sample `texture`, at mips `mip` and smaller (default 0: full size).
   * Keeps what is resident from being evicted and queues what is missing. O(1) (O(log n) when it queues).
   * @throws TypeError for a texture not registered here; RangeError for a bad mip; DestroyedResourceError for a
   *   destroyed texture or streamer.
   */
  request(texture: StreamedTexture, mip = 0): void {
    const r = this.#checkTexture(texture, "request");
    if (!(Number.isInteger(mip) && mip >= 0 && mip < r.mipLevels)) {
      throw new RangeError(
        `TextureStreamer '${this.label}'.request: mip must be an integer from 0 to ${r.mipLevels - 1} for '${r.label}', got ${describeValue(mip)}`,
      );
    }
    const frame = this.#allocator.currentFrameIndex;
    if (frame !== this.#requestedFrame) {
      this.#requestedFrame = frame;
      this.#requested = 0;
    }
    const first = r.lastRequest !== frame;
    if (first || mip < r.wantMip) {
      if (first) this.#requested++;
      r.lastRequest = frame;
      r.wantMip = mip;
      // Into the allocator's trace when it records: the requests that change what the frame wants.
      this.#allocator._recording?.writer.streamerRequest(this.#number, this.#textureNumbers.get(r) ?? 0, mip);
    }
    // Once per frame: a second request in the frame finds its images touched by the first, or made since (an image
    // enters its pool's LRU list at the warm end).
    if (first) {
      r.large.touch();
      r.tail.touch();
    }
    r.tail.queueIfNeeded();
    r.large.queueIfNeeded();
  }

  /**
   * What `texture` can show in the frame being recorded: a view over its resident mips, or the placeholder. Marks
   * what it returns used by this frame (so it is neither evicted nor destroyed while the frame may sample it). The
   * returned object belongs to the streamer and changes with later calls: read it now.
   * @throws TypeError for a texture not registered here; DestroyedResourceError for a destroyed texture or streamer.
   */
  show(texture: StreamedTexture): TextureShow {
    const r = this.#checkTexture(texture, "show");
    const frame = this.#allocator.currentFrameIndex;
    // Only what is returned is marked used: a tail behind a large image is never sampled (request() keeps it warm in
    // the LRU). It is touched unless the texture was requested in this frame: request() touched its images then,
    // and an image made since entered its pool's LRU list at the warm end.
    const image = r.shownImage();
    if (image !== null) return image.show(r.lastRequest !== frame);
    if (r.placeholderFrame !== frame) {
      r.placeholderFrame = frame;
      this.#statisticsOf(frame).placeholders++;
    }
    return this.#placeholderShow;
  }

  #checkTexture(texture: StreamedTexture, op: string): TextureResidency {
    this.#live(op);
    if (!(texture instanceof StreamedTexture) || texture._residency.owner !== this) {
      throw new TypeError(
        `TextureStreamer '${this.label}'.${op}: texture must be a StreamedTexture registered with this streamer, got ${describeValue(texture)}`,
      );
    }
    const r = texture._residency;
    if (r.destroyed) throw new DestroyedResourceError("StreamedTexture", r.label, op);
    return r;
  }

  /**
   * Streams: starts loads and uploads mips of the queued textures, highest priority first, within the per-frame
   * upload budget, creating images (which may evict cold ones). Tails are served first. Call it once per frame,
   * inside the frame, after the frame's requests (requests made after it are served in the next frame).
   * @returns this frame's statistics (a new object per frame).
   * @throws Error outside a frame; DestroyedResourceError after destroy(). Loader failures are not thrown: they are
   *   counted and kept in the texture's `lastLoadError`.
   */
  update(): TextureStreamerFrameStatistics {
    const pool = this.#live("update");
    if (this.frames.currentFrame === null) {
      throw new InvalidStateError(
        `TextureStreamer '${this.label}'`,
        "update",
        "no frame is being recorded: call it between beginFrame() and endFrame()",
      );
    }
    const start = performance.now();
    const frame = this.#allocator.currentFrameIndex;
    const stats = this.#statisticsOf(frame);
    stats.requested = this.#requestedFrame === frame ? this.#requested : 0;
    const scheduler = this.#scheduler;
    scheduler.beginFrame();
    // Tails first: a few KiB each, and each one removes a placeholder.
    const tailPool = this.#tailPool;
    const spent = tailPool !== null && scheduler.serve(this.#tails, frame, stats);
    if (!spent) scheduler.serve(this.#large, frame, stats);
    this.#totals.uploads += stats.uploads;
    this.#totals.uploadedBytes += stats.uploadedBytes;
    const tailUsed = tailPool !== null ? tailPool.getStatistics().blockBytes : 0;
    const used = pool.getStatistics().blockBytes + tailUsed;
    stats.residentTextures = this.#counts.residentTextures;
    stats.residentBytes = this.#large.bytes;
    stats.tails = this.#tails.images;
    stats.tailBytes = this.#tails.bytes;
    stats.pendingRequests = this.#large.heap.length + this.#tails.heap.length + this.#loader.inFlight;
    stats.loadsInFlight = this.#loader.inFlight;
    stats.budgetUsedBytes = used;
    stats.tailPoolBytes = tailUsed;
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
    const totals = this.#totals;
    return {
      registered: this.#registered.size,
      residentTextures: this.#counts.residentTextures,
      residentBytes: this.#large.bytes,
      tails: this.#tails.images,
      tailBytes: this.#tails.bytes,
      evicted: totals.evicted,
      evictedBytes: totals.evictedBytes,
      tailsEvicted: totals.tailsEvicted,
      uploads: totals.uploads,
      uploadedBytes: totals.uploadedBytes,
      loads: this.#loader.loads,
      loadErrors: this.#loader.errors,
      budgetBytes: this.budgetBytes,
    };
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
    for (const r of [...this.#registered]) this._unregister(r);
    this.#large.heap.clear();
    this.#tails.heap.clear();
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
