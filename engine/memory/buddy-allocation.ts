/**
 * BuddyAllocation: one node of a buddy pool's block (./buddy-pool.ts explains the pool), and BuddyBlock, the block
 * it lives in.
 *
 * A BuddyAllocation behaves as any {@link Allocation} (the same getters, map/unmap, flush/invalidate, freed through
 * the allocator) but keeps its name, user data, map count and view here: VMA knows only the block, a dedicated
 * allocation at offset 0 of its own VkDeviceMemory, so a node's offset in the block is its offset in the memory.
 *
 * Mapping invariants: a block is mapped (vmaMapMemory on its allocation) while at least one of its nodes holds a
 * view, and unmapped when the last view goes; a node's ArrayBuffer covers exactly its `size` bytes at its offset
 * and is detached before its unmap, its free or the block's unmap. Flush and invalidate go to the block's
 * allocation at the node's offset.
 * @module
 */
import { withoutRecording } from "./recording.js";
import { describeValue, vkErrorFor, InvalidStateError } from "../errors.js";
import { native } from "../native.js";
import { nvk } from "../vulkan/nvk.js";
import { wrapHandle, type NvkHandle } from "../vulkan/handles.js";
import { Allocation, AllocationInfo, type AllocationKind, type MappedRange } from "./allocation.js";
import type { Pool } from "./pool.js";
import type { VirtualBlock } from "./virtual-block.js";
import { unwatch } from "../lifetime.js";

const HOST_VISIBLE = 0x2;

/**
 * One block of a buddy pool: a dedicated VMA allocation of blockSize bytes and the buddy over it. Made and freed
 * by its BuddyPool.
 * @internal
 */
export class BuddyBlock {
  /** The block's own VMA allocation (offset 0 in its VkDeviceMemory). */
  readonly memory: Allocation;
  /** The buddy allocator of offsets in it. */
  readonly buddy: VirtualBlock;
  /** The VkDeviceMemory, as an nvk handle for binds, and its halves for AllocationInfo. */
  readonly deviceMemory: NvkHandle;
  readonly memoryLo: number;
  readonly memoryHi: number;
  /** Sub-allocations alive in it. */
  liveCount = 0;
  /** Sub-allocations holding a view: the block is mapped while this is > 0. */
  mapUsers = 0;

  constructor(memory: Allocation, buddy: VirtualBlock) {
    this.memory = memory;
    this.buddy = buddy;
    const raw = memory.info.deviceMemoryHandle;
    this.deviceMemory = wrapHandle(nvk.VkDeviceMemory, raw);
    this.memoryLo = Number(raw & 0xffffffffn);
    this.memoryHi = Number(raw >> 32n);
  }

  /** A view over [offset, offset + size) of the block, mapping the block if no view is out yet. */
  view(offset: number, size: number): ArrayBuffer {
    // The block's own whole view stays inside its Allocation; a trace has the pool's nodes, not its blocks.
    if (this.mapUsers === 0) withoutRecording(this.memory.allocator, () => this.memory.map());
    this.mapUsers++;
    try {
      return this.memory.allocator._native.mappedRange(this.memory._handle, offset, size);
    } catch (e) {
      this.unview();
      throw e;
    }
  }

  /** One view fewer (already detached by the caller); the last one unmaps the block. */
  unview(): void {
    if (--this.mapUsers === 0) withoutRecording(this.memory.allocator, () => this.memory.unmap());
  }
}

/**
 * An allocation in a {@link BuddyPool}: one buddy node of a block. It behaves as any {@link Allocation} (the same
 * getters, map/unmap, flush/invalidate, freed through the allocator), and adds {@link nodeSize}.
 * Made by the allocator's create calls with `{ pool: buddyPool }`; freed by destroyBuffer / destroyImage /
 * freeMemory, by the pool's destroy() or the allocator's.
 */
export class BuddyAllocation extends Allocation {
  /** @internal The block it lives in. */
  readonly _block: BuddyBlock;
  /** @internal Offset of its node in the block (= in the VkDeviceMemory). */
  readonly _offset: number;
  /** @internal Size of its node. */
  readonly _nodeSize: number;
  private bName: string | null;
  private bUserData: unknown;
  private bMapCount = 0;
  private bView: ArrayBuffer | null = null;
  private readonly bPersistent: boolean;

  /** @internal Made by BuddyPool; `handle` is the node's handle in the block's buddy. */
  constructor(
    pool: Pool,
    kind: AllocationKind,
    handle: number,
    block: BuddyBlock,
    offset: number,
    size: number,
    nodeSize: number,
    resource: object | null,
    persistent: boolean,
    name: string | null,
    userData: unknown,
  ) {
    super(pool.allocator, kind, handle, size, resource, false, name, userData, pool);
    this._block = block;
    this._offset = offset;
    this._nodeSize = nodeSize;
    this.bName = name;
    this.bUserData = userData;
    this.bPersistent = persistent;
    if (persistent) this.bView = block.view(offset, size);
  }

