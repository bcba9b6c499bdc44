/**
 * `npm run bench -- resources`: what a FrameManager's resources cost over the allocator beneath them (issue 14,
 * target 1).
 *
 * Four loops, each making a resource and destroying it at once (no frame uses it, so the manager frees it on the spot):
 * - allocator buffer: `allocator.createBuffer({ size, usage }, { usage: MemoryUsage.Auto })` + `destroyBuffer`, with
 *   the usage the manager gives its buffers (the caller's | TRANSFER_SRC | TRANSFER_DST);
 * - manager buffer: `frames.createBuffer({ label, size, usage })` + `buffer.destroy()`;
 * - allocator texture: `allocator.createImage(...)` of the same format, extent and usage, a raw VkImageView through nvk
 *   (its create info made once and refilled, as an engine would), then vkDestroyImageView + `destroyImage`;
 * - manager texture: `frames.createTexture({ label, width, height, format })` + `texture.destroy()`.
 * Sizes cycle 256 B .. 64 KiB (buffers) and 16 .. 64 texels square (textures). The manager names no Vulkan object
 * (no debug-utils messenger: validation is off).
 *
 * The machine these run on is shared and noisy, so the ratios are measured side by side: each round runs a chunk of
 * one loop and then the same chunk of the other (the order alternating), and the ratio of that round is taken; the
 * reported ratio is the median over the rounds, the ns per pair the medians of each loop's chunks.
 * Writes bench/results/resources.json: fm_create_vs_allocator (target <= 1.3), fm_texture_vs_allocator (<= 1.3).
 * @module
 */
import {
  createAllocator,
  createContext,
  createFrameManager,
  MemoryUsage,
  nvk,
  type Allocator,
  type Context,
  type FrameManager,
} from "../engine/index.js";
import {
  describeDevice,
  describeHost,
  intFlag,
  layersFromEnvironment,
  median,
  nowNs,
  parseFlags,
  printTable,
  round,
  writeResults,
} from "./lib.js";

export const description =
  "FrameManager createBuffer/createTexture + destroy() against the allocator's createBuffer/createImage + destroy";

export const USAGE = `usage: npm run bench -- resources [options]
  --rounds N     rounds of side-by-side chunks; the median ratio is reported (default 31)
  --buffers N    buffer pairs per chunk (default 2000)
  --textures N   texture pairs per chunk (default 300)`;

const FLAGS = { "--rounds": "value", "--buffers": "value", "--textures": "value" } as const;

const TARGET = 1.3;
const VERTEX = 0x80;
const TRANSFER = 0x1 | 0x2;
const SAMPLED = 0x4;
const FORMAT_RGBA8 = 37;

type Loop = (n: number) => void;

function allocatorBuffers(allocator: Allocator): Loop {
  return (n) => {
    for (let i = 0; i < n; i++) {
      const { buffer, allocation } = allocator.createBuffer(
        { size: 256 << (i % 9), usage: VERTEX | TRANSFER },
        { usage: MemoryUsage.Auto },
      );
      allocator.destroyBuffer(buffer, allocation);
    }
  };
}

function managerBuffers(frames: FrameManager): Loop {
  return (n) => {
    for (let i = 0; i < n; i++)
      frames.createBuffer({ label: "bench buffer", size: 256 << (i % 9), usage: VERTEX }).destroy();
  };
}

function allocatorTextures(context: Context, allocator: Allocator): Loop {
  const device = context.device;
  const range = new nvk.VkImageSubresourceRange({
    aspectMask: 1,
    baseMipLevel: 0,
    levelCount: 1,
    baseArrayLayer: 0,
    layerCount: 1,
  });
  const viewInfo = new nvk.VkImageViewCreateInfo({ viewType: 1, format: FORMAT_RGBA8, subresourceRange: range });
  return (n) => {
    for (let i = 0; i < n; i++) {
      const size = 16 << (i % 3);
      const { image, allocation } = allocator.createImage(
        { format: FORMAT_RGBA8, extent: { width: size, height: size }, usage: SAMPLED | TRANSFER },
        { usage: MemoryUsage.Auto },
      );
      viewInfo.image = image;
      const view = new nvk.VkImageView();
      if (nvk.vkCreateImageView(device, viewInfo, null, view) !== 0) throw new Error("vkCreateImageView failed");
      nvk.vkDestroyImageView(device, view, null);
      allocator.destroyImage(image, allocation);
    }
  };
}

function managerTextures(frames: FrameManager): Loop {
  return (n) => {
    for (let i = 0; i < n; i++) {
      const size = 16 << (i % 3);
      frames.createTexture({ label: "bench texture", width: size, height: size, format: FORMAT_RGBA8 }).destroy();
    }
  };
}

