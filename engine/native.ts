/**
 * Loads the vkmem addon once and gives it a typed face; loads the debug build (VMA's debug margin, corruption
 * detection and fill patterns compiled in) the first time an allocator asks for it ({@link debugNative}). Both are
 * Node-API addons, so one binary serves every Node version: a local build (`build/Release/vkmem.node`,
 * `vkmem_debug.node`) or the package's prebuilt ones (`prebuilds/<platform>-<arch>/vkmem.napi.node`,
 * `vkmem_debug.napi.node`), found as {@link addonPaths} says.
 *
 * The hot calls (createBuffer, createImage, allocateMemory*, getAllocationInfo) do not take their
 * parameters as arguments: the caller writes them into {@link scratch} (a Float64Array over one
 * ArrayBuffer the addon keeps a pointer to, the same for every copy of this module: see scratchBuffer) and the addon
 * writes its results back into the same buffer.
 * The slot indices below mirror `native/addon.h` (namespace Scratch) and must change together with it.
 * Both builds share the one scratch buffer: JS is single-threaded, and every hot call reads its inputs and
 * writes its results within the call, so whichever addon is called owns the bytes for that call.
 * Each build has its own slot tables: an allocator, its pools and allocations all live in one build, and
 * call through the allocator's addon (`Allocator._native`), never through the module-level {@link native}.
 * Nothing here is part of the public API.
 * @module
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import {
  corruptionErrorFor,
  vkErrorFor,
  vmaAssertionErrorFor,
  type AllocationDescription,
  type VulkanUnavailableError,
} from "./errors.js";
import { loaderMissingError } from "./vulkan/availability.js";
import { packageRoot } from "./package-root.js";

/** Scratch slot indices, in 8-byte units (see native/addon.h). */
export const enum Slot {
  In0 = 0,
  AllocFlags = 16,
  AllocUsage = 17,
  AllocRequired = 18,
  AllocPreferred = 19,
  AllocTypeBits = 20,
  AllocPool = 21,
  AllocPriority = 22,
  AllocMinAlignment = 23,
  OutResource = 32,
  OutMemory = 33,
  OutAllocation = 34,
  OutMemoryType = 35,
  OutOffset = 36,
  OutSize = 37,
  OutMapped = 38,
  OutUserData = 39,
  OutBlockSize = 40,
  OutDedicated = 41,
  // Virtual blocks (native/virtual_block.cpp): inputs 52..56, outputs 58..61.
  VbSize = 52,
  VbAlignment = 53,
  VbFlags = 54,
  VbUserData = 55,
  VbAllocation = 56,
  OutVbAllocation = 58,
  OutVbOffset = 59,
  OutVbSize = 60,
  OutVbUserData = 61,
}

/** Statistics kept up to date by VMA, as VmaStatistics (vmaGetPoolStatistics). */
export interface NativeStatistics {
  blockCount: number;
  allocationCount: number;
  blockBytes: number;
  allocationBytes: number;
}

/** Detailed statistics of a set of blocks and allocations, as VMA's VmaDetailedStatistics. */
export interface NativeDetailedStatistics extends NativeStatistics {
  unusedRangeCount: number;
  allocationSizeMin: number;
  allocationSizeMax: number;
  unusedRangeSizeMin: number;
  unusedRangeSizeMax: number;
}

/** One heap's budget, as VMA's VmaBudget. */
export interface NativeHeapBudget extends NativeStatistics {
  usage: number;
  budget: number;
}

/** One allocation the native side freed when its allocator was destroyed. */
export interface NativeLeak extends AllocationDescription {
  handle: number;
}

/** Memory heaps and types, and the device limits VMA cares about. */
export interface NativeMemoryProperties {
  heaps: { size: number; flags: number }[];
  types: { propertyFlags: number; heapIndex: number }[];
  deviceName: string;
  deviceType: number;
  apiVersion: number;
  vendorID: number;
  deviceID: number;
  nonCoherentAtomSize: number;
  bufferImageGranularity: number;
  maxMemoryAllocationCount: number;
}

/** Statistics of one virtual block: VmaStatistics, VmaDetailedStatistics' fields when detailed, and buddy waste. */
export interface NativeVirtualBlockStatistics {
  blockCount: number;
  allocationCount: number;
  blockBytes: number;
  allocationBytes: number;
  unusedRangeCount?: number;
  allocationSizeMin?: number;
  allocationSizeMax?: number;
  unusedRangeSizeMin?: number;
  unusedRangeSizeMax?: number;
  internalWasteBytes: number;
}

