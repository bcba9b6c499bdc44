/**
 * Allocation: one piece of device memory handed out by an {@link Allocator}.
 *
 * Invariants:
 * - An Allocation is created only by its Allocator (createBuffer, createImage, allocateMemory*) and freed
 *   only through it (destroyBuffer, destroyImage, freeMemory), by the allocator's own destroy(), or by
 *   destroying the custom pool it came from. After any of these, every method throws {@link DestroyedResourceError} and `destroyed` is true.
 * - Mapped memory reaches JS only as an ArrayBuffer over exactly the allocation's bytes. There is at
 *   most one such ArrayBuffer per allocation; it is detached (every view over it reads as length 0)
 *   before the memory is unmapped for the last time or freed. JS can never touch unmapped or freed memory.
 * - An allocation created with `canBecomeLost` may be made lost by its allocator (engine/memory/lost-allocations.ts):
 *   its memory is then freed while the object lives on with `lost` true; `touch()` returns false and every other
 *   member throws {@link AllocationLostError} until the owner releases it with destroyBuffer / destroyImage / freeMemory.
 * - The map count here mirrors VMA's for this allocation: map() increments, unmap() decrements and
 *   refuses to go below zero. A persistently mapped allocation (created with `mapped: true`) keeps one
 *   extra native mapping for its whole life, so its ArrayBuffer survives the user's unmaps.
 *
 * Imports: this module names nothing above it. Its two public links upward, `allocator` and `pool`, are declared
 * by the modules that define those classes (allocator.ts and pool.ts, by declaration merging into this class), so
 * that engine/memory has no import cycle while the public shape stays `allocation.allocator: Allocator` and
 * `allocation.pool: Pool | null`.
 * @module
 */
import {
  AllocationLostError,
  DestroyedResourceError,
  describeValue,
  vkErrorFor,
  InvalidStateError,
} from "../errors.js";
import { scratch, scratchU32, Slot } from "../native.js";
import { nvk } from "../vulkan/nvk.js";
import { rawHandle, wrapHandle, type HandleKey, type NvkHandle } from "../vulkan/handles.js";
import type { LostDomain } from "./lost-domain.js";

/** VMA counts the maps of one allocation in 8 bits and asserts beyond 255 (VmaAllocation_T::BlockAllocMap). */
const MAX_MAPS = 255;

/** What kind of resource an allocation backs. */
export type AllocationKind = "buffer" | "image" | "memory";

/**
 * A snapshot of where an allocation lives (VMA's VmaAllocationInfo). Cheap to make: the Vulkan memory
 * handle is only wrapped as an nvk object when `deviceMemory` is read.
 */
export class AllocationInfo {
  /** Index of the memory type the allocation is in. */
  readonly memoryType: number;
  /** Offset of the allocation in its VkDeviceMemory, in bytes. */
  readonly offset: number;
  /** Size of the allocation, in bytes (at least what was asked). */
  readonly size: number;
  /** The mapped bytes when the allocation is mapped (persistently or by map()), else null. */
  readonly mappedData: ArrayBuffer | null;
  /** The allocation's name, or null. */
  readonly name: string | null;
  /** The allocation's user data. */
  readonly userData: unknown;
  private readonly memoryLo: number;
  private readonly memoryHi: number;

  /** @internal Made by Allocator / Allocation from the scratch outputs. */
  constructor(
    memoryType: number,
    offset: number,
    size: number,
    memoryLo: number,
    memoryHi: number,
    mappedData: ArrayBuffer | null,
    name: string | null,
    userData: unknown,
  ) {
    this.memoryType = memoryType;
    this.offset = offset;
    this.size = size;
    this.memoryLo = memoryLo;
    this.memoryHi = memoryHi;
    this.mappedData = mappedData;
    this.name = name;
    this.userData = userData;
  }

  /** The raw VkDeviceMemory handle. */
  get deviceMemoryHandle(): bigint {
    return (BigInt(this.memoryHi) << 32n) | BigInt(this.memoryLo);
  }

  /** The VkDeviceMemory as a fresh nvk handle object (the memory stays VMA's: never free it yourself). */
  get deviceMemory(): NvkHandle {
    return wrapHandle(nvk.VkDeviceMemory, this.deviceMemoryHandle);
  }

