/**
 * The mip chain: the one mechanism behind both a texture's tail and its large image. A chain holds, for one texture,
 * the images of one kind: the complete one on show (`resident`) and one being filled beside it (`filling`), the
 * pixels loaded for the filling one, the state of its asynchronous load and its place in its lane's request heap.
 * A lane is what the chains of one kind share in a streamer: the pool their images live in, the request heap, the
 * counts, and the one thing that tells the two kinds apart, `baseFor`: which finest mip the chain should hold now.
 *
 * - The large image's lane: the finest mip requested, while it is finer than the tail (`-1` otherwise: the tail has
 *   it). A finer request fills a second image beside the resident one, which stays on show until the new one is
 *   complete and replaces it.
 * - The tail's lane: always the tail's first mip, for every requested texture that has a tail. A tail is filled once
 *   and then stays resident until it is lost or released, so its chain never holds two images.
 *
 * Invariants: `filling`, when set, is not complete; `resident`, when set, is complete; `data`, when set, holds the
 * mips [dataBase, mipLevels) for `filling` (or for the image about to be created) and is dropped when that image
 * completes, is detached, or the request lapses; `loading` is true while a load is in flight, and only the load of the
 * current `loadGeneration` may deliver; `heapIndex` is the chain's position in its lane's heap, -1 while not queued. A
 * chain is queued only while it needs work and is not loading. The chain changes its own fields; the residency
 * (residency.ts) adds and removes images, because that changes the texture's counts.
 * @module
 */
import type { Allocation } from "../../memory/allocation.js";
import type { Pool } from "../../memory/pool.js";
import type { ChainImage } from "./chain-image.js";
import { RequestHeap, type HeapEntry } from "./request-heap.js";

/** What a chain reads of the texture it belongs to. */
export interface ChainOwner {
  /** The texture's label, for image labels. */
  readonly label: string;
  /** Mips of the texture's description; every image of it ends at the smallest. */
  readonly mipLevels: number;
  /** Higher is queued first. */
  readonly priority: number;
}

/** The chains of one kind in a streamer: their pool, their request heap and their counts. Made by the streamer. */
export class ChainLane<O extends ChainOwner> {
  /** The chains waiting for a load or an upload, highest priority first. */
  readonly heap = new RequestHeap<MipChain<O>>();
  /** Images of this lane alive (complete or being filled), and their bytes (VMA allocation sizes). */
  images = 0;
  bytes = 0;

  constructor(
    /** The word in its images' labels ("tail", "mips"). */
    readonly name: string,
    /** The pool its images live in; null for a lane that is never served (no tails). */
    readonly pool: Pool | null,
    /** The finest mip a chain of this lane should hold for `owner` now; -1 when it should hold nothing. */
    readonly baseFor: (owner: O) => number,
    /** Counts an image of this lane that the allocator made lost. */
    readonly onEvicted: (bytes: number) => void,
  ) {}
}

/** One texture's images of one kind (its tail, or its large image); see the module comment. Made by the residency. */
export class MipChain<O extends ChainOwner> implements HeapEntry {
  // What request() reads of every requested texture's chains every frame comes first (V8 lays the fields out in the
  // order they are declared, so these share a cache line or two).
  /** The complete image on show, if any. */
  resident: ChainImage | null = null;
  /** An image being filled (first load, or more mips than the resident one). */
  filling: ChainImage | null = null;
  /** Position in the lane's heap (-1: not queued); written by the heap. */
  heapIndex = -1;
  /** An asynchronous load is in flight. */
  loading = false;
  /**
   * The resident image's allocation and base, read once per resident image: request() touches the allocation and
   * compares the base every frame for every requested texture, and with thousands registered each image read there
   * is a cache miss. Valid while `#seen` is `resident` (a pointer comparison, no read of the image); dropped when the
   * image leaves the chain, so that a released image is not kept alive.
   */
  #seen: ChainImage | null = null;
  #seenAllocation: Allocation | null = null;
  #seenBase = 0;
  /** Loaded pixels (per mip, from dataBase), kept until the filling image is complete. */
  data: Uint8Array[] | null = null;
  dataBase = 0;
  /** The generation of the latest load (a newer one supersedes older results). */
  loadGeneration = 0;
  /** Order of the last push, for equal priorities: written by the heap. */
  sequence = 0;
  readonly priority: number;

  constructor(
    readonly owner: O,
    readonly lane: ChainLane<O>,
  ) {
    this.priority = owner.priority;
  }

  #see(image: ChainImage): void {
    this.#seen = image;
    this.#seenAllocation = image.allocation;
    this.#seenBase = image.base;
  }

  /** `image` leaves the chain (released or lost): forgets what was read of it. */
  forget(image: ChainImage): void {
    if (this.#seen !== image) return;
    this.#seen = null;
    this.#seenAllocation = null;
  }

  /** The finest mip the chain should hold now; -1 when none. */
  wantedBase(): number {
    return this.lane.baseFor(this.owner);
  }

  /** Whether the chain needs a load or an upload: an image is being filled, or the wanted mips are not resident. */
  needsWork(): boolean {
    if (this.filling !== null) return true;
    const base = this.lane.baseFor(this.owner);
    const resident = this.resident;
    if (resident === null) return base >= 0;
    if (resident !== this.#seen) this.#see(resident);
    return base >= 0 && this.#seenBase > base;
  }

  /** Whether at least one of its mips is uploaded. */
  hasMips(): boolean {
    return this.resident !== null || (this.filling !== null && this.filling.uploadedFrom < this.owner.mipLevels);
  }

  /** The finest uploaded mip: the resident image's, else the filling one's; mipLevels when none. */
  finestMip(): number {
    if (this.resident !== null) return this.resident.uploadedFrom;
    return this.filling !== null ? this.filling.uploadedFrom : this.owner.mipLevels;
  }

  /** The image it would show: the resident one, else the one being filled. */
  image(): ChainImage | null {
    return this.resident ?? this.filling;
  }

  /** Moves its images to the warm end of their pool's LRU list (O(1)). */
  touch(): void {
    const resident = this.resident;
    if (resident !== null) {
      if (resident !== this.#seen) this.#see(resident);
      this.#seenAllocation!.touch();
    }
    if (this.filling !== null) this.filling.allocation.touch();
  }

  /** Queues the chain in its lane's heap when it needs work and is neither queued nor loading. */
  queueIfNeeded(): void {
    if (this.heapIndex < 0 && !this.loading && this.needsWork()) this.lane.heap.push(this);
  }

  /** Takes the chain out of its lane's heap, if queued. */
  dequeue(): void {
    if (this.heapIndex >= 0) this.lane.heap.remove(this);
  }
}
