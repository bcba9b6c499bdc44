// Calls over many allocations at once, and host copies: vmaAllocateMemoryPages, vmaFlushAllocations /
// vmaInvalidateAllocations, vmaCopyMemoryToAllocation / vmaCopyAllocationToMemory.
//
// All or nothing: allocateMemoryPages either records every allocation VMA made in the slot table or gives every one
// back (VMA frees its own on failure; a full slot table or a VMA check that fired gives them back here), so JS never
// holds part of a batch. The batch calls name allocations by handle; each is checked (live, of this allocator) before
// VMA sees any, and host pointers come only from ArrayBufferViews whose length bounds every copy.
#include <cmath>
#include <vector>

#include "addon.h"

namespace vkmem {

namespace {
constexpr double kMaxU32 = 4294967295.0;
constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1
constexpr double kMaxPages = 65536;

double NumberArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
}

// The bytes of an ArrayBufferView argument (a TypedArray or a DataView).
struct HostBytes {
  uint8_t* data = nullptr;
  size_t length = 0;
};

HostBytes ViewArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Env env = info.Env();
  if (info.Length() <= i) throw TypeErrorFor(env, std::string(name) + " must be an ArrayBufferView");
  napi_value v = info[i];
  HostBytes out;
  if (info[i].IsTypedArray()) {
    Napi::TypedArray t = info[i].As<Napi::TypedArray>();
    out.length = t.ByteLength();
    out.data = out.length == 0 ? nullptr : static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
    return out;
  }
  bool isDataView = false;
  napi_is_dataview(env, v, &isDataView);
  if (!isDataView) throw TypeErrorFor(env, std::string(name) + " must be an ArrayBufferView");
  void* data = nullptr;
  size_t length = 0;
  napi_get_dataview_info(env, v, &length, &data, nullptr, nullptr);
  out.length = length;
  out.data = length == 0 ? nullptr : static_cast<uint8_t*>(data);
  return out;
}

Napi::Float64Array Float64Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw TypeErrorFor(info.Env(), std::string(name) + " must be a Float64Array");
  }
  return info[i].As<Napi::Float64Array>();
}
}  // namespace

// allocateMemoryPages(allocator, count) -> Float64Array [handle, size, mapped (0/1)] per allocation, or a negative
// VkResult Number (nothing allocated). The requirements are in[0..2] of the scratch as allocateMemory reads them, the
// allocation create info as every create call reads it.
Napi::Value Addon::AllocateMemoryPages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, info[0], &ai);
  const double count = NumberArg(info, 1);
  if (!(count >= 1 && count <= kMaxPages) || std::floor(count) != count) {
    throw RangeErrorFor(env, "allocateMemoryPages: count out of range");
  }
  const double* in = f64 + Scratch::kIn0;
  if (!(in[0] >= 1 && in[0] <= kMaxSafe) || std::floor(in[0]) != in[0]) throw RangeErrorFor(env, "memory size out of range");
  if (!IsUint(in[1], kMaxSafe) || !IsUint(in[2], kMaxU32)) throw RangeErrorFor(env, "alignment or memoryTypeBits out of range");
  const VkMemoryRequirements req = {static_cast<VkDeviceSize>(in[0]), static_cast<VkDeviceSize>(in[1] < 1 ? 1 : in[1]),
                                    static_cast<uint32_t>(in[2])};
  VmaAllocationCreateInfo aci;
  uint32_t poolIndex = 0;
  ReadAllocationCreateInfo(env, aci, "vmaAllocateMemoryPages", ai, &poolIndex);
  aci.minAlignment = ReadMinAlignment(env);
  const size_t n = static_cast<size_t>(count);
  std::vector<VmaAllocation> made(n, VK_NULL_HANDLE);
  const VkResult r = vmaAllocateMemoryPages(slot.allocator, &req, &aci, n, made.data(), nullptr);
  if (r != VK_SUCCESS) {
    // VMA has freed what it made of the batch (its contract: every handle null on failure).
    ThrowIfVmaAsserted(env, "vmaAllocateMemoryPages");
    return Napi::Number::New(env, r);
  }
  if (VmaAssertedThisCall()) {
    vmaFreeMemoryPages(slot.allocator, n, made.data());
    ThrowIfVmaAsserted(env, "vmaAllocateMemoryPages");
  }
  std::vector<uint32_t> slots;
  slots.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t index = NewAllocationSlot(ai, made[i], Kind::Memory, 0, false);
    if (index == 0) {  // 2^24 live allocations: give the whole batch back
      for (uint32_t s : slots) ReleaseAllocationSlot(s);
      vmaFreeMemoryPages(slot.allocator, n, made.data());
      return Napi::Number::New(env, VK_ERROR_TOO_MANY_OBJECTS);
    }
    if (poolIndex != 0) {
      allocations[index].pool = poolIndex;
      pools[poolIndex].liveAllocations++;
    }
    slots.push_back(index);
  }
  Napi::Float64Array out = Napi::Float64Array::New(env, n * 3);
  for (size_t i = 0; i < n; ++i) {
    VmaAllocationInfo info2;
    vmaGetAllocationInfo(slot.allocator, made[i], &info2);
    out[i * 3] = EncodeHandle(allocations[slots[i]].generation, slots[i]);
    out[i * 3 + 1] = static_cast<double>(info2.size);
    out[i * 3 + 2] = info2.pMappedData != nullptr ? 1 : 0;
  }
  return out;
}

