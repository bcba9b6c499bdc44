/**
 * The release queue (engine/resources/release-queue.ts) with fake serials, no GPU: items run only once their serial
 * is retired, in serial order and queue order within a serial, exactly once; the counters add up; a throwing
 * callback neither stops the others nor runs twice; bad arguments are refused with the value in the message.
 */
import { describe, expect, test } from "vitest";
import { ReleaseQueue } from "../../engine/index.js";
import type { QueuedItem, ReleaseBatcher } from "../../engine/resources/release-queue.js";

/** A queue and a log of the labels its callbacks ran, in order. */
function logged(): { queue: ReleaseQueue; ran: string[]; add: (serial: number, label: string, size?: number) => void } {
  const queue = new ReleaseQueue();
  const ran: string[] = [];
  return { queue, ran, add: (serial, label, size = 0) => queue.enqueue(serial, label, size, () => ran.push(label)) };
}

describe("ReleaseQueue", () => {
  test("an item runs only when its serial is retired, and only once", () => {
    const { queue, ran, add } = logged();
    add(3, "a");
    expect(queue.retire(0)).toBe(0);
    expect(queue.retire(2)).toBe(0);
    expect(ran).toEqual([]);
    expect(queue.pending).toBe(1);
    expect(queue.oldestSerial).toBe(3);
    expect(queue.retire(3)).toBe(1);
    expect(ran).toEqual(["a"]);
    expect(queue.retire(3)).toBe(0);
    expect(queue.retire(100)).toBe(0);
    expect(ran).toEqual(["a"]);
    expect(queue.pending).toBe(0);
    expect(queue.oldestSerial).toBeNull();
  });

  test("items retire in serial order, and in queue order within a serial, whatever order they arrive in", () => {
    const { queue, ran, add } = logged();
    add(5, "5a");
    add(5, "5b");
    add(7, "7a");
    add(2, "2a"); // last used long ago: goes before the later serials
    add(5, "5c"); // after 5a and 5b, before 7a
    add(7, "7b");
    add(2, "2b");
    expect(queue.retire(4)).toBe(2);
    expect(ran).toEqual(["2a", "2b"]);
    expect(queue.retire(6)).toBe(3);
    expect(ran).toEqual(["2a", "2b", "5a", "5b", "5c"]);
    expect(queue.retire(7)).toBe(2);
    expect(ran).toEqual(["2a", "2b", "5a", "5b", "5c", "7a", "7b"]);
  });

  test("retiring serial by serial over many frames runs each item exactly once, in order (the ring wrapping included)", () => {
    const queue = new ReleaseQueue();
    const runs = new Map<number, number>();
    const order: number[] = [];
    let id = 0;
    for (let frame = 1; frame <= 400; frame++) {
      for (let k = 0; k < (frame % 5) + 1; k++) {
        const mine = id++;
        queue.enqueue(frame, `item ${mine}`, 16, () => {
          runs.set(mine, (runs.get(mine) ?? 0) + 1);
          order.push(mine);
        });
      }
      if (frame > 2) queue.retire(frame - 2); // three frames in flight
    }
    queue.drainAll();
    expect(runs.size).toBe(id);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(order).toEqual([...Array(id).keys()]);
  });

  test("late items keep their order and sizes when they land among the ring's slots, past the first growth", () => {
    // An item older than the newest is placed before the later ones, wherever the ring's slots lie by then.
    const queue = new ReleaseQueue();
    const ran: string[] = [];
    const expected: { serial: number; label: string }[] = [];
    let bytes = 0;
    const add = (serial: number, label: string) => {
      queue.enqueue(serial, label, label.length, () => ran.push(label));
      expected.push({ serial, label });
      bytes += label.length;
    };
    for (let frame = 10; frame < 60; frame++) {
      for (let k = 0; k < 7; k++) add(frame, `f${frame}-${k}`);
      if (frame % 3 === 0) add(frame - 5, `late${frame}`); // used five frames ago, destroyed now
      if (frame % 4 === 0) {
        queue.retire(frame - 6);
        const due = expected.filter((e) => e.serial <= frame - 6).map((e) => e.label);
        expect(ran).toEqual(stableBySerial(expected).filter((l) => due.includes(l)));
      }
    }
    expect(queue.statistics.pendingBytes + queue.statistics.retiredBytes).toBe(bytes);
    queue.drainAll();
    expect(ran).toEqual(stableBySerial(expected));
    expect(queue.statistics.retiredBytes).toBe(bytes);
  });
  test("a batcher is offered a run that wraps past the columns' end in two parts, freed in order, a flush between", () => {
    // The queue is a ring of 64 slots to start with: 50 items retired leave its head at slot 50, and the next 30 fill
    // slots 60-63 and go on at 0. A late item then moves the later ones back a slot across the wrap.
    const queue = new ReleaseQueue();
    const log: string[] = [];
    let taken: { items: (QueuedItem | undefined)[]; from: number; end: number } | null = null;
    const label = (item: QueuedItem | undefined): string => (item as { label: string } | undefined)?.label ?? "(gone)";
    queue._batcher = {
      takeRun(items, _keys, _refs, _extras, from, to) {
        if (taken !== null) log.push("offered again before a flush");
        log.push(`offered ${to - from} from slot ${from}`);
        taken = { items, from, end: to };
        return to;
      },
      flush(errors) {
        const run = taken;
        taken = null;
        if (run !== null)
          for (let k = run.from; k < run.end; k++) {
            log.push(label(run.items[k]));
            run.items[k] = undefined;
          }
        return errors;
      },
    };
    const add = (serial: number, name: string): void =>
      queue._enqueueAt({ label: name, destroy: () => log.push(`ran ${name} alone`) } as QueuedItem, serial, 1, 1, {});
    for (let i = 0; i < 50; i++) add(1, `one ${i}`);
    for (let i = 0; i < 10; i++) add(2, `two ${i}`);
    expect(queue.retire(1)).toBe(50);
    log.length = 0;
    for (let i = 0; i < 30; i++) add(3, `three ${i}`);
    add(2, "two late"); // after the other serial 2 items, before every serial 3 one: slot 60
    expect(queue.pending).toBe(41);
    expect(queue.oldestSerial).toBe(2);
    expect(queue.retire(3)).toBe(41);
    const expected = [
      ...Array.from({ length: 10 }, (_, i) => `two ${i}`),
      "two late",
      ...Array.from({ length: 30 }, (_, i) => `three ${i}`),
    ];
    // Slots 50-63 (ten serial 2 items, the late one, three serial 3 ones), then 0-26.
    expect(log).toEqual([
      "offered 14 from slot 50",
      ...expected.slice(0, 14),
      "offered 27 from slot 0",
      ...expected.slice(14),
    ]);
    expect(queue.pending).toBe(0);
    expect(queue.statistics).toMatchObject({ queued: 91, retired: 91, pendingBytes: 0 });
  });

  test("a full ring grows to twice its slots with its items in order, wrapped or not, and late items still fit", () => {
    const { queue, ran, add } = logged();
    const expected: { serial: number; label: string }[] = [];
    const put = (serial: number, label: string): void => {
      add(serial, label, 1);
      expected.push({ serial, label });
    };
    for (let i = 0; i < 40; i++) put(1, `a${i}`);
    for (let i = 0; i < 20; i++) put(2, `b${i}`);
    queue.retire(1); // head at slot 40, 20 waiting
    ran.length = 0;
    expected.splice(0, 40);
    // 44 more fill the ring (slots 60-63, 0-39), the next ones grow it while it wraps; late serial 2 items go among them.
    for (let i = 0; i < 200; i++) {
      put(3 + (i >> 6), `c${i}`);
      if (i % 37 === 0) put(2, `late${i}`);
    }
    expect(queue.pending).toBe(expected.length);
    expect(queue.oldestSerial).toBe(2);
    expect(queue.retire(3)).toBe(expected.filter((e) => e.serial <= 3).length);
    queue.drainAll();
    expect(ran).toEqual(stableBySerial(expected));
    expect(queue.statistics).toMatchObject({ pending: 0, pendingBytes: 0, retiredBytes: 40 + expected.length });
  });

  test("the counters add up: queued = retired + pending, in items and in bytes", () => {
    const { queue, add } = logged();
    add(1, "a", 100);
    add(2, "b", 20);
    add(3, "c", 3);
    expect(queue.statistics).toEqual({
      queued: 3,
      queuedBytes: 123,
      retired: 0,
      retiredBytes: 0,
      pending: 3,
      pendingBytes: 123,
    });
    queue.retire(2);
    expect(queue.statistics).toEqual({
      queued: 3,
      queuedBytes: 123,
      retired: 2,
      retiredBytes: 120,
      pending: 1,
      pendingBytes: 3,
    });
    expect(queue.drainAll()).toBe(1);
    expect(queue.statistics).toEqual({
      queued: 3,
      queuedBytes: 123,
      retired: 3,
      retiredBytes: 123,
      pending: 0,
      pendingBytes: 0,
    });
    expect(queue.drainAll()).toBe(0);
  });

  test("drainAll runs everything in serial order, whatever the serials", () => {
    const { queue, ran, add } = logged();
    add(9, "9");
    add(1, "1");
    add(Number.MAX_SAFE_INTEGER, "max");
    add(0, "0");
    expect(queue.drainAll()).toBe(4);
    expect(ran).toEqual(["0", "1", "9", "max"]);
  });

  test("a throwing callback does not stop the others, does not run twice, and its error is rethrown", () => {
    const { queue, ran, add } = logged();
    add(1, "a");
    queue.enqueue(1, "boom", 8, () => {
      ran.push("boom");
      throw new Error("boom");
    });
    add(1, "c");
    add(2, "later");
    expect(() => queue.retire(1)).toThrow("boom");
    expect(ran).toEqual(["a", "boom", "c"]);
    expect(queue.pending).toBe(1);
    expect(queue.statistics.retired).toBe(3);
    queue.retire(5);
    expect(ran).toEqual(["a", "boom", "c", "later"]);
  });

  test("several throwing callbacks give one AggregateError holding each error", () => {
    const queue = new ReleaseQueue();
    queue.enqueue(1, "x", 0, () => {
      throw new Error("x");
    });
    queue.enqueue(1, "y", 0, () => {
      throw new Error("y");
    });
    let caught: unknown;
    try {
      queue.drainAll();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AggregateError);
    expect((caught as AggregateError).errors.map((e) => (e as Error).message)).toEqual(["x", "y"]);
    expect(queue.pending).toBe(0);
  });

  test("a callback may queue more: due items run in the same call, later ones wait", () => {
    const { queue, ran, add } = logged();
    queue.enqueue(1, "parent", 0, () => {
      ran.push("parent");
      add(1, "child now");
      add(4, "child later");
    });
    expect(queue.retire(2)).toBe(2);
    expect(ran).toEqual(["parent", "child now"]);
    expect(queue.pending).toBe(1);
    expect(queue.retire(4)).toBe(1);
    expect(ran).toEqual(["parent", "child now", "child later"]);
  });

  test("a batcher is offered each due run where it lies, and flushed before anything else runs and before returning", () => {
    const queue = new ReleaseQueue();
    const log: string[] = [];
    type Run = { items: (QueuedItem | undefined)[]; refs: (object | null)[]; from: number; end: number };
    let pending: Run | null = null;
    const label = (item: QueuedItem | undefined): string => (item as { label: string } | undefined)?.label ?? "(gone)";
    // Takes the items queued with a key (what a FrameManager's Buffer or Texture is queued with), leaves the others.
    const batcher: ReleaseBatcher = {
      takeRun(items, keys, refs, _extras, from, to) {
        if (pending !== null) log.push("offered again before a flush");
        log.push(`offered ${items.slice(from, to).map(label).join(" ")}`);
        let i = from;
        while (i < to && keys[i] !== 0) i++;
        if (i > from) pending = { items, refs, from, end: i };
        return i;
      },
      flush(errors) {
        const run = pending;
        pending = null;
        if (run !== null) {
          // The taken slots are as they were taken: the queue touched none of them before this flush.
          for (let k = run.from; k < run.end; k++) {
            log.push(`freed ${label(run.items[k])} ${run.refs[k] === null ? "without" : "with"} its ref`);
            run.items[k] = undefined;
            run.refs[k] = null;
          }
        }
        return errors;
      },
    };
    queue._batcher = batcher;
    const item = (name: string, then?: () => void): QueuedItem & { label: string } => ({
      label: name,
      destroy: () => {
        log.push(`ran ${name}`);
        then?.();
      },
    });
    queue._enqueueAt(item("a"), 1, 10, 1, {});
    queue._enqueueAt(item("b"), 1, 10, 2, {});
    // A callback between them, which queues a due item and a later one when it runs.
    queue._enqueueAt(
      item("c", () => {
        queue._enqueueAt(item("f"), 1, 10, 6, {});
        queue._enqueueAt(item("g"), 3, 10, 7, {});
      }),
      1,
      10,
    );
    queue._enqueueAt(item("d"), 1, 10, 4, {});
    queue._enqueueAt(item("e"), 2, 10, 5, {}); // not due at 1
    expect(queue.retire(1)).toBe(5);
    expect(log).toEqual([
      "offered a b c d",
      "freed a with its ref",
      "freed b with its ref",
      "ran c",
      "offered d f",
      "freed d with its ref",
      "freed f with its ref",
    ]);
    expect(queue.statistics).toMatchObject({ retired: 5, retiredBytes: 50, pending: 2, pendingBytes: 20 });
    log.length = 0;
    expect(queue.drainAll()).toBe(2);
    expect(log).toEqual(["offered e g", "freed e with its ref", "freed g with its ref"]);
    expect(queue.statistics).toMatchObject({ retired: 7, retiredBytes: 70, pending: 0, pendingBytes: 0 });
  });

  test("bad arguments are refused with the value in the message, and nothing is queued", () => {
    const queue = new ReleaseQueue();
    const ok = (): void => {};
    expect(() => queue.enqueue(-1, "a", 0, ok)).toThrow(
      new RangeError("ReleaseQueue.enqueue: serial must be a non-negative safe integer, got -1"),
    );
    expect(() => queue.enqueue(1.5, "a", 0, ok)).toThrow(RangeError);
    expect(() => queue.enqueue(2 ** 53, "a", 0, ok)).toThrow(RangeError);
    expect(() => queue.enqueue("1" as never, "a", 0, ok)).toThrow(/got "1"/);
    expect(() => queue.enqueue(1, 7 as never, 0, ok)).toThrow(
      new TypeError("ReleaseQueue.enqueue: label must be a string, got 7"),
    );
    expect(() => queue.enqueue(1, "a", -4, ok)).toThrow(
      /size must be a non-negative safe integer number of bytes, got -4/,
    );
    expect(() => queue.enqueue(1, "a", NaN, ok)).toThrow(/got NaN/);
    expect(() => queue.enqueue(1, "a", 0, null as never)).toThrow(
      new TypeError("ReleaseQueue.enqueue: destroy must be a function, got null"),
    );
    expect(() => queue.retire(-1)).toThrow(
      new RangeError("ReleaseQueue.retire: completedSerial must be a non-negative safe integer, got -1"),
    );
    expect(() => queue.retire(Infinity)).toThrow(RangeError);
    expect(queue.statistics.queued).toBe(0);
  });
});

/** The labels in the order the queue owes them: by serial, then in the order they were queued. */
function stableBySerial(items: readonly { serial: number; label: string }[]): string[] {
  return items
    .map((e, i) => ({ ...e, i }))
    .sort((a, b) => a.serial - b.serial || a.i - b.i)
    .map((e) => e.label);
}
