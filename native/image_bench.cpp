// createImagesLoop(allocator, width, height, mipLevels, format, usage, count) -> ns per iteration.
//
// The in-process C++ baseline of image creation (oracles build only, never shipped): `count` times vmaCreateImage
// (2D, optimal tiling, VMA_MEMORY_USAGE_AUTO, on the given vkmem allocator) + vkCreateImageView (all mips) +
// vkDestroyImageView + vmaDestroyImage, timed as a whole. That is what FrameManager.createTexture + destroy cost
// below TypeScript, so the driver's and VMA's share of the streamer's image creation can be told from its own.
#include "image_bench.h"

#include "addon.h"

namespace vkmem {

namespace {

double Arg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
}

Napi::Value CreateImagesLoop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  AllocatorSlot& slot = addon->AllocatorFrom(env, info[0]);
  const double width = Arg(info, 1), height = Arg(info, 2), mips = Arg(info, 3), format = Arg(info, 4),
               usage = Arg(info, 5), count = Arg(info, 6);
  if (!IsUint(width, 16384) || !IsUint(height, 16384) || width < 1 || height < 1 || !IsUint(mips, 15) || mips < 1 ||
      !IsUint(format, 1000000000) || !IsUint(usage, 0x7fffffff) || !IsUint(count, 1e7) || count < 1)
    throw RangeErrorFor(env, "createImagesLoop(allocator, width, height, mipLevels, format, usage, count)");
  auto createView = reinterpret_cast<PFN_vkCreateImageView>(vkGetDeviceProcAddr(slot.device, "vkCreateImageView"));
  auto destroyView = reinterpret_cast<PFN_vkDestroyImageView>(vkGetDeviceProcAddr(slot.device, "vkDestroyImageView"));
  if (createView == nullptr || destroyView == nullptr) throw Napi::Error::New(env, "vkmem native: no image view functions");
  VkImageCreateInfo ii = {VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
  ii.imageType = VK_IMAGE_TYPE_2D;
  ii.format = static_cast<VkFormat>(format);
  ii.extent = {static_cast<uint32_t>(width), static_cast<uint32_t>(height), 1};
  ii.mipLevels = static_cast<uint32_t>(mips);
  ii.arrayLayers = 1;
  ii.samples = VK_SAMPLE_COUNT_1_BIT;
  ii.tiling = VK_IMAGE_TILING_OPTIMAL;
  ii.usage = static_cast<VkImageUsageFlags>(usage);
  ii.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  ii.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  VmaAllocationCreateInfo ai = {};
  ai.usage = VMA_MEMORY_USAGE_AUTO;
  VkImageViewCreateInfo vi = {VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
  vi.viewType = VK_IMAGE_VIEW_TYPE_2D;
  vi.format = ii.format;
  vi.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, ii.mipLevels, 0, 1};
  const int64_t start = MonotonicNs();
  const uint32_t n = static_cast<uint32_t>(count);
  for (uint32_t i = 0; i < n; ++i) {
    VkImage image = VK_NULL_HANDLE;
    VmaAllocation allocation = VK_NULL_HANDLE;
    VkResult r = vmaCreateImage(slot.allocator, &ii, &ai, &image, &allocation, nullptr);
    if (r != VK_SUCCESS) addon->ThrowVk(env, r, "vmaCreateImage");
    vi.image = image;
    VkImageView view = VK_NULL_HANDLE;
    r = createView(slot.device, &vi, nullptr, &view);
    if (r == VK_SUCCESS) destroyView(slot.device, view, nullptr);
    vmaDestroyImage(slot.allocator, image, allocation);
    if (r != VK_SUCCESS) addon->ThrowVk(env, r, "vkCreateImageView");
  }
  return Napi::Number::New(env, static_cast<double>(MonotonicNs() - start) / count);
}

}  // namespace

void RegisterImageBench(Napi::Env env, Napi::Object exports, Addon* addon) {
  exports.Set("createImagesLoop", Napi::Function::New(env, GuardedFunction<CreateImagesLoop>, "createImagesLoop", addon));
}

}  // namespace vkmem
