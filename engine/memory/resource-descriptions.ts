/**
 * Buffer and image descriptions: the checks of a BufferInfo / ImageInfo against the device (exact messages naming
 * the argument and value; sizes against the heaps, bits against the device's flag policy, an image's format,
 * extent, mip levels, layers and samples against vkGetPhysicalDeviceImageFormatProperties) and their encoding into
 * the shared scratch, in the order the native ReadBufferCreateInfo / ReadImageCreateInfo read it.
 *
 * Invariant: a description that passes is one VMA and Vulkan accept without an assertion or a validation message;
 * after a successful encode the scratch input slots (kIn0..) hold it until the next encode. One
 * ResourceDescriptions per allocator, made with it; it caches format support per (format, type, tiling, usage,
 * flags), the only query that costs a driver call.
 * @module
 */
import { describeValue } from "../errors.js";
import { isOptionsObject } from "../checks.js";
import { scratch } from "../native.js";
import { nvk } from "../vulkan/nvk.js";
import { formatBytes } from "../format.js";
import type { DeviceFlagPolicy } from "../vulkan/flag-bits.js";
import type { BufferInfo, ImageInfo, MemoryRequirements } from "./types.js";

function isPositiveInt(v: unknown): v is number {
  return typeof v === "number" && v >= 1 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v;
}
function isUint32(v: unknown): v is number {
  return typeof v === "number" && v >= 0 && v <= 0xffffffff && Math.floor(v) === v;
}
function fail(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}

// VK_SHARING_MODE_CONCURRENT needs pQueueFamilyIndices, which the create calls do not take (yet).
const CONCURRENT_UNSUPPORTED =
  "must be 0 (VK_SHARING_MODE_EXCLUSIVE): concurrent sharing needs queue family indices, which vkmem does not take yet";

/** VkFormat ranges of Vulkan 1.3 and its registered extensions (core, PVRTC, ASTC HDR, YCbCr, 4444, ...). */
const FORMAT_RANGES: readonly [number, number][] = [
  [1, 184],
  [1000054000, 1000054007],
  [1000066000, 1000066013],
  [1000156000, 1000156033],
  [1000330000, 1000330003],
  [1000340000, 1000340001],
  [1000464000, 1000464000],
  [1000470000, 1000470001],
];
function isKnownFormat(v: unknown): v is number {
  return typeof v === "number" && FORMAT_RANGES.some(([lo, hi]) => v >= lo && v <= hi && Math.floor(v) === v);
}

/** What the checks need to know of the device an allocator allocates from. */
export interface DescribedDevice {
  /** nvk VkPhysicalDevice, for the format queries. */
  readonly physicalDevice: unknown;
  /** The device's name, for messages. */
  readonly deviceName: string;
  /** The largest heap (or its size limit): no resource may be larger. */
  readonly maxAllocationSize: number;
  /** The buffer and image flag bits the device allows (engine/vulkan/flag-bits.ts). */
  readonly flagPolicy: DeviceFlagPolicy;
}

/**
 * The description checks and encoder of one allocator. Made by the allocator's constructor; dropped with it.
 * @internal
 */
export class ResourceDescriptions {
  private readonly formatCache = new Map<string, { result: number; props: any }>();
  /**
   * The device's allowed bits per field, [any, bindable] (DeviceFlagPolicy.mask, fixed for the device): a value
   * within them passes without a call, so the argument names of the messages are only built for a bad value.
   */
  readonly #bufferUsage: readonly [number, number];
  readonly #bufferCreate: readonly [number, number];
  readonly #imageUsage: readonly [number, number];
  readonly #imageCreate: readonly [number, number];

  constructor(private readonly device: DescribedDevice) {
    const p = device.flagPolicy;
    this.#bufferUsage = [p.mask("bufferUsage", false), p.mask("bufferUsage", true)];
    this.#bufferCreate = [p.mask("bufferCreate", false), p.mask("bufferCreate", true)];
    this.#imageUsage = [p.mask("imageUsage", false), p.mask("imageUsage", true)];
    this.#imageCreate = [p.mask("imageCreate", false), p.mask("imageCreate", true)];
  }