// flushAllocations(allocator, handles, offsets, sizes: Float64Array, flush: boolean) -> VkResult: one
// vmaFlushAllocations (vmaInvalidateAllocations) over allocations of this allocator, ranges relative to each.
Napi::Value Addon::FlushAllocations(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, info[0], &ai);
  Napi::Float64Array handles = Float64Arg(info, 1, "handles");
  Napi::Float64Array offsets = Float64Arg(info, 2, "offsets");
  Napi::Float64Array sizes = Float64Arg(info, 3, "sizes");
  const bool flush = info.Length() > 4 && info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  const size_t n = handles.ElementLength();
  if (offsets.ElementLength() != n || sizes.ElementLength() != n || n > kMaxU32) {
    throw RangeErrorFor(env, "flushAllocations: handles, offsets and sizes differ in length");
  }
  std::vector<VmaAllocation> list(n);
  std::vector<VkDeviceSize> offs(n), lens(n);
  for (size_t i = 0; i < n; ++i) {
    AllocationSlot* a = AllocationFromNumber(handles[i], nullptr);
    if (a == nullptr || a->allocator != ai) throw Napi::Error::New(env, "vkmem native: flushAllocations: stale, invalid or foreign allocation handle");
    VmaAllocationInfo info2;
    vmaGetAllocationInfo(slot.allocator, a->allocation, &info2);
    const double off = offsets[i], len = sizes[i];
    if (!IsUint(off, kMaxSafe) || !IsUint(len, kMaxSafe) || off + len > static_cast<double>(info2.size)) {
      throw RangeErrorFor(env, "flushAllocations: a range lies outside its allocation");
    }
    list[i] = a->allocation;
    offs[i] = static_cast<VkDeviceSize>(off);
    lens[i] = static_cast<VkDeviceSize>(len);
  }
  if (n == 0) return Napi::Number::New(env, VK_SUCCESS);
  const uint32_t count = static_cast<uint32_t>(n);
  const VkResult r = flush ? vmaFlushAllocations(slot.allocator, count, list.data(), offs.data(), lens.data())
                           : vmaInvalidateAllocations(slot.allocator, count, list.data(), offs.data(), lens.data());
  ThrowIfVmaAsserted(env, flush ? "vmaFlushAllocations" : "vmaInvalidateAllocations");
  return Napi::Number::New(env, r);
}

// The allocation and range of a host copy, checked: live, host-visible, and [offset, offset + length) inside it.
static AllocationSlot& CopyTarget(Addon& addon, const Napi::CallbackInfo& info, double offset, size_t length, const char* op) {
  Napi::Env env = info.Env();
  AllocationSlot& a = addon.AllocationFrom(env, info[0]);
  VmaAllocator allocator = addon.allocators[a.allocator].allocator;
  VkMemoryPropertyFlags flags = 0;
  vmaGetAllocationMemoryProperties(allocator, a.allocation, &flags);
  if ((flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) == 0) throw TypeErrorFor(env, std::string(op) + ": the allocation is not HOST_VISIBLE");
  VmaAllocationInfo ai;
  vmaGetAllocationInfo(allocator, a.allocation, &ai);
  if (!IsUint(offset, kMaxSafe) || offset + static_cast<double>(length) > static_cast<double>(ai.size)) {
    throw RangeErrorFor(env, std::string(op) + ": the range lies outside the allocation");
  }
  return a;
}

// copyMemoryToAllocation(allocation, src: ArrayBufferView, offset) -> VkResult (vmaCopyMemoryToAllocation: map,
// memcpy, unmap, flush when the memory is not HOST_COHERENT).
Napi::Value Addon::CopyMemoryToAllocation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const HostBytes src = ViewArg(info, 1, "src");
  const double offset = NumberArg(info, 2);
  AllocationSlot& a = CopyTarget(*this, info, offset, src.length, "copyMemoryToAllocation");
  if (src.length == 0) return Napi::Number::New(env, VK_SUCCESS);  // VMA asserts on a null pointer before its size check
  const VkResult r = vmaCopyMemoryToAllocation(allocators[a.allocator].allocator, src.data, a.allocation,
                                               static_cast<VkDeviceSize>(offset), src.length);
  ThrowIfVmaAsserted(env, "vmaCopyMemoryToAllocation");
  return Napi::Number::New(env, r);
}

// copyAllocationToMemory(allocation, offset, dst: ArrayBufferView) -> VkResult (vmaCopyAllocationToMemory:
// invalidate when not HOST_COHERENT, map, memcpy, unmap).
Napi::Value Addon::CopyAllocationToMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double offset = NumberArg(info, 1);
  const HostBytes dst = ViewArg(info, 2, "dst");
  AllocationSlot& a = CopyTarget(*this, info, offset, dst.length, "copyAllocationToMemory");
  if (dst.length == 0) return Napi::Number::New(env, VK_SUCCESS);
  const VkResult r = vmaCopyAllocationToMemory(allocators[a.allocator].allocator, a.allocation,
                                               static_cast<VkDeviceSize>(offset), dst.data, dst.length);
  ThrowIfVmaAsserted(env, "vmaCopyAllocationToMemory");
  return Napi::Number::New(env, r);
}

}  // namespace vkmem
