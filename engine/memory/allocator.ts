/**
 * Allocator: the typed face of one VmaAllocator.
 *
 * Who owns what:
 * - {@link createAllocator} makes an Allocator over a device (a {@link Context} or raw nvk handles); the
 *   caller destroys it with {@link Allocator.destroy} before destroying the device.
 * - Every {@link Allocation} belongs to exactly one Allocator. Buffers and images made by createBuffer /
 *   createImage belong to their allocation and are destroyed with it (destroyBuffer / destroyImage).
 * - Custom pools ({@link createPool}) belong to their allocator too; see engine/memory/pool.ts.
 * - destroy() with dependents still alive does not fail (engine/lifetime.ts states the whole graph): it first
 *   destroys the FrameManagers made over it (and what they hold), then its pools, reporting each by name in one
 *   warning; then it reports each allocation still alive (name, size, memory type, kind, pool, creation stack when
 *   `captureStacks` is on), frees them, detaches their mapped views, and only then destroys the VmaAllocator.
 *   Every object of the allocator then throws DestroyedResourceError naming the allocator. An allocator made over
 *   the device of a {@link Context} is that context's dependent: `context.destroy()` destroys it first.
 * - Allocations created with `canBecomeLost` may be made lost by a later `canMakeOtherLost` allocation, or by
 *   makePoolAllocationsLost: the rules (frame index, frameInUseCount, least recently used first, per pool or memory
 *   type) are in engine/memory/lost-allocations.ts.
 *
 * Hot paths (createBuffer/destroyBuffer and friends) check arguments in TS with exact messages, write
 * Numbers into the shared scratch buffer and make one native call; they create no object beyond the
 * ones they return.
 *
 * This module is the facade: each call checks liveness and ownership, then delegates: its construction to
 * allocator-creation.ts (the arguments to allocator-options.ts), descriptions to resource-descriptions.ts, options to
 * usage.ts, memory to a MemorySource (pool-backend.ts: the pool of the options or allocation, else VMA's calls in
 * vma-memory.ts), the caller's buffers and images and the release of allocations to resource-binding.ts (raw handles
 * to resource-registry.ts), memory-type queries to memory-type-query.ts, corruption checks to corruption.ts, lost
 * allocations to lost-allocations.ts, pool teardown to pool.ts, leak reports to leak-report.ts.
 * @module
 */
import { DestroyedResourceError } from "../errors.js";
import { argumentError, isIntegerIn, optionalBoolean } from "../checks.js";
import { LostAllocations, createLostAllocation, type AllocatorLostStatistics } from "./lost-allocations.js";
import type { NativeAddon, NativeLeak } from "../native.js";
import { rawHandle, type NvkHandle } from "../vulkan/handles.js";
import { Allocation } from "./allocation.js";
import type { AliasingBuffer, AliasingImage } from "./aliasing.js";
import { Dependents, HandleWatch, cascadeReport, creationStack, dependentsOfDevice } from "../lifetime.js";
import { lifetimeName, reportCascade, unwatch, watch } from "../lifetime.js";
import { encodeAllocationOptions, type AllocationOptions } from "./usage.js";
import { Pool, releasePools, resolvePoolTarget, type PoolOptions, type PoolTarget } from "./pool.js";
import { parseStatsString, type StatsDump } from "./dump.js";
import { BuddyPool } from "./buddy-pool.js";
import { VmaMemory } from "./vma-memory.js";
import type { DeviceFlagPolicy, FlagField } from "../vulkan/flag-bits.js";
import type { BufferInfo, HeapBudget, ImageInfo, LeakReport, MemoryHeap, MemoryRequirements } from "./types.js";
import type { MemoryType, TotalStatistics } from "./types.js";
import { reportCollectedAllocation, reportLeaks } from "./leak-report.js";
import { ALLOCATOR_FLAGS, type AllocatorDevice, type AllocatorOptions } from "./allocator-options.js";
import { allocatorFacts, openAllocator, type AllocatorFacts } from "./allocator-creation.js";
import type { CreatedBuffer, CreatedImage } from "./pool-backend.js";
import type { ResourceDescriptions } from "./resource-descriptions.js";
import { knownHandles, registerAllocator, unregisterAllocator } from "./resource-registry.js";
import { allocateMemoryFor, bind, destroyResource, freeMemory } from "./resource-binding.js";
import { MemoryTypeQuery } from "./memory-type-query.js";
import { checkAllocatorCorruption, type CorruptionReport, type DebugSettings } from "./corruption.js";
import { AllocatorRecording, type RecordedOptions } from "./recording.js";
import type { TraceWriter } from "../trace/writer.js";
import { packageVersion } from "../package-root.js";
import { AllocationIndex } from "./allocation-index.js";
import type { DefragmentationContext } from "./defragmentation.js";
import { allocatorExtras, type AllocatorExtras } from "./allocator-extras.js";
import { Inspector, type InspectorOptions } from "../report/inspector.js";
import { BufferBatch, createBufferBatch, destroyBufferBatch } from "./buffer-batch.js";

