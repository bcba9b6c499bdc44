/**
 * ReleaseBatch: a FrameManager's deferred frees of its Buffers and Textures, a run of them in one native call.
 *
 * Retiring a frame frees about as many resources as the frame destroyed, a thousand in a busy one. Freed one by
 * one, each {@link ResourceRelease} crosses into the addon once for its allocation (and once more, through nvk, for a
 * texture's view), and each crossing and the checks around it cost more than VMA's free itself. The release queue
 * (release-queue.ts) offers this batch each run of due items, in order and where they lie in the queue's columns:
 * the batch takes the ResourceReleases of its own allocator that the single path would free without a special case,
 * and frees them, when the queue flushes it, with one `freeResources` call (native/batch.cpp): per entry the
 * texture's view (vkDestroyImageView) and then what vmaDestroyBuffer / vmaDestroyImage do, as
 * {@link ResourceRelease.destroy} does, in the order they were taken, except that the vkDestroyImageView /
 * vkDestroyBuffer / vkDestroyImage calls go to the background freer, in that order (native/deferred_free.cpp; VMA's
 * free of the memory is done in the call, so that the next allocation may take it).
 * Then it does for each freed allocation what the allocator does after a free (its registry, leak watch, handle cell:
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
 *   allocator's state is checked as each run is taken (nothing runs between the items of a run). A Buffer's or
 *   Texture's destroy() queues its release with its allocation's handle (fixed for the allocation's life; 0 for a
 *   pool's), the allocation and its view's bytes, read from the resource it was called on: taking such an item reads
 *   no other object (the release and the allocation are cold by then: two cache misses an item, 180-320 µs of a
 *   thousand on the GPU machine), and the allocation's own state is left to the native call, which checks each entry
 *   against its slot table (a stale handle, whose allocation was freed or whose slot was reused since, another
 *   allocator's, a pool's, an aliased or moving allocation stops it there, and the single path then frees it or
 *   throws why). Any other item is checked here as before and, when it does not pass, left to the queue, which runs
 *   it as before, errors and all. No value in the arrays can make the native call free anything else.
 * - A native error does not lose track: the call zeroes the handle of each entry it freed, so after a throw the
 *   freed ones are forgotten here, the others go to the single path, and the error joins the queue's errors.
 * - Nothing is allocated or copied per item: the native call reads the queue's own columns (the handles are the
 *   keys a destroy() queued, the views its extras), and the flush clears the slots it freed, so that a freed
 *   resource is not kept alive by them. Between a take and its flush the queue runs and queues nothing
 *   (ReleaseBatcher.takeRun), so the slots stay as taken.
 * @internal
 * @module
 */
import type { Allocation } from "../memory/allocation.js";
import type { Allocator } from "../memory/allocator.js";
import type { QueuedItem, ReleaseBatcher } from "./release-queue.js";
import { recycleImageView } from "../memory/vma-memory.js";
import { ResourceRelease } from "./resource.js";

/** The batch of one FrameManager's release queue, made with the manager for its allocator. @internal */
export class ReleaseBatch implements ReleaseBatcher {
  readonly #allocator: Allocator;
  // The run taken, [#first, #end) of the queue's columns (see ReleaseBatcher.takeRun): the items, their allocation
  // handles (zeroed by the native call as it frees each), their allocations and their views' 8 bytes (null for a
  // buffer). Empty between runs, so that the batch keeps none of the queue's arrays alive.
  #items: (QueuedItem | undefined)[] = NO_SLOTS;
  #handles: Float64Array = NO_HANDLES;
  #allocations: (object | null)[] = NO_SLOTS;
  #views: (object | null)[] = NO_SLOTS;
  #first = 0;
  #end = 0;
  /** What the last {@link warm} returned: kept so that its loads are used. */
  #warmed = 0;

  /** `allocator`: the manager's, whose resources it frees. */
  constructor(allocator: Allocator) {
    this.#allocator = allocator;
  }