  /** @internal An info object from the scratch outputs of the last native call. */
  static fromScratch(mappedData: ArrayBuffer | null, name: string | null, userData: unknown): AllocationInfo {
    return new AllocationInfo(
      scratch[Slot.OutMemoryType],
      scratch[Slot.OutOffset],
      scratch[Slot.OutSize],
      scratchU32[Slot.OutMemory * 2],
      scratchU32[Slot.OutMemory * 2 + 1],
      mappedData,
      name,
      userData,
    );
  }
}

/** The range a flush or invalidate covered, in the VkDeviceMemory, rounded as VMA rounds it. */
export interface MappedRange {
  /** Offset in the VkDeviceMemory, a multiple of nonCoherentAtomSize. */
  offset: number;
  /** Size, a multiple of nonCoherentAtomSize unless clamped to the end of the memory block. */
  size: number;
  /**
   * Whether VMA called vkFlushMappedMemoryRanges / vkInvalidateMappedMemoryRanges: only for a HOST_VISIBLE memory type
   * without HOST_COHERENT. Coherent memory needs no call, and memory the CPU cannot see has nothing to flush.
   */
  performed: boolean;
}

/**
 * One allocation of device memory, with the buffer or image vkmem created with it, if any.
 * Created by {@link Allocator}; freed by `allocator.destroyBuffer/destroyImage/freeMemory`.
 */
export class Allocation {
  /** What it backs. */
  readonly kind: AllocationKind;
  /** @internal Slot handle in the native table; 0 once freed. */
  _handle: number;
  /** @internal The nvk buffer/image created with it (createBuffer/createImage), else null. */
  _resource: object | null;
  // The fields a free reads and writes come first, beside the three above, so that they share the object's first
  // cache line: a FrameManager frees a thousand allocations a frame that nothing has touched since they were made.
  /** @internal Lost-allocation bookkeeping (lost-allocations.ts): its domain's list links, null when not lost-able. */
  _domain: LostDomain<Allocation> | null = null;
  /**
   * @internal The value of the buffer or image bound to it with bind*Memory, as a HandleKey (0: none). Kept after
   * free, so that the user's handle object can be recognised as dead (engine/vulkan/handles.ts, HandleRegistry).
   */
  _resourceKey: HandleKey = 0;
  private _mapCount = 0;
  private _view: ArrayBuffer | null = null;
  /**
   * Called when the allocation is made lost, before its buffer or image is destroyed and its memory freed: the
   * owner destroys what depends on it (views, descriptors). Set it after creation; see lost-allocations.ts.
   */
  onLost: ((allocation: Allocation) => void) | null = null;
  /** @internal */
  _lruPrev: Allocation | null = null;
  /** @internal */
  _lruNext: Allocation | null = null;
  /** @internal The frame index of its last use (creation or touch). */
  _lastUse = 0;
  /** @internal Made lost in this frame (-1: never lost). */
  _lostFrame = -1;
  /** @internal Lost, and then released by its owner (destroyBuffer, destroyImage or freeMemory on it). */
  _lostReleased = false;
  /** @internal Created with canBecomeLost. */
  _canBecomeLost = false;
  /** @internal VMA lets it be mapped: created with hostAccess or a non-Auto usage (usage.ts, encodedMappingAllowed). */
  _mappingAllowed = true;
  /**
   * @internal The create info of the image vkmem made with it, as encoded for the native call (resource-descriptions.ts'
   * 13 numbers), so that defragmentation can make its replacement at the new place (defragmentation.ts); else null.
   */
  _createInfo: Float64Array | null = null;
  /** @internal The size, usage and create flags of the buffer vkmem made with it (for the same purpose), else 0. */
  _bufferSize = 0;
  /** @internal */
  _bufferUsage = 0;
  /** @internal */
  _bufferFlags = 0;
  /** @internal An open defragmentation pass moves it (defragmentation.ts). */
  _moving = false;
  /** @internal Created with `canAlias` (VMA's CAN_ALIAS): buffers and images may alias it (./aliasing.ts). */
  _canAlias = false;
  /** @internal Its live aliasing buffers and images (./aliasing.ts), null while it has none. */
  _aliases: Set<object> | null = null;
  private _name: string | null;
  private _userData: unknown;
  /** @internal */
  _size: number;
  private _persistent: boolean;

  /** @internal */
  constructor(
    allocator: Allocation["allocator"],
    kind: AllocationKind,
    handle: number,
    size: number,
    resource: object | null,
    persistent: boolean,
    name: string | null,
    userData: unknown,
    pool: Allocation["pool"] = null,
  ) {
    // Declared by allocator.ts and pool.ts (see the module comment); set first, as a field would be.
    (this as { allocator: Allocation["allocator"] }).allocator = allocator;
    this.kind = kind;
    (this as { pool: Allocation["pool"] }).pool = pool;
    this._handle = handle;
    this._size = size;
    this._resource = resource;
    this._persistent = persistent;
    this._name = name;
    this._userData = userData;
  }

