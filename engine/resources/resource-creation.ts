/**
 * How a {@link FrameManager} makes its resources: the buffer and texture descriptions, their checks, and the Vulkan
 * and VMA calls that create a {@link Buffer} or a {@link Texture}, name it and prepare how it is freed.
 *
 * A description is checked whole before anything is created, so a bad one throws (TypeError or RangeError naming
 * the member and showing the value) with nothing allocated. The resource is made in one VMA call (vmaCreateBuffer /
 * vmaCreateImage) named after its label, with TRANSFER_SRC and TRANSFER_DST added to its usage so that the manager
 * can upload to it and read it back; a texture also gets its default view, and when the view fails the image is
 * destroyed before the error is thrown. The Vulkan objects are named after the label for the validation layer and
 * debuggers when the manager names objects (FrameManagerOptions.debugNames: by default when the context has a
 * debug-utils messenger), since naming is a Vulkan call per object. The {@link ResourceRelease} that frees them is
 * made here, once, so that destroying the resource later allocates nothing.
 *
 * Cost: a game may make thousands of resources a frame, so one {@link ResourceMaker} per manager keeps what every
 * creation can share: the message prefixes, the description objects handed to the allocator and the view's create
 * info (nvk structs, refilled per call). Per call it makes only what it returns: the resource, its release record,
 * its allocation and handle objects.
 * @module
 */
import { describeValue, vkErrorFor } from "../errors.js";
import { isOptionsObject } from "../checks.js";
import type { Allocator } from "../memory/allocator.js";
import type { AllocationOptions } from "../memory/usage.js";
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
import { createImageView } from "./image-views.js";
import { ResourceRelease, ResourceWatch, type ResourceOwner } from "./resource.js";
import type { NvkHandle } from "../vulkan/handles.js";
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

/**
 * The creations of one manager: made by its ManagedResources; holds the objects every creation reuses.
 * @internal
 */
