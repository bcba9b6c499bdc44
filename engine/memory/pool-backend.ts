/**
 * Where an allocation's memory comes from: one interface, as VMA's VmaBlockMetadata or gpu-allocator's
 * SubAllocator trait, so that the Allocator calls it and never asks which implementation it holds.
 *
 * The implementations:
 * - {@link MemorySource} by `VmaMemory` (./vma-memory.ts): VMA's own calls (vmaCreateBuffer, vmaAllocateMemory,
 *   vmaBind*Memory2, vmaFreeMemory ...). It serves the allocator's default pools and, through them, every VMA
 *   custom pool: a VmaPool travels in the encoded allocation options (the scratch's pool slot), so VMA's pools need
 *   no code of their own on the allocation path.
 * - {@link PoolBackend} by {@link Pool} (./pool.ts, one VmaPool: the allocation half delegates to its allocator's
 *   VmaMemory) and by {@link BuddyPool} (./buddy-pool.ts: vkmem's buddy over whole VMA blocks).
 *
 * The allocator picks the source once per call: `options.pool ?? <its VmaMemory>` to create, `allocation.pool ??
 * <its VmaMemory>` to bind and free. Division of work: the allocator checks every argument, encodes the resource
 * description (resource-descriptions.ts) and the allocation options (usage.ts) into the scratch before it calls a
 * source, keeps the process-wide handle registry and the lost-allocation lists; a source only creates, binds and
 * frees, and names its errors after the VMA or Vulkan call that failed. Members are underscored: they are the
 * package's, not its users'.
 * @module
 */
import type { NativeLeak, NativeStatistics } from "../native.js";
import type { Allocation, AllocationInfo } from "./allocation.js";
import type { AllocationOptions } from "./usage.js";
import type { BufferInfo, DetailedStatistics, ImageInfo, LeakReport, MemoryRequirements } from "./types.js";

/** Result of {@link Allocator.createBuffer}. */
export interface CreatedBuffer {
  /** nvk VkBuffer, bound to the allocation. */
  buffer: any;
  allocation: Allocation;
  allocationInfo: AllocationInfo;
}

/** Result of {@link Allocator.createImage}. */
export interface CreatedImage {
  /** nvk VkImage, bound to the allocation. */
  image: any;
  allocation: Allocation;
  allocationInfo: AllocationInfo;
}

/** The allocation half: one line of contract per member. Called by the Allocator only, after its checks. */
export interface MemorySource {
  /** Creates the buffer the scratch describes, allocates its memory and binds them; `flags` are the encoded VMA flags. */
  _createBuffer(info: BufferInfo, options: AllocationOptions | undefined, flags: number): CreatedBuffer;
  /** As {@link _createBuffer}, for the image the scratch describes. */
  _createImage(info: ImageInfo, options: AllocationOptions | undefined, flags: number): CreatedImage;
  /** Allocates unbound memory for checked requirements. */
  _allocateMemory(
    requirements: MemoryRequirements,
    options: AllocationOptions | undefined,
    flags: number,
    op: string,
  ): Allocation;
  /** Allocates unbound memory fitting the caller's buffer or image (`raw` its checked handle value). */
  _allocateMemoryFor(
    resource: object,
    raw: bigint,
    image: boolean,
    options: AllocationOptions | undefined,
    flags: number,
    op: string,
  ): Allocation;
  /** Binds the caller's buffer or image to an unbound allocation of this source at `localOffset` (checked). */
  _bind(allocation: Allocation, resource: object, raw: bigint, localOffset: number, image: boolean): void;
  /** Frees an allocation of this source, with the buffer or image it created with it; its object reads as freed. */
  _free(allocation: Allocation): void;
}

/** A custom pool: the allocation half, its statistics and its lifetime. */
export interface PoolBackend extends MemorySource {
  /** Blocks, allocations and their bytes; cheap. */
  getStatistics(): NativeStatistics;
  /** Detailed statistics, walking every block. */
  calculateStatistics(): DetailedStatistics;
  /** Destroys the pool, reporting and freeing what is still in it. */
  destroy(): LeakReport[];
  /**
   * Its allocator is being destroyed on behalf of `cause`: tears down now what must go while the allocator lives
   * and returns the leaks found, or null when the pool has nothing to tear down first (a VmaPool goes with VMA).
   */
  _destroyBeforeAllocator(cause: string): NativeLeak[] | null;
}
