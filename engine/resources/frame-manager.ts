/**
 * FrameManager: frames in flight over one queue, the deferred destruction that rides on their fences, and the
 * resources, uploads and per-frame memory a game uses every frame.
 *
 * Buffers and textures (engine/resources/buffer.ts, texture.ts) are made by the manager (resource-creation.ts), held
 * until they are destroyed (managed-resources.ts) and remember the serial of the last frame that used them; uploads
 * and readbacks go through transfers.ts, after their arguments are checked (transfer-checks.ts), and both the staging
 * data and `allocateTransient` memory come from rings (upload-ring.ts) whose bytes are retired by the same fences.
 * Each of those modules states its own invariants; this one states the frame's, and says where the rest are.
 *
 * A game records frame N+1 on the CPU while the GPU still executes frame N (and perhaps N-1). The manager keeps N
 * frame slots (2 or 3), each with a command pool, one primary command buffer and a fence; each submitted frame gets
 * a serial, 1, 2, 3, ... in submission order. `beginFrame()` takes the next slot, waits for the fence of the frame
 * that last used it, and only then reuses its command buffer; `endFrame()` submits that command buffer with the
 * slot's fence. The CPU can therefore never get more than N frames ahead of the GPU: when it tries, the wait in
 * `beginFrame()` blocks, and that wait is counted (and timed) as back-pressure.
 *
 * The invariants, and why they hold:
 *
 * - Completion is one number, `completedSerial`, which grows only after a fence said so, and a slot's command pool
 *   is reset only after its fence has signaled (frame-slots.ts says why both hold).
 * - Nothing the GPU may still read is freed before its fence, and nothing is freed twice (deferred-destruction.ts):
 *   `destroyLater()` and the resources' `destroy()` run at once when their last use is complete, else wait in the
 *   release queue for `beginFrame()` / `waitIdle()` to retire it up to `completedSerial`.
 * - `waitIdle()` waits for every submitted frame and retires everything they held; `destroy()` does the same, then
 *   also runs what was queued under a frame that will now never be submitted, and destroys the slots' fences and
 *   command pools. The manager owns neither the Context nor the Allocator; it is their dependent (engine/lifetime.ts):
 *   destroying either destroys the manager first. Its own dependents are its TextureStreamers and the Buffers and
 *   Textures it made: `destroy()` destroys those still alive first (streamers, then resources, through the release
 *   queue) and names them in one warning. Every method but `destroy()` and `destroyed` then throws
 *   {@link DestroyedResourceError}, naming the parent when one took the manager along.
 * - An upload never changes bytes a frame still on the GPU may use: it writes a mapped buffer in place only when the
 *   buffer's `lastUsedSerial` is complete, and otherwise copies through the staging ring inside the frame.
 * - A download settles without the application's help: the manager polls the fences while one is pending, submits
 *   one queued between frames on its own when no frame comes, and rejects one that never can complete
 *   (download-watch.ts). `destroy()` waits for the submitted downloads and resolves them, and rejects those never
 *   submitted with DestroyedResourceError.
 * @module
 */
import { DestroyedResourceError, InvalidStateError } from "../errors.js";
import type { Inspector } from "../report/inspector.js";
import { recordFrameEnd, startFrameInspector, startFrameRecording, stopFrameInspector } from "./frame-recording.js";
import { Dependents, cascadeReport, creationStack, lifetimeName, reportCascade, unwatch, watch } from "../lifetime.js";
import type { Allocator } from "../memory/allocator.js";
import type { Context } from "../vulkan/context.js";
import type { NvkHandle } from "../vulkan/handles.js";
import type { Buffer } from "./buffer.js";
import { DeferredDestruction } from "./deferred-destruction.js";
import { DownloadWatch } from "./download-watch.js";
import {
  checkManagerArguments,
  endFrameSync,
  type EndFrameOptions,
  type FrameManagerOptions,
} from "./frame-options.js";
import { FrameSlots } from "./frame-slots.js";
import {
  FrameCounters,
  countTransient,
  countUpload,
  type FrameManagerStatistics,
  type FrameStatistics,
} from "./frame-statistics.js";
import type { ImageRegion } from "./image-region.js";
import { ManagedResources } from "./managed-resources.js";
import { LiveDefragmentation } from "./live-defragmentation.js";
import { rehearseFirstDefragmentation } from "./defragmentation-rehearsal.js";
import type { LiveDefragmentationOptions, LiveDefragmentationStatus } from "./live-defragmentation.js";
import { Owner, type ResourceOwner } from "./resource.js";
import type { BufferDescription, TextureDescription } from "./resource-creation.js";
import type { Texture } from "./texture.js";
import { TransferChecks } from "./transfer-checks.js";
import { Transfers } from "./transfers.js";
import { TransientAllocation, transientAlignments, type TransientUsage } from "./transient-memory.js";
import { UploadRing } from "./upload-ring.js";

