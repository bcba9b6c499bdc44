/**
 * The streamer's memory plan, as a pure function: from the figures of one device heap and the streamer's options,
 * how many bytes it may hold and how they are cut into the blocks of its two pools. Nothing here touches Vulkan or
 * VMA; the streamer reads the figures from its allocator and creates the pools the plan describes.
 *
 * The rules, and why:
 *
 * - The budget is, in this order: `budgetBytes` when given; else VK_EXT_memory_budget's budget for the heap times
 *   `budgetFraction` when the allocator tracks it; else the heap size limit the allocator was made with; else VMA's
 *   estimate of the heap's budget times `budgetFraction`.
 * - A heap size limit is a hard ceiling (VMA refuses any block beyond it): a budget above it is lowered to it, so that
 *   the pools' blocks are sized for the heap that exists rather than refused at creation.
 * - The tail pool takes its share first (`tailBudgetFraction` of the budget, in equal blocks of at most 4 MiB, at
 *   least 64 KiB in all); the streamed images' pool gets the rest, in equal blocks of at most 32 MiB unless
 *   `blockSize` says otherwise. Block counts are rounded down, so the two pools' blocks together never exceed the
 *   budget, and `budgetBytes` of the plan (block sizes times block counts) is at most the budget asked for.
 * @module
 */
import { describeValue } from "../../errors.js";

const MiB = 1024 * 1024;

/** The figures of the heap the streamed images live in, as the allocator reports them. */
export interface BudgetHeap {
  /** Whether the allocator tracks VK_EXT_memory_budget (its heap budget is then the driver's). */
  readonly memoryBudget: boolean;
  /** VMA's budget for the heap (vmaGetHeapBudgets): the driver's with VK_EXT_memory_budget, else VMA's estimate. */
  readonly heapBudget: number;
  /** The allocator's heap size limit for the heap; 0 when it has none. */
  readonly heapSizeLimit: number;
}

/** The options of `createTextureStreamer` that the plan reads (see TextureStreamerOptions for each). */
export interface BudgetPlanOptions {
  readonly budgetBytes?: number;
  readonly budgetFraction?: number;
  readonly blockSize?: number;
  readonly tailSize?: number;
  readonly tailBudgetFraction?: number;
}

/** Where a streamer's budget came from. */
export type BudgetSource = "option" | "memory-budget" | "heap-size-limit" | "heap-estimate";

/** The plan: the budget and the blocks of the streamed images' pool and of the tail pool. */
export interface BudgetPlan {
  /** Where the budget came from. */
  readonly source: BudgetSource;
  /** The budget asked for, after the heap size limit lowered it. */
  readonly requestedBytes: number;
  /** Mips no larger than this (texels, larger side) form a texture's tail; 0: no tails. */
  readonly tailSize: number;
  /** The streamed images' pool: block size (the largest texture it can hold) and block count. */
  readonly blockSize: number;
  readonly blockCount: number;
  /** The tail pool: block size (the largest tail it can hold) and block count; both 0 without tails. */
  readonly tailBlockSize: number;
  readonly tailBlockCount: number;
  /** tailBlockSize times tailBlockCount. */
  readonly tailBudgetBytes: number;
  /** Both pools' block sizes times their block counts: at most requestedBytes. */
  readonly budgetBytes: number;
}

/**
 * Checks an option that must be a positive safe integer; returns it, or `fallback` when it is absent.
 * @throws RangeError naming the option and the bad value.
 */
export function positiveOption(
  op: string,
  name: string,
  value: unknown,
  fallback: number | undefined,
): number | undefined {
  const v = value === undefined ? fallback : value;
  if (v !== undefined && !(typeof v === "number" && Number.isSafeInteger(v) && v > 0)) {
    throw new RangeError(`${op}: option '${name}' must be a positive integer, got ${describeValue(v)}`);
  }
  return v as number | undefined;
}

