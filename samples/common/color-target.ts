/**
 * What a sample renders into: a swapchain's images (windowed) or an offscreen image (headless). A renderer builds
 * its render pass and framebuffers from this description and does not care which of the two it has.
 * @module
 */
import { nvk, type Context, type NvkHandle } from "../../engine/index.js";
import { createNamed } from "./named-object.js";

/** A set of colour images of one format and size that frames render into, one of them per frame. */
export interface ColorTarget {
  /** For object names and messages. */
  readonly label: string;
  /** VkFormat of the images. */
  readonly format: number;
  readonly width: number;
  readonly height: number;
  /** One image view per image; a frame renders into `views[imageIndex]`. */
  readonly views: readonly NvkHandle[];
  /** The layout the render pass leaves the image in: PRESENT_SRC_KHR, or TRANSFER_SRC_OPTIMAL for a readback. */
  readonly finalLayout: number;
  /**
   * What uses the image after the render pass, as the destination of the render pass's outgoing dependency:
   * BOTTOM_OF_PIPE / 0 for presentation (the present semaphore orders it), TRANSFER / TRANSFER_READ for a copy.
   */
  readonly consumerStageMask: number;
  readonly consumerAccessMask: number;
  /** Grows by one each time the images are replaced (swapchain recreation), so renderers know to rebuild. */
  readonly generation: number;
}

/** VkImageSubresourceRange of mip 0, layer 0 of `aspectMask`. */
export function firstSubresource(aspectMask: number): any {
  return new nvk.VkImageSubresourceRange({
    aspectMask,
    baseMipLevel: 0,
    levelCount: 1,
    baseArrayLayer: 0,
    layerCount: 1,
  });
}

/**
 * Creates a 2D image view over mip 0, layer 0 of `image`, named `name`.
 *
 * The caller owns the view (vkDestroyImageView).
 * @throws VkError when vkCreateImageView fails.
 */
export function createImageView(
  context: Context,
  image: NvkHandle,
  format: number,
  aspectMask: number,
  name: string,
): NvkHandle {
  const info = new nvk.VkImageViewCreateInfo({
    image,
    viewType: nvk.VK_IMAGE_VIEW_TYPE_2D,
    format,
    subresourceRange: firstSubresource(aspectMask),
  });
  return createNamed(context, nvk.VkImageView, nvk.VK_OBJECT_TYPE_IMAGE_VIEW, name, "vkCreateImageView", (out) =>
    nvk.vkCreateImageView(context.device, info, null, out),
  );
}
