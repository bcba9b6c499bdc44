/**
 * VmaMemory: the {@link MemorySource} of VMA's own calls, one per allocator. It serves the allocator's default pools
 * and every VMA custom pool (a VmaPool travels in the encoded allocation options, so a {@link Pool} delegates its
 * allocation half here); buddy pools are the other source (./buddy-pool.ts).
 *
 * What each call is made of: createBuffer is vmaCreateBuffer, one native call that reads the description and the
 * options the allocator encoded into the scratch and writes the allocation's figures back; createImage,
 * allocateMemory and allocateMemoryFor* the same for their VMA function; bind is vmaBind*Memory2; free is
 * vmaFreeMemory (vmaDestroyBuffer / vmaDestroyImage for the buffers and images it created).
 *
 * Invariants:
 * - Nothing leaks on an error: an allocation whose name or options fail after the native call is freed, and the
 *   nvk handle object made for its buffer or image goes back to the cell pool, before the error is thrown.
 * - When a creation fails with VK_ERROR_OUT_OF_DEVICE_MEMORY and the options say `canMakeOtherLost`, the
 *   allocator's LostAllocations makes room (lost-allocations.ts) and the call is retried with the description and
 *   options encoded again (eviction callbacks may have used the scratch).
 * - The nvk handle objects of the buffers and images it creates come from one process-wide {@link HandleCellPool};
 *   after free an object names a destroyed object: it reads as a null handle and its cell serves the next one.
 * - Hot path: one native call, no object beyond the ones returned.
 * @module
 */
import { check, describeValue, vkErrorFor } from "../errors.js";
import { scratch, scratchU32, Slot } from "../native.js";
import { nvk } from "../vulkan/nvk.js";
import { HandleCellPool, type NvkHandle, type PooledHandleConstructor } from "../vulkan/handles.js";
import type { HandleWatch } from "../lifetime.js";
import { Allocation, AllocationInfo, type AllocationKind } from "./allocation.js";
import {
  AllocationCreateFlags,
  encodeAllocationOptions,
  encodedMappingAllowed,
  type AllocationOptions,
} from "./usage.js";
import type { AllocationIndex } from "./allocation-index.js";
import type { LostAllocations } from "./lost-allocations.js";
import { knownHandles } from "./resource-registry.js";
import { vkmemFlagsOf } from "./recording.js";
import type { ResourceDescriptions } from "./resource-descriptions.js";
import type { CreatedBuffer, CreatedImage, MemorySource } from "./pool-backend.js";
import type { BufferInfo, ImageInfo, MemoryRequirements } from "./types.js";

/** How many scratch numbers an encoded image description takes (resource-descriptions.ts, encodeImage). */
const IMAGE_CREATE_INFO_LENGTH = 13;

/** Cells for the nvk handle objects of the buffers and images allocators create (shared by all allocators). */
const handleCells = new HandleCellPool();
/**
 * The pooled constructors of the objects every createBuffer / createImage makes
 * (HandleCellPool.makeWith), resolved on first use, not at import: nvk loads on its first property read, and
 * importing vkmem must work on a machine without a Vulkan loader (createContext then says what is missing).
 */
let bufferHandle: PooledHandleConstructor | null = null;
let imageHandle: PooledHandleConstructor | null = null;
const bufferHandles = (): PooledHandleConstructor => (bufferHandle ??= handleCells.constructorOf(nvk.VkBuffer));
const imageHandles = (): PooledHandleConstructor => (imageHandle ??= handleCells.constructorOf(nvk.VkImage));

/**
 * Cells for the image views {@link VmaMemory.createImageView} makes (a FrameManager texture's default view, a
 * streamed texture's partial view), a pool of their own: a view whose destroyer does not give its cell back (see
 * {@link recycleImageView}) leaves it to the GC, and so cannot drain the buffers' and images' pool, whose refills would
 * cost every createBuffer a fresh ArrayBuffer.
 */
const viewCells = new HandleCellPool();
let viewHandle: PooledHandleConstructor | null = null;
const viewHandles = (): PooledHandleConstructor => (viewHandle ??= viewCells.constructorOf(nvk.VkImageView));