export type { AllocatorDevice, AllocatorOptions } from "./allocator-options.js";
export type { AllocatorFacts } from "./allocator-creation.js";
export type { CreatedBuffer, CreatedImage } from "./pool-backend.js";

export type {
  BufferInfo,
  DetailedStatistics,
  HeapBudget,
  ImageInfo,
  LeakReport,
  MemoryHeap,
  MemoryRequirements,
  MemoryType,
  TotalStatistics,
} from "./types.js";

// The upward links of the classes below (allocation.ts and pool.ts import nothing above them).
declare module "./allocation.js" {
  interface Allocation {
    /** The allocator that made it. */
    readonly allocator: Allocator;
  }
}
declare module "./pool.js" {
  interface Pool {
    /** The allocator it belongs to. */
    readonly allocator: Allocator;
  }
}

/**
 * Creates an allocator over a device.
 * @param source a Context (from createContext) or `{ instance, physicalDevice, device, vulkanApiVersion }` nvk handles.
 * @throws TypeError / RangeError for bad arguments; VkError when VMA cannot create it.
 */
export function createAllocator(source: AllocatorDevice, options: AllocatorOptions = {}): Allocator {
  return new Allocator(source, options);
}

/**
 * One VmaAllocator. Made by {@link createAllocator}; destroyed by {@link Allocator.destroy}.
 */
// Its public facts (label, device, memory types, ...) are declared in allocator-creation.ts and merged here.
// So are the methods of allocator-extras.ts (aliasing, pages, batches, defragmentation), installed below the class.
export interface Allocator extends AllocatorFacts, AllocatorExtras {}
export class Allocator {
  /** @internal */
  _handle: number;
  /** @internal The addon build this allocator, its pools and allocations live in; all their calls go through it. */
  readonly _native: NativeAddon;
  /** @internal VMA's allocation calls (vma-memory.ts): the memory source of the default pools and of every VmaPool. */
  readonly _vma: VmaMemory;
  /** @internal The recording, when the allocator records (engine/memory/recording.ts). */
  _recording: AllocatorRecording | null = null;
  /** @internal The defragmentation in progress (defragmentation.ts), or null. */
  _defragmentation: DefragmentationContext | null = null;
  /** @internal Its allocations by handle, weakly, when made with `defragmentation: true` (allocation-index.ts). */
  readonly _allocationIndex: AllocationIndex | null;
  /** @internal The live inspector serving its memory (engine/report/inspector.ts), or null. */
  _inspector: Inspector | null = null;
  /** The buffer and image flag bits this device allows (flag-bits.ts). */
  private readonly flagPolicy: DeviceFlagPolicy;
  private readonly vulkanApiVersion: number;
  private readonly mapped = new Set<Allocation>();
  private readonly pools = new Set<Pool>();
  private readonly stacks: Map<number, string> | null;
  /** Its entry in the process's list of live allocators (weak: see liveAllocators). */
  private readonly liveRef = new WeakRef<Allocator>(this);
  private readonly onLeaks: ((leaks: LeakReport[]) => void) | undefined;
  /** The buffer and image description checks and their encoding (resource-descriptions.ts). */
  private readonly descriptions: ResourceDescriptions;
  /** The memory-type queries (memory-type-query.ts). */
  private readonly typeQuery: MemoryTypeQuery;
  /** Lost allocations (lost-allocations.ts): the frame index, the default pools' domains, eviction. */
  private readonly lost: LostAllocations;
  /** The GC safety net of its allocations (engine/lifetime.ts): cheap enough for createBuffer / destroyBuffer. */
  private readonly leakWatch = new HandleWatch((handle) => this.collectedUnfreed(handle));
  /** @internal The FrameManagers made over it (engine/lifetime.ts): destroyed before it, in creation order. */
  readonly _dependents = new Dependents();
  /** The ancestor whose destroy() took it along (its Context), once that happened. */
  private goneCause: string | undefined = undefined;
  /** The dependents of the Context whose device it allocates from, when a Context of vkmem made that device. */
  private readonly deviceDependents: Dependents | undefined;

