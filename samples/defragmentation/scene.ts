/**
 * The defragmentation sample's world: a game that streams levels in and out until its memory is fragmented. Pure
 * TypeScript (no Vulkan): the schedule of loads and unloads by frame number, where each quad stands, its texture's
 * pixels and its mesh's vertices.
 *
 * Levels: level k (0 to levels - 1) holds {@link LEVEL_QUADS} quads, each with its own texture (64, 128 or 256 texels
 * square, RGBA8, picked by a hash) and its own vertex buffer (a rotated grid mesh). Level k streams in over
 * {@link LOAD_FRAMES} frames from frame k * {@link LEVEL_PERIOD}; a few frames later level k - 1 is unloaded, except
 * its "trophies" (about one quad in four, picked by a hash), which stay for the rest of the game. Because level k is
 * loaded while level k - 1 still holds its memory, each level lands in fresh memory and the trophies left behind are
 * scattered over every block the game ever used: the fragmentation a defragmentation should undo. The last level is
 * unloaded too, {@link LEVEL_PERIOD} frames after it started: the game ends in its trophy room. The scene is complete
 * at {@link loadingFrames}; what is drawn from then on no longer changes (apart from a slow pulse driven by the scene
 * time), so a picture of a late frame depends only on its frame number and time.
 *
 * Cells: the screen is a grid of {@link GRID_COLUMNS} x {@link GRID_ROWS} cells; a quad takes the lowest free cell
 * when it is loaded and keeps it until it is unloaded.
 *
 * Pixels: each texture is a checker in its level's colour with a dark frame and its name ("L3" over "#12") written
 * in the middle, so that a texture whose bytes were damaged or swapped by a move shows in the picture.
 * @module
 */
import { drawText, GLYPH_HEIGHT, textWidth } from "../../engine/bitmap-font.js";

/** Quads per level. */
export const LEVEL_QUADS = 24;
/** Levels of the default game. */
export const LEVEL_COUNT = 6;
/** Frames between the starts of two levels. */
export const LEVEL_PERIOD = 12;
/** Frames over which a level streams in (its quads split evenly). */
export const LOAD_FRAMES = 4;
/** Frame, counted from a level's start, at which the level before it is unloaded. */
export const UNLOAD_AT = 8;
/** The grid of cells quads are drawn in. */
export const GRID_COLUMNS = 12;
export const GRID_ROWS = 8;
/** Floats per vertex (position x, y in the cell, texture coordinates u, v) and the mesh's grid resolution. */
export const VERTEX_FLOATS = 4;
export const MESH_STEPS = 6;
/** Vertices of one quad's mesh: a MESH_STEPS x MESH_STEPS grid of two triangles each. */
export const MESH_VERTICES = MESH_STEPS * MESH_STEPS * 6;

/** One quad of a level. */
export interface Quad {
  readonly level: number;
  /** Index within its level. */
  readonly index: number;
  /** Texture edge in texels: 64, 128 or 256. */
  readonly textureSize: number;
  /** Whether it stays when its level is unloaded. */
  readonly trophy: boolean;
  /** Rotation of its mesh in radians (a few degrees either way). */
  readonly angle: number;
}

/** What happens at one frame of the schedule. */
export interface ScheduleStep {
  /** Quads to load this frame. */
  readonly load: readonly Quad[];
  /** Level to unload this frame (its quads that are not trophies), or -1. */
  readonly unload: number;
}