/** One virtual allocation still alive when its block was destroyed. */
export interface NativeVirtualLeak {
  handle: number;
  offset: number;
  size: number;
  userData: number;
}

/** What native `version()` says about the VMA it was built with, and which build it is. */
/** VMA's VmaDefragmentationStats, and whether an open pass was ended with its moves ignored. */
export interface NativeDefragmentationStats {
  bytesMoved: number;
  bytesFreed: number;
  allocationsMoved: number;
  deviceMemoryBlocksFreed: number;
  abandonedPass: boolean;
}

export interface NativeVersion {
  vma: number | null;
  vmaVulkanVersion: number;
  headerVulkanVersion: number;
  /** True for build/Release/vkmem_debug.node (VKMEM_DEBUG_BUILD). */
  debugBuild: boolean;
  /** Whether this is the oracles build (virtual blocks exported: tests and benches only). */
  oracles: boolean;
  /** VMA_DEBUG_MARGIN: bytes kept free after every allocation in a block (0 in the normal build). */
  debugMargin: number;
  /** VMA_DEBUG_DETECT_CORRUPTION with a margin: magic numbers in the margins, checked on free and on request. */
  detectCorruption: boolean;
  /** VMA_DEBUG_INITIALIZE_ALLOCATIONS: 0xDC on create, 0xEF on free. */
  initializeAllocations: boolean;
}

/** The arguments of a copy by the upload workers (native/upload_workers.cpp): pool id, then destination and source. */
type UploadWorkersCopy = (
  id: number,
  dst: ArrayBufferView,
  dstOffset: number,
  src: ArrayBufferView,
  srcOffset: number,
  size: number,
) => void;

