/**
 * The report's model: what `vkmem report` shows, as plain data, with no DOM and no GPU. A trace
 * (./from-trace.ts) or a JSON dump (./from-dump.ts) becomes one {@link ReportModel}; the page (./html.ts) is
 * that model as JSON plus the code that draws it.
 *
 * Time is a list of positions ({@link ReportModel.frames}): one per frame a trace ended (FrameEnd records of one
 * frame number, from every allocator, make one position), plus a last position "end" when memory changed after the
 * last frame ended; a dump has one position. Every block and every placement of an allocation lives over a
 * half-open range of positions `[born, died)`, `died` null for "still alive at the end": the state at position `i`
 * is every object with `born <= i` and `died` null or greater than `i`. That one rule is all {@link stateAt} and
 * the page apply, so the map at a position and the series at that position always agree.
 *
 * A placement is where an allocation is: a defragmentation move ends one placement and starts another with the same
 * `id`. A block is a VkDeviceMemory as the trace shows it: from its first allocation to the free of its last one
 * (the trace does not record VMA keeping an empty block); a dedicated allocation is its own block.
 *
 * {@link finishModel} derives the series that need the whole placement list (allocation counts and bytes and
 * fragmentation per memory type, the largest allocations, the leaks) in one sweep over the positions: per position
 * only the blocks whose allocations changed have their free ranges measured again.
 * @module
 */
import { allocationColor, DUMP_COLORS } from "../memory/dump-picture.js";

/** A GpuMemDumpVis colour class: a key of DUMP_COLORS other than `free`. */
export type AllocationKind = Exclude<keyof typeof DUMP_COLORS, "free">;

/** One position of the timeline. */
export interface ReportFrame {
  /** "frame 12", "end" (memory changed after the last frame ended) or "dump". */
  label: string;
  /** The frame number the trace gave, null for "end" and "dump". */
  frame: number | null;
  /** µs since the trace's start at this position's end; null for a dump. */
  timeUs: number | null;
}

/** A memory heap, with its usage and budget per position (null where nothing said). */
export interface ReportHeap {
  label: string;
  size: number;
  flags: string[];
  usage: (number | null)[];
  budget: (number | null)[];
}

/** A memory type, with series per position derived by {@link finishModel}. */
export interface ReportMemoryType {
  /** "Type 2", prefixed with the allocator's label when a trace has several allocators. */
  label: string;
  /** The Vulkan memory type index. */
  index: number;
  /** Index into {@link ReportModel.heaps}. */
  heap: number;
  flags: string[];
  /** Live allocations at each position. */
  allocationCount: number[];
  /** Bytes of live allocations at each position. */
  allocatedBytes: number[];
  /** Bytes of live blocks at each position. */
  blockBytes: number[];
  /** Largest free range over total free bytes in this type's blocks at each position; null when nothing is free. */
  fragmentation: (number | null)[];
}

/** A VkDeviceMemory block (or a dedicated allocation's memory). */
export interface ReportBlock {
  /** Index into {@link ReportModel.memoryTypes}. */
  memoryType: number;
  /** The custom pool's name, null for the default pools. */
  pool: string | null;
  dedicated: boolean;
  size: number;
  born: number;
  died: number | null;
}

/** One placement of an allocation. */
export interface ReportAllocation {
  /** The allocation's number in the trace (a dump's: its index in the dump). */
  id: number;
  name: string;
  size: number;
  offset: number;
  /** Index into {@link ReportModel.blocks}. */
  block: number;
  /** VMA's suballocation type ("BUFFER", "IMAGE_OPTIMAL", ...). */
  type: string;
  /** VkBufferUsageFlags or VkImageUsageFlags; 0 for raw memory. */
  usage: number;
  /** Its colour class on the map. */
  kind: AllocationKind;
  pool: string | null;
  born: number;
  died: number | null;
  /** The position the allocation was made in (its first placement's `born`: a move does not make it younger). */
  made: number;
  /** µs since the trace's start when it was made (the first placement's time for a moved one); null in a dump. */
  bornUs: number | null;
}

/** Per position counts of what a frame did. */
export interface ReportFrameCounts {
  uploadBytes: number[];
  evictions: number[];
  evictedBytes: number[];
  lost: number[];
  failedAllocations: number[];
}

