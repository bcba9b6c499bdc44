/**
 * The texture of VMA's sample, generated on the CPU: RGBA8, stripes from bits 3 and 4 of each coordinate.
 *
 * Columns: x & 0x18 == 0x08 adds red, == 0x10 adds red and green (yellow). Rows: y & 0x18 == 0x08 adds green,
 * == 0x10 adds blue. The channels combine (OR), so the pattern repeats every 32 texels with 8-texel stripes and
 * mixed colours where a coloured column crosses a coloured row. Alpha is 0, as in the original.
 * @module
 */

/** Width and height of the texture. */
export const TEXTURE_SIZE = 128;

/** The stripe pattern, `size * size * 4` bytes, rows top to bottom. */
export function stripeTexture(size = TEXTURE_SIZE): Uint8Array {
  const out = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    const row = y & 0x18;
    for (let x = 0; x < size; x++) {
      const column = x & 0x18;
      const o = (y * size + x) * 4;
      out[o] = column === 0x08 || column === 0x10 ? 255 : 0;
      out[o + 1] = column === 0x10 || row === 0x08 ? 255 : 0;
      out[o + 2] = row === 0x10 ? 255 : 0;
      out[o + 3] = 0;
    }
  }
  return out;
}
