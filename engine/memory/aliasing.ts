/**
 * Aliasing: several buffers and images over the same bytes of one allocation (VMA's resource aliasing: the
 * allocation is made with `canAlias`, VMA_ALLOCATION_CREATE_CAN_ALIAS_BIT; the resources are made with
 * vmaCreateAliasingBuffer2 / vmaCreateAliasingImage2, or bound with vmaBind*Memory2).
 *
 * How it fits:
 * - Only an allocation created with `canAlias` takes aliases. For others, bind*Memory still refuses a second
 *   resource ("already bound") and createAliasing* refuses with a TypeError naming the allocation. The flag matters
 *   to VMA too: without it a dedicated allocation is made for exactly one buffer or image (VkMemoryDedicatedAllocateInfo)
 *   and any other bound to it is a validation error.
 * - {@link createAliasing} creates the buffer or image from a description at an offset inside the allocation; a
 *   second (third ...) bind*Memory of the caller's own handle to a `canAlias` allocation makes it an alias too. In both
 *   cases vkmem first checks the resource's memory requirements against the allocation (VMA does not): its memory
 *   type among memoryTypeBits, the bind's offset in the VkDeviceMemory a multiple of its alignment, and offset + its
 *   size within the allocation. A misfit is a RangeError naming the offset or the description and the requirement.
 * - An alias belongs to vkmem from then on: the caller destroys it with {@link AliasingResource.destroy} (or the
 *   allocator's destroyAliasingBuffer / destroyAliasingImage); a second destroy does nothing.
 * - Destroy order: freeing the allocation explicitly (destroyBuffer, destroyImage, freeMemory, freeMemoryPages)
 *   while aliases of it live is refused with InvalidStateError, nothing freed, because the GPU may still use them and
 *   the caller holds them. Destroying the allocation's pool or allocator takes the aliases along (native: they are
 *   destroyed just before the memory is freed), after which they read as destroyed. Either way nothing crashes, and
 *   no alias outlives its memory or leaks past the device's allocator.
 * - Handles: every alias is known to the process's handle registry (resource-registry.ts) as live while it lives and
 *   as dead once destroyed, so the calls that take raw handles refuse it as they refuse an allocation's own resource.
 * Contents: aliases see the same bytes (what one writes, the others read at the same memory), subject to Vulkan's
 * rules on aliasing (an image's layout and contents are undefined after another resource's writes; barriers are the
 * caller's).
 * @module
 */
import { describeValue, InvalidStateError, vkErrorFor } from "../errors.js";
import { scratch, scratchU32, Slot } from "../native.js";
import { nvk } from "../vulkan/nvk.js";
import { handleKeyOfRaw, wrapHandle, type HandleKey, type NvkHandle } from "../vulkan/handles.js";
import { Allocation } from "./allocation.js";
import { knownHandles } from "./resource-registry.js";
import type { BufferInfo, ImageInfo } from "./types.js";

/** The allocator at work (the type of Allocation's upward link: this module imports nothing of allocator.ts). */
type Allocator = Allocation["allocator"];

const ALLOCATOR_BUFFER_DEVICE_ADDRESS = 0x20;
const BAD_MEMORY_TYPE = 1001;
const MISALIGNED = 1002;
const TOO_LARGE = 1003;

function fail(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}

/**
 * A buffer or image bound into an allocation beside its own resource. Made by the allocator's createAliasingBuffer /
 * createAliasingImage or by a bind*Memory of a `canAlias` allocation that is bound
 * already; destroyed by {@link AliasingResource.destroy}, or with its allocation's pool or allocator.
 */
export class AliasingResource {
  /** The allocation whose memory it is bound to. */
  readonly allocation: Allocation;
  /** Its offset inside the allocation, in bytes. */
  readonly offset: number;
  /** Its memory requirement's size: the bytes of the allocation it covers from `offset`. */
  readonly size: number;
  /** What it is. */
  readonly kind: "buffer" | "image";
  /** @internal Its value, as the handle registry keys it. */
  readonly _resourceKey: HandleKey;
  /** @internal The nvk handle object. */
  readonly _object: NvkHandle;
  private gone = false;

  /** @internal Made by this module. */
  constructor(
    allocation: Allocation,
    object: NvkHandle,
    raw: bigint,
    kind: "buffer" | "image",
    offset: number,
    size: number,
  ) {
    this.allocation = allocation;
    this._object = object;
    this._resourceKey = handleKeyOfRaw(raw);
    this.kind = kind;
    this.offset = offset;
    this.size = size;
  }