  /** Checks a buffer description (messages name `arg`) and writes it into the scratch (kIn0..). */
  encodeBuffer(bufferInfo: BufferInfo, op: string, arg: string, bind = true): void {
    if (!isOptionsObject(bufferInfo)) fail(op, arg, "must be an object", bufferInfo, TypeError);
    const { size, usage } = bufferInfo;
    const flags = bufferInfo.flags ?? 0;
    const sharingMode = bufferInfo.sharingMode ?? 0;
    if (!isPositiveInt(size)) fail(op, `${arg}.size`, "must be a positive integer number of bytes", size);
    if (size > this.device.maxAllocationSize) {
      fail(
        op,
        `${arg}.size`,
        `is larger than any memory heap (largest ${formatBytes(this.device.maxAllocationSize)})`,
        size,
      );
    }
    if (!isUint32(usage) || usage === 0) fail(op, `${arg}.usage`, "must be non-zero VkBufferUsageFlags", usage);
    if (!isUint32(flags)) fail(op, `${arg}.flags`, "must be VkBufferCreateFlags", flags);
    const b = bind ? 1 : 0;
    if ((usage & ~this.#bufferUsage[b]!) !== 0)
      this.device.flagPolicy.check(usage, "bufferUsage", bind, op, `${arg}.usage`);
    if ((flags & ~this.#bufferCreate[b]!) !== 0)
      this.device.flagPolicy.check(flags, "bufferCreate", bind, op, `${arg}.flags`);
    if (sharingMode !== 0) fail(op, `${arg}.sharingMode`, CONCURRENT_UNSUPPORTED, sharingMode);
    scratch[0] = size;
    scratch[1] = usage;
    scratch[2] = flags;
    scratch[3] = sharingMode;
  }

  /**
   * Checks an image description against the device (messages name `arg`) and writes it into the scratch
   * (kIn0..), in the order native ReadImageCreateInfo reads it.
   */
  encodeImage(imageInfo: ImageInfo, op: string, arg: string, bind = true): void {
    if (!isOptionsObject(imageInfo)) fail(op, arg, "must be an object", imageInfo, TypeError);
    const imageType = imageInfo.imageType ?? 1;
    const { format, extent, usage } = imageInfo;
    if (!isOptionsObject(extent)) fail(op, `${arg}.extent`, "must be { width, height, depth? }", extent, TypeError);
    const width = extent.width;
    const height = extent.height;
    const depth = extent.depth ?? 1;
    const mipLevels = imageInfo.mipLevels ?? 1;
    const arrayLayers = imageInfo.arrayLayers ?? 1;
    const samples = imageInfo.samples ?? 1;
    const tiling = imageInfo.tiling ?? 0;
    const flags = imageInfo.flags ?? 0;
    const initialLayout = imageInfo.initialLayout ?? 0;
    const sharingMode = imageInfo.sharingMode ?? 0;
    if (imageType !== 0 && imageType !== 1 && imageType !== 2)
      fail(op, `${arg}.imageType`, "must be 0 (1D), 1 (2D) or 2 (3D)", imageType);
    if (!isKnownFormat(format)) fail(op, `${arg}.format`, "is not a known VkFormat (UNDEFINED is not allowed)", format);
    if (!isPositiveInt(width) || width > 0xffffffff)
      fail(op, `${arg}.extent.width`, "must be a positive integer", width);
    if (!isPositiveInt(height) || height > 0xffffffff)
      fail(op, `${arg}.extent.height`, "must be a positive integer", height);
    if (!isPositiveInt(depth) || depth > 0xffffffff)
      fail(op, `${arg}.extent.depth`, "must be a positive integer", depth);
    if (!isPositiveInt(mipLevels) || mipLevels > 32)
      fail(op, `${arg}.mipLevels`, "must be an integer in [1, 32]", mipLevels);
    if (!isPositiveInt(arrayLayers) || arrayLayers > 0xffffffff)
      fail(op, `${arg}.arrayLayers`, "must be a positive integer", arrayLayers);
    if (![1, 2, 4, 8, 16, 32, 64].includes(samples))
      fail(op, `${arg}.samples`, "must be a VkSampleCountFlagBits value", samples);
    if (tiling !== 0 && tiling !== 1) fail(op, `${arg}.tiling`, "must be 0 (optimal) or 1 (linear)", tiling);
    if (!isUint32(usage) || usage === 0) fail(op, `${arg}.usage`, "must be non-zero VkImageUsageFlags", usage);
    if (!isUint32(flags)) fail(op, `${arg}.flags`, "must be VkImageCreateFlags", flags);
    const b = bind ? 1 : 0;
    if ((usage & ~this.#imageUsage[b]!) !== 0)
      this.device.flagPolicy.check(usage, "imageUsage", bind, op, `${arg}.usage`);
    if ((flags & ~this.#imageCreate[b]!) !== 0)
      this.device.flagPolicy.check(flags, "imageCreate", bind, op, `${arg}.flags`);
    if (initialLayout !== 0 && initialLayout !== 8)
      fail(op, `${arg}.initialLayout`, "must be 0 (UNDEFINED) or 8 (PREINITIALIZED)", initialLayout);
    if (sharingMode !== 0) fail(op, `${arg}.sharingMode`, CONCURRENT_UNSUPPORTED, sharingMode);
    if (imageType === 0 && (height !== 1 || depth !== 1))
      fail(op, `${arg}.extent`, "of a 1D image must have height 1 and depth 1", extent);
    if (imageType === 1 && depth !== 1) fail(op, `${arg}.extent.depth`, "of a 2D image must be 1", depth);
    const maxMips = Math.floor(Math.log2(Math.max(width, height, depth))) + 1;
    if (mipLevels > maxMips)
      fail(op, `${arg}.mipLevels`, `must be at most ${maxMips} for a ${width}x${height}x${depth} image`, mipLevels);

    const support = this.imageFormatSupport(format, imageType, tiling, usage, flags);
    if (support.result !== 0) {
      fail(
        op,
        `${arg}.format`,
        `is not supported for this type, tiling and usage on ${this.device.deviceName} (${describeValue(support.result)})`,
        format,
      );
    }
    const max = support.props;
    if (width > max.maxExtent.width || height > max.maxExtent.height || depth > max.maxExtent.depth) {
      fail(
        op,
        `${arg}.extent`,
        `exceeds the device's maximum ${max.maxExtent.width}x${max.maxExtent.height}x${max.maxExtent.depth} for this format`,
        extent,
      );
    }
    if (mipLevels > max.maxMipLevels)
      fail(op, `${arg}.mipLevels`, `exceeds the device's maximum ${max.maxMipLevels}`, mipLevels);
    if (arrayLayers > max.maxArrayLayers)
      fail(op, `${arg}.arrayLayers`, `exceeds the device's maximum ${max.maxArrayLayers}`, arrayLayers);
    if ((max.sampleCounts & samples) === 0) fail(op, `${arg}.samples`, "is not supported for this format", samples);

    scratch[0] = imageType;
    scratch[1] = format;
    scratch[2] = width;
    scratch[3] = height;
    scratch[4] = depth;
    scratch[5] = mipLevels;
    scratch[6] = arrayLayers;
    scratch[7] = samples;
    scratch[8] = tiling;
    scratch[9] = usage;
    scratch[10] = flags;
    scratch[11] = initialLayout;
    scratch[12] = sharingMode;
  }

  private imageFormatSupport(format: number, type: number, tiling: number, usage: number, flags: number) {
    const key = `${format}:${type}:${tiling}:${usage}:${flags}`;
    let entry = this.formatCache.get(key);
    if (entry === undefined) {
      const props = new nvk.VkImageFormatProperties();
      const result = nvk.vkGetPhysicalDeviceImageFormatProperties(
        this.device.physicalDevice,
        format,
        type,
        tiling,
        usage,
        flags,
        props,
      );
      entry = { result, props };
      this.formatCache.set(key, entry);
    }
    return entry;
  }

  /**
   * Checks VkMemoryRequirements given to allocateMemory (messages name `requirements.*`): a size no heap refuses, a
   * power-of-two alignment up to 2^30, a non-zero uint32 type mask. Writes nothing.
   */
  checkRequirements(requirements: MemoryRequirements, op: string): void {
    if (!isOptionsObject(requirements))
      fail(op, "requirements", "must be { size, alignment, memoryTypeBits }", requirements, TypeError);
    const { size, alignment, memoryTypeBits } = requirements;
    const max = this.device.maxAllocationSize;
    if (!isPositiveInt(size)) fail(op, "requirements.size", "must be a positive integer number of bytes", size);
    if (size > max) fail(op, "requirements.size", `is larger than any memory heap (largest ${formatBytes(max)})`, size);
    if (!isPositiveInt(alignment) || (alignment & (alignment - 1)) !== 0 || alignment > 2 ** 30) {
      fail(op, "requirements.alignment", "must be a power of two", alignment);
    }
    if (!isUint32(memoryTypeBits) || memoryTypeBits === 0)
      fail(op, "requirements.memoryTypeBits", "must be a non-zero uint32 mask", memoryTypeBits);
  }
}