/** The addon's exports. Handles are Numbers; Vulkan handles cross as BigInt. */
export interface NativeAddon {
  /** Hands the addon its scratch; the first buffer ever handed is kept, and returned by every call. */
  setScratch(buffer: ArrayBuffer): ArrayBuffer;
  setErrorFactory(
    factory: typeof vkErrorFor,
    corruptionFactory?: typeof corruptionErrorFor,
    assertionFactory?: typeof vmaAssertionErrorFor,
  ): void;
  detach(buffer: ArrayBuffer): void;
  takeVmaMessages(): string[];
  version(): NativeVersion;
  createAllocator(
    instance: bigint,
    physicalDevice: bigint,
    device: bigint,
    apiVersion: number,
    flags: number,
    heapSizeLimits: number[] | undefined,
    preferredLargeHeapBlockSize: number,
  ): number;
  destroyAllocator(allocator: number): { leaks: NativeLeak[]; messages: string[] };
  liveAllocationCount(allocator: number): number;
  /** The live allocation (its allocator's handle, its name) whose buffer or image has this value, or null. */
  findResource(value: bigint): { allocator: number; name: string | null } | null;
  getMemoryProperties(allocator: number): NativeMemoryProperties;
  getHeapBudgets(allocator: number): NativeHeapBudget[];
  calculateStatistics(allocator: number): {
    total: NativeDetailedStatistics;
    memoryHeap: NativeDetailedStatistics[];
    memoryType: NativeDetailedStatistics[];
  };
  buildStatsString(allocator: number, detailed: boolean): string;
  setCurrentFrameIndex(allocator: number, frameIndex: number): void;
  findMemoryTypeIndex(allocator: number): number;
  findMemoryTypeIndexForBufferInfo(allocator: number): number;
  findMemoryTypeIndexForImageInfo(allocator: number): number;
  createPool(
    allocator: number,
    memoryTypeIndex: number,
    flags: number,
    blockSize: number,
    minBlockCount: number,
    maxBlockCount: number,
    priority: number,
    minAllocationAlignment: number,
  ): number;
  destroyPool(pool: number): { leaks: NativeLeak[]; messages: string[] };
  getPoolStatistics(pool: number): NativeStatistics;
  calculatePoolStatistics(pool: number): NativeDetailedStatistics;
  setPoolName(pool: number, name: string | null): void;
  getPoolName(pool: number): string | null;
  // Defragmentation (native/defragmentation.cpp): VMA 3's pass API over the slot tables.
  /** Context handle, or the negative VkResult of vmaBeginDefragmentation. `pool` 0: the default pools. */
  beginDefragmentation(
    allocator: number,
    pool: number,
    algorithmFlags: number,
    maxBytesPerPass: number,
    maxAllocationsPerPass: number,
    maxPlanningMicroseconds: number,
  ): number;
  /** null: nothing left to move (no pass open); else [source, destination] allocation handles per move. */
  beginDefragmentationPass(context: number, maxPlanningMicroseconds?: number): Float64Array | null;
  setDefragmentationMoveOperation(context: number, move: number, operation: 0 | 1 | 2): void;
  /** The replacement buffer (image) from the scratch description, bound at the destination; kOutResource. */
  createDefragmentationMoveResource(context: number, move: number, image: boolean): number;
  /** Two transfer buffers over the move's source and destination bytes (the pass keeps them): a VkResult. */
  createDefragmentationCopyBuffers(context: number, move: number): number;
  /** Per move 1 when its bytes go through transfer buffers over whole memory blocks (made now), else 0. */
  createDefragmentationBlockCopies(context: number): Float64Array;
  /**
   * Records the open pass's copies into `cmd` (barriers, vkCmdCopyBuffer per pair of transfer buffers,
   * vkCmdCopyImage per image row): `rows` rows of `table`, 6 numbers each (move index; for an image its subresource
   * range: base mip, mip count, base layer, layer count; and the layout it is in). Checked against the pass.
   */
  recordDefragmentationCopies(context: number, cmd: bigint, table: Float64Array, rows: number): void;
  /** A view of the whole of a move's replacement image (the caller destroys it); VkResult, the view in kOutResource. */
  createDefragmentationView(context: number, moveIndex: number, viewType: number, aspect: number): number;
  /**
   * A view of mips [baseMip, baseMip + levelCount) (default: all) of every layer of the image vkmem created with
   * `allocation` (the caller destroys it); VkResult, the view in kOutResource. RangeError for an allocation, view
   * type, aspect or mip range that does not suit the image (native/allocation.cpp).
   */
  createImageView(allocation: number, viewType: number, aspect: number, baseMip?: number, levelCount?: number): number;
  /**
   * Destroys the view whose handle is the first 8 bytes of `view` (a view createImageView made, on the allocator's
   * device, used by no pending work: the caller's to know, as for freeResources' views). TypeError / RangeError for
   * anything but an ArrayBuffer of 8 bytes or more, or a dead allocator.
   */
  destroyImageView(allocator: number, view: ArrayBuffer): void;
  /** True when nothing more can be moved. */
  endDefragmentationPass(context: number): boolean;
  endDefragmentation(context: number): NativeDefragmentationStats;
  /** vmaCreateBuffer from the scratch; a string `name` becomes the allocation's name. */
  createBuffer(allocator: number, name?: string): number;
  createImage(allocator: number, name?: string): number;
  allocateMemory(allocator: number): number;
  allocateMemoryForBuffer(allocator: number, buffer: bigint): number;
  allocateMemoryForImage(allocator: number, image: bigint): number;
  bindBufferMemory(allocation: number, buffer: bigint, offset: number): number;
  bindImageMemory(allocation: number, image: bigint, offset: number): number;
  freeAllocation(allocation: number): void;
  /**
   * Hands a recording allocator's trace buffer and shared state to its hot calls, which then encode their Allocate
   * and Free records themselves (native/trace_sink.h, engine/trace/writer.ts); `bytes` null takes them away.
   */
  setTraceSink(allocator: number, bytes: ArrayBuffer | null, state?: ArrayBuffer, traceAllocator?: number): void;
  /** The trace writers' clock of native records: a monotonic clock in whole microseconds. */
  traceClock(): number;
  /** Trace files written by a background thread each (native/trace_file.cpp; engine/trace/writer.ts NativeTraceFiles). */
  traceFileOpen(path: string): number;
  traceFileWrite(id: number, bytes: Uint8Array, length: number): void;
  traceFileSync(id: number): void;
  traceFileClose(id: number): void;
  getAllocationInfo(allocation: number): void;
  setAllocationName(allocation: number, name: string | null): void;
  getAllocationName(allocation: number): string | null;
  setAllocationUserData(allocation: number, value: number): void;
  getMemoryTypeProperties(allocation: number): number;
  map(allocation: number, wantView: boolean): ArrayBuffer | undefined;
  unmap(allocation: number): number;
  flush(allocation: number, offset: number, size: number): number;
  invalidate(allocation: number, offset: number, size: number): number;
  /** createBuffer / createImage through vmaCreateDedicatedBuffer / vmaCreateDedicatedImage (same scratch in and out). */
  createDedicatedResource(allocator: number, image: boolean): number;
  // Aliasing (native/aliasing.cpp). 0, a negative VkResult, or 1001 (memory type), 1002 (alignment), 1003 (size) with
  // the requirements in OutSize (size), OutOffset (alignment), OutMemoryType (memoryTypeBits).
  /** vmaCreateAliasingBuffer2 / Image2 of the scratch description at localOffset; the handle in OutResource. */
  createAliasingResource(allocation: number, image: boolean, localOffset: number): number;
  /** Binds the caller's buffer or image as an aliasing resource of the allocation (vmaBind*Memory2). */
  bindAlias(allocation: number, resource: bigint, image: boolean, localOffset: number): number;
  /** Destroys an aliasing resource of this allocator. */
  destroyAlias(allocator: number, resource: bigint): void;
  // Batches and host copies (native/pages.cpp).
  /** vmaAllocateMemoryPages: [handle, size, mapped] per allocation, or a negative VkResult (nothing allocated). */
  allocateMemoryPages(allocator: number, count: number): Float64Array | number;
  /** vmaFlushAllocations (flush) / vmaInvalidateAllocations over allocation-relative ranges. */
  flushAllocations(
    allocator: number,
    handles: Float64Array,
    offsets: Float64Array,
    sizes: Float64Array,
    flush: boolean,
  ): number;
  copyMemoryToAllocation(allocation: number, src: ArrayBufferView, offset: number): number;
  copyAllocationToMemory(allocation: number, offset: number, dst: ArrayBufferView): number;
  // Corruption detection (native/corruption.cpp). The VkResult of vmaCheckCorruption / vmaCheckPoolCorruption.
  checkCorruption(allocator: number, memoryTypeBits: number): number;
  checkPoolCorruption(pool: number): number;
  /** Live allocations (of `pool` unless 0) in those memory types whose margin lost its magic number. */
  corruptedAllocations(allocator: number, memoryTypeBits: number, pool: number): NativeLeak[];
  /** Debug build only: writes a byte at the allocation's offset + relativeOffset in its block. */
  debugPoke?(allocation: number, relativeOffset: number, value: number): void;
  /** Debug build only: reads the byte at the allocation's offset + relativeOffset in its block. */
  debugPeek?(allocation: number, relativeOffset: number): number;
  // Buddy pools (native/buddy_pool.cpp).
  /** An ArrayBuffer over bytes [offset, offset + size) of a mapped allocation. */
  mappedRange(allocation: number, offset: number, size: number): ArrayBuffer;
  /** Buddy pools: a buffer/image from the scratch inputs, unbound; raw handle + requirements in the outputs. */
  createUnbound(allocator: number, image: boolean): number;
  /** Buddy pools: binds a createUnbound resource at localOffset inside an allocation. */
  bindAt(allocation: number, resource: bigint, localOffset: number): number;
  /** Buddy pools: destroys a createUnbound resource. */
  destroyUnbound(allocator: number, resource: bigint): void;
  /**
   * Records copies [first, end) of `table` (5 numbers per copy: source allocation, destination allocation,
   * srcOffset, dstOffset, size) into `cmd`, one vkCmdCopyBuffer per run of one source and destination
   * (native/copy_commands.cpp). Returns the index of the first copy not recorded (a buffer that is not one vkmem
   * created: the caller records it itself), `end` when all were.
   */
  cmdCopyBuffers(cmd: bigint, table: Float64Array, first: number, end: number, regroup?: boolean): number;
  /**
   * Records image copies [first, end) of `table` (9 numbers each: source and destination allocation handles,
   * srcOffset, mip, layer, x, y, width, height) into `cmd`, one vkCmdCopyBufferToImage per run of one buffer and
   * image; returns the first copy not recorded (its handles do not pass: the caller records it through nvk).
   * RangeError for a copy outside its buffer or image (native/copy_commands.cpp).
   */
  cmdCopyBufferToImages(cmd: bigint, table: Float64Array, first: number, end: number): number;
  /**
   * Makes the allocator's scatter pipeline from `spirv` (shaders/scatter-copy.comp), once; false when the device
   * lacks a function it needs (vkGetBufferDeviceAddress). VkError when Vulkan refuses (native/scatter_copy.cpp).
   */
  createScatterPipeline(allocator: number, spirv: Uint8Array): boolean;
  /**
   * Records copies [first, end) of `table` (as cmdCopyBuffers) as one compute dispatch, their rows written into the
   * mapped buffer of allocation `tableBuffer` from `tableOffset`, up to the first copy that cannot be scattered
   * (buffers without device addresses, an offset or size not a multiple of 4, over 64 KiB); returns its index.
   * RangeError for a copy outside its buffers or a table that does not fit (native/scatter_copy.cpp).
   */
  cmdScatterCopies(
    cmd: bigint,
    table: Float64Array,
    first: number,
    end: number,
    tableBuffer: number,
    tableOffset: number,
  ): number;
  /**
   * Records one vkCmdPipelineBarrier into `cmd` (of the allocator's device): a global memory barrier when `memory`,
   * and image barriers [first, end) of `table` (9 numbers each: image allocation handle, mip, layer, old and new
   * layout, src and dst access, src and dst family); returns the first not recorded (its handle does not pass: the
   * caller records it through nvk). RangeError for a barrier that does not suit its image (native/copy_commands.cpp).
   */
  cmdPipelineBarrier(
    allocator: number,
    cmd: bigint,
    srcStage: number,
    dstStage: number,
    memory: boolean,
    memorySrcAccess: number,
    memoryDstAccess: number,
    table: Float64Array,
    first: number,
    end: number,
  ): number;
  /**
   * Records one vkCmdPipelineBarrier into `cmd` (of the allocator's device) with a whole-buffer barrier for each
   * buffer [first, end) of `handles` (allocation handles), all with these stages, access masks and families; returns
   * the first not recorded (its handle does not pass: the caller records it through nvk). RangeError for flags or
   * families that do not suit the device (native/copy_commands.cpp).
   */
  cmdBufferBarriers(
    allocator: number,
    cmd: bigint,
    srcStage: number,
    dstStage: number,
    srcAccess: number,
    dstAccess: number,
    srcFamily: number,
    dstFamily: number,
    handles: Float64Array,
    first: number,
    end: number,
  ): number;
  /**
   * A FrameManager's per-frame Vulkan calls on `allocator`'s device (native/frame_commands.cpp), with raw handles of
   * objects it made: 0 or the failed call's VkResult, the second call's less 2^32 (frame-slots.ts: checkPair).
   * Begin resets `pool` first unless it is 0n; submit resets and signals `fence` unless it is 0n.
   */
  frameFenceStatus(allocator: number, fence: bigint): number;
  frameBeginCommands(allocator: number, pool: bigint, cmd: bigint): number;
  frameEndCommands(allocator: number, cmd: bigint): number;
  frameSubmit(
    allocator: number,
    queue: bigint,
    fence: bigint,
    first: bigint,
    second: bigint,
    waits: BigUint64Array | null,
    stages: Uint32Array | null,
    signals: BigUint64Array | null,
  ): number;
  /** Waits for every fence of `fences` (at least one), then resets them when `reset`: 0, or as frameSubmit. */
  frameWaitFences(allocator: number, fences: BigUint64Array, reset: boolean): number;
  frameResetPool(allocator: number, pool: bigint): number;
  /**
   * [queued, done]: device-memory frees and buffer / image destroys the background thread has queued and not yet
   * done, and has done since the process started (native/deferred_free.cpp; the ends of defragmentation passes queue
   * theirs).
   */
  deferredFrees(): [number, number];
  // Upload workers (native/upload_workers.cpp).
  /** Starts `threads - 1` copy threads (the caller is the last); returns the pool's id. */
  createUploadWorkers(threads: number): number;
  /** Copies `size` bytes from `src` at `srcOffset` to `dst` at `dstOffset` with every thread; returns when done. */
  uploadWorkersCopy: UploadWorkersCopy;
  /** The same copy begun on the workers alone; returns at once (a copy too small to share is made now). */
  uploadWorkersStart: UploadWorkersCopy;
  /** The caller joins the copy begun last; returns when it is done (at once when none is running). */
  uploadWorkersFinish(id: number): void;
  /** Stops and joins the pool's threads (after the copy running, if any); an unknown id does nothing. */
  destroyUploadWorkers(id: number): void;
  /** Threads copying (workers + the caller) of a live pool, else 0. */
  uploadWorkerThreads(id: number): number;
  // Batches (native/batch.cpp): the batch ArrayBuffer's layout is engine/memory/buffer-batch.ts's.
  /**
   * VkResult; on failure nothing is kept and kOutAllocation holds the index of the buffer that failed. Writes the
   * handles and VkBuffers; the rest of the results too when `fill` (else {@link fillBufferBatch} does).
   */
  createBuffers(allocator: number, batch: ArrayBuffer, count: number, name: string | null, fill: boolean): number;
  destroyBuffers(allocator: number, batch: ArrayBuffer, count: number): void;
  /** Writes the allocation info of every buffer of a live batch into its results (offsets, sizes, types, memory). */
  fillBufferBatch(allocator: number, batch: ArrayBuffer, count: number): void;
  /**
   * Frees entries [first, end) in order (each an allocation handle, with a texture's view bytes or null), zeroing the
   * handle of each freed; returns the index of the first not freed (end when all were). engine/resources/release-batch.ts.
   */
  freeResources(
    allocator: number,
    handles: Float64Array,
    views: readonly (object | null)[],
    first: number,
    end: number,
  ): number;
  /** Turns the native call timer on or off (benchmarks: the time spent inside VMA and Vulkan). */
  setNativeTiming(on: boolean): void;
  /** Nanoseconds the timed native calls took since the last take. */
  takeNativeTime(): number;
}

