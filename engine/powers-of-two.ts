/**
 * Rounding to powers of two, shared by the places that size or align by them (buddy pools' nodes, the transient
 * ring's alignments).
 * @module
 */

/** The smallest power of two >= `v` (`v` >= 1, a safe integer). */
export function nextPowerOfTwo(v: number): number {
  let p = 2 ** Math.ceil(Math.log2(v));
  if (p < v) p *= 2;
  else if (p / 2 >= v) p /= 2;
  return p;
}
