/**
 * AllocationIndex: the Allocation objects of one allocator by native handle, held weakly, for the calls that get
 * handles back from VMA and must name the objects the caller holds (defragmentation's moves, defragmentation.ts).
 *
 * Kept only when the allocator was created with `defragmentation: true`: a WeakRef per allocation costs about a tenth
 * of a microsecond on the allocator's hot path, which an allocator that never defragments should not pay. Without it,
 * a defragmentation names the allocations it was given (DefragmentationOptions.allocations) and leaves the others be.
 *
 * Invariants: an entry is made when an allocation is created and dropped when it is freed; a handle names at most one
 * live allocation (handles carry a generation), so a stale entry can only be one whose object was collected, and a
 * lookup drops it.
 * @module
 */
import type { Allocation } from "./allocation.js";

/** Weak handle → Allocation map of one allocator. @internal */
export class AllocationIndex {
  readonly #byHandle = new Map<number, WeakRef<Allocation>>();

  /** A new allocation. */
  add(allocation: Allocation): void {
    this.#byHandle.set(allocation._handle, new WeakRef(allocation));
  }

  /** `handle` was freed. */
  delete(handle: number): void {
    this.#byHandle.delete(handle);
  }

  /** The live allocation with this handle, or undefined. */
  get(handle: number): Allocation | undefined {
    const ref = this.#byHandle.get(handle);
    if (ref === undefined) return undefined;
    const allocation = ref.deref();
    if (allocation === undefined || allocation._handle !== handle) {
      this.#byHandle.delete(handle);
      return undefined;
    }
    return allocation;
  }

  /** Forgets everything (the allocator is destroyed). */
  clear(): void {
    this.#byHandle.clear();
  }
}
