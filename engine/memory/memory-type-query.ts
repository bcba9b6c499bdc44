/**
 * Memory-type queries: which memory type VMA would choose for a memoryTypeBits mask, or for a buffer or image
 * description, and allocation options (vmaFindMemoryTypeIndex, ...ForBufferInfo, ...ForImageInfo). The allocator's
 * findMemoryTypeIndex* delegate to its {@link MemoryTypeQuery}, and so do createPool (a pool target given by description) and the
 * lost-allocation eviction (which memory type a failed creation wanted).
 *
 * Invariants: a query allocates nothing and changes no state but the scratch; the arguments are checked with the
 * same messages as the creation calls (a description as createBuffer / createImage check it, options as usage.ts
 * encodes them), except that a description may carry bits VMA could not bind (sparse, DISJOINT) as long as the
 * device allows them; a pool in the options is refused (a pool has one memory type). The Auto usages need a resource
 * description, so the mask-only query refuses them.
 * @module
 */
import { describeValue, vkErrorFor } from "../errors.js";
import { checkOptionalOptions } from "../checks.js";
import { scratch } from "../native.js";
import { encodeAllocationOptions, refusePool, MemoryUsage, type AllocationOptions } from "./usage.js";
import type { Allocation } from "./allocation.js";
import type { ResourceDescriptions } from "./resource-descriptions.js";
import type { BufferInfo, ImageInfo } from "./types.js";

/** The allocator asked (the type of Allocation's upward link: this module imports nothing of allocator.ts). */
type Allocator = Allocation["allocator"];

function fail(op: string, arg: string, what: string, value: unknown): never {
  throw new RangeError(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}

/**
 * The memory-type queries of one allocator. Made by the allocator's constructor; dropped with it.
 * @internal
 */
export class MemoryTypeQuery {
  constructor(
    private readonly allocator: Allocator,
    private readonly descriptions: ResourceDescriptions,
  ) {}

  /**
   * vmaFindMemoryTypeIndex for a memoryTypeBits mask.
   * @throws RangeError for a bad mask or an Auto usage; TypeError / RangeError for bad options; VkError
   * VK_ERROR_FEATURE_NOT_PRESENT when no type fits; DestroyedResourceError once the allocator is destroyed.
   */
  forMask(memoryTypeBits: number, allocationOptions: AllocationOptions | undefined): number {
    const op = "findMemoryTypeIndex";
    const h = this.allocator._live(op);
    const isMask = typeof memoryTypeBits === "number" && memoryTypeBits >= 0 && memoryTypeBits <= 0xffffffff;
    if (!isMask || Math.floor(memoryTypeBits) !== memoryTypeBits)
      fail(op, "memoryTypeBits", "must be a uint32 mask", memoryTypeBits);
    checkOptionalOptions(allocationOptions, op, "allocationOptions");
    const usage = allocationOptions?.usage ?? MemoryUsage.Unknown;
    if (usage >= MemoryUsage.Auto) {
      const why =
        "cannot be an Auto usage without a buffer or image description (see findMemoryTypeIndexForBufferInfo)";
      fail(op, "allocationOptions.usage", why, usage);
    }
    refusePool(allocationOptions, op, "allocationOptions");
    encodeAllocationOptions({ ...allocationOptions, usage }, op, "allocationOptions", this.allocator);
    scratch[0] = memoryTypeBits;
    const r = this.allocator._native.findMemoryTypeIndex(h);
    if (r < 0) throw vkErrorFor(r, "vmaFindMemoryTypeIndex");
    return r;
  }

  /**
   * vmaFindMemoryTypeIndexForBufferInfo / ForImageInfo; messages name `op`, `infoArg` and `optionsArg`.
   * @throws TypeError / RangeError for bad arguments; VkError VK_ERROR_FEATURE_NOT_PRESENT when no type fits;
   * DestroyedResourceError once the allocator is destroyed.
   */
  forInfo(
    kind: "buffer" | "image",
    info: BufferInfo | ImageInfo,
    allocationOptions: AllocationOptions | undefined,
    op: string,
    infoArg: string,
    optionsArg: string,
  ): number {
    const h = this.allocator._live(op);
    // A query: the description may have bits VMA could not bind (sparse, DISJOINT) as long as the device allows them.
    if (kind === "buffer") this.descriptions.encodeBuffer(info as BufferInfo, op, infoArg, false);
    else this.descriptions.encodeImage(info as ImageInfo, op, infoArg, false);
    refusePool(allocationOptions, op, optionsArg);
    encodeAllocationOptions(allocationOptions, op, optionsArg, this.allocator);
    const addon = this.allocator._native;
    const r = kind === "buffer" ? addon.findMemoryTypeIndexForBufferInfo(h) : addon.findMemoryTypeIndexForImageInfo(h);
    if (r < 0) {
      throw vkErrorFor(
        r,
        kind === "buffer" ? "vmaFindMemoryTypeIndexForBufferInfo" : "vmaFindMemoryTypeIndexForImageInfo",
      );
    }
    return r;
  }
}
