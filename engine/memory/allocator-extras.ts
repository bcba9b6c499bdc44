/**
 * The Allocator's calls from VMA 3's wider API that are delegations to a module of their own: aliasing (aliasing.ts),
 * dedicated creation (dedicated-creation.ts), memory pages, batch flush/invalidate and host copies
 * (allocation-batch.ts), and defragmentation (defragmentation.ts, defragment.ts).
 *
 * They are declared here, in {@link AllocatorExtras} (which the Allocator class merges, so they are its methods with
 * these docs), and installed on its prototype by allocator.ts; this keeps allocator.ts a facade of the calls that
 * need its private state. Imports: nothing above engine/memory; the allocator is `Allocation["allocator"]`.
 * @module
 */
import type { Allocation, MappedRange } from "./allocation.js";
import { createAliasing, destroyAliasing, type AliasingBuffer, type AliasingImage } from "./aliasing.js";
import * as batch from "./allocation-batch.js";
import type { ByteList } from "./allocation-batch.js";
import { createDedicated } from "./dedicated-creation.js";
import {
  beginDefragmentation,
  type DefragmentationContext,
  type DefragmentationOptions,
  type DefragmentationStats,
} from "./defragmentation.js";
import { defragment, type DefragmentationQueue, type DefragmentOptions } from "./defragment.js";
import type { CreatedBuffer, CreatedImage } from "./pool-backend.js";
import type { AllocationOptions } from "./usage.js";
import type { BufferInfo, ImageInfo, MemoryRequirements } from "./types.js";

/** The Allocator's methods declared in this module (see the module comment). */
export interface AllocatorExtras {
  /** A new buffer at `offset` in a `canAlias` allocation (vmaCreateAliasingBuffer2; aliasing.ts). @throws TypeError / RangeError / VkError */
  createAliasingBuffer(allocation: Allocation, bufferInfo: BufferInfo, offset?: number): AliasingBuffer;
  /** As {@link createAliasingBuffer}, for an image (vmaCreateAliasingImage2). @throws as createAliasingBuffer. */
  createAliasingImage(allocation: Allocation, imageInfo: ImageInfo, offset?: number): AliasingImage;
  /** Destroys an aliasing buffer; a second call is a no-op. @throws TypeError when it is not one of this allocator. */
  destroyAliasingBuffer(alias: AliasingBuffer): void;
  /** Destroys an aliasing image; a second call is a no-op. @throws TypeError when it is not one of this allocator. */
  destroyAliasingImage(alias: AliasingImage): void;
  /** A buffer with memory of its own by vmaCreateDedicatedBuffer (see dedicated-creation.ts). @throws as createBuffer. */
  createDedicatedBuffer(bufferInfo: BufferInfo, allocationOptions?: AllocationOptions): CreatedBuffer;
  /** As {@link createDedicatedBuffer}, for an image (vmaCreateDedicatedImage). @throws as createImage. */
  createDedicatedImage(imageInfo: ImageInfo, allocationOptions?: AllocationOptions): CreatedImage;
  /**
   * `count` allocations for the same requirements in one call (vmaAllocateMemoryPages): all of them, or none.
   * @throws TypeError / RangeError naming the argument; OutOfDeviceMemoryError / VkError (nothing left allocated).
   */
  allocateMemoryPages(
    requirements: MemoryRequirements,
    options: AllocationOptions | undefined,
    count: number,
  ): Allocation[];
  /** Frees many allocations (vmaFreeMemoryPages), all checked first. @throws TypeError / InvalidStateError, nothing freed. */
  freeMemoryPages(allocations: readonly Allocation[]): void;
  /** Flushes many allocation-relative ranges in one vmaFlushAllocations; see Allocation.flush. @throws TypeError / RangeError / VkError. */
  flushAllocations(allocations: readonly Allocation[], offsets?: ByteList, sizes?: ByteList): MappedRange[];
  /** Invalidates many ranges in one vmaInvalidateAllocations; see Allocation.invalidate. @throws as flushAllocations. */
  invalidateAllocations(allocations: readonly Allocation[], offsets?: ByteList, sizes?: ByteList): MappedRange[];
  /** Copies `src` into a host-visible allocation at `offset` (vmaCopyMemoryToAllocation). @throws TypeError / RangeError. */
  copyMemoryToAllocation(src: ArrayBufferView, allocation: Allocation, offset?: number): void;
  /** Copies `dst.byteLength` bytes at `offset` of a host-visible allocation into `dst` (vmaCopyAllocationToMemory). @throws TypeError / RangeError. */
  copyAllocationToMemory(allocation: Allocation, offset: number, dst: ArrayBufferView): void;
  /**
   * Begins a defragmentation (vmaBeginDefragmentation) of the default pools or of `options.pool`: plan and commit
   * its passes yourself (defragmentation.ts), or use {@link defragment}. Create the allocator with
   * `defragmentation: true` so that every move names its Allocation, or list yours in `options.allocations`.
   * @throws TypeError / RangeError naming a bad option; InvalidStateError when one is in progress or the pool is linear
   *   or buddy.
   */
  beginDefragmentation(options?: DefragmentationOptions): DefragmentationContext;
  /**
   * Defragments in one call (defragment.ts): every pass's buffers and images vkmem made are re-created at their new
   * place and copied on the GPU through `gpu` (a Context, or a queue and command pool), waited for; `onMove` tells
   * each moved allocation's owner to refresh descriptors. @returns the statistics.
   */
  defragment(gpu: DefragmentationQueue, options?: DefragmentOptions): DefragmentationStats;
}