/**
 * The oracles build (`vkmem_oracles.node`, binding.gyp): everything of {@link NativeAddon} plus the C++ cross-check
 * oracles the tests and benches compare the TypeScript allocators with: VMA's virtual blocks (TLSF, linear) and
 * vkmem's C++ buddy allocator, behind native/virtual_block.cpp. Never shipped; loaded by {@link oracleNative}.
 */
export interface NativeOracles extends NativeAddon {
  // Virtual blocks (native/virtual_block.cpp). Hot calls take the block and use the Vb* scratch slots.
  createVirtualBlock(size: number, algorithm: number, minNodeSize: number): number;
  destroyVirtualBlock(block: number): { leaks: NativeVirtualLeak[]; messages: string[] };
  clearVirtualBlock(block: number): number;
  virtualBlockAllocationCount(block: number): number;
  /** Returns the offset, or -1 when the block has no room. */
  virtualAllocate(block: number): number;
  virtualFree(block: number): void;
  virtualAllocationInfo(block: number): void;
  setVirtualAllocationUserData(block: number, allocation: number, value: number): void;
  virtualBlockStatistics(block: number, detailed: boolean): NativeVirtualBlockStatistics;
  buildVirtualBlockStatsString(block: number, detailed: boolean): string;
  /**
   * `count` times vmaCreateImage (2D, optimal, usage AUTO) + vkCreateImageView + destroys on the allocator, in C++;
   * returns ns per iteration (native/image_bench.cpp).
   */
  createImagesLoop(
    allocator: number,
    width: number,
    height: number,
    mipLevels: number,
    format: number,
    usage: number,
    count: number,
  ): number;
  /**
   * bench/allocator's C++ loop in this process: vmaCreateBuffer + vmaDestroyBuffer pairs (or `batch` creations, then
   * their destructions); returns nanoseconds.
   */
  benchBufferPairs(allocator: number, iterations: number, usage: number, memoryUsage: number, batch?: number): number;
  /**
   * Fault injection for the tests (native/deferred_free.cpp): `hold` keeps the background freer from taking its queue
   * until something waits for it; the next `refusals` allocations of device memory are refused as a full device
   * would. Returns the allocations retried after waiting for queued frees, since the process started.
   */
  deferredFreeFaults(hold: boolean, refusals: number): number;
  /**
   * Fault injection for the tests (native/trace_file.cpp): while `hold`, the trace file's thread writes nothing until
   * something waits for it (a sync, the close, the end of the environment).
   */
  traceFileHold(id: number, hold: boolean): void;
}

