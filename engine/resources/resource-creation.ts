/**
 * How a {@link FrameManager} makes its resources: the buffer and texture descriptions, their checks, and the Vulkan
 * and VMA calls that create a {@link Buffer} or a {@link Texture}, name it and prepare how it is freed.
 *
 * A description is checked whole before anything is created, so a bad one throws (TypeError or RangeError naming
 * the member and showing the value) with nothing allocated. The resource is made in one VMA call (vmaCreateBuffer /
 * vmaCreateImage) named after its label, with TRANSFER_SRC and TRANSFER_DST added to its usage so that the manager
 * can upload to it and read it back; a texture also gets its default view, and when the view fails the image is
 * destroyed before the error is thrown. The Vulkan objects are named after the label for the validation layer and
 * debuggers. The {@link ResourceRelease} that frees them is made here, once, so that destroying the resource later
 * allocates nothing. The manager counts the resource, registers it as its dependent, and watches it for leaks.
 * @module
 */
import { check, describeValue } from "../errors.js";
import { isOptionsObject } from "../checks.js";
import type { Allocator } from "../memory/allocator.js";
import { MemoryUsage, type AllocationOptions } from "../memory/usage.js";
import type { Context } from "../vulkan/context.js";
import { formatInfo } from "../vulkan/formats.js";
import { nvk } from "../vulkan/nvk.js";
import {
  BUFFER_USAGE_TRANSFER,
  IMAGE_TYPE_2D,
  IMAGE_TYPE_3D,
  IMAGE_USAGE_SAMPLED,
  IMAGE_USAGE_TRANSFER,
  IMAGE_USAGE_VIEWABLE,
  OBJECT_TYPE_BUFFER,
  OBJECT_TYPE_IMAGE,
  OBJECT_TYPE_IMAGE_VIEW,
  VIEW_TYPE_2D,
  VIEW_TYPE_2D_ARRAY,
  VIEW_TYPE_3D,
} from "../vulkan/vk.js";
import { Buffer } from "./buffer.js";
import { ResourceRelease, type ResourceOwner } from "./resource.js";
import { Texture } from "./texture.js";

/** A buffer description for {@link FrameManager.createBuffer}. */
export interface BufferDescription {
  /** Names the buffer in messages, in the VMA allocation and as the Vulkan object name. */
  label: string;
  /** Size in bytes, a positive integer. */
  size: number;
  /** VkBufferUsageFlags (TRANSFER_SRC and TRANSFER_DST are added). */
  usage: number;
  /** How to allocate it (default `{ usage: MemoryUsage.Auto }`); `name` is the label. */
  memory?: AllocationOptions;
}

/** A texture description for {@link FrameManager.createTexture}. */
export interface TextureDescription {
  label: string;
  width: number;
  height: number;
  /** Default 1 (above 1: a 3D image). */
  depth?: number;
  /** VkFormat: one that engine/vulkan/formats.ts knows. */
  format: number;
  /** Default 1. */
  mipLevels?: number;
  /** Default 1. */
  arrayLayers?: number;
  /** VkImageUsageFlags (default SAMPLED; TRANSFER_SRC and TRANSFER_DST are added). */
  usage?: number;
  /** How to allocate it (default `{ usage: MemoryUsage.Auto }`). */
  memory?: AllocationOptions;
  /**
   * VkImageViewType of the default view (default 2D, 2D_ARRAY with several layers, 3D with depth > 1); 2D_ARRAY also
   * suits one layer. Others (1D, cube) are refused: the image is made without the flags they need.
   */
  viewType?: number;
}

const KNOWN_BUFFER_DESC: ReadonlySet<string> = new Set(["label", "size", "usage", "memory"]);
const KNOWN_TEXTURE_DESC: ReadonlySet<string> = new Set([
  "label",
  "width",
  "height",
  "depth",
  "format",
  "mipLevels",
  "arrayLayers",
  "usage",
  "memory",
  "viewType",
]);

/**
 * Checks `desc` and creates the buffer it describes for `owner` (`op` names the call in messages).
 * @throws TypeError / RangeError for a bad description (nothing is created then).
 * @throws VkError (OutOfDeviceMemoryError, ...) when the allocation fails.
 * @internal
 */
