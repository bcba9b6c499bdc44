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
 * @module
 */
import { memoryHeapNames, memoryPropertyNames } from "../memory/usage.js";

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

/**
 * The device's memory type that stands for each recorded one (module comment): `map[t]` for recorded type `t`.
 * Identity where the types are the same (heap sizes aside).
 */
export function memoryTypeMap(recorded: MemoryLayout, device: MemoryLayout): number[] {
  return recorded.types.map((r, t) => {
    const same = device.types[t];
    if (same !== undefined && same.propertyFlags === r.propertyFlags) return t;
    const exact = device.types.findIndex((d) => d.propertyFlags === r.propertyFlags);
    if (exact >= 0) return exact;
    let best = 0;
    let bestShared = -1;
    device.types.forEach((d, i) => {
      const shared = popcount(d.propertyFlags & r.propertyFlags);
      if (shared > bestShared) {
        best = i;
        bestShared = shared;
      }
    });
    return best;
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