export { packageRoot } from "./package-root.js";

/** The prebuilt addons' folder for this platform and architecture, as node-gyp-build (prebuildify) lays it out. */
export function prebuildDir(root: string = packageRoot()): string {
  return join(root, "prebuilds", `${process.platform}-${process.arch}`);
}

/**
 * Where the two addons are, as [normal, debug] paths.
 *
 * The normal addon is found by node-gyp-build, whose order is: a local build (`build/Release/*.node`, which exists
 * in the repository and after a build from source), then `prebuilds/<platform>-<arch>/` (what the package ships:
 * `vkmem.napi.node`), then the same beside the Node executable. node-gyp-build cannot tell two addons in one folder
 * apart (it ignores names), so the debug addon is taken from where the normal one was found, by name
 * (`vkmem_debug.node` beside `vkmem.node`, `vkmem_debug.napi.node` beside `vkmem.napi.node`): the two are always
 * one build of one source. `VKMEM_ADDON` and `VKMEM_DEBUG_ADDON` name a file directly; `VKMEM_ADDON_DIR` names a
 * folder holding `vkmem.node` and `vkmem_debug.node`.
 * @throws Error when no addon is there, naming the places looked at and how to get one.
 */
export function addonPaths(root: string = packageRoot()): [normal: string, debug: string] {
  let normal = process.env.VKMEM_ADDON;
  // $VKMEM_ADDON_DIR: a folder holding both builds by their build names, e.g. the sanitized ones of
  // `npm run test:asan` (build/asan/...).
  if (normal === undefined && process.env.VKMEM_ADDON_DIR) normal = join(process.env.VKMEM_ADDON_DIR, "vkmem.node");
  if (normal === undefined) {
    try {
      normal = (createRequire(import.meta.url)("node-gyp-build") as { resolve(dir: string): string }).resolve(root);
    } catch (e) {
      throw new Error(
        `vkmem: no native addon for ${process.platform}-${process.arch} (looked in ${join(root, "build", "Release")} and ` +
          `${prebuildDir(root)}): this package has no prebuilt addon for this platform; build it with ` +
          `'npm rebuild vkmem' (needs a C++ compiler, make, python3 and the VMA header)\n  ${(e as Error).message.split("\n")[0]}`,
      );
    }
  }
  const base = basename(normal);
  // node-gyp-build takes the first *.node of a folder; in a folder of both addons that must be the normal one.
  if (base.includes("_debug"))
    throw new Error(`vkmem: the addon found is the debug build (${normal}); expected vkmem.node beside it`);
  const debug = process.env.VKMEM_DEBUG_ADDON ?? join(dirname(normal), base.replace(/^vkmem/, "vkmem_debug"));
  return [normal, debug];
}