  /** @internal Use {@link createAllocator}. */
  constructor(source: AllocatorDevice, options: AllocatorOptions) {
    const opened = openAllocator(source, options);
    Object.assign(this, allocatorFacts(opened, source, options));
    this._native = opened.addon;
    this._handle = opened.handle;
    this.vulkanApiVersion = opened.vulkanApiVersion;
    this.flagPolicy = opened.flagPolicy;
    this.descriptions = opened.descriptions;
    this.typeQuery = new MemoryTypeQuery(this, this.descriptions);
    this.stacks = options.captureStacks ? new Map() : null;
    this.onLeaks = options.onLeaks;
    this.lost = new LostAllocations(this.frameInUseCount, this.memoryTypes, source.device, {
      free: (allocation) => this._freeAllocation(allocation),
      memoryTypeFor: (kind, info, options) =>
        this.typeQuery.forInfo(kind, info, options, "makeRoom", "info", "options"),
      heapCapacity: (type) => this._heapCapacity(this.memoryTypes[type]!.heapIndex),
    });
    const { stacks, leakWatch, lost } = this;
    this._allocationIndex = options.defragmentation === true ? new AllocationIndex() : null;
    const index = this._allocationIndex;
    this._vma = new VmaMemory(this, { stacks, leakWatch, lost, descriptions: this.descriptions, index });
    this.deviceDependents = dependentsOfDevice(rawHandle(source.device as NvkHandle));
    this.deviceDependents?.add(this);
    watch(this, "Allocator", this.label, creationStack(this.stacks !== null));
    registerAllocator(this.liveRef);
    try {
      if (options.record !== undefined) this._startRecording(options.record.file, options);
      if (options.inspector !== undefined) this._startInspector("createAllocator", options.inspector);
    } catch (error) {
      this.destroy(); // a trace that cannot be written or a port in use: nothing made here outlives the error
      throw error;
    }
  }

  /** @internal Starts the live inspector (createAllocator's `inspector`, or a FrameManager's). */
  _startInspector(op: string, options: InspectorOptions): Inspector {
    return (this._inspector = Inspector.start(op, options, this));
  }

  /** The live inspector serving this allocator's memory (`inspector` option; its `url`), or null. */
  get inspector(): Inspector | null {
    return this._inspector;
  }

  /** @internal Starts recording into `file` (createAllocator's `record`, or a FrameManager's). */
  _startRecording(file: string, options: RecordedOptions): void {
    this._recording = AllocatorRecording.start(this, file, options, `vkmem ${packageVersion()}`, this.vulkanApiVersion);
  }

  /** The trace this allocator records into (`record` option), for notes of your own; null when not recording. */
  get recording(): TraceWriter | null {
    return this._recording?.writer ?? null;
  }

  /** @internal What reports and errors call it: "Allocator 'label'". */
  get _lifetimeName(): string {
    return lifetimeName("Allocator", this.label);
  }

  /** GC collected an Allocation whose handle was never freed: report it (leak-report.ts). */
  private collectedUnfreed(handle: number): void {
    if (this._handle !== 0) reportCollectedAllocation(this._native, handle, this.stacks);
  }

  /** @internal What destroyed it, for the errors of what it made: the ancestor that took it along, or itself. */
  get _destroyCause(): string {
    return this.goneCause ?? this._lifetimeName;
  }

  /** @internal Whether it was made with `captureStacks` (its dependents capture theirs too). */
  get _capturesStacks(): boolean {
    return this.stacks !== null;
  }

  /** @internal Its Context is being destroyed (`cause`): destroy it, and its dependents, first. */
  _destroyWithParent(cause: string): void {
    if (this._handle === 0) return;
    this.goneCause = cause;
    this.destroy();
  }

  /** True once destroyed. */
  get destroyed(): boolean {
    return this._handle === 0;
  }

  /** @internal Its native handle; DestroyedResourceError naming `operation` once destroyed. */
  _live(operation: string): number {
    const h = this._handle;
    if (h === 0) throw new DestroyedResourceError("Allocator", this.label, operation, this.goneCause);
    return h;
  }

  /** @internal Refuses what is not an Allocation of this allocator (TypeError naming `arg`). */
  _checkAllocation(allocation: unknown, op: string, arg = "allocation"): Allocation {
    if (!(allocation instanceof Allocation)) argumentError(op, arg, "must be an Allocation", allocation);
    if (allocation.allocator !== this) {
      argumentError(op, arg, "belongs to another allocator", allocation.label ?? "(unnamed allocation)");
    }
    return allocation;
  }

