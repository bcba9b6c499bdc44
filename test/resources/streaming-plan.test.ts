/**
 * The texture streamer's budget plan (engine/resources/streaming/budget-plan.ts) as the pure function it is: heap
 * figures and options in, the budget and the two pools' blocks out. No GPU: the figures are written here, so every
 * branch (option, VK_EXT_memory_budget, heap size limit, VMA's estimate), the fit to a heap size limit, the tail split
 * and the rounding are checked on numbers worked out by hand.
 */
import { describe, expect, test } from "vitest";
import { planBudget, type BudgetHeap } from "../../engine/resources/streaming/budget-plan.js";

const MiB = 1024 * 1024;
const op = "plan";
/** A heap of 8 GiB whose budget VMA reports as 6 GiB, without VK_EXT_memory_budget and without a size limit. */
const heap: BudgetHeap = { memoryBudget: false, heapBudget: 6 * 1024 * MiB, heapSizeLimit: 0 };

describe("where the budget comes from", () => {
  test("budgetBytes, when given, wins over every heap figure", () => {
    const plan = planBudget(
      { memoryBudget: true, heapBudget: 6 * 1024 * MiB, heapSizeLimit: 0 },
      { budgetBytes: 256 * MiB },
      op,
    );
    expect(plan.source).toBe("option");
    expect(plan.requestedBytes).toBe(256 * MiB);
  });

  test("VK_EXT_memory_budget: the heap's budget times budgetFraction (default one half)", () => {
    const tracked = { ...heap, memoryBudget: true, heapSizeLimit: 2048 * MiB };
    expect(planBudget(tracked, {}, op)).toMatchObject({ source: "memory-budget", requestedBytes: 2048 * MiB }); // 3 GiB fitted to the limit
    expect(planBudget({ ...tracked, heapSizeLimit: 0 }, { budgetFraction: 0.25 }, op)).toMatchObject({
      source: "memory-budget",
      requestedBytes: 1536 * MiB,
    });
  });

  test("without the extension, the heap size limit, whole", () => {
    expect(planBudget({ ...heap, heapSizeLimit: 512 * MiB }, { budgetFraction: 0.25 }, op)).toMatchObject({
      source: "heap-size-limit",
      requestedBytes: 512 * MiB,
    });
  });

  test("without either, VMA's estimate times budgetFraction, rounded down", () => {
    expect(planBudget({ ...heap, heapBudget: 1001 }, { budgetFraction: 0.5, tailSize: 0 }, op)).toMatchObject({
      source: "heap-estimate",
      requestedBytes: 500,
    });
    expect(planBudget(heap, {}, op)).toMatchObject({ source: "heap-estimate", requestedBytes: 3 * 1024 * MiB });
  });

  test("a budgetBytes above the heap size limit is lowered to it; below it, kept", () => {
    const limited = { ...heap, heapSizeLimit: 100 * MiB };
    expect(planBudget(limited, { budgetBytes: 300 * MiB }, op).requestedBytes).toBe(100 * MiB);
    expect(planBudget(limited, { budgetBytes: 60 * MiB }, op).requestedBytes).toBe(60 * MiB);
  });
});