  /**
   * True once the allocation was freed (or its allocator or pool destroyed). A lost allocation is not destroyed
   * until its owner releases it (destroyBuffer / destroyImage / freeMemory).
   */
  get destroyed(): boolean {
    return (
      (this._handle === 0 && (this._lostFrame < 0 || this._lostReleased)) ||
      this.allocator._handle === 0 ||
      (this.pool !== null && !this.pool._alive)
    );
  }

  /** True once it was made lost (see engine/memory/lost-allocations.ts); stays true after it is released. */
  get lost(): boolean {
    return this._lostFrame >= 0;
  }

  /** The allocator frame index in which it was made lost, or -1 when it was not. Readable after release too. */
  get lostInFrame(): number {
    return this._lostFrame;
  }

  /** True when created with `canBecomeLost`. */
  get canBecomeLost(): boolean {
    return this._canBecomeLost;
  }

  /**
   * Marks the allocation used in the allocator's current frame ({@link Allocator.touch}).
   * @returns false when it is lost (its memory is gone), true otherwise.
   * @throws DestroyedResourceError once released or freed.
   */
  touch(): boolean {
    return this.allocator.touch(this);
  }

  /** Its label for messages: the name, or undefined. */
  get label(): string | undefined {
    return this._name ?? undefined;
  }

  /** @internal Throws DestroyedResourceError when freed; returns the native handle. */
  _live(operation: string): number {
    const h = this._handle;
    if (h === 0 || this.allocator._handle === 0 || (this.pool !== null && !this.pool._alive)) {
      if (this._lostFrame >= 0 && !this.destroyed)
        throw new AllocationLostError(this.label, this._lostFrame, operation);
      // Freed with its pool or allocator (engine/lifetime.ts): the message names the parent that went away.
      const parent =
        this.allocator._handle === 0
          ? this.allocator._destroyCause
          : this.pool !== null && !this.pool._alive
            ? this.pool._goneCause
            : undefined;
      throw new DestroyedResourceError("Allocation", this.label, operation, parent);
    }
    return h;
  }

  /**
   * Size in bytes. Still readable once the allocation is lost (until it is released), so that owners can account for
   * what they release.
   */
  get size(): number {
    if (this._lostFrame < 0 || this.destroyed) this._live("size");
    return this._size;
  }

  /** A fresh {@link AllocationInfo} snapshot. @throws DestroyedResourceError */
  get info(): AllocationInfo {
    const mapped = this.mappedData;
    this.allocator._native.getAllocationInfo(this._live("info"));
    return AllocationInfo.fromScratch(mapped, this._name, this._userData);
  }

  /** Index of its memory type. */
  get memoryType(): number {
    this.allocator._native.getAllocationInfo(this._live("memoryType"));
    return scratch[Slot.OutMemoryType];
  }

  /** Offset in its VkDeviceMemory. */
  get offset(): number {
    this.allocator._native.getAllocationInfo(this._live("offset"));
    return scratch[Slot.OutOffset];
  }

  /** True when it has a VkDeviceMemory of its own (dedicated allocation). */
  get dedicated(): boolean {
    this.allocator._native.getAllocationInfo(this._live("dedicated"));
    return scratch[Slot.OutDedicated] === 1;
  }

  /** Size of the VkDeviceMemory block it lives in (its own size when dedicated). */
  get blockSize(): number {
    this.allocator._native.getAllocationInfo(this._live("blockSize"));
    return scratch[Slot.OutBlockSize];
  }

  /** VkMemoryPropertyFlags of its memory type. */
  get memoryProperties(): number {
    return this.allocator._native.getMemoryTypeProperties(this._live("memoryProperties"));
  }

  /** Its name (shown in the JSON dump and leak reports), or null. */
  get name(): string | null {
    this._live("name");
    return this._name;
  }

  set name(value: string | null) {
    const h = this._live("name");
    if (value !== null && typeof value !== "string") {
      throw new TypeError(`Allocation.name must be a string or null, got ${describeValue(value)}`);
    }
    if (value !== null && value.includes("\0")) {
      throw new RangeError(`Allocation.name must not contain NUL characters, got ${describeValue(value)}`);
    }
    this.allocator._native.setAllocationName(h, value);
    this.allocator._recording?.writer.setName(h, value);
    this._name = value;
  }