interface SideBySide {
  /** Median ns per pair of each loop's chunks. */
  baseNs: number;
  managerNs: number;
  /** Median over the rounds of manager / base. */
  ratio: number;
  ratios: number[];
}

/** Rounds of one chunk of each loop, the order alternating; warm-up first. */
function sideBySide(base: Loop, manager: Loop, chunk: number, rounds: number): SideBySide {
  base(chunk);
  manager(chunk);
  const time = (loop: Loop): number => {
    const t0 = nowNs();
    loop(chunk);
    return Number(nowNs() - t0) / chunk;
  };
  const baseNs: number[] = [];
  const managerNs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let b: number;
    let m: number;
    if (r % 2 === 0) {
      b = time(base);
      m = time(manager);
    } else {
      m = time(manager);
      b = time(base);
    }
    baseNs.push(b);
    managerNs.push(m);
    ratios.push(m / b);
  }
  return { baseNs: median(baseNs), managerNs: median(managerNs), ratio: median(ratios), ratios };
}

/** Runs the benchmark: `argv` are the arguments after `resources`. */
export async function main(argv: readonly string[]): Promise<void> {
  const flags = parseFlags(argv, FLAGS, USAGE);
  const rounds = intFlag(flags, "--rounds", 31, USAGE);
  const bufferChunk = intFlag(flags, "--buffers", 2000, USAGE);
  const textureChunk = intFlag(flags, "--textures", 300, USAGE);
  const layers = layersFromEnvironment();
  const context = createContext({ applicationName: "vkmem bench resources", validation: false, headless: true });
  const allocator = createAllocator(context, { label: "bench resources" });
  try {
    const frames = createFrameManager(context, allocator, { label: "bench" });
    const buffers = sideBySide(allocatorBuffers(allocator), managerBuffers(frames), bufferChunk, rounds);
    const textures = sideBySide(allocatorTextures(context, allocator), managerTextures(frames), textureChunk, rounds);
    frames.destroy();
    console.log(
      `FrameManager resources over the allocator on ${context.deviceName}: ${rounds} rounds of ${bufferChunk} buffer and ${textureChunk} texture pairs`,
    );
    if (layers.length > 0) console.log(`warning: layers enabled by the environment: ${layers.join(", ")}`);
    const met = (r: number) => (r <= TARGET ? "yes" : "NO");
    printTable(
      ["pair", "allocator ns", "manager ns", "manager / allocator (median of rounds)", "target", "met"],
      [
        [
          "buffer: create + destroy (fm_create_vs_allocator)",
          buffers.baseNs.toFixed(0),
          buffers.managerNs.toFixed(0),
          `${buffers.ratio.toFixed(2)}x`,
          `<= ${TARGET}x`,
          met(buffers.ratio),
        ],
        [
          "texture + view: create + destroy (fm_texture_vs_allocator)",
          textures.baseNs.toFixed(0),
          textures.managerNs.toFixed(0),
          `${textures.ratio.toFixed(2)}x`,
          `<= ${TARGET}x`,
          met(textures.ratio),
        ],
      ],
    );
    const file = writeResults("resources", {
      benchmark: "resources",
      timestamp: new Date().toISOString(),
      fm_create_vs_allocator: round(buffers.ratio, 3),
      fm_texture_vs_allocator: round(textures.ratio, 3),
      allocator_buffer_ns_per_pair: round(buffers.baseNs),
      fm_buffer_ns_per_pair: round(buffers.managerNs),
      allocator_texture_ns_per_pair: round(textures.baseNs),
      fm_texture_ns_per_pair: round(textures.managerNs),
      targets: { fm_create_vs_allocator_max: TARGET, fm_texture_vs_allocator_max: TARGET },
      met: { fm_create_vs_allocator: buffers.ratio <= TARGET, fm_texture_vs_allocator: textures.ratio <= TARGET },
      rounds,
      buffer_chunk: bufferChunk,
      texture_chunk: textureChunk,
      statistic: "median over rounds of the ratio of side-by-side chunks; ns per pair: median of each loop's chunks",
      ratios: { buffers: buffers.ratios.map((r) => round(r, 3)), textures: textures.ratios.map((r) => round(r, 3)) },
      device: describeDevice(context),
      host: describeHost(),
      validation_layers: layers.length > 0 ? layers : "off",
    });
    console.log(`\nwrote ${file}`);
  } finally {
    allocator.destroy();
    context.destroy();
  }
}