/** A 32-bit integer hash. */
export function hash(i: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The quads of level `level`. */
export function levelQuads(level: number): Quad[] {
  return Array.from({ length: LEVEL_QUADS }, (_, index) => {
    const h = hash(level * 131 + index);
    return {
      level,
      index,
      textureSize: 128 << (h % 2),
      trophy: (h >>> 8) % 4 === 0,
      angle: ((((h >>> 16) % 21) - 10) * Math.PI) / 180,
    };
  });
}

/** The frame from which the scene no longer changes: the last level unloaded, its trophies left. */
export function loadingFrames(levels: number): number {
  return levels * LEVEL_PERIOD + UNLOAD_AT + 1;
}

/** What the game does at frame `frame` of a game of `levels` levels. */
export function scheduleAt(frame: number, levels: number): ScheduleStep {
  const level = Math.floor(frame / LEVEL_PERIOD);
  const at = frame - level * LEVEL_PERIOD;
  if (level > levels) return { load: [], unload: -1 };
  let load: Quad[] = [];
  if (at < LOAD_FRAMES && level < levels) {
    const per = Math.ceil(LEVEL_QUADS / LOAD_FRAMES);
    load = levelQuads(level).slice(at * per, (at + 1) * per);
  }
  return { load, unload: at === UNLOAD_AT && level > 0 ? level - 1 : -1 };
}

/** Level `level`'s colour (RGB, 0-255): six hues around the wheel, then again darker. */
export function levelColor(level: number): [number, number, number] {
  const hues: [number, number, number][] = [
    [230, 90, 80],
    [240, 180, 60],
    [110, 200, 90],
    [70, 190, 200],
    [90, 120, 235],
    [200, 100, 220],
  ];
  const [r, g, b] = hues[level % 6]!;
  const k = Math.floor(level / 6) % 2 === 0 ? 1 : 0.7;
  return [Math.round(r * k), Math.round(g * k), Math.round(b * k)];
}

/** RGBA8 pixels of `quad`'s texture (see the module comment). Deterministic. */
export function quadPixels(quad: Quad): Uint8Array {
  const size = quad.textureSize;
  const rgba = new Uint8Array(size * size * 4);
  const [r, g, b] = levelColor(quad.level);
  const cells = 4;
  const frame = Math.max(2, size >> 5);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      const edge = x < frame || y < frame || x >= size - frame || y >= size - frame;
      const dark = (Math.floor((x * cells) / size) + Math.floor((y * cells) / size)) % 2 === 1;
      const k = edge ? 0.25 : dark ? 0.75 : 1;
      rgba[i] = Math.round(r * k);
      rgba[i + 1] = Math.round(g * k);
      rgba[i + 2] = Math.round(b * k);
      rgba[i + 3] = 255;
    }
  }
  const target = { width: size, height: size, rgba };
  const scale = size >> 6;
  const lines = [`L${quad.level}`, `#${quad.index}`];
  const top = (size - (2 * GLYPH_HEIGHT + 2) * scale) >> 1;
  lines.forEach((text, n) => {
    const x = (size - textWidth(text, scale)) >> 1;
    drawText(target, x, top + n * (GLYPH_HEIGHT + 2) * scale, text, [16, 16, 16], scale);
  });
  return rgba;
}

/**
 * The vertices of `quad`'s mesh: a MESH_STEPS x MESH_STEPS grid over the unit square centred on 0, rotated by its
 * angle and shrunk to 0.85, as triangles (x, y, u, v per vertex).
 */
export function quadVertices(quad: Quad): Float32Array {
  const out = new Float32Array(MESH_VERTICES * VERTEX_FLOATS);
  const c = Math.cos(quad.angle) * 0.85;
  const s = Math.sin(quad.angle) * 0.85;
  let o = 0;
  const put = (u: number, v: number): void => {
    const x = u - 0.5;
    const y = v - 0.5;
    out[o++] = c * x - s * y;
    out[o++] = s * x + c * y;
    out[o++] = u;
    out[o++] = v;
  };
  const n = MESH_STEPS;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const [u0, u1, v0, v1] = [i / n, (i + 1) / n, j / n, (j + 1) / n];
      put(u0, v0);
      put(u1, v0);
      put(u0, v1);
      put(u0, v1);
      put(u1, v0);
      put(u1, v1);
    }
  }
  return out;
}

/**
 * The cells of the grid as quads take and give them back: a quad takes the lowest free cell. Owned by the renderer.
 */
export class CellGrid {
  readonly #free: boolean[] = Array.from({ length: GRID_COLUMNS * GRID_ROWS }, () => true);

  /**
   * The lowest free cell, now taken.
   * @throws RangeError when every cell is taken.
   */
  take(): number {
    const cell = this.#free.indexOf(true);
    if (cell < 0) throw new RangeError(`CellGrid.take: all ${this.#free.length} cells are taken`);
    this.#free[cell] = false;
    return cell;
  }

  /** Gives `cell` back. */
  give(cell: number): void {
    this.#free[cell] = true;
  }
}
