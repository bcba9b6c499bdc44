/**
 * The headless colour target: one R8G8B8A8 image made through the allocator, and a mapped readback buffer that
 * a frame copies the image into, so that the pixels can be written as a PNG.
 *
 * One image serves every frame in flight: the render pass's incoming dependency covers the previous frame's
 * colour writes and readback copy (COLOR_ATTACHMENT_OUTPUT | TRANSFER in its source scope), so frames that reuse
 * it are ordered on the GPU. The readback copy is recorded only into the frame whose pixels are wanted, and
 * `readPixels()` reads them once that frame's fence has signaled (the caller waits, e.g. FrameManager.waitIdle()).
 * @module
 */
import {
  DestroyedResourceError,
  MemoryUsage,
  nvk,
  type Allocation,
  type Allocator,
  type Context,
  type NvkHandle,
} from "../../engine/index.js";
import { createImageView, type ColorTarget } from "./color-target.js";
import type { RgbaImage } from "./png.js";

/** Options of {@link OffscreenTarget}. */
export interface OffscreenTargetOptions {
  width: number;
  height: number;
  /** Prefix of object and allocation names. Default "offscreen". */
  label?: string;
}

/**
 * A headless {@link ColorTarget} with a readback path. Made by its sample; destroyed with `destroy()` after the
 * GPU is done with it (FrameManager.waitIdle()), before the allocator and the context.
 */
export class OffscreenTarget implements ColorTarget {
  readonly label: string;
  readonly format = nvk.VK_FORMAT_R8G8B8A8_UNORM as number;
  readonly width: number;
  readonly height: number;
  readonly finalLayout = nvk.VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL as number;
  readonly consumerStageMask = nvk.VK_PIPELINE_STAGE_TRANSFER_BIT as number;
  readonly consumerAccessMask = nvk.VK_ACCESS_TRANSFER_READ_BIT as number;
  readonly generation = 0;
  readonly #context: Context;
  readonly #allocator: Allocator;
  #image: NvkHandle | null;
  readonly #imageAllocation: Allocation;
  readonly #view: NvkHandle;
  #readback: NvkHandle | null;
  readonly #readbackAllocation: Allocation;
  readonly #region: any;
  readonly #barrier: any;

  /**
   * Creates the image, its view and the readback buffer, all named.
   * @throws RangeError for a size that is not a positive integer; VkError when Vulkan or VMA fails.
   */
  constructor(context: Context, allocator: Allocator, options: OffscreenTargetOptions) {
    const { width, height } = options;
    for (const [name, v] of [
      ["width", width],
      ["height", height],
    ] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 16384)
        throw new RangeError(`OffscreenTarget: ${name} must be an integer from 1 to 16384, got ${v}`);
    }
    this.label = options.label ?? "offscreen";
    this.width = width;
    this.height = height;
    this.#context = context;
    this.#allocator = allocator;
    const colour = allocator.createImage(
      {
        format: this.format,
        extent: { width, height },
        usage: nvk.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | nvk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
      },
      { usage: MemoryUsage.Auto, name: `${this.label} colour` },
    );
    this.#image = colour.image;
    this.#imageAllocation = colour.allocation;
    context.setObjectName(nvk.VK_OBJECT_TYPE_IMAGE, colour.image, `${this.label} colour`);
    this.#view = createImageView(
      context,
      colour.image,
      this.format,
      nvk.VK_IMAGE_ASPECT_COLOR_BIT,
      `${this.label} colour view`,
    );
    const readback = allocator.createBuffer(
      { size: width * height * 4, usage: nvk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
      { usage: MemoryUsage.Auto, hostAccess: "random", mapped: true, name: `${this.label} readback` },
    );
    this.#readback = readback.buffer;
    this.#readbackAllocation = readback.allocation;
    context.setObjectName(nvk.VK_OBJECT_TYPE_BUFFER, readback.buffer, `${this.label} readback`);
    this.#region = new nvk.VkBufferImageCopy({
      bufferOffset: 0,
      bufferRowLength: 0,
      bufferImageHeight: 0,
      imageSubresource: new nvk.VkImageSubresourceLayers({
        aspectMask: nvk.VK_IMAGE_ASPECT_COLOR_BIT,
        mipLevel: 0,
        baseArrayLayer: 0,
        layerCount: 1,
      }),
      imageOffset: new nvk.VkOffset3D({ x: 0, y: 0, z: 0 }),
      imageExtent: new nvk.VkExtent3D({ width, height, depth: 1 }),
    });
    this.#barrier = new nvk.VkBufferMemoryBarrier({
      srcAccessMask: nvk.VK_ACCESS_TRANSFER_WRITE_BIT,
      dstAccessMask: nvk.VK_ACCESS_HOST_READ_BIT,
      srcQueueFamilyIndex: nvk.VK_QUEUE_FAMILY_IGNORED,
      dstQueueFamilyIndex: nvk.VK_QUEUE_FAMILY_IGNORED,
      buffer: readback.buffer,
      offset: 0,
      size: width * height * 4,
    });
  }

  /** The one view: every frame renders into `views[0]`. */
  get views(): readonly NvkHandle[] {
    return [this.#view];
  }

  /**
   * Records the copy of the image (in TRANSFER_SRC_OPTIMAL, as the render pass left it) into the readback buffer,
   * and the barrier that makes it visible to the host. Record it after the render pass of the frame whose pixels
   * you want, then wait for that frame before {@link readPixels}.
   */
  recordReadback(commandBuffer: NvkHandle): void {
    const image = this.#live("recordReadback");
    nvk.vkCmdCopyImageToBuffer(commandBuffer, image, this.finalLayout, this.#readback, 1, [this.#region]);
    nvk.vkCmdPipelineBarrier(
      commandBuffer,
      nvk.VK_PIPELINE_STAGE_TRANSFER_BIT,
      nvk.VK_PIPELINE_STAGE_HOST_BIT,
      0,
      0,
      null,
      1,
      [this.#barrier],
      0,
      null,
    );
  }

  /**
   * The pixels the last completed readback copied, RGBA rows top to bottom (a copy).
   *
   * Precondition: the frame that recorded the readback has completed (its fence signaled).
   */
  readPixels(): RgbaImage {
    this.#live("readPixels");
    this.#readbackAllocation.invalidate();
    const mapped = this.#readbackAllocation.mappedData;
    if (mapped === null) throw new Error(`OffscreenTarget '${this.label}': the readback buffer is not mapped`);
    const data = new Uint8Array(mapped, 0, this.width * this.height * 4).slice();
    return { width: this.width, height: this.height, data };
  }

  /** Destroys the view, the image and the readback buffer. A second call does nothing. */
  destroy(): void {
    if (this.#image === null) return;
    nvk.vkDestroyImageView(this.#context.device, this.#view, null);
    this.#allocator.destroyImage(this.#image, this.#imageAllocation);
    this.#allocator.destroyBuffer(this.#readback, this.#readbackAllocation);
    this.#image = null;
    this.#readback = null;
  }

  #live(operation: string): NvkHandle {
    if (this.#image === null) throw new DestroyedResourceError("OffscreenTarget", this.label, operation);
    return this.#image;
  }
}
