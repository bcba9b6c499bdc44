/**
 * The node tables of the TypeScript offset allocators (./tlsf-allocator.ts, ./linear-allocator.ts,
 * ./buddy-allocator.ts): how a handle names a table entry, the integer logarithms they place by, and how their
 * typed arrays grow.
 *
 * Invariants: a handle is `generation * 2^24 + index`, with the generation in [1, 2^28] so that every handle is an
 * integer below 2^53; an entry is live only while its generation matches the handle's, so a freed, stale, forged or
 * neighbouring handle never names a live entry. Tables only grow (by copying into a larger array), never shrink.
 * Nothing here allocates except the growth copies; every function is small enough to inline into a hot path.
 * @module
 */

/**
 * The handle constants, as a const enum so that tsc writes the numbers into the hot paths that use them (an
 * imported `const` is read through a module cell, with a check that it is initialised, on every use).
 */
export const enum Handle {
  /** Handles are generation * 2^24 + index (as native/addon.h's EncodeHandle). */
  IndexLimit = 16777216,
  /** Generations run in [1, 2^28]: handles stay below 2^53. */
  MaxGeneration = 268435455,
}

/**
 * The index a handle names in a table whose live entries have a non-zero generation in `gen`, or -1. ToInt32
 * keeps the low 24 bits of any integer below 2^53 exactly; anything else (NaN, a fraction, a negative or too
 * large number, a stale generation) fails the equality with the one handle the entry has. Used by the linear
 * and TLSF allocators (the buddy's check also looks at the node type).
 */
export function liveIndex(handle: number, high: number, gen: Int32Array): number {
  const i = handle & 0xffffff;
  if (i === 0 || i >= high) return -1;
  const g = gen[i];
  return g !== 0 && g * Handle.IndexLimit + i === handle ? i : -1;
}

/**
 * The index part of a handle: its low 24 bits (ToInt32 keeps them exactly for any integer below 2^53; any other
 * number gives some index whose generation then does not match).
 */
export function handleIndex(handle: number): number {
  return handle & 0xffffff;
}

/**
 * The generation part of a handle whose index is `index`: an integer in [1, 2^28] for every handle an allocator
 * made; for any other number (a fraction, NaN, a negative or too large number) something that is not such an
 * integer, so that it matches no entry. Exact: handle - index loses no bit, and the division is by a power of two.
 */
export function handleGeneration(handle: number, index: number): number {
  return (handle - index) / Handle.IndexLimit;
}

/**
 * The index of a live entry named by (index, generation) (see {@link handleIndex}) in a table whose live entries
 * have a non-zero generation in `gen`, or -1: the same answer as {@link liveIndex} for the handle they came from.
 */
export function liveEntry(index: number, generation: number, high: number, gen: Int32Array): number {
  if (index === 0 || index >= high) return -1;
  const g = gen[index];
  return g !== 0 && g === generation ? index : -1;
}

/** ceil(log2(v)) for an integer v >= 1 below 2^53. */
export function ceilLog2(v: number): number {
  if (v <= 1) return 0;
  if (v <= 0x80000000) return 32 - Math.clz32(v - 1);
  let k = Math.ceil(Math.log2(v));
  if (2 ** k < v) k++;
  while (k > 0 && 2 ** (k - 1) >= v) k--;
  return k;
}

/** floor(log2(v)) for an integer v >= 1 below 2^53. */
export function floorLog2(v: number): number {
  if (v < 0x100000000) return 31 - Math.clz32(v);
  let k = Math.floor(Math.log2(v));
  if (2 ** k > v) k--;
  while (2 ** (k + 1) <= v) k++;
  return k;
}

/** `a` copied into a new array of length `n` (the TS allocators' tables grow by these). */
export function copyF64(a: Float64Array, n: number) {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
/** As {@link copyF64}. */
export function copyI32(a: Int32Array, n: number) {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
/** As {@link copyF64}. */
export function copyU8(a: Uint8Array, n: number) {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}
