/**
 * FrameManager: frames in flight over one queue, and the deferred destruction that rides on their fences.
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
 *   command pools. The manager owns neither the Context nor the Allocator: destroy it before them. Every method but
 *   `destroy()` and `destroyed` then throws {@link DestroyedResourceError}.
 * @module
 */
import { DestroyedResourceError, check, describeValue } from "../errors.js";
import type { Allocator } from "../memory/allocator.js";
import type { Context } from "../vulkan/context.js";
import { isNvkHandle, rawHandle, type NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";
import { ReleaseQueue } from "./release-queue.js";

/** Options of {@link createFrameManager}. Every member is optional. */
export interface FrameManagerOptions {
  /** How many frames the CPU may record ahead of the GPU: 2 (the default) or 3. */
  framesInFlight?: number;
  /** A label for messages and Vulkan object names. */
  label?: string;
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
  /** `destroyLater()` calls during the frame that were queued for a fence. */
  deferredQueued: number;
  /** `destroyLater()` calls during the frame that destroyed at once (the last use was already complete). */
  deferredImmediate: number;
  /** CPU microseconds spent in `beginFrame()` (the back-pressure wait included). */
  beginFrameUs: number;
  /** CPU microseconds spent in `endFrame()` (0 until it has run). */
  endFrameUs: number;
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
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set(["framesInFlight", "label"]);
const KNOWN_END_OPTIONS: ReadonlySet<string> = new Set(["waitSemaphores", "waitStages", "signalSemaphores"]);

const COMMAND_POOL_CREATE_TRANSIENT = 0x1;
const FENCE_CREATE_SIGNALED = 0x1;
const COMMAND_BUFFER_ONE_TIME_SUBMIT = 0x1;
const PIPELINE_STAGE_ALL_COMMANDS = 0x10000;
const VK_NOT_READY = 1;
const NO_TIMEOUT = (1n << 64n) - 1n;
const OBJECT_TYPE_FENCE = 7;
const OBJECT_TYPE_COMMAND_BUFFER = 6;
const OBJECT_TYPE_COMMAND_POOL = 25;
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
}

/**
 * Creates a {@link FrameManager} over `context`'s queue, feeding `allocator` its frame index.
 *
 * The caller owns the manager and destroys it (before the allocator and the context).
 * @throws TypeError for a bad argument or an unknown option; RangeError when `framesInFlight` is not 2 or 3.
 * @throws DestroyedResourceError when the context or the allocator is destroyed.
 * @throws VkError when creating the fences or command pools fails.
 */
export function createFrameManager(context: Context, allocator: Allocator, options?: FrameManagerOptions): FrameManager {
  return new FrameManager(context, allocator, options);
}

/**
 * N frames in flight on one queue, with a release queue retired by their fences. See the module comment.
 *
 * Created by {@link createFrameManager} (or `new FrameManager`); destroyed by its owner with
 * {@link FrameManager.destroy}, before the allocator and the context it was made over.
 */
export class FrameManager {
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
    if (options === null || typeof options !== "object" || Array.isArray(options)) {
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
    this.#slots = this.#createSlots(context, framesInFlight);
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
    if (slots === null) throw new DestroyedResourceError("FrameManager", this.label, operation);
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
    };
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
      deferredQueued: 0,
      deferredImmediate: 0,
      beginFrameUs: 0,
      endFrameUs: 0,
    };
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
    check(nvk.vkResetCommandPool(this.#device, slot.pool, 0), "vkResetCommandPool", this.label);
    check(nvk.vkBeginCommandBuffer(slot.commandBuffer, this.#beginInfo), "vkBeginCommandBuffer", this.label);
    this.allocator.setCurrentFrameIndex(frameNumber % FRAME_INDEX_MODULUS);
    const frame: Frame = Object.freeze({ index, serial, frameNumber, commandBuffer: slot.commandBuffer });
    this.#open = frame;
    this.#frameNumber = frameNumber + 1;
    this.#frameStats = stats;
    let retireError: unknown = null;
    const before = this.#release.statistics;
    try {
      this.#release.retire(this.#completedSerial);
    } catch (error) {
      retireError = error;
    }
    const after = this.#release.statistics;
    stats.deferredRetired = after.retired - before.retired;
    stats.deferredRetiredBytes = after.retiredBytes - before.retiredBytes;
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
    const submit = this.#submitInfo(frame, options);
    const start = performance.now();
    const slot = slots[frame.index]!;
    this.#open = null;
    check(nvk.vkEndCommandBuffer(slot.commandBuffer), "vkEndCommandBuffer", this.label);
    check(nvk.vkResetFences(this.#device, 1, slot.fences), "vkResetFences", this.label);
    // On failure nothing was submitted: the slot keeps its old (complete) serial, so nobody waits on the fence left
    // unsignaled, and the next submission resets it again.
    check(nvk.vkQueueSubmit(this.#queue, 1, [submit], slot.fence), "vkQueueSubmit", this.label);
    slot.serial = frame.serial;
    this.#submittedSerial = frame.serial;
    const us = (performance.now() - start) * 1000;
    if (this.#frameStats !== null) this.#frameStats.endFrameUs = us;
    this.#endFrameUs += us;
  }

  #submitInfo(frame: Frame, options: EndFrameOptions | undefined): any {
    const op = `FrameManager${this.#labelText()}.endFrame`;
    let waits: readonly NvkHandle[] = [];
    let stages: readonly number[] | undefined;
    let signals: readonly NvkHandle[] = [];
    if (options !== undefined) {
      if (options === null || typeof options !== "object" || Array.isArray(options)) {
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
      }
    }
    return new nvk.VkSubmitInfo({
      waitSemaphoreCount: waits.length,
      pWaitSemaphores: waits.length > 0 ? [...waits] : null,
      pWaitDstStageMask: waits.length > 0 ? Int32Array.from(stages ?? waits.map(() => PIPELINE_STAGE_ALL_COMMANDS)) : null,
      commandBufferCount: 1,
      pCommandBuffers: [frame.commandBuffer],
      signalSemaphoreCount: signals.length,
      pSignalSemaphores: signals.length > 0 ? [...signals] : null,
    });
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
    const stats = this.#frameStats;
    if (serial <= this.#completedSerial) {
      this.#deferredImmediate++;
      if (stats !== null) stats.deferredImmediate++;
      destroy();
      return false;
    }
    this.#release.enqueue(serial, label, size, destroy);
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
    this.#release.retire(this.#completedSerial);
  }

  #waitSubmitted(slots: Slot[], strict: boolean): void {
    const pending = slots.filter((s) => s.serial > this.#completedSerial).map((s) => s.fence);
    if (pending.length > 0) {
      const result = nvk.vkWaitForFences(this.#device, pending.length, pending, true, NO_TIMEOUT);
      if (strict) check(result, "vkWaitForFences", this.label);
    }
    this.#completedSerial = this.#submittedSerial;
  }

  /**
   * Waits for every submitted frame, runs every queued destruction (those of a frame begun but not submitted too:
   * it never will be), and destroys the slots' fences and command pools. A second call does nothing.
   *
   * The Context and the Allocator stay alive: they are the caller's. When the context was destroyed first, no
   * Vulkan call is made (its objects are gone with the device) and the queued destructions still run.
   * @throws whatever a destroy callback threw (after everything is destroyed).
   */
  destroy(): void {
    const slots = this.#slots;
    if (slots === null) return;
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
    if (deviceAlive) {
      for (const slot of slots) {
        nvk.vkDestroyFence(this.#device, slot.fence, null);
        nvk.vkDestroyCommandPool(this.#device, slot.pool, null); // frees the slot's command buffer
      }
    }
    if (error !== null) throw error;
  }

  #labelText(): string {
    return this.label === undefined ? "" : ` '${this.label}'`;
  }
}
