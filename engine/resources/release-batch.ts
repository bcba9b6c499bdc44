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
 * that the vkDestroyImageView / vkDestroyBuffer / vkDestroyImage calls go to the background freer, in that order
 * (native/deferred_free.cpp; VMA's free of the memory is done in the call, so that the next allocation may take it).
 * Then it
 * does for each freed allocation what the allocator does after a free (its registry, leak watch, handle cell:
 * `_forgetFreedNatively`, the bookkeeping of an allocation the native layer freed).
 *
 * The invariants, and why they hold:
 *
 * - Each item is freed exactly once, and in queue order. The queue flushes the batch before it runs an item the batch
 *   left and before it returns (release-queue.ts). Within a flush, the native call frees entries in order and stops at
 *   the first it refuses (see below); that one is freed on the single path (`release.destroy()`) before the call is
 *   made again for the rest.
 * - Only what the single path frees plainly is freed here: an allocation of this allocator, live, not lost, in no
 *   pool, with no aliases, of the kind its release expects, while the allocator is alive, records no trace (its Free
 *   records are written on the single path) and has no defragmentation context (a pass may be moving it). The
 *   allocator's state is checked as each item is taken. A Buffer's or Texture's destroy() queues its release with
 *   its allocation's handle (fixed for the allocation's life; 0 for a pool's), the allocation and its view's bytes, read
 *   from the resource it was called on: taking such an item reads no other object (the release and the allocation are
 *   cold by then: two cache misses an item, 180-320 µs of a thousand on the GPU machine), and the allocation's own
 *   state is left to the native call, which checks each entry against its slot table (a stale handle, whose
 *   allocation was freed or whose slot was reused since, another allocator's, a pool's, an aliased or moving
 *   allocation stops it there, and the single path then frees it or throws why). Any other item is checked here as
 *   before and, when it does not pass, left to the queue, which runs it as before, errors and all. No value in the
 *   arrays can make the native call free anything else.
 * - A native error does not lose track: the call zeroes the handle of each entry it freed, so after a throw the
 *   freed ones are forgotten here, the others go to the single path, and the error joins the queue's errors.
 * - Nothing is allocated per item: the arrays keep their length between flushes (their slots are cleared, so that a
 *   freed resource is not kept alive by them).
 * @internal
 * @module
 */
import type { Allocation } from "../memory/allocation.js";
import type { Allocator } from "../memory/allocator.js";
import type { QueuedItem, ReleaseBatcher } from "./release-queue.js";
import { withRoom } from "../typed-arrays.js";
import { ResourceRelease } from "./resource.js";

/** The batch of one FrameManager's release queue, made with the manager for its allocator. @internal */
export class ReleaseBatch implements ReleaseBatcher {
  readonly #allocator: Allocator;
  /** The releases taken, [0, count); later slots null. */
  readonly #items: (ResourceRelease | null)[] = [];
  /** Their allocations. */
  readonly #allocations: (Allocation | null)[] = [];
  /** Their allocation handles, zeroed by the native call as it frees each. */
  #handles = new Float64Array(256);
  /** Their views' 8 bytes (the nvk handle object's memoryBuffer), null for a buffer. */
  readonly #views: (ArrayBuffer | null)[] = [];
  #count = 0;
  /** What the last {@link warm} returned: kept so that its loads are used. */
  #warmed = 0;

  /** `allocator`: the manager's, whose resources it frees. */
  constructor(allocator: Allocator) {
    this.#allocator = allocator;
  }

  /**
   * Takes `item` when it is a release of this allocator that the single path would free plainly (module comment).
   * A Buffer's or Texture's destroy() queued it with its allocation's `handle`, the `allocation` and its view's
   * `bytes`: then the item itself is not read (it is cold by now), and what only the allocation would tell is left
   * to the native call's checks of the slot, which refuse the entry, so that the single path frees it (or throws).
   */
  take(item: QueuedItem, handle: number, allocation: object | null, bytes: object | null): boolean {
    const allocator = this.#allocator;
    if (allocator._handle === 0 || allocator._recording !== null || allocator._defragmentation !== null) return false;
    if (handle !== 0 && allocation !== null) {
      this.#push(item as ResourceRelease, handle, allocation as Allocation, bytes as ArrayBuffer | null);
      return true;
    }
    if (!(item instanceof ResourceRelease)) return false;
    const a = item._allocation;
    if (
      a.allocator !== allocator ||
      a._handle === 0 ||
      a._lostFrame >= 0 ||
      a.pool !== null ||
      (a._aliases !== null && a._aliases.size > 0)
    )
      return false;
    const view = item._view;
    if (a.kind !== (view === null ? "buffer" : "image")) return false;
    const viewBytes = view === null ? null : (view as unknown as { memoryBuffer: ArrayBuffer }).memoryBuffer;
    this.#push(item, a._handle, a, viewBytes);
    return true;
  }

  #push(item: ResourceRelease, handle: number, allocation: Allocation, view: ArrayBuffer | null): void {
    const n = this.#count;
    (this.#handles = withRoom(this.#handles, n + 1))[n] = handle;
    const views = this.#views;
    if (n === views.length) {
      views.push(view);
      this.#items.push(item);
      this.#allocations.push(allocation);
    } else {
      views[n] = view;
      this.#items[n] = item;
      this.#allocations[n] = allocation;
    }
    this.#count = n + 1;
  }

  /** Frees what was taken (module comment); adds errors to `errors` and returns it. */
  flush(errors: unknown[] | null): unknown[] | null {
    const end = this.#count;
    if (end === 0) return errors;
    this.#count = 0;
    const allocator = this.#allocator;
    const handles = this.#handles;
    const items = this.#items;
    const allocations = this.#allocations;
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
      this.#warmed = warm(allocations, first, stop);
      for (let i = first; i < stop; i++) {
        const item = items[i]!; // not read unless freeing it natively failed
        const allocation = allocations[i]!;
        items[i] = null;
        allocations[i] = null;
        views[i] = null;
        if (handles[i] === 0) allocator._forgetFreedNatively(allocation);
        else if (threw) errors = destroyAlone(item, errors);
      }
      if (stop < end) {
        // Refused by the native checks: the single path frees it, or throws the error that says why.
        const item = items[stop]!;
        items[stop] = null;
        allocations[stop] = null;
        views[stop] = null;
        errors = destroyAlone(item, errors);
      }
      first = stop + 1;
    }
    return errors;
  }
}

/**
 * Loads what forgetting the allocations in [first, end) reads first, each allocation's leading fields and then its
 * handle object, in two passes whose loads do not depend on one another, so that the CPU overlaps their cache misses.
 * The allocations of a retiring frame were made a frame or more ago and nothing has touched them since; forgetting
 * them one after the other waited for each miss in turn (a thousand took 240 µs on the two-core machine, 80 with
 * these passes and the fields a free touches first in Allocation). Returns how many have a resource, so that the
 * loads are used.
 */
function warm(allocations: readonly (Allocation | null)[], first: number, end: number): number {
  let n = 0;
  for (let i = first; i < end; i++) if (allocations[i]!._resource !== null) n++;
  for (let i = first; i < end; i++) {
    const resource = allocations[i]!._resource as { memoryOffset: number } | null;
    if (resource !== null && resource.memoryOffset === 0) n++;
  }
  return n;
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
