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

}  // namespace

void RegisterBuddyPools(Napi::Env env, Napi::Object exports, Addon* addon) {
  exports.Set("mappedRange", Napi::Function::New(env, MappedRange, "mappedRange", addon));
}

}  // namespace vkmem
