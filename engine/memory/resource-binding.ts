/**
 * The caller's buffers and images, and the release of allocations: the work behind the allocator's
 * allocateMemoryForBuffer / ForImage, bindBufferMemory / bindImageMemory, destroyBuffer / destroyImage and freeMemory.
 * The allocator delegates here; each function checks the allocator's liveness and the allocation's owner through
 * the allocator (`_live`, `_checkAllocation`) and ends in one call to the memory source of the allocation or options
 * (pool-backend.ts), through the allocator's `_freeAllocation` for frees.
 *
 * Invariants:
 * - A raw handle from the caller is checked against the process's registry (resource-registry.ts) before any VMA
 *   call: one vkmem destroyed is a DestroyedResourceError, the live buffer or image of an allocation a TypeError
 *   naming its owner, one vkmem never saw is trusted as nvk trusts it.
 * - An allocation is bound at most once, unless made with `canAlias`: then each further bind makes an aliasing
 *   resource (aliasing.ts), and an explicit free is refused while aliases live. From the first bind on, the registry knows the resource as its allocation's, and
 *   destroyBuffer / destroyImage destroy it with the allocation (VMA's vmaDestroyBuffer semantics: exactly
 *   vkDestroyBuffer plus vmaFreeMemory); its handle object then stays known as dead.
 * - Releasing twice does nothing; releasing a lost allocation only marks it released (its memory is gone already).
 * - Hot path (destroyBuffer, destroyImage, freeMemory): no object or closure is made per call.
 * @module
 */
import { DestroyedResourceError, describeValue } from "../errors.js";
import { nvk } from "../vulkan/nvk.js";
import { handleKeyOfRaw, isNvkHandle, rawHandle } from "../vulkan/handles.js";
import { encodeAllocationOptions, type AllocationOptions } from "./usage.js";
import { checkRawResource, knownHandles } from "./resource-registry.js";
import { Allocation } from "./allocation.js";
import { bindAlias, refuseFreeWithAliases, type AliasingResource } from "./aliasing.js";

/** The allocator at work (the type of Allocation's upward link: this module imports nothing of allocator.ts). */
type Allocator = Allocation["allocator"];

function fail(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}

/**
 * allocateMemoryForBuffer / ForImage: memory fitting the caller's `resource`, from the options' pool or VMA.
 * @throws DestroyedResourceError / TypeError for a bad handle (resource-registry.ts); RangeError for bad options;
 * OutOfDeviceMemoryError / VkError when VMA fails.
 */
export function allocateMemoryFor(
  allocator: Allocator,
  resource: unknown,
  image: boolean,
  allocationOptions: AllocationOptions | undefined,
  op: string,
): Allocation {
  allocator._live(op);
  const raw = checkRawResource(allocator, resource, op, image ? "image" : "buffer", image ? "VkImage" : "VkBuffer");
  const vmaFlags = encodeAllocationOptions(allocationOptions, op, "allocationOptions", allocator, true);
  const source = allocationOptions?.pool ?? allocator._vma;
  return source._allocateMemoryFor(resource as object, raw, image, allocationOptions, vmaFlags, op);
}

/**
 * bindBufferMemory / bindImageMemory: binds the caller's `resource` to an unbound allocation of `allocator`.
 * @throws DestroyedResourceError / TypeError for a bad handle or allocation; RangeError for a bad `localOffset` or
 * an allocation bound already; VkError when the bind fails.
 */
export function bind(
  allocator: Allocator,
  allocation: Allocation,
  resource: unknown,
  localOffset: number,
  op: string,
  cls: "VkBuffer" | "VkImage",
): AliasingResource | undefined {
  allocator._live(op);
  const a = allocator._checkAllocation(allocation, op);
  a._live(op);
  const arg = cls === "VkBuffer" ? "buffer" : "image";
  if (!isNvkHandle(resource, cls)) fail(op, arg, `must be an nvk ${cls}`, resource, TypeError);
  const bound = a.kind !== "memory" || a._resourceHandle !== 0n;
  if (bound && !a._canAlias) {
    fail(
      op,
      "allocation",
      "is already bound to a resource (create it with canAlias to bind several)",
      a.label ?? "(unnamed)",
    );
  }
  const raw = checkRawResource(allocator, resource, op, arg, cls);
  if (!(Number.isSafeInteger(localOffset) && localOffset >= 0 && localOffset < a.size)) {
    fail(op, "localOffset", `must be an integer in [0, ${a.size})`, localOffset);
  }
  // A canAlias allocation with its resource already: this one is an alias beside it (aliasing.ts).
  if (bound) return bindAlias(allocator, a, resource as object, raw, localOffset, cls === "VkImage", op);
  (a.pool ?? allocator._vma)._bind(a, resource as object, raw, localOffset, cls === "VkImage");
  a._resourceKey = handleKeyOfRaw(raw);
  knownHandles.track(a._resourceKey, a);
  return undefined;
}

/**
 * destroyBuffer / destroyImage: destroys a buffer or image the caller bound, then frees the allocation; `resource`
 * null means the one created or bound with it.
 * @throws TypeError when the allocation is not `allocator`'s or the resource not the one bound to it.
 */
export function destroyResource(
  allocator: Allocator,
  resource: unknown,
  allocation: Allocation,
  op: string,
  cls: "VkBuffer" | "VkImage",
): void {
  if (!(allocation instanceof Allocation) || allocation.allocator !== allocator)
    allocator._checkAllocation(allocation, op);
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
      const bound = `is not the ${kind} bound to allocation${allocation.label ? ` '${allocation.label}'` : ""}`;
      fail(op, kind, bound, resource, TypeError);
    }
  }
  if (allocation.kind !== kind && allocation.kind !== "memory") {
    fail(op, "allocation", `backs an ${allocation.kind}, not a ${kind}`, allocation.label ?? "(unnamed)", TypeError);
  }
  refuseFreeWithAliases(allocation, op);
  if (allocation.kind === "memory" && allocation._resource !== null) {
    // A resource the caller created and bound: VMA's destroy semantics destroy it too. Its object is dead from now.
    knownHandles.remember(allocation._resource, allocation);
    if (cls === "VkBuffer") nvk.vkDestroyBuffer(allocator.device, allocation._resource, null);
    else nvk.vkDestroyImage(allocator.device, allocation._resource, null);
  }
  allocator._freeAllocation(allocation);
}

/**
 * freeMemory: frees memory from allocateMemory* (or the allocation of a buffer or image the caller bound).
 * @throws TypeError when the allocation is not `allocator`'s, or backs a buffer or image vkmem created.
 */
export function freeMemory(allocator: Allocator, allocation: Allocation): void {
  allocator._checkAllocation(allocation, "freeMemory");
  if (allocation._lostFrame >= 0) {
    allocation._lostReleased = true;
    return;
  }
  if (allocation.destroyed) return;
  if (allocation.kind !== "memory") {
    const use = `backs a ${allocation.kind}: use destroy${allocation.kind === "buffer" ? "Buffer" : "Image"}()`;
    fail("freeMemory", "allocation", use, allocation.label ?? "(unnamed)", TypeError);
  }
  refuseFreeWithAliases(allocation, "freeMemory");
  allocator._freeAllocation(allocation);
}
