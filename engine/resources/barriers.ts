/**
 * The pipeline barriers the transfers record, as nvk structs: one image subresource, or one whole buffer.
 *
 * A {@link Texture} is tracked per subresource (mip level x array layer, index `mip * arrayLayers + layer`), so every
 * image barrier covers exactly one subresource: the layout it names as old is the one tracked for that subresource
 * (`Texture._layouts`), and the caller writes the new layout back into the tracking when it records the barrier.
 * A barrier with two different queue families is half of an ownership transfer: the release recorded on the source
 * queue and the acquire recorded on the destination queue must name the same range and the same layouts
 * (engine/resources/transfers.ts records both). Buffers move whole: their barriers cover offset 0 to VK_WHOLE_SIZE.
 * @internal
 * @module
 */
import { nvk } from "../vulkan/nvk.js";
import { WHOLE_SIZE } from "../vulkan/vk.js";
import type { Buffer } from "./buffer.js";
import type { Texture } from "./texture.js";

/**
 * A VkImageMemoryBarrier for subresource `sub` of `texture` from `oldLayout` to `newLayout`. Pass
 * QUEUE_FAMILY_IGNORED for both families unless the barrier is half of an ownership transfer.
 */
export function imageBarrier(
  texture: Texture,
  sub: number,
  oldLayout: number,
  newLayout: number,
  srcAccess: number,
  dstAccess: number,
  srcFamily: number,
  dstFamily: number,
): any {
  const mip = Math.floor(sub / texture.arrayLayers);
  const layer = sub % texture.arrayLayers;
  return new nvk.VkImageMemoryBarrier({
    srcAccessMask: srcAccess,
    dstAccessMask: dstAccess,
    oldLayout,
    newLayout,
    srcQueueFamilyIndex: srcFamily,
    dstQueueFamilyIndex: dstFamily,
    image: texture._parts.image,
    subresourceRange: new nvk.VkImageSubresourceRange({
      aspectMask: texture.aspect,
      baseMipLevel: mip,
      levelCount: 1,
      baseArrayLayer: layer,
      layerCount: 1,
    }),
  });
}

/** A VkBufferMemoryBarrier over the whole of `buffer` (used for ownership transfers between queue families). */
export function bufferBarrier(
  buffer: Buffer,
  srcAccess: number,
  dstAccess: number,
  srcFamily: number,
  dstFamily: number,
): any {
  return new nvk.VkBufferMemoryBarrier({
    srcAccessMask: srcAccess,
    dstAccessMask: dstAccess,
    srcQueueFamilyIndex: srcFamily,
    dstQueueFamilyIndex: dstFamily,
    buffer: buffer._parts.handle,
    offset: 0,
    size: WHOLE_SIZE,
  });
}
