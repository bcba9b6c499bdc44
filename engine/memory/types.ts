/**
 * The plain records of the allocator family that many of its modules share: resource descriptions (BufferInfo,
 * ImageInfo, MemoryRequirements), statistics and budgets, the device's heaps and types, leak reports, the
 * allocation strategy names. Data only: no class, no function, and no import of any other module of
 * engine/memory (only the native records' types), so that any module may import it without making a cycle.
 * @module
 */
import type { NativeDetailedStatistics, NativeHeapBudget } from "../native.js";

/** One allocation that was still alive when its allocator was destroyed. */
export interface LeakReport {
  name: string | null;
  size: number;
  memoryType: number;
  kind: "buffer" | "image" | "memory";
  /** The custom pool it was in (its name, "" when unnamed); absent for the default pools. */
  pool?: string;
  /** The creation stack, when the allocator was made with `captureStacks`. */
  stack?: string;
}

/** VkBufferCreateInfo, the parts an allocator needs. */
export interface BufferInfo {
  /** Size in bytes, a positive integer. */
  size: number;
  /** VkBufferUsageFlags, not 0. */
  usage: number;
  /** VkBufferCreateFlags (default 0). */
  flags?: number;
  /** VkSharingMode: only 0, exclusive (the default); share between queues with ownership transfers. */
  sharingMode?: number;
}

/** VkImageCreateInfo, the parts an allocator needs. */
export interface ImageInfo {
  /** VkImageType (default 1: VK_IMAGE_TYPE_2D). */
  imageType?: number;
  /** VkFormat. */
  format: number;
  /** Extent in texels; depth defaults to 1. */
  extent: { width: number; height: number; depth?: number };
  /** Default 1. */
  mipLevels?: number;
  /** Default 1. */
  arrayLayers?: number;
  /** VkSampleCountFlagBits (default 1). */
  samples?: number;
  /** VkImageTiling: 0 optimal (default), 1 linear. */
  tiling?: number;
  /** VkImageUsageFlags, not 0. */
  usage: number;
  /** VkImageCreateFlags (default 0). */
  flags?: number;
  /** VkImageLayout: 0 undefined (default) or 8 preinitialized. */
  initialLayout?: number;
  /** VkSharingMode: only 0, exclusive (the default). */
  sharingMode?: number;
}

/** VkMemoryRequirements for {@link Allocator.allocateMemory}. */
export interface MemoryRequirements {
  size: number;
  alignment: number;
  memoryTypeBits: number;
}

/** Statistics, as VMA's VmaDetailedStatistics. Minimums of empty sets are Infinity. */
export type DetailedStatistics = NativeDetailedStatistics;

/** VMA's VmaTotalStatistics: totals, per heap and per memory type. */
export interface TotalStatistics {
  total: DetailedStatistics;
  memoryHeap: DetailedStatistics[];
  memoryType: DetailedStatistics[];
}

/** One heap's budget (VmaBudget): usage and budget from VK_EXT_memory_budget, or VMA's estimate. */
export type HeapBudget = NativeHeapBudget;

/** A memory heap. */
export interface MemoryHeap {
  size: number;
  flags: number;
}
/** A memory type. */
export interface MemoryType {
  propertyFlags: number;
  heapIndex: number;
}

/** Allocation strategy (VMA's STRATEGY_* flags). */
export type AllocationStrategy = "minMemory" | "minTime" | "minOffset";
