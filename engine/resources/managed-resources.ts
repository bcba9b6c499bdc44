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
 * Making and releasing run per resource and may be frequent: the message prefixes are made once, and neither path
 * makes an object of its own (the release record was made with the resource).
 * @internal
 * @module
 */
import { describeValue } from "../errors.js";
import { Dependents, creationStack, unwatch, watch, type CascadeReport } from "../lifetime.js";
import type { Allocator } from "../memory/allocator.js";
import type { Context } from "../vulkan/context.js";
import { Buffer } from "./buffer.js";
import type { DeferredDestruction } from "./deferred-destruction.js";
import type { FrameCounters, FrameStatistics } from "./frame-statistics.js";
import {
  createBufferResource,
  createTextureResource,
  type BufferDescription,
  type TextureDescription,
} from "./resource-creation.js";
import type { ResourceOwner } from "./resource.js";
import { Texture } from "./texture.js";

/** The live resources of one FrameManager: made by its constructor; its destroy() destroys what is left. @internal */
export class ManagedResources {
  readonly #manager: ResourceOwner;
  readonly #context: Context;
  readonly #allocator: Allocator;
  readonly #counters: FrameCounters;
  readonly #deferred: DeferredDestruction;
  readonly #live = new Dependents<Buffer | Texture>();
  /** "FrameManager 'label'.createBuffer", ...: the message prefixes. */
  readonly #createBufferOp: string;
  readonly #createTextureOp: string;
  readonly #releaseOp: string;

  /** `name` is the manager's ("FrameManager 'label'"); the counters and the deferred destruction are its own. */
  constructor(
    manager: ResourceOwner,
    name: string,
    context: Context,
    allocator: Allocator,
    counters: FrameCounters,
    deferred: DeferredDestruction,
  ) {
    this.#manager = manager;
    this.#context = context;
    this.#allocator = allocator;
    this.#counters = counters;
    this.#deferred = deferred;
    this.#createBufferOp = `${name}.createBuffer`;
    this.#createTextureOp = `${name}.createTexture`;
    this.#releaseOp = `${name}.releaseResource`;
  }

  /**
   * Makes a Buffer (resource-creation.ts), counts it into the totals and `stats`, and holds and watches it.
   * @throws what createBufferResource throws, with nothing made.
   */
  createBuffer(desc: BufferDescription, stats: FrameStatistics | null): Buffer {
    const made = createBufferResource(this.#manager, this.#context, this.#allocator, this.#createBufferOp, desc);
    this.#add(made, "Buffer", stats);
    return made;
  }

  /**
   * Makes a Texture (resource-creation.ts), counts it into the totals and `stats`, and holds and watches it.
   * @throws what createTextureResource throws, with nothing made.
   */
  createTexture(desc: TextureDescription, stats: FrameStatistics | null): Texture {
    const made = createTextureResource(this.#manager, this.#context, this.#allocator, this.#createTextureOp, desc);
    this.#add(made, "Texture", stats);
    return made;
  }

  #add(resource: Buffer | Texture, kind: string, stats: FrameStatistics | null): void {
    this.#counters.countResource(stats, true);
    this.#live.add(resource);
    watch(resource, kind, resource.label, creationStack(this.#allocator._capturesStacks));
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
    this.#live.delete(resource);
    unwatch(resource);
    if (managerGone) {
      // The manager is gone: it waited for the GPU when it was destroyed, so nothing can be in flight.
      if (!this.#allocator.destroyed && !this.#context.destroyed) resource._release.destroy();
      return;
    }
    this.#counters.countResource(stats, false);
    this.#deferred.releaseAfter(resource.lastUsedSerial, completed, resource._release, stats);
  }

  /** The live resources (for a live defragmentation to name them). */
  list(): (Buffer | Texture)[] {
    return this.#live.list();
  }

  /** Destroys every live resource on behalf of `cause`, adding names and errors to `report` (engine/lifetime.ts). */
  destroyAll(cause: string, report: CascadeReport): void {
    this.#live.destroyAll(cause, report);
  }
}