function load(file: string): NativeAddon {
  if (!existsSync(file)) {
    throw new Error(
      `vkmem: the native addon ${file} is missing; run 'npm run setup' (in the repository) or 'npm rebuild vkmem'`,
    );
  }
  const addon = withFastProperties(createRequire(import.meta.url)(file) as NativeAddon);
  addon.setErrorFactory(vkErrorFor, corruptionErrorFor, vmaAssertionErrorFor);
  return addon;
}

/**
 * The addon's exports, copied into an object V8 keeps in fast mode. The exports object, about ninety functions
 * defined on it one by one, is a dictionary in V8, so that each load of a member from it was a hash lookup (about
 * 5 ns, against 0.3 for a field) on every call, unless the caller kept the function aside (VmaMemory did, for its
 * three hottest, until this copy made that needless). The copy Object.fromEntries makes is laid out as an object
 * literal is. The functions never read `this`
 * (node-addon-api's Addon methods find their instance through the environment, the hot functions and the plain ones
 * through their data pointer), so they work from the copy. A loop of the addon's createBuffer + freeAllocation,
 * looked up per call as bench allocator's native floor does, took 331 against 342 ns a pair on the two-core machine
 * (medians of five alternated runs).
 */
function withFastProperties<T extends object>(exports: T): T {
  return Object.fromEntries(
    Reflect.ownKeys(exports).map((key) => [key, (exports as Record<PropertyKey, unknown>)[key]]),
  ) as T;
}

