/**
 * A trace replayed on another device's memory (./replay.ts): the recording's heaps and memory types (its
 * AllocatorCreate record) against the device's, and the memory types the replay uses for the recorded ones.
 *
 * A recorded memory type index means a type of the recording's device: a pool made in type 1 of a discrete GPU has
 * no type 1 on lavapipe, and a memoryTypeBits mask names the recording's types. Where the layouts differ, each
 * recorded type stands for the device's type with the same property flags (the first, by index), else the one
 * sharing the most property flags with it (the first among equals: on a discrete GPU, lavapipe's one type, which has
 * every flag, becomes the first host-visible, coherent and cached type). A mask of every recorded type stays "any
 * type"; any other mask is the union of its types' stand-ins. Where the layouts are the same, every type is itself.
 *
 * A custom pool holds one memory type, which must take every resource placed in it: on lavapipe a pool of mapped
 * buffers and optimal images shares its one type, on a discrete GPU no type takes both. So a pool's type is the
 * stand-in of its recorded type where that takes every resource the trace places in the pool, else the type taking
 * them all that shares the most property flags with the recorded one; a resource the pool's type still does not take
 * is not made (the replay reports it) rather than bound where Vulkan forbids it.
 * @module
 */
import type { Allocator } from "../memory/allocator.js";
import type { BufferInfo, ImageInfo } from "../memory/types.js";
import { MemoryUsage, memoryHeapNames, memoryPropertyNames } from "../memory/usage.js";
import { VkError } from "../errors.js";
import { RecordKind, type RecordOf, type TraceRecord } from "./format.js";

/** Heaps and memory types, as a device reports them. */
export interface MemoryLayout {
  readonly heaps: readonly { readonly size: number; readonly flags: number }[];
  readonly types: readonly { readonly propertyFlags: number; readonly heapIndex: number }[];
}

/** The layout an AllocatorCreate record carries (`heaps`: size, flags per heap; `types`: flags, heap per type). */
export function recordedLayout(heaps: readonly number[], types: readonly number[]): MemoryLayout {
  const h: { size: number; flags: number }[] = [];
  for (let i = 0; i + 1 < heaps.length; i += 2) h.push({ size: heaps[i]!, flags: heaps[i + 1]! });
  const t: { propertyFlags: number; heapIndex: number }[] = [];
  for (let i = 0; i + 1 < types.length; i += 2) t.push({ propertyFlags: types[i]!, heapIndex: types[i + 1]! });
  return { heaps: h, types: t };
}

const flagNames = (flags: number): string => memoryPropertyNames(flags).join("|") || "no flags";
const heapFlagNames = (flags: number): string => memoryHeapNames(flags).join("|") || "no flags";

/** The first way `recorded` differs from `device`, in words; null when they are the same. */
export function layoutDifference(recorded: MemoryLayout, device: MemoryLayout): string | null {
  const counts = (l: MemoryLayout) => `${l.heaps.length} heap(s) and ${l.types.length} memory type(s)`;
  if (recorded.heaps.length !== device.heaps.length || recorded.types.length !== device.types.length) {
    return `recorded on ${counts(recorded)}, replayed on ${counts(device)}`;
  }
  for (let i = 0; i < recorded.heaps.length; i++) {
    const r = recorded.heaps[i]!;
    const d = device.heaps[i]!;
    if (r.size !== d.size || r.flags !== d.flags) {
      return (
        `heap ${i} was ${r.size} bytes (${heapFlagNames(r.flags)}) when recorded, ` +
        `is ${d.size} bytes (${heapFlagNames(d.flags)}) here`
      );
    }
  }
  for (let i = 0; i < recorded.types.length; i++) {
    const r = recorded.types[i]!;
    const d = device.types[i]!;
    if (r.propertyFlags !== d.propertyFlags || r.heapIndex !== d.heapIndex) {
      return (
        `memory type ${i} was ${flagNames(r.propertyFlags)} in heap ${r.heapIndex} when recorded, ` +
        `is ${flagNames(d.propertyFlags)} in heap ${d.heapIndex} here`
      );
    }
  }
  return null;
}

function popcount(v: number): number {
  let n = 0;
  for (let x = v >>> 0; x !== 0; x &= x - 1) n++;
  return n;
}

const bit = (t: number): number => 2 ** t;
const hasBit = (bits: number, t: number): boolean => ((bits >>> t) & 1) === 1;

