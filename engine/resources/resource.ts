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
import { nvk } from "../vulkan/nvk.js";

/** What the owner needs of a resource it releases: the record that frees it and the frame that last used it. @internal */
export interface ManagedResource {
  /** Serial of the last frame that used it; 0 when none did. */
  readonly lastUsedSerial: number;
  /** How the owner frees it. */
  readonly _release: QueuedRelease;
  /** The bytes its release frees (the release's `size`, kept on the resource so that queueing it reads only this). */
  readonly _bytes: number;
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
      nvk.vkDestroyImageView(allocator.device, this._view, null);
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
