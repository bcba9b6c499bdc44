// Aliasing: buffers and images bound into an allocation beside its own resource (VMA's "resource aliasing").
//
// createAliasingResource is vmaCreateAliasingBuffer2 / vmaCreateAliasingImage2 (vkCreate* and vmaBind*Memory2 at a
// local offset). VMA checks neither the resource's memory requirements against the allocation nor the bind's
// alignment, and a bad bind is a validation error or undefined behaviour, so a throwaway resource of the same create
// info is asked for its requirements first (Vulkan gives equal create infos equal requirements): the memory type,
// the alignment of the bind's offset in the VkDeviceMemory and the size must fit, else nothing is created and the
// caller learns which rule failed (kAlias* below, with the requirements in the outputs). bindAlias does the same
// checks for a buffer or image the caller created.
//
// Every aliasing resource is listed by value in its allocator's slot (AllocatorSlot::aliases) and counted on its
// allocation (aliasCount). It is destroyed by destroyAlias, or, at the latest, by FreeAllocationNow just before its
// allocation's memory is freed, which is also the path of pool and allocator destruction: no aliasing resource
// outlives its memory, none leaks past vmaDestroyAllocator, and no JS value can name a resource that is not listed.
#include "addon.h"

namespace vkmem {

namespace {
constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1
// Results beyond VkResult's range: which requirement the allocation does not meet.
constexpr int kAliasBadMemoryType = 1001;
constexpr int kAliasMisaligned = 1002;
constexpr int kAliasTooLarge = 1003;

double NumberArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
}

bool BoolArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsBoolean() && info[i].As<Napi::Boolean>().Value();
}

void DestroyRaw(const AllocatorSlot& slot, uint64_t raw, bool image) {
  if (image) slot.destroyImage(slot.device, reinterpret_cast<VkImage>(raw), nullptr);
  else slot.destroyBuffer(slot.device, reinterpret_cast<VkBuffer>(raw), nullptr);
}

VkMemoryRequirements RequirementsOf(const AllocatorSlot& slot, uint64_t raw, bool image) {
  VkMemoryRequirements req = {};
  if (image) slot.getImageMemoryRequirements(slot.device, reinterpret_cast<VkImage>(raw), &req);
  else slot.getBufferMemoryRequirements(slot.device, reinterpret_cast<VkBuffer>(raw), &req);
  return req;
}

}  // namespace

// The allocation an aliasing call names: live, and not part of an open defragmentation pass (its place may change
// or go at the pass's end).
static AllocationSlot& AliasTarget(Addon& addon, const Napi::CallbackInfo& info, uint32_t* index) {
  AllocationSlot& a = addon.AllocationFrom(info.Env(), info[0], index);
  if (a.moving || a.defragTemp) {
    throw Napi::Error::New(info.Env(), "vkmem native: the allocation is part of an open defragmentation pass");
  }
  return a;
}

// Checks `req` against allocation `a` bound at localOffset; writes the requirements into the outputs (OutSize: size,
// OutOffset: alignment, OutMemoryType: memoryTypeBits) and returns 0 or a kAlias* code.
static int CheckRequirements(Addon& addon, const AllocationSlot& a, const VkMemoryRequirements& req, double localOffset) {
  VmaAllocationInfo ai;
  vmaGetAllocationInfo(addon.allocators[a.allocator].allocator, a.allocation, &ai);
  addon.f64[Scratch::kOutSize] = static_cast<double>(req.size);
  addon.f64[Scratch::kOutOffset] = static_cast<double>(req.alignment);
  addon.f64[Scratch::kOutMemoryType] = static_cast<double>(req.memoryTypeBits);
  if ((req.memoryTypeBits & (1u << ai.memoryType)) == 0) return kAliasBadMemoryType;
  const VkDeviceSize local = static_cast<VkDeviceSize>(localOffset);
  if (req.alignment > 0 && (ai.offset + local) % req.alignment != 0) return kAliasMisaligned;
  if (local > ai.size || req.size > ai.size - local) return kAliasTooLarge;
  return 0;
}

