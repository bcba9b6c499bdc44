/**
 * The manager's hot records keep their hidden class (V8's map) when their byte and microsecond fields take
 * fractions or pass 2^31. V8 gives a field the representation of the first value stored in it; a record whose field
 * held only small integers and then takes a double gets a new map, the old one is deprecated, and every function
 * optimized for it deoptimizes ("wrong map"). In `bench frame` the transient ring's first wrap did that to the ring's
 * blocks and to the frame's statistics, and the frames after it took 1.5-5 ms where a frame takes about 0.3. The
 * records now make those fields doubles from the start (frame-statistics.ts, newFrameStatistics).
 *
 * Asked of V8 itself: `%HaveSameMap`, through `--allow-natives-syntax` set in this worker. Each test fails on the
 * records as they were (fields initialized with 0): checked against the code before this change.
 */
import { setFlagsFromString } from "node:v8";
import { beforeAll, expect, test } from "vitest";
import { ReleaseQueue } from "../../engine/index.js";
import { newFrameStatistics, newFrameTotals } from "../../engine/resources/frame-statistics.js";
import { RingBlock } from "../../engine/resources/upload-ring.js";

let sameMap: (a: object, b: object) => boolean;

beforeAll(() => {
  setFlagsFromString("--allow-natives-syntax");
  // Compiled after the flag is set, so that the parser takes the runtime call.
  sameMap = new Function("a", "b", "return %HaveSameMap(a, b);") as typeof sameMap;
});

/** Values a byte or microsecond field takes in a long run, none of them a small integer. */
const DOUBLES = [334072.5, 2 ** 31, 2 ** 40 + 7];

test("a frame's statistics: every byte and microsecond field takes doubles without a new map", () => {
  const fields = [
    "backPressureWaitUs",
    "deferredRetiredBytes",
    "deferredRetireUs",
    "beginFrameUs",
    "endFrameUs",
    "uploadedBytes",
    "transientBytes",
    "ringUsedBytes",
  ] as const;
  for (const field of fields) {
    for (const value of DOUBLES) {
      const before = newFrameStatistics(1, 0, 1);
      const changed = newFrameStatistics(2, 1, 2) as unknown as Record<string, number>;
      changed[field] = value;
      const after = newFrameStatistics(3, 0, 3);
      expect({ field, value, same: sameMap(before, changed) && sameMap(before, after) }).toEqual({
        field,
        value,
        same: true,
      });
      expect(before[field]).toBe(0);
      expect(Object.is(after[field], 0)).toBe(true);
    }
  }
  const totals = newFrameTotals();
  const later = newFrameTotals();
  later.backPressureWaitUs = 12.25;
  later.beginFrameUs = later.endFrameUs = 2 ** 40 + 0.5;
  expect(sameMap(totals, later)).toBe(true);
  expect(totals).toEqual({
    backPressureWaits: 0,
    backPressureWaitUs: 0,
    beginFrameUs: 0,
    endFrameUs: 0,
    resourcesCreated: 0,
    resourcesDestroyed: 0,
  });
});

test("a ring block: its offsets and counts take doubles without a new map", () => {
  const make = () => new RingBlock(null as never, null as never, new Uint8Array(16), 8 * 1024 * 1024);
  for (const field of ["head", "tail", "used", "pending", "frameStart"] as const) {
    const before = make();
    const changed = make();
    changed[field] = 2 ** 40 + 0.5;
    expect({ field, same: sameMap(before, changed) && sameMap(before, make()) }).toEqual({ field, same: true });
    expect([before.head, before.tail, before.used, before.pending, before.frameStart]).toEqual([0, 0, 0, 0, 0]);
  }
});

test("a release queue: its byte totals pass 2^31 without a new map", () => {
  const before = new ReleaseQueue();
  const big = new ReleaseQueue();
  big.enqueue(1, "big", 3 * 2 ** 31, () => {});
  big.retire(1);
  expect(big.statistics.retiredBytes).toBe(3 * 2 ** 31);
  expect(sameMap(before, big)).toBe(true);
  expect(sameMap(before, new ReleaseQueue())).toBe(true);
  expect(before.statistics).toMatchObject({ queuedBytes: 0, retiredBytes: 0, pendingBytes: 0 });
});
