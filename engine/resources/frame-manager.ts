/**
 * FrameManager: frames in flight over one queue, the deferred destruction that rides on their fences, and the
 * resources, uploads and per-frame memory a game uses every frame.
 *
 * Buffers and textures (engine/resources/buffer.ts, texture.ts) are made by the manager and remember the serial of
 * the last frame that used them; uploads and readbacks go through engine/resources/transfers.ts, and both the
 * staging data and `allocateTransient` memory come from rings (engine/resources/upload-ring.ts) whose bytes are
 * retired by the same fences. Each of those modules states its own invariants; this one states the frame's.
 *
 * A game records frame N+1 on the CPU while the GPU still executes frame N (and perhaps N-1). The manager keeps N
 * frame slots (2 or 3). Each slot owns a command pool with one primary command buffer and a fence; each submitted
 * frame gets a serial, 1, 2, 3, ... in submission order. `beginFrame()` takes the next slot, waits for the fence of
 * the frame that last used it, and only then reuses its command buffer; `endFrame()` submits that command buffer
 * with the slot's fence. The CPU can therefore never get more than N frames ahead of the GPU: when it tries, the wait
 * in `beginFrame()` blocks, and that wait is counted (and timed) as back-pressure.
 *
 * The invariants, and why they hold:
 *
 * - Completion is one number. Fences signaled by submissions to one queue cover every command submitted earlier on
 *   that queue, so once the fence of serial S is seen signaled, every serial up to S is complete. The manager keeps
 *   the highest such serial as `completedSerial`; it only grows, and only after a fence wait or status check said so.
 * - A slot's command pool is reset only after its fence has signaled, that is, after the GPU finished the command
 *   buffer recorded in it. The fence is created signaled, so the first use of each slot does not wait, and it is
 *   reset just before the submission that will signal it again, so a frame that is begun but never submitted leaves
 *   it signaled.
 * - Nothing the GPU may still read is freed before its fence. `destroyLater()` takes the serial that last used the
 *   resource (by default the frame being recorded, or the last submitted one between frames). When that serial is
 *   already complete it destroys at once; otherwise it queues the destruction in the {@link ReleaseQueue} under that
 *   serial, and `beginFrame()` / `waitIdle()` retire the queue only up to `completedSerial`. A frame that is begun
 *   but never submitted keeps its items until a later serial completes (its serial is reused by the next frame) or
 *   until `destroy()`.
 * - The same resource is never destroyed twice: the release queue does not deduplicate, so resources guard their own
 *   `destroy()` (see engine/resources/release-queue.ts).
 * - `waitIdle()` waits for every submitted frame and retires everything they held; `destroy()` does the same, then
 *   also runs what was queued under a frame that will now never be submitted, and destroys the slots' fences and
 *   command pools. The manager owns neither the Context nor the Allocator; it is their dependent (engine/lifetime.ts):
 *   destroying either destroys the manager first. Its own dependents are its TextureStreamers and the Buffers and
 *   Textures it made: `destroy()` destroys those still alive first (streamers, then resources, through the release
 *   queue) and names them in one warning. Every method but `destroy()` and `destroyed` then throws
 *   {@link DestroyedResourceError}, naming the parent when one took the manager along.
 * - A download settles without the application's help. Its promise resolves once the fence of the submission that
 *   carries it has signaled: a later `beginFrame()` or `waitIdle()` sees that, and so does the manager itself, which
 *   polls the fences (vkGetFenceStatus, never blocking, on a timer that keeps Node alive) while a submitted download
 *   is pending. A download queued between frames rides on the next frame; when no frame has begun by the next turn of
 *   the event loop, the manager submits it (with the uploads queued before it) on its own, as Dawn's device tick
 *   flushes pending commands, and waits for that small submission. A download left in a frame that is begun and
 *   never ended cannot complete: when Node is about to exit with it pending, it is rejected with an Error saying so,
 *   rather than Node exiting silently (code 13). `destroy()` waits for the submitted downloads and resolves them,
 *   and rejects those never submitted with DestroyedResourceError.
 * @module
 */
