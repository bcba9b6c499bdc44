/**
 * ReleaseQueue: deferred destruction keyed by submission serial.
 *
 * The GPU runs behind the CPU. When the application is done with a buffer or an image, the command buffers that
 * read or write it may still be queued or executing, and freeing its memory then is a GPU use-after-free that no
 * error reports. So destruction is split in two: the owner hands a destroy callback to this queue under the serial
 * of the last submission that used the resource, and the queue runs it once the fence of that submission is known
 * to have signaled. Serials are the numbers the {@link FrameManager} gives its submissions, 1, 2, 3, ...; serial 0
 * means "never used by the GPU".
 *
 * The invariants, and why they hold:
 *
 * - Nothing the GPU may still read is freed before its fence. An item queued under serial S runs only in
 *   `retire(c)` with `c >= S`, and the caller passes as `c` only a serial whose fence it has waited on or seen
 *   signaled. Fences of one queue signal in submission order (a fence's first synchronization scope covers every
 *   command submitted earlier on that queue), so a signaled fence of serial `c` covers every serial up to `c`:
 *   the queue may treat "completed" as a single high-water mark. The one exception is `drainAll()`, which runs
 *   everything regardless of serials: it is for shutdown, after the device has been waited idle (or when the
 *   submissions concerned will never happen).
 * - Items retire in serial order, and items of the same serial in the order they were queued. The queue is kept
 *   sorted by serial at insertion: an item whose serial is lower than the tail's (a resource last used several
 *   frames ago, destroyed now) is placed before the later ones, after every item of its own serial. In practice
 *   items arrive with the current serial, which is the highest, so insertion is an append.
 * - The same resource cannot be queued twice. The queue does not look for duplicates; the resources that use it
 *   guard their own `destroy()`: the first call marks the resource destroyed and queues its callback, a second call
 *   returns at once, and every other use after the first throws {@link DestroyedResourceError}. Whoever calls
 *   `enqueue` directly takes on that duty.
 * - An item is taken off the queue before its callback runs, so a callback that throws is not run again. `retire`
 *   and `drainAll` run every item that is due even when some throw, and then rethrow the first error (or an
 *   AggregateError when several threw). A callback may queue more items: those that are due run in the same call.
 * - A FrameManager's queue frees its Buffers and Textures in runs, one native call per run (release-batch.ts): a run
 *   is freed before the next item the batch does not take runs, and before `retire` / `drainAll` return, so the order
 *   above holds for them too.
 *
 * Counting: the queue keeps the number and bytes of items queued and retired since it was made, and of those
 * pending now; the byte size is what the caller declares (for memory accounting and statistics), not measured.
 * @module
 */
import { describeValue } from "../errors.js";
import { isOptionsObject } from "../checks.js";

/** One destruction waiting in a {@link ReleaseQueue}. */
export interface ReleaseItem {
  /** The serial of the last submission that used the resource: the item runs once its fence has signaled. */
  readonly serial: number;
  /** What is destroyed, for statistics and messages, e.g. "Buffer 'terrain'". */
  readonly label: string;
  /** The bytes the destruction frees (as declared by whoever queued it). */
  readonly size: number;
  /** Destroys the resource. Called exactly once, by `retire` or `drainAll`. */
  readonly destroy: () => void;
}

/**
 * @internal What the queue keeps of an item: the destruction to run (its serial and size are kept beside it, so
 * that retiring reads only this).
 */
export interface QueuedItem {
  readonly destroy: () => void;
}

/**
 * @internal What frees a run of a queue's items together (a FrameManager's: engine/resources/release-batch.ts). The
 * queue offers it each run of due items, in its own columns; the items it takes count as run, and are freed by the
 * next `flush`, which the queue calls before it runs an item the batcher left, and at the end of each retire or
 * drain, so that the items of one call are freed in queue order either way.
 */
export interface ReleaseBatcher {
  /**
   * Takes the items of slots [from, to) of the queue's columns (`items`, and what each was queued with: `keys`,
   * `refs`, `extras`, see {@link ReleaseQueue._enqueueAt}) in order, as long as it can free them; returns the index of
   * the first slot it left (`to` when it took them all, `from` when none); never throws. The taken slots stay as
   * they are in the columns until the next `flush`, which frees their items from there and clears their slots of
   * `items`, `refs` and `extras`; until then it may write to the taken slots of `keys`, `refs` and `extras`, and the
   * queue touches neither those slots nor its columns (it calls `flush` before it runs any item or queues any, and
   * calls `takeRun` again only after a `flush`).
   */
  takeRun(
    items: (QueuedItem | undefined)[],
    keys: Float64Array,
    refs: (object | null)[],
    extras: (object | null)[],
    from: number,
    to: number,
  ): number;
  /**
   * Frees what was taken, in order, each exactly once; adds what freeing threw to `errors` (made when null) and
   * returns it.
   */
  flush(errors: unknown[] | null): unknown[] | null;
}

