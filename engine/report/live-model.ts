/**
 * The live inspector's model (./inspector.ts): the report's {@link ReportModel} grown one position at a time from
 * snapshots of a running allocator (VMA's detailed JSON dump), and the {@link LiveDelta} that tells a page what the
 * newest position added.
 *
 * A snapshot is what the dump shows at one moment; there is no record of what happened between two snapshots. So an
 * allocation is known by where it is: its block (VMA's block id, unique for the allocator's life, or for a dedicated
 * allocation its memory type, pool, name, size and kind, counted when several are alike), its offset, size, kind and
 * name. One that is in the newer snapshot and not the older one was made in between; one in the older only was
 * freed (or moved: a moved allocation is a freed one and a new one). What was made and freed between two snapshots
 * is never seen, and one freed and replaced by an identical one at the same place reads as one allocation: the live
 * view samples, a recorded trace (`record`) has every call.
 *
 * Positions follow the rule of ./model.ts (`born <= p` and `died` null or greater than `p`), so the page draws a
 * live model exactly as it draws a report. History is bounded: past {@link LiveModel.maxPositions} positions the
 * oldest half is dropped ({@link LiveModel.compact}), and the page is sent the whole model again.
 * @module
 */
import { dumpKeyIndex, type DumpSuballocation, type StatsDump } from "../memory/dump.js";
import { modelFromDump } from "./from-dump.js";
import {
  allocationKind,
  emptyModel,
  freeRanges,
  LARGEST_ROWS,
  type ReportAllocation,
  type ReportBlock,
  type ReportModel,
} from "./model.js";

/** What one new position adds to a live model: the page applies it to its copy (./page-live.ts). */
export interface LiveDelta {
  /** The new position. */
  frame: ReportModel["frames"][number];
  /** Per heap: usage and budget at the new position. */
  heaps: Array<[number | null, number | null]>;
  /** Per memory type: live allocations, their bytes, block bytes, fragmentation at the new position. */
  types: Array<[number, number, number, number | null]>;
  /** The position's uploadBytes, evictions, evictedBytes, lost, failedAllocations. */
  counts: [number, number, number, number, number];
  /** Blocks that appeared (their `born` is the new position), appended to the model's blocks. */
  blocks: ReportBlock[];
  /** Indices of blocks gone at the new position (their `died` becomes it). */
  blocksDied: number[];
  /** Placements that appeared, appended to the model's allocations. */
  allocations: ReportAllocation[];
  /** Indices of placements gone at the new position. */
  allocationsDied: number[];
  /** The model's `largest` and `leaks` (alive now) after the position. */
  largest: number[];
  leaks: number[];
  /** Notes written at the new position. */
  notes: string[];
}

/** What happened between two snapshots that the dump cannot tell: counted by the caller. */
export interface LiveCounts {
  uploadBytes: number;
  evictions: number;
  evictedBytes: number;
  lost: number;
  failedAllocations: number;
}

interface SnapshotBlock {
  key: string;
  memoryType: number;
  pool: string | null;
  dedicated: boolean;
  size: number;
  allocations: Array<{ key: string; s: DumpSuballocation; offset: number }>;
}

/**
 * A report model that grows by snapshots. Made by the inspector when its first page connects, dropped when the last
 * one leaves (nothing is kept while nobody looks).
 * @internal
 */
export class LiveModel {
  readonly model: ReportModel;
  /** Live block key -> block index. */
  #blocks = new Map<string, number>();
  /** Live allocation key -> placement index. */
  #allocations = new Map<string, number>();
  #nextId = 1;

  /**
   * @param title the page's title line (device, who serves it).
   * @param maxPositions positions kept before the oldest half is dropped (at least 4).
   */
  constructor(
    title: string,
    readonly maxPositions = 600,
  ) {
    this.model = emptyModel("trace", title);
    this.model.leaks = [];
  }

