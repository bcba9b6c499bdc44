/**
 * A trace (../trace) as a {@link ReportModel}: one pass over the records in file order.
 *
 * Positions: the records up to and including a frame's FrameEnd belong to that frame's position (FrameEnd records
 * of the same frame number, one per allocator, end one position together); records after the last FrameEnd that
 * change memory make a last position "end". An object made in a position is alive at that position's end unless
 * it was freed in it too.
 *
 * Blocks are told apart by allocator, memory type and VkDeviceMemory handle (`memoryLo`, `memoryHi`); a handle that
 * comes back after its block's last allocation was freed starts a new block. Allocations whose Allocate failed are
 * counted per position and are not placed. A Lost allocation ends like a freed one; a Move ends its placement and
 * starts a new one with the same id, name and birth time. Records of objects the trace never created (a trace cut
 * at the front, a reused id) are ignored rather than guessed at.
 * @module
 */
import { formatBytes } from "../format.js";
import { RecordKind, type TraceRecord } from "../trace/format.js";
import type { Trace } from "../trace/reader.js";
import { allocationKind, emptyModel, finishModel, type ReportModel } from "./model.js";

const HEAP_FLAGS: Array<[number, string]> = [
  [0x1, "DEVICE_LOCAL"],
  [0x2, "MULTI_INSTANCE"],
];
const TYPE_FLAGS: Array<[number, string]> = [
  [0x1, "DEVICE_LOCAL"],
  [0x2, "HOST_VISIBLE"],
  [0x4, "HOST_COHERENT"],
  [0x8, "HOST_CACHED"],
  [0x10, "LAZILY_ALLOCATED"],
  [0x20, "PROTECTED"],
  [0x40, "DEVICE_COHERENT_AMD"],
  [0x80, "DEVICE_UNCACHED_AMD"],
];

