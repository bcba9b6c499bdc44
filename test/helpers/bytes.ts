/**
 * Byte comparisons for the tests that read uploads back.
 * @module
 */
import { Buffer as Bytes } from "node:buffer";

/** The first index where `a` and `b` differ; -1 when they are equal, -2 when their lengths differ. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return -2;
  if (Bytes.compare(a, b) === 0) return -1; // natively; the loop below only finds where
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * How `got` differs from `want` (same length): "N wrong, first at I (got, want)", to tell a lost copy from a
 * shifted one; null when they are equal.
 */
export function describeDifference(got: Uint8Array, want: Uint8Array): string | null {
  const first = firstDifference(got, want);
  if (first === -1) return null;
  let count = 0;
  for (let k = first; k < want.length; k++) if (got[k] !== want[k]) count++;
  return `${count} wrong, first at ${first} (${got[first]}, ${want[first]})`;
}
