/**
 * The Vulkan numbers vkmem's own code passes to nvk: one place, spelled as the Vulkan headers spell them, so that no
 * module redeclares a flag it shares with another. Internal: the constants the public API takes are in constants.ts.
 * Values are Vulkan's (nvk's 1.1.126 headers lack the newer sTypes, which is why they are written out here).
 * @internal
 * @module
 */

// VkResult
export const VK_SUCCESS = 0;
export const VK_NOT_READY = 1;
export const VK_ERROR_INITIALIZATION_FAILED = -3;
export const VK_ERROR_LAYER_NOT_PRESENT = -6;
export const VK_ERROR_EXTENSION_NOT_PRESENT = -7;
export const VK_ERROR_INCOMPATIBLE_DRIVER = -9;

/** vkWaitForFences / vkAcquireNextImageKHR: wait as long as it takes (UINT64_MAX). */
export const NO_TIMEOUT = (1n << 64n) - 1n;
/** VK_WHOLE_SIZE. */
export const WHOLE_SIZE = 0xffffffffffffffffn;
/** VK_QUEUE_FAMILY_IGNORED. */
export const QUEUE_FAMILY_IGNORED = 0xffffffff;

// VkQueueFlagBits
export const QUEUE_GRAPHICS = 0x1;
export const QUEUE_COMPUTE = 0x2;
export const QUEUE_TRANSFER = 0x4;

// VkCommandPoolCreateFlagBits, VkCommandBufferUsageFlagBits, VkFenceCreateFlagBits
export const COMMAND_POOL_CREATE_TRANSIENT = 0x1;
export const COMMAND_POOL_RESET_COMMAND_BUFFER = 0x2;
export const COMMAND_BUFFER_ONE_TIME_SUBMIT = 0x1;
export const FENCE_CREATE_SIGNALED = 0x1;

// VkPipelineStageFlagBits
export const STAGE_TOP = 0x1;
export const STAGE_TRANSFER = 0x1000;
export const STAGE_BOTTOM = 0x2000;
export const STAGE_HOST = 0x4000;
export const STAGE_ALL = 0x10000;
export const STAGE_COMPUTE = 0x800;

// VkAccessFlagBits
export const ACCESS_SHADER_READ = 0x20;
export const ACCESS_SHADER_WRITE = 0x40;
export const ACCESS_TRANSFER_READ = 0x800;
export const ACCESS_TRANSFER_WRITE = 0x1000;
export const ACCESS_HOST_READ = 0x2000;
export const ACCESS_MEMORY_READ = 0x8000;
export const ACCESS_MEMORY_WRITE = 0x10000;

// VkImageLayout
export const LAYOUT_UNDEFINED = 0;
export const LAYOUT_GENERAL = 1;
export const LAYOUT_SHADER_READ = 5;
export const LAYOUT_TRANSFER_SRC = 6;
export const LAYOUT_TRANSFER_DST = 7;
export const LAYOUT_PREINITIALIZED = 8;

// VkBufferUsageFlagBits, VkImageUsageFlagBits (the combinations vkmem's managers add)
export const BUFFER_USAGE_TRANSFER_DST = 0x2;
export const BUFFER_USAGE_TRANSFER = 0x1 | 0x2;
/** SHADER_DEVICE_ADDRESS: for the scatter of uploads (engine/resources/scatter-copies.ts). */
export const BUFFER_USAGE_DEVICE_ADDRESS = 0x20000;
/** What an upload or transient ring block may serve: TRANSFER_SRC, UNIFORM, STORAGE, INDEX, VERTEX, INDIRECT. */
export const BUFFER_USAGE_RING = 0x1 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100;
export const IMAGE_USAGE_TRANSFER = 0x1 | 0x2;
export const IMAGE_USAGE_SAMPLED = 0x4;
/** Image usages an image view may be created for: sampled, storage, the attachments, and their extension kin. */
export const IMAGE_USAGE_VIEWABLE =
  0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x1000 | 0x4000 | 0x8000 | 0x100000 | 0x200000;

// VkFormat, VkImageType, VkImageViewType
export const FORMAT_R8G8B8A8_UNORM = 37;
export const IMAGE_TYPE_2D = 1;
export const IMAGE_TYPE_3D = 2;
export const VIEW_TYPE_2D = 1;
export const VIEW_TYPE_3D = 2;
export const VIEW_TYPE_2D_ARRAY = 5;

// VkMemoryPropertyFlagBits
export const MEMORY_PROPERTY_HOST_COHERENT = 0x4;

// VkObjectType (vkSetDebugUtilsObjectNameEXT)
export const OBJECT_TYPE_SEMAPHORE = 5;
export const OBJECT_TYPE_COMMAND_BUFFER = 6;
export const OBJECT_TYPE_FENCE = 7;
export const OBJECT_TYPE_BUFFER = 9;
export const OBJECT_TYPE_IMAGE = 10;
export const OBJECT_TYPE_IMAGE_VIEW = 14;
export const OBJECT_TYPE_COMMAND_POOL = 25;

// VkDebugUtilsMessageSeverityFlagBitsEXT, VkDebugUtilsMessageTypeFlagBitsEXT
export const SEVERITY_VERBOSE = 0x1;
export const SEVERITY_INFO = 0x10;
export const SEVERITY_WARNING = 0x100;
export const SEVERITY_ERROR = 0x1000;
export const MESSAGE_TYPE_GENERAL = 0x1;
export const MESSAGE_TYPE_VALIDATION = 0x2;
export const MESSAGE_TYPE_PERFORMANCE = 0x4;

// sTypes newer than nvk's 1.1.126 headers (or whose nvk struct has the wrong sType)
export const STYPE_MEMORY_PRIORITY_FEATURES = 1000238000;
/** Core 1.2 and KHR share it. */
export const STYPE_BUFFER_DEVICE_ADDRESS_FEATURES = 1000257000;
/** Core 1.3 and KHR share it. */
export const STYPE_MAINTENANCE_4_FEATURES = 1000413000;
export const VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION = 4;

// VmaAllocatorCreateFlagBits
export const ALLOCATOR_EXT_MEMORY_BUDGET = 0x8;
