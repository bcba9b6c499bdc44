/**
 * The Buffers and Textures of a {@link FrameManager}, from the call that makes one until it is freed: made through
 * resource-creation.ts, then counted, watched for leaks, and held as the manager's dependents (engine/lifetime.ts).
 *
 * A resource leaves the set once, when its own `destroy()` (which marks it destroyed first) calls back the manager's
 * `releaseResource`. It is unwatched then, and its {@link ResourceRelease} goes to the deferred destruction, which
 * runs it at once when the last frame that used it is complete and otherwise queues it under that frame's serial
 * (engine/resources/deferred-destruction.ts), so that nothing the GPU may still read is freed. After the manager's
 * own `destroy()` nothing can be in flight (it waited for the GPU), and the record runs at once, unless the allocator
 * or the context is destroyed already. The manager's `destroy()` destroys the resources still alive, oldest first,
 * through that same path, and names them in its one warning.
 *
 * Making and releasing run per resource and may be frequent (a game makes and drops thousands a frame), so neither
 * pays for a hash table or a closure: the live resources are a table of slots, each resource knowing its own
 * (`_slot`), with a stack of free slots; releasing writes the table and the stack, both small and warm, and touches no
 * other resource. (A doubly linked list through the resources did that in O(1) too, but wrote both neighbours, cold
 * objects in a frame that destroys 1,000 of 10,000: about half of what 1,000 destroy() cost on lavapipe.) The order
 * of creation is each resource's `_made` number, read only where an order is asked for (the manager's destroy(),
 * `list()`); what is made while a live defragmentation looks is logged for it (`takeCreated`). The GC safety net is
 * one registration per resource whose held value is its ResourceWatch (a name, never the resource or anything that
 * reaches it), and whose `released` flag, set by `destroy()`, silences it: no unregister token; and that only when
 * the allocator captures creation stacks (`captureStacks`, the debugging mode), since each registration is GC work:
 * only then is a ResourceWatch made at all. A resource is released once: `release` lets go only of a resource still
 * in the table. Without it a resource dropped with its manager is still destroyed and named by the manager's (or its
 * parents') destroy(). The message prefixes are made once.
 * @internal
 * @module
 */
import { describeValue } from "../errors.js";
import { reportCollected, type CascadeReport } from "../lifetime.js";
import type { Allocator } from "../memory/allocator.js";
import type { Context } from "../vulkan/context.js";
import { Buffer } from "./buffer.js";
import type { DeferredDestruction } from "./deferred-destruction.js";
import type { FrameCounters, FrameStatistics } from "./frame-statistics.js";
import { ResourceMaker, type BufferDescription, type TextureDescription } from "./resource-creation.js";
import type { ResourceOwner, ResourceWatch } from "./resource.js";
import { Texture } from "./texture.js";

/** The most creations logged between two looks of a live defragmentation; past it, the next look names them all. */
const CREATION_LOG_CAP = 4096;

/** GC's safety net of every manager's resources: a collected resource whose release never ran is reported. */
const collectedResources = new FinalizationRegistry<ResourceWatch>((held) => {
  if (!held.released) reportCollected(held.kind, held.name, held.stack);
});

/** The live resources of one FrameManager: made by its constructor; its destroy() destroys what is left. @internal */
export class ManagedResources {
  readonly #manager: ResourceOwner;
  readonly #context: Context;
  readonly #allocator: Allocator;
  readonly #counters: FrameCounters;
  readonly #deferred: DeferredDestruction;
  readonly #maker: ResourceMaker;
  /** The live resources, each at its `_slot`; released slots hold null and are on #freeSlots. */
  readonly #slots: (Buffer | Texture | null)[] = [];
  readonly #freeSlots: number[] = [];
  #count = 0;
  /** Resources made so far: the next one's `_made` is this plus one. */
  #made = 0;
  /** The resources made since a live defragmentation last looked (null: none looks); full past CREATION_LOG_CAP. */
  #log: (Buffer | Texture)[] | null = null;
  #logFull = false;
  /** "FrameManager 'label'.releaseResource": the message prefix. */
  readonly #releaseOp: string;
  /** Whether its resources have GC safety-net records (the allocator captures creation stacks: fixed at its creation). */
  readonly #watched: boolean;

  /**
   * `name` is the manager's ("FrameManager 'label'"); the counters and the deferred destruction are its own;
   * `debugNames`: name the Vulkan objects after the labels (FrameManagerOptions.debugNames).
   */
  constructor(
    manager: ResourceOwner,
    name: string,
    context: Context,
    allocator: Allocator,
    counters: FrameCounters,
    deferred: DeferredDestruction,
    debugNames: boolean,
    bufferUsage: number,
  ) {
    this.#manager = manager;
    this.#context = context;
    this.#allocator = allocator;
    this.#counters = counters;
    this.#deferred = deferred;
    this.#maker = new ResourceMaker(manager, name, context, allocator, debugNames, bufferUsage);
    this.#releaseOp = `${name}.releaseResource`;
    this.#watched = allocator._capturesStacks;
  }

  /** How many resources are alive. */
  get size(): number {
    return this.#count;
  }