/** Flag names of `bits`; bits without a name as one hex number. */
export function flagNames(bits: number, table: Array<[number, string]>): string[] {
  const names: string[] = [];
  let rest = bits;
  for (const [bit, name] of table) {
    if (bits & bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push(`0x${(rest >>> 0).toString(16)}`);
  return names;
}

/** VMA's suballocation type and the usage flags of an Allocate record's resource. */
function resourceType(r: Extract<TraceRecord, { kind: RecordKind.Allocate }>): { type: string; usage: number } {
  if (r.resourceKind === 1) return { type: "BUFFER", usage: r.resource[1] ?? 0 };
  if (r.resourceKind === 2) {
    const tiling = r.resource[8];
    return {
      type: tiling === 0 ? "IMAGE_OPTIMAL" : tiling === 1 ? "IMAGE_LINEAR" : "IMAGE_UNKNOWN",
      usage: r.resource[9] ?? 0,
    };
  }
  return { type: "UNKNOWN", usage: 0 };
}

/** Builds the report's model of a trace read by `readTrace`. */
export function modelFromTrace(trace: Trace): ReportModel {
  const session = trace.records.find((r) => r.kind === RecordKind.Session);
  const title = session
    ? `${session.device || "unknown device"}, recorded by ${session.producer || "unknown"}`
    : "a vkmem trace";
  const model = emptyModel("trace", title);
  const creates = trace.records.filter((r) => r.kind === RecordKind.AllocatorCreate);
  const several = creates.length > 1;

  // Per allocator: its label, and where its heaps and types start in the model.
  const allocators = new Map<number, { heapBase: number; typeBase: number; typeCount: number }>();
  const pools = new Map<number, string>();
  const blocks = new Map<string, { index: number; live: number }>(); // allocator:type:lo:hi -> open block
  const blockKeys: string[] = []; // block index -> its key
  const current = new Map<number, number>(); // allocation id -> its live placement
  let position = 0;
  let lastFrame: number | null = null;
  let changedSinceFrameEnd = false;
  const counts = model.counts;
  const bump = (series: number[], by: number) => {
    while (series.length <= position) series.push(0);
    series[position]! += by;
  };

  const endPlacement = (id: number) => {
    const index = current.get(id);
    if (index === undefined) return undefined;
    current.delete(id);
    const a = model.allocations[index]!;
    a.died = position;
    const key = blockKeys[a.block]!;
    const open = blocks.get(key);
    if (open !== undefined && open.index === a.block && --open.live === 0) {
      model.blocks[a.block]!.died = position;
      blocks.delete(key);
    }
    changedSinceFrameEnd = true;
    return a;
  };

  const place = (
    allocator: number,
    memoryType: number,
    lo: number,
    hi: number,
    blockSize: number,
    offset: number,
    size: number,
    pool: string | null,
  ) => {
    const info = allocators.get(allocator)!;
    const key = `${allocator}:${memoryType}:${lo}:${hi}`;
    let open = blocks.get(key);
    if (open === undefined) {
      const dedicated = offset === 0 && blockSize === size;
      model.blocks.push({
        memoryType: info.typeBase + memoryType,
        pool,
        dedicated,
        size: blockSize,
        born: position,
        died: null,
      });
      open = { index: model.blocks.length - 1, live: 0 };
      blockKeys.push(key);
      blocks.set(key, open);
    }
    open.live++;
    changedSinceFrameEnd = true;
    return open.index;
  };

  for (const r of trace.records) {
    switch (r.kind) {
      case RecordKind.AllocatorCreate: {
        const heapBase = model.heaps.length;
        const prefix = several ? `${r.label || `allocator ${creates.indexOf(r)}`}: ` : "";
        for (let h = 0; h + 1 < r.heaps.length; h += 2) {
          const flags = flagNames(r.heaps[h + 1]!, HEAP_FLAGS);
          model.heaps.push({
            label: `${prefix}Heap ${h / 2} (${formatBytes(r.heaps[h]!)}${flags.length ? `, ${flags.join(" ")}` : ""})`,
            size: r.heaps[h]!,
            flags,
            usage: [],
            budget: [],
          });
        }
        const typeBase = model.memoryTypes.length;
        for (let t = 0; t + 1 < r.types.length; t += 2) {
          model.memoryTypes.push({
            label: `${prefix}Type ${t / 2}`,
            index: t / 2,
            heap: heapBase + r.types[t + 1]!,
            flags: flagNames(r.types[t]!, TYPE_FLAGS),
            allocationCount: [],
            allocatedBytes: [],
            blockBytes: [],
            fragmentation: [],
          });
        }
        allocators.set(r.allocator, { heapBase, typeBase, typeCount: r.types.length / 2 });
        break;
      }
      case RecordKind.PoolCreate:
        pools.set(r.pool, r.name || `pool ${r.pool}`);
        break;
      case RecordKind.Allocate: {
        const info = allocators.get(r.allocator);
        if (r.result !== 0) {
          bump(counts.failedAllocations, 1);
          break;
        }
        if (info === undefined || r.memoryType >= info.typeCount) break;
        endPlacement(r.allocation); // a reused id whose free the trace lacks
        const pool = r.pool === 0 ? null : (pools.get(r.pool) ?? `pool ${r.pool}`);
        const { type, usage } = resourceType(r);
        const block = place(r.allocator, r.memoryType, r.memoryLo, r.memoryHi, r.blockSize, r.offset, r.size, pool);
        model.allocations.push({
          id: r.allocation,
          name: r.name,
          size: r.size,
          offset: r.offset,
          block,
          type,
          usage,
          kind: allocationKind(type, usage),
          pool,
          born: position,
          died: null,
          made: position,
          bornUs: r.timeUs,
        });
        current.set(r.allocation, model.allocations.length - 1);
        break;
      }
      case RecordKind.Free:
        endPlacement(r.allocation);
        break;
      case RecordKind.Lost:
        if (endPlacement(r.allocation)) bump(counts.lost, 1);
        break;
      case RecordKind.SetName: {
        const index = current.get(r.allocation);
        if (index !== undefined) model.allocations[index]!.name = r.name;
        break;
      }
      case RecordKind.Move: {
        const old = endPlacement(r.allocation);
        if (old === undefined) break;
        const allocator = [...allocators].find(
          ([, v]) =>
            v.typeBase <= model.blocks[old.block]!.memoryType &&
            model.blocks[old.block]!.memoryType < v.typeBase + v.typeCount,
        );
        if (allocator === undefined) break;
        const block = place(
          allocator[0],
          r.memoryType,
          r.memoryLo,
          r.memoryHi,
          r.blockSize,
          r.offset,
          old.size,
          old.pool,
        );
        model.allocations.push({ ...old, offset: r.offset, block, born: position, died: null });
        current.set(r.allocation, model.allocations.length - 1);
        break;
      }
      case RecordKind.Upload:
        bump(counts.uploadBytes, r.bytes);
        break;
      case RecordKind.StreamerEvict:
        bump(counts.evictions, 1);
        bump(counts.evictedBytes, r.bytes);
        break;
      case RecordKind.Note:
        model.notes.push({ position, text: r.text });
        break;
      case RecordKind.FrameEnd: {
        const info = allocators.get(r.allocator);
        let p = position;
        if (lastFrame !== null && r.frame === lastFrame && !changedSinceFrameEnd && model.frames.length > 0) {
          p = model.frames.length - 1; // another allocator's end of the same frame
          model.frames[p]!.timeUs = r.timeUs;
        } else {
          model.frames.push({ label: `frame ${r.frame}`, frame: r.frame, timeUs: r.timeUs });
          position = model.frames.length;
        }
        lastFrame = r.frame;
        changedSinceFrameEnd = false;
        if (info !== undefined) {
          for (let h = 0; h * 2 + 1 < r.budgets.length; h++) {
            const heap = model.heaps[info.heapBase + h];
            if (heap === undefined) continue;
            while (heap.usage.length <= p) heap.usage.push(null);
            while (heap.budget.length <= p) heap.budget.push(null);
            heap.usage[p] = r.budgets[h * 2]!;
            heap.budget[p] = r.budgets[h * 2 + 1]!;
          }
        }
        break;
      }
      default:
        break;
    }
  }
  if (changedSinceFrameEnd || model.frames.length === 0) {
    const lastTime = trace.records.length ? trace.records[trace.records.length - 1]!.timeUs : 0;
    model.frames.push({ label: "end", frame: null, timeUs: lastTime });
  }
  // Every series one value per position.
  const n = model.frames.length;
  for (const series of Object.values(counts) as number[][]) while (series.length < n) series.push(0);
  for (const s of Object.values(counts) as number[][]) s.length = n;
  for (const heap of model.heaps) {
    while (heap.usage.length < n) heap.usage.push(null);
    while (heap.budget.length < n) heap.budget.push(null);
  }
  return finishModel(model);
}
