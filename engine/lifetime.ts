/**
 * Lifetimes: who destroys whom, in what order, and what a use after that does.
 *
 * The graph. Every object vkmem makes has at most one parent, the object it was made from, and the parent outlives it:
 *
 *     Context ─┬─ Allocator ─┬─ FrameManager ─┬─ TextureStreamer ── StreamedTexture (its images, views, pools)
 *              │             │                ├─ Buffer, Texture (createBuffer / createTexture)
 *              │             │                └─ upload rings, transient ring, downloads (owned, never handed out)
 *              │             ├─ BuddyPool ── BuddyAllocation
 *              │             ├─ Pool ── Allocation (in the pool)
 *              │             └─ Allocation (default pools: createBuffer, createImage, allocateMemory*)
 *              └─ (any further Allocator made over the same device, from the Context or from its raw handles)
 *     VirtualBlock ── VirtualAllocation (no device memory: a root of its own)
 *
 * The rule. Destroying a parent first destroys its dependents, then itself. Each parent destroys its dependents in
 * a fixed order, the reverse of how they depend on each other: a Context its Allocators (in creation order); an
 * Allocator its FrameManagers, then its buddy pools (built over its allocations), then its pools, then the
 * allocations left, and only then the VmaAllocator; a FrameManager its TextureStreamers, then its live Buffers and
 * Textures (through its release queue, after waiting for the GPU), then its rings, downloads and frame slots. A child
 * destroyed that way is reported: the parent emits one process warning ("VkmemLeakWarning") that names it ("Allocator
 * 'main' destroyed with 2 live dependent(s); destroyed them first: FrameManager 'frames', Pool 'level 3'"), as the
 * allocator always reported the allocations it frees. The allocations themselves keep their own report
 * (`onLeaks` / LeakReport).
 *
 * After that, every use of a dependent throws {@link DestroyedResourceError} naming the ancestor whose `destroy()`
 * ran: "Buffer 'terrain' cannot be used: its Allocator 'main' was destroyed". Its own `destroy()` does nothing, as a
 * second `destroy()` always does. Hence no Vulkan or VMA call is ever made on a destroyed device or allocator: the
 * objects that could make one are destroyed before it, and refuse to work afterwards. In particular
 * `context.destroy()` waits for the device to go idle and destroys every Allocator made over its device (and so every
 * FrameManager, with the frames it has in flight) before vkDestroyDevice.
 *
 * The safety net. An object dropped without `destroy()` keeps its Vulkan objects and memory: GC never calls Vulkan
 * (a finalizer runs at an unknown time, possibly after the device is gone, and freeing there would race the GPU).
 * What GC does is report it: a FinalizationRegistry emits "Buffer 'x' was collected without destroy()" (with the
 * creation stack when the allocator was made with `captureStacks`). Parents hold their dependents, so a dependent
 * dropped while its parent lives is found when the parent is destroyed (and reported there); the registry reports
 * what is dropped with its whole subtree, and allocations, which only the native side holds. Allocations, and a
 * FrameManager's Buffers and Textures, are made and freed on the hottest path, so they are watched only when their
 * allocator captures creation stacks (the debugging mode; each registration is GC work), and then by the cheaper
 * {@link HandleWatch} (a registration without an unregister token, and a table of live handles); an allocation freed
 * with its pool or allocator was reported by that destroy() and is not reported again. A registry's held value never
 * reaches its target (it would keep the target alive forever).
 * @module
 */
import { DestroyedResourceError } from "./errors.js";
import { withRoom } from "./typed-arrays.js";

/** Something a parent destroys before itself: an Allocator, a FrameManager, a Pool, a Buffer, ... @internal */
export interface Dependent {
  /** What reports and errors call it: "FrameManager 'frames'", "Pool" when unlabelled. */
  readonly _lifetimeName: string;
  /**
   * Destroys it because `cause` (the ancestor whose `destroy()` runs, e.g. "Allocator 'main'") is going away; later
   * uses throw DestroyedResourceError naming `cause`. Called at most once, while the parent is still alive.
   */
  _destroyWithParent(cause: string): void;
}