  /** Any JS value; a safe non-negative integer is also VMA's pUserData (the dump's CustomData). */
  get userData(): unknown {
    this._live("userData");
    return this._userData;
  }

  set userData(value: unknown) {
    const h = this._live("userData");
    this.allocator._native.setAllocationUserData(
      h,
      Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : 0,
    );
    this._userData = value;
  }

  /** How many map() calls are not yet matched by unmap(). */
  get mapCount(): number {
    this._live("mapCount");
    return this._mapCount;
  }

  /** True when created with `mapped: true` and its memory type is host-visible. */
  get persistentlyMapped(): boolean {
    this._live("persistentlyMapped");
    return this._persistent;
  }

  /**
   * The mapped bytes while mapped (persistently, or between map() and the last unmap()), else null.
   * The ArrayBuffer is the same object for every map of this allocation.
   */
  get mappedData(): ArrayBuffer | null {
    const h = this._live("mappedData");
    if (this._view === null && this._persistent) {
      // The persistent mapping's own view: one native map held until free.
      this._view = this.allocator._native.map(h, true) as ArrayBuffer;
      this.allocator._trackMapped(this);
    }
    return this._view;
  }

  /**
   * @internal The persistent mapping's bytes, for a FrameManager upload written in place (frame-manager.ts): null when
   * it is not persistently mapped or when buffers or images alias it (their uses are not the owner's to know).
   */
  _persistentView(): ArrayBuffer | null {
    return this._persistent && this._aliases === null ? this.mappedData : null;
  }

  /**
   * Maps the memory (reference-counted, as VMA does) and returns its bytes as an ArrayBuffer.
   * @throws VkError (VK_ERROR_MEMORY_MAP_FAILED when the memory type is not host-visible)
   * @throws TypeError when it was created with `canBecomeLost`.
   * @throws DestroyedResourceError
   */
  map(): ArrayBuffer {
    const h = this._live("map");
    if (this._canBecomeLost) {
      throw new TypeError(
        `Allocation${this._name === null ? "" : ` '${this._name}'`}.map(): an allocation that can become lost cannot be mapped (its memory may be freed at any allocation)`,
      );
    }
    // VMA's preconditions on vmaMapMemory (it asserts on both): host access declared, and at most 255 maps at once.
    if (!this._mappingAllowed) {
      throw new TypeError(
        `Allocation${this._name === null ? "" : ` '${this._name}'`}.map(): it was created with an Auto usage and no hostAccess, so VMA does not allow mapping it: create it with allocationOptions.hostAccess 'sequentialWrite' or 'random'`,
      );
    }
    const limit = this._persistent ? MAX_MAPS - 1 : MAX_MAPS;
    if (this._mapCount >= limit) {
      throw new RangeError(
        `Allocation${this._name === null ? "" : ` '${this._name}'`}.map(): it is mapped ${this._mapCount} times already, VMA's limit${this._persistent ? " beside the persistent mapping" : ""}; unmap() first, got map count ${this._mapCount}`,
      );
    }
    const view = this._view;
    if (view !== null) {
      this.allocator._native.map(h, false);
      this._mapCount++;
      this.allocator._recording?.writer.map(h);
      return view;
    }
    if ((this.allocator._native.getMemoryTypeProperties(h) & 0x2) === 0) {
      throw vkErrorFor(-5, "vmaMapMemory", this.label, `memory type ${this.memoryType} is not HOST_VISIBLE`);
    }
    this._view = this.allocator._native.map(h, true) as ArrayBuffer;
    this._mapCount++;
    if (this._persistent) {
      // The persistent view was never made: this map's view serves as it; take the persistent map now.
      this.allocator._native.map(h, false);
    }
    this.allocator._trackMapped(this);
    this.allocator._recording?.writer.map(h);
    return this._view;
  }

  /**
   * Releases one map(). The last one detaches the ArrayBuffer (unless persistently mapped) before
   * the memory is unmapped.
   * @throws Error when there is no map() to match.
   */
  unmap(): void {
    const h = this._live("unmap");
    if (this._mapCount === 0) {
      throw new InvalidStateError(
        `Allocation${this._name === null ? "" : ` '${this._name}'`}`,
        "unmap()",
        "it is not mapped (map count 0)",
      );
    }
    if (this._mapCount === 1 && !this._persistent && this._view !== null) {
      this.allocator._native.detach(this._view);
      this._view = null;
      this.allocator._untrackMapped(this);
    }
    this._mapCount--;
    this.allocator._native.unmap(h);
    this.allocator._recording?.writer.unmap(h);
  }