  /** The allocator it belongs to (its allocation's). */
  get allocator(): Allocator {
    return this.allocation.allocator;
  }

  /** Its allocation's label, for messages. */
  get label(): string | undefined {
    return this.allocation.label;
  }

  /** True once destroyed, by {@link AliasingResource.destroy} or with its allocation's pool or allocator. */
  get destroyed(): boolean {
    return this.gone || this.allocation.destroyed;
  }

  /** @internal 1 while alive, 0 once destroyed (what the handle registry reads). */
  get _handle(): number {
    return this.destroyed ? 0 : 1;
  }

  /**
   * Destroys the buffer or image (vkDestroyBuffer / vkDestroyImage); the allocation stays. A second call does nothing.
   * The caller makes sure the GPU no longer uses it.
   */
  destroy(): void {
    if (this.destroyed) return;
    const allocator = this.allocation.allocator;
    allocator._native.destroyAlias(
      allocator._live(`destroyAliasing${this.kind === "buffer" ? "Buffer" : "Image"}`),
      this.raw,
    );
    this.gone = true;
    this.allocation._aliases?.delete(this);
    if (this.allocation._aliases?.size === 0) this.allocation._aliases = null;
    knownHandles.untrack(this._resourceKey, this);
  }

  private get raw(): bigint {
    return typeof this._resourceKey === "bigint" ? this._resourceKey : BigInt(this._resourceKey);
  }
}

/** An aliasing buffer: {@link AliasingResource} with its nvk VkBuffer. */
export class AliasingBuffer extends AliasingResource {
  /** The nvk VkBuffer. Reads as a destroyed buffer (DestroyedResourceError in vkmem's calls) once destroyed. */
  get buffer(): NvkHandle {
    return this._object;
  }
}

/** An aliasing image: {@link AliasingResource} with its nvk VkImage. */
export class AliasingImage extends AliasingResource {
  /** The nvk VkImage. Reads as a destroyed image (DestroyedResourceError in vkmem's calls) once destroyed. */
  get image(): NvkHandle {
    return this._object;
  }
}

/** Throws the RangeError of a requirement the allocation does not meet (native result 1001..1003). */
function misfit(op: string, arg: string, result: number, allocation: Allocation, offset: number): never {
  const size = scratch[Slot.OutSize];
  const alignment = scratch[Slot.OutOffset];
  const typeBits = scratch[Slot.OutMemoryType];
  if (result === BAD_MEMORY_TYPE) {
    const why = `needs one of memory types 0x${typeBits.toString(16)} (memoryTypeBits), but the allocation is in memory type ${allocation.memoryType}`;
    fail(op, arg, why, allocation.label ?? "(unnamed allocation)");
  }
  if (result === MISALIGNED) {
    const at = allocation.offset + offset;
    fail(
      op,
      "offset",
      `puts the resource at ${at} in its VkDeviceMemory, not a multiple of its alignment ${alignment}`,
      offset,
    );
  }
  fail(op, "offset", `+ the resource's size ${size} exceeds the allocation's ${allocation.size} bytes`, offset);
}

/** Records a new alias of `allocation` (registry, allocation's set) and returns it. */
function adopt(
  allocation: Allocation,
  object: NvkHandle,
  raw: bigint,
  image: boolean,
  offset: number,
  size: number,
): AliasingResource {
  const alias = image
    ? new AliasingImage(allocation, object, raw, "image", offset, size)
    : new AliasingBuffer(allocation, object, raw, "buffer", offset, size);
  (allocation._aliases ??= new Set()).add(alias);
  knownHandles.track(alias._resourceKey, alias);
  knownHandles.remember(object, alias);
  return alias;
}

/** Checks the allocation and offset of an aliasing call; returns the allocation. */
function checkTarget(allocator: Allocator, allocation: Allocation, offset: number, op: string): Allocation {
  allocator._live(op);
  const a = allocator._checkAllocation(allocation, op);
  a._live(op);
  if (!a._canAlias) {
    fail(
      op,
      "allocation",
      "was not created with allocationOptions.canAlias",
      a.label ?? "(unnamed allocation)",
      TypeError,
    );
  }
  if (!(Number.isSafeInteger(offset) && offset >= 0 && offset < a.size)) {
    fail(op, "offset", `must be an integer in [0, ${a.size})`, offset);
  }
  return a;
}