export class ResourceMaker {
  readonly #owner: ResourceOwner;
  readonly #context: Context;
  readonly #allocator: Allocator;
  readonly #debugNames: boolean;
  /** What every buffer's usage gets: TRANSFER_SRC and TRANSFER_DST, and the scatter's SHADER_DEVICE_ADDRESS. */
  readonly #bufferUsage: number;
  /** "FrameManager 'label'.createBuffer", ...: the message prefixes. */
  readonly #bufferOp: string;
  readonly #textureOp: string;
  /** The descriptions handed to the allocator, refilled per call (the allocator reads them within the call). */
  readonly #bufferInfo = { size: 1, usage: 1 };
  readonly #extent = { width: 1, height: 1, depth: 1 };
  readonly #imageInfo = {
    imageType: IMAGE_TYPE_2D,
    format: 0,
    extent: this.#extent,
    mipLevels: 1,
    arrayLayers: 1,
    usage: 0,
  };

  /**
   * `name` is the manager's ("FrameManager 'label'"); `debugNames`: name the Vulkan objects after the labels;
   * `bufferUsage`: usage added to every buffer's (SHADER_DEVICE_ADDRESS for the scatter of uploads, or 0).
   */
  constructor(
    owner: ResourceOwner,
    name: string,
    context: Context,
    allocator: Allocator,
    debugNames: boolean,
    bufferUsage: number,
  ) {
    this.#bufferUsage = BUFFER_USAGE_TRANSFER | bufferUsage;
    this.#owner = owner;
    this.#context = context;
    this.#allocator = allocator;
    this.#debugNames = debugNames;
    this.#bufferOp = `${name}.createBuffer`;
    this.#textureOp = `${name}.createTexture`;
  }

  /**
   * Checks `desc` and creates the buffer it describes.
   * @throws TypeError / RangeError for a bad description (nothing is created then).
   * @throws VkError (OutOfDeviceMemoryError, ...) when the allocation fails.
   */
  buffer(desc: BufferDescription): Buffer {
    const op = this.#bufferOp;
    if (!isOptionsObject(desc)) throw new TypeError(`${op}: desc must be an object, got ${describeValue(desc)}`);
    for (const key in desc) if (!isBufferKey(key)) unknownMember(op, desc, key);
    const label = checkLabel(op, desc.label);
    const size = desc.size;
    if (!Number.isSafeInteger(size) || size <= 0)
      throw new RangeError(`${op}: desc.size must be a positive integer number of bytes, got ${describeValue(size)}`);
    if (!Number.isInteger(desc.usage) || desc.usage <= 0 || desc.usage > 0x7fffffff)
      throw new RangeError(`${op}: desc.usage must be non-zero VkBufferUsageFlags, got ${describeValue(desc.usage)}`);
    const memory = checkMemory(op, desc.memory);
    const usage = desc.usage | this.#bufferUsage;
    const info = this.#bufferInfo;
    info.size = size;
    info.usage = usage;
    const allocation = this.#allocator._vma.createNamedBuffer(info, memory, label);
    const buffer = allocation._resource as NvkHandle;
    if (this.#debugNames) this.#context.setObjectName(OBJECT_TYPE_BUFFER, buffer, label);
    const release = new ResourceRelease(
      "Buffer",
      label,
      this.#watch("Buffer", label),
      allocation.size,
      allocation,
      null,
    );
    return new Buffer(this.#owner, label, size, usage, buffer, allocation, release);
  }

  /**
   * Checks `desc` and creates the texture it describes, with its default view.
   * @throws TypeError / RangeError for a bad description, including a format vkmem does not know.
   * @throws VkError when the allocation or the view fails (nothing is left allocated then).
   */
  texture(desc: TextureDescription): Texture {
    const op = this.#textureOp;
    if (!isOptionsObject(desc)) throw new TypeError(`${op}: desc must be an object, got ${describeValue(desc)}`);
    for (const key in desc) if (!isTextureKey(key)) unknownMember(op, desc, key);
    const label = checkLabel(op, desc.label);
    const width = dimension(op, "width", desc.width, undefined);
    const height = dimension(op, "height", desc.height, undefined);
    const depth = dimension(op, "depth", desc.depth, 1);
    const arrayLayers = dimension(op, "arrayLayers", desc.arrayLayers, 1);
    const mipLevels = dimension(op, "mipLevels", desc.mipLevels, 1);
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
    const imageInfo = this.#imageInfo;
    imageInfo.imageType = depth > 1 ? IMAGE_TYPE_3D : IMAGE_TYPE_2D;
    imageInfo.format = desc.format;
    this.#extent.width = width;
    this.#extent.height = height;
    this.#extent.depth = depth;
    imageInfo.mipLevels = mipLevels;
    imageInfo.arrayLayers = arrayLayers;
    imageInfo.usage = usage;
    const allocation = this.#allocator._vma.createNamedImage(imageInfo, memory, label);
    const image = allocation._resource as NvkHandle;
    let view: NvkHandle | number;
    try {
      view = createImageView(
        this.#allocator,
        allocation,
        image,
        viewType,
        desc.format,
        info.aspect,
        0,
        mipLevels,
        arrayLayers,
      );
    } catch (error) {
      this.#allocator.destroyImage(image, allocation);
      throw error;
    }
    if (typeof view === "number") {
      this.#allocator.destroyImage(image, allocation);
      throw vkErrorFor(view, "vkCreateImageView", label);
    }
    const context = this.#context;
    if (this.#debugNames) {
      context.setObjectName(OBJECT_TYPE_IMAGE, image, label);
      context.setObjectName(OBJECT_TYPE_IMAGE_VIEW, view, `${label} view`);
    }
    const release = new ResourceRelease(
      "Texture",
      label,
      this.#watch("Texture", label),
      allocation.size,
      allocation,
      view,
    );
    return new Texture(
      this.#owner,
      { label, width, height, depth, format: desc.format, mipLevels, arrayLayers, usage },
      info,
      image,
      view,
      allocation,
      release,
    );
  }

  /** The creation stack, when the allocator captures them. */
  /** The GC safety net's record of a new resource, with its creation stack: only when the allocator captures them. */
  #watch(kind: string, label: string): ResourceWatch | null {
    return this.#allocator._capturesStacks ? new ResourceWatch(kind, label, new Error("created here").stack) : null;
  }
}

function isBufferKey(key: string): boolean {
  return key === "label" || key === "size" || key === "usage" || key === "memory";
}

function isTextureKey(key: string): boolean {
  switch (key) {
    case "label":
    case "width":
    case "height":
    case "depth":
    case "format":
    case "mipLevels":
    case "arrayLayers":
    case "usage":
    case "memory":
    case "viewType":
      return true;
    default:
      return false;
  }
}

function unknownMember(op: string, desc: object, key: string): never {
  throw new TypeError(
    `${op}: unknown member desc.${key} (value ${describeValue((desc as Record<string, unknown>)[key])})`,
  );
}

function dimension(op: string, name: string, value: unknown, fallback: number | undefined): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65536)
    throw new RangeError(`${op}: desc.${name} must be an integer from 1 to 65536, got ${describeValue(v)}`);
  return v as number;
}

function checkLabel(op: string, label: unknown): string {
  if (typeof label !== "string" || label.length === 0)
    throw new TypeError(`${op}: desc.label must be a non-empty string, got ${describeValue(label)}`);
  if (label.includes("\0"))
    throw new TypeError(`${op}: desc.label must be a string without NUL characters, got ${describeValue(label)}`);
  return label;
}

/** The allocation options of a description; undefined means `{ usage: MemoryUsage.Auto }` (the allocator's default). */
function checkMemory(op: string, memory: unknown): AllocationOptions | undefined {
  if (memory === undefined) return undefined;
  if (!isOptionsObject(memory))
    throw new TypeError(`${op}: desc.memory must be AllocationOptions, got ${describeValue(memory)}`);
  if ((memory as AllocationOptions).name !== undefined)
    throw new TypeError(
      `${op}: desc.memory.name is the label: leave it out (got ${describeValue((memory as AllocationOptions).name)})`,
    );
  return memory as AllocationOptions;
}
