/**
 * The `{"Stats": {...}, "Details": {...}}` JSON of one virtual block, in the exact text of VMA's
 * vmaBuildVirtualBlockStatsString (its VmaJsonWriter: one member per line, each "Suballocations" item on one line).
 * The pieces every offset allocator assembles its own statsString from (./offset-allocator.ts); what goes in
 * Details, and in which order the ranges come, is each algorithm's.
 * @module
 */
import type { OffsetStatistics } from "./offset-allocator.js";

/**
 * The "Stats" object of a block's figures. `comma` is
 * the separator before a line break: VMA writes ", " (linear blocks are byte-identical to VMA's JSON); the buddy
 * JSON, which native/virtual_block.cpp used to write, has ",".
 */
export function statsJson(s: OffsetStatistics, comma: string): string {
  const fields: string[] = [
    `"BlockCount": 1`,
    `"BlockBytes": ${s.blockBytes}`,
    `"AllocationCount": ${s.allocationCount}`,
    `"AllocationBytes": ${s.allocationBytes}`,
    `"UnusedRangeCount": ${s.unusedRangeCount}`,
  ];
  if (s.allocationCount > 1)
    fields.push(`"AllocationSizeMin": ${s.allocationSizeMin}`, `"AllocationSizeMax": ${s.allocationSizeMax}`);
  if (s.unusedRangeCount > 1)
    fields.push(`"UnusedRangeSizeMin": ${s.unusedRangeSizeMin}`, `"UnusedRangeSizeMax": ${s.unusedRangeSizeMax}`);
  return `{\n  "Stats": {\n    ${fields.join(`${comma}\n    `)}\n  }`;
}

/** One live allocation of "Suballocations" ("CustomData": the integer user data, when not 0). */
export function allocationJson(offset: number, size: number, userData: number): string {
  return userData !== 0
    ? `{"Offset": ${offset}, "Size": ${size}, "CustomData": "0x${userData.toString(16)}"}`
    : `{"Offset": ${offset}, "Size": ${size}}`;
}

/** One free range of "Suballocations". */
export function freeRangeJson(offset: number, size: number): string {
  return `{"Offset": ${offset}, "Type": "FREE", "Size": ${size}}`;
}

/** The "Details" object: the `head` members, then "Suballocations"; appended to {@link statsJson}'s text. */
export function detailsJson(head: string[], suballocations: string[], comma: string): string {
  const list = suballocations.length === 0 ? "[]" : `[\n      ${suballocations.join(`${comma}\n      `)}\n    ]`;
  return `${comma}\n  "Details": {\n    ${head.join(`${comma}\n    `)}${comma}\n    "Suballocations": ${list}\n  }`;
}
