/**
 * What the resource layer needs to know about a VkFormat: how many bytes a texel (or a compressed block) takes,
 * the block's extent, and which image aspects it has. Only the formats a game uploads or renders to are listed;
 * {@link formatInfo} returns undefined for the rest, and callers turn that into a RangeError naming the format.
 * @module
 */
import { argumentError, checkInteger, isIntegerIn, isOptionsObject } from "../checks.js";

/** VkImageAspectFlagBits. */
export const ASPECT_COLOR = 0x1;
export const ASPECT_DEPTH = 0x2;
export const ASPECT_STENCIL = 0x4;

/** One format's layout in memory. */
export interface FormatInfo {
  /** The VkFormat name without the VK_FORMAT_ prefix, e.g. "R8G8B8A8_UNORM". */
  readonly name: string;
  /** Bytes per texel, or per block for block-compressed formats. */
  readonly blockBytes: number;
  /** Block width and height in texels (1 for uncompressed formats, 4 for BC). */
  readonly blockWidth: number;
  readonly blockHeight: number;
  /** VkImageAspectFlags of an image of this format. */
  readonly aspect: number;
}

const TABLE = new Map<number, FormatInfo>();
function add(format: number, name: string, blockBytes: number, aspect = ASPECT_COLOR, block = 1): void {
  TABLE.set(format, Object.freeze({ name, blockBytes, blockWidth: block, blockHeight: block, aspect }));
}
add(9, "R8_UNORM", 1);
add(13, "R8_UINT", 1);
add(16, "R8G8_UNORM", 2);
add(37, "R8G8B8A8_UNORM", 4);
add(38, "R8G8B8A8_SNORM", 4);
add(41, "R8G8B8A8_UINT", 4);
add(43, "R8G8B8A8_SRGB", 4);
add(44, "B8G8R8A8_UNORM", 4);
add(50, "B8G8R8A8_SRGB", 4);
add(64, "A2B10G10R10_UNORM_PACK32", 4);
add(70, "R16_UNORM", 2);
add(74, "R16_UINT", 2);
add(76, "R16_SFLOAT", 2);
add(83, "R16G16_SFLOAT", 4);
add(91, "R16G16B16A16_UNORM", 8);
add(97, "R16G16B16A16_SFLOAT", 8);
add(98, "R32_UINT", 4);
add(100, "R32_SFLOAT", 4);
add(103, "R32G32_SFLOAT", 8);
add(109, "R32G32B32A32_SFLOAT", 16);
add(122, "B10G11R11_UFLOAT_PACK32", 4);
add(124, "D16_UNORM", 2, ASPECT_DEPTH);
add(125, "X8_D24_UNORM_PACK32", 4, ASPECT_DEPTH);
add(126, "D32_SFLOAT", 4, ASPECT_DEPTH);
add(127, "S8_UINT", 1, ASPECT_STENCIL);
add(129, "D24_UNORM_S8_UINT", 4, ASPECT_DEPTH | ASPECT_STENCIL);
add(130, "D32_SFLOAT_S8_UINT", 8, ASPECT_DEPTH | ASPECT_STENCIL);
add(131, "BC1_RGB_UNORM_BLOCK", 8, ASPECT_COLOR, 4);
add(133, "BC1_RGBA_UNORM_BLOCK", 8, ASPECT_COLOR, 4);
add(135, "BC2_UNORM_BLOCK", 16, ASPECT_COLOR, 4);
add(137, "BC3_UNORM_BLOCK", 16, ASPECT_COLOR, 4);
add(139, "BC4_UNORM_BLOCK", 8, ASPECT_COLOR, 4);
add(141, "BC5_UNORM_BLOCK", 16, ASPECT_COLOR, 4);
add(145, "BC7_UNORM_BLOCK", 16, ASPECT_COLOR, 4);
add(146, "BC7_SRGB_BLOCK", 16, ASPECT_COLOR, 4);

/** The layout of `format`, or undefined when vkmem does not know it. */
export function formatInfo(format: number): FormatInfo | undefined {
  return TABLE.get(format);
}

/** Every format {@link formatInfo} knows, in VkFormat order. */
export function knownFormats(): number[] {
  return [...TABLE.keys()].sort((a, b) => a - b);
}

/**
 * Bytes of a tightly packed `width` x `height` x `depth` region of `info`'s format (whole blocks for compressed
 * formats: a 2x2 region of BC1 is one 8-byte block).
 * @throws TypeError when `info` is not a FormatInfo; RangeError when a dimension is not an integer in [0, 2^32].
 */
export function regionBytes(info: FormatInfo, width: number, height: number, depth = 1): number {
  if (
    !isOptionsObject(info) ||
    !isIntegerIn(info.blockWidth, 1, 16) ||
    !isIntegerIn(info.blockHeight, 1, 16) ||
    !isIntegerIn(info.blockBytes, 1, 64)
  ) {
    argumentError("regionBytes", "info", "must be a FormatInfo (from formatInfo())", info, TypeError);
  }
  checkInteger(width, 0, 2 ** 32, "regionBytes", "width");
  checkInteger(height, 0, 2 ** 32, "regionBytes", "height");
  checkInteger(depth, 0, 2 ** 32, "regionBytes", "depth");
  const bw = Math.ceil(width / info.blockWidth);
  const bh = Math.ceil(height / info.blockHeight);
  return bw * bh * depth * info.blockBytes;
}

/**
 * The extent of mip `level` of a `base`-texel dimension: never below 1.
 * @throws RangeError when `base` is not a uint32 or `level` not an integer in [0, 31].
 */
export function mipExtent(base: number, level: number): number {
  checkInteger(base, 0, 0xffffffff, "mipExtent", "base");
  checkInteger(level, 0, 31, "mipExtent", "level");
  return Math.max(1, base >>> level);
}