import { DestroyedResourceError, check, describeValue } from "../errors.js";
import { checkBytes, isOptionsObject } from "../checks.js";
import type { Allocator } from "../memory/allocator.js";
import { MemoryUsage, type AllocationOptions } from "../memory/usage.js";
import type { Context } from "../vulkan/context.js";
import { formatInfo, regionBytes } from "../vulkan/formats.js";
import { isNvkHandle, rawHandle, type NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";
import { Buffer } from "./buffer.js";
import { Owner, ResourceRelease, type ResourceOwner } from "./resource.js";
import { ReleaseQueue } from "./release-queue.js";
import { Texture } from "./texture.js";
import { completeRegion, type ImageRegion } from "./image-region.js";
import { Transfers, type TransferStatistics } from "./transfers.js";
import { UploadRing, type UploadRingOptions, type UploadRingStatistics } from "./upload-ring.js";
import { Dependents, cascadeReport, creationStack, lifetimeName, reportCascade, unwatch, watch } from "../lifetime.js";
import {
  BUFFER_USAGE_TRANSFER,
  COMMAND_BUFFER_ONE_TIME_SUBMIT,
  COMMAND_POOL_CREATE_TRANSIENT,
  FENCE_CREATE_SIGNALED,
  IMAGE_TYPE_2D,
  IMAGE_TYPE_3D,
  IMAGE_USAGE_SAMPLED,
  IMAGE_USAGE_TRANSFER,
  IMAGE_USAGE_VIEWABLE,
  NO_TIMEOUT,
  OBJECT_TYPE_BUFFER,
  OBJECT_TYPE_COMMAND_BUFFER,
  OBJECT_TYPE_COMMAND_POOL,
  OBJECT_TYPE_FENCE,
  OBJECT_TYPE_IMAGE,
  OBJECT_TYPE_IMAGE_VIEW,
  STAGE_ALL,
  VIEW_TYPE_2D,
  VIEW_TYPE_2D_ARRAY,
  VIEW_TYPE_3D,
  VK_NOT_READY,
} from "../vulkan/vk.js";

/** Options of {@link createFrameManager}. Every member is optional. */
export interface FrameManagerOptions {
  /** How many frames the CPU may record ahead of the GPU: 2 (the default) or 3. */
  framesInFlight?: number;
  /** A label for messages and Vulkan object names. */
  label?: string;
  /** The staging ring that uploads copy through (default 4 MiB, growing to 64 MiB). */
  stagingRing?: UploadRingOptions;
  /** The ring {@link FrameManager.allocateTransient} hands out (default 4 MiB, growing to 64 MiB). */
  transientRing?: UploadRingOptions;
}

/** The frame being recorded, as {@link FrameManager.beginFrame} hands it out. Valid until its `endFrame()`. */
export interface Frame {
  /** The slot it uses, 0 to framesInFlight - 1. */
  readonly index: number;
  /** Its submission serial: what resources it uses record as their last use. */
  readonly serial: number;
  /** How many frames were begun before it (0 for the first). */
  readonly frameNumber: number;
  /** The primary command buffer to record into, already begun (ONE_TIME_SUBMIT). */
  readonly commandBuffer: NvkHandle;
}

/** Options of {@link FrameManager.endFrame}: the synchronization with presentation (or other queues). */
export interface EndFrameOptions {
  /** Semaphores the submission waits on (e.g. the swapchain's image-acquired semaphore). */
  waitSemaphores?: readonly NvkHandle[];
  /** One VkPipelineStageFlags per wait semaphore. Default: ALL_COMMANDS for each. */
  waitStages?: readonly number[];
  /** Semaphores the submission signals (e.g. render-finished, for vkQueuePresentKHR). */
  signalSemaphores?: readonly NvkHandle[];
}

/**
 * What the manager did for one frame: from its `beginFrame()` until the next `beginFrame()`. A new object per frame;
 * the manager keeps writing into it until the next frame begins, and never after.
 */
export interface FrameStatistics {
  /** The frame's number (0 for the first). */
  readonly frameNumber: number;
  /** Its slot. */
  readonly index: number;
  /** Its serial. */
  readonly serial: number;
  /** 1 when `beginFrame()` had to wait for the GPU to finish the slot's previous frame, else 0. */
  backPressureWaits: number;
  /** Microseconds spent in that wait. */
  backPressureWaitUs: number;
  /** Destructions `beginFrame()` retired (their fence had signaled). */
  deferredRetired: number;
  /** Bytes those destructions freed (as declared to `destroyLater`). */
  deferredRetiredBytes: number;
  /**
   * CPU microseconds `beginFrame()` spent running those destructions (the VMA and Vulkan frees themselves, which
   * the application would pay without a manager, plus the queue's walk over them).
   */
  deferredRetireUs: number;
  /** `destroyLater()` calls during the frame that were queued for a fence. */
  deferredQueued: number;
  /** `destroyLater()` calls during the frame that destroyed at once (the last use was already complete). */
  deferredImmediate: number;
  /** CPU microseconds spent in `beginFrame()` (the back-pressure wait included). */
  beginFrameUs: number;
  /** CPU microseconds spent in `endFrame()` (0 until it has run). */
  endFrameUs: number;
  /** Buffers and textures created through the manager during the frame. */
  resourcesCreated: number;
  /** Buffers and textures destroyed (queued or at once) during the frame. */
  resourcesDestroyed: number;
  /** `upload()` and `uploadImage()` calls during the frame. */
  uploads: number;
  /** Bytes they copied. */
  uploadedBytes: number;
  /** `allocateTransient()` calls during the frame. */
  transientAllocations: number;
  /** Bytes they handed out. */
  transientBytes: number;
  /** Times a ring (staging or transient) wrapped around during the frame. */
  ringWraps: number;
  /** Blocks added to a ring because it was full. */
  ringGrows: number;
  /** Frames waited for because a ring was full (policy `wait`). */
  ringWaits: number;
  /** Upload batches submitted early because one frame's uploads filled the staging ring. */
  earlySubmits: number;
  /** Bytes in use in the two rings when the frame was submitted (not yet retired, padding included). */
  ringUsedBytes: number;
}

/** Totals of a {@link FrameManager} since it was made. */
export interface FrameManagerStatistics {
  /** 2 or 3, as created. */
  readonly framesInFlight: number;
  /** Frames submitted. */
  readonly framesSubmitted: number;
  /** The serial of the last submission (0 before the first). */
  readonly submittedSerial: number;
  /** The highest serial known complete. */
  readonly completedSerial: number;
  /** Times `beginFrame()` had to wait for the GPU (the CPU was framesInFlight frames ahead). */
  readonly backPressureWaits: number;
  /** Microseconds spent in those waits. */
  readonly backPressureWaitUs: number;
  /** Destructions queued for a fence. */
  readonly deferredQueued: number;
  /** Destructions run at once by `destroyLater` (last use already complete). */
  readonly deferredImmediate: number;
  /** Queued destructions that have run. */
  readonly deferredRetired: number;
  /** Queued destructions still waiting. */
  readonly deferredPending: number;
  /** Bytes of the destructions still waiting (as declared to `destroyLater`). */
  readonly deferredPendingBytes: number;
  /** CPU microseconds spent in `beginFrame()`, waits included. */
  readonly beginFrameUs: number;
  /** CPU microseconds spent in `endFrame()`. */
  readonly endFrameUs: number;
  /** Buffers and textures created through the manager, and destroyed. */
  readonly resourcesCreated: number;
  readonly resourcesDestroyed: number;
  /** Uploads, readbacks and their queues. */
  readonly transfers: TransferStatistics;
  /** The staging ring. */
  readonly stagingRing: UploadRingStatistics;
  /** The transient ring. */
  readonly transientRing: UploadRingStatistics;
}

/** A buffer description for {@link FrameManager.createBuffer}. */
export interface BufferDescription {
  /** Names the buffer in messages, in the VMA allocation and as the Vulkan object name. */
  label: string;
  /** Size in bytes, a positive integer. */
  size: number;
  /** VkBufferUsageFlags (TRANSFER_SRC and TRANSFER_DST are added). */
  usage: number;
  /** How to allocate it (default `{ usage: MemoryUsage.Auto }`); `name` is the label. */
  memory?: AllocationOptions;
}

/** A texture description for {@link FrameManager.createTexture}. */
export interface TextureDescription {
  label: string;
  width: number;
  height: number;
  /** Default 1 (above 1: a 3D image). */
  depth?: number;
  /** VkFormat: one that engine/vulkan/formats.ts knows. */
  format: number;
  /** Default 1. */
  mipLevels?: number;
  /** Default 1. */
  arrayLayers?: number;
  /** VkImageUsageFlags (default SAMPLED; TRANSFER_SRC and TRANSFER_DST are added). */
  usage?: number;
  /** How to allocate it (default `{ usage: MemoryUsage.Auto }`). */
  memory?: AllocationOptions;
  /**
   * VkImageViewType of the default view (default 2D, 2D_ARRAY with several layers, 3D with depth > 1); 2D_ARRAY also
   * suits one layer. Others (1D, cube) are refused: the image is made without the flags they need.
   */
  viewType?: number;
}

/** What {@link FrameManager.allocateTransient} is for: it picks the alignment. */
export type TransientUsage = "uniform" | "storage" | "vertex" | "index" | "copy";

/**
 * Memory from the transient ring, valid for one frame: the GPU may read it from the frame it was allocated for,
 * and the manager reuses it once that frame's fence has signaled. Write it before the frame is submitted.
 */
export class TransientAllocation {
  #bytes: Uint8Array | null = null;
  /** @internal */
  constructor(
    /** The ring block's VkBuffer: bind it with `offset`. */
    readonly buffer: NvkHandle,
    /** Offset in `buffer`, aligned as the usage requires. */
    readonly offset: number,
    /** Size in bytes. */
    readonly size: number,
    /** The whole block's mapped memory (the bytes of this allocation start at `offset`). */
    readonly mapped: ArrayBuffer,
  ) {}
  /** The allocation's bytes (made on first use). */
  get bytes(): Uint8Array {
    return (this.#bytes ??= new Uint8Array(this.mapped, this.offset, this.size));
  }
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set(["framesInFlight", "label", "stagingRing", "transientRing"]);
const KNOWN_RING_OPTIONS: ReadonlySet<string> = new Set(["size", "maxSize", "policy"]);
const KNOWN_BUFFER_DESC: ReadonlySet<string> = new Set(["label", "size", "usage", "memory"]);
const KNOWN_TEXTURE_DESC: ReadonlySet<string> = new Set(["label", "width", "height", "depth", "format", "mipLevels", "arrayLayers", "usage", "memory", "viewType"]);
const MiB = 1024 * 1024;

const KNOWN_END_OPTIONS: ReadonlySet<string> = new Set(["waitSemaphores", "waitStages", "signalSemaphores"]);

// VMA's VMA_FRAME_INDEX_LOST is 0xFFFFFFFF: frame indices handed to it wrap below that.
const FRAME_INDEX_MODULUS = 0xffffffff;

interface Slot {
  readonly pool: NvkHandle;
  readonly commandBuffer: NvkHandle;
  readonly fence: NvkHandle;
  /** `[fence]`, made once: the fence calls take an array. */
  readonly fences: readonly NvkHandle[];
  /** The serial of the last submission made with this slot's fence (0: none). */
  serial: number;
  /** The submit info of a frame with no semaphores and no upload batch, made once. */
  plainSubmit?: any;
}

/**
 * Creates a {@link FrameManager} over `context`'s queue, feeding `allocator` its frame index.
 *
 * The caller owns the manager and destroys it; destroying the allocator or the context first destroys it along
 * (engine/lifetime.ts).
 * @throws TypeError for a bad argument or an unknown option; RangeError when `framesInFlight` is not 2 or 3.
 * @throws DestroyedResourceError when the context or the allocator is destroyed.
 * @throws VkError when creating the fences or command pools fails.
 * @throws Error when `allocator` already has a live FrameManager: its frame index, by which lost allocations are
 *   judged, is one manager's frame number.
 */
export function createFrameManager(context: Context, allocator: Allocator, options?: FrameManagerOptions): FrameManager {
  return new FrameManager(context, allocator, options);
}

/**
 * N frames in flight on one queue, with a release queue retired by their fences. See the module comment.
 *
 * Created by {@link createFrameManager} (or `new FrameManager`); destroyed by its owner with
 * {@link FrameManager.destroy}, or with the allocator or the context it was made over (engine/lifetime.ts).
 */
export class FrameManager implements ResourceOwner {
  /** The label given at creation, if any. */
  readonly label: string | undefined;
  /** How many frames may be in flight: 2 or 3. */
  readonly framesInFlight: number;
  /** The context whose queue it submits to. */
  readonly context: Context;
  /** The allocator it tells the frame index. */
  readonly allocator: Allocator;
  #device: NvkHandle;
  #queue: NvkHandle;
  #slots: Slot[] | null;
  // Made once and reused: beginFrame and endFrame allocate as little as they can.
  readonly #beginInfo = new nvk.VkCommandBufferBeginInfo({ flags: COMMAND_BUFFER_ONE_TIME_SUBMIT });
  readonly #release = new ReleaseQueue();
  #frameNumber = 0;
  #submittedSerial = 0;
  #completedSerial = 0;
  #open: Frame | null = null;
  #frameStats: FrameStatistics | null = null;
  #backPressureWaits = 0;
  #backPressureWaitUs = 0;
  #deferredImmediate = 0;
  #beginFrameUs = 0;
  #endFrameUs = 0;
  #resourcesCreated = 0;
  #resourcesDestroyed = 0;
  #transfers: Transfers;
  #transient: UploadRing;
  readonly #transientAlign: Record<TransientUsage, number>;
  /** @internal Its TextureStreamers (engine/lifetime.ts): destroyed first by destroy(). */
  readonly _dependents = new Dependents();
  /** The Buffers and Textures it made that are not destroyed yet; destroy() destroys them. */
  readonly #resources = new Set<Buffer | Texture>();
  /** The ancestor whose destroy() took it along (its Allocator, or that allocator's Context), once that happened. */
  #goneCause: string | undefined = undefined;
  /** The timer that polls fences for pending downloads (null when none is armed). */
  #downloadTimer: ReturnType<typeof setTimeout> | null = null;
  /** Registered on process 'beforeExit' while downloads are pending. */
  #beforeExit: (() => void) | null = null;

  /**
   * Creates the frame slots (a command pool, a primary command buffer and a signaled fence each). Same as
   * {@link createFrameManager}, which documents the arguments and what it throws.
   */
  constructor(context: Context, allocator: Allocator, options: FrameManagerOptions = {}) {
    const op = "createFrameManager";
    if (context === null || typeof context !== "object" || typeof (context as Context).submitAndWait !== "function") {
      throw new TypeError(`${op}: context must be a Context, got ${describeValue(context)}`);
    }
    if (allocator === null || typeof allocator !== "object" || typeof (allocator as Allocator).setCurrentFrameIndex !== "function") {
      throw new TypeError(`${op}: allocator must be an Allocator, got ${describeValue(allocator)}`);
    }
    if (!isOptionsObject(options)) {
      throw new TypeError(`${op}: options must be an object, got ${describeValue(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`${op}: unknown option '${key}' (value ${describeValue((options as Record<string, unknown>)[key])})`);
    }
    const framesInFlight = options.framesInFlight ?? 2;
    if (framesInFlight !== 2 && framesInFlight !== 3) {
      throw new RangeError(`${op}: option 'framesInFlight' must be 2 or 3, got ${describeValue(framesInFlight)}`);
    }
    if (options.label !== undefined && typeof options.label !== "string") {
      throw new TypeError(`${op}: option 'label' must be a string, got ${describeValue(options.label)}`);
    }
    const device = context.device; // throws DestroyedResourceError for a destroyed context
    if (allocator._handle === 0) throw new DestroyedResourceError("Allocator", allocator.label, op);
    if (rawHandle(allocator.device) !== rawHandle(device)) {
      throw new TypeError(`${op}: allocator${allocator.label ? ` '${allocator.label}'` : ""} was made over another device than the context's`);
    }
    this.label = options.label;
    this.framesInFlight = framesInFlight;
    this.context = context;
    this.allocator = allocator;
    this.#device = device;
    this.#queue = context.queue;
    const stagingRing = ringOptions(op, "stagingRing", options.stagingRing);
    const transientRing = ringOptions(op, "transientRing", options.transientRing);
    const limits = context.properties;
    this.#transientAlign = {
      uniform: Math.max(16, limits.minUniformBufferOffsetAlignment),
      storage: Math.max(16, limits.minStorageBufferOffsetAlignment),
      vertex: 16,
      index: 16,
      copy: Math.max(16, limits.optimalBufferCopyOffsetAlignment),
    };
    // The allocator's frame index is its manager's frame number, and lost allocations are judged by it: a second
    // manager would move it back and forth, and eviction would free what the other's frames in flight still use.
    // The allocator's dependents (engine/lifetime.ts) hold its live manager, if any.
    const driver = allocator._dependents.list().find((d): d is FrameManager => d instanceof FrameManager);
    if (driver !== undefined) {
      throw new Error(
        `${op}: allocator${allocator.label ? ` '${allocator.label}'` : ""} already has ${driver._lifetimeName}: one FrameManager per Allocator ` +
          "(its frame index, by which lost allocations are judged, is the manager's frame number); destroy that one first or make another allocator",
      );
    }
    const slots = this.#createSlots(context, framesInFlight);
    const name = this.label ?? "FrameManager";
    const waitSerial = (serial: number): void => this.#waitForSerial(serial);
    let transfers: Transfers | null = null;
    try {
      transfers = new Transfers(context, allocator, name, slots.map((s) => s.pool), stagingRing, waitSerial);
      this.#transient = new UploadRing(allocator, `${name} transient`, limits.nonCoherentAtomSize, transientRing, waitSerial);
    } catch (error) {
      transfers?.destroy(true, name);
      for (const slot of slots) {
        nvk.vkDestroyFence(device, slot.fence, null);
        nvk.vkDestroyCommandPool(device, slot.pool, null);
      }
      throw error;
    }
    this.#transfers = transfers;
    this.#slots = slots;
    allocator._dependents.add(this);
    watch(this, "FrameManager", this.label, creationStack(allocator._capturesStacks));
  }

  /** @internal What reports and errors call it: "FrameManager 'label'". */
  get _lifetimeName(): string {
    return lifetimeName("FrameManager", this.label);
  }

  /** @internal Its allocator (or that allocator's context) is being destroyed on behalf of `cause`. */
  _destroyWithParent(cause: string): void {
    if (this.#slots === null) return;
    this.#goneCause = cause;
    this.destroy();
  }

  #createSlots(context: Context, count: number): Slot[] {
    const device = this.#device;
    const slots: Slot[] = [];
    const name = this.label ?? "FrameManager";
    try {
      for (let i = 0; i < count; i++) {
        const pool = new nvk.VkCommandPool();
        const poolInfo = new nvk.VkCommandPoolCreateInfo({ flags: COMMAND_POOL_CREATE_TRANSIENT, queueFamilyIndex: context.queueFamilyIndex });
        check(nvk.vkCreateCommandPool(device, poolInfo, null, pool), "vkCreateCommandPool", name);
        const fence = new nvk.VkFence();
        const fenceResult = nvk.vkCreateFence(device, new nvk.VkFenceCreateInfo({ flags: FENCE_CREATE_SIGNALED }), null, fence);
        if (fenceResult < 0) {
          nvk.vkDestroyCommandPool(device, pool, null);
          check(fenceResult, "vkCreateFence", name);
        }
        const commandBuffer = new nvk.VkCommandBuffer();
        const allocateInfo = new nvk.VkCommandBufferAllocateInfo({ commandPool: pool, level: nvk.VK_COMMAND_BUFFER_LEVEL_PRIMARY, commandBufferCount: 1 });
        const allocated = nvk.vkAllocateCommandBuffers(device, allocateInfo, [commandBuffer]);
        slots.push({ pool, commandBuffer, fence, fences: [fence], serial: 0 });
        check(allocated, "vkAllocateCommandBuffers", name);
        context.setObjectName(OBJECT_TYPE_COMMAND_POOL, pool, `${name} slot ${i} command pool`);
        context.setObjectName(OBJECT_TYPE_COMMAND_BUFFER, commandBuffer, `${name} slot ${i} command buffer`);
        context.setObjectName(OBJECT_TYPE_FENCE, fence, `${name} slot ${i} fence`);
      }
    } catch (error) {
      for (const slot of slots) {
        nvk.vkDestroyFence(device, slot.fence, null);
        nvk.vkDestroyCommandPool(device, slot.pool, null);
      }
      throw error;
    }
    return slots;
  }

  #live(operation: string): Slot[] {
    const slots = this.#slots;
    if (slots === null) throw new DestroyedResourceError("FrameManager", this.label, operation, this.#goneCause);
    return slots;
  }

  /** Whether `destroy()` has run. */
  get destroyed(): boolean {
    return this.#slots === null;
  }

  /** The highest submission serial known complete (its fence seen signaled). @throws DestroyedResourceError after destroy(). */
  get completedSerial(): number {
    this.#live("completedSerial");
    return this.#completedSerial;
  }

  /** The serial of the last submitted frame (0 before the first). @throws DestroyedResourceError after destroy(). */
  get submittedSerial(): number {
    this.#live("submittedSerial");
    return this.#submittedSerial;
  }

  /** The frame being recorded (between beginFrame and endFrame), or null. @throws DestroyedResourceError after destroy(). */
  get currentFrame(): Frame | null {
    this.#live("currentFrame");
    return this.#open;
  }

  /**
   * The statistics of the latest frame (the one being recorded, or the last one submitted), or null before the first
   * `beginFrame()`. @throws DestroyedResourceError after destroy().
   */
  get frameStatistics(): Readonly<FrameStatistics> | null {
    this.#live("frameStatistics");
    return this.#frameStats;
  }

  /** Totals since creation. @throws DestroyedResourceError after destroy(). */
  get statistics(): FrameManagerStatistics {
    this.#live("statistics");
    const release = this.#release.statistics;
    return {
      framesInFlight: this.framesInFlight,
      framesSubmitted: this.#submittedSerial,
      submittedSerial: this.#submittedSerial,
      completedSerial: this.#completedSerial,
      backPressureWaits: this.#backPressureWaits,
      backPressureWaitUs: this.#backPressureWaitUs,
      deferredQueued: release.queued,
      deferredImmediate: this.#deferredImmediate,
      deferredRetired: release.retired,
      deferredPending: release.pending,
      deferredPendingBytes: release.pendingBytes,
      beginFrameUs: this.#beginFrameUs,
      endFrameUs: this.#endFrameUs,
      resourcesCreated: this.#resourcesCreated,
      resourcesDestroyed: this.#resourcesDestroyed,
      transfers: this.#transfers.statistics,
      stagingRing: this.#transfers.staging.statistics,
      transientRing: this.#transient.statistics,
    };
  }

  /**
   * The staging ring uploads copy through, for tools and benchmarks (its statistics and mapped blocks). Allocating
   * from it directly bypasses the upload bookkeeping: use `upload()`.
   * @throws DestroyedResourceError after destroy().
   */
  get stagingRing(): UploadRing {
    this.#live("stagingRing");
    return this.#transfers.staging;
  }

  /**
   * The serial that uses recorded now belong to: the frame being recorded, or between frames the next one (uploads
   * and transient allocations made between frames go with the next submission).
   * @throws DestroyedResourceError after destroy().
   */
  get recordingSerial(): number {
    this.#live("recordingSerial");
    return this.#useSerial();
  }

  /** What {@link recordingSerial} returns, without the liveness check (the callers made it). */
  #useSerial(): number {
    return this.#open !== null ? this.#open.serial : this.#submittedSerial + 1;
  }

  /**
   * Starts the next frame: waits for the GPU to finish the frame that last used the next slot (back-pressure),
   * retires the destructions whose fences have signaled, resets and begins the slot's command buffer, and tells the
   * allocator the frame index.
   *
   * The returned frame's command buffer is the caller's to record into until {@link endFrame}.
   * @throws Error when a frame is already being recorded (call endFrame first).
   * @throws VkError when a Vulkan call fails (e.g. device lost).
   * @throws whatever a retired destroy callback threw, after the frame has begun (see ReleaseQueue.retire).
   * @throws DestroyedResourceError after destroy().
   */
  beginFrame(): Frame {
    const slots = this.#live("beginFrame");
    if (this.#open !== null) {
      throw new Error(`FrameManager${this.#labelText()}.beginFrame: frame ${this.#open.frameNumber} is still being recorded: call endFrame() first`);
    }
    const start = performance.now();
    const frameNumber = this.#frameNumber;
    const index = frameNumber % this.framesInFlight;
    const slot = slots[index]!;
    const serial = this.#submittedSerial + 1;
    const stats: FrameStatistics = {
      frameNumber,
      index,
      serial,
      backPressureWaits: 0,
      backPressureWaitUs: 0,
      deferredRetired: 0,
      deferredRetiredBytes: 0,
      deferredRetireUs: 0,
      deferredQueued: 0,
      deferredImmediate: 0,
      beginFrameUs: 0,
      endFrameUs: 0,
      resourcesCreated: 0,
      resourcesDestroyed: 0,
      uploads: 0,
      uploadedBytes: 0,
      transientAllocations: 0,
      transientBytes: 0,
      ringWraps: 0,
      ringGrows: 0,
      ringWaits: 0,
      earlySubmits: 0,
      ringUsedBytes: 0,
    };
    this.#ringCounters(this.#ringMarks);
    if (slot.serial > this.#completedSerial) {
      const status = nvk.vkGetFenceStatus(this.#device, slot.fence);
      if (status === VK_NOT_READY) {
        const waitStart = performance.now();
        check(nvk.vkWaitForFences(this.#device, 1, slot.fences, true, NO_TIMEOUT), "vkWaitForFences", this.label);
        const waited = (performance.now() - waitStart) * 1000;
        stats.backPressureWaits = 1;
        stats.backPressureWaitUs = waited;
        this.#backPressureWaits++;
        this.#backPressureWaitUs += waited;
      } else {
        check(status, "vkGetFenceStatus", this.label);
      }
      this.#completedSerial = slot.serial;
    }
    // A download-only submission (see downloads in the module comment) may have used this slot's pool.
    this.#transfers.waitFlush(index);
    check(nvk.vkResetCommandPool(this.#device, slot.pool, 0), "vkResetCommandPool", this.label);
    this.#transfers.beginSlot(index);
    check(nvk.vkBeginCommandBuffer(slot.commandBuffer, this.#beginInfo), "vkBeginCommandBuffer", this.label);
    this.allocator.setCurrentFrameIndex(frameNumber % FRAME_INDEX_MODULUS);
    const frame: Frame = Object.freeze({ index, serial, frameNumber, commandBuffer: slot.commandBuffer });
    this.#open = frame;
    this.#frameNumber = frameNumber + 1;
    this.#frameStats = stats;
    let retireError: unknown = null;
    try {
      this.#retire(stats);
    } catch (error) {
      retireError = error;
    }
    const us = (performance.now() - start) * 1000;
    stats.beginFrameUs = us;
    this.#beginFrameUs += us;
    if (retireError !== null) throw retireError;
    return frame;
  }

  /**
   * Ends the current frame's command buffer and submits it to the queue with the slot's fence, waiting on and
   * signaling the given semaphores.
   * @throws TypeError / RangeError for bad options (nothing is ended or submitted then).
   * @throws Error when no frame is being recorded.
   * @throws VkError when ending or submitting fails; the frame is over all the same (its serial is reused).
   * @throws DestroyedResourceError after destroy().
   */
  endFrame(options?: EndFrameOptions): void {
    const slots = this.#live("endFrame");
    const frame = this.#open;
    if (frame === null) throw new Error(`FrameManager${this.#labelText()}.endFrame: no frame is being recorded: call beginFrame() first`);
    const sync = this.#endOptions(options);
    const start = performance.now();
    const slot = slots[frame.index]!;
    this.#open = null;
    const transfers = this.#transfers;
    // The upload batch first: it runs before the frame's commands, and leaves the layouts the downloads start from.
    const { transferCmd, mainCmd } = transfers.record();
    transfers.recordDownloads(slot.commandBuffer, frame.serial);
    check(nvk.vkEndCommandBuffer(slot.commandBuffer), "vkEndCommandBuffer", this.label);
    transfers.submitted(frame.serial);
    this.#transient.endFrame(frame.serial);
    let waits = sync.waits;
    let stages = sync.stages;
    if (transferCmd !== null) {
      waits = [transfers.submitTransfer(transferCmd), ...waits];
      stages = [STAGE_ALL, ...stages];
    }
    const plain = waits.length === 0 && mainCmd === null && sync.signals.length === 0;
    const submit = plain ? (slot.plainSubmit ??= new nvk.VkSubmitInfo({ commandBufferCount: 1, pCommandBuffers: [slot.commandBuffer] })) : new nvk.VkSubmitInfo({
      waitSemaphoreCount: waits.length,
      pWaitSemaphores: waits.length > 0 ? [...waits] : null,
      pWaitDstStageMask: waits.length > 0 ? Int32Array.from(stages) : null,
      commandBufferCount: mainCmd !== null ? 2 : 1,
      pCommandBuffers: mainCmd !== null ? [mainCmd, slot.commandBuffer] : [slot.commandBuffer],
      signalSemaphoreCount: sync.signals.length,
      pSignalSemaphores: sync.signals.length > 0 ? [...sync.signals] : null,
    });
    check(nvk.vkResetFences(this.#device, 1, slot.fences), "vkResetFences", this.label);
    // On failure nothing was submitted: the slot keeps its old (complete) serial, so nobody waits on the fence left
    // unsignaled, and the next submission resets it again.
    check(nvk.vkQueueSubmit(this.#queue, 1, [submit], slot.fence), "vkQueueSubmit", this.label);
    slot.serial = frame.serial;
    this.#submittedSerial = frame.serial;
    if (this.#beforeExit !== null) this.#watchDownloads();
    const us = (performance.now() - start) * 1000;
    const stats = this.#frameStats;
    if (stats !== null) {
      stats.endFrameUs = us;
      const now = this.#ringCounters(this.#ringNow);
      const mark = this.#ringMarks;
      stats.ringWraps = now.wraps - mark.wraps;
      stats.ringGrows = now.grows - mark.grows;
      stats.ringWaits = now.waits - mark.waits;
      stats.earlySubmits = now.earlySubmits - mark.earlySubmits;
      stats.ringUsedBytes = this.#transfers.staging.used + this.#transient.used;
    }
    this.#endFrameUs += us;
  }

  #endOptions(options: EndFrameOptions | undefined): { waits: readonly NvkHandle[]; stages: readonly number[]; signals: readonly NvkHandle[] } {
    const op = `FrameManager${this.#labelText()}.endFrame`;
    let waits: readonly NvkHandle[] = [];
    let stages: readonly number[] | undefined;
    let signals: readonly NvkHandle[] = [];
    if (options !== undefined) {
      if (!isOptionsObject(options)) {
        throw new TypeError(`${op}: options must be an object, got ${describeValue(options)}`);
      }
      for (const key of Object.keys(options)) {
        if (!KNOWN_END_OPTIONS.has(key)) throw new TypeError(`${op}: unknown option '${key}' (value ${describeValue((options as Record<string, unknown>)[key])})`);
      }
      const semaphores = (name: "waitSemaphores" | "signalSemaphores"): readonly NvkHandle[] => {
        const list = options[name];
        if (list === undefined) return [];
        if (!Array.isArray(list) || !list.every((s) => isNvkHandle(s, "VkSemaphore"))) {
          throw new TypeError(`${op}: option '${name}' must be an array of nvk VkSemaphore handles, got ${describeValue(list)}`);
        }
        return list;
      };
      waits = semaphores("waitSemaphores");
      signals = semaphores("signalSemaphores");
      stages = options.waitStages;
      if (stages !== undefined) {
        if (!Array.isArray(stages) || !stages.every((s) => Number.isInteger(s) && s > 0 && s <= 0x7fffffff)) {
          throw new TypeError(`${op}: option 'waitStages' must be an array of non-zero VkPipelineStageFlags, got ${describeValue(stages)}`);
        }
        if (stages.length !== waits.length) {
          throw new RangeError(`${op}: option 'waitStages' must have one entry per wait semaphore (${waits.length}), got ${describeValue(stages)}`);
        }
        stages.forEach((s, i) => this.allocator._checkFlagBits(s, "pipelineStage", op, `option 'waitStages[${i}]'`));
      }
    }
    return { waits, stages: stages ?? waits.map(() => STAGE_ALL), signals };
  }


  // ------------------------------------------------------------------ resources

  /**
   * Creates a buffer and its memory in one call (VMA's vmaCreateBuffer), named after `desc.label` both as the VMA
   * allocation name and the Vulkan object name. The caller destroys it with {@link Buffer.destroy}.
   * @throws TypeError / RangeError for a bad description (nothing is created then).
   * @throws VkError (OutOfDeviceMemoryError, ...) when the allocation fails.
   * @throws DestroyedResourceError after destroy().
   */
  createBuffer(desc: BufferDescription): Buffer {
    this.#live("createBuffer");
    const op = `FrameManager${this.#labelText()}.createBuffer`;
    checkDescription(op, desc, KNOWN_BUFFER_DESC);
    const label = checkLabel(op, desc.label);
    if (!Number.isSafeInteger(desc.size) || desc.size <= 0) throw new RangeError(`${op}: desc.size must be a positive integer number of bytes, got ${describeValue(desc.size)}`);
    if (!Number.isInteger(desc.usage) || desc.usage <= 0 || desc.usage > 0x7fffffff) throw new RangeError(`${op}: desc.usage must be non-zero VkBufferUsageFlags, got ${describeValue(desc.usage)}`);
    const memory = checkMemory(op, desc.memory);
    const usage = desc.usage | BUFFER_USAGE_TRANSFER;
    const { buffer, allocation } = this.allocator.createBuffer({ size: desc.size, usage }, { ...memory, name: label });
    this.context.setObjectName(OBJECT_TYPE_BUFFER, buffer, label);
    this.#resourcesCreated++;
    if (this.#frameStats !== null) this.#frameStats.resourcesCreated++;
    const allocator = this.allocator;
    const release = new ResourceRelease(`Buffer '${label}'`, allocation.size, () => allocator.destroyBuffer(buffer, allocation));
    const made = new Buffer(this, label, desc.size, usage, buffer, allocation, release);
    this.#resources.add(made);
    watch(made, "Buffer", label, creationStack(allocator._capturesStacks));
    return made;
  }

  /**
   * Creates a 2D (or 3D, or array) texture, its memory and its default view in one call. Every subresource starts
   * in UNDEFINED layout; {@link uploadImage} fills it. The caller destroys it with {@link Texture.destroy}.
   * @throws TypeError / RangeError for a bad description, including a format vkmem does not know.
   * @throws VkError when the allocation or the view fails.
   * @throws DestroyedResourceError after destroy().
   */
  createTexture(desc: TextureDescription): Texture {
    this.#live("createTexture");
    const op = `FrameManager${this.#labelText()}.createTexture`;
    checkDescription(op, desc, KNOWN_TEXTURE_DESC);
    const label = checkLabel(op, desc.label);
    const dim = (name: "width" | "height" | "depth" | "mipLevels" | "arrayLayers", fallback: number | undefined): number => {
      const v = desc[name] ?? fallback;
      if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65536) throw new RangeError(`${op}: desc.${name} must be an integer from 1 to 65536, got ${describeValue(v)}`);
      return v as number;
    };
    const width = dim("width", undefined);
    const height = dim("height", undefined);
    const depth = dim("depth", 1);
    const arrayLayers = dim("arrayLayers", 1);
    const mipLevels = dim("mipLevels", 1);
    const maxMips = Math.floor(Math.log2(Math.max(width, height, depth))) + 1;
    if (mipLevels > maxMips) throw new RangeError(`${op}: desc.mipLevels must be at most ${maxMips} for a ${width}x${height}x${depth} texture, got ${mipLevels}`);
    if (depth > 1 && arrayLayers > 1) throw new RangeError(`${op}: a 3D texture (depth ${depth}) cannot have array layers, got arrayLayers ${arrayLayers}`);
    const info = formatInfo(desc.format);
    if (info === undefined) throw new RangeError(`${op}: desc.format ${describeValue(desc.format)} is not a VkFormat vkmem knows (see engine/vulkan/formats.ts)`);
    const baseUsage = desc.usage ?? IMAGE_USAGE_SAMPLED;
    if (!Number.isInteger(baseUsage) || baseUsage < 0 || baseUsage > 0x7fffffff) throw new RangeError(`${op}: desc.usage must be VkImageUsageFlags, got ${describeValue(desc.usage)}`);
    // The default view needs a usage a view can have (VUID-VkImageViewCreateInfo-image-04441): transfers alone are not.
    if ((baseUsage & IMAGE_USAGE_VIEWABLE) === 0) {
      throw new RangeError(`${op}: desc.usage must include a usage an image view can have (SAMPLED, STORAGE, an attachment, ...) for the texture's view, got ${describeValue(desc.usage)}`);
    }
    const usage = baseUsage | IMAGE_USAGE_TRANSFER;
    const viewType = desc.viewType ?? (depth > 1 ? VIEW_TYPE_3D : arrayLayers > 1 ? VIEW_TYPE_2D_ARRAY : VIEW_TYPE_2D);
    if (!Number.isInteger(viewType) || viewType < 0 || viewType > 6) throw new RangeError(`${op}: desc.viewType must be a VkImageViewType, got ${describeValue(desc.viewType)}`);
    // The view covers the whole image, which is 2D (3D with depth > 1) without create flags: 2D takes one layer,
    // 2D_ARRAY any count, 3D a 3D image; 1D and cube views need an image createTexture does not make.
    const fits = depth > 1 ? viewType === VIEW_TYPE_3D : viewType === VIEW_TYPE_2D_ARRAY || (viewType === VIEW_TYPE_2D && arrayLayers === 1);
    if (!fits) {
      throw new RangeError(`${op}: desc.viewType must suit a ${depth > 1 ? "3D" : "2D"} image of ${arrayLayers} layer(s) (${depth > 1 ? "3D: 2" : arrayLayers === 1 ? "2D: 1, or 2D_ARRAY: 5" : "2D_ARRAY: 5"}), got ${describeValue(desc.viewType)}`);
    }
    const memory = checkMemory(op, desc.memory);
    const { image, allocation } = this.allocator.createImage(
      { imageType: depth > 1 ? IMAGE_TYPE_3D : IMAGE_TYPE_2D, format: desc.format, extent: { width, height, depth }, mipLevels, arrayLayers, usage },
      { ...memory, name: label },
    );
    const view = new nvk.VkImageView();
    const viewInfo = new nvk.VkImageViewCreateInfo({
      image,
      viewType,
      format: desc.format,
      subresourceRange: new nvk.VkImageSubresourceRange({ aspectMask: info.aspect, baseMipLevel: 0, levelCount: mipLevels, baseArrayLayer: 0, layerCount: arrayLayers }),
    });
    const made = nvk.vkCreateImageView(this.#device, viewInfo, null, view);
    if (made < 0) {
      this.allocator.destroyImage(image, allocation);
      check(made, "vkCreateImageView", label);
    }
    this.context.setObjectName(OBJECT_TYPE_IMAGE, image, label);
    this.context.setObjectName(OBJECT_TYPE_IMAGE_VIEW, view, `${label} view`);
    this.#resourcesCreated++;
    if (this.#frameStats !== null) this.#frameStats.resourcesCreated++;
    const allocator = this.allocator;
    const device = this.#device;
    const release = new ResourceRelease(`Texture '${label}'`, allocation.size, () => {
      nvk.vkDestroyImageView(device, view, null);
      allocator.destroyImage(image, allocation);
    });
    const texture = new Texture(this, { label, width, height, depth, format: desc.format, mipLevels, arrayLayers, usage }, info, image, view, allocation, release);
    this.#resources.add(texture);
    watch(texture, "Texture", label, creationStack(allocator._capturesStacks));
    return texture;
  }

  /** @internal Called once by Buffer/Texture.destroy(): frees now or after the last frame that used it. */
  releaseResource(resource: Buffer | Texture): void {
    if (!(resource instanceof Buffer || resource instanceof Texture) || resource._release === undefined) {
      throw new TypeError(`FrameManager${this.#labelText()}.releaseResource: resource must be a Buffer or Texture, got ${describeValue(resource)}`);
    }
    this.#resources.delete(resource);
    unwatch(resource);
    if (this.#slots === null) {
      // The manager is gone: it waited for the GPU when it was destroyed, so nothing can be in flight.
      if (!this.allocator.destroyed && !this.context.destroyed) resource._release.destroy();
      return;
    }
    this.#resourcesDestroyed++;
    if (this.#frameStats !== null) this.#frameStats.resourcesDestroyed++;
    this.#releaseAfter(resource.lastUsedSerial, resource._release);
  }

  // ------------------------------------------------------------------ uploads and readback

  /** Throws unless `buffer` is a live Buffer of this manager (a foreign handle must never be recorded). */
  #ownBuffer(buffer: unknown, method: string): asserts buffer is Buffer {
    if (!(buffer instanceof Buffer) || buffer._manager !== this) {
      throw new TypeError(`FrameManager${this.#labelText()}.${method}: buffer must be a Buffer made by this manager's createBuffer, got ${describeValue(buffer)}`);
    }
    if (buffer.destroyed) throw new DestroyedResourceError("Buffer", buffer.label, method);
  }

  /** Throws unless `texture` is a live Texture of this manager. */
  #ownTexture(texture: unknown, method: string): asserts texture is Texture {
    if (!(texture instanceof Texture) || texture._manager !== this) {
      throw new TypeError(`FrameManager${this.#labelText()}.${method}: texture must be a Texture made by this manager's createTexture, got ${describeValue(texture)}`);
    }
    if (texture.destroyed) throw new DestroyedResourceError("Texture", texture.label, method);
  }

  /**
   * Copies `data` into `buffer` at `offset` through the staging ring. The copy runs before the commands of the frame
   * being recorded (or, between frames, of the next one), and everything after it sees the data. The bytes are
   * taken at once: the caller may reuse `data` when this returns. Marks the buffer used by that frame.
   * @throws TypeError / RangeError for bad arguments (nothing is copied then), including a range past the end.
   * @throws DestroyedResourceError for a destroyed buffer, or after destroy().
   */
  upload(buffer: Buffer, data: ArrayBufferView | ArrayBuffer, offset = 0): void {
    this.#live("upload");
    // The message prefix is built only on the error paths: this is a per-upload hot path.
    const op = (): string => `FrameManager${this.#labelText()}.upload`;
    this.#ownBuffer(buffer, "upload");
    // A Uint8Array with bytes is the fast path; an empty one may be a view of a detached buffer: asBytes tells.
    const bytes = data instanceof Uint8Array && data.length !== 0 ? data : asBytes(op(), data);
    const length = bytes.length;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > buffer.size) {
      throw new RangeError(`${op()}: offset ${describeValue(offset)} + ${length} bytes must lie within buffer '${buffer.label}' of ${buffer.size} bytes`);
    }
    if (length === 0) return;
    this.#transfers.upload(buffer, bytes, offset);
    buffer.lastUsedSerial = this.#useSerial();
    const stats = this.#frameStats;
    if (stats !== null) {
      stats.uploads++;
      stats.uploadedBytes += length;
    }
  }

  /**
   * Copies `data` (tightly packed rows; whole 4x4 blocks for compressed formats) into a region of one subresource of
   * `texture` through the staging ring, with the layout transitions around it: afterwards the subresource is in
   * SHADER_READ_ONLY_OPTIMAL for the frame being recorded (or the next one) and every later one.
   * @throws TypeError / RangeError for bad arguments, including a data size that does not match the region.
   * @throws DestroyedResourceError for a destroyed texture, or after destroy().
   */
  uploadImage(texture: Texture, data: ArrayBufferView | ArrayBuffer, region?: ImageRegion): void {
    this.#live("uploadImage");
    const op = `FrameManager${this.#labelText()}.uploadImage`;
    this.#ownTexture(texture, "uploadImage");
    if (texture.depth > 1) throw new RangeError(`${op}: texture '${texture.label}' is 3D; uploads take 2D textures (and arrays)`);
    if (texture.aspect !== 1) throw new RangeError(`${op}: texture '${texture.label}' has a depth/stencil format; uploads take colour formats`);
    const r = completeRegion(op, texture, region);
    const bytes = asBytes(op, data);
    const expected = regionBytes(texture.formatInfo, r.width, r.height);
    if (bytes.length !== expected) throw new RangeError(`${op}: data must hold ${expected} bytes for a ${r.width}x${r.height} region of texture '${texture.label}' (${texture.formatInfo.name}), got ${bytes.length}`);
    this.#transfers.uploadImage(texture, bytes, r);
    texture.lastUsedSerial = this.#useSerial();
    const stats = this.#frameStats;
    if (stats !== null) {
      stats.uploads++;
      stats.uploadedBytes += bytes.length;
    }
  }

  /**
   * Reads `size` bytes of `buffer` from `offset` back to the CPU, as they are after the commands of the frame
   * being recorded (or of the next one). The promise resolves once that frame's fence is seen signaled: by a later
   * `beginFrame()` or `waitIdle()`, or by the manager itself, which polls the fence meanwhile, and submits a download
   * queued between frames on its own when no frame begins by the next turn of the event loop (see the module
   * comment). `destroy()` resolves the submitted ones and rejects those never submitted with DestroyedResourceError;
   * a download left in a frame that is never ended is rejected when Node is about to exit. For tests and tools.
   * @throws TypeError / RangeError for bad arguments; DestroyedResourceError for a destroyed buffer.
   */
  download(buffer: Buffer, offset = 0, size?: number): Promise<Uint8Array> {
    this.#live("download");
    const op = `FrameManager${this.#labelText()}.download`;
    this.#ownBuffer(buffer, "download");
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= buffer.size) throw new RangeError(`${op}: offset must be an integer from 0 to ${buffer.size - 1}, got ${describeValue(offset)}`);
    const n = size ?? buffer.size - offset;
    if (!Number.isSafeInteger(n) || n <= 0 || offset + n > buffer.size) throw new RangeError(`${op}: size must be a positive integer with offset + size <= ${buffer.size} (buffer '${buffer.label}'), got ${describeValue(size)}`);
    if (buffer._owner === Owner.None) buffer._owner = Owner.Main;
    const promise = this.#transfers.download(buffer, offset, n);
    buffer.lastUsedSerial = this.#useSerial();
    this.#watchDownloads();
    return promise;
  }

  /**
   * Reads a region of one subresource of `texture` back (tightly packed rows), as {@link download} does for buffers.
   * The subresource keeps its layout. It must have contents (uploaded, or `assumeLayout` after the app wrote it).
   * @throws TypeError / RangeError for bad arguments or a subresource without contents.
   */
  downloadImage(texture: Texture, region?: ImageRegion): Promise<Uint8Array> {
    this.#live("downloadImage");
    const op = `FrameManager${this.#labelText()}.downloadImage`;
    this.#ownTexture(texture, "downloadImage");
    if (texture.depth > 1 || texture.aspect !== 1) throw new RangeError(`${op}: texture '${texture.label}' must be a 2D colour texture`);
    const r = completeRegion(op, texture, region);
    const sub = r.mipLevel * texture.arrayLayers + r.arrayLayer;
    if (texture._owners[sub] === Owner.None) throw new RangeError(`${op}: mip ${r.mipLevel} layer ${r.arrayLayer} of texture '${texture.label}' has no contents yet (nothing uploaded)`);
    const promise = this.#transfers.downloadImage(texture, r);
    texture.lastUsedSerial = this.#useSerial();
    this.#watchDownloads();
    return promise;
  }

  /**
   * Hands out `size` bytes of the transient ring for the frame being recorded (or the next one): a buffer, an offset
   * aligned for `usage` and the mapped bytes. Valid until that frame's fence; write it before the frame is submitted.
   * @throws RangeError for a bad size or usage, or when this frame's transient data exceed the ring's maximum size.
   * @throws DestroyedResourceError after destroy().
   */
  allocateTransient(size: number, usage: TransientUsage = "uniform"): TransientAllocation {
    if (this.#slots === null) throw new DestroyedResourceError("FrameManager", this.label, "allocateTransient", this.#goneCause);
    // Checked as a string first: an object without a prototype or a Symbol as a property key throws inside V8.
    const align = typeof usage === "string" ? this.#transientAlign[usage] : undefined;
    if (align === undefined || !Object.hasOwn(this.#transientAlign, usage)) {
      throw new RangeError(`FrameManager${this.#labelText()}.allocateTransient: usage must be "uniform", "storage", "vertex", "index" or "copy", got ${describeValue(usage)}`);
    }
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`FrameManager${this.#labelText()}.allocateTransient: size must be a positive integer number of bytes, got ${describeValue(size)}`);
    const ring = this.#transient;
    if (!ring.allocate(size, align)) {
      throw new RangeError(`FrameManager${this.#labelText()}.allocateTransient: ${size} bytes do not fit: this frame's transient data fill the ring (max ${ring.maxSize} bytes; raise transientRing.maxSize)`);
    }
    const stats = this.#frameStats;
    if (stats !== null) {
      stats.transientAllocations++;
      stats.transientBytes += size;
    }
    const block = ring.block;
    return new TransientAllocation(block.buffer, ring.offset, size, block.bytes.buffer as ArrayBuffer);
  }

  // The ring counters when the frame began, and now (filled in place: no object per frame).
  readonly #ringMarks = { wraps: 0, grows: 0, waits: 0, earlySubmits: 0 };
  readonly #ringNow = { wraps: 0, grows: 0, waits: 0, earlySubmits: 0 };
  #ringCounters(into: { wraps: number; grows: number; waits: number; earlySubmits: number }): typeof into {
    const staging = this.#transfers.staging;
    const t = this.#transient;
    into.wraps = staging.wraps + t.wraps;
    into.grows = staging.grows + t.grows;
    into.waits = staging.waits + t.waits;
    into.earlySubmits = this.#transfers.earlySubmits;
    return into;
  }

  /**
   * Destroys a resource once the GPU is done with it: calls `destroy` now when the submission `lastUsedSerial` is
   * already complete (or 0: never used), else queues it until the fence of that submission has signaled.
   *
   * `lastUsedSerial` defaults to the frame being recorded, or between frames to the last submitted one: the safe
   * choice when the caller does not track uses. Returns true when the destruction was queued, false when it ran.
   *
   * Precondition: the resource is not queued already; the caller (usually the resource's own `destroy()`, which
   * marks it destroyed first) guarantees it.
   * @throws TypeError / RangeError for a bad argument, including a `lastUsedSerial` beyond the frame being recorded.
   * @throws whatever `destroy` throws when it runs at once.
   * @throws DestroyedResourceError after destroy().
   */
  destroyLater(label: string, size: number, destroy: () => void, lastUsedSerial?: number): boolean {
    this.#live("destroyLater");
    const op = `FrameManager${this.#labelText()}.destroyLater`;
    if (typeof label !== "string") throw new TypeError(`${op}: label must be a string, got ${describeValue(label)}`);
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`${op}: size must be a non-negative safe integer number of bytes, got ${describeValue(size)}`);
    if (typeof destroy !== "function") throw new TypeError(`${op}: destroy must be a function, got ${describeValue(destroy)}`);
    const newest = this.#open !== null ? this.#open.serial : this.#submittedSerial;
    const serial = lastUsedSerial ?? newest;
    if (!Number.isSafeInteger(serial) || serial < 0 || serial > newest) {
      throw new RangeError(`${op}: lastUsedSerial must be an integer from 0 to ${newest} (the newest frame's serial), got ${describeValue(serial)}`);
    }
    return this.#releaseAfter(serial, new ResourceRelease(label, size, destroy));
  }

  /**
   * Runs `release` now when submission `serial` is complete, else queues it under `serial` (which may be the next
   * submission's, for uploads recorded between frames). Returns true when queued.
   */
  #releaseAfter(serial: number, release: ResourceRelease): boolean {
    const stats = this.#frameStats;
    if (serial <= this.#completedSerial) {
      this.#deferredImmediate++;
      if (stats !== null) stats.deferredImmediate++;
      release.destroy();
      return false;
    }
    release.serial = serial;
    this.#release.enqueueItem(release);
    if (stats !== null) stats.deferredQueued++;
    return true;
  }

  /**
   * Waits for every submitted frame to finish and runs every destruction they held. A frame being recorded stays
   * open, and what was queued under its serial stays queued.
   * @throws VkError when the wait fails; whatever a destroy callback threw (after running them all).
   * @throws DestroyedResourceError after destroy().
   */
  waitIdle(): void {
    const slots = this.#live("waitIdle");
    this.#waitSubmitted(slots, true);
    this.#retire(null);
  }

  /**
   * Retires everything up to the completed serial: rings, downloads, then the release queue, whose work is counted
   * and timed into `stats` when given (beginFrame's frame).
   */
  #retire(stats: FrameStatistics | null): void {
    const completed = this.#completedSerial;
    this.#transient.retire(completed);
    this.#transfers.retire(completed);
    const release = this.#release;
    const before = stats === null ? null : release.statistics;
    const start = performance.now();
    try {
      release.retire(completed);
    } finally {
      if (stats !== null) {
        stats.deferredRetireUs = (performance.now() - start) * 1000;
        const after = release.statistics;
        stats.deferredRetired = after.retired - before!.retired;
        stats.deferredRetiredBytes = after.retiredBytes - before!.retiredBytes;
      }
    }
  }

  /** Waits for the fence of `serial` (a ring under policy `wait` needs the oldest frame's bytes back). */
  #waitForSerial(serial: number): void {
    const slots = this.#slots;
    if (slots === null || serial <= this.#completedSerial) return;
    const slot = slots.find((s) => s.serial === serial);
    if (slot !== undefined) {
      check(nvk.vkWaitForFences(this.#device, 1, slot.fences, true, NO_TIMEOUT), "vkWaitForFences", this.label);
      this.#completedSerial = Math.max(this.#completedSerial, serial);
    } else {
      this.#waitSubmitted(slots, true);
    }
    this.#transient.retire(this.#completedSerial);
    this.#transfers.staging.retire(this.#completedSerial);
  }

  #waitSubmitted(slots: Slot[], strict: boolean): void {
    const pending = slots.filter((s) => s.serial > this.#completedSerial).map((s) => s.fence);
    if (pending.length > 0) {
      const result = nvk.vkWaitForFences(this.#device, pending.length, pending, true, NO_TIMEOUT);
      if (strict) check(result, "vkWaitForFences", this.label);
    }
    // A download-only submission made between frames may use what the serials about to retire release.
    try {
      this.#transfers.waitFlush();
    } catch (e) {
      if (strict) throw e;
    }
    this.#completedSerial = this.#submittedSerial;
  }

  // ------------------------------------------------------------------ downloads settle on their own

  /**
   * Keeps pending downloads moving (see the module comment): arms the poll when a submitted download waits for its
   * fence, or when an unrecorded one waits between frames; holds a 'beforeExit' hook while any is pending.
   */
  #watchDownloads(): void {
    const t = this.#transfers;
    const submitted = t.submittedDownloads;
    const unrecorded = t.unrecordedDownloads;
    if (submitted + unrecorded === 0) {
      this.#stopWatchingDownloads();
      return;
    }
    if (this.#beforeExit === null) {
      this.#beforeExit = () => this.#onBeforeExit();
      process.on("beforeExit", this.#beforeExit);
    }
    if (this.#downloadTimer === null && (submitted > 0 || this.#open === null)) {
      // A ref'd timer: Node stays alive until the GPU has finished what the promises wait for.
      this.#downloadTimer = setTimeout(() => this.#pollDownloads(), submitted > 0 ? 1 : 0);
    }
  }

  #stopWatchingDownloads(): void {
    if (this.#downloadTimer !== null) clearTimeout(this.#downloadTimer);
    this.#downloadTimer = null;
    if (this.#beforeExit !== null) process.off("beforeExit", this.#beforeExit);
    this.#beforeExit = null;
  }

  /** One poll: which fences have signaled (without blocking), what settles, and a submission of its own if needed. */
  #pollDownloads(): void {
    this.#downloadTimer = null;
    const slots = this.#slots;
    if (slots === null) return;
    const t = this.#transfers;
    try {
      // A signaled fence covers every earlier serial on the queue: the newest signaled one is the completed serial.
      let done = this.#completedSerial;
      for (const slot of slots) {
        if (slot.serial > done && nvk.vkGetFenceStatus(this.#device, slot.fence) === 0) done = slot.serial;
      }
      this.#completedSerial = done;
      t.settleDownloads(done);
      t.pollFlush();
      if (this.#open === null && t.unrecordedDownloads > 0) t.flushDownloads();
    } catch (error) {
      // Device lost or out of memory while submitting: every pending download is rejected, none left hanging.
      t.rejectUnrecorded(error);
      t.abandonSubmitted(error);
    }
    this.#watchDownloads();
  }

  /** Node is about to exit with downloads pending: finish them, or reject those that never can complete. */
  #onBeforeExit(): void {
    if (this.#slots === null) return this.#stopWatchingDownloads();
    const open = this.#open;
    if (open !== null && this.#transfers.unrecordedDownloads > 0) {
      this.#transfers.rejectUnrecorded(
        new Error(`FrameManager${this.#labelText()}: download(s) queued in frame ${open.frameNumber}, which was begun and never ended, cannot complete: call endFrame()`),
      );
    }
    this.#pollDownloads();
  }

  /**
   * Destroys the manager and its dependents (engine/lifetime.ts): its TextureStreamers, then its live Buffers and
   * Textures (named in one warning), through the release queue. Then it waits for every submitted frame, runs every
   * queued destruction (those of a frame begun but not submitted too: it never will be), settles the downloads
   * (submitted ones resolve, the others reject with DestroyedResourceError), and destroys the rings and the slots'
   * fences and command pools. A second call does nothing.
   *
   * The Context and the Allocator stay alive: they are the caller's (destroying either destroys the manager first).
   * @throws whatever a destroy callback threw (after everything is destroyed).
   */
  destroy(): void {
    const slots = this.#slots;
    if (slots === null) return;
    const cause = this.#goneCause ?? this._lifetimeName;
    // Dependents first, while the manager still works: streamers queue their images and pools here, then the live
    // resources go through the release queue like any destroy().
    const cascade = cascadeReport();
    this._dependents.destroyAll(cause, cascade);
    for (const r of [...this.#resources]) {
      cascade.names.push(r._lifetimeName);
      try {
        r._destroyWithParent(cause);
      } catch (e) {
        cascade.errors.push(e);
      }
    }
    this.#stopWatchingDownloads();
    const deviceAlive = !this.context.destroyed;
    if (deviceAlive) this.#waitSubmitted(slots, false);
    this.#open = null;
    let error: unknown = null;
    try {
      this.#release.drainAll();
    } catch (e) {
      error = e;
    }
    this.#slots = null;
    try {
      // Downloads whose frames completed resolve; the rest reject. The rings go back to the allocator.
      if (deviceAlive) this.#transfers.retire(this.#completedSerial);
      this.#transfers.destroy(deviceAlive && !this.allocator.destroyed, cause);
      if (deviceAlive && !this.allocator.destroyed) this.#transient.destroy();
    } catch (e) {
      error ??= e;
    }
    if (deviceAlive) {
      for (const slot of slots) {
        nvk.vkDestroyFence(this.#device, slot.fence, null);
        nvk.vkDestroyCommandPool(this.#device, slot.pool, null); // frees the slot's command buffer
      }
    }
    this.allocator._dependents.delete(this);
    unwatch(this);
    reportCascade(this._lifetimeName, cascade);
    if (error !== null) throw error;
  }

  #labelText(): string {
    return this.label === undefined ? "" : ` '${this.label}'`;
  }
}

function ringOptions(op: string, name: string, value: unknown): Required<UploadRingOptions> {
  if (value !== undefined && !isOptionsObject(value)) {
    throw new TypeError(`${op}: option '${name}' must be an object, got ${describeValue(value)}`);
  }
  const o = (value ?? {}) as UploadRingOptions;
  for (const key of Object.keys(o)) {
    if (!KNOWN_RING_OPTIONS.has(key)) throw new TypeError(`${op}: unknown option '${name}.${key}' (value ${describeValue((o as Record<string, unknown>)[key])})`);
  }
  const size = o.size ?? 4 * MiB;
  if (!Number.isSafeInteger(size) || size < 4096 || size > 2 ** 40) throw new RangeError(`${op}: option '${name}.size' must be an integer number of bytes of at least 4096, got ${describeValue(o.size)}`);
  const maxSize = o.maxSize ?? Math.max(size, 64 * MiB);
  if (!Number.isSafeInteger(maxSize) || maxSize < size || maxSize > 2 ** 40) throw new RangeError(`${op}: option '${name}.maxSize' must be an integer of at least size (${size}), got ${describeValue(o.maxSize)}`);
  const policy = o.policy ?? "grow";
  if (policy !== "grow" && policy !== "wait") throw new RangeError(`${op}: option '${name}.policy' must be "grow" or "wait", got ${describeValue(o.policy)}`);
  return { size, maxSize, policy };
}

function checkDescription(op: string, desc: unknown, known: ReadonlySet<string>): void {
  if (!isOptionsObject(desc)) throw new TypeError(`${op}: desc must be an object, got ${describeValue(desc)}`);
  for (const key of Object.keys(desc)) {
    if (!known.has(key)) throw new TypeError(`${op}: unknown member desc.${key} (value ${describeValue((desc as Record<string, unknown>)[key])})`);
  }
}

function checkLabel(op: string, label: unknown): string {
  if (typeof label !== "string" || label.length === 0) throw new TypeError(`${op}: desc.label must be a non-empty string, got ${describeValue(label)}`);
  return label;
}

function checkMemory(op: string, memory: unknown): AllocationOptions {
  if (memory === undefined) return { usage: MemoryUsage.Auto };
  if (!isOptionsObject(memory)) throw new TypeError(`${op}: desc.memory must be AllocationOptions, got ${describeValue(memory)}`);
  if ((memory as AllocationOptions).name !== undefined) throw new TypeError(`${op}: desc.memory.name is the label: leave it out (got ${describeValue((memory as AllocationOptions).name)})`);
  return memory as AllocationOptions;
}

function asBytes(op: string, data: unknown): Uint8Array {
  return checkBytes(data, op, "data");
}