  /**
   * Flushes CPU writes in `[offset, offset + size)` (allocation-relative) to the device. Needed only
   * for non-HOST_COHERENT memory; VMA widens the range to nonCoherentAtomSize and skips coherent memory.
   * @returns the range as VMA flushes it.
   * @throws RangeError when the range is outside the allocation.
   */
  flush(offset = 0, size?: number): MappedRange {
    return this.flushOrInvalidate(true, offset, size);
  }

  /** Makes device writes in the range visible to the CPU; see {@link flush}. */
  invalidate(offset = 0, size?: number): MappedRange {
    return this.flushOrInvalidate(false, offset, size);
  }

  private flushOrInvalidate(flush: boolean, offset: number, size: number | undefined): MappedRange {
    const op = flush ? "flush" : "invalidate";
    const h = this._live(op);
    const total = this._size;
    if (!(typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0 && offset <= total)) {
      throw new RangeError(
        `Allocation.${op}: offset must be an integer in [0, ${total}], got ${describeValue(offset)}`,
      );
    }
    const length = size === undefined ? total - offset : size;
    if (!(typeof length === "number" && Number.isSafeInteger(length) && length >= 0 && offset + length <= total)) {
      throw new RangeError(
        `Allocation.${op}: size must be an integer with offset + size <= ${total} (offset ${offset}), got ${describeValue(size)}`,
      );
    }
    const range = this._atomRange(offset, length);
    if (length === 0) return { ...range, size: 0, performed: false };
    const r = flush
      ? this.allocator._native.flush(h, offset, length)
      : this.allocator._native.invalidate(h, offset, length);
    if (r < 0) throw vkErrorFor(r, flush ? "vmaFlushAllocation" : "vmaInvalidateAllocation", this.label);
    return range;
  }

  /** @internal The range VMA computes for a flush/invalidate of [offset, offset+size) (VMA's GetFlushOrInvalidateRange). */
  _atomRange(offset: number, size: number): MappedRange {
    const h = this._handle;
    this.allocator._native.getAllocationInfo(h);
    const allocOffset = scratch[Slot.OutOffset];
    const blockSize = scratch[Slot.OutBlockSize];
    const dedicated = scratch[Slot.OutDedicated] === 1;
    // VMA's IsMemoryTypeNonCoherent: HOST_VISIBLE (0x2) without HOST_COHERENT (0x4). Only there are offsets aligned
    // to nonCoherentAtomSize (VMA's GetMemoryTypeMinAlignment) and a Vulkan call made.
    const nonCoherent = (this.allocator._native.getMemoryTypeProperties(h) & 0x6) === 0x2;
    const atom = this.allocator.nonCoherentAtomSize;
    const start = Math.floor(offset / atom) * atom;
    let length = Math.ceil((size + (offset - start)) / atom) * atom;
    let memOffset = start;
    if (dedicated) {
      length = Math.min(length, this._size - start);
    } else {
      memOffset = allocOffset + start;
      length = Math.min(length, blockSize - memOffset);
    }
    return { offset: memOffset, size: length, performed: nonCoherent };
  }

  /** @internal Raw handle of the buffer/image created with it or bound to it, 0n if none. */
  get _resourceHandle(): bigint {
    return this._resource === null ? 0n : rawHandle(this._resource as NvkHandle);
  }

  /**
   * @internal Defragmentation is about to commit a move of this allocation (defragmentation.ts): the view over the old
   * place is detached before VMA frees that memory. Returns whether it had one.
   */
  _detachForMove(): boolean {
    if (this._view === null) return false;
    this.allocator._native.detach(this._view);
    this._view = null;
    return true;
  }

  /**
   * @internal The move was committed: VMA carried the map count to the new place, so a view is made over it again
   * (a map and an unmap leave the count as it was) for an allocation that had one.
   */
  _remapAfterMove(): void {
    const h = this._handle;
    this._view = this.allocator._native.map(h, true) as ArrayBuffer;
    this.allocator._native.unmap(h);
  }

  /** @internal Called by the allocator right before the native free: detach any view, mark freed. */
  _release(): void {
    if (this._view !== null) {
      this.allocator._native.detach(this._view);
      this._view = null;
      this.allocator._untrackMapped(this);
    }
    this._mapCount = 0;
    this._handle = 0;
    this._resource = null;
  }
}