  /**
   * Makes a Buffer (resource-creation.ts), counts it into the totals and `stats`, and holds and watches it.
   * @throws what ResourceMaker.buffer throws, with nothing made.
   */
  createBuffer(desc: BufferDescription, stats: FrameStatistics | null): Buffer {
    const made = this.#maker.buffer(desc);
    this.#add(made, stats);
    return made;
  }

  /**
   * Makes a Texture (resource-creation.ts), counts it into the totals and `stats`, and holds and watches it.
   * @throws what ResourceMaker.texture throws, with nothing made.
   */
  createTexture(desc: TextureDescription, stats: FrameStatistics | null): Texture {
    const made = this.#maker.texture(desc);
    this.#add(made, stats);
    return made;
  }

  #add(resource: Buffer | Texture, stats: FrameStatistics | null): void {
    this.#counters.countResource(stats, true);
    const slots = this.#slots;
    const slot = this.#freeSlots.length > 0 ? this.#freeSlots.pop()! : slots.length;
    if (slot === slots.length) slots.push(resource);
    else slots[slot] = resource;
    resource._slot = slot;
    resource._made = ++this.#made;
    this.#count++;
    const log = this.#log;
    if (log !== null) {
      if (log.length < CREATION_LOG_CAP) log.push(resource);
      else this.#logFull = true;
    }
    // As the allocator's allocations, only when it captures creation stacks (a registration is GC work per resource).
    if (this.#watched) collectedResources.register(resource, resource._release.watch!);
  }

  /**
   * Whether `resource` is one of the live resources listed here: its manager's, still at a slot (only this table sets
   * `_slot`, and -1 when it lets it go). Read from the resource alone, whose destroy() has just read its manager:
   * looking it up in the table instead was a cache miss per destroy() in a frame that destroys resources made long
   * ago (11-16 µs of a thousand such destroy() calls in `bench frame` on the two-core machine, the two ways alternated
   * frame by frame in one process).
   */
  #listed(resource: Buffer | Texture): boolean {
    return resource._slot >= 0 && resource._manager === this.#manager;
  }

  #unlink(resource: Buffer | Texture): void {
    const slot = resource._slot;
    this.#slots[slot] = null;
    this.#freeSlots.push(slot);
    resource._slot = -1;
    this.#count--;
  }

  /**
   * Lets `resource` go (see the module comment): at once when `managerGone`, else after the frame it was last used
   * in, given the `completed` serial; counted into the totals and `stats` unless the manager is gone.
   * @throws TypeError when `resource` is not a Buffer or Texture made by a manager.
   * @throws whatever its release throws when it runs at once.
   */
  release(resource: Buffer | Texture, managerGone: boolean, completed: number, stats: FrameStatistics | null): void {
    if (!(resource instanceof Buffer || resource instanceof Texture) || resource._release === undefined) {
      throw new TypeError(`${this.#releaseOp}: resource must be a Buffer or Texture, got ${describeValue(resource)}`);
    }
    // Released once: a live resource is in the table, a released one is not.
    if (!this.#listed(resource)) return;
    const release = resource._release;
    // Its record is not read unless the safety net watches it (it is cold by now in a frame that destroys many).
    if (this.#watched) release.watch!.released = true;
    this.#unlink(resource);
    if (managerGone) {
      // The manager is gone: it waited for the GPU when it was destroyed, so nothing can be in flight.
      if (!this.#allocator.destroyed && !this.#context.destroyed) release.destroy();
      return;
    }
    this.#counters.countResource(stats, false);
    this.#deferred.releaseAfter(resource.lastUsedSerial, completed, release, resource._bytes, stats, resource);
  }

  /** The live resources, oldest first (a copy). */
  list(): (Buffer | Texture)[] {
    const out: (Buffer | Texture)[] = [];
    for (const r of this.#slots) if (r !== null) out.push(r);
    return out.sort((a, b) => a._made - b._made);
  }

  /**
   * Starts (`on`) or stops logging the resources made from now on, for {@link takeCreated}. A live defragmentation
   * logs while it runs: it names the resources made since it last looked without walking every live one.
   */
  logCreations(on: boolean): void {
    this.#log = on ? [] : null;
    this.#logFull = false;
  }

  /**
   * The resources made since logging started or since the last call, oldest first, and empties the log; null when
   * nothing logs or more than CREATION_LOG_CAP were made meanwhile (then look at {@link list}).
   */
  takeCreated(): readonly (Buffer | Texture)[] | null {
    const log = this.#log;
    if (log === null) return null;
    this.#log = [];
    const full = this.#logFull;
    this.#logFull = false;
    return full ? null : log;
  }

  /** Destroys every live resource on behalf of `cause`, adding names and errors to `report` (engine/lifetime.ts). */
  destroyAll(cause: string, report: CascadeReport): void {
    // Oldest first, as engine/lifetime.ts's Dependents; again while destroying made new ones.
    while (this.#count > 0) {
      for (const r of this.list()) {
        if (!this.#listed(r)) continue; // destroyed by one destroyed before it
        report.names.push(r._lifetimeName);
        try {
          r._destroyWithParent(cause);
        } catch (error) {
          report.errors.push(error);
        }
        if (this.#listed(r)) this.#unlink(r); // its destroy() did not get as far as releaseResource
      }
    }
  }
}
