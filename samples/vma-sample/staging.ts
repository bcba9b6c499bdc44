/**
 * TEMPORARY: the sample's upload path until FrameManager's resources API (createBuffer / createTexture / upload /
 * uploadImage, issue #4) lands on main; then this file goes and the renderer calls the engine instead.
 *
 * It does what VMA's sample does: a mapped staging buffer from the allocator (Auto + sequential write + MAPPED),
 * a one-shot command buffer with the copy (and for images the UNDEFINED -> TRANSFER_DST -> SHADER_READ_ONLY
 * barriers), a wait, and the staging buffer destroyed.
 * @module
 */
import { MemoryUsage, nvk, type Allocation, type Allocator, type Context, type NvkHandle } from "../../engine/index.js";
import { firstSubresource } from "../common/color-target.js";

function staged(context: Context, allocator: Allocator, label: string, bytes: Uint8Array, record: (cmd: NvkHandle, staging: NvkHandle) => void): void {
  const staging = allocator.createBuffer(
    { size: bytes.byteLength, usage: nvk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT },
    { usage: MemoryUsage.Auto, hostAccess: "sequentialWrite", mapped: true, name: `${label} staging` },
  );
  try {
    context.setObjectName(nvk.VK_OBJECT_TYPE_BUFFER, staging.buffer, `${label} staging`);
    new Uint8Array(staging.allocation.mappedData!, 0, bytes.byteLength).set(bytes);
    staging.allocation.flush();
    context.submitAndWait((cmd) => record(cmd, staging.buffer));
  } finally {
    allocator.destroyBuffer(staging.buffer, staging.allocation);
  }
}

/** A device buffer of `usage` | TRANSFER_DST holding `data`. The caller destroys it with allocator.destroyBuffer. */
export function createFilledBuffer(context: Context, allocator: Allocator, label: string, usage: number, data: ArrayBufferView): { buffer: NvkHandle; allocation: Allocation } {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const created = allocator.createBuffer(
    { size: bytes.byteLength, usage: usage | nvk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
    { usage: MemoryUsage.Auto, name: label },
  );
  context.setObjectName(nvk.VK_OBJECT_TYPE_BUFFER, created.buffer, label);
  staged(context, allocator, label, bytes, (cmd, staging) => {
    nvk.vkCmdCopyBuffer(cmd, staging, created.buffer, 1, [new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 0, size: bytes.byteLength })]);
  });
  return created;
}

/**
 * A sampled RGBA8 image holding `pixels`, left in SHADER_READ_ONLY_OPTIMAL. The caller destroys it with
 * allocator.destroyImage.
 */
export function createFilledImage(context: Context, allocator: Allocator, label: string, width: number, height: number, pixels: Uint8Array): { image: NvkHandle; allocation: Allocation } {
  const created = allocator.createImage(
    {
      format: nvk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: { width, height },
      usage: nvk.VK_IMAGE_USAGE_SAMPLED_BIT | nvk.VK_IMAGE_USAGE_TRANSFER_DST_BIT,
    },
    { usage: MemoryUsage.Auto, name: label },
  );
  context.setObjectName(nvk.VK_OBJECT_TYPE_IMAGE, created.image, label);
  const barrier = (oldLayout: number, newLayout: number, srcAccessMask: number, dstAccessMask: number) =>
    new nvk.VkImageMemoryBarrier({
      srcAccessMask,
      dstAccessMask,
      oldLayout,
      newLayout,
      srcQueueFamilyIndex: nvk.VK_QUEUE_FAMILY_IGNORED,
      dstQueueFamilyIndex: nvk.VK_QUEUE_FAMILY_IGNORED,
      image: created.image,
      subresourceRange: firstSubresource(nvk.VK_IMAGE_ASPECT_COLOR_BIT),
    });
  staged(context, allocator, label, pixels, (cmd, staging) => {
    nvk.vkCmdPipelineBarrier(cmd, nvk.VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, nvk.VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, null, 0, null, 1, [
      barrier(nvk.VK_IMAGE_LAYOUT_UNDEFINED, nvk.VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0, nvk.VK_ACCESS_TRANSFER_WRITE_BIT),
    ]);
    const region = new nvk.VkBufferImageCopy({
      bufferOffset: 0,
      imageSubresource: new nvk.VkImageSubresourceLayers({ aspectMask: nvk.VK_IMAGE_ASPECT_COLOR_BIT, mipLevel: 0, baseArrayLayer: 0, layerCount: 1 }),
      imageOffset: new nvk.VkOffset3D({ x: 0, y: 0, z: 0 }),
      imageExtent: new nvk.VkExtent3D({ width, height, depth: 1 }),
    });
    nvk.vkCmdCopyBufferToImage(cmd, staging, created.image, nvk.VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, [region]);
    nvk.vkCmdPipelineBarrier(cmd, nvk.VK_PIPELINE_STAGE_TRANSFER_BIT, nvk.VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT, 0, 0, null, 0, null, 1, [
      barrier(nvk.VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, nvk.VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, nvk.VK_ACCESS_TRANSFER_WRITE_BIT, nvk.VK_ACCESS_SHADER_READ_BIT),
    ]);
  });
  return created;
}
