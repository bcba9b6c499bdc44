/**
 * The Vulkan constants vkmem's API takes, typed and spelled as in the Vulkan headers, so that
 * `import { VK_BUFFER_USAGE_VERTEX_BUFFER_BIT } from "vkmem"` works without reaching into nvk.
 * The values are Vulkan's; nvk exports the same ones.
 * @module
 */

// VkBufferUsageFlagBits
export const VK_BUFFER_USAGE_TRANSFER_SRC_BIT = 0x1;
export const VK_BUFFER_USAGE_TRANSFER_DST_BIT = 0x2;
export const VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT = 0x4;
export const VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT = 0x8;
export const VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT = 0x10;
export const VK_BUFFER_USAGE_STORAGE_BUFFER_BIT = 0x20;
export const VK_BUFFER_USAGE_INDEX_BUFFER_BIT = 0x40;
export const VK_BUFFER_USAGE_VERTEX_BUFFER_BIT = 0x80;
export const VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT = 0x100;
export const VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT = 0x20000;

// VkImageUsageFlagBits
export const VK_IMAGE_USAGE_TRANSFER_SRC_BIT = 0x1;
export const VK_IMAGE_USAGE_TRANSFER_DST_BIT = 0x2;
export const VK_IMAGE_USAGE_SAMPLED_BIT = 0x4;
export const VK_IMAGE_USAGE_STORAGE_BIT = 0x8;
export const VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT = 0x10;
export const VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT = 0x20;
export const VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT = 0x40;
export const VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT = 0x80;

// VkImageType, VkImageTiling, VkImageLayout (the ones images start in), VkSharingMode
export const VK_IMAGE_TYPE_1D = 0;
export const VK_IMAGE_TYPE_2D = 1;
export const VK_IMAGE_TYPE_3D = 2;
export const VK_IMAGE_TILING_OPTIMAL = 0;
export const VK_IMAGE_TILING_LINEAR = 1;
export const VK_IMAGE_LAYOUT_UNDEFINED = 0;
export const VK_IMAGE_LAYOUT_PREINITIALIZED = 8;
export const VK_SHARING_MODE_EXCLUSIVE = 0;
export const VK_SHARING_MODE_CONCURRENT = 1;

// VkSampleCountFlagBits
export const VK_SAMPLE_COUNT_1_BIT = 1;
export const VK_SAMPLE_COUNT_4_BIT = 4;

// VkFormat (common ones)
export const VK_FORMAT_UNDEFINED = 0;
export const VK_FORMAT_R8_UNORM = 9;
export const VK_FORMAT_R8G8_UNORM = 16;
export const VK_FORMAT_R8G8B8A8_UNORM = 37;
export const VK_FORMAT_R8G8B8A8_SRGB = 43;
export const VK_FORMAT_B8G8R8A8_UNORM = 44;
export const VK_FORMAT_B8G8R8A8_SRGB = 50;
export const VK_FORMAT_R16G16B16A16_SFLOAT = 97;
export const VK_FORMAT_R32_SFLOAT = 100;
export const VK_FORMAT_R32G32B32A32_SFLOAT = 109;
export const VK_FORMAT_D16_UNORM = 124;
export const VK_FORMAT_D32_SFLOAT = 126;
export const VK_FORMAT_D24_UNORM_S8_UINT = 129;
export const VK_FORMAT_D32_SFLOAT_S8_UINT = 130;
export const VK_FORMAT_BC1_RGBA_UNORM_BLOCK = 133;
export const VK_FORMAT_BC7_UNORM_BLOCK = 145;

// VkMemoryPropertyFlagBits
export const VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT = 0x1;
export const VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT = 0x2;
export const VK_MEMORY_PROPERTY_HOST_COHERENT_BIT = 0x4;
export const VK_MEMORY_PROPERTY_HOST_CACHED_BIT = 0x8;
export const VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT = 0x10;

/** VK_MAKE_API_VERSION(0, major, minor, patch). */
export function makeApiVersion(major: number, minor: number, patch = 0): number {
  return ((major << 22) | (minor << 12) | patch) >>> 0;
}