let loadFailure: VulkanUnavailableError | null = null;

/**
 * The normal addon; where the Vulkan loader library is missing (the addon links it), an object whose every member
 * throws that {@link VulkanUnavailableError}, so that importing vkmem works and `createContext` says what to install.
 */
function loadNormal(): NativeAddon {
  const file = addonPaths()[0];
  try {
    return load(file);
  } catch (e) {
    const readable = loaderMissingError(e, `the vkmem addon (${file})`);
    if (readable === null) throw e;
    loadFailure = readable;
    return new Proxy({} as NativeAddon, {
      get(_target, key) {
        if (key === "then" || typeof key === "symbol") return undefined;
        throw readable;
      },
    });
  }
}

/** The normal addon, loaded on first import. */
export const native: NativeAddon = loadNormal();

/** Why the addon could not be loaded (the Vulkan loader library is missing), or `null` when it is loaded. */
export function nativeUnavailable(): VulkanUnavailableError | null {
  return loadFailure;
}

let debugAddon: NativeAddon | null = null;

/**
 * The debug build (`vkmem_debug.node` or `vkmem_debug.napi.node` beside the normal addon, or $VKMEM_DEBUG_ADDON),
 * loaded on first use and handed the same scratch buffer and error factories as {@link native}.
 * @throws Error when it is not built, or is not a debug build.
 */
