// mappedRange(allocation, offset, size) -> an ArrayBuffer over bytes [offset, offset + size) of an allocation
// that is mapped now (by vmaMapMemory through map()). A buddy pool maps each block once and hands every
// sub-allocation a view over exactly its node's bytes; TS detaches those views before the block is unmapped or
// freed (engine/memory/buddy-pool.ts), the same invariant as for whole-allocation views.
//
// Checked here again, whatever TS did: the handle is a live allocation, it is mapped, and the range lies inside
// it, so no JS value can produce a view of memory outside a mapping.
#include "buddy_pool.h"

#include "addon.h"

namespace vkmem {

namespace {

Napi::Value MappedRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  AllocationSlot& a = addon->AllocationFrom(env, info[0]);
  const double offset = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  const double size = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  constexpr double kMaxSafe = 9007199254740991.0;
  if (!IsUint(offset, kMaxSafe) || !IsUint(size, kMaxSafe) || size < 1) {
    throw RangeErrorFor(env, "mappedRange: offset and size must be integers, size >= 1");
  }
  if (a.mapCount == 0) throw Napi::Error::New(env, "vkmem native: mappedRange: the allocation is not mapped");
  VmaAllocationInfo ai;
  vmaGetAllocationInfo(addon->allocators[a.allocator].allocator, a.allocation, &ai);
  if (offset + size > static_cast<double>(ai.size)) {
    throw RangeErrorFor(env, "mappedRange: the range ends beyond the allocation");
  }
  if (ai.pMappedData == nullptr) throw Napi::Error::New(env, "vkmem native: mappedRange: VMA reports no mapping");
  return Napi::ArrayBuffer::New(env, static_cast<uint8_t*>(ai.pMappedData) + static_cast<size_t>(offset),
                                static_cast<size_t>(size));
}

// createUnbound(allocator, image: boolean) -> VkResult. Creates a buffer (or image) from the scratch inputs,
// read exactly as createBuffer (createImage) reads them, without memory, and writes its raw handle to
// OutResource and its VkMemoryRequirements to OutSize (size), OutOffset (alignment) and OutMemoryType
// (memoryTypeBits). The buddy pool then picks a node and binds it with bindAt, or gives it up with
// destroyUnbound: one native call each, where nvk's struct marshalling cost microseconds.
Napi::Value CreateUnbound(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  addon->RequireScratch(env);
  AllocatorSlot& slot = addon->AllocatorFrom(env, info[0]);
  const bool image = info.Length() > 1 && info[1].ToBoolean().Value();
  VkMemoryRequirements req = {};
  uint64_t raw = 0;
  if (image) {
    VkImageCreateInfo ici;
    addon->ReadImageCreateInfo(env, ici);
    VkImage handle = VK_NULL_HANDLE;
    VkResult r = slot.createImage(slot.device, &ici, nullptr, &handle);
    if (r != VK_SUCCESS) return Napi::Number::New(env, r);
    slot.getImageMemoryRequirements(slot.device, handle, &req);
    raw = reinterpret_cast<uint64_t>(handle);
  } else {
    VkBufferCreateInfo bci;
    addon->ReadBufferCreateInfo(env, bci);
    VkBuffer handle = VK_NULL_HANDLE;
    VkResult r = slot.createBuffer(slot.device, &bci, nullptr, &handle);
    if (r != VK_SUCCESS) return Napi::Number::New(env, r);
    slot.getBufferMemoryRequirements(slot.device, handle, &req);
    raw = reinterpret_cast<uint64_t>(handle);
  }
  slot.unboundResources[raw] = image;
  addon->u64[Scratch::kOutResource] = raw;
  addon->f64[Scratch::kOutSize] = static_cast<double>(req.size);
  addon->f64[Scratch::kOutOffset] = static_cast<double>(req.alignment);
  addon->f64[Scratch::kOutMemoryType] = static_cast<double>(req.memoryTypeBits);
  return Napi::Number::New(env, VK_SUCCESS);
}

// bindAt(allocation, resource: bigint, localOffset) -> VkResult: binds a resource made by createUnbound (of the
// allocation's allocator) at localOffset inside the allocation (vmaBind*Memory2). The resource stays listed
// as unbound-made until destroyUnbound, which is what destroys it.
Napi::Value BindAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  AllocationSlot& a = addon->AllocationFrom(env, info[0]);
  AllocatorSlot& slot = addon->allocators[a.allocator];
  const uint64_t raw = BigIntArg(info, 1, "resource");
  const double offset = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  auto it = slot.unboundResources.find(raw);
  if (it == slot.unboundResources.end()) throw Napi::Error::New(env, "vkmem native: bindAt: not a resource of createUnbound");
  VmaAllocationInfo ai;
  vmaGetAllocationInfo(slot.allocator, a.allocation, &ai);
  if (!IsUint(offset, static_cast<double>(ai.size) - 1)) throw RangeErrorFor(env, "bindAt: offset outside the allocation");
  const VkDeviceSize vkOffset = static_cast<VkDeviceSize>(offset);
  VkResult r = it->second ? vmaBindImageMemory2(slot.allocator, a.allocation, vkOffset, reinterpret_cast<VkImage>(raw), nullptr)
                          : vmaBindBufferMemory2(slot.allocator, a.allocation, vkOffset, reinterpret_cast<VkBuffer>(raw), nullptr);
  addon->ThrowIfVmaAsserted(env, "vmaBindMemory2");
  return Napi::Number::New(env, r);
}

// destroyUnbound(allocator, resource: bigint): destroys a resource made by createUnbound (bound or not).
Napi::Value DestroyUnbound(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  AllocatorSlot& slot = addon->AllocatorFrom(env, info[0]);
  const uint64_t raw = BigIntArg(info, 1, "resource");
  auto it = slot.unboundResources.find(raw);
  if (it == slot.unboundResources.end()) throw Napi::Error::New(env, "vkmem native: destroyUnbound: not a resource of createUnbound");
  if (it->second) slot.destroyImage(slot.device, reinterpret_cast<VkImage>(raw), nullptr);
  else slot.destroyBuffer(slot.device, reinterpret_cast<VkBuffer>(raw), nullptr);
  slot.unboundResources.erase(it);
  return env.Undefined();
}

}  // namespace

void RegisterBuddyPools(Napi::Env env, Napi::Object exports, Addon* addon) {
  exports.Set("mappedRange", Napi::Function::New(env, GuardedFunction<MappedRange>, "mappedRange", addon));
  exports.Set("createUnbound", Napi::Function::New(env, GuardedFunction<CreateUnbound>, "createUnbound", addon));
  exports.Set("bindAt", Napi::Function::New(env, GuardedFunction<BindAt>, "bindAt", addon));
  exports.Set("destroyUnbound", Napi::Function::New(env, GuardedFunction<DestroyUnbound>, "destroyUnbound", addon));
}

}  // namespace vkmem