/** The type among `takes` (a mask of `types`) sharing the most property flags with `flags`, the first among equals; -1: none. */
function mostShared(flags: number, types: MemoryLayout["types"], takes: number): number {
  let best = -1;
  let bestShared = -1;
  types.forEach((d, i) => {
    const shared = popcount(d.propertyFlags & flags);
    if (hasBit(takes, i) && shared > bestShared) {
      best = i;
      bestShared = shared;
    }
  });
  return best;
}

/**
 * The device's memory type that stands for each recorded one (module comment): `map[t]` for recorded type `t`.
 * Identity where the types are the same (heap sizes aside).
 */
export function memoryTypeMap(recorded: MemoryLayout, device: MemoryLayout): number[] {
  return recorded.types.map((r, t) => {
    const same = device.types[t];
    if (same !== undefined && same.propertyFlags === r.propertyFlags) return t;
    const exact = device.types.findIndex((d) => d.propertyFlags === r.propertyFlags);
    return exact >= 0 ? exact : Math.max(0, mostShared(r.propertyFlags, device.types, 0xffffffff));
  });
}

/** A recorded memoryTypeBits mask in the device's types (module comment); `map` from {@link memoryTypeMap}. */
export function mapTypeBits(bits: number, map: readonly number[]): number {
  const all = map.length >= 32 ? 0xffffffff : 2 ** map.length - 1;
  if (((bits >>> 0) & all) === all) return bits >>> 0;
  let out = 0;
  for (let t = 0; t < map.length; t++) if ((bits >>> t) & 1) out |= 1 << map[t]!;
  return out >>> 0;
}

/** The buffer description of an Allocate record's `resource` (resourceKind 1). */
export function bufferInfoOf(p: readonly number[]): BufferInfo {
  return { size: p[0]!, usage: p[1]!, flags: p[2], sharingMode: p[3] };
}

/** The image description of an Allocate record's `resource` (resourceKind 2). */
export function imageInfoOf(p: readonly number[]): ImageInfo {
  return {
    imageType: p[0],
    format: p[1]!,
    extent: { width: p[2]!, height: p[3]!, depth: p[4] },
    mipLevels: p[5],
    arrayLayers: p[6],
    samples: p[7],
    tiling: p[8],
    usage: p[9]!,
    flags: p[10],
    initialLayout: p[11],
    sharingMode: p[12],
  };
}

/**
 * The memory types of a replay (module comment): each recorded allocator's stand-ins, each pool's type, and which
 * types the device lets each recorded resource description use.
 */
export class ReplayMemoryTypes {
  /** Per recorded allocator: the stand-in of each recorded type, or null where every type is itself. */
  readonly #maps = new Map<number, number[] | null>();
  /** Per recorded allocator: the heaps and types it was recorded on. */
  readonly #layouts = new Map<number, MemoryLayout>();
  /** Per recorded pool: its type here. */
  readonly #poolTypes = new Map<number, number>();
  /** Per recorded pool: the Allocate records that place something in it. */
  #poolAllocations: Map<number, RecordOf<RecordKind.Allocate>[]> | null = null;
  /** Per resource description: the device's types that take it (a memoryTypeBits mask). */
  readonly #accepted = new Map<string, number>();
  /** The first allocator's comparison: how the memory differs (null: it does not) and its stand-ins. */
  difference: string | null = null;
  map: number[] | null = null;

  /** Every type of the device, as a mask. */
  readonly #allTypes: number;

  constructor(
    private readonly records: readonly TraceRecord[],
    private readonly device: MemoryLayout,
  ) {
    this.#allTypes = bit(device.types.length) - 1;
  }

  /** An allocator's AllocatorCreate: compares its heaps and types with the device's. */
  addAllocator(r: RecordOf<RecordKind.AllocatorCreate>): void {
    const recorded = recordedLayout(r.heaps, r.types);
    const first = this.#layouts.size === 0;
    this.#layouts.set(r.allocator, recorded);
    const map = memoryTypeMap(recorded, this.device);
    const identity = map.length === this.device.types.length && map.every((t, i) => t === i);
    this.#maps.set(r.allocator, identity ? null : map);
    if (first) {
      this.difference = layoutDifference(recorded, this.device);
      this.map = identity ? null : map;
    }
  }