  /**
   * Adds a position from `dump` (VMA's detailed dump now), labelled `label`, and returns what it added.
   * `frame`: the frame number, or null for a position the clock made; `timeUs`: µs since the inspector started.
   */
  add(dump: StatsDump, label: string, frame: number | null, timeUs: number, counts: LiveCounts): LiveDelta {
    const model = this.model;
    if (model.heaps.length === 0) {
      const shape = modelFromDump(dump);
      model.heaps = shape.heaps.map((h) => ({ ...h, usage: [], budget: [] }));
      model.memoryTypes = shape.memoryTypes.map((t) => ({
        ...t,
        allocationCount: [],
        allocatedBytes: [],
        blockBytes: [],
        fragmentation: [],
      }));
    }
    const position = model.frames.length;
    model.frames.push({ label, frame, timeUs });
    const delta: LiveDelta = {
      frame: model.frames[position]!,
      heaps: [],
      types: [],
      counts: [counts.uploadBytes, counts.evictions, counts.evictedBytes, counts.lost, counts.failedAllocations],
      blocks: [],
      blocksDied: [],
      allocations: [],
      allocationsDied: [],
      largest: [],
      leaks: [],
      notes: [],
    };
    const c = model.counts;
    c.uploadBytes.push(counts.uploadBytes);
    c.evictions.push(counts.evictions);
    c.evictedBytes.push(counts.evictedBytes);
    c.lost.push(counts.lost);
    c.failedAllocations.push(counts.failedAllocations);

    // Heaps: usage and budget from the dump.
    const heapEntries = Object.entries(dump.MemoryInfo).sort(([a], [b]) => dumpKeyIndex(a) - dumpKeyIndex(b));
    model.heaps.forEach((h, i) => {
      const b = heapEntries[i]?.[1].Budget;
      const pair: [number | null, number | null] = [b?.UsageBytes ?? null, b?.BudgetBytes ?? null];
      h.usage.push(pair[0]);
      h.budget.push(pair[1]);
      delta.heaps.push(pair);
    });

    // Blocks and allocations: what is new, what is gone.
    const seenBlocks = new Set<string>();
    const seenAllocations = new Set<string>();
    const typeCount = new Array<number>(model.memoryTypes.length).fill(0);
    const typeBytes = new Array<number>(model.memoryTypes.length).fill(0);
    const typeBlockBytes = new Array<number>(model.memoryTypes.length).fill(0);
    const typeFree = new Array<number>(model.memoryTypes.length).fill(0);
    const typeLargest = new Array<number>(model.memoryTypes.length).fill(0);
    for (const sb of snapshotBlocks(dump, model)) {
      seenBlocks.add(sb.key);
      let bi = this.#blocks.get(sb.key);
      if (bi === undefined || model.blocks[bi]!.size !== sb.size) {
        if (bi !== undefined) this.#endBlock(sb.key, position, delta);
        const block: ReportBlock = {
          memoryType: sb.memoryType,
          pool: sb.pool,
          dedicated: sb.dedicated,
          size: sb.size,
          born: position,
          died: null,
        };
        model.blocks.push(block);
        bi = model.blocks.length - 1;
        this.#blocks.set(sb.key, bi);
        delta.blocks.push(block);
      }
      for (const a of sb.allocations) {
        seenAllocations.add(a.key);
        if (this.#allocations.has(a.key)) continue;
        const type = a.s.Type ?? "UNKNOWN";
        const usage = a.s.Usage ?? 0;
        const placement: ReportAllocation = {
          id: this.#nextId++,
          name: a.s.Name ?? "",
          size: a.s.Size,
          offset: a.offset,
          block: bi,
          type,
          usage,
          kind: allocationKind(type, usage),
          pool: sb.pool,
          born: position,
          died: null,
          made: position,
          bornUs: timeUs,
        };
        model.allocations.push(placement);
        this.#allocations.set(a.key, model.allocations.length - 1);
        delta.allocations.push(placement);
      }
      const t = sb.memoryType;
      typeCount[t]! += sb.allocations.length;
      for (const a of sb.allocations) typeBytes[t]! += a.s.Size;
      typeBlockBytes[t]! += sb.size;
      const f = freeRanges(
        sb.size,
        sb.allocations.map((a) => ({ offset: a.offset, size: a.s.Size })),
      );
      typeFree[t]! += f.totalFree;
      typeLargest[t] = Math.max(typeLargest[t]!, f.largestFree);
    }
    for (const [key, index] of this.#allocations) {
      if (seenAllocations.has(key)) continue;
      model.allocations[index]!.died = position;
      this.#allocations.delete(key);
      delta.allocationsDied.push(index);
    }
    for (const key of [...this.#blocks.keys()]) if (!seenBlocks.has(key)) this.#endBlock(key, position, delta);

    model.memoryTypes.forEach((t, i) => {
      const fragmentation = typeFree[i]! > 0 ? typeLargest[i]! / typeFree[i]! : null;
      t.allocationCount.push(typeCount[i]!);
      t.allocatedBytes.push(typeBytes[i]!);
      t.blockBytes.push(typeBlockBytes[i]!);
      t.fragmentation.push(fragmentation);
      delta.types.push([typeCount[i]!, typeBytes[i]!, typeBlockBytes[i]!, fragmentation]);
    });

    // The largest ever (kept by merging the new ones in) and the live ones, largest first.
    const bySize = (x: number, y: number) => model.allocations[y]!.size - model.allocations[x]!.size || x - y;
    const fresh = delta.allocations.map((_, i) => model.allocations.length - delta.allocations.length + i);
    model.largest = [...model.largest, ...fresh].sort(bySize).slice(0, LARGEST_ROWS);
    model.leaks = [...this.#allocations.values()].sort(bySize);
    delta.largest = model.largest;
    delta.leaks = model.leaks;
    return delta;
  }

  /** A note for the position that {@link add} makes next (the page shows it there). */
  note(text: string): void {
    this.model.notes.push({ position: this.model.frames.length, text });
  }

  /** Notes of `position` (for the delta of that position). */
  notesAt(position: number): string[] {
    return this.model.notes.filter((n) => n.position === position).map((n) => n.text);
  }

  /**
   * Whether the model holds more than {@link maxPositions} positions; then {@link compact} should run and the page
   * get the whole model again.
   */
  get full(): boolean {
    return this.model.frames.length > this.maxPositions;
  }

  /** Drops the oldest half of the positions, and what died in them; indices change (send the whole model again). */
  compact(): void {
    const model = this.model;
    const cut = model.frames.length - Math.max(2, Math.floor(this.maxPositions / 2));
    if (cut <= 0) return;
    const keepBlock = model.blocks.map((b) => b.died === null || b.died > cut);
    const blockIndex = new Map<number, number>();
    const blocks: ReportBlock[] = [];
    model.blocks.forEach((b, i) => {
      if (!keepBlock[i]) return;
      blockIndex.set(i, blocks.length);
      blocks.push({ ...b, born: Math.max(0, b.born - cut), died: b.died === null ? null : b.died - cut });
    });
    const allocationIndex = new Map<number, number>();
    const allocations: ReportAllocation[] = [];
    model.allocations.forEach((a, i) => {
      if ((a.died !== null && a.died <= cut) || !blockIndex.has(a.block)) return;
      allocationIndex.set(i, allocations.length);
      allocations.push({
        ...a,
        block: blockIndex.get(a.block)!,
        born: Math.max(0, a.born - cut),
        died: a.died === null ? null : a.died - cut,
        made: Math.max(0, a.made - cut),
      });
    });
    model.blocks = blocks;
    model.allocations = allocations;
    model.frames = model.frames.slice(cut);
    for (const h of model.heaps) {
      h.usage = h.usage.slice(cut);
      h.budget = h.budget.slice(cut);
    }
    for (const t of model.memoryTypes) {
      t.allocationCount = t.allocationCount.slice(cut);
      t.allocatedBytes = t.allocatedBytes.slice(cut);
      t.blockBytes = t.blockBytes.slice(cut);
      t.fragmentation = t.fragmentation.slice(cut);
    }
    const c = model.counts;
    for (const k of Object.keys(c) as (keyof typeof c)[]) c[k] = c[k].slice(cut);
    model.notes = model.notes
      .filter((n) => n.position >= cut)
      .map((n) => ({ position: n.position - cut, text: n.text }));
    const remap = (list: number[]) => list.filter((i) => allocationIndex.has(i)).map((i) => allocationIndex.get(i)!);
    model.largest = remap(model.largest);
    model.leaks = remap(model.leaks ?? []);
    for (const [key, i] of this.#blocks) this.#blocks.set(key, blockIndex.get(i)!);
    for (const [key, i] of this.#allocations) this.#allocations.set(key, allocationIndex.get(i)!);
  }

  #endBlock(key: string, position: number, delta: LiveDelta): void {
    const index = this.#blocks.get(key);
    if (index === undefined) return;
    this.#blocks.delete(key);
    this.model.blocks[index]!.died = position;
    delta.blocksDied.push(index);
  }
}

/** The blocks of a detailed dump with their allocations, each with the keys that find it in the next snapshot. */
function snapshotBlocks(dump: StatsDump, model: ReportModel): SnapshotBlock[] {
  const typeOf = new Map<number, number>();
  model.memoryTypes.forEach((t, i) => typeOf.set(t.index, i));
  const out: SnapshotBlock[] = [];
  const allocationsOf = (blockKey: string, list: Array<{ s: DumpSuballocation; offset: number }>) =>
    list.map(({ s, offset }) => ({
      key: `${blockKey}|${offset}|${s.Size}|${s.Type ?? ""}|${s.Usage ?? 0}|${s.Name ?? ""}`,
      s,
      offset,
    }));
  const add = (
    memoryType: number,
    where: string,
    pool: string | null,
    blocks: Record<string, { TotalBytes: number; Suballocations: DumpSuballocation[] }>,
    dedicated: DumpSuballocation[],
  ) => {
    for (const [id, b] of Object.entries(blocks)) {
      const key = `${where}|b${id}`;
      const list = b.Suballocations.filter((s) => s.Type !== "FREE").map((s) => ({ s, offset: s.Offset ?? 0 }));
      out.push({ key, memoryType, pool, dedicated: false, size: b.TotalBytes, allocations: allocationsOf(key, list) });
    }
    const alike = new Map<string, number>();
    for (const s of dedicated) {
      const what = `${s.Size}|${s.Type ?? ""}|${s.Usage ?? 0}|${s.Name ?? ""}`;
      const n = (alike.get(what) ?? 0) + 1;
      alike.set(what, n);
      const key = `${where}|d${what}#${n}`;
      out.push({
        key,
        memoryType,
        pool,
        dedicated: true,
        size: s.Size,
        allocations: allocationsOf(key, [{ s, offset: 0 }]),
      });
    }
  };
  for (const [typeKey, pools] of Object.entries(dump.DefaultPools ?? {})) {
    const t = typeOf.get(dumpKeyIndex(typeKey));
    if (t !== undefined) add(t, `${typeKey}|default`, null, pools.Blocks, pools.DedicatedAllocations);
  }
  for (const [typeKey, list] of Object.entries(dump.CustomPools ?? {})) {
    const t = typeOf.get(dumpKeyIndex(typeKey));
    if (t === undefined) continue;
    // A custom pool's Name is "<index>" or "<index> - <name>" (as ./from-dump.ts shows it): unique per allocator.
    for (const pool of list) add(t, `${typeKey}|${pool.Name}`, pool.Name, pool.Blocks, pool.DedicatedAllocations);
  }
  return out;
}
