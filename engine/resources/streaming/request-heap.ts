/**
 * The request heap: a binary heap of queued entries, highest priority first, then the earliest pushed. The streamer
 * keeps two, one per mip chain kind (tails and large images), of the textures' mip chains waiting for a load or an
 * upload.
 *
 * Invariants: each entry records its own position (`heapIndex`, -1 while it is not queued), so that removing any
 * entry is O(log n) and "is it queued?" is O(1); an entry is in at most one heap at a time (each chain belongs to the
 * heap of its kind); `sequence` is set on every push from the heap's own counter, so that equal priorities keep the
 * order in which they were (last) queued. The heap never looks inside an entry beyond these three fields.
 * @module
 */

/** What the heap orders and where it keeps an entry's position. */
export interface HeapEntry {
  /** Higher comes first. */
  readonly priority: number;
  /** Position in the heap; -1 while not queued. Written only by the heap. */
  heapIndex: number;
  /** Order of the last push, for equal priorities. Written only by the heap. */
  sequence: number;
}

/** A binary heap of {@link HeapEntry}: highest priority first, then earliest pushed. Made and owned by the streamer. */
export class RequestHeap<T extends HeapEntry> {
  readonly #items: T[] = [];
  #sequence = 0;

  /** Entries queued. */
  get length(): number {
    return this.#items.length;
  }

  /** The first entry; the heap must not be empty. */
  top(): T {
    return this.#items[0]!;
  }

  /** Queues an entry that is not queued (heapIndex -1). O(log n). */
  push(entry: T): void {
    entry.sequence = ++this.#sequence;
    this.#items.push(entry);
    this.#siftUp(this.#items.length - 1);
  }

  /** Removes the first entry; the heap must not be empty. */
  pop(): void {
    this.remove(this.#items[0]!);
  }

  /** Removes a queued entry (heapIndex >= 0) and sets its heapIndex to -1. O(log n). */
  remove(entry: T): void {
    const items = this.#items;
    const i = entry.heapIndex;
    entry.heapIndex = -1;
    const last = items.pop()!;
    if (last === entry) return;
    items[i] = last;
    last.heapIndex = i;
    this.#siftDown(i);
    this.#siftUp(last.heapIndex);
  }

  /** Removes every entry. */
  clear(): void {
    for (const entry of this.#items) entry.heapIndex = -1;
    this.#items.length = 0;
  }

  #before(a: T, b: T): boolean {
    if (a.priority !== b.priority) return a.priority > b.priority;
    return a.sequence < b.sequence;
  }

  #siftUp(i: number): void {
    const items = this.#items;
    const entry = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!this.#before(entry, p)) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }

  #siftDown(i: number): void {
    const items = this.#items;
    const n = items.length;
    const entry = items[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.#before(items[child + 1]!, items[child]!)) child++;
      const c = items[child]!;
      if (!this.#before(c, entry)) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }
}
