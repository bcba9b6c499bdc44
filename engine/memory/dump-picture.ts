/**
 * The memory map of a {@link StatsDump} as a picture, drawn the way VMA's GpuMemDumpVis draws it.
 *
 * Layout (top to bottom): a row of size labels for the gray grid lines, which run the full height; then per
 * memory type that has anything to show (in index order) a heading "Memory pool Type N" with the type's flags,
 * and one 24-px bar per default-pool block, per dedicated allocation, per custom-pool block and per
 * custom-pool dedicated allocation, each under a gray label line ("Default pool block 0 ..."); a colour legend
 * last. The x scale is the same for every bar: the picture's width less the margins is the size of the largest
 * block or dedicated allocation, so bars of different lengths compare directly.
 *
 * Inside a block bar, free space is (220,220,220); each allocation is a rectangle from its offset to its end
 * in its kind's colour ({@link allocationColor}, GpuMemDumpVis's table) with a gray outline, and an
 * allocation narrower than two pixels is a black 1-px line at its offset. Names are written inside the
 * rectangles they fit in, a little below the bar's top, which stays plain colour. Pixel x of byte `b` of a bar
 * is `bar.x + Math.floor(b * pixelsPerByte)`, what {@link DumpPicture.bars} and `pixelsPerByte` give tests.
 *
 * Aliasing allocations overlap and are drawn over each other, as GpuMemDumpVis does.
 * @module
 */
import { writeFileSync } from "node:fs";
import { PNG } from "pngjs";
import { formatBytes } from "../format.js";
import { argumentError, checkOptionsObject, isIntegerIn, optionalBoolean } from "../checks.js";
import { describeValue } from "../errors.js";
import { drawText, textWidth, GLYPH_ADVANCE, GLYPH_HEIGHT, type RgbaTarget } from "../bitmap-font.js";
import { dumpKeyIndex, type DumpBlock, type DumpSuballocation, type StatsDump } from "./dump.js";

/** An RGB colour. */
export type Rgb = readonly [number, number, number];

/** GpuMemDumpVis's colours, by resource kind. */
export const DUMP_COLORS = {
  free: [220, 220, 220],
  /** BUFFER with INDIRECT, VERTEX or INDEX usage. */
  vertexIndexIndirectBuffer: [255, 148, 148],
  /** BUFFER with STORAGE or STORAGE_TEXEL usage. */
  storageBuffer: [255, 187, 121],
  /** BUFFER with UNIFORM or UNIFORM_TEXEL usage. */
  uniformBuffer: [255, 255, 0],
  otherBuffer: [255, 255, 165],
  /** IMAGE_OPTIMAL with DEPTH_STENCIL_ATTACHMENT usage. */
  depthStencilImage: [246, 128, 255],
  /** IMAGE_OPTIMAL with COLOR, INPUT or TRANSIENT attachment, or STORAGE usage. */
  attachmentImage: [179, 179, 255],
  /** IMAGE_OPTIMAL with SAMPLED usage. */
  sampledImage: [0, 255, 255],
  otherOptimalImage: [183, 255, 255],
  linearImage: [0, 255, 0],
  unknownImage: [0, 255, 164],
  unknown: [175, 175, 175],
} as const satisfies Record<string, Rgb>;

const WHITE: Rgb = [255, 255, 255];
const TEXT_H1: Rgb = [0, 0, 0];
const TEXT_H2: Rgb = [110, 110, 110];
const TEXT_IN_BAR: Rgb = [40, 40, 40];
const OUTLINE: Rgb = [155, 155, 155];
const OUTLINE_HARD: Rgb = [0, 0, 0];
const GRID_LINE: Rgb = [224, 224, 224];

const MARGIN = 8;
const TEXT_MARGIN = 4;
/** Height of a bar: pixel rows y .. y + MAP_SIZE, inclusive, as PIL draws GpuMemDumpVis's rectangles. */
const MAP_SIZE = 24;
const H1_SCALE = 2;
const LINE = GLYPH_HEIGHT + 2;
const LEGEND_SWATCH = 12;

/**
 * The colour GpuMemDumpVis gives a suballocation of `type` whose resource had `usage` (VkBufferUsageFlags or
 * VkImageUsageFlags).
 */
