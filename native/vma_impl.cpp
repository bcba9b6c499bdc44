// The one translation unit that compiles VMA's implementation, with the configuration of vma_config.h.
#define VMA_IMPLEMENTATION
#include "vma_config.h"

namespace vkmem {

// VMA's public API maps an allocation only when it was created for host access, and only its own bytes;
// corruption checks and the debug build's poke/peek need the whole block, mapped the way VMA maps it for
// its own margin checks (reference-counted, so an existing or persistent mapping is shared, never doubled:
// a second vkMapMemory of the same memory would be invalid usage). Only here is VmaAllocation_T complete.
VkResult MapAllocationBlock(VmaAllocator allocator, VmaAllocation allocation, char** base, VkDeviceSize* blockSize) {
  if (allocation->GetType() != VmaAllocation_T::ALLOCATION_TYPE_BLOCK) return VK_ERROR_FEATURE_NOT_PRESENT;
  VmaDeviceMemoryBlock* block = allocation->GetBlock();
  void* p = nullptr;
  VkResult r = block->Map(allocator, 1, &p);
  if (r != VK_SUCCESS) return r;
  *base = static_cast<char*>(p);
  *blockSize = block->m_pMetadata->GetSize();
  return VK_SUCCESS;
}

void UnmapAllocationBlock(VmaAllocator allocator, VmaAllocation allocation) {
  allocation->GetBlock()->Unmap(allocator, 1);
}

}  // namespace vkmem