/**
 * Takes back the cell of a view {@link VmaMemory.createImageView} made, once the view is destroyed: the object reads
 * as VK_NULL_HANDLE from then on (HandleCellPool.recycle), so that a holder of the dead view can never name the view
 * that reuses the cell. Any other handle object is left as it is. Called by whoever destroyed the view.
 * @internal
 */
export function recycleImageView(view: object): void {
  viewCells.recycle(view);
}

function fail(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}

/** The parts of its allocator VmaMemory works with, handed over by the allocator's constructor. */
export interface VmaMemoryParts {
  /** Creation stacks by allocation handle, when the allocator captures them. */
  readonly stacks: Map<number, string> | null;
  /** The GC safety net of the allocator's allocations (engine/lifetime.ts), used when it captures stacks. */
  readonly leakWatch: HandleWatch;
  /** Lost allocations: tracking new lost-able ones, making room. */
  readonly lost: LostAllocations;
  /** The description encoder, for the retries after making room. */
  readonly descriptions: ResourceDescriptions;
  /** The weak handle index, when the allocator was made with `defragmentation: true` (allocation-index.ts). */
  readonly index: AllocationIndex | null;
}

/**
 * VMA's allocation calls for one allocator. Made by the allocator's constructor; dropped with it.
 * @internal
 */
export class VmaMemory implements MemorySource {
  constructor(
    private readonly allocator: Allocation["allocator"],
    private readonly parts: VmaMemoryParts,
  ) {}

  /** The allocator's description checks and encoder (resource-descriptions.ts), for the calls beside these. */
  get _descriptions(): ResourceDescriptions {
    return this.parts.descriptions;
  }

  /**
   * The allocator's createBuffer for a FrameManager, whose label is the allocation's `name` (a string without NUL,
   * checked by the caller) without an options object per call; returns the allocation (`_resource` is the buffer).
   * @throws as Allocator.createBuffer.
   */
  createNamedBuffer(bufferInfo: BufferInfo, options: AllocationOptions | undefined, name: string): Allocation {
    const allocator = this.allocator;
    if (options?.pool !== undefined) return allocator.createBuffer(bufferInfo, { ...options, name }).allocation;
    allocator._live("createBuffer");
    allocator._encodeBuffer(bufferInfo, "createBuffer", "bufferInfo");
    const flags = encodeAllocationOptions(options, "createBuffer", "allocationOptions", allocator);
    const allocation = this._createBufferAllocation(bufferInfo, options, flags, name);
    knownHandles.remember(allocation._resource!, allocation);
    return allocation;
  }

  /** The allocator's createImage for a FrameManager, as {@link createNamedBuffer}. */
  createNamedImage(imageInfo: ImageInfo, options: AllocationOptions | undefined, name: string): Allocation {
    const allocator = this.allocator;
    if (options?.pool !== undefined) return allocator.createImage(imageInfo, { ...options, name }).allocation;
    allocator._live("createImage");
    this.parts.descriptions.encodeImage(imageInfo, "createImage", "imageInfo");
    const flags = encodeAllocationOptions(options, "createImage", "allocationOptions", allocator);
    const allocation = this._createImageAllocation(imageInfo, options, flags, name);
    knownHandles.remember(allocation._resource!, allocation);
    return allocation;
  }

  /**
   * A view of mips [baseMip, baseMip + levelCount) of every layer of the image `allocation` was created with by this
   * allocator (`aspect`, the image's format), made in one native call (native/allocation.cpp: createImageView); the
   * caller owns it, and gives its cell back with {@link recycleImageView} once it destroyed it (image-views.ts:
   * destroyImageView, or the batch's native free). Returns the VkResult
   * instead when vkCreateImageView fails. The handle object holds a cell of the views' own pool: a fresh 8-byte cell
   * (wrapHandle's) cost about 1.1 µs a view on the two-core machine, a quarter of a FrameManager texture's whole
   * createTexture + destroy().
   * @throws RangeError when the allocation is not an image allocation this addon made the image of (a buddy pool's is
   *   not: engine/resources/image-views.ts makes those through nvk), or the view type, aspect or mips do not suit it.
   */
  createImageView(
    allocation: Allocation,
    viewType: number,
    aspect: number,
    baseMip: number,
    levelCount: number,
  ): NvkHandle | number {
    const made = this.allocator._native.createImageView(allocation._handle, viewType, aspect, baseMip, levelCount);
    if (made !== 0) return made;
    return viewCells.makeWith(viewHandles(), scratchU32[Slot.OutResource * 2]!, scratchU32[Slot.OutResource * 2 + 1]!);
  }

