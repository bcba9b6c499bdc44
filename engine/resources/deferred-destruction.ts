/**
 * Deferred destruction: how a {@link FrameManager} frees what the GPU may still read, on the fences of its frames.
 *
 * The invariants, and why they hold:
 *
 * - Nothing the GPU may still read is freed before its fence. A destruction comes with the serial of the last
 *   submission that used the resource (`destroyLater()`'s `lastUsedSerial`, by default the frame being recorded or,
 *   between frames, the last submitted one; a Buffer's or Texture's `lastUsedSerial`). When that serial is already
 *   complete it runs at once; otherwise it is queued in the {@link ReleaseQueue} under that serial, and the queue is
 *   retired only up to the completed serial, which grows only after a fence said so (engine/resources/frame-slots.ts).
 *   A frame that is begun but never submitted keeps its items until a later serial completes (its serial is reused
 *   by the next frame) or until the manager's `destroy()`, which runs everything left once the GPU is idle.
 * - The same resource is never destroyed twice: the release queue does not deduplicate, so resources guard their own
 *   `destroy()` (see engine/resources/release-queue.ts).
 * - Destroying allocates nothing: a Buffer or Texture carries its ResourceRelease from creation, and the
 *   queue holds that record itself (unchecked: vkmem made it). `destroyLater()` makes one record per call, after checking its arguments here:
 *   a bad one throws with nothing queued or run. Retiring frees the Buffers and Textures that are due in runs, one
 *   native call per run (release-batch.ts), in queue order with the callbacks between them.
 * @internal
 * @module
 */
import { describeValue } from "../errors.js";
import type { FrameStatistics } from "./frame-statistics.js";
import type { Allocator } from "../memory/allocator.js";
import { ReleaseBatch } from "./release-batch.js";
import { ReleaseQueue } from "./release-queue.js";
import { CallbackRelease, type ManagedResource, type QueuedRelease } from "./resource.js";

/** The deferred destructions of one FrameManager, made with it; its destroy() drains them. @internal */
export class DeferredDestruction {
  /** The destructions waiting for their serial. */
  readonly queue = new ReleaseQueue();
  /** Destructions run at once because their last use was already complete. */
  immediate = 0;

  /** `allocator`: the manager's; its resources' queued frees are freed in runs (release-batch.ts). */
  constructor(allocator: Allocator) {
    this.queue._batcher = new ReleaseBatch(allocator);
  }

  /**
   * Runs `release` now when submission `serial` is complete (`serial <= completed`), else queues it under `serial`
   * (which may be the next submission's, for uploads recorded between frames), counting `size` bytes (its `size`,
   * passed so that queueing does not read the record). Counts it into `stats` when given. Returns true when queued.
   * A Buffer's or Texture's release comes with the `resource`, whose allocation handle, allocation and view bytes
   * are queued beside it, for the batch of frees to take without reading the record (release-batch.ts).
   * @throws whatever `release` throws when it runs at once.
   */
  releaseAfter(
    serial: number,
    completed: number,
    release: QueuedRelease,
    size: number,
    stats: FrameStatistics | null,
    resource: ManagedResource | null = null,
  ): boolean {
    if (serial <= completed) {
      this.immediate++;
      if (stats !== null) stats.deferredImmediate++;
      release.destroy();
      return false;
    }
    // Made by vkmem: no check needed.
    if (resource === null) this.queue._enqueueAt(release, serial, size);
    else
      this.queue._enqueueAt(release, serial, size, resource._freeHandle, resource._freeAllocation, resource._freeView);
    if (stats !== null) stats.deferredQueued++;
    return true;
  }

  /**
   * What `destroyLater()` does once the manager is known alive: checks the arguments (`op` names the call, `newest`
   * is the newest frame's serial, the bound of `serial`) and releases a new record of `destroy` after `serial`.
   * @throws TypeError / RangeError for a bad argument, with nothing run or queued.
   * @throws whatever `destroy` throws when it runs at once.
   */
  destroyLater(
    op: string,
    label: string,
    size: number,
    destroy: () => void,
    serial: number,
    newest: number,
    completed: number,
    stats: FrameStatistics | null,
  ): boolean {
    if (typeof label !== "string") throw new TypeError(`${op}: label must be a string, got ${describeValue(label)}`);
    if (!Number.isSafeInteger(size) || size < 0)
      throw new RangeError(
        `${op}: size must be a non-negative safe integer number of bytes, got ${describeValue(size)}`,
      );
    if (typeof destroy !== "function")
      throw new TypeError(`${op}: destroy must be a function, got ${describeValue(destroy)}`);
    if (!Number.isSafeInteger(serial) || serial < 0 || serial > newest) {
      throw new RangeError(
        `${op}: lastUsedSerial must be an integer from 0 to ${newest} (the newest frame's serial), got ${describeValue(serial)}`,
      );
    }
    return this.releaseAfter(serial, completed, new CallbackRelease(label, size, destroy), size, stats);
  }

  /**
   * Runs every destruction queued under a serial up to `completed`, counting and timing the work into `stats` when
   * given (beginFrame's frame).
   * @throws whatever a destroy callback threw, after running them all (see ReleaseQueue.retire).
   */
  retire(completed: number, stats: FrameStatistics | null): void {
    const release = this.queue;
    const before = stats === null ? null : release.statistics;
    const start = performance.now();
    try {
      release.retire(completed);
    } finally {
      if (stats !== null) {
        stats.deferredRetireUs = (performance.now() - start) * 1000;
        const after = release.statistics;
        stats.deferredRetired = after.retired - before!.retired;
        stats.deferredRetiredBytes = after.retiredBytes - before!.retiredBytes;
      }
    }
  }
}
