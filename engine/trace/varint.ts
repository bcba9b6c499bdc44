/**
 * The trace format's unsigned LEB128 varints (./format.ts), written into a byte buffer: the TraceWriter's encoder
 * (./writer.ts) for values of 128 and more (it writes smaller ones in place).
 * @internal
 * @module
 */

/** Writes `value` as an unsigned LEB128 varint at `pos` (room already checked); returns the position after it. */
export function putU(buf: Uint8Array, pos: number, value: number): number {
  if ((value & 0x7fffffff) !== value) {
    if (!(value >= 0 && value <= Number.MAX_SAFE_INTEGER)) {
      value = 0; // never corrupt the stream on a bad number
    } else if (value >= 0x80000000) {
      // 32 bits and more (handles, Vulkan pointers): four 7-bit groups from the low 32 bits in int arithmetic, then
      // the rest, below 2^25, as an int (a division per group showed in profiles of the recording allocator).
      const lo = value >>> 0;
      const hi = Math.floor(value / 4294967296);
      buf[pos++] = (lo & 0x7f) | 0x80;
      buf[pos++] = ((lo >>> 7) & 0x7f) | 0x80;
      buf[pos++] = ((lo >>> 14) & 0x7f) | 0x80;
      buf[pos++] = ((lo >>> 21) & 0x7f) | 0x80;
      value = (lo >>> 28) | (hi << 4);
    } else {
      value = Math.floor(value); // a fraction: its integer part
    }
  }
  while (value >= 128) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value;
  return pos;
}
