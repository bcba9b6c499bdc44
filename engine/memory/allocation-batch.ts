/**
 * Calls over many allocations at once, and host copies: the work behind the allocator's allocateMemoryPages /
 * freeMemoryPages (vmaAllocateMemoryPages / vmaFreeMemoryPages), flushAllocations / invalidateAllocations
 * (vmaFlushAllocations / vmaInvalidateAllocations) and copyMemoryToAllocation / copyAllocationToMemory
 * (vmaCopyMemoryToAllocation / vmaCopyAllocationToMemory).
 *
 * Invariants:
 * - All or nothing. Every argument and every element is checked before anything is allocated, freed or flushed: a
 *   bad element is a TypeError / RangeError naming its index, and nothing happened. allocateMemoryPages either returns
 *   every allocation or leaves none behind (VMA frees a batch it could not complete; vkmem frees what it adopted if a
 *   later step throws).
 * - Buddy pools, which VMA does not know, get the same results through their own calls: a loop of allocations undone
 *   on failure, per-allocation flushes, copies through a temporary map.
 * - A flush or invalidate is performed only where the memory type is HOST_VISIBLE without HOST_COHERENT, exactly as
 *   {@link Allocation.flush} says; the returned ranges are VMA's, rounded to nonCoherentAtomSize.
 * - Host copies touch only host-visible memory that VMA lets be mapped, within the allocation, and never more bytes
 *   than the ArrayBufferView holds.
 * @module
 */
import { describeValue, vkErrorFor } from "../errors.js";
import { Allocation, type MappedRange } from "./allocation.js";
import { encodeAllocationOptions, type AllocationOptions } from "./usage.js";
import { freeMemory } from "./resource-binding.js";
import { refuseFreeWithAliases } from "./aliasing.js";
import type { MemoryRequirements } from "./types.js";

/** The allocator at work (the type of Allocation's upward link: this module imports nothing of allocator.ts). */
type Allocator = Allocation["allocator"];

/** Offsets or sizes in bytes, one per allocation of a batch call (flushAllocations, invalidateAllocations). */
export type ByteList = readonly number[];

/** The most allocations one allocateMemoryPages call makes. */
export const MAX_PAGES = 65536;
const HOST_VISIBLE = 0x2;
/** VMA counts an allocation's maps in 8 bits; its temporary map for a copy is one more. */
const MAX_MAPS = 255;

function fail(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}

function isBuddy(allocation: Allocation): boolean {
  return allocation.pool !== null && allocation.pool.algorithm === "buddy";
}

/**
 * allocateMemoryPages: `count` allocations of the same requirements and options in one call, all or none.
 * @throws TypeError / RangeError naming the argument; OutOfDeviceMemoryError / VkError when not all fit (none is left).
 */
export function allocateMemoryPages(
  allocator: Allocator,
  requirements: MemoryRequirements,
  options: AllocationOptions | undefined,
  count: number,
): Allocation[] {
  const op = "allocateMemoryPages";
  allocator._live(op);
  allocator._vma._descriptions.checkRequirements(requirements, op);
  if (!(Number.isSafeInteger(count) && count >= 1 && count <= MAX_PAGES)) {
    fail(op, "count", `must be an integer in [1, ${MAX_PAGES}]`, count);
  }
  if (options !== null && typeof options === "object") {
    if (options.canBecomeLost === true || options.canMakeOtherLost === true) {
      const key = options.canBecomeLost === true ? "canBecomeLost" : "canMakeOtherLost";
      fail(
        op,
        `allocationOptions.${key}`,
        "is not supported for pages (one lost page would break the set)",
        true,
        TypeError,
      );
    }
    const name = options.name;
    if (name !== undefined && (typeof name !== "string" || name.includes("\0"))) {
      fail(op, "allocationOptions.name", "must be a string without NUL characters", name, TypeError);
    }
  }
  const flags = encodeAllocationOptions(options, op, "allocationOptions", allocator, true);
  const pool = options?.pool;
  if (pool === undefined || pool.algorithm !== "buddy")
    return allocator._vma._allocatePages(requirements, options, flags, count);
  // A buddy pool: one allocation after the other, the made ones freed if one fails.
  const made: Allocation[] = [];
  try {
    for (let i = 0; i < count; i++) {
      encodeAllocationOptions(options, op, "allocationOptions", allocator, true);
      made.push(pool._allocateMemory(requirements, options, flags, op));
    }
  } catch (error) {
    for (const a of made) allocator._freeAllocation(a);
    throw error;
  }
  return made;
}