export function debugNative(): NativeAddon {
  if (debugAddon !== null) return debugAddon;
  const addon = load(addonPaths()[1]);
  if (!addon.version().debugBuild) throw new Error("vkmem: the debug addon was built without VKMEM_DEBUG_BUILD");
  shareScratch(addon);
  debugAddon = addon;
  return addon;
}

let oracleAddon: NativeOracles | null = null;

/**
 * The oracles build, for the repository's tests and benches: `$VKMEM_ORACLES_ADDON`, else `vkmem_oracles.node`
 * beside the normal addon (build/Release/, or $VKMEM_ADDON_DIR's), else the repository's build/Release/. Loaded on
 * first use and handed the same scratch buffer and error factories as {@link native}; its slot tables are its own.
 * @throws Error when it is not built (the package never has it: `npm run setup` in the repository builds it).
 */
export function oracleNative(): NativeOracles {
  if (oracleAddon !== null) return oracleAddon;
  const normal = addonPaths()[0];
  const candidates = [
    process.env.VKMEM_ORACLES_ADDON,
    join(dirname(normal), "vkmem_oracles.node"),
    join(packageRoot(), "build", "Release", "vkmem_oracles.node"),
  ];
  const file = candidates.find((f): f is string => f !== undefined && existsSync(f));
  if (file === undefined) {
    throw new Error(
      `vkmem: the test oracles addon (vkmem_oracles.node) is not built (looked at ${candidates.filter(Boolean).join(", ")}); run 'npm run setup' in the repository`,
    );
  }
  const addon = load(file) as NativeOracles;
  if (!addon.version().oracles) throw new Error(`vkmem: ${file} was built without VKMEM_ORACLES`);
  shareScratch(addon);
  oracleAddon = addon;
  return addon;
}

let allocatorAddonOverride: NativeAddon | null = null;

/**
 * @internal For benchmarks: the addon build that allocators made from now on (without debug options) live in, e.g.
 * {@link oracleNative}, whose in-process C++ loops then run on the very allocator the TypeScript loop uses; null
 * goes back to {@link native}.
 */
export function setAllocatorAddon(addon: NativeAddon | null): void {
  allocatorAddonOverride = addon;
}

/** @internal The addon build a new allocator without debug options lives in (see {@link setAllocatorAddon}). */
export function allocatorAddon(): NativeAddon {
  return allocatorAddonOverride ?? native;
}

/**
 * The one scratch of every build. Node loads each addon once per environment, while this module may be evaluated more
 * than once there (a test runner resetting its module registry, a bundle carrying the package twice): the addon
 * keeps the first buffer it was handed and returns it, so every copy of this module writes and reads the bytes the
 * addon reads and writes. (With a buffer of its own, a second copy made the first one's calls read stale results.)
 */
const scratchBuffer = loadFailure === null ? native.setScratch(new ArrayBuffer(64 * 8)) : new ArrayBuffer(64 * 8);

/** Gives a later-loaded build (debug, oracles) the same scratch as {@link native}. */
function shareScratch(addon: NativeAddon): void {
  if (addon.setScratch(scratchBuffer) !== scratchBuffer) {
    throw new Error("vkmem: an addon build already uses another scratch buffer than the normal build's");
  }
}

/** Numbers in and out of the hot calls. */
export const scratch = new Float64Array(scratchBuffer);
/** The same bytes as 64-bit unsigned integers, for Vulkan handles. */
export const scratchU64 = new BigUint64Array(scratchBuffer);
/** The same bytes as 32-bit halves, to move a handle without making a BigInt. */
export const scratchU32 = new Uint32Array(scratchBuffer);