  /**
   * Creates a buffer, allocates memory for it and binds them (vmaCreateBuffer).
   * @returns the nvk VkBuffer, its Allocation and a snapshot of the allocation's info.
   * @throws TypeError / RangeError for bad arguments (the message names the argument and value).
   * @throws OutOfDeviceMemoryError when no memory type, heap or budget can take it; VkError otherwise.
   * @throws DestroyedResourceError after destroy().
   */
  createBuffer(bufferInfo: BufferInfo, allocationOptions?: AllocationOptions): CreatedBuffer {
    const h = this._live("createBuffer");
    this._encodeBuffer(bufferInfo, "createBuffer", "bufferInfo");
    const vmaFlags = encodeAllocationOptions(allocationOptions, "createBuffer", "allocationOptions", this);
    const created = (allocationOptions?.pool ?? this._vma)._createBuffer(bufferInfo, allocationOptions, vmaFlags);
    knownHandles.remember(created.buffer, created.allocation);
    return created;
  }

  /**
   * @internal Checks a buffer description (resource-descriptions.ts) and VMA's device-address precondition, and
   * encodes it into the scratch; messages name `op` and `arg`.
   */
  _encodeBuffer(bufferInfo: BufferInfo, op: string, arg: string): void {
    this.descriptions.encodeBuffer(bufferInfo, op, arg);
    if ((bufferInfo.usage & 0x20000) !== 0 && (this.flags & ALLOCATOR_FLAGS.BUFFER_DEVICE_ADDRESS) === 0) {
      // VMA asserts on SHADER_DEVICE_ADDRESS unless the allocator was made with BUFFER_DEVICE_ADDRESS.
      const why =
        "has SHADER_DEVICE_ADDRESS (0x20000), but the allocator was created without the bufferDeviceAddress feature";
      argumentError(op, `${arg}.usage`, why, bufferInfo.usage, RangeError);
    }
  }

  /**
   * Creates many buffers in one call (vmaCreateBuffer each, one native call): `count` buffers of one description, or
   * one per description, all with the same options. The results are typed arrays in a {@link BufferBatch} (no
   * Allocation or nvk handle object per buffer). All or nothing: when one fails, none is kept. Destroy the batch with
   * {@link destroyBuffers} (or it goes, reported as leaks, with the allocator). See engine/memory/buffer-batch.ts.
   * @throws TypeError / RangeError for a bad count, description or option (pools, `mapped` and lost allocations are
   *   refused for batches), naming it and the value; nothing is made.
   * @throws OutOfDeviceMemoryError / VkError when VMA fails on a buffer (its index in the message); nothing is kept.
   * @throws DestroyedResourceError after destroy().
   */
  createBuffers(count: number, description: BufferInfo, allocationOptions?: AllocationOptions): BufferBatch;
  createBuffers(descriptions: readonly BufferInfo[], allocationOptions?: AllocationOptions): BufferBatch;
  createBuffers(
    first: number | readonly BufferInfo[],
    second?: BufferInfo | AllocationOptions,
    third?: AllocationOptions,
  ): BufferBatch {
    return createBufferBatch(this, first, second, third);
  }

  /**
   * Destroys every buffer of a batch from {@link createBuffers} and frees their memory (vmaDestroyBuffer each). A
   * second call, or one after the allocator's destroy(), does nothing.
   * @throws TypeError when `batch` is not a BufferBatch of this allocator.
   */
  destroyBuffers(batch: BufferBatch): void {
    destroyBufferBatch(this, batch);
  }

  /**
   * Creates an image, allocates memory for it and binds them (vmaCreateImage). The format, type, tiling,
   * usage and extent are first checked against vkGetPhysicalDeviceImageFormatProperties.
   * @throws TypeError / RangeError for bad arguments, an unsupported format or an extent beyond the device's limit.
   * @throws OutOfDeviceMemoryError / VkError when VMA fails.
   */
  createImage(imageInfo: ImageInfo, allocationOptions?: AllocationOptions): CreatedImage {
    const op = "createImage";
    const h = this._live(op);
    this.descriptions.encodeImage(imageInfo, op, "imageInfo");
    const vmaFlags = encodeAllocationOptions(allocationOptions, op, "allocationOptions", this);
    const created = (allocationOptions?.pool ?? this._vma)._createImage(imageInfo, allocationOptions, vmaFlags);
    knownHandles.remember(created.image, created.allocation);
    return created;
  }