/**
 * freeMemoryPages: frees every allocation of the array (as freeMemory each; lost or freed ones are released or
 * skipped). Every element is checked first: one that is not this allocator's, backs a buffer or image vkmem created,
 * or has live aliases, and nothing is freed.
 * @throws TypeError naming `allocations[i]`; InvalidStateError when one has live aliasing resources.
 */
export function freeMemoryPages(allocator: Allocator, allocations: readonly Allocation[]): void {
  const op = "freeMemoryPages";
  if (!Array.isArray(allocations)) fail(op, "allocations", "must be an array of Allocations", allocations, TypeError);
  for (let i = 0; i < allocations.length; i++) {
    const a = allocator._checkAllocation(allocations[i], op, `allocations[${i}]`);
    if (a.lost || a.destroyed) continue;
    if (a.kind !== "memory") {
      const use = `backs a ${a.kind}: use destroy${a.kind === "buffer" ? "Buffer" : "Image"}()`;
      fail(op, `allocations[${i}]`, use, a.label ?? "(unnamed)", TypeError);
    }
    refuseFreeWithAliases(a, op);
  }
  for (const a of allocations) freeMemory(allocator, a);
}

/** One checked element of a flush or invalidate: the allocation and its allocation-relative range. */
interface Range {
  allocation: Allocation;
  offset: number;
  size: number;
}

function checkRanges(
  allocator: Allocator,
  allocations: readonly Allocation[],
  offsets: ByteList | undefined,
  sizes: ByteList | undefined,
  op: string,
): Range[] {
  allocator._live(op);
  if (!Array.isArray(allocations)) fail(op, "allocations", "must be an array of Allocations", allocations, TypeError);
  for (const [name, list] of [
    ["offsets", offsets],
    ["sizes", sizes],
  ] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) fail(op, name, "must be an array of numbers or undefined", list, TypeError);
    if (list.length !== allocations.length) {
      fail(op, name, `must have one entry per allocation (${allocations.length})`, `${list.length} entries`);
    }
  }
  return allocations.map((element, i) => {
    const a = allocator._checkAllocation(element, op, `allocations[${i}]`);
    a._live(op);
    const total = a.size;
    const offset = offsets === undefined ? 0 : offsets[i];
    if (!(Number.isSafeInteger(offset) && offset >= 0 && offset <= total)) {
      fail(op, `offsets[${i}]`, `must be an integer in [0, ${total}]`, offset);
    }
    const size = sizes === undefined || sizes[i] === undefined ? total - offset : sizes[i];
    if (!(Number.isSafeInteger(size) && size >= 0 && offset + size <= total)) {
      fail(op, `sizes[${i}]`, `must be an integer with offset + size <= ${total} (offset ${offset})`, sizes?.[i]);
    }
    return { allocation: a, offset, size };
  });
}

/**
 * flushAllocations / invalidateAllocations: one vmaFlushAllocations (vmaInvalidateAllocations) over the VMA
 * allocations of the array, each buddy-pool allocation through its own flush; ranges relative to each allocation
 * (offsets default to 0, sizes to the rest of the allocation).
 * @returns per allocation, the range as VMA rounds it and whether a Vulkan call covered it (see Allocation.flush).
 * @throws TypeError / RangeError naming the element; DestroyedResourceError / AllocationLostError for a freed or lost
 * one (nothing flushed); VkError when Vulkan fails.
 */