  _createBuffer(bufferInfo: BufferInfo, options: AllocationOptions | undefined, flags: number): CreatedBuffer {
    const allocation = this._createBufferAllocation(bufferInfo, options, flags, undefined);
    return new CreatedBufferResult(allocation._resource, allocation);
  }

  /**
   * vmaCreateBuffer from the encoded scratch: the allocation (its `_resource` is the buffer), no result object.
   * `name`, when given, is the allocation's name instead of `options.name` (a FrameManager's label, checked).
   */
  _createBufferAllocation(
    bufferInfo: BufferInfo,
    options: AllocationOptions | undefined,
    flags: number,
    name: string | undefined,
  ): Allocation {
    const h = this.allocator._handle;
    let result = this.allocator._native.createBuffer(h, name);
    if (result !== 0) {
      if (result === -2 && options?.canMakeOtherLost === true) {
        result = this.parts.lost.makeRoom("buffer", bufferInfo, bufferInfo.size, options, () => {
          this.parts.descriptions.encodeBuffer(bufferInfo, "createBuffer", "bufferInfo");
          encodeAllocationOptions(options, "createBuffer", "allocationOptions", this.allocator);
          return this.allocator._native.createBuffer(h, name);
        });
      }
      if (result !== 0) this.refused(result, "buffer", options, "vmaCreateBuffer");
    }
    const buffer = handleCells.makeWith(
      bufferHandles(),
      scratchU32[Slot.OutResource * 2],
      scratchU32[Slot.OutResource * 2 + 1],
    );
    const allocation = this.finish(result, "buffer", buffer, flags, options, "vmaCreateBuffer", name);
    // Kept for defragmentation's replacement buffer: the values just encoded (and checked) for the native call.
    allocation._bufferSize = scratch[0];
    allocation._bufferUsage = scratch[1];
    allocation._bufferFlags = scratch[2];
    return allocation;
  }

  _createImage(imageInfo: ImageInfo, options: AllocationOptions | undefined, flags: number): CreatedImage {
    const allocation = this._createImageAllocation(imageInfo, options, flags, undefined);
    return new CreatedImageResult(allocation._resource, allocation);
  }

  /** vmaCreateImage from the encoded scratch: the allocation (its `_resource` is the image); `name` as for buffers. */
  _createImageAllocation(
    imageInfo: ImageInfo,
    options: AllocationOptions | undefined,
    flags: number,
    name: string | undefined,
  ): Allocation {
    const op = "createImage";
    const h = this.allocator._handle;
    let result = this.allocator._native.createImage(h, name);
    if (result !== 0) {
      if (result === -2 && options?.canMakeOtherLost === true) {
        const lost = this.parts.lost;
        result = lost.makeRoom("image", imageInfo, lost.imageSize(imageInfo), options, () => {
          this.parts.descriptions.encodeImage(imageInfo, op, "imageInfo");
          encodeAllocationOptions(options, op, "allocationOptions", this.allocator);
          return this.allocator._native.createImage(h, name);
        });
      }
      if (result !== 0) this.refused(result, "image", options, "vmaCreateImage");
    }
    const image = handleCells.makeWith(
      imageHandles(),
      scratchU32[Slot.OutResource * 2],
      scratchU32[Slot.OutResource * 2 + 1],
    );
    const allocation = this.finish(result, "image", image, flags, options, "vmaCreateImage", name);
    allocation._createInfo = scratch.slice(0, IMAGE_CREATE_INFO_LENGTH);
    return allocation;
  }

  _allocateMemory(
    requirements: MemoryRequirements,
    options: AllocationOptions | undefined,
    flags: number,
    op: string,
  ): Allocation {
    const { size, alignment, memoryTypeBits } = requirements;
    const addon = this.allocator._native;
    const h = this.allocator._handle;
    scratch[0] = size;
    scratch[1] = alignment;
    scratch[2] = memoryTypeBits;
    let result = addon.allocateMemory(h);
    if (result === -2 && options?.canMakeOtherLost === true) {
      result = this.parts.lost.makeRoom("memory", memoryTypeBits, size, options, () => {
        encodeAllocationOptions(options, op, "allocationOptions", this.allocator, true);
        scratch[0] = size;
        scratch[1] = alignment;
        scratch[2] = memoryTypeBits;
        return addon.allocateMemory(h);
      });
    }
    return this.finish(result, "memory", null, flags, options, "vmaAllocateMemory");
  }