/** "Kind 'label'", or "Kind" for an unlabelled object: how messages name an object. */
export function lifetimeName(kind: string, label: string | undefined | null): string {
  return label === undefined || label === null ? kind : `${kind} '${label}'`;
}

/** The error for a use of an object that is gone: its own destroy() (`cause` null) or an ancestor's. */
export function destroyedError(
  kind: string,
  label: string | undefined,
  operation: string | undefined,
  cause: string | null,
): DestroyedResourceError {
  return new DestroyedResourceError(kind, label, operation, cause ?? undefined);
}

/**
 * The live dependents of one parent, in the order they were made. The parent adds a dependent when it makes it and
 * deletes it when the dependent is destroyed on its own; {@link destroyAll} takes the rest along. @internal
 */
export class Dependents<T extends Dependent = Dependent> {
  readonly #set = new Set<T>();

  add(dependent: T): void {
    this.#set.add(dependent);
  }

  delete(dependent: T): void {
    this.#set.delete(dependent);
  }

  get size(): number {
    return this.#set.size;
  }

  /** The live dependents now (a copy: destroying them edits the set). */
  list(): T[] {
    return [...this.#set];
  }

  /**
   * Destroys every live dependent (oldest first) on behalf of `cause`, appending each one's name to `report.names`
   * and what its destruction threw to `report.errors`; the set is empty afterwards.
   */
  destroyAll(cause: string, report: CascadeReport): void {
    for (const d of [...this.#set]) {
      this.#set.delete(d);
      report.names.push(d._lifetimeName);
      try {
        d._destroyWithParent(cause);
      } catch (error) {
        report.errors.push(error);
      }
    }
  }
}

/** What a parent's destroy() took along with it. @internal */
export interface CascadeReport {
  /** The dependents it destroyed, by name. */
  readonly names: string[];
  /** What their destruction threw (each was destroyed all the same). */
  readonly errors: unknown[];
}

/** An empty {@link CascadeReport}. @internal */
export function cascadeReport(): CascadeReport {
  return { names: [], errors: [] };
}

/**
 * Emits the one warning of a cascade, when there is something to say: "`who` destroyed with N live dependent(s);
 * destroyed them first:" and one line per dependent, then the errors their destruction threw. Returns the names.
 * @internal
 */
export function reportCascade(who: string, report: CascadeReport): string[] {
  if (report.names.length === 0 && report.errors.length === 0) return report.names;
  const lines = report.names.map((n) => `  ${n}`);
  for (const e of report.errors) lines.push(`  error while destroying: ${e instanceof Error ? e.message : String(e)}`);
  process.emitWarning(
    `${who} destroyed with ${report.names.length} live dependent(s); destroyed them first:\n${lines.join("\n")}`,
    "VkmemLeakWarning",
  );
  return report.names;
}

// ---------------------------------------------------------------------------------------------------------------
// Devices: a Context registers its VkDevice, so that an Allocator made over it (from the Context or from its raw
// handles) becomes the Context's dependent.

// Weak: a Context dropped without destroy() must stay collectable, with everything made over its device.
const deviceOwners = new Map<bigint, WeakRef<Dependents>>();

/** @internal A Context's dependents, by the raw handle of its VkDevice (set while the Context lives). */
export function registerDevice(device: bigint, dependents: Dependents): void {
  deviceOwners.set(device, new WeakRef(dependents));
}

/** @internal The Context's device is being destroyed. */
export function unregisterDevice(device: bigint): void {
  deviceOwners.delete(device);
}

/** @internal The dependents of the Context that owns `device`, or undefined for a device no Context of vkmem made. */
export function dependentsOfDevice(device: bigint): Dependents | undefined {
  return deviceOwners.get(device)?.deref();
}

// ---------------------------------------------------------------------------------------------------------------
// The safety net

/** What the registry holds for a watched object: its name is built only when it is reported (hot paths). */
class Watched {
  constructor(
    readonly kind: string,
    readonly label: string | undefined | null,
    readonly stack: string | undefined,
  ) {}
}

const collected = new FinalizationRegistry<Watched>((held) => {
  reportCollected(held.kind, held.label, held.stack);
});

/**
 * The warning for an object GC collected without destroy(). Only a warning: GC never calls Vulkan (see the module
 * comment). @internal
 */
export function reportCollected(kind: string, label: string | undefined | null, stack: string | undefined): void {
  process.emitWarning(
    `${lifetimeName(kind, label)} was collected without destroy(); its Vulkan objects and memory stay allocated until its parent is destroyed` +
      (stack !== undefined ? `\n  created at:\n${indent(stack)}` : ""),
    "VkmemLeakWarning",
  );
}

function indent(stack: string): string {
  const lines = stack.split("\n");
  return lines
    .slice(lines[0]!.startsWith("Error") ? 1 : 0)
    .map((l) => `  ${l.trim()}`)
    .join("\n");
}

/**
 * Watches `target`: when GC collects it before {@link unwatch}, a "collected without destroy()" warning names it
 * (`kind` and `label`, and `stack` when given). Held values never reach the target (that would keep it alive).
 * Called by constructors; `destroy()` calls unwatch. @internal
 */
export function watch(target: object, kind: string, label: string | undefined | null, stack?: string): void {
  collected.register(target, new Watched(kind, label, stack), target);
}

/** The object was destroyed: it will not be reported when collected. @internal */
export function unwatch(target: object): void {
  collected.unregister(target);
}

const INDEX_SPAN = 2 ** 24;

/**
 * The slot index of a native handle. Not `handle % INDEX_SPAN`: a handle passes 2^31 once its slot's generation does
 * 128, and V8 takes a double's remainder through a C call (fmod); a division by a power of two and its floor are exact.
 */
function slotOf(handle: number): number {
  return handle - Math.floor(handle / INDEX_SPAN) * INDEX_SPAN;
}

/**
 * The safety net for objects named by a native handle (generation * 2^24 + slot index, engine/native.ts), made and
 * freed on hot paths: allocations. Watching costs one registration without an unregister token and one store in a
 * table of the live handle per slot index; forgetting (the free) one store. When GC collects an object whose handle
 * is still the live one of its slot, `report(handle)` runs; a freed handle, even one whose slot was reused since,
 * is not. @internal
 */
export class HandleWatch {
  #live = new Float64Array(256);
  /** Whether anything was ever watched (not without creation stacks): until then frees skip the table. */
  #watching = false;
  readonly #registry: FinalizationRegistry<number>;

  constructor(report: (handle: number) => void) {
    this.#registry = new FinalizationRegistry<number>((handle) => {
      const i = slotOf(handle);
      if (i < this.#live.length && this.#live[i] === handle) {
        this.#live[i] = 0;
        report(handle);
      }
    });
  }

  /** `target` now holds the live `handle`. */
  watch(target: object, handle: number): void {
    this.#watching = true;
    const i = slotOf(handle);
    (this.#live = withRoom(this.#live, i + 1))[i] = handle;
    this.#registry.register(target, handle);
  }

  /** `handle` was freed: its object is not reported when collected. */
  forget(handle: number): void {
    if (!this.#watching) return;
    const i = slotOf(handle);
    if (i < this.#live.length && this.#live[i] === handle) this.#live[i] = 0;
  }
}

/** A creation stack for leak reports when `capture` is set (the allocator's `captureStacks`), else undefined. @internal */
export function creationStack(capture: boolean): string | undefined {
  return capture ? new Error("created here").stack : undefined;
}
