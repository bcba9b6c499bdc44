/**
 * What a {@link Buffer} and a {@link Texture} share with the {@link FrameManager} that made them: the owner they call
 * back, the record by which they are freed, and their queue-family ownership. Both resource modules import this one
 * and neither imports the other.
 *
 * A resource is freed exactly once. Its own `destroy()` marks it destroyed first and then calls
 * {@link ResourceOwner.releaseResource}, which runs its {@link ResourceRelease} at once when the last frame that used
 * the resource is complete, or queues that same record in the release queue under the frame's serial (the record is
 * made when the resource is, so that destroying allocates nothing). Ownership starts at {@link Owner.None}: a resource
 * no queue has touched may be written by the dedicated transfer queue without an ownership transfer, because its
 * contents are undefined; once the main queue uses it, every later upload stays there (engine/resources/transfers.ts).
 * @internal
 * @module
 */
import type { Allocation } from "../memory/allocation.js";
import type { NvkHandle } from "../vulkan/handles.js";
import { destroyImageView } from "./image-views.js";

/**
 * What a Buffer and a Texture have for their owner to release them: the frame that last used them, their place in
 * the owner's table, the record that frees them, and what destroy() hands the release queue with it so that the
 * batch of frees reads nothing else (release-batch.ts). A base class, not an interface, so that these fields come
 * first in the resources' objects (a base's fields are laid out before a subclass's): destroy() of a resource made
 * long before, which nothing may have touched since, reads them from the object's first cache lines. @internal
 */
export abstract class ManagedResource {
  /** Serial of the last frame that used it; 0 when none did. */
  lastUsedSerial = 0;
  /** @internal Its slot in its manager's table of live resources (managed-resources.ts); -1 once released. */
  _slot = -1;
  /** @internal How the owner frees it. */
  readonly _release: ResourceRelease;
  /** @internal The bytes its release frees (its allocation's size), for the release queue's counters. */
  readonly _bytes: number;
  /** @internal Its allocation's handle (fixed for the allocation's life); 0 for a pool's, which the batch looks at closer. */
  readonly _freeHandle: number;
  /** @internal The allocation, handed to the release queue with its handle. */
  readonly _freeAllocation: Allocation;
  /**
   * @internal A texture's default view's 8 bytes (the nvk handle object's memoryBuffer, which a move by live
   * defragmentation rewrites in place); null for a buffer.
   */
  readonly _freeView: ArrayBuffer | null;

  protected constructor(release: ResourceRelease, allocation: Allocation, view: NvkHandle | null) {
    this._release = release;
    this._bytes = release.size;
    this._freeHandle = allocation.pool === null ? allocation._handle : 0;
    this._freeAllocation = allocation;
    this._freeView = view === null ? null : view.memoryBuffer;
  }
}

/** What a Buffer or a Texture needs from the manager that made it. @internal */
export interface ResourceOwner {
  /** The serial a use recorded now belongs to: the frame being recorded, or the next one between frames. */
  readonly recordingSerial: number;
  /** Destroys `resource` now or after its last frame; called once, by the resource's own destroy(). */
  releaseResource(resource: ManagedResource): void;
}

/**
 * What a queued release needs: what it frees and how. Its owner passes the serial it is queued under, and its size,
 * to the queue (ReleaseQueue._enqueueAt), which keeps them beside the record. @internal
 */
export interface QueuedRelease {
  readonly label: string;
  readonly size: number;
  destroy(): void;
}

/**
 * What the GC safety net knows of a Buffer or Texture (managed-resources.ts): its name, creation stack, and whether
 * its destroy() ran. It names nothing else: a held value that reached the resource would keep it alive. @internal
 */
export class ResourceWatch {
  /** Set when the resource's destroy() hands it over: from then on a collected resource is not reported. */
  released = false;
  constructor(
    /** "Buffer" or "Texture". */
    readonly kind: string,
    /** The resource's label. */
    readonly name: string,
    /** The creation stack, when its allocator captures them. */
    readonly stack: string | undefined,
  ) {}
}

/**
 * How a Buffer or Texture is freed, made once when it is created so that destroying it allocates nothing: the release
 * queue holds this record itself. `label` ("Buffer 'name'") is built only when read. @internal
 */
export class ResourceRelease implements QueuedRelease {
  constructor(
    /** "Buffer" or "Texture". */
    readonly kind: string,
    /** The resource's label. */
    readonly name: string,
    /**
     * Its GC safety-net record (managed-resources.ts), made only when the allocator captures creation stacks (the
     * debugging mode); null otherwise, so that neither making nor destroying a resource touches a second object.
     */
    readonly watch: ResourceWatch | null,
    /** The bytes it frees (the allocation's size). */
    readonly size: number,
    /** The allocation (with the buffer or image VMA created with it). */
    readonly _allocation: Allocation,
    /** The texture's default view, destroyed first (null for a buffer). */
    readonly _view: NvkHandle | null,
  ) {}
  /** What is freed, for messages: "Buffer 'name'". */
  get label(): string {
    return `${this.kind} '${this.name}'`;
  }
  /**
   * Frees the resource: its view (vkDestroyImageView), then its buffer or image and memory (vmaDestroy*). A release
   * queue with a batch (release-batch.ts) frees a run of these in one native call instead, the same way.
   */
  destroy(): void {
    const allocation = this._allocation;
    const allocator = allocation.allocator;
    if (this._view !== null) {
      destroyImageView(allocator, this._view);
      allocator.destroyImage(null, allocation);
    } else allocator.destroyBuffer(null, allocation);
  }
}

/** A release made of a callback (FrameManager.destroyLater). @internal */
export class CallbackRelease implements QueuedRelease {
  constructor(
    readonly label: string,
    readonly size: number,
    private readonly free: () => void,
  ) {}
  destroy(): void {
    this.free();
  }
}

/** Queue-family ownership of a resource or subresource, for uploads through a dedicated transfer queue. @internal */
export const enum Owner {
  /** No queue has used it: any queue may take it without an ownership transfer (its contents are undefined). */
  None = 0,
  /** The main (graphics) queue family owns it. */
  Main = 1,
  /** The transfer queue writes it in the batch being recorded; released to the main family when submitted. */
  Transfer = 2,
}
