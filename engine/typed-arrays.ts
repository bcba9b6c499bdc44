/**
 * Growing the Float64Arrays that hot paths keep and reuse (rows for a native call, handles queued for a batch, ranges
 * written in a phase): each is grown by doubling when a write would pass its end, and never shrinks.
 * @module
 */

/** `array` when it holds at least `length` numbers; else a copy of it doubled until it does. */
export function withRoom(array: Float64Array<ArrayBuffer>, length: number): Float64Array<ArrayBuffer> {
  if (length <= array.length) return array;
  let size = Math.max(1, array.length);
  while (size < length) size *= 2;
  const grown = new Float64Array(size);
  grown.set(array);
  return grown;
}
