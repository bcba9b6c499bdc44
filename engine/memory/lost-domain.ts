/**
 * LostDomain: one competition domain of lost allocations (a memory type of the default pools, or one custom pool),
 * its lost-able allocations in one intrusive doubly linked list, least recently used first, and its counters. The
 * rules it serves, and the eviction that walks it, are in ./lost-allocations.ts.
 *
 * Invariants: the list links are fields of the members themselves (no node objects); a member is in at most one
 * list, and its `_domain` names that list exactly while it is in it; new and touched members go to the tail with the
 * current frame as last use, so the list is sorted by last use and {@link LostDomain.victim} only looks at the head.
 * @module
 */

/** The fields a member keeps for its list (an Allocation's). */
export interface LostListMember<T> {
  _lruPrev: T | null;
  _lruNext: T | null;
  /** The frame index of its last use. */
  _lastUse: number;
  /** The domain it is in, or null. */
  _domain: LostDomain<any> | null;
}

/** Counters of lost-able allocations: of one domain, a pool, a memory type or the whole allocator. */
export interface LostAllocationStatistics {
  /** Lost-able allocations alive now (not lost, not freed). */
  canBecomeLostCount: number;
  /** Their bytes. */
  canBecomeLostBytes: number;
  /** Allocations made lost since creation. */
  lostAllocationCount: number;
  /** Their bytes. */
  lostBytes: number;
}

/**
 * One competition domain: a memory type of the default pools, or one custom pool. Holds the lost-able allocations
 * as an intrusive list, coldest first (see the module comment).
 * @internal
 */
export class LostDomain<T extends LostListMember<T>> {
  /** Least recently used. */
  head: T | null = null;
  /** Most recently used. */
  tail: T | null = null;
  count = 0;
  bytes = 0;
  lostCount = 0;
  lostBytes = 0;
  /** Frames after its last use during which an allocation of this domain cannot be made lost. */
  frameInUseCount: number;

  constructor(frameInUseCount: number) {
    this.frameInUseCount = frameInUseCount;
  }

  /** Appends `a` at the tail (most recently used). */
  push(a: T): void {
    a._lruPrev = this.tail;
    a._lruNext = null;
    if (this.tail === null) this.head = a;
    else this.tail._lruNext = a;
    this.tail = a;
  }

  /** Takes `a` out of the list. */
  unlink(a: T): void {
    const prev = a._lruPrev;
    const next = a._lruNext;
    if (prev === null) this.head = next;
    else prev._lruNext = next;
    if (next === null) this.tail = prev;
    else next._lruPrev = prev;
    a._lruPrev = null;
    a._lruNext = null;
  }

  /** The coldest allocation that may be made lost in frame `frame`, or null when the coldest is still in use. */
  victim(frame: number): T | null {
    const a = this.head;
    return a !== null && a._lastUse + this.frameInUseCount < frame ? a : null;
  }

  statistics(): LostAllocationStatistics {
    return {
      canBecomeLostCount: this.count,
      canBecomeLostBytes: this.bytes,
      lostAllocationCount: this.lostCount,
      lostBytes: this.lostBytes,
    };
  }

  /** Forgets every allocation (its pool or allocator is being destroyed and frees them natively). */
  clear(): void {
    for (let a = this.head; a !== null;) {
      const next: T | null = a._lruNext;
      a._lruPrev = null;
      a._lruNext = null;
      a._domain = null;
      a = next;
    }
    this.head = null;
    this.tail = null;
    this.count = 0;
    this.bytes = 0;
  }
}
