// Device-memory frees off the JS thread (native/deferred_free.cpp).
#pragma once

#include <napi.h>

#include "vma_config.h"

namespace vkmem {

// Makes FreeDeviceMemory / AllocateDeviceMemory able to call `device`'s own functions. Called for each allocator
// created over `device`; UnregisterDevice, which waits for the queue first, for each one destroyed.
void RegisterDevice(VkDevice device, PFN_vkGetDeviceProcAddr getDeviceProcAddr);
void UnregisterDevice(VkDevice device);

// The vkFreeMemory VMA is given: inside a DeferFrees scope on this thread, the memory is queued for the background
// freer and the call returns at once; elsewhere it is freed here, as VMA would.
void VKAPI_PTR FreeDeviceMemory(VkDevice device, VkDeviceMemory memory, const VkAllocationCallbacks* callbacks);

// The vkAllocateMemory VMA is given: when the device is out of memory while frees of it are queued, waits for
// them and tries once more, so that a deferred free never makes an allocation fail that would have succeeded.
VkResult VKAPI_PTR AllocateDeviceMemory(VkDevice device, const VkMemoryAllocateInfo* info,
                                        const VkAllocationCallbacks* callbacks, VkDeviceMemory* memory);

// vkDestroyBuffer / vkDestroyImage of `raw` (nothing for 0): queued, inside a DeferFrees scope on this thread, for
// the background thread, which runs its queue in order (so a buffer goes before the memory freed after it);
// done here otherwise. Only for objects nothing uses any more, the GPU included.
void DestroyBufferOrImage(VkDevice device, uint64_t raw, bool image, PFN_vkDestroyBuffer destroyBuffer,
                          PFN_vkDestroyImage destroyImage);

// vkDestroyImageView of `raw` (nothing for 0), queued or done here as DestroyBufferOrImage does: a view queued before
// its image is destroyed before it (the queue runs in order). NVIDIA's vkDestroyImageView costs the calling thread
// about 0.9 µs (H200, 2026-12-04): a hundred textures retired in a frame.
void DestroyImageView(VkDevice device, uint64_t raw, PFN_vkDestroyImageView destroyImageView);

// Returns once every queued free and destroy (of every device: one queue serves them all) is done.
void WaitForDeferredFrees();

// Frees of device memory queued and not yet done (all devices).
unsigned long long PendingDeferredFrees();
// Frees done by the background freer since the process started (all devices).
unsigned long long DeferredFreesDone();

// Adds deferredFrees() -> [queued, done] to the addon's exports (called once from Addon's constructor).
void RegisterDeferredFrees(Napi::Env env, Napi::Object exports);

// While one lives, FreeDeviceMemory and DestroyBufferOrImage calls on this thread are queued.
class DeferFrees {
 public:
  DeferFrees();
  ~DeferFrees();
  DeferFrees(const DeferFrees&) = delete;
  DeferFrees& operator=(const DeferFrees&) = delete;
};

}  // namespace vkmem
