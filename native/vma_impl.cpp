// The one translation unit that compiles VMA's implementation, with the configuration of vma_config.h.
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace vkmem {

// VMA prints pointers (the "CustomData" of stats strings, the UserData of leak reports) with "%p", which
// glibc writes as 0x2a and Windows C runtimes as 000000000000002A. Every snprintf of VMA's implementation
// comes here instead, where "%p" becomes "0x%llx", so that dumps read the same on every platform (null is
// 0x0). Pointers and unsigned long long travel alike through varargs on the 64-bit ABIs vkmem builds for.
int FormatForVma(char* out, size_t size, const char* format, ...) {
  char rewritten[1024];  // VMA's formats are short (its leak reports, the longest, are about 100 characters)
  const char* use = format;
  if (std::strstr(format, "%p") != nullptr && std::strlen(format) * 3 < sizeof rewritten) {
    char* w = rewritten;
    for (const char* r = format; *r != '\0'; ++r) {
      if (r[0] == '%' && r[1] == '%') {
        *w++ = *r++;
        *w++ = *r;
      } else if (r[0] == '%' && r[1] == 'p') {
        std::memcpy(w, "0x%llx", 6);
        w += 6;
        ++r;
      } else {
        *w++ = *r;
      }
    }
    *w = '\0';
    use = rewritten;
  }
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(out, size, use, args);
  va_end(args);
  return n;
}

}  // namespace vkmem

#define snprintf ::vkmem::FormatForVma
#define VMA_IMPLEMENTATION
#include "vma_config.h"
#undef snprintf

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

void PrefetchFreeOf(VmaAllocation allocation) {
#if defined(__GNUC__) || defined(__clang__)
  // A linear or buddy-free metadata's handle is an offset, not an address: prefetching it is harmless (no fault).
  if (allocation->GetType() == VmaAllocation_T::ALLOCATION_TYPE_BLOCK)
    __builtin_prefetch(reinterpret_cast<const void*>(allocation->GetAllocHandle()));
  // Its name's copy, which the free hands back to the C heap (whose free reads the chunk's header before it).
  if (const char* name = allocation->GetName(); name != nullptr) __builtin_prefetch(name - 8);
#else
  (void)allocation;
#endif
}

void UnmapAllocationBlock(VmaAllocator allocator, VmaAllocation allocation) {
  allocation->GetBlock()->Unmap(allocator, 1);
}

}  // namespace vkmem
