// Every VMA_* configuration macro of vkmem, in one place. Included before vk_mem_alloc.h by every
// native file, so that the implementation (vma_impl.cpp) and the users agree on the configuration.
#pragma once

#include <vulkan/vulkan.h>

// Vulkan functions are fetched at run time from the loader the process already has (nvk loads the
// same libvulkan.so.1), through vkGetInstanceProcAddr / vkGetDeviceProcAddr that we hand to VMA.
#define VMA_STATIC_VULKAN_FUNCTIONS 0
#define VMA_DYNAMIC_VULKAN_FUNCTIONS 1

// VMA is compiled for Vulkan 1.3; the allocator is created with the instance's apiVersion clamped to it.
#ifndef VMA_VULKAN_VERSION
#define VMA_VULKAN_VERSION 1003000
#endif

// VMA's internal checks must never abort the JS process. A failed check is recorded (the first one
// since the last read) and the native entry point that triggered it turns it into a JS error.
// Leak checks are reported the same way; the allocator's own teardown frees what it can first.
namespace vkmem {
void RecordVmaAssert(const char* expr, const char* file, int line);
void RecordVmaLeak(const char* message);
}  // namespace vkmem

#define VMA_ASSERT(expr) \
  do { if (!(expr)) ::vkmem::RecordVmaAssert(#expr, __FILE__, __LINE__); } while (0)
#define VMA_ASSERT_LEAK(expr) \
  do { if (!(expr)) ::vkmem::RecordVmaAssert(#expr, __FILE__, __LINE__); } while (0)
#define VMA_HEAVY_ASSERT(expr)
#define VMA_LEAK_LOG_FORMAT(format, ...) \
  do { char vkmemLeakBuf_[512]; snprintf(vkmemLeakBuf_, sizeof vkmemLeakBuf_, (format), __VA_ARGS__); \
       ::vkmem::RecordVmaLeak(vkmemLeakBuf_); } while (0)

#include <cstdio>
#include "vk_mem_alloc.h"