/** Everything the report shows. */
export interface ReportModel {
  source: "trace" | "dump";
  /** One line about where it came from: device, producer. */
  title: string;
  frames: ReportFrame[];
  heaps: ReportHeap[];
  memoryTypes: ReportMemoryType[];
  blocks: ReportBlock[];
  allocations: ReportAllocation[];
  counts: ReportFrameCounts;
  /** Notes the application wrote, at their positions. */
  notes: Array<{ position: number; text: string }>;
  /** Indices into {@link ReportModel.allocations}: the largest allocations ever made, largest first (one per id). */
  largest: number[];
  /** Indices into {@link ReportModel.allocations}: alive at the end of the trace; null for a dump (one moment). */
  leaks: number[] | null;
}

/** How many rows the largest-allocations table keeps. */
export const LARGEST_ROWS = 25;

/**
 * The colour class GpuMemDumpVis gives a suballocation of VMA `type` with resource `usage`.
 * @throws TypeError, RangeError as {@link allocationColor} does for a bad type or usage.
 */
export function allocationKind(type: string, usage: number): AllocationKind {
  const colour = allocationColor(type, usage);
  for (const [key, value] of Object.entries(DUMP_COLORS)) {
    if (key !== "free" && value === colour) return key as AllocationKind;
  }
  return "unknown";
}

/** A model with no frames, heaps or objects yet; the sources fill it, then call {@link finishModel}. */
export function emptyModel(source: "trace" | "dump", title: string): ReportModel {
  return {
    source,
    title,
    frames: [],
    heaps: [],
    memoryTypes: [],
    blocks: [],
    allocations: [],
    counts: { uploadBytes: [], evictions: [], evictedBytes: [], lost: [], failedAllocations: [] },
    notes: [],
    largest: [],
    leaks: null,
  };
}

/** Whether an object with `[born, died)` is alive at `position`. */
export function aliveAt(o: { born: number; died: number | null }, position: number): boolean {
  return o.born <= position && (o.died === null || o.died > position);
}

/** The free ranges of one block given its live allocations: total free bytes and the largest free range. */
export function freeRanges(
  size: number,
  allocations: Iterable<{ offset: number; size: number }>,
): { totalFree: number; largestFree: number } {
  const sorted = [...allocations].sort((a, b) => a.offset - b.offset);
  let end = 0;
  let totalFree = 0;
  let largestFree = 0;
  const gap = (from: number, to: number) => {
    if (to > from) {
      totalFree += to - from;
      largestFree = Math.max(largestFree, to - from);
    }
  };
  for (const a of sorted) {
    gap(end, a.offset);
    end = Math.max(end, a.offset + a.size); // aliasing allocations overlap
  }
  gap(end, size);
  return { totalFree, largestFree };
}

/**
 * Fills the derived parts of a model whose frames, heaps, memory types, blocks, allocations and counts are set:
 * the per-type series, the largest allocations and (for a trace) the leaks. Returns the same model.
 */