  /**
   * Takes the run of slots from `from` while each is a release of this allocator that the single path would free
   * plainly (module comment). A Buffer's or Texture's destroy() queued it with its allocation's handle as its key,
   * the allocation as its ref and its view's bytes as its extra: then the item itself is not read (it is cold by
   * now), and what only the allocation would tell is left to the native call's checks of the slot, which refuse the
   * entry, so that the single path frees it (or throws). Any other release is checked here, and its handle,
   * allocation and view are written into its slots.
   */
  takeRun(
    items: (QueuedItem | undefined)[],
    keys: Float64Array,
    refs: (object | null)[],
    extras: (object | null)[],
    from: number,
    to: number,
  ): number {
    const allocator = this.#allocator;
    if (allocator._handle === 0 || allocator._recording !== null || allocator._defragmentation !== null) return from;
    let i = from;
    for (; i < to; i++) {
      if (keys[i] !== 0 && refs[i] !== null) continue;
      const item = items[i];
      if (!(item instanceof ResourceRelease)) break;
      const a = item._allocation;
      if (
        a.allocator !== allocator ||
        a._handle === 0 ||
        a._lostFrame >= 0 ||
        a.pool !== null ||
        (a._aliases !== null && a._aliases.size > 0)
      )
        break;
      const view = item._view;
      if (a.kind !== (view === null ? "buffer" : "image")) break;
      keys[i] = a._handle;
      refs[i] = a;
      extras[i] = view === null ? null : (view as unknown as { memoryBuffer: ArrayBuffer }).memoryBuffer;
    }
    if (i > from) {
      this.#items = items;
      this.#handles = keys;
      this.#allocations = refs;
      this.#views = extras;
      this.#first = from;
      this.#end = i;
    }
    return i;
  }

  /** Frees what was taken (module comment); adds errors to `errors` and returns it. */
  flush(errors: unknown[] | null): unknown[] | null {
    const end = this.#end;
    let first = this.#first;
    if (first === end) return errors;
    const allocator = this.#allocator;
    const items = this.#items;
    const handles = this.#handles;
    const allocations = this.#allocations as (Allocation | null)[];
    const views = this.#views;
    this.#first = this.#end = 0;
    this.#items = this.#allocations = this.#views = NO_SLOTS;
    this.#handles = NO_HANDLES;
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
        const item = items[i] as ResourceRelease; // read for a texture's view, or when freeing it natively failed
        const allocation = allocations[i]!;
        const texture = views[i] !== null;
        items[i] = undefined;
        allocations[i] = null;
        views[i] = null;
        if (handles[i] === 0) {
          allocator._forgetFreedNatively(allocation);
          // A texture's view went with its image: its handle object gives its cell back (the release is read for
          // that only for a texture, which the views column tells).
          if (texture) recycleImageView(item._view!);
        } else if (threw) errors = destroyAlone(item, errors);
      }
      if (stop < end) {
        // Refused by the native checks: the single path frees it, or throws the error that says why.
        const item = items[stop] as ResourceRelease;
        items[stop] = undefined;
        allocations[stop] = null;
        views[stop] = null;
        errors = destroyAlone(item, errors);
      }
      first = stop + 1;
    }
    return errors;
  }
}

/** The columns of no run (never written: a flush with no run returns before it reads them). */
const NO_SLOTS: never[] = [];
const NO_HANDLES = new Float64Array(0);

/**
 * Loads what forgetting the allocations in [first, end) reads first, each allocation's leading fields and then its
 * handle object, in two passes whose loads do not depend on one another, so that the CPU overlaps their cache misses.
 * The allocations of a retiring frame were made a frame or more ago and nothing has touched them since; forgetting
 * them one after the other waited for each miss in turn (a thousand took 120-155 µs on the two-core machine, 80-88
 * with these passes and the fields a free touches declared first in Allocation). Returns how many have a resource, so
 * that the loads are used.
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