export function allocationColor(type: string | undefined, usage = 0): Rgb {
  if (type !== undefined && typeof type !== "string")
    argumentError("allocationColor", "type", "must be a suballocation type string or undefined", type, TypeError);
  if (!isIntegerIn(usage, 0, 0xffffffff))
    argumentError(
      "allocationColor",
      "usage",
      "must be VkBufferUsageFlags or VkImageUsageFlags (a uint32)",
      usage,
      RangeError,
    );
  switch (type) {
    case "FREE":
      return DUMP_COLORS.free;
    case "BUFFER":
      if (usage & 0x1c0) return DUMP_COLORS.vertexIndexIndirectBuffer; // INDIRECT | VERTEX | INDEX
      if (usage & 0x28) return DUMP_COLORS.storageBuffer; // STORAGE | STORAGE_TEXEL
      if (usage & 0x14) return DUMP_COLORS.uniformBuffer; // UNIFORM | UNIFORM_TEXEL
      return DUMP_COLORS.otherBuffer;
    case "IMAGE_OPTIMAL":
      if (usage & 0x20) return DUMP_COLORS.depthStencilImage; // DEPTH_STENCIL_ATTACHMENT
      if (usage & 0xd8) return DUMP_COLORS.attachmentImage; // INPUT | TRANSIENT | COLOR attachment, STORAGE
      if (usage & 0x4) return DUMP_COLORS.sampledImage; // SAMPLED
      return DUMP_COLORS.otherOptimalImage;
    case "IMAGE_LINEAR":
      return DUMP_COLORS.linearImage;
    case "IMAGE_UNKNOWN":
      return DUMP_COLORS.unknownImage;
    default:
      return DUMP_COLORS.unknown;
  }
}

const LEGEND: Array<[string, Rgb]> = [
  ["free", DUMP_COLORS.free],
  ["vertex/index/indirect buffer", DUMP_COLORS.vertexIndexIndirectBuffer],
  ["storage buffer", DUMP_COLORS.storageBuffer],
  ["uniform buffer", DUMP_COLORS.uniformBuffer],
  ["other buffer", DUMP_COLORS.otherBuffer],
  ["depth/stencil image", DUMP_COLORS.depthStencilImage],
  ["attachment/storage image", DUMP_COLORS.attachmentImage],
  ["sampled image", DUMP_COLORS.sampledImage],
  ["other optimal image", DUMP_COLORS.otherOptimalImage],
  ["linear image", DUMP_COLORS.linearImage],
  ["image (unknown tiling)", DUMP_COLORS.unknownImage],
  ["unknown (raw memory)", DUMP_COLORS.unknown],
  ["too small to draw", OUTLINE_HARD],
];

/** Options of {@link renderDumpPicture}. */
export interface DumpPictureOptions {
  /** Width in pixels (default 1200, GpuMemDumpVis's). */
  width?: number;
  /** Write allocation names inside the rectangles they fit in (default true). */
  names?: boolean;
  /** Draw the colour legend at the bottom (default true). */
  legend?: boolean;
}

/** One bar of the picture. */
export interface DumpPictureBar {
  /** What the bar shows. */
  kind: "block" | "dedicated" | "customBlock" | "customDedicated";
  memoryType: number;
  /** The custom pool's Name ("0 - particles"), for the custom kinds. */
  pool?: string;
  /** Block id for the block kinds, index among the dedicated allocations for the dedicated kinds. */
  id: string;
  /** The gray line above the bar. */
  label: string;
  /** Left edge (byte 0) and top row of the bar. */
  x: number;
  y: number;
  /** Bytes the bar stands for (the block's or the dedicated allocation's size). */
  bytes: number;
}

/** What {@link renderDumpPicture} returns. */
export interface DumpPicture {
  width: number;
  height: number;
  /** width * height * 4 bytes, rows top to bottom, alpha 255 everywhere. */
  rgba: Uint8Array;
  /** The x scale shared by all bars. */
  pixelsPerByte: number;
  bars: DumpPictureBar[];
}

interface TypeContent {
  memoryType: number;
  key: string;
  bars: Array<Omit<DumpPictureBar, "x" | "y"> & { block?: DumpBlock; dedicated?: DumpSuballocation }>;
}