type Self = Allocation["allocator"];

/** The implementations, installed on Allocator.prototype by allocator.ts. @internal */
export const allocatorExtras: AllocatorExtras & ThisType<Self> = {
  createAliasingBuffer(this: Self, allocation, bufferInfo, offset = 0) {
    return createAliasing(this, allocation, bufferInfo, offset, false) as AliasingBuffer;
  },
  createAliasingImage(this: Self, allocation, imageInfo, offset = 0) {
    return createAliasing(this, allocation, imageInfo, offset, true) as AliasingImage;
  },
  destroyAliasingBuffer(this: Self, alias) {
    destroyAliasing(this, alias, false);
  },
  destroyAliasingImage(this: Self, alias) {
    destroyAliasing(this, alias, true);
  },
  createDedicatedBuffer(this: Self, bufferInfo, allocationOptions) {
    return createDedicated(this, bufferInfo, allocationOptions, false) as CreatedBuffer;
  },
  createDedicatedImage(this: Self, imageInfo, allocationOptions) {
    return createDedicated(this, imageInfo, allocationOptions, true) as CreatedImage;
  },
  allocateMemoryPages(this: Self, requirements, options, count) {
    return batch.allocateMemoryPages(this, requirements, options, count);
  },
  freeMemoryPages(this: Self, allocations) {
    batch.freeMemoryPages(this, allocations);
  },
  flushAllocations(this: Self, allocations, offsets, sizes) {
    return batch.flushOrInvalidateAllocations(this, allocations, offsets, sizes, true);
  },
  invalidateAllocations(this: Self, allocations, offsets, sizes) {
    return batch.flushOrInvalidateAllocations(this, allocations, offsets, sizes, false);
  },
  copyMemoryToAllocation(this: Self, src, allocation, offset = 0) {
    batch.copyMemoryToAllocation(this, src, allocation, offset);
  },
  copyAllocationToMemory(this: Self, allocation, offset, dst) {
    batch.copyAllocationToMemory(this, allocation, offset, dst);
  },
  beginDefragmentation(this: Self, options) {
    return beginDefragmentation(this, options);
  },
  defragment(this: Self, gpu, options) {
    return defragment(this, gpu, options);
  },
};