  /** The device's type for recorded type `type` of `allocator`, or of pool `pool` when it is not 0. */
  typeOf(allocator: number, type: number, pool = 0): number {
    if (pool !== 0) {
      const own = this.#poolTypes.get(pool);
      if (own !== undefined) return own;
    }
    return this.#maps.get(allocator)?.[type] ?? type;
  }

  /** A recorded memoryTypeBits mask of `allocator` in the device's types. */
  bitsOf(allocator: number, bits: number): number {
    const map = this.#maps.get(allocator);
    return map === null || map === undefined ? bits : mapTypeBits(bits, map);
  }

  /** The type pool `r` gets here (module comment), on `allocator`, the replay's allocator for it. */
  poolType(allocator: Allocator, r: RecordOf<RecordKind.PoolCreate>): number {
    let takesAll = this.#allTypes;
    if (this.#maps.get(r.allocator) != null) {
      for (const a of this.#placedIn(r.pool)) takesAll &= this.accepted(allocator, a);
    }
    const type = this.#closest(r.allocator, r.memoryType, takesAll);
    this.#poolTypes.set(r.pool, type);
    return type;
  }

  /**
   * The type here for what `r` (an allocation of the default pools) got when recorded: the stand-in of its type
   * where that takes it, else the type taking it that shares the most property flags with the recorded one.
   */
  defaultType(allocator: Allocator, r: RecordOf<RecordKind.Allocate>): number {
    const takes = this.#maps.get(r.allocator) == null ? this.#allTypes : this.accepted(allocator, r);
    return this.#closest(r.allocator, r.memoryType, takes);
  }

  /** The stand-in of recorded type `type` where `takes` has it, else the type of `takes` closest to the recorded one. */
  #closest(allocator: number, type: number, takes: number): number {
    const standIn = this.typeOf(allocator, type);
    const recorded = this.#layouts.get(allocator)?.types[type];
    if (hasBit(takes, standIn) || recorded === undefined) return standIn;
    const best = mostShared(recorded.propertyFlags, this.device.types, takes);
    return best >= 0 ? best : standIn;
  }

  /**
   * Why pool `pool`'s type does not take what `r` describes on this device (a sentence), or null where it does or the
   * memory is the recording's.
   */
  refusal(allocator: Allocator, r: RecordOf<RecordKind.Allocate>): string | null {
    if (r.pool === 0 || this.#maps.get(r.allocator) == null) return null;
    const type = this.#poolTypes.get(r.pool);
    if (type === undefined || hasBit(this.accepted(allocator, r), type)) return null;
    const what = r.resourceKind === 1 ? "buffer" : r.resourceKind === 2 ? "image" : "memory";
    return `its pool's memory type ${type} does not take this ${what} on this device`;
  }

  /** The device's types that take what `r` describes (for raw memory: its requirements' mask, as mapped). */
  accepted(allocator: Allocator, r: RecordOf<RecordKind.Allocate>): number {
    const p = r.resource;
    if (r.resourceKind !== 1 && r.resourceKind !== 2) return this.bitsOf(r.allocator, p[2] ?? 0xffffffff);
    const key = `${r.resourceKind}:${r.resourceKind === 1 ? p.slice(1).join(",") : p.join(",")}`;
    let bits = this.#accepted.get(key);
    if (bits === undefined) {
      bits = 0;
      for (let t = 0; t < this.device.types.length; t++) {
        const only = { usage: MemoryUsage.Unknown, memoryTypeBits: bit(t) };
        try {
          if (r.resourceKind === 1) allocator.findMemoryTypeIndexForBufferInfo(bufferInfoOf(p), only);
          else allocator.findMemoryTypeIndexForImageInfo(imageInfoOf(p), only);
          bits += bit(t);
        } catch (e) {
          if (!(e instanceof VkError)) throw e;
        }
      }
      this.#accepted.set(key, bits);
    }
    return bits;
  }

  /** The Allocate records that place something in pool `pool` (found in one pass over the trace, when first asked). */
  #placedIn(pool: number): RecordOf<RecordKind.Allocate>[] {
    if (this.#poolAllocations === null) {
      this.#poolAllocations = new Map();
      for (const r of this.records) {
        if (r.kind !== RecordKind.Allocate || r.pool === 0) continue;
        let list = this.#poolAllocations.get(r.pool);
        if (list === undefined) this.#poolAllocations.set(r.pool, (list = []));
        list.push(r);
      }
    }
    return this.#poolAllocations.get(pool) ?? [];
  }
}
