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

/** What the owner needs of a resource it releases: the record that frees it and the frame that last used it. @internal */
export interface ManagedResource {
  /** Serial of the last frame that used it; 0 when none did. */
  readonly lastUsedSerial: number;
  /** How the owner frees it. */
  readonly _release: ResourceRelease;
}

/** What a Buffer or a Texture needs from the manager that made it. @internal */
export interface ResourceOwner {
  /** The serial a use recorded now belongs to: the frame being recorded, or the next one between frames. */
  readonly recordingSerial: number;
  /** Destroys `resource` now or after its last frame; called once, by the resource's own destroy(). */
  releaseResource(resource: ManagedResource): void;
}

/**
 * How a resource is freed, made once when it is created so that destroying it allocates nothing: the release
 * queue holds this record itself. @internal
 */
export class ResourceRelease {
  /** The serial it is queued under (set by the owner when it queues the record). */
  serial = 0;
  constructor(
    readonly label: string,
    readonly size: number,
    private readonly free: () => void,
  ) {}
  /** Frees the resource: the Vulkan and VMA calls made at creation, undone. */
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
