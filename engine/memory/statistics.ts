/**
 * The allocator's statistics as readable text: one table per heap and one per memory type, for the CLI and logs.
 *
 * Built from {@link Allocator.calculateStatistics} (which walks every block: call it on demand, not every frame),
 * {@link Allocator.getHeapBudgets} and the device's memory properties. Empty sets have no smallest or largest
 * allocation or unused range; those cells show "-".
 * @module
 */
import { Allocator } from "./allocator.js";
import type { DetailedStatistics } from "./types.js";
import { argumentError, checkOptionsObject, optionalBoolean } from "../checks.js";
import { memoryHeapNames, memoryPropertyNames } from "./usage.js";
import { formatBytes, table } from "../format.js";

/** Options of {@link formatStatistics}. */
export interface FormatStatisticsOptions {
  /** List every memory type, also those with no block and no allocation (default: only the used ones). */
  allMemoryTypes?: boolean;
}

function minMax(min: number, max: number): string {
  if (!Number.isFinite(min) || max === 0) return "-";
  return min === max ? formatBytes(min) : `${formatBytes(min)}..${formatBytes(max)}`;
}

/** The statistics columns shared by both tables. */
const STAT_HEADER = [
  "blocks",
  "block bytes",
  "allocations",
  "allocation bytes",
  "unused ranges",
  "allocation min..max",
  "unused range min..max",
];

function statCells(s: DetailedStatistics): string[] {
  return [
    String(s.blockCount),
    formatBytes(s.blockBytes),
    String(s.allocationCount),
    formatBytes(s.allocationBytes),
    String(s.unusedRangeCount),
    s.allocationCount > 0 ? minMax(s.allocationSizeMin, s.allocationSizeMax) : "-",
    s.unusedRangeCount > 0 ? minMax(s.unusedRangeSizeMin, s.unusedRangeSizeMax) : "-",
  ];
}

/**
 * A plain-text summary of `allocator`: a totals line, then a heap table (size, flags, budget, usage, the
 * statistics) and a memory-type table (heap, property flags, the statistics).
 * @throws TypeError when `allocator` is not an Allocator or an option has the wrong type.
 * @throws DestroyedResourceError when the allocator has been destroyed.
 */
export function formatStatistics(allocator: Allocator, options: FormatStatisticsOptions = {}): string {
  if (!(allocator instanceof Allocator))
    argumentError("formatStatistics", "allocator", "must be an Allocator", allocator, TypeError);
  checkOptionsObject(options, "formatStatistics", "options");
  optionalBoolean(options.allMemoryTypes, false, "formatStatistics", "options.allMemoryTypes");
  const stats = allocator.calculateStatistics();
  const budgets = allocator.getHeapBudgets();
  const t = stats.total;
  const lines = [
    `Total: ${t.allocationCount} allocation(s), ${formatBytes(t.allocationBytes)} in ${t.blockCount} block(s) of ` +
      `${formatBytes(t.blockBytes)}; ${t.unusedRangeCount} unused range(s)`,
    "",
    table(
      ["heap", "size", "flags", "budget", "usage", "usage %", ...STAT_HEADER],
      allocator.memoryHeaps.map((h, i) => [
        String(i),
        formatBytes(h.size),
        memoryHeapNames(h.flags).join("|") || "-",
        formatBytes(budgets[i].budget),
        formatBytes(budgets[i].usage),
        budgets[i].budget > 0 ? `${((100 * budgets[i].usage) / budgets[i].budget).toFixed(1)}%` : "-",
        ...statCells(stats.memoryHeap[i]),
      ]),
    ),
    "",
  ];
  const types = allocator.memoryTypes.map((type, i) => ({ type, i, s: stats.memoryType[i] }));
  const shown = options.allMemoryTypes ? types : types.filter(({ s }) => s.blockCount > 0 || s.allocationCount > 0);
  lines.push(
    table(
      ["type", "heap", "property flags", ...STAT_HEADER],
      shown.map(({ type, i, s }) => [
        String(i),
        String(type.heapIndex),
        memoryPropertyNames(type.propertyFlags).join("|") || "-",
        ...statCells(s),
      ]),
    ),
  );
  const hidden = types.length - shown.length;
  if (hidden > 0) lines.push(`(${hidden} unused memory type(s) not shown)`);
  const lost = allocator.getLostAllocationStatistics();
  if (lost.canBecomeLostCount > 0 || lost.lostAllocationCount > 0) {
    lines.push(
      "",
      `Lost allocations (frame ${lost.frameIndex}, frameInUseCount ${lost.frameInUseCount}): ${lost.canBecomeLostCount} can become lost ` +
        `(${formatBytes(lost.canBecomeLostBytes)}), ${lost.lostAllocationCount} made lost (${formatBytes(lost.lostBytes)})`,
    );
  }
  return lines.join("\n");
}
