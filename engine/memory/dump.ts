/**
 * VMA's JSON dump, typed: {@link parseStatsString} for `vmaBuildStatsString` of an allocator and
 * {@link parseVirtualBlockStatsString} for `vmaBuildVirtualBlockStatsString`.
 *
 * The field names are VMA's own (VMA 3.x, the format GpuMemDumpVis reads), so a parsed dump is the same
 * object `JSON.parse` would give, only checked: every field the format defines is verified to be present
 * (where VMA always writes it) and of the right JSON type, and the first mismatch throws a
 * {@link StatsDumpError} naming its path, for example `$.DefaultPools["Type 0"].Blocks["0"].TotalBytes`.
 * Fields VMA does not define are kept as they are, unchecked, so a newer VMA that adds fields still parses.
 *
 * What VMA writes only sometimes is optional in the types: the min/max statistics (only when the set is not
 * empty), `Offset` (absent on dedicated allocations), `Usage` (absent on FREE ranges and virtual
 * allocations), `CustomData` (only when pUserData is set; `%p` of it, "0x..."), `Name` (only when named), the
 * per-block details (only in a detailed dump).
 *
 * Sizes are JSON numbers; above 2^53 bytes they lose precision like any JSON number in JavaScript.
 * @module
 */
import { describeValue } from "../errors.js";

/** Totals of a set of blocks and allocations (VMA's VmaPrintDetailedStatistics). */
export interface DumpStats {
  BlockCount: number;
  BlockBytes: number;
  AllocationCount: number;
  AllocationBytes: number;
  UnusedRangeCount: number;
  /** Present when AllocationCount > 0 (VMA 3.1+ writes the four only for non-empty sets). */
  AllocationSizeMin?: number;
  AllocationSizeMax?: number;
  /** Present when UnusedRangeCount > 0. */
  UnusedRangeSizeMin?: number;
  UnusedRangeSizeMax?: number;
}

/** "General": the device and the allocator's limits. */
export interface DumpGeneral {
  /** "Vulkan" (D3D12MA writes "Direct3D 12"). */
  API: string;
  /** "1.3.230". */
  apiVersion: string;
  GPU: string;
  /** VkPhysicalDeviceType. */
  deviceType: number;
  maxMemoryAllocationCount: number;
  bufferImageGranularity: number;
  nonCoherentAtomSize: number;
  memoryHeapCount: number;
  memoryTypeCount: number;
}

/** Flag names ("DEVICE_LOCAL", "HOST_VISIBLE", ...); bits VMA has no name for are written as one number. */
export type DumpFlags = Array<string | number>;

/** One memory type under its heap in "MemoryInfo". */
export interface DumpMemoryType {
  Flags: DumpFlags;
  Stats: DumpStats;
}

/** One heap ("Heap N") in "MemoryInfo". */
export interface DumpHeap {
  Flags: DumpFlags;
  Size: number;
  Budget: { BudgetBytes: number; UsageBytes: number };
  Stats: DumpStats;
  /** "Type N" → the memory types of this heap. */
  MemoryPools: Record<string, DumpMemoryType>;
}

/** VMA's suballocation types. */
export type SuballocationType = "FREE" | "UNKNOWN" | "BUFFER" | "IMAGE_UNKNOWN" | "IMAGE_LINEAR" | "IMAGE_OPTIMAL";

/** The suballocation types VMA writes, in VmaSuballocationType order. */
export const SUBALLOCATION_TYPES: readonly SuballocationType[] = [
  "FREE",
  "UNKNOWN",
  "BUFFER",
  "IMAGE_UNKNOWN",
  "IMAGE_LINEAR",
  "IMAGE_OPTIMAL",
];

/**
 * One range of a block (an allocation or a free range), or a dedicated allocation (which has no Offset).
 * In a virtual block's dump, allocations have no Type and no Usage.
 */
export interface DumpSuballocation {
  Offset?: number;
  Type?: SuballocationType;
  Size: number;
  /** VkBufferUsageFlags or VkImageUsageFlags of the resource; 0 for raw memory. */
  Usage?: number;
  /** pUserData as `%p` prints it ("0x2a"). */
  CustomData?: string;
  Name?: string;
}

/** The detailed map of one block's metadata (also a virtual block's "Details"). */
export interface DumpBlockDetails {
  TotalBytes: number;
  UnusedBytes: number;
  Allocations: number;
  UnusedRanges: number;
  Suballocations: DumpSuballocation[];
}

/** One VkDeviceMemory block of a pool. */
export interface DumpBlock extends DumpBlockDetails {
  MapRefCount: number;
}

/** A default pool ("Type N" in "DefaultPools"): VMA's block vector for one memory type. */
export interface DumpDefaultPool {
  PreferredBlockSize: number;
  /** Block id (as a string) → block. */
  Blocks: Record<string, DumpBlock>;
  DedicatedAllocations: DumpSuballocation[];
}