export function createBufferResource(
  owner: ResourceOwner,
  context: Context,
  allocator: Allocator,
  op: string,
  desc: BufferDescription,
): Buffer {
  checkDescription(op, desc, KNOWN_BUFFER_DESC);
  const label = checkLabel(op, desc.label);
  if (!Number.isSafeInteger(desc.size) || desc.size <= 0)
    throw new RangeError(
      `${op}: desc.size must be a positive integer number of bytes, got ${describeValue(desc.size)}`,
    );
  if (!Number.isInteger(desc.usage) || desc.usage <= 0 || desc.usage > 0x7fffffff)
    throw new RangeError(`${op}: desc.usage must be non-zero VkBufferUsageFlags, got ${describeValue(desc.usage)}`);
  const memory = checkMemory(op, desc.memory);
  const usage = desc.usage | BUFFER_USAGE_TRANSFER;
  const { buffer, allocation } = allocator.createBuffer({ size: desc.size, usage }, { ...memory, name: label });
  context.setObjectName(OBJECT_TYPE_BUFFER, buffer, label);
  const release = new ResourceRelease(`Buffer '${label}'`, allocation.size, () =>
    allocator.destroyBuffer(buffer, allocation),
  );
  return new Buffer(owner, label, desc.size, usage, buffer, allocation, release);
}

/**
 * Checks `desc` and creates the texture it describes, with its default view, for `owner`.
 * @throws TypeError / RangeError for a bad description, including a format vkmem does not know.
 * @throws VkError when the allocation or the view fails (nothing is left allocated then).
 * @internal
 */