function collect(dump: StatsDump): TypeContent[] {
  const byType = new Map<string, TypeContent>();
  const content = (key: string) => {
    let c = byType.get(key);
    if (c === undefined) {
      c = { memoryType: dumpKeyIndex(key), key, bars: [] };
      byType.set(key, c);
    }
    return c;
  };
  for (const [key, pool] of Object.entries(dump.DefaultPools ?? {})) {
    const c = content(key);
    for (const [id, block] of Object.entries(pool.Blocks)) {
      c.bars.push({
        kind: "block",
        memoryType: c.memoryType,
        id,
        label: `Default pool block ${id}`,
        bytes: block.TotalBytes,
        block,
      });
    }
    pool.DedicatedAllocations.forEach((d, i) => {
      c.bars.push({
        kind: "dedicated",
        memoryType: c.memoryType,
        id: String(i),
        label: `Dedicated allocation ${i}`,
        bytes: d.Size,
        dedicated: d,
      });
    });
  }
  for (const [key, pools] of Object.entries(dump.CustomPools ?? {})) {
    const c = content(key);
    for (const pool of pools) {
      for (const [id, block] of Object.entries(pool.Blocks)) {
        c.bars.push({
          kind: "customBlock",
          memoryType: c.memoryType,
          pool: pool.Name,
          id,
          label: `Custom pool ${pool.Name} block ${id}`,
          bytes: block.TotalBytes,
          block,
        });
      }
      pool.DedicatedAllocations.forEach((d, i) => {
        const label = `Custom pool ${pool.Name} dedicated allocation ${i}`;
        c.bars.push({
          kind: "customDedicated",
          memoryType: c.memoryType,
          pool: pool.Name,
          id: String(i),
          label,
          bytes: d.Size,
          dedicated: d,
        });
      });
    }
  }
  return [...byType.values()].filter((c) => c.bars.length > 0).sort((a, b) => a.memoryType - b.memoryType);
}

function typeFlags(dump: StatsDump, key: string): string {
  for (const heap of Object.values(dump.MemoryInfo)) {
    const t = heap.MemoryPools[key];
    if (t !== undefined) return t.Flags.join(" ");
  }
  return "";
}

class Canvas implements RgbaTarget {
  readonly rgba: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.rgba = new Uint8Array(width * height * 4);
    this.fill(0, 0, width - 1, height - 1, WHITE);
  }

  /** Fills the rectangle with corners (x0, y0) and (x1, y1), both inclusive, clipped to the image. */
  fill(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    const xa = Math.max(0, x0);
    const xb = Math.min(this.width - 1, x1);
    const ya = Math.max(0, y0);
    const yb = Math.min(this.height - 1, y1);
    for (let y = ya; y <= yb; y++) {
      let i = (y * this.width + xa) * 4;
      for (let x = xa; x <= xb; x++, i += 4) {
        this.rgba[i] = c[0];
        this.rgba[i + 1] = c[1];
        this.rgba[i + 2] = c[2];
        this.rgba[i + 3] = 255;
      }
    }
  }

  /** A filled rectangle with a 1-px outline, corners inclusive (PIL's rectangle). */
  box(x0: number, y0: number, x1: number, y1: number, fillColor: Rgb, outline: Rgb): void {
    this.fill(x0, y0, x1, y1, outline);
    if (x1 - x0 >= 2 && y1 - y0 >= 2) this.fill(x0 + 1, y0 + 1, x1 - 1, y1 - 1, fillColor);
  }
}

/**
 * Draws `dump`'s memory map into an RGBA image.
 * @throws Error when the dump holds no block and no dedicated allocation (for example a dump built with
 *   `detailed = false`): there is nothing to draw.
 * @throws RangeError when `options.width` is not an integer in [200, 16384].
 */