/** A custom pool: `Name` is "<index>" or "<index> - <pool name>". */
export interface DumpCustomPool extends DumpDefaultPool {
  Name: string;
  /** Written by some VMA versions (pool flags); kept when present. */
  Flags?: DumpFlags | number;
}

/** A whole allocator dump, as vmaBuildStatsString writes it. */
export interface StatsDump {
  General: DumpGeneral;
  Total: DumpStats;
  /** "Heap N" → heap. */
  MemoryInfo: Record<string, DumpHeap>;
  /** "Type N" → default pool; only in a detailed dump. */
  DefaultPools?: Record<string, DumpDefaultPool>;
  /** "Type N" → the custom pools of that memory type; only in a detailed dump. */
  CustomPools?: Record<string, DumpCustomPool[]>;
}

/** A virtual block's dump (vmaBuildVirtualBlockStatsString). */
export interface VirtualBlockDump {
  Stats: DumpStats;
  /** Only in a detailed dump. */
  Details?: DumpBlockDetails;
}

/** The JSON given to {@link parseStatsString} or {@link parseVirtualBlockStatsString} is not a VMA dump. */
export class StatsDumpError extends Error {
  override name = "StatsDumpError";
  /** Where the first problem is, as a JS-like path from the root (`$`); `$` for invalid JSON. */
  readonly path: string;
  constructor(message: string, path: string) {
    super(message);
    this.path = path;
  }
}

/**
 * `"Type 3"` gives 3, `"Heap 0"` gives 0; any other string gives -1.
 * @throws TypeError when `key` is not a string.
 */
export function dumpKeyIndex(key: string): number {
  if (typeof key !== "string")
    throw new TypeError(`dumpKeyIndex: key must be a string such as "Type 3", got ${describeValue(key)}`);
  const m = /^(?:Type|Heap) (\d+)$/.exec(key);
  return m === null ? -1 : Number(m[1]);
}

// ---- the checker: each function verifies one node and returns it typed ----

type Json = unknown;

function describe(v: Json): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

class Checker {
  constructor(private readonly what: string) {}

  fail(path: string, expected: string, got: Json): never {
    throw new StatsDumpError(`${this.what}: ${path} must be ${expected}, got ${describe(got)}`, path);
  }

  object(v: Json, path: string): Record<string, Json> {
    if (v === null || typeof v !== "object" || Array.isArray(v)) this.fail(path, "an object", v);
    return v as Record<string, Json>;
  }

  array(v: Json, path: string): Json[] {
    if (!Array.isArray(v)) this.fail(path, "an array", v);
    return v;
  }

  /** A non-negative integer (every count, size and offset of the format). */
  count(o: Record<string, Json>, key: string, path: string, optional = false): void {
    const v = o[key];
    if (v === undefined && optional) return;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
      this.fail(`${path}.${key}`, "a non-negative integer", v);
  }

  string(o: Record<string, Json>, key: string, path: string, optional = false): void {
    const v = o[key];
    if (v === undefined && optional) return;
    if (typeof v !== "string") this.fail(`${path}.${key}`, "a string", v);
  }

  flags(v: Json, path: string): void {
    const a = this.array(v, path);
    a.forEach((f, i) => {
      if (typeof f !== "string" && typeof f !== "number") this.fail(`${path}[${i}]`, "a flag name or number", f);
    });
  }

  /** Every key of `o` must match `pattern` ("Type N", "Heap N", a block id). */
  keyed(o: Record<string, Json>, pattern: RegExp, path: string, name: string): Array<[string, Json, string]> {
    return Object.entries(o).map(([k, v]) => {
      if (!pattern.test(k)) this.fail(`${path}[${JSON.stringify(k)}]`, `keyed by ${name}`, k);
      return [k, v, `${path}[${JSON.stringify(k)}]`];
    });
  }

  stats(v: Json, path: string): void {
    const o = this.object(v, path);
    for (const k of ["BlockCount", "BlockBytes", "AllocationCount", "AllocationBytes", "UnusedRangeCount"])
      this.count(o, k, path);
    for (const k of ["AllocationSizeMin", "AllocationSizeMax", "UnusedRangeSizeMin", "UnusedRangeSizeMax"])
      this.count(o, k, path, true);
  }

  general(v: Json, path: string): void {
    const o = this.object(v, path);
    for (const k of ["API", "apiVersion", "GPU"]) this.string(o, k, path);
    for (const k of [
      "deviceType",
      "maxMemoryAllocationCount",
      "bufferImageGranularity",
      "nonCoherentAtomSize",
      "memoryHeapCount",
      "memoryTypeCount",
    ]) {
      this.count(o, k, path);
    }
  }

  heap(v: Json, path: string): void {
    const o = this.object(v, path);
    this.flags(o.Flags, `${path}.Flags`);
    this.count(o, "Size", path);
    const budget = this.object(o.Budget, `${path}.Budget`);
    this.count(budget, "BudgetBytes", `${path}.Budget`);
    this.count(budget, "UsageBytes", `${path}.Budget`);
    this.stats(o.Stats, `${path}.Stats`);
    for (const [, t, tp] of this.keyed(
      this.object(o.MemoryPools, `${path}.MemoryPools`),
      /^Type \d+$/,
      `${path}.MemoryPools`,
      '"Type N"',
    )) {
      const type = this.object(t, tp);
      this.flags(type.Flags, `${tp}.Flags`);
      this.stats(type.Stats, `${tp}.Stats`);
    }
  }

