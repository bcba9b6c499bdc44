/**
 * Dedicated creation: the allocator's createDedicatedBuffer / createDedicatedImage, through VMA 3.4's
 * vmaCreateDedicatedBuffer / vmaCreateDedicatedImage.
 *
 * What they are made of: createBuffer / createImage with VMA_ALLOCATION_CREATE_DEDICATED_MEMORY_BIT implied (VMA ORs
 * it into a copy of the create info), plus a `pMemoryAllocateNext` chain for VkMemoryAllocateInfo (importing external
 * memory, export info). vkmem passes no chain (nvk has no way to build one that lives through the call), so the
 * difference from `createBuffer(info, { dedicated: true })` is only which VMA call makes it; the allocation, its
 * statistics and its dump entry are the same. The preconditions of the dedicated flag are checked first, with typed
 * errors: not with `neverAllocate`, not in a pool with a fixed blockSize, not in a buddy pool (whose allocations are
 * nodes of its blocks).
 * @module
 */
import { describeValue } from "../errors.js";
import type { Allocation } from "./allocation.js";
import { AllocationCreateFlags, encodeAllocationOptions, type AllocationOptions } from "./usage.js";
import { knownHandles } from "./resource-registry.js";
import type { CreatedBuffer, CreatedImage } from "./pool-backend.js";
import type { BufferInfo, ImageInfo } from "./types.js";

/** The allocator at work (the type of Allocation's upward link: this module imports nothing of allocator.ts). */
type Allocator = Allocation["allocator"];

function fail(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}

/**
 * createDedicatedBuffer / createDedicatedImage: a buffer or image with a VkDeviceMemory of its own.
 * @throws TypeError / RangeError naming the argument (as createBuffer / createImage, and the dedicated flag's rules);
 * OutOfDeviceMemoryError / VkError when VMA fails.
 */
export function createDedicated(
  allocator: Allocator,
  info: BufferInfo | ImageInfo,
  options: AllocationOptions | undefined,
  image: boolean,
): CreatedBuffer | CreatedImage {
  const op = image ? "createDedicatedImage" : "createDedicatedBuffer";
  allocator._live(op);
  if (image) allocator._vma._descriptions.encodeImage(info as ImageInfo, op, "imageInfo");
  else {
    allocator._vma._descriptions.encodeBuffer(info as BufferInfo, op, "bufferInfo");
    const usage = (info as BufferInfo).usage;
    if ((usage & 0x20000) !== 0 && (allocator.flags & 0x20) === 0) {
      fail(
        op,
        "bufferInfo.usage",
        "has SHADER_DEVICE_ADDRESS (0x20000), but the allocator has no bufferDeviceAddress",
        usage,
      );
    }
  }
  const flags = encodeAllocationOptions(options, op, "allocationOptions", allocator);
  if ((flags & AllocationCreateFlags.NEVER_ALLOCATE) !== 0) {
    fail(op, "allocationOptions.neverAllocate", "contradicts dedicated memory", true);
  }
  const pool = options?.pool;
  if (pool !== undefined) {
    if (pool.algorithm === "buddy")
      fail(
        op,
        "allocationOptions.pool",
        "is a buddy pool: it has no dedicated memory",
        pool.label ?? "(unnamed pool)",
        TypeError,
      );
    if (pool.blockSize !== 0)
      fail(
        op,
        "allocationOptions.pool",
        "has a fixed blockSize: VMA makes no dedicated allocations in it",
        pool.label ?? "(unnamed pool)",
      );
  }
  const created = allocator._vma._createDedicated(info, options, flags | AllocationCreateFlags.DEDICATED_MEMORY, image);
  knownHandles.remember(
    image ? (created as CreatedImage).image : (created as CreatedBuffer).buffer,
    created.allocation,
  );
  return created;
}