export function createTextureResource(
  owner: ResourceOwner,
  context: Context,
  allocator: Allocator,
  op: string,
  desc: TextureDescription,
): Texture {
  checkDescription(op, desc, KNOWN_TEXTURE_DESC);
  const label = checkLabel(op, desc.label);
  const dim = (
    name: "width" | "height" | "depth" | "mipLevels" | "arrayLayers",
    fallback: number | undefined,
  ): number => {
    const v = desc[name] ?? fallback;
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65536)
      throw new RangeError(`${op}: desc.${name} must be an integer from 1 to 65536, got ${describeValue(v)}`);
    return v as number;
  };
  const width = dim("width", undefined);
  const height = dim("height", undefined);
  const depth = dim("depth", 1);
  const arrayLayers = dim("arrayLayers", 1);
  const mipLevels = dim("mipLevels", 1);
  const maxMips = Math.floor(Math.log2(Math.max(width, height, depth))) + 1;
  if (mipLevels > maxMips)
    throw new RangeError(
      `${op}: desc.mipLevels must be at most ${maxMips} for a ${width}x${height}x${depth} texture, got ${mipLevels}`,
    );
  if (depth > 1 && arrayLayers > 1)
    throw new RangeError(
      `${op}: a 3D texture (depth ${depth}) cannot have array layers, got arrayLayers ${arrayLayers}`,
    );
  const info = formatInfo(desc.format);
  if (info === undefined)
    throw new RangeError(
      `${op}: desc.format ${describeValue(desc.format)} is not a VkFormat vkmem knows (see engine/vulkan/formats.ts)`,
    );
  const baseUsage = desc.usage ?? IMAGE_USAGE_SAMPLED;
  if (!Number.isInteger(baseUsage) || baseUsage < 0 || baseUsage > 0x7fffffff)
    throw new RangeError(`${op}: desc.usage must be VkImageUsageFlags, got ${describeValue(desc.usage)}`);
  // The default view needs a usage a view can have (VUID-VkImageViewCreateInfo-image-04441): transfers alone are not.
  if ((baseUsage & IMAGE_USAGE_VIEWABLE) === 0) {
    throw new RangeError(
      `${op}: desc.usage must include a usage an image view can have (SAMPLED, STORAGE, an attachment, ...) for the texture's view, got ${describeValue(desc.usage)}`,
    );
  }
  const usage = baseUsage | IMAGE_USAGE_TRANSFER;
  const viewType = desc.viewType ?? (depth > 1 ? VIEW_TYPE_3D : arrayLayers > 1 ? VIEW_TYPE_2D_ARRAY : VIEW_TYPE_2D);
  if (!Number.isInteger(viewType) || viewType < 0 || viewType > 6)
    throw new RangeError(`${op}: desc.viewType must be a VkImageViewType, got ${describeValue(desc.viewType)}`);
  // The view covers the whole image, which is 2D (3D with depth > 1) without create flags: 2D takes one layer,
  // 2D_ARRAY any count, 3D a 3D image; 1D and cube views need an image createTexture does not make.
  const fits =
    depth > 1
      ? viewType === VIEW_TYPE_3D
      : viewType === VIEW_TYPE_2D_ARRAY || (viewType === VIEW_TYPE_2D && arrayLayers === 1);
  if (!fits) {
    throw new RangeError(
      `${op}: desc.viewType must suit a ${depth > 1 ? "3D" : "2D"} image of ${arrayLayers} layer(s) (${depth > 1 ? "3D: 2" : arrayLayers === 1 ? "2D: 1, or 2D_ARRAY: 5" : "2D_ARRAY: 5"}), got ${describeValue(desc.viewType)}`,
    );
  }
  const memory = checkMemory(op, desc.memory);
  const { image, allocation } = allocator.createImage(
    {
      imageType: depth > 1 ? IMAGE_TYPE_3D : IMAGE_TYPE_2D,
      format: desc.format,
      extent: { width, height, depth },
      mipLevels,
      arrayLayers,
      usage,
    },
    { ...memory, name: label },
  );
  const view = new nvk.VkImageView();
  const viewInfo = new nvk.VkImageViewCreateInfo({
    image,
    viewType,
    format: desc.format,
    subresourceRange: new nvk.VkImageSubresourceRange({
      aspectMask: info.aspect,
      baseMipLevel: 0,
      levelCount: mipLevels,
      baseArrayLayer: 0,
      layerCount: arrayLayers,
    }),
  });
  const device = context.device;
  const made = nvk.vkCreateImageView(device, viewInfo, null, view);
  if (made < 0) {
    allocator.destroyImage(image, allocation);
    check(made, "vkCreateImageView", label);
  }
  context.setObjectName(OBJECT_TYPE_IMAGE, image, label);
  context.setObjectName(OBJECT_TYPE_IMAGE_VIEW, view, `${label} view`);
  const release = new ResourceRelease(`Texture '${label}'`, allocation.size, () => {
    nvk.vkDestroyImageView(device, view, null);
    allocator.destroyImage(image, allocation);
  });
  return new Texture(
    owner,
    { label, width, height, depth, format: desc.format, mipLevels, arrayLayers, usage },
    info,
    image,
    view,
    allocation,
    release,
  );
}

function checkDescription(op: string, desc: unknown, known: ReadonlySet<string>): void {
  if (!isOptionsObject(desc)) throw new TypeError(`${op}: desc must be an object, got ${describeValue(desc)}`);
  for (const key of Object.keys(desc)) {
    if (!known.has(key))
      throw new TypeError(
        `${op}: unknown member desc.${key} (value ${describeValue((desc as Record<string, unknown>)[key])})`,
      );
  }
}

function checkLabel(op: string, label: unknown): string {
  if (typeof label !== "string" || label.length === 0)
    throw new TypeError(`${op}: desc.label must be a non-empty string, got ${describeValue(label)}`);
  return label;
}

function checkMemory(op: string, memory: unknown): AllocationOptions {
  if (memory === undefined) return { usage: MemoryUsage.Auto };
  if (!isOptionsObject(memory))
    throw new TypeError(`${op}: desc.memory must be AllocationOptions, got ${describeValue(memory)}`);
  if ((memory as AllocationOptions).name !== undefined)
    throw new TypeError(
      `${op}: desc.memory.name is the label: leave it out (got ${describeValue((memory as AllocationOptions).name)})`,
    );
  return memory as AllocationOptions;
}