  /** `virtual`: a virtual block's ranges, where allocations carry no Type. */
  suballocation(v: Json, path: string, dedicated: boolean, virtual: boolean): void {
    const o = this.object(v, path);
    if (!dedicated) this.count(o, "Offset", path);
    const type = o.Type;
    if (type !== undefined || !virtual) {
      if (typeof type !== "string" || !(SUBALLOCATION_TYPES as readonly string[]).includes(type)) {
        this.fail(`${path}.Type`, `one of ${SUBALLOCATION_TYPES.join(", ")}`, type);
      }
    }
    this.count(o, "Size", path);
    this.count(o, "Usage", path, virtual || type === "FREE");
    this.string(o, "CustomData", path, true);
    this.string(o, "Name", path, true);
  }

  blockDetails(o: Record<string, Json>, path: string, virtual: boolean): void {
    for (const k of ["TotalBytes", "UnusedBytes", "Allocations", "UnusedRanges"]) this.count(o, k, path);
    const subs = this.array(o.Suballocations, `${path}.Suballocations`);
    subs.forEach((s, i) => this.suballocation(s, `${path}.Suballocations[${i}]`, false, virtual));
  }

  pool(o: Record<string, Json>, path: string): void {
    this.count(o, "PreferredBlockSize", path);
    for (const [, b, bp] of this.keyed(
      this.object(o.Blocks, `${path}.Blocks`),
      /^\d+$/,
      `${path}.Blocks`,
      "block id",
    )) {
      const block = this.object(b, bp);
      this.count(block, "MapRefCount", bp);
      this.blockDetails(block, bp, false);
    }
    const dedicated = this.array(o.DedicatedAllocations, `${path}.DedicatedAllocations`);
    dedicated.forEach((d, i) => this.suballocation(d, `${path}.DedicatedAllocations[${i}]`, true, false));
  }

  dump(v: Json): void {
    const o = this.object(v, "$");
    this.general(o.General, "$.General");
    this.stats(o.Total, "$.Total");
    for (const [, h, hp] of this.keyed(
      this.object(o.MemoryInfo, "$.MemoryInfo"),
      /^Heap \d+$/,
      "$.MemoryInfo",
      '"Heap N"',
    ))
      this.heap(h, hp);
    if (o.DefaultPools !== undefined) {
      for (const [, p, pp] of this.keyed(
        this.object(o.DefaultPools, "$.DefaultPools"),
        /^Type \d+$/,
        "$.DefaultPools",
        '"Type N"',
      )) {
        this.pool(this.object(p, pp), pp);
      }
    }
    if (o.CustomPools !== undefined) {
      for (const [, list, lp] of this.keyed(
        this.object(o.CustomPools, "$.CustomPools"),
        /^Type \d+$/,
        "$.CustomPools",
        '"Type N"',
      )) {
        this.array(list, lp).forEach((p, i) => {
          const pp = `${lp}[${i}]`;
          const pool = this.object(p, pp);
          this.string(pool, "Name", pp);
          this.pool(pool, pp);
        });
      }
    }
  }

  virtualDump(v: Json): void {
    const o = this.object(v, "$");
    this.stats(o.Stats, "$.Stats");
    if (o.Details !== undefined) this.blockDetails(this.object(o.Details, "$.Details"), "$.Details", true);
  }
}

function parseJson(json: string, what: string): Json {
  if (typeof json !== "string") throw new TypeError(`${what}: json must be a string, got ${describe(json)}`);
  try {
    return JSON.parse(json);
  } catch (e) {
    throw new StatsDumpError(`${what}: not valid JSON (${(e as Error).message})`, "$");
  }
}

/**
 * Parses and checks an allocator's JSON dump (`Allocator.buildStatsString`, or a file written from it).
 * @throws TypeError when `json` is not a string.
 * @throws StatsDumpError when it is not JSON, or not VMA's dump format (the message and `path` name the first
 *   field that is missing or of the wrong type).
 */
export function parseStatsString(json: string): StatsDump {
  const value = parseJson(json, "parseStatsString");
  new Checker("parseStatsString").dump(value);
  return value as StatsDump;
}

/**
 * Parses and checks a virtual block's JSON dump ({"Stats", "Details"}).
 * @throws TypeError when `json` is not a string.
 * @throws StatsDumpError when it is not JSON or not a virtual block's dump.
 */
export function parseVirtualBlockStatsString(json: string): VirtualBlockDump {
  const value = parseJson(json, "parseVirtualBlockStatsString");
  new Checker("parseVirtualBlockStatsString").virtualDump(value);
  return value as VirtualBlockDump;
}
