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

// The debug build (binding.gyp target vkmem_debug, build/Release/vkmem_debug.node) defines VKMEM_DEBUG_BUILD.
// VMA's debug features are compile-time constants, so an allocator that wants them runs on this second
// build of the whole addon (engine/native.ts loads it on first use):
// - VMA_DEBUG_MARGIN: bytes kept free after every allocation in a block (not for dedicated allocations,
//   not in virtual blocks). VMA needs a multiple of 4; TS refuses any other `debug.margin` than this one.
// - VMA_DEBUG_DETECT_CORRUPTION: VMA writes the magic number 0x7F84E666 into each margin and checks it when
//   the allocation is freed and in vmaCheckCorruption / vmaCheckPoolCorruption. Only memory types that are
//   HOST_VISIBLE and HOST_COHERENT, and only the TLSF and linear algorithms (VMA's own limits).
// - VMA_DEBUG_INITIALIZE_ALLOCATIONS: VMA fills new allocations with 0xDC and freed ones with 0xEF, for
//   allocations the CPU may map (HOST_ACCESS_* flags) in HOST_VISIBLE memory.
// The normal build keeps all three at VMA's defaults (0): no margin, no magic, no fill, no cost.
#ifdef VKMEM_DEBUG_BUILD
#ifndef VKMEM_DEBUG_MARGIN
#define VKMEM_DEBUG_MARGIN 16
#endif
#define VMA_DEBUG_MARGIN VKMEM_DEBUG_MARGIN
#define VMA_DEBUG_DETECT_CORRUPTION 1
#define VMA_DEBUG_INITIALIZE_ALLOCATIONS 1
#else
// VMA's defaults, spelled out: VMA defines them only in the implementation, and native code reports them.
#define VMA_DEBUG_MARGIN 0
#define VMA_DEBUG_DETECT_CORRUPTION 0
#define VMA_DEBUG_INITIALIZE_ALLOCATIONS 0
#endif

// VMA's internal checks must never abort the JS process. A failed check is recorded in the record of the
// current native call (addon.cpp: per call, per thread, reset as each call starts), and the call turns it into
// a VmaAssertionError carrying that call's messages, after giving back what VMA made in it. TS checks every
// precondition VMA asserts on first, so a check that fails is a vkmem bug. Leak messages are recorded the same
// way and returned by the destroy calls; the allocator's own teardown frees what it can first.
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

// VMA keeps its budget counters (bytes and counts per heap, operations since the last budget fetch, device memory
// objects, the frame index) in std::atomic, so that a budget may be read on one thread while another allocates, even
// with VMA_ALLOCATOR_CREATE_EXTERNALLY_SYNCHRONIZED_BIT (which drops only its mutexes). vkmem calls each VmaAllocator
// from one thread only, the JS thread of the environment that made it (the background freer, deferred_free.cpp,
// calls the driver's vkFreeMemory / vkDestroy*, never VMA; the upload workers copy bytes), so every one of those
// locked read-modify-writes, three or four per allocation and per free, bought nothing: plain integers with the
// members of std::atomic that VMA uses (VMA's documented VMA_ATOMIC_UINT32 / VMA_ATOMIC_UINT64 hooks).
#include <cstdint>
namespace vkmem {
template <typename T>
class PlainCounter {
 public:
  PlainCounter() = default;
  constexpr PlainCounter(T v) : value_(v) {}  // NOLINT: converts as std::atomic<T> does
  PlainCounter& operator=(T v) {
    value_ = v;
    return *this;
  }
  operator T() const { return value_; }  // NOLINT
  T load() const { return value_; }
  void store(T v) { value_ = v; }
  T fetch_add(T d) {
    const T old = value_;
    value_ += d;
    return old;
  }
  T operator++() { return ++value_; }
  T operator--() { return --value_; }
  T operator+=(T d) { return value_ += d; }
  T operator-=(T d) { return value_ -= d; }
  bool compare_exchange_strong(T& expected, T desired) {
    if (value_ == expected) {
      value_ = desired;
      return true;
    }
    expected = value_;
    return false;
  }

 private:
  T value_ = 0;
};
}  // namespace vkmem
#define VMA_ATOMIC_UINT32 ::vkmem::PlainCounter<uint32_t>
#define VMA_ATOMIC_UINT64 ::vkmem::PlainCounter<uint64_t>

// For the same reason, VMA's plain mutex (VMA_MUTEX) locks nothing. VMA_ALLOCATOR_CREATE_EXTERNALLY_SYNCHRONIZED_BIT
// already turns off the locks it takes through the allocator's m_UseMutex, but the free list of VmaAllocation objects
// (VmaAllocationObjectAllocator) locks its std::mutex on every allocation and free regardless: a lock and an unlock
// each, 4% of a createBuffer + freeAllocation pair from JS on lavapipe.
namespace vkmem {
class UnlockedMutex {
 public:
  void Lock() {}
  void Unlock() {}
  bool TryLock() { return true; }
};
}  // namespace vkmem
#define VMA_MUTEX ::vkmem::UnlockedMutex

#include <cstdio>
#include "vk_mem_alloc.h"
