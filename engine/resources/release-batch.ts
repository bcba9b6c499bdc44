/**
 * ReleaseBatch: a FrameManager's deferred frees of its Buffers and Textures, a run of them in one native call.
 *
 * Retiring a frame frees about as many resources as the frame destroyed, a thousand in a busy one. Freed one by
 * one, each {@link ResourceRelease} crosses into the addon once for its allocation (and once more, through nvk, for a
 * texture's view), and each crossing and the checks around it cost more than VMA's free itself. The release queue
 * (release-queue.ts) offers this batch every due item in order: the batch takes the ResourceReleases of its own
 * allocator that the single path would free without a special case, and frees them, when the queue flushes it, with
 * one `freeResources` call (native/batch.cpp): per entry the texture's view (vkDestroyImageView) and then what
 * vmaDestroyBuffer / vmaDestroyImage do, as {@link ResourceRelease.destroy} does, in the order they were taken, except
 * that the vkDestroyBuffer / vkDestroyImage calls go to the background freer (native/deferred_free.cpp; VMA's free of
 * the memory is done in the call, so that the next allocation may take it). Then it
 * does for each freed allocation what the allocator does after a free (its registry, leak watch, handle cell:
 * `_forgetFreedNatively`, the bookkeeping of an allocation the native layer freed).
 *
 * The invariants, and why they hold:
 *
 * - Each item is freed exactly once, and in queue order. The queue flushes the batch before it runs an item the batch
 *   left and before it returns (release-queue.ts). Within a flush, the native call frees entries in order and stops at
 *   the first it refuses (see below); that one is freed on the single path (`release.destroy()`) before the call is
 *   made again for the rest.
 * - Only what the single path frees plainly is taken: an allocation of this allocator, live, not lost, in no pool, with
 *   no aliases, of the kind its release expects, while the allocator is alive, records no trace (its Free records are
 *   written on the single path) and has no defragmentation context (a pass may be moving it). Anything else is left to
 *   the queue, which runs it as before, errors and all. The native call checks each entry again against its slot
 *   table (a stale or forged handle, a pool's, an aliased or moving allocation stops it), so no value in the arrays
 *   can make it free anything else.
 * - A native error does not lose track: the call zeroes the handle of each entry it freed, so after a throw the
 *   freed ones are forgotten here, the others go to the single path, and the error joins the queue's errors.
 * - Nothing is allocated per item: the arrays keep their length between flushes (their slots are cleared, so that a
 *   freed resource is not kept alive by them).
 * @internal
 * @module
 */
import type { Allocator } from "../memory/allocator.js";
import type { QueuedItem, ReleaseBatcher } from "./release-queue.js";
import { withRoom } from "../typed-arrays.js";
import { ResourceRelease } from "./resource.js";

/** The batch of one FrameManager's release queue, made with the manager for its allocator. @internal */
export class ReleaseBatch implements ReleaseBatcher {
  readonly #allocator: Allocator;
  /** The releases taken, [0, count); later slots null. */
  readonly #items: (ResourceRelease | null)[] = [];
  /** Their allocation handles, zeroed by the native call as it frees each. */
  #handles = new Float64Array(256);
  /** Their views' 8 bytes (the nvk handle object's memoryBuffer), null for a buffer. */
  readonly #views: (ArrayBuffer | null)[] = [];
  #count = 0;

  /** `allocator`: the manager's, whose resources it frees. */
  constructor(allocator: Allocator) {
    this.#allocator = allocator;
  }

  /** Takes `item` when it is a release of this allocator that the single path would free plainly (module comment). */
  take(item: QueuedItem): boolean {
    if (!(item instanceof ResourceRelease)) return false;
    const allocation = item._allocation;
    const allocator = this.#allocator;
    if (
      allocation.allocator !== allocator ||
      allocator._handle === 0 ||
      allocator._recording !== null ||
      allocator._defragmentation !== null ||
      allocation._handle === 0 ||
      allocation._lostFrame >= 0 ||
      allocation.pool !== null ||
      (allocation._aliases !== null && allocation._aliases.size > 0)
    )
      return false;
    const view = item._view;
    if (allocation.kind !== (view === null ? "buffer" : "image")) return false;
    const n = this.#count;
    (this.#handles = withRoom(this.#handles, n + 1))[n] = allocation._handle;
    const views = this.#views;
    const bytes = view === null ? null : (view as unknown as { memoryBuffer: ArrayBuffer }).memoryBuffer;
    if (n === views.length) {
      views.push(bytes);
      this.#items.push(item);
    } else {
      views[n] = bytes;
      this.#items[n] = item;
    }
    this.#count = n + 1;
    return true;
  }

  /** Frees what was taken (module comment); adds errors to `errors` and returns it. */
  flush(errors: unknown[] | null): unknown[] | null {
    const end = this.#count;
    if (end === 0) return errors;
    this.#count = 0;
    const allocator = this.#allocator;
    const handles = this.#handles;
    const items = this.#items;
    const views = this.#views;
    let first = 0;
    while (first < end) {
      let stop: number;
      let threw = false;
      try {
        stop = allocator._native.freeResources(allocator._handle, handles, views, first, end);
      } catch (error) {
        (errors ??= []).push(error);
        stop = end;
        threw = true;
      }
      for (let i = first; i < stop; i++) {
        const item = items[i]!;
        items[i] = null;
        views[i] = null;
        if (handles[i] === 0) allocator._forgetFreedNatively(item._allocation);
        else if (threw) errors = destroyAlone(item, errors);
      }
      if (stop < end) {
        // Refused by the native checks: the single path frees it, or throws the error that says why.
        const item = items[stop]!;
        items[stop] = null;
        views[stop] = null;
        errors = destroyAlone(item, errors);
      }
      first = stop + 1;
    }
    return errors;
  }
}

/** `release.destroy()`, its error added to `errors`. */
function destroyAlone(release: ResourceRelease, errors: unknown[] | null): unknown[] | null {
  try {
    release.destroy();
  } catch (error) {
    (errors ??= []).push(error);
  }
  return errors;
}