export function renderDumpPicture(dump: StatsDump, options: DumpPictureOptions = {}): DumpPicture {
  checkOptionsObject(
    dump,
    "renderDumpPicture",
    "dump",
    "must be a StatsDump (from parseStatsString or allocator.dump())",
  );
  checkOptionsObject(options, "renderDumpPicture", "options");
  const width = options.width ?? 1200;
  if (!Number.isInteger(width) || width < 200 || width > 16384) {
    throw new RangeError(
      `renderDumpPicture: options.width must be an integer in [200, 16384], got ${describeValue(width)}`,
    );
  }
  const showNames = optionalBoolean(options.names, true, "renderDumpPicture", "options.names");
  const showLegend = optionalBoolean(options.legend, true, "renderDumpPicture", "options.legend");
  let types: TypeContent[];
  try {
    types = collect(dump);
  } catch (error) {
    // An object that is not a checked StatsDump (parseStatsString checks one): name the argument, not V8's words.
    if (!(error instanceof TypeError)) throw error;
    throw new TypeError(
      `renderDumpPicture: dump is not a StatsDump (parse it with parseStatsString): ${error.message}`,
    );
  }
  if (types.length === 0) {
    throw new RangeError(
      "renderDumpPicture: nothing to draw: the dump has no block and no dedicated allocation (build it with detailed = true)",
    );
  }

  // Layout first: every bar's y, the legend's rows, the height.
  const drawWidth = width - 2 * MARGIN;
  let maxBytes = 1;
  for (const t of types) for (const b of t.bars) maxBytes = Math.max(maxBytes, b.bytes);
  const pixelsPerByte = drawWidth / maxBytes;
  const bars: DumpPictureBar[] = [];
  const headings: Array<{ y: number; text: string }> = [];
  let y = MARGIN + LINE + MARGIN; // below the grid labels
  for (const t of types) {
    const flags = typeFlags(dump, t.key);
    headings.push({ y, text: `Memory pool ${t.key}${flags ? `  (${flags})` : ""}` });
    y += GLYPH_HEIGHT * H1_SCALE + MARGIN;
    for (const b of t.bars) {
      const { block: _block, dedicated: _dedicated, ...bar } = b;
      bars.push({ ...bar, x: MARGIN, y: y + LINE });
      y += LINE + MAP_SIZE + 1 + MARGIN;
    }
    y += MARGIN;
  }
  const legendRows: Array<Array<{ x: number; text: string; color: Rgb }>> = [[]];
  if (showLegend) {
    let x = MARGIN;
    for (const [text, color] of LEGEND) {
      const w = LEGEND_SWATCH + TEXT_MARGIN + textWidth(text) + 3 * TEXT_MARGIN;
      if (x + w > width - MARGIN && x > MARGIN) {
        legendRows.push([]);
        x = MARGIN;
      }
      legendRows[legendRows.length - 1].push({ x, text, color });
      x += w;
    }
  }
  const legendY = y;
  const height = showLegend ? legendY + legendRows.length * (LEGEND_SWATCH + TEXT_MARGIN) + MARGIN : y;

  const canvas = new Canvas(width, height);

  // Grid lines every power-of-two bytes, at least 64 px apart, with their sizes along the top.
  let step = 32;
  while (step * pixelsPerByte < 64) step *= 2;
  for (let byte = 0; ; byte += step) {
    const x = Math.floor(byte * pixelsPerByte);
    if (x > drawWidth) break;
    canvas.fill(MARGIN + x, 0, MARGIN + x, height - 1, GRID_LINE);
    if (byte === 0) drawText(canvas, MARGIN + TEXT_MARGIN, MARGIN, "0", TEXT_H2);
    else {
      const text = gridLabel(byte);
      drawText(canvas, MARGIN + x - textWidth(text) - TEXT_MARGIN, MARGIN, text, TEXT_H2);
    }
  }

  for (const h of headings) drawText(canvas, MARGIN, h.y, h.text, TEXT_H1, H1_SCALE);
  let i = 0;
  for (const t of types) {
    for (const b of t.bars) {
      const bar = bars[i++];
      let label = bar.label;
      if (b.block !== undefined) {
        const blk = b.block;
        label += `: ${formatBytes(blk.TotalBytes)}, ${blk.Allocations} allocation(s), ${formatBytes(blk.UnusedBytes)} unused`;
      } else if (b.dedicated !== undefined) {
        label += `: ${formatBytes(b.dedicated.Size)} ${b.dedicated.Type ?? ""}${b.dedicated.Name ? ` '${b.dedicated.Name}'` : ""}`;
      }
      drawText(canvas, MARGIN, bar.y - LINE, label, TEXT_H2);
      if (b.block !== undefined) drawBlock(canvas, bar, b.block, pixelsPerByte, showNames);
      else if (b.dedicated !== undefined) drawDedicated(canvas, bar, b.dedicated, pixelsPerByte, showNames);
    }
  }

  if (showLegend) {
    legendRows.forEach((row, r) => {
      const ly = legendY + r * (LEGEND_SWATCH + TEXT_MARGIN);
      for (const item of row) {
        canvas.box(item.x, ly, item.x + LEGEND_SWATCH - 1, ly + LEGEND_SWATCH - 1, item.color, OUTLINE);
        drawText(canvas, item.x + LEGEND_SWATCH + TEXT_MARGIN, ly + 2, item.text, TEXT_H1);
      }
    });
  }
  return { width, height, rgba: canvas.rgba, pixelsPerByte, bars };
}