/** Counters of a {@link ReleaseQueue} since it was made, and what is pending now. */
export interface ReleaseQueueStatistics {
  /** Items ever queued. */
  queued: number;
  /** Bytes ever queued. */
  queuedBytes: number;
  /** Items that have run (by `retire` or `drainAll`). */
  retired: number;
  /** Bytes of the items that have run. */
  retiredBytes: number;
  /** Items waiting now. */
  pending: number;
  /** Bytes of the items waiting now. */
  pendingBytes: number;
}

function isSerial(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Destroy callbacks held until the submission serial that last used their resource has completed.
 *
 * Created with `new ReleaseQueue()` by whoever tracks the submissions (a {@link FrameManager} makes its own);
 * it owns nothing Vulkan itself. Drain it with {@link ReleaseQueue.drainAll} at shutdown: items still queued when it
 * is dropped are simply never run (their resources leak, which the allocator's leak report then shows).
 */
export class ReleaseQueue {
  // A ring of `capacity` slots (a power of two), sorted by serial, stable: the items waiting are the `count` slots from
  // `head` on, wrapping at the end. Retiring moves `head`; nothing is moved then. (The queue used to be an array
  // whose live part was moved to the front when the dead prefix grew past half of it: with two frames in flight that
  // was every other frame, a thousand items' three object slots and three numbers each, 20-30 µs of every other
  // beginFrame of `bench frame` on the two-core machine.) The columns keep their length, the high-water mark, so that
  // a queue emptied every frame does not give its backing store back and grow it again (heap churn per destroy());
  // they double when full. The serial and the size of each item are kept beside it, in `serials` and `sizes` (the
  // same slots, Float64Arrays): queueing and retiring read those, and the record vkmem queues for a Buffer or Texture
  // is not touched by the destroy() that queues it (_enqueueAt). `keys`, `refs` and `extras` hold, in the same slots,
  // what each item was queued with for the batcher.
  private items: (QueuedItem | undefined)[] = filled(INITIAL_CAPACITY, undefined);
  private keys = new Float64Array(INITIAL_CAPACITY);
  private refs: (object | null)[] = filled(INITIAL_CAPACITY, null);
  private extras: (object | null)[] = filled(INITIAL_CAPACITY, null);
  private serials = new Float64Array(INITIAL_CAPACITY);
  private sizes = new Float64Array(INITIAL_CAPACITY);
  /** The columns' length less one (their length is a power of two): `slot & mask` wraps a slot past the end. */
  private mask = INITIAL_CAPACITY - 1;
  /** The slot of the oldest item waiting (0 when none waits). */
  private head = 0;
  /** The items waiting. */
  private count = 0;
  private queuedCount = 0;
  // The byte totals start as 0.5 and are zeroed in the constructor, so that V8 keeps them doubles from the start:
  // they pass 2^31 within minutes of a busy game, and a field that turns from small integers into doubles mid-run
  // replaces the queue's map and deoptimizes what was optimized for it (newFrameStatistics, frame-statistics.ts).
  private queuedBytes = 0.5;
  private retiredCount = 0;
  private retiredBytes = 0.5;
  private pendingBytes = 0.5;
  /** @internal Frees runs of items together (a FrameManager's queue: release-batch.ts), or null. */
  _batcher: ReleaseBatcher | null = null;

  constructor() {
    this.queuedBytes = this.retiredBytes = this.pendingBytes = 0;
  }

  /** Items waiting now. */
  get pending(): number {
    return this.count;
  }

  /** The lowest serial an item is waiting for, or null when the queue is empty. */
  get oldestSerial(): number | null {
    return this.count > 0 ? this.serials[this.head]! : null;
  }

  /**
   * Queues `destroy` to run once the submission `serial` has completed.
   *
   * Preconditions: the resource is not queued already (see the module comment), and the caller will call
   * `retire` only with serials whose fences have signaled.
   * @throws RangeError when `serial` is not a non-negative safe integer or `size` is not a non-negative safe integer.
   * @throws TypeError when `label` is not a string or `destroy` not a function.
   */
  enqueue(serial: number, label: string, size: number, destroy: () => void): void {
    if (!isSerial(serial))
      throw new RangeError(
        `ReleaseQueue.enqueue: serial must be a non-negative safe integer, got ${describeValue(serial)}`,
      );
    if (typeof label !== "string")
      throw new TypeError(`ReleaseQueue.enqueue: label must be a string, got ${describeValue(label)}`);
    if (!isSerial(size))
      throw new RangeError(
        `ReleaseQueue.enqueue: size must be a non-negative safe integer number of bytes, got ${describeValue(size)}`,
      );
    if (typeof destroy !== "function")
      throw new TypeError(`ReleaseQueue.enqueue: destroy must be a function, got ${describeValue(destroy)}`);
    const item: ReleaseItem = { serial, label, size, destroy };
    this._enqueueAt(item, serial, size);
  }

  /**
   * Queues an item object as it is, without copying it (callers that make one record per resource up front, so
   * that queueing allocates nothing). The item's fields must not change while it is queued.
   *
   * Preconditions: those of {@link enqueue}.
   * @throws TypeError / RangeError for an item whose fields {@link enqueue} would refuse (nothing is queued then).
   */
  enqueueItem(item: ReleaseItem): void {
    if (!isOptionsObject(item))
      throw new TypeError(`ReleaseQueue.enqueueItem: item must be a ReleaseItem object, got ${describeValue(item)}`);
    // Each field read once: the queue keeps the serial and the size it checked.
    const serial = item.serial;
    if (!isSerial(serial))
      throw new RangeError(
        `ReleaseQueue.enqueueItem: item.serial must be a non-negative safe integer, got ${describeValue(serial)}`,
      );
    if (typeof item.label !== "string")
      throw new TypeError(`ReleaseQueue.enqueueItem: item.label must be a string, got ${describeValue(item.label)}`);
    const size = item.size;
    if (!isSerial(size))
      throw new RangeError(
        `ReleaseQueue.enqueueItem: item.size must be a non-negative safe integer number of bytes, got ${describeValue(size)}`,
      );
    if (typeof item.destroy !== "function")
      throw new TypeError(
        `ReleaseQueue.enqueueItem: item.destroy must be a function, got ${describeValue(item.destroy)}`,
      );
    this._enqueueAt(item, serial, size);
  }

  /**
   * @internal {@link enqueueItem} without the checks, for the records vkmem makes itself (a FrameManager's): the
   * caller passes the serial and the size, so that queueing does not read the record (a Buffer's or Texture's is
   * made at creation and is cold by the time it is destroyed). `key`, `ref` and `extra` are kept for the batcher's
   * `takeRun` (a FrameManager's Buffer or Texture: its allocation's handle, the allocation and its view's bytes, read
   * from the resource as it is destroyed).
   */
  _enqueueAt(
    item: QueuedItem,
    serial: number,
    size: number,
    key = 0,
    ref: object | null = null,
    extra: object | null = null,
  ): void {
    // Kept short (a destroy() runs it): an append after the newest, unless the item is older than it.
    if (this.count === this.serials.length) this.#grow();
    const mask = this.mask;
    let at = (this.head + this.count) & mask;
    if (this.count > 0 && this.serials[(at - 1) & mask]! > serial) at = this.#makeRoom(serial);
    this.items[at] = item;
    this.refs[at] = ref;
    this.extras[at] = extra;
    this.keys[at] = key;
    this.serials[at] = serial;
    this.sizes[at] = size;
    this.count++;
    this.queuedCount++;
    this.queuedBytes += size;
    this.pendingBytes += size;
  }

  /** The ring is full: twice the slots, its items moved to slots 0, 1, ... in order (the head at 0). */
  #grow(): void {
    const capacity = this.serials.length;
    const head = this.head;
    const unwrap = <T>(column: T[], empty: T): T[] => {
      const next = column.slice(head);
      for (let i = 0; i < head; i++) next.push(column[i]!);
      for (let i = 0; i < capacity; i++) next.push(empty);
      return next;
    };
    const unwrapNumbers = (column: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const next = new Float64Array(2 * capacity);
      next.set(column.subarray(head));
      next.set(column.subarray(0, head), capacity - head);
      return next;
    };
    this.items = unwrap(this.items, undefined);
    this.refs = unwrap(this.refs, null);
    this.extras = unwrap(this.extras, null);
    this.serials = unwrapNumbers(this.serials);
    this.sizes = unwrapNumbers(this.sizes);
    this.keys = unwrapNumbers(this.keys);
    this.mask = 2 * capacity - 1;
    this.head = 0;
  }

  /**
   * Rare: a place for an item of `serial`, older than the newest, after every item of its serial; the later ones move
   * up one slot (the ring has a free one after the newest). Returns its slot.
   */
  #makeRoom(serial: number): number {
    const { items, refs, extras, serials, sizes, keys, mask } = this;
    let at = (this.head + this.count) & mask;
    for (let n = this.count; n > 0; n--) {
      const before = (at - 1) & mask;
      if (serials[before]! <= serial) break;
      items[at] = items[before];
      refs[at] = refs[before]!;
      extras[at] = extras[before]!;
      serials[at] = serials[before]!;
      sizes[at] = sizes[before]!;
      keys[at] = keys[before]!;
      at = before;
    }
    return at;
  }

  /**
   * Runs, in serial order, every item whose serial is at most `completedSerial`, and returns how many ran.
   *
   * Precondition: the fence of submission `completedSerial` has signaled (so have all earlier ones).
   * @throws RangeError when `completedSerial` is not a non-negative safe integer.
   * @throws whatever a callback threw (the first error, or an AggregateError of all), after running every due item.
   */
  retire(completedSerial: number): number {
    if (!isSerial(completedSerial)) {
      throw new RangeError(
        `ReleaseQueue.retire: completedSerial must be a non-negative safe integer, got ${describeValue(completedSerial)}`,
      );
    }
    return this.run(completedSerial);
  }

  /**
   * Runs every item, whatever its serial, in serial order; returns how many ran. For shutdown, once the device is
   * idle (or the submissions concerned will never be made).
   * @throws whatever a callback threw (the first error, or an AggregateError of all), after running every item.
   */
  drainAll(): number {
    return this.run(Infinity);
  }

  /** A snapshot of the counters. */
  get statistics(): ReleaseQueueStatistics {
    return {
      queued: this.queuedCount,
      queuedBytes: this.queuedBytes,
      retired: this.retiredCount,
      retiredBytes: this.retiredBytes,
      pending: this.pending,
      pendingBytes: this.pendingBytes,
    };
  }

  private run(limit: number): number {
    let ran = 0;
    let errors: unknown[] | null = null;
    const batcher = this._batcher;
    // The columns, head and count are re-read on each turn: a callback may enqueue (possibly due) items.
    while (this.count > 0 && this.serials[this.head]! <= limit) {
      let head = this.head;
      if (batcher !== null) {
        // The due run from the head to the columns' end at most, offered to the batcher where it lies (no callback
        // runs before its flush); a run that wraps is offered in two.
        const serials = this.serials;
        const end = Math.min(head + this.count, serials.length);
        let to = head + 1;
        while (to < end && serials[to]! <= limit) to++;
        const taken = batcher.takeRun(this.items, this.keys, this.refs, this.extras, head, to);
        if (taken > head) {
          const sizes = this.sizes;
          let bytes = 0;
          for (let i = head; i < taken; i++) bytes += sizes[i]!;
          this.retiredCount += taken - head;
          this.retiredBytes += bytes;
          this.pendingBytes -= bytes;
          ran += taken - head;
          this.count -= taken - head;
          this.head = head = taken & this.mask;
        }
        if (taken === to) {
          // Nothing due is left before the columns' end: the loop ends, and the flush below frees the run; or the run
          // goes on at slot 0, offered once this part is freed (the batcher takes one run between flushes).
          if (to === serials.length) errors = batcher.flush(errors);
          continue;
        }
        errors = batcher.flush(errors); // what it took goes first; then the item it left, here
      }
      const item = this.items[head]!;
      const size = this.sizes[head]!;
      this.items[head] = undefined;
      this.refs[head] = null;
      this.extras[head] = null;
      this.head = (head + 1) & this.mask;
      this.count--;
      this.retiredCount++;
      this.retiredBytes += size;
      this.pendingBytes -= size;
      ran++;
      try {
        item.destroy();
      } catch (error) {
        (errors ??= []).push(error);
      }
    }
    if (this._batcher !== null) errors = this._batcher.flush(errors);
    if (this.count === 0) this.head = 0; // the next items start at slot 0: a run wraps less often
    if (errors !== null) {
      throw errors.length === 1
        ? errors[0]
        : new AggregateError(errors, `ReleaseQueue: ${errors.length} destroy callbacks threw`);
    }
    return ran;
  }
}

/** The slots of a new queue's ring. */
const INITIAL_CAPACITY = 64;

/** An array of `length` copies of `value`, made by appending (so that V8 keeps its elements packed). */
function filled<T>(length: number, value: T): T[] {
  const array: T[] = [];
  for (let i = 0; i < length; i++) array.push(value);
  return array;
}
