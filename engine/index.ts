/**
 * vkmem: GPU memory for Node.js games on Vulkan. The public surface: re-exports only.
 * @module
 */
export * from "./errors.js";
export { createContext, Context } from "./vulkan/context.js";
export type {
  ContextOptions,
  ValidationMessage,
  ValidationSeverity,
  DeviceType,
  DeviceLimits,
  MemoryProperties,
  ContextFeatures,
} from "./vulkan/context.js";
export type { NativeStatistics, NativeDetailedStatistics, NativeHeapBudget } from "./native.js";
export { isNvkHandle, rawHandle, wrapHandle } from "./vulkan/handles.js";
export type { NvkHandle, NvkHandleClass } from "./vulkan/handles.js";
export { nvk } from "./vulkan/nvk.js";
export * from "./vulkan/constants.js";
export { createAllocator, Allocator } from "./memory/allocator.js";
export { BufferBatch, MAX_BATCH } from "./memory/buffer-batch.js";
export type {
  AllocatorDevice,
  AllocatorOptions,
  BufferInfo,
  ImageInfo,
  MemoryRequirements,
  CreatedBuffer,
  CreatedImage,
  DetailedStatistics,
  TotalStatistics,
  HeapBudget,
  MemoryHeap,
  MemoryType,
  LeakReport,
} from "./memory/allocator.js";
export { Pool } from "./memory/pool.js";
export { DefragmentationContext, DefragmentationMove } from "./memory/defragmentation.js";
export type {
  DefragmentationAlgorithm,
  DefragmentationMoveOperation,
  DefragmentationOptions,
  DefragmentationStats,
} from "./memory/defragmentation.js";
export type { DefragmentationQueue, DefragmentOptions, MovedAllocation } from "./memory/defragment.js";
export type { PoolAlgorithm, PoolOptions, PoolStatistics, PoolTarget } from "./memory/pool.js";
export { BuddyPool, BuddyAllocation } from "./memory/buddy-pool.js";
export type { BuddyPoolStatistics, BuddyPoolDetailedStatistics } from "./memory/buddy-pool.js";
export { DEBUG_BUILD_MARGIN } from "./memory/corruption.js";
export type { CorruptionReport, DebugOptions, DebugSettings } from "./memory/corruption.js";
export { Allocation, AllocationInfo } from "./memory/allocation.js";
export { AliasingResource, AliasingBuffer, AliasingImage } from "./memory/aliasing.js";
export { MAX_PAGES } from "./memory/allocation-batch.js";
export type { ByteList } from "./memory/allocation-batch.js";
export type { LostAllocationStatistics, AllocatorLostStatistics } from "./memory/lost-allocations.js";
export type { AllocationKind, MappedRange } from "./memory/allocation.js";
export {
  MemoryUsage,
  AllocationCreateFlags,
  MemoryPropertyFlags,
  MemoryHeapFlags,
  memoryPropertyNames,
  memoryHeapNames,
} from "./memory/usage.js";
export type { AllocationOptions, HostAccess, AllocationStrategy } from "./memory/usage.js";
export {
  createVirtualBlock,
  VirtualBlock,
  VirtualAllocation,
  VirtualAllocationCreateFlags,
} from "./memory/virtual-block.js";
export type {
  VirtualBlockAlgorithm,
  VirtualBlockOptions,
  VirtualAllocationOptions,
  VirtualAllocationInfo,
  VirtualLeakReport,
  VirtualBlockBasicStatistics,
  VirtualBlockStatistics,
} from "./memory/virtual-block.js";
export {
  parseStatsString,
  parseVirtualBlockStatsString,
  dumpKeyIndex,
  StatsDumpError,
  SUBALLOCATION_TYPES,
} from "./memory/dump.js";
export type {
  StatsDump,
  VirtualBlockDump,
  DumpStats,
  DumpGeneral,
  DumpFlags,
  DumpHeap,
  DumpMemoryType,
  DumpDefaultPool,
  DumpCustomPool,
  DumpBlock,
  DumpBlockDetails,
  DumpSuballocation,
  SuballocationType,
} from "./memory/dump.js";
export { formatStatistics } from "./memory/statistics.js";
export type { FormatStatisticsOptions } from "./memory/statistics.js";
export {
  renderDumpPicture,
  writeDumpPicture,
  encodeDumpPicturePng,
  allocationColor,
  DUMP_COLORS,
} from "./memory/dump-picture.js";
export type { DumpPicture, DumpPictureBar, DumpPictureOptions, Rgb } from "./memory/dump-picture.js";
export { ReleaseQueue } from "./resources/release-queue.js";
export type { ReleaseItem, ReleaseQueueStatistics } from "./resources/release-queue.js";
export { createFrameManager, FrameManager, TransientAllocation } from "./resources/frame-manager.js";
export type {
  Frame,
  FrameManagerOptions,
  LiveDefragmentationOptions,
  LiveDefragmentationStatus,
  EndFrameOptions,
  FrameStatistics,
  FrameManagerStatistics,
  BufferDescription,
  TextureDescription,
  TransientUsage,
} from "./resources/frame-manager.js";
export { Buffer } from "./resources/buffer.js";
export { Texture } from "./resources/texture.js";
export type { TransferStatistics } from "./resources/transfers.js";
export type { ImageRegion } from "./resources/image-region.js";
export { UploadRing } from "./resources/upload-ring.js";
export type {
  RingBlock,
  RingMemory,
  RingPolicy,
  UploadRingOptions,
  UploadRingStatistics,
} from "./resources/upload-ring.js";
export {
  formatInfo,
  knownFormats,
  regionBytes,
  mipExtent,
  ASPECT_COLOR,
  ASPECT_DEPTH,
  ASPECT_STENCIL,
} from "./vulkan/formats.js";
export type { FormatInfo } from "./vulkan/formats.js";
export { createTextureStreamer, TextureStreamer, StreamedTexture } from "./resources/streaming/index.js";
export type {
  MipData,
  MipLoader,
  StreamedTextureDescription,
  TextureStreamerOptions,
  TextureShow,
  TextureStreamerFrameStatistics,
  TextureStreamerStatistics,
} from "./resources/streaming/index.js";
// Traces: recording (createAllocator's `record` option writes one), reading and replaying them (engine/trace).
export { TraceWriter, type TraceWriterOptions } from "./trace/writer.js";
export { readTrace, type ReadTraceOptions, type Trace } from "./trace/reader.js";
export {
  FIELDS,
  KIND_NAMES,
  RecordKind,
  TraceFormatError,
  TRACE_MAJOR,
  TRACE_MINOR,
  type FieldType,
  type FieldValue,
  type Fields,
  type RecordOf,
  type TraceRecord,
} from "./trace/format.js";
export {
  replayTrace,
  type ReplayDifference,
  type ReplayFrame,
  type ReplayOptions,
  type ReplayProgress,
  type ReplayResult,
} from "./trace/replay.js";
// The live inspector (createAllocator's or createFrameManager's `inspector` option serves one).
export { Inspector, type InspectorOptions } from "./report/inspector.js";