  /**
   * Allocates memory for the given requirements (vmaAllocateMemory); bind it yourself or with
   * bindBufferMemory / bindImageMemory. Free with {@link freeMemory}.
   *
   * VMA cannot choose Auto memory without a resource description, so without `usage` the memory gets GpuOnly, or
   * CpuToGpu / GpuToCpu with `hostAccess` (see defaultRawMemoryUsage in usage.ts); `minAlignment` raises the alignment.
   * @throws TypeError / RangeError naming the argument (an Auto usage is a RangeError), OutOfDeviceMemoryError, VkError
   */
  allocateMemory(requirements: MemoryRequirements, allocationOptions?: AllocationOptions): Allocation {
    const op = "allocateMemory";
    const h = this._live(op);
    this.descriptions.checkRequirements(requirements, op);
    const vmaFlags = encodeAllocationOptions(allocationOptions, op, "allocationOptions", this, true);
    return (allocationOptions?.pool ?? this._vma)._allocateMemory(requirements, allocationOptions, vmaFlags, op);
  }

  /**
   * Allocates memory fitting a buffer you created (vmaAllocateMemoryForBuffer); bind with bindBufferMemory.
   * You keep owning the buffer. Options default as for {@link allocateMemory}. A handle vkmem never saw (made with nvk directly) is trusted as nvk trusts it.
   * @throws DestroyedResourceError when `buffer` is a handle object whose buffer vkmem destroyed.
   * @throws TypeError naming `buffer` when it is not an nvk VkBuffer, is null, or is the live buffer of an allocation.
   * @throws RangeError for bad options; OutOfDeviceMemoryError / VkError when VMA fails.
   */
  allocateMemoryForBuffer(buffer: unknown, allocationOptions?: AllocationOptions): Allocation {
    return allocateMemoryFor(this, buffer, false, allocationOptions, "allocateMemoryForBuffer");
  }

  /**
   * Allocates memory fitting an image you created (vmaAllocateMemoryForImage); bind with bindImageMemory. A handle vkmem never saw (made with nvk directly) is trusted as nvk trusts it.
   * @throws DestroyedResourceError / TypeError / RangeError as {@link allocateMemoryForBuffer}, for `image`.
   */
  allocateMemoryForImage(image: unknown, allocationOptions?: AllocationOptions): Allocation {
    return allocateMemoryFor(this, image, true, allocationOptions, "allocateMemoryForImage");
  }

  /**
   * Binds a buffer you created to an allocation (vmaBindBufferMemory2) at `localOffset` inside it; the buffer is then
   * destroyed with the allocation by {@link destroyBuffer}. On a `canAlias` allocation bound already, it is bound as an
   * alias beside it (checked against its memory requirements) and returned: destroy it with its destroy(). A handle vkmem never saw (made with nvk directly) is trusted as nvk trusts it.
   * @throws DestroyedResourceError when `buffer` is a handle object whose buffer vkmem destroyed.
   * @throws TypeError naming `buffer` when it is not an nvk VkBuffer, is null, or is the live buffer of an allocation.
   * @throws RangeError for a bad `localOffset` or an allocation bound already; VkError when the bind fails.
   */
  bindBufferMemory(allocation: Allocation, buffer: unknown, localOffset = 0): AliasingBuffer | undefined {
    return bind(this, allocation, buffer, localOffset, "bindBufferMemory", "VkBuffer") as AliasingBuffer | undefined;
  }

  /**
   * Binds an image you created to an allocation (vmaBindImageMemory2) at `localOffset` inside it. A handle vkmem never saw (made with nvk directly) is trusted as nvk trusts it.
   * @throws DestroyedResourceError / TypeError / RangeError / VkError as {@link bindBufferMemory}, for `image`.
   */
  bindImageMemory(allocation: Allocation, image: unknown, localOffset = 0): AliasingImage | undefined {
    return bind(this, allocation, image, localOffset, "bindImageMemory", "VkImage") as AliasingImage | undefined;
  }

  /**
   * Destroys a buffer and frees its allocation (vmaDestroyBuffer). A second call for the same
   * allocation does nothing. `buffer` may be null to mean the buffer created with the allocation. A handle vkmem never saw (made with nvk directly) is trusted as nvk trusts it.
   * @throws DestroyedResourceError when `buffer` is a handle object whose buffer vkmem destroyed (and the allocation lives).
   * @throws TypeError when the allocation is not this allocator's, or the buffer is not the one bound to it.
   */
  destroyBuffer(buffer: unknown, allocation: Allocation): void {
    destroyResource(this, buffer, allocation, "destroyBuffer", "VkBuffer");
  }

  /** Destroys an image and frees its allocation (vmaDestroyImage); see {@link destroyBuffer}. A handle vkmem never saw (made with nvk directly) is trusted as nvk trusts it. */
  destroyImage(image: unknown, allocation: Allocation): void {
    destroyResource(this, image, allocation, "destroyImage", "VkImage");
  }

