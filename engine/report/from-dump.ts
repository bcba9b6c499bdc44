/**
 * VMA's JSON dump (../memory/dump.ts) as a {@link ReportModel} of one position, "dump": the heaps with their usage
 * and budget, the memory types, and every block and dedicated allocation with its allocations, in GpuMemDumpVis's
 * order (per memory type: default pool blocks, default dedicated allocations, then each custom pool's blocks and
 * dedicated allocations). Allocations are numbered in that order. A dump has no time, so no ages and no leaks.
 *
 * A dump that is not detailed (no DefaultPools) gives heaps and types with no blocks.
 * @module
 */
import { dumpKeyIndex, type DumpBlock, type DumpSuballocation, type StatsDump } from "../memory/dump.js";
import { allocationKind, emptyModel, finishModel, type ReportModel } from "./model.js";

/** Builds the report's model of a parsed allocator dump (`parseStatsString`). */
export function modelFromDump(dump: StatsDump): ReportModel {
  const model = emptyModel("dump", `${dump.General.GPU}, Vulkan ${dump.General.apiVersion}, VMA JSON dump`);
  model.frames.push({ label: "dump", frame: null, timeUs: null });
  const typeOf = new Map<number, number>(); // Vulkan type index -> model index
  const heaps = Object.entries(dump.MemoryInfo).sort(([a], [b]) => dumpKeyIndex(a) - dumpKeyIndex(b));
  for (const [heapKey, heap] of heaps) {
    const heapIndex = model.heaps.length;
    const flags = heap.Flags.map(String);
    model.heaps.push({
      label: `${heapKey} (${flags.length ? flags.join(" ") : "no flags"})`,
      size: heap.Size,
      flags,
      usage: [heap.Budget.UsageBytes],
      budget: [heap.Budget.BudgetBytes],
    });
    const types = Object.entries(heap.MemoryPools).sort(([a], [b]) => dumpKeyIndex(a) - dumpKeyIndex(b));
    for (const [typeKey, type] of types) {
      typeOf.set(dumpKeyIndex(typeKey), model.memoryTypes.length);
      model.memoryTypes.push({
        label: typeKey,
        index: dumpKeyIndex(typeKey),
        heap: heapIndex,
        flags: type.Flags.map(String),
        allocationCount: [],
        allocatedBytes: [],
        blockBytes: [],
        fragmentation: [],
      });
    }
  }
  model.memoryTypes.sort((a, b) => a.index - b.index);
  model.memoryTypes.forEach((t, i) => typeOf.set(t.index, i));

  let id = 0;
  const addAllocation = (s: DumpSuballocation, block: number, offset: number, pool: string | null) => {
    const type = s.Type ?? "UNKNOWN";
    const usage = s.Usage ?? 0;
    model.allocations.push({
      id: id++,
      name: s.Name ?? "",
      size: s.Size,
      offset,
      block,
      type,
      usage,
      kind: allocationKind(type, usage),
      pool,
      born: 0,
      died: null,
      made: 0,
      bornUs: null,
    });
  };
  const addBlock = (memoryType: number, block: DumpBlock, pool: string | null) => {
    model.blocks.push({ memoryType, pool, dedicated: false, size: block.TotalBytes, born: 0, died: null });
    const index = model.blocks.length - 1;
    for (const s of block.Suballocations) if (s.Type !== "FREE") addAllocation(s, index, s.Offset ?? 0, pool);
  };
  const addDedicated = (memoryType: number, d: DumpSuballocation, pool: string | null) => {
    model.blocks.push({ memoryType, pool, dedicated: true, size: d.Size, born: 0, died: null });
    addAllocation(d, model.blocks.length - 1, 0, pool);
  };
  const typeKeys = new Set([...Object.keys(dump.DefaultPools ?? {}), ...Object.keys(dump.CustomPools ?? {})]);
  for (const typeKey of [...typeKeys].sort((a, b) => dumpKeyIndex(a) - dumpKeyIndex(b))) {
    const t = typeOf.get(dumpKeyIndex(typeKey));
    if (t === undefined) continue;
    const defaults = dump.DefaultPools?.[typeKey];
    if (defaults !== undefined) {
      for (const [, block] of Object.entries(defaults.Blocks).sort(([a], [b]) => Number(a) - Number(b)))
        addBlock(t, block, null);
      for (const d of defaults.DedicatedAllocations) addDedicated(t, d, null);
    }
    for (const pool of dump.CustomPools?.[typeKey] ?? []) {
      for (const [, block] of Object.entries(pool.Blocks).sort(([a], [b]) => Number(a) - Number(b)))
        addBlock(t, block, pool.Name);
      for (const d of pool.DedicatedAllocations) addDedicated(t, d, pool.Name);
    }
  }
  model.counts = { uploadBytes: [0], evictions: [0], evictedBytes: [0], lost: [0], failedAllocations: [0] };
  return finishModel(model);
}