  _allocateMemoryFor(
    resource: object,
    raw: bigint,
    image: boolean,
    options: AllocationOptions | undefined,
    flags: number,
    op: string,
  ): Allocation {
    const addon = this.allocator._native;
    const h = this.allocator._handle;
    const attempt = () => (image ? addon.allocateMemoryForImage(h, raw) : addon.allocateMemoryForBuffer(h, raw));
    let result = attempt();
    if (result === -2 && options?.canMakeOtherLost === true) {
      const device = this.allocator.device;
      const requirements = new nvk.VkMemoryRequirements();
      if (image) nvk.vkGetImageMemoryRequirements(device, resource, requirements);
      else nvk.vkGetBufferMemoryRequirements(device, resource, requirements);
      result = this.parts.lost.makeRoom(
        "memory",
        requirements.memoryTypeBits,
        Number(requirements.size),
        options,
        () => {
          encodeAllocationOptions(options, op, "allocationOptions", this.allocator, true);
          return attempt();
        },
      );
    }
    return this.finish(
      result,
      "memory",
      null,
      flags,
      options,
      image ? "vmaAllocateMemoryForImage" : "vmaAllocateMemoryForBuffer",
    );
  }

  /**
   * vmaAllocateMemoryPages: `count` allocations of the checked requirements and the encoded options, all or none
   * (VMA frees a batch it could not complete; one that fails to be adopted here takes the rest back with it).
   */
  _allocatePages(
    requirements: MemoryRequirements,
    options: AllocationOptions | undefined,
    flags: number,
    count: number,
  ): Allocation[] {
    const addon = this.allocator._native;
    scratch[0] = requirements.size;
    scratch[1] = requirements.alignment;
    scratch[2] = requirements.memoryTypeBits;
    const out = addon.allocateMemoryPages(this.allocator._handle, count);
    if (typeof out === "number") return [this.finish(out, "memory", null, flags, options, "vmaAllocateMemoryPages")];
    const made: Allocation[] = [];
    try {
      for (let i = 0; i < count; i++) {
        scratch[Slot.OutAllocation] = out[i * 3];
        scratch[Slot.OutSize] = out[i * 3 + 1];
        scratch[Slot.OutMapped] = out[i * 3 + 2];
        made.push(this.finish(0, "memory", null, flags, options, "vmaAllocateMemoryPages"));
      }
    } catch (error) {
      // finish() freed the one it failed on; give back the adopted ones and the ones not reached.
      for (const a of made) this._free(a);
      for (let i = made.length + 1; i < count; i++) addon.freeAllocation(out[i * 3]);
      throw error;
    }
    return made;
  }

  /**
   * vmaCreateDedicatedBuffer / vmaCreateDedicatedImage of the description and options in the scratch: as
   * {@link _createBuffer} / {@link _createImage} (making room when `canMakeOtherLost`), through VMA 3.4's dedicated calls.
   */
  _createDedicated(
    info: BufferInfo | ImageInfo,
    options: AllocationOptions | undefined,
    flags: number,
    image: boolean,
  ): CreatedBuffer | CreatedImage {
    const op = image ? "createDedicatedImage" : "createDedicatedBuffer";
    const vmaOp = image ? "vmaCreateDedicatedImage" : "vmaCreateDedicatedBuffer";
    const addon = this.allocator._native;
    const h = this.allocator._handle;
    let result = addon.createDedicatedResource(h, image);
    if (result === -2 && options?.canMakeOtherLost === true) {
      const lost = this.parts.lost;
      const size = image ? lost.imageSize(info as ImageInfo) : (info as BufferInfo).size;
      result = lost.makeRoom(image ? "image" : "buffer", info, size, options, () => {
        if (image) this.parts.descriptions.encodeImage(info as ImageInfo, op, "imageInfo");
        else this.parts.descriptions.encodeBuffer(info as BufferInfo, op, "bufferInfo");
        encodeAllocationOptions(options, op, "allocationOptions", this.allocator);
        return addon.createDedicatedResource(h, image);
      });
    }
    const kind = image ? "image" : "buffer";
    if (result !== 0) this.refused(result, kind, options, vmaOp);
    const ctor = image ? imageHandles() : bufferHandles();
    const resource = handleCells.makeWith(ctor, scratchU32[Slot.OutResource * 2], scratchU32[Slot.OutResource * 2 + 1]);
    const allocation = this.finish(0, kind, resource, flags, options, vmaOp);
    return image ? new CreatedImageResult(resource, allocation) : new CreatedBufferResult(resource, allocation);
  }