export function finishModel(model: ReportModel): ReportModel {
  const positions = model.frames.length;
  const types = model.memoryTypes;
  for (const t of types) {
    t.allocationCount = new Array<number>(positions).fill(0);
    t.allocatedBytes = new Array<number>(positions).fill(0);
    t.blockBytes = new Array<number>(positions).fill(0);
    t.fragmentation = new Array<number | null>(positions).fill(null);
  }
  // Births and deaths by position.
  const allocBorn: number[][] = Array.from({ length: positions }, () => []);
  const allocDied: number[][] = Array.from({ length: positions }, () => []);
  model.allocations.forEach((a, i) => {
    if (!visible(a)) return; // born and gone within one position: never seen
    if (a.born < positions) allocBorn[a.born]!.push(i);
    if (a.died !== null && a.died < positions) allocDied[a.died]!.push(i);
  });
  const blockBorn: number[][] = Array.from({ length: positions }, () => []);
  const blockDied: number[][] = Array.from({ length: positions }, () => []);
  model.blocks.forEach((b, i) => {
    if (b.born < positions) blockBorn[b.born]!.push(i);
    if (b.died !== null && b.died < positions) blockDied[b.died]!.push(i);
  });

  const liveIn = new Map<number, Set<number>>(); // block -> live allocation indices
  const free = new Map<number, { totalFree: number; largestFree: number }>(); // live block -> its free ranges
  const count = new Array<number>(types.length).fill(0);
  const bytes = new Array<number>(types.length).fill(0);
  const blockBytes = new Array<number>(types.length).fill(0);
  for (let p = 0; p < positions; p++) {
    const dirty = new Set<number>();
    for (const b of blockBorn[p]!) {
      liveIn.set(b, new Set());
      blockBytes[model.blocks[b]!.memoryType]! += model.blocks[b]!.size;
      dirty.add(b);
    }
    for (const i of allocDied[p]!) {
      const a = model.allocations[i]!;
      liveIn.get(a.block)?.delete(i);
      const t = model.blocks[a.block]!.memoryType;
      count[t]!--;
      bytes[t]! -= a.size;
      dirty.add(a.block);
    }
    for (const i of allocBorn[p]!) {
      const a = model.allocations[i]!;
      liveIn.get(a.block)?.add(i);
      const t = model.blocks[a.block]!.memoryType;
      count[t]!++;
      bytes[t]! += a.size;
      dirty.add(a.block);
    }
    for (const b of blockDied[p]!) {
      liveIn.delete(b);
      free.delete(b);
      dirty.delete(b);
      blockBytes[model.blocks[b]!.memoryType]! -= model.blocks[b]!.size;
    }
    for (const b of dirty) {
      const live = liveIn.get(b);
      if (live === undefined) continue;
      free.set(
        b,
        freeRanges(
          model.blocks[b]!.size,
          [...live].map((i) => model.allocations[i]!),
        ),
      );
    }
    const totalFree = new Array<number>(types.length).fill(0);
    const largestFree = new Array<number>(types.length).fill(0);
    for (const [b, f] of free) {
      const t = model.blocks[b]!.memoryType;
      totalFree[t]! += f.totalFree;
      largestFree[t] = Math.max(largestFree[t]!, f.largestFree);
    }
    types.forEach((t, ti) => {
      t.allocationCount[p] = count[ti]!;
      t.allocatedBytes[p] = bytes[ti]!;
      t.blockBytes[p] = blockBytes[ti]!;
      t.fragmentation[p] = totalFree[ti]! > 0 ? largestFree[ti]! / totalFree[ti]! : null;
    });
  }

  // The last placement of each id stands for the allocation in the tables.
  const last = new Map<number, number>();
  model.allocations.forEach((a, i) => last.set(a.id, i));
  const finals = [...last.values()];
  model.largest = finals
    .filter((i) => visible(model.allocations[i]!))
    .sort((x, y) => model.allocations[y]!.size - model.allocations[x]!.size || x - y)
    .slice(0, LARGEST_ROWS);
  if (model.source === "trace")
    model.leaks = finals
      .filter((i) => model.allocations[i]!.died === null)
      .sort((x, y) => model.allocations[y]!.size - model.allocations[x]!.size || x - y);
  return model;
}

/** Whether a placement is alive at some position at all. */
function visible(a: ReportAllocation): boolean {
  return a.died === null || a.died > a.born;
}

/** The state at one position: the live blocks and, per block, its live allocations (indices into the model). */
export interface ReportState {
  position: number;
  blocks: Array<{ block: number; allocations: number[] }>;
}

/**
 * The live blocks and allocations at `position`, blocks in model order, allocations by offset.
 * @throws RangeError when `position` is not a whole number within the model's frames.
 */
export function stateAt(model: ReportModel, position: number): ReportState {
  if (!Number.isInteger(position) || position < 0 || position >= model.frames.length) {
    throw new RangeError(
      `stateAt: position must be a whole number from 0 to ${model.frames.length - 1}, got ${String(position)}`,
    );
  }
  const byBlock = new Map<number, number[]>();
  model.blocks.forEach((b, i) => {
    if (aliveAt(b, position)) byBlock.set(i, []);
  });
  model.allocations.forEach((a, i) => {
    if (aliveAt(a, position)) byBlock.get(a.block)?.push(i);
  });
  const blocks = [...byBlock].map(([block, list]) => ({
    block,
    allocations: list.sort((x, y) => model.allocations[x]!.offset - model.allocations[y]!.offset),
  }));
  return { position, blocks };
}