  /** Size of the buddy node it occupies (a power of two >= size); the difference is internal waste. */
  get nodeSize(): number {
    this._live("nodeSize");
    return this._nodeSize;
  }

  override get label(): string | undefined {
    return this.bName ?? undefined;
  }

  override get info(): AllocationInfo {
    this._live("info");
    const b = this._block;
    return new AllocationInfo(
      this.memoryType,
      this._offset,
      this.size,
      b.memoryLo,
      b.memoryHi,
      this.bView,
      this.bName,
      this.bUserData,
    );
  }

  override get memoryType(): number {
    this._live("memoryType");
    return this.pool!.memoryTypeIndex;
  }

  override get offset(): number {
    this._live("offset");
    return this._offset;
  }

  /** Always false: a buddy allocation shares its block's VkDeviceMemory. */
  override get dedicated(): boolean {
    this._live("dedicated");
    return false;
  }

  override get blockSize(): number {
    this._live("blockSize");
    return this.pool!.blockSize;
  }

  override get memoryProperties(): number {
    this._live("memoryProperties");
    return this.allocator.memoryTypes[this.pool!.memoryTypeIndex].propertyFlags;
  }

  override get name(): string | null {
    this._live("name");
    return this.bName;
  }

  override set name(value: string | null) {
    this._live("name");
    if (value !== null && typeof value !== "string")
      throw new TypeError(`Allocation.name must be a string or null, got ${describeValue(value)}`);
    if (value !== null && value.includes("\0"))
      throw new RangeError(`Allocation.name must not contain NUL characters, got ${describeValue(value)}`);
    this.bName = value;
  }

  override get userData(): unknown {
    this._live("userData");
    return this.bUserData;
  }

  override set userData(value: unknown) {
    this._live("userData");
    this.bUserData = value;
  }

  override get mapCount(): number {
    this._live("mapCount");
    return this.bMapCount;
  }

  override get persistentlyMapped(): boolean {
    this._live("persistentlyMapped");
    return this.bPersistent;
  }

  override get mappedData(): ArrayBuffer | null {
    this._live("mappedData");
    return this.bView;
  }

  /**
   * Maps its bytes: the block is mapped once (vmaMapMemory) while any of its allocations holds a view; the
   * ArrayBuffer covers exactly this allocation's `size` bytes and is the same object for every map.
   * @throws VkError VK_ERROR_MEMORY_MAP_FAILED when the pool's memory type is not HOST_VISIBLE.
   */
  override map(): ArrayBuffer {
    this._live("map");
    if (this.bView === null) {
      if ((this.memoryProperties & HOST_VISIBLE) === 0) {
        throw vkErrorFor(-5, "vmaMapMemory", this.label, `memory type ${this.memoryType} is not HOST_VISIBLE`);
      }
      this.bView = this._block.view(this._offset, this._byteSize());
    }
    this.bMapCount++;
    return this.bView;
  }

  /** Releases one map(); the last one detaches the ArrayBuffer (unless persistently mapped). */
  override unmap(): void {
    this._live("unmap");
    if (this.bMapCount === 0) {
      throw new InvalidStateError(
        `Allocation${this.bName === null ? "" : ` '${this.bName}'`}`,
        "unmap()",
        "it is not mapped (map count 0)",
      );
    }
    this.bMapCount--;
    if (this.bMapCount === 0 && !this.bPersistent) this.dropView();
  }

  override flush(offset = 0, size?: number): MappedRange {
    return this.flushOrInvalidateRange(true, offset, size);
  }

  override invalidate(offset = 0, size?: number): MappedRange {
    return this.flushOrInvalidateRange(false, offset, size);
  }

  private flushOrInvalidateRange(flush: boolean, offset: number, size: number | undefined): MappedRange {
    const op = flush ? "flush" : "invalidate";
    this._live(op);
    const total = this._byteSize();
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
    // The block is a dedicated allocation at offset 0: its ranges are VkDeviceMemory ranges.
    const memory = this._block.memory;
    return flush ? memory.flush(this._offset + offset, length) : memory.invalidate(this._offset + offset, length);
  }

  /** @internal The size, without the liveness check (the base keeps its field private). */
  _byteSize(): number {
    return super.size;
  }

  private dropView(): void {
    const view = this.bView;
    if (view === null) return;
    native.detach(view);
    this.bView = null;
    this._block.unview();
  }

  /** @internal The pool frees it: detach the view, mark freed. */
  override _release(): void {
    unwatch(this);
    this.dropView();
    this.bMapCount = 0;
    this._handle = 0;
    this._resource = null;
  }
}

/**
 * @internal The handle the addon knows `allocation` by in its slot table, for the rows its recordings read
 * (native/copy_commands.cpp); -1 for a buddy pool's, whose handle names a node of its block: the recordings then
 * leave that row to nvk.
 */
export function slotHandleOf(allocation: Allocation): number {
  return allocation instanceof BuddyAllocation ? -1 : allocation._handle;
}