// createAliasingResource(allocation, image: boolean, localOffset) -> 0, a negative VkResult, or a kAlias* code. The
// description is in the scratch inputs as createBuffer / createImage lay it out; the new handle goes to OutResource.
Napi::Value Addon::CreateAliasingResource(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  uint32_t index = 0;
  AllocationSlot& a = AliasTarget(*this, info, &index);
  AllocatorSlot& slot = allocators[a.allocator];
  const bool image = BoolArg(info, 1);
  const double localOffset = NumberArg(info, 2);
  if (!IsUint(localOffset, kMaxSafe)) throw RangeErrorFor(env, "createAliasingResource: offset out of range");
  VkBufferCreateInfo bci;
  VkImageCreateInfo ici;
  if (image) ReadImageCreateInfo(env, ici);
  else ReadBufferCreateInfo(env, bci);
  // The probe: a resource of the same create info, for its requirements only.
  uint64_t probe = 0;
  VkResult r = image ? slot.createImage(slot.device, &ici, nullptr, reinterpret_cast<VkImage*>(&probe))
                     : slot.createBuffer(slot.device, &bci, nullptr, reinterpret_cast<VkBuffer*>(&probe));
  if (r != VK_SUCCESS) return Napi::Number::New(env, r);
  const VkMemoryRequirements req = RequirementsOf(slot, probe, image);
  DestroyRaw(slot, probe, image);
  const int misfit = CheckRequirements(*this, a, req, localOffset);
  if (misfit != 0) return Napi::Number::New(env, misfit);
  const VkDeviceSize local = static_cast<VkDeviceSize>(localOffset);
  uint64_t raw = 0;
  if (image) {
    VkImage handle = VK_NULL_HANDLE;
    r = vmaCreateAliasingImage2(slot.allocator, a.allocation, local, &ici, &handle);
    raw = reinterpret_cast<uint64_t>(handle);
  } else {
    VkBuffer handle = VK_NULL_HANDLE;
    r = vmaCreateAliasingBuffer2(slot.allocator, a.allocation, local, &bci, &handle);
    raw = reinterpret_cast<uint64_t>(handle);
  }
  if (r == VK_SUCCESS && raw != 0) {
    slot.aliases[raw] = AllocatorSlot::Alias{index, image};
    a.aliasCount++;
  }
  ThrowIfVmaAsserted(env, image ? "vmaCreateAliasingImage2" : "vmaCreateAliasingBuffer2");
  u64[Scratch::kOutResource] = raw;
  return Napi::Number::New(env, r);
}

// bindAlias(allocation, resource: bigint, image: boolean, localOffset) -> 0, a negative VkResult or a kAlias* code:
// binds a buffer or image the caller created (vmaBind*Memory2) beside the allocation's own resource, after the
// requirement checks of createAliasingResource. From then on it is listed as an aliasing resource: vkmem destroys it.
Napi::Value Addon::BindAlias(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  uint32_t index = 0;
  AllocationSlot& a = AliasTarget(*this, info, &index);
  AllocatorSlot& slot = allocators[a.allocator];
  const uint64_t raw = BigIntArg(info, 1, "resource");
  const bool image = BoolArg(info, 2);
  const double localOffset = NumberArg(info, 3);
  if (raw == 0) throw TypeErrorFor(env, "bindAlias: the resource is a null handle");
  if (!IsUint(localOffset, kMaxSafe)) throw RangeErrorFor(env, "bindAlias: offset out of range");
  if (slot.aliases.count(raw) != 0 || slot.unboundResources.count(raw) != 0) {
    throw TypeErrorFor(env, "bindAlias: the resource is bound already");
  }
  const int misfit = CheckRequirements(*this, a, RequirementsOf(slot, raw, image), localOffset);
  if (misfit != 0) return Napi::Number::New(env, misfit);
  const VkDeviceSize local = static_cast<VkDeviceSize>(localOffset);
  VkResult r = image ? vmaBindImageMemory2(slot.allocator, a.allocation, local, reinterpret_cast<VkImage>(raw), nullptr)
                     : vmaBindBufferMemory2(slot.allocator, a.allocation, local, reinterpret_cast<VkBuffer>(raw), nullptr);
  if (r == VK_SUCCESS) {
    slot.aliases[raw] = AllocatorSlot::Alias{index, image};
    a.aliasCount++;
  }
  ThrowIfVmaAsserted(env, image ? "vmaBindImageMemory2" : "vmaBindBufferMemory2");
  return Napi::Number::New(env, r);
}

// destroyAlias(allocator, resource: bigint): destroys an aliasing resource of this allocator. Anything else (a value
// not listed: destroyed already, another allocator's, never bound) is an error, so no JS value reaches vkDestroy*.
Napi::Value Addon::DestroyAlias(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocatorSlot& slot = AllocatorFrom(env, info[0]);
  const uint64_t raw = BigIntArg(info, 1, "resource");
  auto it = slot.aliases.find(raw);
  if (it == slot.aliases.end()) throw Napi::Error::New(env, "vkmem native: destroyAlias: not an aliasing resource of this allocator");
  DestroyRaw(slot, raw, it->second.image);
  AllocationSlot& a = allocations[it->second.allocation];
  if (a.aliasCount > 0) a.aliasCount--;
  slot.aliases.erase(it);
  return env.Undefined();
}

void Addon::DestroyAliasesOf(uint32_t allocationIndex) {
  AllocationSlot& a = allocations[allocationIndex];
  AllocatorSlot& slot = allocators[a.allocator];
  for (auto it = slot.aliases.begin(); it != slot.aliases.end() && a.aliasCount > 0;) {
    if (it->second.allocation != allocationIndex) {
      ++it;
      continue;
    }
    DestroyRaw(slot, it->first, it->second.image);
    a.aliasCount--;
    it = slot.aliases.erase(it);
  }
}

}  // namespace vkmem
