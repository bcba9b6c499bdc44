/**
 * Small deterministic PRNGs, shared by the tests' random workloads and the stress runs under bench/gpu/ (which run
 * as programs on the GPU machine, so they cannot import from test/), so that a failure can be replayed from its seed.
 * @module
 */

/** xorshift32: `next(n)` gives an integer in [0, n). */
export function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** mulberry32: a seeded generator of numbers in [0, 1). */
export function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** mulberry32 as integers: `next(lo, hi)` gives an integer in [lo, hi]. */
export function random(seed: number): (lo: number, hi: number) => number {
  const next = mulberry(seed);
  return (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
}