// The public types of the manager, from the modules that hold them: importable from here as before.
export type { EndFrameOptions, FrameManagerOptions } from "./frame-options.js";
export type { FrameManagerStatistics, FrameStatistics } from "./frame-statistics.js";
export type { BufferDescription, TextureDescription } from "./resource-creation.js";
export type { LiveDefragmentationOptions, LiveDefragmentationStatus } from "./live-defragmentation.js";
export { TransientAllocation, type TransientUsage } from "./transient-memory.js";

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

// VMA's VMA_FRAME_INDEX_LOST is 0xFFFFFFFF: frame indices handed to it wrap below that.
const FRAME_INDEX_MODULUS = 0xffffffff;

/**
 * Creates a {@link FrameManager} over `context`'s queue, feeding `allocator` its frame index.
 *
 * The caller owns the manager and destroys it; destroying the allocator or the context first destroys it along
 * (engine/lifetime.ts).
 * @throws TypeError for a bad argument or an unknown option; RangeError when `framesInFlight` is not 2 or 3.
 * @throws DestroyedResourceError when the context or the allocator is destroyed; VkError when creating the fences,
 *   the command pools or the scatter pipeline (engine/resources/scatter-copies.ts) fails.
 * @throws Error when `allocator` already has a live FrameManager: its frame index, by which lost allocations are
 *   judged, is one manager's frame number.
 */