/** GpuMemDumpVis's grid labels: whole units, "512 KiB", "2 MiB". */
function gridLabel(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Math.floor(v)} ${units[u]}`;
}

function drawName(canvas: Canvas, x0: number, x1: number, y: number, name: string | undefined): void {
  if (name === undefined || name === "") return;
  const room = x1 - x0 - 2 * TEXT_MARGIN;
  let text = name;
  if (textWidth(text) > room) {
    // As many characters as fit, ending in "..": at least three of the name, or nothing.
    const fit = Math.floor((room + 1) / GLYPH_ADVANCE) - 2;
    if (fit < 3) return;
    text = `${name.slice(0, fit)}..`;
  }
  drawText(canvas, x0 + TEXT_MARGIN, y + 9, text, TEXT_IN_BAR);
}

function drawBlock(canvas: Canvas, bar: DumpPictureBar, block: DumpBlock, pixelsPerByte: number, names: boolean): void {
  const { x: left, y } = bar;
  canvas.fill(left, y, left + Math.floor(block.TotalBytes * pixelsPerByte), y + MAP_SIZE, DUMP_COLORS.free);
  let byte = 0;
  let lastHardLineX = -1;
  for (const s of block.Suballocations) {
    const start = s.Offset ?? byte;
    const end = start + s.Size;
    byte = end;
    if (s.Type === "FREE") continue;
    const x = Math.floor(start * pixelsPerByte);
    const xEnd = Math.floor(end * pixelsPerByte);
    if (xEnd > x + 1) {
      canvas.box(left + x, y, left + xEnd, y + MAP_SIZE, allocationColor(s.Type, s.Usage), OUTLINE);
      // The outline covered a hard line drawn at this x for a tiny allocation before: draw it again.
      if (lastHardLineX === x) canvas.fill(left + x, y, left + x, y + MAP_SIZE, OUTLINE_HARD);
      if (names) drawName(canvas, left + x, left + xEnd, y, s.Name);
    } else {
      canvas.fill(left + x, y, left + x, y + MAP_SIZE, OUTLINE_HARD);
      lastHardLineX = x;
    }
  }
}

function drawDedicated(
  canvas: Canvas,
  bar: DumpPictureBar,
  d: DumpSuballocation,
  pixelsPerByte: number,
  names: boolean,
): void {
  const x1 = bar.x + Math.floor(d.Size * pixelsPerByte);
  canvas.box(bar.x, bar.y, x1, bar.y + MAP_SIZE, allocationColor(d.Type, d.Usage), OUTLINE);
  if (names) drawName(canvas, bar.x, x1, bar.y, d.Name);
}

/**
 * Encodes a picture as PNG (RGB, 8 bits per channel) with pngjs.
 * @throws TypeError / RangeError when `picture` is not a DumpPicture (from renderDumpPicture).
 */
export function encodeDumpPicturePng(picture: DumpPicture): Buffer {
  checkOptionsObject(picture, "encodeDumpPicturePng", "picture", "must be a DumpPicture (from renderDumpPicture)");
  const { width, height, rgba } = picture;
  if (!isIntegerIn(width, 1, 65535))
    argumentError("encodeDumpPicturePng", "picture.width", "must be an integer from 1 to 65535", width, RangeError);
  if (!isIntegerIn(height, 1, 65535))
    argumentError("encodeDumpPicturePng", "picture.height", "must be an integer from 1 to 65535", height, RangeError);
  if (!(rgba instanceof Uint8Array) || rgba.length !== width * height * 4) {
    argumentError(
      "encodeDumpPicturePng",
      "picture.rgba",
      `must be a Uint8Array of width * height * 4 = ${width * height * 4} bytes`,
      rgba,
      TypeError,
    );
  }
  const png = new PNG({ width: picture.width, height: picture.height });
  png.data = Buffer.from(picture.rgba.buffer, picture.rgba.byteOffset, picture.rgba.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 6, inputHasAlpha: true, deflateLevel: 9 });
}

/**
 * Draws `dump` ({@link renderDumpPicture}) and writes it to `file` as PNG.
 * @returns the picture that was written.
 * @throws what renderDumpPicture throws; TypeError when `file` is not a path string; the file system's errors.
 */
export function writeDumpPicture(dump: StatsDump, file: string, options: DumpPictureOptions = {}): DumpPicture {
  if (typeof file !== "string" || file === "" || file.includes("\0"))
    argumentError("writeDumpPicture", "file", "must be a non-empty path string", file, TypeError);
  const picture = renderDumpPicture(dump, options);
  writeFileSync(file, encodeDumpPicturePng(picture));
  return picture;
}