export function flushOrInvalidateAllocations(
  allocator: Allocator,
  allocations: readonly Allocation[],
  offsets: ByteList | undefined,
  sizes: ByteList | undefined,
  flush: boolean,
): MappedRange[] {
  const op = flush ? "flushAllocations" : "invalidateAllocations";
  const ranges = checkRanges(allocator, allocations, offsets, sizes, op);
  const vma = ranges.filter((r) => !isBuddy(r.allocation));
  const out = ranges.map(({ allocation, offset, size }) => {
    if (isBuddy(allocation)) return flush ? allocation.flush(offset, size) : allocation.invalidate(offset, size);
    const range = allocation._atomRange(offset, size);
    return size === 0 ? { ...range, size: 0, performed: false } : range;
  });
  if (vma.length > 0) {
    const handles = Float64Array.from(vma, (r) => r.allocation._handle);
    const offs = Float64Array.from(vma, (r) => r.offset);
    const lens = Float64Array.from(vma, (r) => r.size);
    const r = allocator._native.flushAllocations(allocator._handle, handles, offs, lens, flush);
    if (r < 0) throw vkErrorFor(r, flush ? "vmaFlushAllocations" : "vmaInvalidateAllocations");
  }
  return out;
}

/** The checked allocation of a host copy of `length` bytes at `offset`. */
function copyTarget(
  allocator: Allocator,
  allocation: Allocation,
  offset: number,
  view: unknown,
  op: string,
  viewArg: string,
): Allocation {
  allocator._live(op);
  if (!ArrayBuffer.isView(view))
    fail(op, viewArg, "must be an ArrayBufferView (a typed array or DataView)", view, TypeError);
  const a = allocator._checkAllocation(allocation, op);
  a._live(op);
  const length = view.byteLength;
  if (!(Number.isSafeInteger(offset) && offset >= 0 && offset + length <= a.size)) {
    fail(op, "offset", `must be an integer with offset + ${viewArg}.byteLength (${length}) <= ${a.size}`, offset);
  }
  const label = a.label ?? "(unnamed allocation)";
  if ((a.memoryProperties & HOST_VISIBLE) === 0) {
    fail(
      op,
      "allocation",
      `is in memory type ${a.memoryType}, which is not HOST_VISIBLE: copy through a staging buffer`,
      label,
      TypeError,
    );
  }
  if (!a._mappingAllowed) {
    const why = "was created with an Auto usage and no hostAccess, so VMA does not allow mapping it";
    fail(op, "allocation", why, label, TypeError);
  }
  if (a.mapCount >= (a.persistentlyMapped ? MAX_MAPS - 1 : MAX_MAPS)) {
    fail(op, "allocation", "is mapped 255 times already (VMA's limit): unmap() first", label);
  }
  return a;
}

/**
 * copyMemoryToAllocation: copies `src` into the allocation at `offset` (vmaCopyMemoryToAllocation: map, copy, unmap,
 * flush where the memory is not HOST_COHERENT).
 * @throws TypeError for a non-view `src` or memory the CPU cannot map; RangeError when the bytes do not fit.
 */
export function copyMemoryToAllocation(
  allocator: Allocator,
  src: ArrayBufferView,
  allocation: Allocation,
  offset: number,
): void {
  const op = "copyMemoryToAllocation";
  const a = copyTarget(allocator, allocation, offset, src, op, "src");
  const bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  if (isBuddy(a)) {
    new Uint8Array(a.map(), offset, bytes.length).set(bytes);
    try {
      a.flush(offset, bytes.length);
    } finally {
      a.unmap();
    }
    return;
  }
  const r = allocator._native.copyMemoryToAllocation(a._handle, bytes, offset);
  if (r < 0) throw vkErrorFor(r, "vmaCopyMemoryToAllocation", a.label);
}

/**
 * copyAllocationToMemory: copies `dst.byteLength` bytes of the allocation at `offset` into `dst`
 * (vmaCopyAllocationToMemory: invalidate where the memory is not HOST_COHERENT, map, copy, unmap).
 * @throws as {@link copyMemoryToAllocation}, for `dst`.
 */
export function copyAllocationToMemory(
  allocator: Allocator,
  allocation: Allocation,
  offset: number,
  dst: ArrayBufferView,
): void {
  const op = "copyAllocationToMemory";
  const a = copyTarget(allocator, allocation, offset, dst, op, "dst");
  const bytes = new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength);
  if (isBuddy(a)) {
    const view = a.map();
    try {
      a.invalidate(offset, bytes.length);
      bytes.set(new Uint8Array(view, offset, bytes.length));
    } finally {
      a.unmap();
    }
    return;
  }
  const r = allocator._native.copyAllocationToMemory(a._handle, offset, bytes);
  if (r < 0) throw vkErrorFor(r, "vmaCopyAllocationToMemory", a.label);
}