  _bind(allocation: Allocation, resource: object, raw: bigint, localOffset: number, image: boolean): void {
    const addon = this.allocator._native;
    const h = allocation._handle;
    const r = image ? addon.bindImageMemory(h, raw, localOffset) : addon.bindBufferMemory(h, raw, localOffset);
    check(r, image ? "vmaBindImageMemory2" : "vmaBindBufferMemory2", allocation.label);
    allocation._resource = resource;
  }

  _free(allocation: Allocation): void {
    const h = allocation._handle;
    const created = allocation.kind !== "memory" ? allocation._resource : null;
    // The Free record: written by the native free call (recording.ts), or after it when that call did not.
    const writer = this.allocator._recording?.writer;
    writer?.armNativeFree(h);
    allocation._release();
    if (this.parts.stacks !== null) this.parts.stacks.delete(h);
    this.parts.leakWatch.forget(h);
    this.parts.index?.delete(h);
    try {
      this.allocator._native.freeAllocation(h);
    } finally {
      writer?.endNativeFree(h);
    }
    // The buffer/image object vkmem made now names a destroyed object: it becomes a null handle and its
    // cell serves the next one (HandleCellPool).
    if (created !== null) handleCells.recycle(created);
  }

  /** An allocation the native layer freed already (a defragmentation move's "destroy"): the same as _free without the call. */
  _forgetFreed(allocation: Allocation): void {
    const h = allocation._handle;
    const created = allocation.kind !== "memory" ? allocation._resource : null;
    this.allocator._recording?.writer.free(h);
    allocation._release();
    if (this.parts.stacks !== null) this.parts.stacks.delete(h);
    this.parts.leakWatch.forget(h);
    this.parts.index?.delete(h);
    if (created !== null) handleCells.recycle(created);
  }

  /** A creation VMA refused with `result`: recorded (when recording) and thrown as the VkError of `operation`. */
  private refused(
    result: number,
    kind: AllocationKind,
    options: AllocationOptions | undefined,
    operation: string,
  ): never {
    const recording = this.allocator._recording;
    recording?.failed(recording.poolId(options?.pool), kind, vkmemFlagsOf(options), options?.name, result);
    throw vkErrorFor(result, operation, options?.name);
  }