describe("the pools' blocks", () => {
  test("256 MiB with the defaults: an eighth for tails in 4 MiB blocks, the rest in 32 MiB blocks", () => {
    expect(planBudget(heap, { budgetBytes: 256 * MiB }, op)).toEqual({
      source: "option",
      requestedBytes: 256 * MiB,
      tailSize: 32,
      blockSize: 32 * MiB,
      blockCount: 7,
      tailBlockSize: 4 * MiB,
      tailBlockCount: 8,
      tailBudgetBytes: 32 * MiB,
      budgetBytes: 256 * MiB,
    });
  });

  test("shares that do not divide: equal blocks, counts rounded down, never above the budget", () => {
    // 100,000,000 bytes: tails 12,500,000 in ceil(12.5e6 / 4 MiB) = 3 blocks of 4,166,666; the rest 87,500,000 in
    // ceil(87.5e6 / 32 MiB) = 3 blocks of 29,166,666.
    const plan = planBudget(heap, { budgetBytes: 100_000_000 }, op);
    expect(plan).toMatchObject({ blockSize: 29_166_666, blockCount: 3, tailBlockSize: 4_166_666, tailBlockCount: 3 });
    expect(plan.tailBudgetBytes).toBe(12_499_998);
    expect(plan.budgetBytes).toBe(87_499_998 + 12_499_998);
  });

  test("tailSize 0: no tail pool, the whole budget for the streamed images", () => {
    expect(planBudget(heap, { budgetBytes: 64 * MiB, tailSize: 0 }, op)).toMatchObject({
      tailSize: 0,
      tailBlockSize: 0,
      tailBlockCount: 0,
      tailBudgetBytes: 0,
      blockSize: 32 * MiB,
      blockCount: 2,
      budgetBytes: 64 * MiB,
    });
  });

  test("an explicit blockSize and tailBudgetFraction", () => {
    const plan = planBudget(heap, { budgetBytes: 96 * MiB, blockSize: 10 * MiB, tailBudgetFraction: 0.25 }, op);
    // Tails: 24 MiB in 6 blocks of 4 MiB; images: 72 MiB in 7 blocks of 10 MiB (2 MiB left unplanned).
    expect(plan).toMatchObject({
      blockSize: 10 * MiB,
      blockCount: 7,
      tailBlockSize: 4 * MiB,
      tailBlockCount: 6,
      budgetBytes: 94 * MiB,
    });
  });

  test("for any budget, the plan stays within it and within the block size caps", () => {
    for (let budget = 1 * MiB; budget < 2048 * MiB; budget = Math.floor(budget * 1.37) + 4097) {
      const plan = planBudget(heap, { budgetBytes: budget }, op);
      expect(plan.budgetBytes).toBeLessThanOrEqual(budget);
      expect(plan.blockSize).toBeLessThanOrEqual(32 * MiB);
      expect(plan.tailBlockSize).toBeLessThanOrEqual(4 * MiB);
      expect(plan.blockCount).toBeGreaterThanOrEqual(1);
      expect(plan.tailBudgetBytes).toBe(plan.tailBlockSize * plan.tailBlockCount);
      expect(plan.budgetBytes).toBe(plan.blockSize * plan.blockCount + plan.tailBudgetBytes);
      // Rounding loses less than one block per pool.
      expect(budget - plan.budgetBytes).toBeLessThan(plan.blockSize + plan.tailBlockSize);
    }
  });

  test("pure: the same inputs give the same plan, and the inputs are left as they were", () => {
    const figures = { memoryBudget: true, heapBudget: 777 * MiB, heapSizeLimit: 0 };
    const options = { budgetFraction: 0.3, tailSize: 16 };
    const copy = JSON.stringify([figures, options]);
    expect(planBudget(figures, options, op)).toEqual(planBudget(figures, options, op));
    expect(JSON.stringify([figures, options])).toBe(copy);
  });
});

describe("bad options are refused with the option and the value", () => {
  test.each([
    [{ budgetBytes: 0 }, "plan: option 'budgetBytes' must be a positive integer, got 0"],
    [{ budgetBytes: 1.5 }, "plan: option 'budgetBytes' must be a positive integer, got 1.5"],
    [{ budgetFraction: 0 }, "plan: option 'budgetFraction' must be a number in (0, 1], got 0"],
    [{ budgetFraction: 1.5 }, "plan: option 'budgetFraction' must be a number in (0, 1], got 1.5"],
    [{ budgetBytes: MiB, tailSize: -1 }, "plan: option 'tailSize' must be an integer from 0 to 16384, got -1"],
    [
      { budgetBytes: MiB, tailBudgetFraction: 1 },
      "plan: option 'tailBudgetFraction' must be a number in (0, 1), got 1",
    ],
    [{ budgetBytes: MiB, blockSize: -4 }, "plan: option 'blockSize' must be a positive integer, got -4"],
  ])("%j", (options, message) => {
    expect(() => planBudget(heap, options, op)).toThrow(RangeError);
    expect(() => planBudget(heap, options, op)).toThrow(message);
  });

  test("a tail share below 64 KiB", () => {
    expect(() => planBudget(heap, { budgetBytes: 256 * 1024 }, op)).toThrow(
      "plan: the tail pool's share of the budget (32768 bytes) is below 64 KiB: raise the budget or tailBudgetFraction, or set tailSize 0",
    );
    // The same budget without tails is fine.
    expect(planBudget(heap, { budgetBytes: 256 * 1024, tailSize: 0 }, op).budgetBytes).toBe(256 * 1024);
  });

  test("a blockSize above the streamed images' share", () => {
    expect(() => planBudget(heap, { budgetBytes: 64 * MiB, blockSize: 60 * MiB }, op)).toThrow(
      `plan: option 'blockSize' (${60 * MiB}) must not exceed the streamed images' share of the budget (${56 * MiB} of ${64 * MiB} bytes)`,
    );
  });
});