  /** An allocation lost from birth (VMA 2's vmaCreateLostAllocation), size 0; release it with freeMemory. @throws TypeError for a bad name. */
  createLostAllocation(name?: string): Allocation {
    this._live("createLostAllocation");
    return createLostAllocation(this, name, this.lost.frameIndex);
  }

  /** Frees an allocation from allocateMemory* (vmaFreeMemory); a second call is a no-op. */
  freeMemory(allocation: Allocation): void {
    freeMemory(this, allocation);
  }

  /** @internal Frees an allocation of this allocator (checked, alive): unlinks it, then its memory source frees it. */
  _freeAllocation(allocation: Allocation): void {
    if (this._defragmentation !== null && this._defragmentation._freeDuringPass(allocation, "free")) {
      // An open defragmentation pass moves it: VMA frees it when the pass ends (defragmentation.ts).
      return this._forgetFreedNatively(allocation);
    }
    this.#unlink(allocation);
    (allocation.pool ?? this._vma)._free(allocation);
  }

  /** @internal The bytes this allocator may hold in heap `heapIndex`: its size, or its heapSizeLimit when lower. */
  _heapCapacity(heapIndex: number): number {
    const size = this.memoryHeaps[heapIndex]!.size;
    const limit = this.heapSizeLimits[heapIndex]!;
    return limit > 0 ? Math.min(limit, size) : size;
  }