  /** Wraps the native result of a create call: the Allocation, named and with user data. */
  private finish(
    result: number,
    kind: AllocationKind,
    resource: any,
    vmaFlags: number,
    options: AllocationOptions | undefined,
    operation: string,
    nameOverride?: string,
  ): Allocation {
    if (result !== 0) this.refused(result, kind, options, operation);
    const addon = this.allocator._native;
    const handle = scratch[Slot.OutAllocation];
    const persistent = (vmaFlags & AllocationCreateFlags.MAPPED) !== 0 && scratch[Slot.OutMapped] !== 0;
    // The options not read before the native call, read once here: a getter that throws (the caller's error) or a
    // bad name must not leave the allocation behind, so it is freed before the error goes on.
    let name: string | undefined;
    let userData: unknown = undefined;
    let pool: AllocationOptions["pool"];
    let canBecomeLost = false;
    let canMakeOtherLost = false;
    if (options !== undefined) {
      try {
        name = options.name;
        userData = options.userData;
        pool = options.pool;
        canBecomeLost = options.canBecomeLost === true;
        canMakeOtherLost = options.canMakeOtherLost === true;
      } catch (error) {
        addon.freeAllocation(handle);
        if (resource !== null) handleCells.recycle(resource);
        throw error;
      }
      if (name !== undefined) {
        if (typeof name !== "string" || name.includes("\0")) {
          addon.freeAllocation(handle); // nothing may leak on a bad name
          if (resource !== null) handleCells.recycle(resource);
          fail(operation, "allocationOptions.name", "must be a string without NUL characters", name, TypeError);
        }
        addon.setAllocationName(handle, name);
      }
      if (Number.isSafeInteger(userData) && (userData as number) >= 0)
        addon.setAllocationUserData(handle, userData as number);
    }
    // Checked by the caller (a string without NUL) and given to VMA by the native create call itself.
    if (nameOverride !== undefined) name = nameOverride;
    const allocation = new Allocation(
      this.allocator,
      kind,
      handle,
      scratch[Slot.OutSize],
      resource,
      persistent,
      name ?? null,
      userData,
      pool ?? null,
    );
    allocation._mappingAllowed = encodedMappingAllowed();
    allocation._canAlias = (vmaFlags & AllocationCreateFlags.CAN_ALIAS) !== 0;
    const stacks = this.parts.stacks;
    if (stacks !== null) stacks.set(handle, callerStack());
    // The safety net (engine/lifetime.ts): only a warning when GC finds it unfreed; its pool or allocator frees it.
    // Only for an allocator that captures creation stacks (the debugging mode): a FinalizationRegistry cell per
    // allocation cost the hot path as much GC time as the rest of the call, and without it a dropped allocation is
    // still freed and reported, by name, when its allocator is destroyed.
    if (stacks !== null) this.parts.leakWatch.watch(allocation, handle);
    this.parts.index?.add(allocation);
    if (canBecomeLost) this.parts.lost.track(allocation, pool, scratch[Slot.OutMemoryType]);
    // Recorded last, from the scratch outputs of the creation (block size included): the record the native call
    // encoded when it is the right one (recording.ts), else here.
    const recording = this.allocator._recording;
    if (recording !== null) {
      const vkmemFlags = (canBecomeLost ? 1 : 0) | (canMakeOtherLost ? 2 : 0); // vkmemFlagsOf's codes, no object
      if (!recording.nativeAllocated(handle, pool, vkmemFlags, name, nameOverride)) {
        recording.allocated(
          handle,
          recording.poolId(pool),
          kind,
          vkmemFlags,
          name ?? null,
          kind === "memory" && operation !== "vmaAllocateMemory",
        );
      }
    }
    return allocation;
  }
}

/** The stack of the caller that made an allocation: the frames inside engine/memory dropped from its top. */
function callerStack(): string {
  const lines = (new Error().stack ?? "").split("\n").slice(1);
  let k = 0;
  while (k < lines.length - 1 && /[\\/]engine[\\/]memory[\\/]/.test(lines[k]!)) k++;
  return lines.slice(k).join("\n");
}

/**
 * What createBuffer / createImage return: the allocation's info snapshot is taken from the scratch outputs when the
 * call returns (as numbers: naming, user data and mapping do not write the scratch) and made into an AllocationInfo
 * only when `allocationInfo` is read, which most callers never do: one object fewer per creation.
 */
class CreatedResult {
  readonly #memoryType = scratch[Slot.OutMemoryType]!;
  readonly #offset = scratch[Slot.OutOffset]!;
  readonly #size = scratch[Slot.OutSize]!;
  readonly #memoryLo = scratchU32[Slot.OutMemory * 2]!;
  readonly #memoryHi = scratchU32[Slot.OutMemory * 2 + 1]!;
  readonly #view: ArrayBuffer | null;
  readonly #name: string | null;
  readonly #userData: unknown;
  #info: AllocationInfo | null = null;
  constructor(readonly allocation: Allocation) {
    this.#view = allocation.persistentlyMapped ? allocation.mappedData : null;
    this.#name = allocation.name;
    this.#userData = allocation.userData;
  }
  /** A snapshot of where the allocation went, as the creation left it. */
  get allocationInfo(): AllocationInfo {
    return (this.#info ??= new AllocationInfo(
      this.#memoryType,
      this.#offset,
      this.#size,
      this.#memoryLo,
      this.#memoryHi,
      this.#view,
      this.#name,
      this.#userData,
    ));
  }
}

class CreatedBufferResult extends CreatedResult implements CreatedBuffer {
  constructor(
    readonly buffer: any,
    allocation: Allocation,
  ) {
    super(allocation);
  }
}

class CreatedImageResult extends CreatedResult implements CreatedImage {
  constructor(
    readonly image: any,
    allocation: Allocation,
  ) {
    super(allocation);
  }
}
