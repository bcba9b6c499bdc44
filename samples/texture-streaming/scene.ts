/**
 * The streaming sample's world: a long gallery of textured panels on both sides of a corridor, far more texture data
 * than the budget, and a camera walking down it. Pure TypeScript (no Vulkan): what is visible, which mip each panel
 * needs at its distance, and the pixels a panel's loader produces.
 *
 * Panels: panel i stands at z = i * SPACING on the left (even i) or right (odd i) wall, facing the corridor. Its
 * texture is 256, 512 or 1024 texels square (a hash of i picks), RGBA8 with a full mip chain: 1,000 panels hold about
 * 2.3 GiB of pixels. The camera moves along +z at {@link CAMERA_SPEED}; a panel is visible when it lies between the
 * camera and {@link VIEW_DISTANCE} ahead. The mip it needs is the one whose texels are about the size of the screen
 * pixels it covers: log2(texture size / projected size), clamped to the chain.
 *
 * Pixels: every mip level is generated directly (not filtered from the one above): a coloured checker whose cells
 * cover the same share of the panel at every level, tinted per level (level 0 its hue, then towards grey), with a
 * dark frame, so the picture shows which mip is resident. Deterministic: panel i, level m always gives the same bytes.
 * @module
 */

/** Number of panels. */
export const PANEL_COUNT = 1000;
/** Distance between consecutive panels along z (world units). */
export const SPACING = 2;
/** Half the corridor's width: panels stand at x = -HALF_WIDTH or +HALF_WIDTH. */
export const HALF_WIDTH = 3;
/** Panel edge length (world units). */
export const PANEL_SIZE = 2.4;
/** How far ahead panels count as visible. */
export const VIEW_DISTANCE = 60;
/** Camera speed along +z (units per second). */
export const CAMERA_SPEED = 6;
/** Vertical field of view (radians). */
export const FIELD_OF_VIEW = Math.PI / 3;

/** One panel's placement and texture. */
export interface Panel {
  readonly index: number;
  /** Centre of the panel. */
  readonly x: number;
  readonly y: number;
  readonly z: number;
  /** +1: faces +x (on the left wall); -1: faces -x. */
  readonly facing: 1 | -1;
  /** Texture edge in texels: 256, 512 or 1024. */
  readonly textureSize: number;
  readonly mipLevels: number;
}

function hash(i: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The panels of the gallery, in order along z. */
export function makePanels(count = PANEL_COUNT): Panel[] {
  return Array.from({ length: count }, (_, index) => {
    const textureSize = 256 << (hash(index) % 3);
    return {
      index,
      x: index % 2 === 0 ? -HALF_WIDTH : HALF_WIDTH,
      y: 0,
      z: index * SPACING + 4,
      facing: index % 2 === 0 ? 1 : -1,
      textureSize,
      mipLevels: Math.log2(textureSize) + 1,
    } as Panel;
  });
}

/** Where the camera is at `timeSeconds`: it loops over the gallery's length. */
export function cameraZ(timeSeconds: number, count = PANEL_COUNT): number {
  const length = count * SPACING;
  return (timeSeconds * CAMERA_SPEED) % length;
}

/**
 * The panels visible from `z` (between the camera and VIEW_DISTANCE ahead), with the finest mip each needs for a
 * viewport `heightPixels` tall. Costs what is visible, not what exists: panels are sorted along z.
 */
export function visiblePanels(
  panels: readonly Panel[],
  z: number,
  heightPixels: number,
): { panel: Panel; mip: number; distance: number }[] {
  const first = Math.max(0, Math.floor((z - 4) / SPACING));
  const last = Math.min(panels.length - 1, Math.ceil((z + VIEW_DISTANCE - 4) / SPACING));
  const pixelsPerUnitAtOne = heightPixels / (2 * Math.tan(FIELD_OF_VIEW / 2));
  const out: { panel: Panel; mip: number; distance: number }[] = [];
  for (let i = first; i <= last; i++) {
    const panel = panels[i]!;
    const dz = panel.z - z;
    if (dz <= 0.5 || dz > VIEW_DISTANCE) continue;
    const distance = Math.hypot(panel.x, dz);
    const projected = (PANEL_SIZE * pixelsPerUnitAtOne) / distance;
    out.push({ panel, mip: mipFor(panel.textureSize, projected, panel.mipLevels), distance });
  }
  return out;
}

/** The finest mip worth having for a texture `size` texels wide covering `projectedPixels` screen pixels. */
export function mipFor(size: number, projectedPixels: number, mipLevels: number): number {
  if (projectedPixels <= 0) return mipLevels - 1;
  return Math.min(mipLevels - 1, Math.max(0, Math.floor(Math.log2(size / projectedPixels))));
}

/** Panel `index`'s base colour (RGB, 0-255). */
export function panelColor(index: number): [number, number, number] {
  const h = (hash(index + 7) % 360) / 60;
  const c = 200;
  const x = Math.round(c * (1 - Math.abs((h % 2) - 1)));
  const rgb: [number, number, number][] = [
    [c, x, 0],
    [x, c, 0],
    [0, c, x],
    [0, x, c],
    [x, 0, c],
    [c, 0, x],
  ];
  const [r, g, b] = rgb[Math.floor(h) % 6]!;
  return [r + 40, g + 40, b + 40];
}

/** RGBA8 pixels of mip `mip` of panel `panel`'s texture. */
export function panelMipPixels(panel: Panel, mip: number): Uint8Array {
  const size = Math.max(1, panel.textureSize >> mip);
  const out = new Uint8Array(size * size * 4);
  const words = new Uint32Array(out.buffer);
  const [r, g, b] = panelColor(panel.index);
  // Tint towards grey with the level: level 0 full colour, the smallest nearly grey.
  const t = mip / Math.max(1, panel.mipLevels - 1);
  const mix = (c: number) => Math.round(c * (1 - 0.7 * t) + 128 * 0.7 * t);
  const rgba = (cr: number, cg: number, cb: number) => ((255 << 24) | (cb << 16) | (cg << 8) | cr) >>> 0; // little-endian RGBA
  const light = rgba(mix(r), mix(g), mix(b));
  const dark = rgba(mix(r) >> 1, mix(g) >> 1, mix(b) >> 1);
  const edge = rgba(24, 24, 24);
  const cells = 8; // an 8 x 8 checker at every level
  const frame = Math.max(1, size >> 5);
  // Rows repeat within a cell row: build the two row kinds (and the frame's) once, copy them.
  const row = (phase: number): Uint32Array => {
    const line = new Uint32Array(size);
    for (let x = 0; x < size; x++) {
      line[x] =
        x < frame || x >= size - frame ? edge : ((Math.floor((x * cells) / size) + phase) & 1) === 0 ? light : dark;
    }
    return line;
  };
  const even = row(0);
  const odd = row(1);
  const border = new Uint32Array(size).fill(edge);
  for (let y = 0; y < size; y++) {
    const line = y < frame || y >= size - frame ? border : (Math.floor((y * cells) / size) & 1) === 0 ? even : odd;
    words.set(line, y * size);
  }
  return out;
}

/** Mips `first` .. `first + count - 1` of a panel, one after another: what its MipLoader returns. */
export function panelMipRange(panel: Panel, first: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => panelMipPixels(panel, first + i));
}

/** Bytes of a panel's texture with all its mips. */
export function panelBytes(panel: Panel): number {
  let bytes = 0;
  for (let m = 0; m < panel.mipLevels; m++) bytes += Math.max(1, panel.textureSize >> m) ** 2 * 4;
  return bytes;
}
