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
 * This module is the facade: each call checks liveness and ownership, then delegates: descriptions to
 * resource-descriptions.ts, options to usage.ts, memory to a MemorySource (pool-backend.ts: the pool of the options
 * or allocation, else VMA's calls in vma-memory.ts), raw handles to resource-registry.ts, lost allocations to
 * lost-allocations.ts, leak reports to leak-report.ts, createAllocator's arguments to allocator-options.ts.
 * @module
 */
import { DestroyedResourceError, describeValue, vkErrorFor } from "../errors.js";
import { checkOptionalOptions, optionalBoolean } from "../checks.js";
import { LostAllocations, type AllocatorLostStatistics } from "./lost-allocations.js";
import { debugNative, native, scratch, type NativeAddon, type NativeLeak } from "../native.js";
import { nvk } from "../vulkan/nvk.js";
import { handleKeyOfRaw, isNvkHandle, rawHandle, type NvkHandle } from "../vulkan/handles.js";
import { Allocation } from "./allocation.js";
import { Dependents, HandleWatch, cascadeReport, creationStack, dependentsOfDevice, lifetimeName, reportCascade, reportCollected, unwatch, watch } from "../lifetime.js";
import { encodeAllocationOptions, refusePool, type AllocationOptions, MemoryUsage } from "./usage.js";
import { Pool, resolvePoolTarget, type PoolOptions, type PoolTarget } from "./pool.js";
import { parseStatsString, type StatsDump } from "./dump.js";
import { BuddyPool } from "./buddy-pool.js";
import { VmaMemory } from "./vma-memory.js";
import { DeviceFlagPolicy, type FlagField } from "../vulkan/flag-bits.js";
import type { BufferInfo, HeapBudget, ImageInfo, LeakReport, MemoryHeap, MemoryRequirements, MemoryType, TotalStatistics } from "./types.js";
import { reportLeaks } from "./leak-report.js";
import { ALLOCATOR_FLAGS, MAX_VMA_API_VERSION, checkAllocatorOptions, type AllocatorDevice, type AllocatorOptions } from "./allocator-options.js";
import type { CreatedBuffer, CreatedImage, PoolBackend } from "./pool-backend.js";
import { ResourceDescriptions } from "./resource-descriptions.js";
import { checkRawResource, knownHandles, registerAllocator, unregisterAllocator } from "./resource-registry.js";
import { checkCorruptionReport, settingsOf, type CorruptionReport, type DebugSettings } from "./corruption.js";
import { AllocatorRecording, type RecordedOptions } from "./recording.js";
import type { TraceWriter } from "../trace/writer.js";
import { packageVersion } from "../package-root.js";

export type { AllocatorDevice, AllocatorOptions } from "./allocator-options.js";
export type { CreatedBuffer, CreatedImage } from "./pool-backend.js";
export type { BufferInfo, DetailedStatistics, HeapBudget, ImageInfo, LeakReport, MemoryHeap, MemoryRequirements, MemoryType, TotalStatistics } from "./types.js";

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

function isUint32(v: unknown): v is number {
  return typeof v === "number" && v >= 0 && v <= 0xffffffff && Math.floor(v) === v;
}
function fail(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
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
export class Allocator {
  /** The label given at creation, if any. */
  readonly label: string | undefined;
  /** The nvk VkDevice it allocates from. */
  readonly device: any;
  /** The nvk VkPhysicalDevice. */
  readonly physicalDevice: any;
  /** The VmaAllocatorCreateFlags it was created with (VMA adds EXTERNALLY_SYNCHRONIZED itself). */
  readonly flags: number;
  /** nonCoherentAtomSize of the device: flush/invalidate granularity. */
  readonly nonCoherentAtomSize: number;
  /** bufferImageGranularity of the device. */
  readonly bufferImageGranularity: number;
  /** The device's name. */
  readonly deviceName: string;
  /** Memory heaps. */
  readonly memoryHeaps: readonly MemoryHeap[];
  /** Memory types. */
  readonly memoryTypes: readonly MemoryType[];
  /** The heap size limits it was created with (0: none). */
  readonly heapSizeLimits: readonly number[];
  /** The debug settings it runs with (all off for the normal build); see {@link AllocatorOptions.debug}. */
  readonly debug: DebugSettings;
  /** Frames after its last use during which a lost-able allocation of the default pools cannot be made lost. */
  readonly frameInUseCount: number;
  /** @internal */
  _handle: number;
  /** @internal The addon build this allocator, its pools and allocations live in; all their calls go through it. */
  readonly _native: NativeAddon;
  /** @internal VMA's allocation calls (vma-memory.ts): the memory source of the default pools and of every VmaPool. */
  readonly _vma: VmaMemory;
  /** @internal The recording, when the allocator records (engine/memory/recording.ts). */
  _recording: AllocatorRecording | null = null;
  private readonly maxAllocationSize: number;
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
    const { apiVersion, extensions, features, flags, blockSize, limits, debug: wanted, frameInUseCount } = checkAllocatorOptions(source, options);
    this.flagPolicy = new DeviceFlagPolicy({ apiVersion: Math.min(apiVersion, MAX_VMA_API_VERSION), extensions, features });
    this.vulkanApiVersion = apiVersion;
    this.label = options.label;
    this.device = source.device;
    this.physicalDevice = source.physicalDevice;
    this.flags = flags;
    const addon = wanted.enabled ? debugNative() : native;
    this._native = addon;
    this.debug = settingsOf(addon);
    this._handle = addon.createAllocator(
      rawHandle(source.instance as NvkHandle),
      rawHandle(source.physicalDevice as NvkHandle),
      rawHandle(source.device as NvkHandle),
      Math.min(apiVersion, MAX_VMA_API_VERSION),
      flags,
      limits,
      blockSize,
    );
    const props = this._native.getMemoryProperties(this._handle);
    if (limits !== undefined && limits.length !== props.heaps.length) {
      // native checked this already; keep the TS state consistent all the same
      this._native.destroyAllocator(this._handle);
      fail("createAllocator", "options.heapSizeLimits", `must have ${props.heaps.length} entries (one per heap)`, limits);
    }
    this.nonCoherentAtomSize = props.nonCoherentAtomSize;
    this.bufferImageGranularity = props.bufferImageGranularity;
    this.deviceName = props.deviceName;
    this.memoryHeaps = Object.freeze(props.heaps.map((h) => Object.freeze(h)));
    this.memoryTypes = Object.freeze(props.types.map((t) => Object.freeze(t)));
    this.heapSizeLimits = Object.freeze(props.heaps.map((_, i) => limits?.[i] ?? 0));
    this.maxAllocationSize = Math.max(
      ...props.heaps.map((h, i) => (this.heapSizeLimits[i] > 0 ? Math.min(h.size, this.heapSizeLimits[i]) : h.size)),
    );
    this.descriptions = new ResourceDescriptions({
      physicalDevice: this.physicalDevice,
      deviceName: this.deviceName,
      maxAllocationSize: this.maxAllocationSize,
      flagPolicy: this.flagPolicy,
    });
    this.stacks = options.captureStacks ? new Map() : null;
    this.onLeaks = options.onLeaks;
    this.frameInUseCount = frameInUseCount;
    this.lost = new LostAllocations(frameInUseCount, this.memoryTypes, source.device, {
      free: (allocation) => this.free(allocation),
      memoryTypeFor: (kind, info, options) => this.findMemoryTypeIndexFor(kind, info, options, "makeRoom", "info", "options"),
    });
    this._vma = new VmaMemory(this, { stacks: this.stacks, leakWatch: this.leakWatch, lost: this.lost, descriptions: this.descriptions });
    this.deviceDependents = dependentsOfDevice(rawHandle(source.device as NvkHandle));
    this.deviceDependents?.add(this);
    watch(this, "Allocator", this.label, creationStack(this.stacks !== null));
    registerAllocator(this.liveRef);
    if (options.record !== undefined) this._startRecording(options.record.file, options);
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

  /** GC collected an Allocation whose handle was never freed: report it (its memory stays; GC calls no VMA). */
  private collectedUnfreed(handle: number): void {
    if (this._handle === 0) return; // freed and reported by destroy()
    let name: string | null;
    try {
      name = this._native.getAllocationName(handle);
    } catch {
      return; // freed natively with its pool by the pool's destroy(), which reported it
    }
    reportCollected("Allocation", name, this.stacks?.get(handle));
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

  private live(operation: string): number {
    const h = this._handle;
    if (h === 0) throw new DestroyedResourceError("Allocator", this.label, operation, this.goneCause);
    return h;
  }

  private checkAllocation(allocation: unknown, op: string, arg = "allocation"): Allocation {
    if (!(allocation instanceof Allocation)) fail(op, arg, "must be an Allocation", allocation, TypeError);
    if (allocation.allocator !== this) {
      fail(op, arg, "belongs to another allocator", allocation.label ?? "(unnamed allocation)", TypeError);
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
    const h = this.live("createBuffer");
    this.descriptions.encodeBuffer(bufferInfo, "createBuffer", "bufferInfo");
    if ((bufferInfo.usage & 0x20000) !== 0 && (this.flags & ALLOCATOR_FLAGS.BUFFER_DEVICE_ADDRESS) === 0) {
      // VMA asserts on SHADER_DEVICE_ADDRESS unless the allocator was made with BUFFER_DEVICE_ADDRESS.
      fail("createBuffer", "bufferInfo.usage", "has SHADER_DEVICE_ADDRESS (0x20000), but the allocator was created without the bufferDeviceAddress feature", bufferInfo.usage);
    }
    const vmaFlags = encodeAllocationOptions(allocationOptions, "createBuffer", "allocationOptions", this);
    const created = (allocationOptions?.pool ?? this._vma)._createBuffer(bufferInfo, allocationOptions, vmaFlags);
    knownHandles.remember(created.buffer, created.allocation);
    return created;
  }

  /**
   * Creates an image, allocates memory for it and binds them (vmaCreateImage). The format, type, tiling,
   * usage and extent are first checked against vkGetPhysicalDeviceImageFormatProperties.
   * @throws TypeError / RangeError for bad arguments, an unsupported format or an extent beyond the device's limit.
   * @throws OutOfDeviceMemoryError / VkError when VMA fails.
   */
  createImage(imageInfo: ImageInfo, allocationOptions?: AllocationOptions): CreatedImage {
    const op = "createImage";
    const h = this.live(op);
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
    const h = this.live(op);
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
    return this.allocateMemoryFor(buffer, false, allocationOptions);
  }

  /**
   * Allocates memory fitting an image you created (vmaAllocateMemoryForImage); bind with bindImageMemory. A handle vkmem never saw (made with nvk directly) is trusted as nvk trusts it.
   * @throws DestroyedResourceError / TypeError / RangeError as {@link allocateMemoryForBuffer}, for `image`.
   */
  allocateMemoryForImage(image: unknown, allocationOptions?: AllocationOptions): Allocation {
    return this.allocateMemoryFor(image, true, allocationOptions);
  }

  private allocateMemoryFor(resource: unknown, image: boolean, allocationOptions: AllocationOptions | undefined): Allocation {
    const op = image ? "allocateMemoryForImage" : "allocateMemoryForBuffer";
    const h = this.live(op);
    const raw = checkRawResource(this, resource, op, image ? "image" : "buffer", image ? "VkImage" : "VkBuffer");
    const vmaFlags = encodeAllocationOptions(allocationOptions, op, "allocationOptions", this, true);
    return (allocationOptions?.pool ?? this._vma)._allocateMemoryFor(resource as object, raw, image, allocationOptions, vmaFlags, op);
  }

  /**
   * Binds a buffer you created to an allocation (vmaBindBufferMemory2) at `localOffset` inside it; the buffer is then
   * destroyed with the allocation by {@link destroyBuffer}. A handle vkmem never saw (made with nvk directly) is trusted as nvk trusts it.
   * @throws DestroyedResourceError when `buffer` is a handle object whose buffer vkmem destroyed.
   * @throws TypeError naming `buffer` when it is not an nvk VkBuffer, is null, or is the live buffer of an allocation.
   * @throws RangeError for a bad `localOffset` or an allocation bound already; VkError when the bind fails.
   */
  bindBufferMemory(allocation: Allocation, buffer: unknown, localOffset = 0): void {
    this.bind(allocation, buffer, localOffset, "bindBufferMemory", "VkBuffer");
  }

  /**
   * Binds an image you created to an allocation (vmaBindImageMemory2) at `localOffset` inside it. A handle vkmem never saw (made with nvk directly) is trusted as nvk trusts it.
   * @throws DestroyedResourceError / TypeError / RangeError / VkError as {@link bindBufferMemory}, for `image`.
   */
  bindImageMemory(allocation: Allocation, image: unknown, localOffset = 0): void {
    this.bind(allocation, image, localOffset, "bindImageMemory", "VkImage");
  }

  private bind(allocation: Allocation, resource: unknown, localOffset: number, op: string, cls: "VkBuffer" | "VkImage"): void {
    this.live(op);
    const a = this.checkAllocation(allocation, op);
    const h = a._live(op);
    const arg = cls === "VkBuffer" ? "buffer" : "image";
    if (!isNvkHandle(resource, cls)) fail(op, arg, `must be an nvk ${cls}`, resource, TypeError);
    if (a.kind !== "memory" || a._resourceHandle !== 0n) fail(op, "allocation", "is already bound to a resource", a.label ?? "(unnamed)");
    const raw = checkRawResource(this, resource, op, arg, cls);
    if (!(Number.isSafeInteger(localOffset) && localOffset >= 0 && localOffset < a.size)) {
      fail(op, "localOffset", `must be an integer in [0, ${a.size})`, localOffset);
    }
    (a.pool ?? this._vma)._bind(a, resource as object, raw, localOffset, cls === "VkImage");
    a._resourceKey = handleKeyOfRaw(raw);
    knownHandles.track(a._resourceKey, a);
  }

  /**
   * Destroys a buffer and frees its allocation (vmaDestroyBuffer). A second call for the same
   * allocation does nothing. `buffer` may be null to mean the buffer created with the allocation. A handle vkmem never saw (made with nvk directly) is trusted as nvk trusts it.
   * @throws DestroyedResourceError when `buffer` is a handle object whose buffer vkmem destroyed (and the allocation lives).
   * @throws TypeError when the allocation is not this allocator's, or the buffer is not the one bound to it.
   */
  destroyBuffer(buffer: unknown, allocation: Allocation): void {
    this.destroyResource(buffer, allocation, "destroyBuffer", "VkBuffer");
  }

  /** Destroys an image and frees its allocation (vmaDestroyImage); see {@link destroyBuffer}. A handle vkmem never saw (made with nvk directly) is trusted as nvk trusts it. */
  destroyImage(image: unknown, allocation: Allocation): void {
    this.destroyResource(image, allocation, "destroyImage", "VkImage");
  }

  private destroyResource(resource: unknown, allocation: Allocation, op: string, cls: "VkBuffer" | "VkImage"): void {
    if (!(allocation instanceof Allocation) || allocation.allocator !== this) this.checkAllocation(allocation, op);
    // Lost: its buffer or image and memory are gone already (or going, when called from onLost); this releases it.
    if (allocation._lostFrame >= 0) {
      allocation._lostReleased = true;
      return;
    }
    // Already freed (here, by this allocator's destroy() or its pool's): destroying twice is a no-op.
    if (allocation.destroyed) return;
    const kind = cls === "VkBuffer" ? "buffer" : "image";
    if (resource !== null && resource !== undefined && resource !== allocation._resource) {
      if (!isNvkHandle(resource, cls)) fail(op, kind, `must be an nvk ${cls} or null`, resource, TypeError);
      const dead = knownHandles.deadOwner(resource, rawHandle(resource));
      if (dead !== undefined) throw new DestroyedResourceError(cls === "VkBuffer" ? "Buffer" : "Image", dead.label, op);
      if (rawHandle(resource) !== allocation._resourceHandle) {
        fail(op, kind, `is not the ${kind} bound to allocation${allocation.label ? ` '${allocation.label}'` : ""}`, resource, TypeError);
      }
    }
    if (allocation.kind !== kind && allocation.kind !== "memory") {
      fail(op, "allocation", `backs an ${allocation.kind}, not a ${kind}`, allocation.label ?? "(unnamed)", TypeError);
    }
    if (allocation.kind === "memory" && allocation._resource !== null) {
      // A resource the caller created and bound: VMA's destroy semantics destroy it too. Its object is dead from now.
      knownHandles.remember(allocation._resource, allocation);
      if (cls === "VkBuffer") nvk.vkDestroyBuffer(this.device, allocation._resource, null);
      else nvk.vkDestroyImage(this.device, allocation._resource, null);
    }
    this.free(allocation);
  }

  /** Frees an allocation from allocateMemory* (vmaFreeMemory); a second call is a no-op. */
  freeMemory(allocation: Allocation): void {
    this.checkAllocation(allocation, "freeMemory");
    if (allocation._lostFrame >= 0) {
      allocation._lostReleased = true;
      return;
    }
    if (allocation.destroyed) return;
    if (allocation.kind !== "memory") {
      fail("freeMemory", "allocation", `backs a ${allocation.kind}: use destroy${allocation.kind === "buffer" ? "Buffer" : "Image"}()`, allocation.label ?? "(unnamed)", TypeError);
    }
    this.free(allocation);
  }

  private free(allocation: Allocation): void {
    if (allocation._domain !== null) this.lost.unlink(allocation);
    if (allocation._resourceKey !== 0) knownHandles.untrack(allocation._resourceKey, allocation);
    (allocation.pool ?? this._vma)._free(allocation);
  }

  /**
   * @internal Refuses a value of a Vulkan flags type with bits this allocator's device does not allow
   * (engine/vulkan/flag-bits.ts), for the layers above that pass such values to Vulkan (endFrame's waitStages).
   * @throws RangeError naming `arg` and the bits.
   */
  _checkFlagBits(value: number, field: FlagField, op: string, arg: string): void {
    this.flagPolicy.check(value, field, false, op, arg);
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
    const h = this.live("setCurrentFrameIndex");
    if (!isUint32(frameIndex)) fail("setCurrentFrameIndex", "frameIndex", "must be an integer in [0, 2^32)", frameIndex);
    this._native.setCurrentFrameIndex(h, frameIndex);
    this.lost.frameIndex = frameIndex;
    this._recording?.writer.frameBegin(frameIndex);
  }

  /** The frame index last given to {@link setCurrentFrameIndex} (0 before the first). */
  get currentFrameIndex(): number {
    this.live("currentFrameIndex");
    return this.lost.frameIndex;
  }

  /**
   * Marks `allocation` used in the current frame (VMA 2's vmaTouchAllocation): a lost-able allocation moves to the
   * most recently used end of its domain, O(1). Other allocations are only checked.
   * @returns false when the allocation is lost, true otherwise.
   * @throws TypeError when it is not this allocator's; DestroyedResourceError once freed or released.
   */
  touch(allocation: Allocation): boolean {
    if (!(allocation instanceof Allocation) || allocation.allocator !== this) this.checkAllocation(allocation, "touch");
    return this.lost.touch(allocation);
  }

  /**
   * Whether `allocation` was made lost (its memory is gone). Also true after the owner released it.
   * @throws TypeError when it is not this allocator's.
   */
  isLost(allocation: Allocation): boolean {
    this.checkAllocation(allocation, "isLost");
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
    this.live(op);
    if (!(pool instanceof Pool)) fail(op, "pool", "must be a Pool", pool, TypeError);
    if (pool.allocator !== this) fail(op, "pool", "belongs to another allocator", pool.label ?? "(unnamed pool)", TypeError);
    pool._live(op);
    const domain = pool._lostDomain;
    return domain === null ? 0 : this.lost.makeAllLost(domain);
  }

  /**
   * Lost-allocation counters of the default pools, per memory type and in total (custom pools' allocations are in
   * {@link Pool.getLostAllocationStatistics} and in the total). Cheap: counters kept as allocations come and go.
   */
  getLostAllocationStatistics(): AllocatorLostStatistics {
    this.live("getLostAllocationStatistics");
    return this.lost.statistics(this.pools);
  }

  /** Per-heap usage and budget (vmaGetHeapBudgets). */
  getHeapBudgets(): HeapBudget[] {
    return this._native.getHeapBudgets(this.live("getHeapBudgets"));
  }

  /** Totals, per heap and per memory type (vmaCalculateStatistics). Walks every block: not for every frame. */
  calculateStatistics(): TotalStatistics {
    return this._native.calculateStatistics(this.live("calculateStatistics"));
  }

  /** VMA's JSON dump (vmaBuildStatsString); `detailed` adds every block and allocation. */
  buildStatsString(detailed = true): string {
    const h = this.live("buildStatsString");
    return this._native.buildStatsString(h, optionalBoolean(detailed, true, "buildStatsString", "detailed"));
  }

  /** VMA's detailed JSON dump, parsed and typed ({@link parseStatsString}): what `vkmem vis` draws. */
  dump(): StatsDump {
    return parseStatsString(this.buildStatsString(true));
  }

  /** Number of allocations alive now. */
  get allocationCount(): number {
    return this._native.liveAllocationCount(this.live("allocationCount"));
  }

  /**
   * The memory type VMA would choose for `memoryTypeBits` and the options (vmaFindMemoryTypeIndex).
   * The Auto usages need a resource description, so they are refused here.
   * @throws VkError VK_ERROR_FEATURE_NOT_PRESENT when no type fits.
   */
  findMemoryTypeIndex(memoryTypeBits: number, allocationOptions?: AllocationOptions): number {
    const op = "findMemoryTypeIndex";
    const h = this.live(op);
    if (!isUint32(memoryTypeBits)) fail(op, "memoryTypeBits", "must be a uint32 mask", memoryTypeBits);
    checkOptionalOptions(allocationOptions, op, "allocationOptions");
    const usage = allocationOptions?.usage ?? MemoryUsage.Unknown;
    if (usage >= MemoryUsage.Auto) {
      fail(op, "allocationOptions.usage", "cannot be an Auto usage without a buffer or image description (see findMemoryTypeIndexForBufferInfo)", usage);
    }
    refusePool(allocationOptions, op, "allocationOptions");
    encodeAllocationOptions({ ...allocationOptions, usage }, op, "allocationOptions", this);
    scratch[0] = memoryTypeBits;
    const r = this._native.findMemoryTypeIndex(h);
    if (r < 0) throw vkErrorFor(r, "vmaFindMemoryTypeIndex");
    return r;
  }

  /**
   * The memory type VMA would choose for a buffer of this description and the options
   * (vmaFindMemoryTypeIndexForBufferInfo). The Auto usages are allowed: VMA reads the buffer's usage.
   * @throws TypeError / RangeError for bad arguments; VkError VK_ERROR_FEATURE_NOT_PRESENT when no type fits.
   */
  findMemoryTypeIndexForBufferInfo(bufferInfo: BufferInfo, allocationOptions?: AllocationOptions): number {
    return this.findMemoryTypeIndexFor("buffer", bufferInfo, allocationOptions, "findMemoryTypeIndexForBufferInfo", "bufferInfo", "allocationOptions");
  }

  /**
   * The memory type VMA would choose for an image of this description and the options
   * (vmaFindMemoryTypeIndexForImageInfo). The description is checked as createImage checks it.
   * @throws TypeError / RangeError for bad arguments; VkError VK_ERROR_FEATURE_NOT_PRESENT when no type fits.
   */
  findMemoryTypeIndexForImageInfo(imageInfo: ImageInfo, allocationOptions?: AllocationOptions): number {
    return this.findMemoryTypeIndexFor("image", imageInfo, allocationOptions, "findMemoryTypeIndexForImageInfo", "imageInfo", "allocationOptions");
  }

  private findMemoryTypeIndexFor(
    kind: "buffer" | "image",
    info: BufferInfo | ImageInfo,
    allocationOptions: AllocationOptions | undefined,
    op: string,
    infoArg: string,
    optionsArg: string,
  ): number {
    const h = this.live(op);
    // A query: the description may have bits VMA could not bind (sparse, DISJOINT) as long as the device allows them.
    if (kind === "buffer") this.descriptions.encodeBuffer(info as BufferInfo, op, infoArg, false);
    else this.descriptions.encodeImage(info as ImageInfo, op, infoArg, false);
    refusePool(allocationOptions, op, optionsArg);
    encodeAllocationOptions(allocationOptions, op, optionsArg, this);
    const r = kind === "buffer" ? this._native.findMemoryTypeIndexForBufferInfo(h) : this._native.findMemoryTypeIndexForImageInfo(h);
    if (r < 0) throw vkErrorFor(r, kind === "buffer" ? "vmaFindMemoryTypeIndexForBufferInfo" : "vmaFindMemoryTypeIndexForImageInfo");
    return r;
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
    this.live(op);
    const memoryTypeIndex = resolvePoolTarget(target, this.memoryTypes.length, op, (kind, info, allocation, arg) =>
      this.findMemoryTypeIndexFor(kind, info, allocation, op, arg, "target.allocation"),
    );
    const pool = options?.algorithm === "buddy" ? new BuddyPool(this, memoryTypeIndex, options, op) : new Pool(this, memoryTypeIndex, options, op);
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
    const op = "checkCorruption";
    const h = this.live(op);
    const all = 2 ** this.memoryTypes.length - 1;
    if (!isUint32(memoryTypeBits) || (memoryTypeBits & all) === 0) {
      fail(op, "memoryTypeBits", `must be a uint32 mask naming at least one of the device's ${this.memoryTypes.length} memory type(s) (0x${all.toString(16)}; 0xffffffff: all)`, memoryTypeBits);
    }
    return checkCorruptionReport(this._native, h, this.debug, (memoryTypeBits & all) >>> 0, null, this.memoryTypes.map((t) => t.propertyFlags));
  }

  /**
   * Destroys the allocator and everything made over it (engine/lifetime.ts). Live FrameManagers (with their
   * streamers, buffers and textures) and pools are destroyed first and named in one process warning. Allocations
   * still alive are reported (returned, and passed to `onLeaks` or emitted as one process warning), their buffers
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
    // Pools built over this allocator's allocations (buddy pools) go first, while it is alive.
    const poolLeaks: NativeLeak[] = [];
    for (const pool of this.pools) {
      const p: PoolBackend & Pool = pool; // every pool is a PoolBackend (pool-backend.ts)
      const leaks = p._destroyBeforeAllocator(cause);
      if (leaks === null) continue;
      cascade.names.push(p._lifetimeName);
      poolLeaks.push(...leaks);
    }
    for (const a of this.mapped) a._release();
    this.mapped.clear();
    for (const p of this.pools) {
      if (!p.destroyed) cascade.names.push(p._lifetimeName);
      p._lostDomain?.clear();
      p._release(cause);
    }
    this.pools.clear();
    this.lost.clear();
    this._handle = 0;
    this.deviceDependents?.delete(this);
    unwatch(this);
    reportCascade(this._lifetimeName, cascade);
    knownHandles.forget(this);
    unregisterAllocator(this.liveRef);
    this._recording?.stop();
    this._recording = null;
    const { leaks, messages } = this._native.destroyAllocator(h);
    const reports = this._reportLeaks(this._lifetimeName, [...poolLeaks, ...leaks], messages);
    this.stacks?.clear();
    return reports;
  }
}