/**
 * Checks `budgetFraction` (default 0.5) and returns it.
 * @throws RangeError unless it is a number in (0, 1].
 */
export function budgetFractionOption(op: string, value: unknown): number {
  const fraction = value ?? 0.5;
  if (!(typeof fraction === "number" && fraction > 0 && fraction <= 1)) {
    throw new RangeError(`${op}: option 'budgetFraction' must be a number in (0, 1], got ${describeValue(fraction)}`);
  }
  return fraction;
}

/** Equal blocks of at most `most` bytes that fill `share`: the share divided by the fewest blocks that fit it. */
function evenBlocks(share: number, most: number): number {
  return Math.floor(share / Math.ceil(share / most));
}

/**
 * Plans a streamer's budget and pools from its heap's figures and its options (see the module comment). Pure: the
 * same inputs give the same plan. `op` prefixes error messages.
 * @throws RangeError for a bad budgetBytes, budgetFraction, tailSize, tailBudgetFraction or blockSize, for a tail share
 *   below 64 KiB, and for a blockSize above the streamed images' share of the budget.
 */
export function planBudget(heap: BudgetHeap, options: BudgetPlanOptions, op: string): BudgetPlan {
  const fraction = budgetFractionOption(op, options.budgetFraction);
  let budget: number;
  let source: BudgetSource;
  if (options.budgetBytes !== undefined) {
    budget = positiveOption(op, "budgetBytes", options.budgetBytes, undefined)!;
    source = "option";
  } else if (heap.memoryBudget) {
    budget = Math.floor(heap.heapBudget * fraction);
    source = "memory-budget";
  } else if (heap.heapSizeLimit > 0) {
    budget = heap.heapSizeLimit;
    source = "heap-size-limit";
  } else {
    budget = Math.floor(heap.heapBudget * fraction);
    source = "heap-estimate";
  }
  if (heap.heapSizeLimit > 0 && budget > heap.heapSizeLimit) budget = heap.heapSizeLimit;
  const tailSize = options.tailSize ?? 32;
  if (!(Number.isInteger(tailSize) && tailSize >= 0 && tailSize <= 16384)) {
    throw new RangeError(`${op}: option 'tailSize' must be an integer from 0 to 16384, got ${describeValue(tailSize)}`);
  }
  const tailFraction = options.tailBudgetFraction ?? 0.125;
  if (!(typeof tailFraction === "number" && tailFraction > 0 && tailFraction < 1)) {
    throw new RangeError(
      `${op}: option 'tailBudgetFraction' must be a number in (0, 1), got ${describeValue(tailFraction)}`,
    );
  }
  const tailShare = tailSize > 0 ? Math.floor(budget * tailFraction) : 0;
  if (tailSize > 0 && tailShare < 64 * 1024) {
    throw new RangeError(
      `${op}: the tail pool's share of the budget (${tailShare} bytes) is below 64 KiB: raise the budget or tailBudgetFraction, or set tailSize 0`,
    );
  }
  const mainShare = budget - tailShare;
  const blockSize = positiveOption(op, "blockSize", options.blockSize, evenBlocks(mainShare, 32 * MiB))!;
  if (blockSize > mainShare) {
    throw new RangeError(
      `${op}: option 'blockSize' (${blockSize}) must not exceed the streamed images' share of the budget (${mainShare} of ${budget} bytes)`,
    );
  }
  const blockCount = Math.floor(mainShare / blockSize);
  const tailBlockSize = tailShare > 0 ? evenBlocks(tailShare, 4 * MiB) : 0;
  const tailBlockCount = tailShare > 0 ? Math.floor(tailShare / tailBlockSize) : 0;
  const tailBudgetBytes = tailBlockSize * tailBlockCount;
  return {
    source,
    requestedBytes: budget,
    tailSize,
    blockSize,
    blockCount,
    tailBlockSize,
    tailBlockCount,
    tailBudgetBytes,
    budgetBytes: blockSize * blockCount + tailBudgetBytes,
  };
}