  /** What every free undoes first: the allocation's place among lost-able ones and its resource's handle. */
  #unlink(allocation: Allocation): void {
    if (allocation._domain !== null) this.lost.unlink(allocation);
    if (allocation._resourceKey !== 0) knownHandles.untrack(allocation._resourceKey, allocation);
  }

  /**
   * @internal Refuses a value of a Vulkan flags type with bits this allocator's device does not allow
   * (engine/vulkan/flag-bits.ts), for the layers above that pass such values to Vulkan (endFrame's waitStages).
   * @throws RangeError naming `arg` and the bits.
   */
  _checkFlagBits(value: number, field: FlagField, op: string, arg: string): void {
    this.flagPolicy.check(value, field, false, op, arg);
  }

  /**
   * @internal The native layer freed `allocation` (a defragmentation move with operation "destroy", a FrameManager's
   * run of deferred frees: engine/resources/release-batch.ts): forget it here.
   */
  _forgetFreedNatively(allocation: Allocation): void {
    this.#unlink(allocation);
    this._vma._forgetFreed(allocation);
  }

  /** @internal Allocation tells its allocator it holds a mapped view (detached on destroy). */
  _trackMapped(allocation: Allocation): void {
    this.mapped.add(allocation);
  }
  /** @internal */
  _untrackMapped(allocation: Allocation): void {
    this.mapped.delete(allocation);
  }

  /**
   * Tells VMA the current frame index (budget refresh) and sets the frame that `touch()` records and that decides
   * which lost-able allocations are no longer in use (lost-allocations.ts). It should not decrease.
   */
  setCurrentFrameIndex(frameIndex: number): void {
    const h = this._live("setCurrentFrameIndex");
    if (!isIntegerIn(frameIndex, 0, 0xffffffff))
      argumentError("setCurrentFrameIndex", "frameIndex", "must be an integer in [0, 2^32)", frameIndex, RangeError);
    this._native.setCurrentFrameIndex(h, frameIndex);
    this.lost.frameIndex = frameIndex;
    this._recording?.writer.frameBegin(frameIndex);
    this._inspector?._frameIndexSet(frameIndex);
  }

  /** The frame index last given to {@link setCurrentFrameIndex} (0 before the first). */
  get currentFrameIndex(): number {
    this._live("currentFrameIndex");
    return this.lost.frameIndex;
  }

  /**
   * Marks `allocation` used in the current frame (VMA 2's vmaTouchAllocation): a lost-able allocation moves to the
   * most recently used end of its domain, O(1). Other allocations are only checked.
   * @returns false when the allocation is lost, true otherwise.
   * @throws TypeError when it is not this allocator's; DestroyedResourceError once freed or released.
   */
  touch(allocation: Allocation): boolean {
    if (!(allocation instanceof Allocation) || allocation.allocator !== this)
      this._checkAllocation(allocation, "touch");
    return this.lost.touch(allocation);
  }

  /**
   * Whether `allocation` was made lost (its memory is gone). Also true after the owner released it.
   * @throws TypeError when it is not this allocator's.
   */
  isLost(allocation: Allocation): boolean {
    this._checkAllocation(allocation, "isLost");
    return allocation._lostFrame >= 0;
  }

  /**
   * Makes lost every lost-able allocation of `pool` that is no longer in use (its last use + frameInUseCount is
   * before the current frame), least recently used first (VMA 2's vmaMakePoolAllocationsLost).
   * @returns how many were made lost.
   * @throws TypeError when the pool is not this allocator's; DestroyedResourceError when it or the allocator is destroyed.
   */
  makePoolAllocationsLost(pool: Pool): number {
    const op = "makePoolAllocationsLost";
    this._live(op);
    if (!(pool instanceof Pool)) argumentError(op, "pool", "must be a Pool", pool);
    if (pool.allocator !== this)
      argumentError(op, "pool", "belongs to another allocator", pool.label ?? "(unnamed pool)");
    pool._live(op);
    const domain = pool._lostDomain;
    return domain === null ? 0 : this.lost.makeAllLost(domain);
  }

  /**
   * Lost-allocation counters of the default pools, per memory type and in total (custom pools' allocations are in
   * {@link Pool.getLostAllocationStatistics} and in the total). Cheap: counters kept as allocations come and go.
   */
  getLostAllocationStatistics(): AllocatorLostStatistics {
    this._live("getLostAllocationStatistics");
    return this.lost.statistics(this.pools);
  }

  /** Per-heap usage and budget (vmaGetHeapBudgets). */
  getHeapBudgets(): HeapBudget[] {
    return this._native.getHeapBudgets(this._live("getHeapBudgets"));
  }

  /** Totals, per heap and per memory type (vmaCalculateStatistics). Walks every block: not for every frame. */
  calculateStatistics(): TotalStatistics {
    return this._native.calculateStatistics(this._live("calculateStatistics"));
  }

  /** VMA's JSON dump (vmaBuildStatsString); `detailed` adds every block and allocation. */
  buildStatsString(detailed = true): string {
    const h = this._live("buildStatsString");
    return this._native.buildStatsString(h, optionalBoolean(detailed, true, "buildStatsString", "detailed"));
  }

  /** VMA's detailed JSON dump, parsed and typed ({@link parseStatsString}): what `vkmem vis` draws. */
  dump(): StatsDump {
    return parseStatsString(this.buildStatsString(true));
  }

  /** Number of allocations alive now. */
  get allocationCount(): number {
    return this._native.liveAllocationCount(this._live("allocationCount"));
  }

  /**
   * The memory type VMA would choose for `memoryTypeBits` and the options (vmaFindMemoryTypeIndex).
   * The Auto usages need a resource description, so they are refused here.
   * @throws VkError VK_ERROR_FEATURE_NOT_PRESENT when no type fits.
   */
  findMemoryTypeIndex(memoryTypeBits: number, allocationOptions?: AllocationOptions): number {
    return this.typeQuery.forMask(memoryTypeBits, allocationOptions);
  }

  /**
   * The memory type VMA would choose for a buffer of this description and the options
   * (vmaFindMemoryTypeIndexForBufferInfo). The Auto usages are allowed: VMA reads the buffer's usage.
   * @throws TypeError / RangeError for bad arguments; VkError VK_ERROR_FEATURE_NOT_PRESENT when no type fits.
   */
  findMemoryTypeIndexForBufferInfo(bufferInfo: BufferInfo, allocationOptions?: AllocationOptions): number {
    const op = "findMemoryTypeIndexForBufferInfo";
    return this.typeQuery.forInfo("buffer", bufferInfo, allocationOptions, op, "bufferInfo", "allocationOptions");
  }

  /**
   * The memory type VMA would choose for an image of this description and the options
   * (vmaFindMemoryTypeIndexForImageInfo). The description is checked as createImage checks it.
   * @throws TypeError / RangeError for bad arguments; VkError VK_ERROR_FEATURE_NOT_PRESENT when no type fits.
   */
  findMemoryTypeIndexForImageInfo(imageInfo: ImageInfo, allocationOptions?: AllocationOptions): number {
    const op = "findMemoryTypeIndexForImageInfo";
    return this.typeQuery.forInfo("image", imageInfo, allocationOptions, op, "imageInfo", "allocationOptions");
  }

  /**
   * Creates a custom pool (vmaCreatePool) in a memory type given by index, or chosen for a buffer or image
   * description and allocation options. Allocate from it with `{ pool }` in the allocation options; destroy
   * it with {@link Pool.destroy} (or it goes with the allocator). See engine/memory/pool.ts.
   *
   * The pool's memory type must suit what is allocated from it: VMA does not check a resource's
   * memoryTypeBits against a pool (the validation layer reports a bind into a type the resource refuses).
   * A buddy pool (`algorithm: "buddy"`, engine/memory/buddy-pool.ts) does check, and refuses such a resource.
   * @throws TypeError / RangeError naming the argument and value (bad block size, counts, algorithm, ...).
   * @throws OutOfDeviceMemoryError when minBlockCount blocks cannot be allocated; VkError otherwise.
   * @throws DestroyedResourceError after destroy().
   */
  createPool(target: PoolTarget, options: PoolOptions & { algorithm: "buddy" }): BuddyPool;
  createPool(target: PoolTarget, options?: PoolOptions): Pool;
  createPool(target: PoolTarget, options?: PoolOptions): Pool {
    const op = "createPool";
    this._live(op);
    const memoryTypeIndex = resolvePoolTarget(target, this.memoryTypes.length, op, (kind, info, allocation, arg) =>
      this.typeQuery.forInfo(kind, info, allocation, op, arg, "target.allocation"),
    );
    const pool =
      options?.algorithm === "buddy"
        ? new BuddyPool(this, memoryTypeIndex, options, op)
        : new Pool(this, memoryTypeIndex, options, op);
    this.pools.add(pool);
    this._recording?.poolCreated(pool);
    return pool;
  }

  /** @internal A pool is being destroyed: detach the mapped views of its allocations, forget it. */
  _forgetPool(pool: Pool): void {
    this._recording?.poolDestroyed(pool);
    pool._lostDomain?.clear();
    for (const a of this.mapped) if (a.pool === pool) a._release();
    this.pools.delete(pool);
  }

  /**
   * @internal Turns native leak records into reports (with creation stacks when captured), hands them to
   * `onLeaks` or emits one process warning; `what` names who was destroyed ("Allocator 'x'", "Pool 'y'").
   */
  _reportLeaks(what: string, leaks: NativeLeak[], messages: string[]): LeakReport[] {
    return reportLeaks(what, leaks, messages, this.stacks, this.onLeaks);
  }

  /**
   * Checks the debug margins of every block (default pools and custom pools) in the given memory types
   * (vmaCheckCorruption; default: all of them): were bytes written past the end of an allocation?
   *
   * Returns the finding rather than throwing it: `ok` is false when a margin was overwritten, and the report names
   * the memory types and the live allocations whose margin it was. On the normal build nothing can be checked:
   * `ok` is true, `result` is VK_ERROR_FEATURE_NOT_PRESENT and the message says detection is not compiled in; the
   * same on the debug build for memory types that are not HOST_VISIBLE | HOST_COHERENT. See engine/memory/corruption.ts.
   * As in VMA, `memoryTypeBits` is a uint32 mask whose bits beyond the device's memory types are ignored, so
   * 0xFFFFFFFF means every memory type.
   * @throws RangeError when memoryTypeBits is not a uint32 mask or names none of this device's memory types.
   * @throws VkError when VMA cannot map a block to check it; DestroyedResourceError after destroy().
   */
  checkCorruption(memoryTypeBits: number = 0xffffffff): CorruptionReport {
    const h = this._live("checkCorruption");
    return checkAllocatorCorruption(
      this._native,
      h,
      this.debug,
      memoryTypeBits,
      this.memoryTypes.map((t) => t.propertyFlags),
    );
  }

  /**
   * Destroys the allocator and everything made over it (engine/lifetime.ts). Live FrameManagers (with their
   * streamers, buffers and textures) and pools are destroyed first and named in one process warning. Allocations
   * still alive are reported oldest first (the pools' before the rest; returned, and passed to `onLeaks` or emitted
   * as one process warning), their buffers
   * and images destroyed and their memory freed first, so nothing aborts. A second call does nothing and returns [].
   * Afterwards every use of the allocator or of anything it made throws {@link DestroyedResourceError}.
   */
  destroy(): LeakReport[] {
    const h = this._handle;
    if (h === 0) return [];
    const cause = this.goneCause ?? this._lifetimeName;
    // Its dependents first, in the order of engine/lifetime.ts: frame managers (they free through it), then pools.
    const cascade = cascadeReport();
    this._dependents.destroyAll(cause, cascade);
    const poolLeaks = releasePools(this.pools, this.mapped, cause, cascade.names);
    this.lost.clear();
    this._handle = 0;
    this.deviceDependents?.delete(this);
    unwatch(this);
    reportCascade(this._lifetimeName, cascade);
    knownHandles.forget(this);
    unregisterAllocator(this.liveRef);
    this._recording?.stop();
    this._recording = null;
    this._inspector?.close();
    this._inspector = null;
    const { leaks, messages } = this._native.destroyAllocator(h);
    const reports = this._reportLeaks(this._lifetimeName, [...poolLeaks, ...leaks], messages);
    this.stacks?.clear();
    this._allocationIndex?.clear();
    return reports;
  }
}

Object.assign(Allocator.prototype, allocatorExtras);
