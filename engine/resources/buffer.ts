/**
 * Buffer: a VkBuffer with its VMA allocation, created and destroyed through a {@link FrameManager}.
 *
 * A buffer remembers the serial of the last frame whose commands used it (`markUsed()`, and every upload or
 * download through the manager). `destroy()` hands it to the manager's release queue under that serial, so its
 * memory is freed only once that frame's fence has signaled; a buffer no submitted frame used is freed at once.
 * A second `destroy()` does nothing; every other member then throws {@link DestroyedResourceError} naming the label.
 * Destroying its manager (or the allocator or context above it) destroys a live buffer first; its errors then name
 * that parent (engine/lifetime.ts).
 * @module
 */
import { DestroyedResourceError } from "../errors.js";
import type { Allocation } from "../memory/allocation.js";
import type { NvkHandle } from "../vulkan/handles.js";
import { ManagedResource, Owner, type ResourceOwner, type ResourceRelease } from "./resource.js";

// Still importable from here, where they lived before resource.ts.
export { Owner, ResourceRelease, type ResourceOwner } from "./resource.js";

/** A GPU buffer made by {@link FrameManager.createBuffer}; destroyed by {@link Buffer.destroy}. */
export class Buffer extends ManagedResource {
  // What destroy() reads and writes comes first, after the base's fields (see ManagedResource).
  #owner: ResourceOwner;
  #destroyed = false;
  /** The name given at creation, used in messages, the VMA allocation name and the debug-utils object name. */
  readonly label: string;
  /** Size in bytes. */
  readonly size: number;
  /** VkBufferUsageFlags it was created with (TRANSFER_SRC and TRANSFER_DST included). */
  readonly usage: number;
  /** @internal Its creation number in its manager. */
  _made = 0;
  /** @internal */ _owner: Owner = Owner.None;
  /**
   * @internal The ranges an upload batch's current phase wrote into it (upload-batch.ts), valid while
   * `_writtenPhase` is that phase's id; kept between phases so that its array keeps its capacity.
   */
  _written: object | null = null;
  /** @internal */ _writtenPhase = 0;
  #handle: NvkHandle;
  #allocation: Allocation;
  /**
   * Whether it was created persistently mapped (never moved by live defragmentation): read here by each upload, so
   * that one into a buffer that is not does not load its allocation, cold in a frame of uploads to many buffers.
   */
  readonly #persistent: boolean;
  /** Its persistent mapping as bytes, made by the first upload written in place and remade when the mapping moves. */
  #inPlace: Uint8Array | null = null;
  /** Whether that memory is not HOST_COHERENT, so that a write in place is flushed. */
  #inPlaceFlush = false;
  /** @internal Whether that memory is DEVICE_LOCAL (ReBAR on a discrete GPU); set with the view by _mappedBytes. */
  _mappedDeviceLocal = false;

  /** @internal The manager that made it (uploads and readbacks check it). */
  get _manager(): ResourceOwner {
    return this.#owner;
  }

  /** @internal Use FrameManager.createBuffer. */
  constructor(
    owner: ResourceOwner,
    label: string,
    size: number,
    usage: number,
    handle: NvkHandle,
    allocation: Allocation,
    release: ResourceRelease,
  ) {
    super(release, allocation, null);
    this.#owner = owner;
    this.label = label;
    this.size = size;
    this.usage = usage;
    this.#handle = handle;
    this.#allocation = allocation;
    this.#persistent = allocation.persistentlyMapped;
  }

  /** Whether destroy() has been called. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** The nvk VkBuffer. @throws DestroyedResourceError after destroy(). */
  get handle(): NvkHandle {
    if (this.#destroyed) throw new DestroyedResourceError("Buffer", this.label, "handle", this._goneCause);
    return this.#handle;
  }

  /** The VMA allocation behind it. @throws DestroyedResourceError after destroy(). */
  get allocation(): Allocation {
    if (this.#destroyed) throw new DestroyedResourceError("Buffer", this.label, "allocation", this._goneCause);
    return this.#allocation;
  }

  /**
   * Records that the frame being recorded (or, between frames, the next one) uses this buffer, so that
   * destroy() waits for that frame's fence.
   * @throws DestroyedResourceError after destroy().
   */
  markUsed(): void {
    if (this.#destroyed) throw new DestroyedResourceError("Buffer", this.label, "markUsed", this._goneCause);
    this.lastUsedSerial = this.#owner.recordingSerial;
    if (this._owner === Owner.None) this._owner = Owner.Main;
  }

  /**
   * Destroys the buffer once no frame in flight uses it (at once when none does). A second call does nothing.
   * @throws whatever freeing threw when it runs at once (the buffer counts as destroyed all the same).
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#owner.releaseResource(this);
  }

  /**
   * @internal The ancestor whose destroy() took it along (its FrameManager, or what destroyed that); undefined while
   * it lives or when it was destroyed itself. Later uses name it (engine/lifetime.ts).
   */
  _goneCause: string | undefined = undefined;

  /** @internal What reports and errors call it. */
  get _lifetimeName(): string {
    return `Buffer '${this.label}'`;
  }

  /** @internal Its manager is being destroyed on behalf of `cause`: destroy it now (through the release queue). */
  _destroyWithParent(cause: string): void {
    if (this.#destroyed) return;
    this._goneCause = cause;
    this.destroy();
  }

  /**
   * @internal Its persistently mapped memory as bytes, for an upload written in place (transfers.ts), or null when it
   * is not persistently mapped. The manager writes there only when no frame that is not complete used it, so the GPU
   * cannot be reading or writing those bytes; {@link _flushMapped} then makes the write visible.
   */
  _mappedBytes(): Uint8Array | null {
    if (!this.#persistent) return null;
    const allocation = this.#allocation;
    const view = allocation._persistentView();
    if (view === null) return null;
    let target = this.#inPlace;
    if (target === null || target.buffer !== view) {
      // First write, or defragmentation moved the allocation and mapped it again (engine/memory/defragment.ts).
      target = this.#inPlace = new Uint8Array(view);
      const properties = allocation.memoryProperties;
      this.#inPlaceFlush = (properties & 0x6) === 0x2;
      this._mappedDeviceLocal = (properties & 0x1) !== 0;
    }
    return target;
  }

  /** @internal Flushes what an upload wrote in place, where the memory is not HOST_COHERENT. */
  _flushMapped(offset: number, size: number): void {
    if (this.#inPlaceFlush) this.#allocation.flush(offset, size);
  }

  /** @internal The handle and allocation, for the manager's deferred destruction (no destroyed check). */
  get _parts(): { handle: NvkHandle; allocation: Allocation } {
    return { handle: this.#handle, allocation: this.#allocation };
  }
}