export function createFrameManager(
  context: Context,
  allocator: Allocator,
  options?: FrameManagerOptions,
): FrameManager {
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
  /** The frame slots and the serials their fences complete. */
  readonly #slots: FrameSlots;
  #destroyed = false;
  readonly #deferred: DeferredDestruction;
  #frameNumber = 0;
  #open: Frame | null = null;
  #frameStats: FrameStatistics | null = null;
  /** The totals its parts do not keep themselves, and the rings' counters when the frame began. */
  readonly #counters: FrameCounters;
  #transfers: Transfers;
  #transient: UploadRing;
  /** The argument checks of the transfer calls and allocateTransient. */
  readonly #checks: TransferChecks;
  /** @internal Its TextureStreamers (engine/lifetime.ts): destroyed first by destroy(). */
  readonly _dependents = new Dependents();
  /** The Buffers and Textures it made that are not destroyed yet; destroy() destroys them. */
  readonly #resources: ManagedResources;
  /** The ancestor whose destroy() took it along (its Allocator, or that allocator's Context), once that happened. */
  #goneCause: string | undefined = undefined;
  /** Keeps pending downloads moving between frames. */
  readonly #downloads: DownloadWatch;
  /** The live defragmentation in progress or last run (live-defragmentation.ts), or null. */
  #defrag: LiveDefragmentation | null = null;
  /** Whether its `inspector` option started the allocator's inspector (destroy() closes it then). */
  readonly #ownsInspector: boolean;

  /**
   * Creates the frame slots (a command pool, a primary command buffer and a signaled fence each). Same as
   * {@link createFrameManager}, which documents the arguments and what it throws.
   */
  constructor(context: Context, allocator: Allocator, options: FrameManagerOptions = {}) {
    const op = "createFrameManager";
    const setup = checkManagerArguments(op, context, allocator, options, FrameManager);
    const { framesInFlight, device, stagingRing, transientRing, uploadThreads } = setup;
    this.label = options.label;
    this.framesInFlight = framesInFlight;
    this.context = context;
    this.allocator = allocator;
    this.#deferred = new DeferredDestruction(allocator);
    const limits = context.properties;
    this.#checks = new TransferChecks(this, `FrameManager${this.#labelText()}`, transientAlignments(limits));
    startFrameRecording(op, allocator, options.record);
    this.#ownsInspector = startFrameInspector(op, allocator, options.inspector);
    const name = this.label ?? "FrameManager";
    const slots = new FrameSlots(context, allocator, device, framesInFlight, name, this.label);
    this.#slots = slots;
    const waitSerial = (serial: number): void => this.#waitForSerial(serial);
    let transfers: Transfers | null = null;
    try {
      transfers = new Transfers(
        context,
        allocator,
        name,
        slots.list.map((s) => s.pool),
        stagingRing,
        waitSerial,
        uploadThreads,
        options.scatterUploads, // checked by checkManagerArguments
      );
      this.#transient = new UploadRing(
        allocator,
        `${name} transient`,
        limits.nonCoherentAtomSize,
        transientRing,
        waitSerial,
      );
    } catch (error) {
      transfers?.destroy(true, name);
      slots.destroy();
      throw error;
    }
    this.#transfers = transfers;
    this.#counters = new FrameCounters(transfers, this.#transient);
    this.#resources = new ManagedResources(
      this,
      this._lifetimeName,
      context,
      allocator,
      this.#counters,
      this.#deferred,
      options.debugNames ?? context.validation,
      transfers.bufferUsage,
    );
    const openFrame = (): number => (this.#open === null ? -1 : this.#open.frameNumber);
    this.#downloads = new DownloadWatch(
      transfers,
      slots,
      openFrame,
      () => !this.#destroyed,
      `FrameManager${this.#labelText()}`,
    );
    allocator._dependents.add(this);
    watch(this, "FrameManager", this.label, creationStack(allocator._capturesStacks));
  }

  /** @internal What reports and errors call it: "FrameManager 'label'". */
  get _lifetimeName(): string {
    return lifetimeName("FrameManager", this.label);
  }

  /** @internal Its allocator (or that allocator's context) is being destroyed on behalf of `cause`. */
  _destroyWithParent(cause: string): void {
    if (this.#destroyed) return;
    this.#goneCause = cause;
    this.destroy();
  }

  #live(operation: string): FrameSlots {
    if (this.#destroyed) throw new DestroyedResourceError("FrameManager", this.label, operation, this.#goneCause);
    return this.#slots;
  }

  /** The live inspector serving its allocator's memory (its `inspector` option or the allocator's), or null. */
  get inspector(): Inspector | null {
    return this.allocator._inspector;
  }

  /** Whether `destroy()` has run. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** The highest submission serial known complete (its fence seen signaled). @throws DestroyedResourceError after destroy(). */
  get completedSerial(): number {
    return this.#live("completedSerial").completed;
  }

  /** The serial of the last submitted frame (0 before the first). @throws DestroyedResourceError after destroy(). */
  get submittedSerial(): number {
    return this.#live("submittedSerial").submitted;
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
    const slots = this.#live("statistics");
    return this.#counters.statistics(this.framesInFlight, slots.submitted, slots.completed, this.#deferred);
  }

  /**
   * The staging ring uploads copy through, for tools and benchmarks (its statistics and mapped blocks). Allocating
   * from it directly bypasses the upload bookkeeping: use `upload()`. @throws DestroyedResourceError after destroy().
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
    return this.#open !== null ? this.#open.serial : this.#slots.submitted + 1;
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
      throw new InvalidStateError(
        `FrameManager${this.#labelText()}`,
        "beginFrame",
        `frame ${this.#open.frameNumber} is still being recorded: call endFrame() first`,
      );
    }
    const start = performance.now();
    const frameNumber = this.#frameNumber;
    const index = frameNumber % this.framesInFlight;
    const slot = slots.list[index]!;
    const serial = slots.submitted + 1;
    const stats = this.#counters.beginFrame(frameNumber, index, serial);
    this.#counters.backPressure(stats, slots.waitForSlot(slot));
    // A download-only submission (transfers.ts, download-watch.ts) may have used this slot's pool.
    this.#transfers.waitFlush(index);
    this.#transfers.beginSlot(index);
    slots.begin(slot);
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
    if (this.#defrag?.active === true) this.#defrag.step(serial, slots.completed, slot.commandBuffer);
    this.#counters.beganFrame(stats, (performance.now() - start) * 1000);
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
    if (frame === null)
      throw new InvalidStateError(
        `FrameManager${this.#labelText()}`,
        "endFrame",
        "no frame is being recorded: call beginFrame() first",
      );
    const sync = endFrameSync(`FrameManager${this.#labelText()}.endFrame`, options, this.allocator);
    const start = performance.now();
    const slot = slots.list[frame.index]!;
    this.#open = null;
    const transfers = this.#transfers;
    // The upload batch first: it runs before the frame's commands, and leaves the layouts the downloads start from.
    const { transferCmd, mainCmd } = transfers.record();
    transfers.recordDownloads(slot.commandBuffer, frame.serial);
    slots.end(slot);
    transfers.submitted(frame.serial);
    this.#transient.endFrame(frame.serial);
    const transferWait = transferCmd !== null ? transfers.submitTransfer(transferCmd) : null;
    slots.submitFrame(slot, frame.serial, mainCmd, transferWait, sync);
    if (this.#downloads.watching) this.#downloads.update();
    const stats = this.#frameStats;
    this.#counters.endedFrame(stats, (performance.now() - start) * 1000);
    recordFrameEnd(this.allocator, frame.frameNumber, stats?.uploadedBytes ?? 0);
  }

  // ------------------------------------------------------------------ live defragmentation
  /**
   * Starts a live defragmentation of this manager's Buffers and Textures (live-defragmentation.ts): from the next
   * beginFrame on, each frame copies at most `maxMovesPerFrame` resources / `maxBytesPerFrame` bytes on the GPU at its
   * start; the objects you hold name their new VkBuffer / VkImage / default view one frame later (`onMove` says
   * which); the old ones are freed once no frame can use them. No frame waits for the GPU because of it.
   * @throws InvalidStateError when one is in progress; TypeError / RangeError / InvalidStateError as
   *   allocator.beginDefragmentation for bad options or a pool it cannot defragment.
   */
  defragment(options: LiveDefragmentationOptions = {}): void {
    this.#live("defragment");
    const started = performance.now();
    rehearseFirstDefragmentation(this.#defrag, this.context, options, FrameManager);
    this.#defrag = LiveDefragmentation.start(this.#defrag, this, this.#resources, options, started);
  }

  /** Progress and figures of the live defragmentation in progress or last run; null before the first. */
  get defragmentation(): LiveDefragmentationStatus | null {
    this.#live("defragmentation");
    return this.#defrag?.status ?? null;
  }

  // ------------------------------------------------------------------ resources

  /**
   * Creates a buffer and its memory in one call (VMA's vmaCreateBuffer), named after `desc.label` as the VMA
   * allocation name, and as the Vulkan object name when the manager names objects (`debugNames`, by default with a
   * debug-utils messenger). The caller destroys it with {@link Buffer.destroy}.
   * @throws TypeError / RangeError for a bad description (nothing is created then).
   * @throws VkError (OutOfDeviceMemoryError, ...) when the allocation fails.
   * @throws DestroyedResourceError after destroy().
   */
  createBuffer(desc: BufferDescription): Buffer {
    this.#live("createBuffer");
    return this.#resources.createBuffer(desc, this.#frameStats);
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
    return this.#resources.createTexture(desc, this.#frameStats);
  }

  /** @internal Called once by Buffer/Texture.destroy(): frees now or after the last frame that used it. */
  releaseResource(resource: Buffer | Texture): void {
    this.#resources.release(resource, this.#destroyed, this.#slots.completed, this.#frameStats);
  }

  // ------------------------------------------------------------------ uploads and readback

  /**
   * Copies `data` into `buffer` at `offset`: the frame being recorded (or, between frames, the next) and everything
   * after it see it. The bytes are taken at once. A persistently mapped buffer (`memory: { hostAccess, mapped: true }`,
   * with `allowTransferInstead` in device-local host-visible memory where there is some: VMA's "advanced data
   * uploading") that no incomplete frame used (`lastUsedSerial`; the game's uses count through `markUsed()`) is
   * written in place, a memcpy. Any other is copied from the staging ring before the frame's commands (a use).
   * @throws TypeError / RangeError for bad arguments (nothing is copied then), including a range past the end.
   * @throws DestroyedResourceError for a destroyed buffer, or after destroy().
   */
  upload(buffer: Buffer, data: ArrayBufferView | ArrayBuffer, offset = 0): void {
    this.#live("upload");
    const bytes = this.#checks.upload(buffer, data, offset);
    const length = bytes.length;
    if (length === 0) return;
    const inPlace = this.#transfers.upload(buffer, bytes, offset, this.#slots.completed);
    if (!inPlace) buffer.lastUsedSerial = this.#useSerial();
    countUpload(this.#frameStats, length, inPlace);
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
    const bytes = this.#checks.uploadImage(texture, data, region);
    this.#transfers.uploadImage(texture, bytes, this.#checks.region!);
    texture.lastUsedSerial = this.#useSerial();
    countUpload(this.#frameStats, bytes.length);
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
    const n = this.#checks.download(buffer, offset, size);
    if (buffer._owner === Owner.None) buffer._owner = Owner.Main;
    const promise = this.#transfers.download(buffer, offset, n);
    buffer.lastUsedSerial = this.#useSerial();
    this.#downloads.update();
    return promise;
  }

  /**
   * Reads a region of one subresource of `texture` back (tightly packed rows), as {@link download} does for buffers.
   * The subresource keeps its layout. It must have contents (uploaded, or `assumeLayout` after the app wrote it).
   * @throws TypeError / RangeError for bad arguments or a subresource without contents.
   */
  downloadImage(texture: Texture, region?: ImageRegion): Promise<Uint8Array> {
    this.#live("downloadImage");
    const r = this.#checks.downloadImage(texture, region);
    const promise = this.#transfers.downloadImage(texture, r);
    texture.lastUsedSerial = this.#useSerial();
    this.#downloads.update();
    return promise;
  }

  /**
   * Hands out `size` bytes of the transient ring for the frame being recorded (or the next one): a buffer, an offset
   * aligned for `usage` and the mapped bytes. Valid until that frame's fence; write it before the frame is submitted.
   * @throws RangeError for a bad size or usage, or when this frame's transient data exceed the ring's maximum size.
   * @throws DestroyedResourceError after destroy().
   */
  allocateTransient(size: number, usage: TransientUsage = "uniform"): TransientAllocation {
    const offset = this.#reserveTransient(size, usage, "allocateTransient");
    const block = this.#transient.block;
    return new TransientAllocation(block.buffer, offset, size, block.mapped);
  }

  /**
   * {@link allocateTransient} without the object it returns, for loops that make thousands a frame: the offset of
   * `size` bytes in {@link transientBuffer}, whose mapped bytes are {@link transientMapped}. Read those two after the
   * call (the ring may have moved to another block for it); the memory is valid as allocateTransient's.
   * @throws as {@link allocateTransient}.
   */
  allocateTransientOffset(size: number, usage: TransientUsage = "uniform"): number {
    return this.#reserveTransient(size, usage, "allocateTransientOffset");
  }

  /** Takes `size` bytes of the transient ring for the frame being recorded: their offset in the ring's block. */
  #reserveTransient(size: number, usage: TransientUsage, op: string): number {
    if (this.#destroyed) throw new DestroyedResourceError("FrameManager", this.label, op, this.#goneCause);
    const align = this.#checks.transient(size, usage);
    const ring = this.#transient;
    if (!ring._allocateChecked(size, align)) {
      throw new RangeError(
        `FrameManager${this.#labelText()}.allocateTransient: ${size} bytes do not fit: this frame's transient data fill the ring (max ${ring.maxSize} bytes; raise transientRing.maxSize)`,
      );
    }
    countTransient(this.#frameStats, size);
    return ring.offset;
  }

  /**
   * The VkBuffer of the transient ring's block the last {@link allocateTransient} or {@link allocateTransientOffset}
   * came from (the ring's first block before any).
   * @throws DestroyedResourceError after destroy().
   */
  get transientBuffer(): NvkHandle {
    this.#live("transientBuffer");
    return this.#transient.block.buffer;
  }

  /** The mapped bytes of {@link transientBuffer}'s block. @throws DestroyedResourceError after destroy(). */
  get transientMapped(): ArrayBuffer {
    this.#live("transientMapped");
    return this.#transient.block.mapped;
  }

  /**
   * Destroys a resource once the GPU is done with it: calls `destroy` now when the submission `lastUsedSerial` is
   * already complete (or 0: never used), else queues it until the fence of that submission has signaled.
   *
   * `lastUsedSerial` defaults to the frame being recorded, or between frames to the last submitted one: the safe
   * choice when the caller does not track uses. Returns true when the destruction was queued, false when it ran.
   * Precondition: the resource is not queued already (the resource's own `destroy()` marks it destroyed first).
   * @throws TypeError / RangeError for a bad argument, including a `lastUsedSerial` beyond the frame being recorded.
   * @throws whatever `destroy` throws when it runs at once.
   * @throws DestroyedResourceError after destroy().
   */
  destroyLater(label: string, size: number, destroy: () => void, lastUsedSerial?: number): boolean {
    const slots = this.#live("destroyLater");
    const op = `FrameManager${this.#labelText()}.destroyLater`;
    const newest = this.#open !== null ? this.#open.serial : slots.submitted;
    return this.#deferred.destroyLater(
      op,
      label,
      size,
      destroy,
      lastUsedSerial ?? newest,
      newest,
      slots.completed,
      this.#frameStats,
    );
  }

  /**
   * Waits for every submitted frame to finish and runs every destruction they held. A frame being recorded stays
   * open, and what was queued under its serial stays queued.
   * @throws VkError when the wait fails; whatever a destroy callback threw (after running them all).
   * @throws DestroyedResourceError after destroy().
   */
  waitIdle(): void {
    this.#live("waitIdle");
    this.#waitSubmitted(true);
    this.#retire(null);
  }

  /** Retires everything up to the completed serial: rings, downloads, then the deferred destructions. */
  #retire(stats: FrameStatistics | null): void {
    const completed = this.#slots.completed;
    this.#transient.retire(completed);
    this.#transfers.retire(completed);
    this.#deferred.retire(completed, stats);
  }

  /** Waits for the fence of `serial` (a ring under policy `wait` needs the oldest frame's bytes back). */
  #waitForSerial(serial: number): void {
    const slots = this.#slots;
    if (this.#destroyed) return;
    // A serial already complete may still hold bytes in a ring that was not retired since (the bulk staging ring).
    if (serial > slots.completed && !slots.waitForSerial(serial)) this.#waitSubmitted(true);
    this.#transient.retire(slots.completed);
    this.#transfers.retireStaging(slots.completed);
  }

  /** Waits for every submitted frame and the download-only submission; then every submitted serial is complete. */
  #waitSubmitted(strict: boolean): void {
    const slots = this.#slots;
    slots.waitAll(strict);
    // A download-only submission made between frames may use what the serials about to retire release.
    try {
      this.#transfers.waitFlush();
    } catch (e) {
      if (strict) throw e;
    }
    slots.completed = slots.submitted;
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
    if (this.#destroyed) return;
    const slots = this.#slots;
    const cause = this.#goneCause ?? this._lifetimeName;
    // Dependents first, while the manager still works: streamers queue their images and pools here, then the live
    // resources go through the release queue like any destroy().
    this.#defrag?.stop(() => this.#waitSubmitted(false));
    const cascade = cascadeReport();
    this._dependents.destroyAll(cause, cascade);
    this.#resources.destroyAll(cause, cascade);
    this.#downloads.stop();
    const deviceAlive = !this.context.destroyed;
    if (deviceAlive) this.#waitSubmitted(false);
    this.#open = null;
    let error: unknown = null;
    try {
      this.#deferred.queue.drainAll();
    } catch (e) {
      error = e;
    }
    this.#destroyed = true;
    try {
      // Downloads whose frames completed resolve; the rest reject. The rings go back to the allocator.
      if (deviceAlive) this.#transfers.retire(slots.completed);
      this.#transfers.destroy(deviceAlive && !this.allocator.destroyed, cause);
      if (deviceAlive && !this.allocator.destroyed) this.#transient.destroy();
    } catch (e) {
      error ??= e;
    }
    if (deviceAlive) slots.destroy();
    this.allocator._dependents.delete(this);
    stopFrameInspector(this.allocator, this.#ownsInspector);
    unwatch(this);
    reportCascade(this._lifetimeName, cascade);
    if (error !== null) throw error;
  }

  #labelText(): string {
    return this.label === undefined ? "" : ` '${this.label}'`;
  }
}