/**
 * createAliasingBuffer / createAliasingImage: a new buffer or image from `info`, bound at `offset` inside an
 * allocation made with `canAlias` (vmaCreateAliasingBuffer2 / vmaCreateAliasingImage2, requirements checked first).
 * @throws TypeError naming `allocation` when it is not this allocator's or not made with canAlias; TypeError /
 * RangeError for a bad description or offset, or one the allocation's memory does not fit; VkError when Vulkan fails.
 */
export function createAliasing(
  allocator: Allocator,
  allocation: Allocation,
  info: BufferInfo | ImageInfo,
  offset: number,
  image: boolean,
): AliasingResource {
  const op = image ? "createAliasingImage" : "createAliasingBuffer";
  const arg = image ? "imageInfo" : "bufferInfo";
  const a = checkTarget(allocator, allocation, offset, op);
  if (image) allocator._vma._descriptions.encodeImage(info as ImageInfo, op, arg);
  else {
    allocator._vma._descriptions.encodeBuffer(info as BufferInfo, op, arg);
    if ((scratch[1] & 0x20000) !== 0 && (allocator.flags & ALLOCATOR_BUFFER_DEVICE_ADDRESS) === 0) {
      fail(
        op,
        `${arg}.usage`,
        "has SHADER_DEVICE_ADDRESS (0x20000), but the allocator has no bufferDeviceAddress",
        scratch[1],
      );
    }
  }
  const r = allocator._native.createAliasingResource(a._handle, image, offset);
  if (r >= BAD_MEMORY_TYPE) misfit(op, arg, r, a, offset);
  if (r !== 0) throw vkErrorFor(r, image ? "vmaCreateAliasingImage2" : "vmaCreateAliasingBuffer2", a.label);
  const lo = scratchU32[Slot.OutResource * 2];
  const hi = scratchU32[Slot.OutResource * 2 + 1];
  const raw = (BigInt(hi) << 32n) | BigInt(lo);
  // The size of the requirement the native side checked (still in the outputs).
  const size = scratch[Slot.OutSize];
  return adopt(a, wrapHandle(image ? nvk.VkImage : nvk.VkBuffer, raw), raw, image, offset, size);
}

/**
 * bind*Memory of the caller's buffer or image to a `canAlias` allocation that has its resource already: binds it as an
 * alias (requirements checked), which vkmem destroys from then on.
 * @throws as bind*Memory, and RangeError when the allocation's memory does not fit the resource.
 */
export function bindAlias(
  allocator: Allocator,
  allocation: Allocation,
  resource: object,
  raw: bigint,
  offset: number,
  image: boolean,
  op: string,
): AliasingResource {
  const r = allocator._native.bindAlias(allocation._handle, raw, image, offset);
  if (r >= BAD_MEMORY_TYPE) misfit(op, image ? "image" : "buffer", r, allocation, offset);
  if (r !== 0) throw vkErrorFor(r, image ? "vmaBindImageMemory2" : "vmaBindBufferMemory2", allocation.label);
  // Its size: the requirement the native side checked.
  return adopt(allocation, resource as NvkHandle, raw, image, offset, scratch[Slot.OutSize]);
}

/**
 * destroyAliasingBuffer / destroyAliasingImage: destroys an alias of this allocator; a second call does nothing.
 * @throws TypeError when it is not an alias of the expected kind of this allocator.
 */
export function destroyAliasing(allocator: Allocator, alias: unknown, image: boolean): void {
  const op = image ? "destroyAliasingImage" : "destroyAliasingBuffer";
  const Cls = image ? AliasingImage : AliasingBuffer;
  if (!(alias instanceof Cls)) fail(op, "alias", `must be an ${Cls.name}`, alias, TypeError);
  if (alias.allocation.allocator !== allocator)
    fail(op, "alias", "belongs to another allocator", alias.label, TypeError);
  alias.destroy();
}

/**
 * Refuses an explicit free of an allocation that still has aliases (destroyBuffer, destroyImage, freeMemory,
 * freeMemoryPages): they would outlive their memory.
 * @throws InvalidStateError naming the allocation and how many aliases live.
 */
export function refuseFreeWithAliases(allocation: Allocation, op: string): void {
  const aliases = allocation._aliases;
  if (aliases === null || aliases.size === 0) return;
  throw new InvalidStateError(
    `Allocation${allocation.label === undefined ? "" : ` '${allocation.label}'`}`,
    op,
    `${aliases.size} aliasing buffer(s)/image(s) are still bound to it: destroy them first (alias.destroy())`,
  );
}
