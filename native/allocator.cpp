// VmaAllocator lifetime, memory properties, budgets, statistics and the JSON dump.
#include <cmath>

#include "addon.h"
#include "copy_commands.h"
#include "deferred_free.h"

namespace vkmem {

Napi::Object DetailedStats(Napi::Env env, const VmaDetailedStatistics& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("blockCount", static_cast<double>(s.statistics.blockCount));
  o.Set("allocationCount", static_cast<double>(s.statistics.allocationCount));
  o.Set("blockBytes", static_cast<double>(s.statistics.blockBytes));
  o.Set("allocationBytes", static_cast<double>(s.statistics.allocationBytes));
  o.Set("unusedRangeCount", static_cast<double>(s.unusedRangeCount));
  // VMA reports VK_WHOLE_SIZE as the minimum of an empty set; in JS that is Infinity.
  auto min = [](VkDeviceSize v) { return v == VK_WHOLE_SIZE ? INFINITY : static_cast<double>(v); };
  o.Set("allocationSizeMin", min(s.allocationSizeMin));
  o.Set("allocationSizeMax", static_cast<double>(s.allocationSizeMax));
  o.Set("unusedRangeSizeMin", min(s.unusedRangeSizeMin));
  o.Set("unusedRangeSizeMax", static_cast<double>(s.unusedRangeSizeMax));
  return o;
}

// createAllocator(instance: bigint, physicalDevice: bigint, device: bigint, apiVersion: number,
//                 flags: number, heapSizeLimits: number[] | undefined, preferredLargeHeapBlockSize: number)
Napi::Value Addon::CreateAllocator(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t instance = BigIntArg(info, 0, "instance");
  uint64_t physicalDevice = BigIntArg(info, 1, "physicalDevice");
  uint64_t device = BigIntArg(info, 2, "device");
  if (instance == 0 || physicalDevice == 0 || device == 0) throw TypeErrorFor(env, "null Vulkan handle");
  if (info.Length() < 7 || !info[3].IsNumber() || !info[4].IsNumber() || !info[6].IsNumber()) {
    throw TypeErrorFor(env, "createAllocator(instance, physicalDevice, device, apiVersion, flags, limits, blockSize)");
  }
  double apiVersionD = info[3].As<Napi::Number>().DoubleValue();
  double flagsD = info[4].As<Napi::Number>().DoubleValue();
  double blockSizeD = info[6].As<Napi::Number>().DoubleValue();
  if (!IsUint(apiVersionD, 4294967295.0)) throw RangeErrorFor(env, "apiVersion out of range");
  if (!IsUint(flagsD, 4294967295.0)) throw RangeErrorFor(env, "allocator flags out of range");
  if (!IsUint(blockSizeD, 9007199254740991.0)) throw RangeErrorFor(env, "preferredLargeHeapBlockSize out of range");

  VkInstance vkInstance = reinterpret_cast<VkInstance>(instance);
  VkPhysicalDevice vkPhysical = reinterpret_cast<VkPhysicalDevice>(physicalDevice);
  VkDevice vkDevice = reinterpret_cast<VkDevice>(device);

  auto getDeviceProcAddr =
      reinterpret_cast<PFN_vkGetDeviceProcAddr>(vkGetInstanceProcAddr(vkInstance, "vkGetDeviceProcAddr"));
  auto getMemoryProperties = reinterpret_cast<PFN_vkGetPhysicalDeviceMemoryProperties>(
      vkGetInstanceProcAddr(vkInstance, "vkGetPhysicalDeviceMemoryProperties"));
  if (getDeviceProcAddr == nullptr || getMemoryProperties == nullptr) {
    ThrowVk(env, VK_ERROR_INITIALIZATION_FAILED, "vmaCreateAllocator", "the Vulkan loader gave no device functions");
  }
  VkPhysicalDeviceMemoryProperties memProps;
  getMemoryProperties(vkPhysical, &memProps);

  std::vector<VkDeviceSize> limits;
  if (info.Length() > 5 && info[5].IsArray()) {
    Napi::Array arr = info[5].As<Napi::Array>();
    if (arr.Length() != memProps.memoryHeapCount) {
      throw RangeErrorFor(env, "heapSizeLimits must have one entry per memory heap (" +
                                   std::to_string(memProps.memoryHeapCount) + ")");
    }
    limits.resize(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
      if (!(d >= 0) || std::floor(d) != d) throw RangeErrorFor(env, "heapSizeLimits entries must be integers >= 0");
      limits[i] = d == 0 || std::isinf(d) ? VK_WHOLE_SIZE : static_cast<VkDeviceSize>(d);
    }
  }

  VmaVulkanFunctions functions = {};
  functions.vkGetInstanceProcAddr = vkGetInstanceProcAddr;
  functions.vkGetDeviceProcAddr = getDeviceProcAddr;
  // Device memory goes through native/deferred_free.cpp, which can free it off this thread (defragmentation).
  functions.vkAllocateMemory = AllocateDeviceMemory;
  functions.vkFreeMemory = FreeDeviceMemory;
  RegisterDevice(vkDevice, getDeviceProcAddr);

  VmaAllocatorCreateInfo ci = {};
  // Every call into an allocator comes from the one JS thread that owns it (handles are per
  // environment), so VMA's internal mutexes are pure cost.
  ci.flags = static_cast<VmaAllocatorCreateFlags>(flagsD) | VMA_ALLOCATOR_CREATE_EXTERNALLY_SYNCHRONIZED_BIT;
  ci.instance = vkInstance;
  ci.physicalDevice = vkPhysical;
  ci.device = vkDevice;
  ci.vulkanApiVersion = std::min<uint32_t>(static_cast<uint32_t>(apiVersionD), VMA_VULKAN_VERSION == 1003000
                                                                                  ? VK_API_VERSION_1_3
                                                                                  : VK_API_VERSION_1_0);
  ci.preferredLargeHeapBlockSize = static_cast<VkDeviceSize>(blockSizeD);
  ci.pVulkanFunctions = &functions;
  ci.pHeapSizeLimit = limits.empty() ? nullptr : limits.data();

  VmaAllocator allocator = VK_NULL_HANDLE;
  VkResult r = vmaCreateAllocator(&ci, &allocator);
  if (VmaAssertedThisCall()) {
    if (r == VK_SUCCESS) vmaDestroyAllocator(allocator);  // never handed out: nothing may be left behind
    UnregisterDevice(vkDevice);
    ThrowIfVmaAsserted(env, "vmaCreateAllocator");
  }
  if (r != VK_SUCCESS) {
    UnregisterDevice(vkDevice);
    ThrowVk(env, r, "vmaCreateAllocator");
  }

  uint32_t index = 0;
  for (uint32_t i = 1; i < allocators.size(); ++i) {
    if (!allocators[i].live) { index = i; break; }
  }
  if (index == 0) {
    index = static_cast<uint32_t>(allocators.size());
    allocators.emplace_back();
  }
  AllocatorSlot& slot = allocators[index];
  slot.allocator = allocator;
  slot.device = vkDevice;
  slot.destroyBuffer = reinterpret_cast<PFN_vkDestroyBuffer>(getDeviceProcAddr(vkDevice, "vkDestroyBuffer"));
  slot.destroyImage = reinterpret_cast<PFN_vkDestroyImage>(getDeviceProcAddr(vkDevice, "vkDestroyImage"));
  slot.createBuffer = reinterpret_cast<PFN_vkCreateBuffer>(getDeviceProcAddr(vkDevice, "vkCreateBuffer"));
  slot.createImage = reinterpret_cast<PFN_vkCreateImage>(getDeviceProcAddr(vkDevice, "vkCreateImage"));
  slot.getBufferMemoryRequirements = reinterpret_cast<PFN_vkGetBufferMemoryRequirements>(
      getDeviceProcAddr(vkDevice, "vkGetBufferMemoryRequirements"));
  slot.getImageMemoryRequirements = reinterpret_cast<PFN_vkGetImageMemoryRequirements>(
      getDeviceProcAddr(vkDevice, "vkGetImageMemoryRequirements"));
  slot.bindBufferMemory = reinterpret_cast<PFN_vkBindBufferMemory>(getDeviceProcAddr(vkDevice, "vkBindBufferMemory"));
  slot.cmdPipelineBarrier =
      reinterpret_cast<PFN_vkCmdPipelineBarrier>(getDeviceProcAddr(vkDevice, "vkCmdPipelineBarrier"));
  slot.cmdCopyBuffer = reinterpret_cast<PFN_vkCmdCopyBuffer>(getDeviceProcAddr(vkDevice, "vkCmdCopyBuffer"));
  slot.cmdCopyImage = reinterpret_cast<PFN_vkCmdCopyImage>(getDeviceProcAddr(vkDevice, "vkCmdCopyImage"));
  slot.cmdCopyBufferToImage =
      reinterpret_cast<PFN_vkCmdCopyBufferToImage>(getDeviceProcAddr(vkDevice, "vkCmdCopyBufferToImage"));
  {
    auto families = reinterpret_cast<PFN_vkGetPhysicalDeviceQueueFamilyProperties>(
        vkGetInstanceProcAddr(vkInstance, "vkGetPhysicalDeviceQueueFamilyProperties"));
    uint32_t count = 0;
    if (families != nullptr) families(vkPhysical, &count, nullptr);
    slot.queueFamilyCount = count;
  }
  slot.createImageView = reinterpret_cast<PFN_vkCreateImageView>(getDeviceProcAddr(vkDevice, "vkCreateImageView"));
  slot.destroyImageView = reinterpret_cast<PFN_vkDestroyImageView>(getDeviceProcAddr(vkDevice, "vkDestroyImageView"));
  slot.getFenceStatus = reinterpret_cast<PFN_vkGetFenceStatus>(getDeviceProcAddr(vkDevice, "vkGetFenceStatus"));
  slot.waitForFences = reinterpret_cast<PFN_vkWaitForFences>(getDeviceProcAddr(vkDevice, "vkWaitForFences"));
  slot.resetFences = reinterpret_cast<PFN_vkResetFences>(getDeviceProcAddr(vkDevice, "vkResetFences"));
  slot.resetCommandPool = reinterpret_cast<PFN_vkResetCommandPool>(getDeviceProcAddr(vkDevice, "vkResetCommandPool"));
  slot.beginCommandBuffer =
      reinterpret_cast<PFN_vkBeginCommandBuffer>(getDeviceProcAddr(vkDevice, "vkBeginCommandBuffer"));
  slot.endCommandBuffer = reinterpret_cast<PFN_vkEndCommandBuffer>(getDeviceProcAddr(vkDevice, "vkEndCommandBuffer"));
  slot.queueSubmit = reinterpret_cast<PFN_vkQueueSubmit>(getDeviceProcAddr(vkDevice, "vkQueueSubmit"));
  slot.getDeviceProcAddr = getDeviceProcAddr;
  slot.unboundResources.clear();
  slot.liveAllocations = 0;
  slot.live = true;
  return Napi::Number::New(env, EncodeHandle(slot.generation, index));
}

// destroyAllocator(handle) -> { leaks: [{ name, size, memoryType, offset, kind, pool }], messages: string[] }
// Frees every allocation still alive (destroying the buffers and images vkmem created with them), then
// destroys the allocator's pools, before VMA sees the allocator go, so none of VMA's leak checks fire
// and nothing aborts.
Napi::Value Addon::DestroyAllocator(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t index = 0;
  AllocatorSlot& slot = AllocatorFrom(env, info[0], &index);
  Napi::Array leaks = Napi::Array::New(env);
  uint32_t n = 0;
  // Open defragmentation passes name allocations about to be freed: end them first (their moves ignored).
  AbandonDefragmentations(index, 0);
  // Buddy-pool resources still alive (TS tears buddy pools down first; this is the backstop): they are bound
  // into memory that is about to go, so they go first.
  for (const auto& [raw, image] : slot.unboundResources) {
    if (image) slot.destroyImage(slot.device, reinterpret_cast<VkImage>(raw), nullptr);
    else slot.destroyBuffer(slot.device, reinterpret_cast<VkBuffer>(raw), nullptr);
  }
  slot.unboundResources.clear();
  for (uint32_t i : LiveSlotsOldestFirst(index, 0, slot.liveAllocations)) {
    leaks.Set(n++, DescribeLeak(env, i));
    FreeAllocationNow(i);
  }
  for (uint32_t p = 1; p < pools.size(); ++p) {
    if (pools[p].live && pools[p].allocator == index) DestroyPoolNow(env, p, nullptr);
  }
  slot.aliases.clear();  // destroyed with their allocations above (FreeAllocationNow)
  DestroyScatterPipeline(slot);
  slot.trace.reset();
  vmaDestroyAllocator(slot.allocator);
  UnregisterDevice(slot.device);  // after every free of the allocator's memory, deferred ones included
  slot.allocator = VK_NULL_HANDLE;
  slot.live = false;
  slot.generation = slot.generation >= kMaxGeneration ? 1 : slot.generation + 1;
  Napi::Object out = Napi::Object::New(env);
  out.Set("leaks", leaks);
  out.Set("messages", TakeVmaMessages(info));
  return out;
}

// findResource(value: bigint) -> { allocator, name } | null: the live allocation whose buffer or image (created by
// vkmem or bound with bindBufferMemory / bindImageMemory) has this value, or the allocator whose buddy pool made it.
// A scan of the slot table: the calls that take raw handles are rare, and the hot create/destroy paths pay nothing.
Napi::Value Addon::FindResource(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint64_t value = BigIntArg(info, 0, "value");
  if (value == 0) return env.Null();
  for (uint32_t i = 1; i < allocations.size(); ++i) {
    const AllocationSlot& a = allocations[i];
    if (a.kind == Kind::Free || a.resource != value) continue;
    Napi::Object out = Napi::Object::New(env);
    out.Set("allocator", EncodeHandle(allocators[a.allocator].generation, a.allocator));
    VmaAllocationInfo ai;
    vmaGetAllocationInfo(allocators[a.allocator].allocator, a.allocation, &ai);
    out.Set("name", ai.pName ? Napi::Value(Napi::String::New(env, ai.pName)) : env.Null());
    return out;
  }
  for (uint32_t i = 1; i < allocators.size(); ++i) {
    if (!allocators[i].live) continue;
    auto alias = allocators[i].aliases.find(value);  // an aliasing resource (aliasing.cpp): named by its allocation
    if (alias != allocators[i].aliases.end()) {
      Napi::Object out = Napi::Object::New(env);
      out.Set("allocator", EncodeHandle(allocators[i].generation, i));
      VmaAllocationInfo ai;
      vmaGetAllocationInfo(allocators[i].allocator, allocations[alias->second.allocation].allocation, &ai);
      out.Set("name", ai.pName ? Napi::Value(Napi::String::New(env, ai.pName)) : env.Null());
      return out;
    }
    if (allocators[i].unboundResources.count(value) == 0) continue;
    Napi::Object out = Napi::Object::New(env);
    out.Set("allocator", EncodeHandle(allocators[i].generation, i));
    out.Set("name", env.Null());
    return out;
  }
  return env.Null();
}

Napi::Value Addon::LiveAllocationCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), AllocatorFrom(info.Env(), info[0]).liveAllocations);
}

Napi::Value Addon::GetMemoryProperties(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocatorSlot& slot = AllocatorFrom(env, info[0]);
  const VkPhysicalDeviceMemoryProperties* mp = nullptr;
  const VkPhysicalDeviceProperties* pp = nullptr;
  vmaGetMemoryProperties(slot.allocator, &mp);
  vmaGetPhysicalDeviceProperties(slot.allocator, &pp);
  Napi::Object o = Napi::Object::New(env);
  Napi::Array heaps = Napi::Array::New(env, mp->memoryHeapCount);
  for (uint32_t i = 0; i < mp->memoryHeapCount; ++i) {
    Napi::Object h = Napi::Object::New(env);
    h.Set("size", static_cast<double>(mp->memoryHeaps[i].size));
    h.Set("flags", static_cast<double>(mp->memoryHeaps[i].flags));
    heaps.Set(i, h);
  }
  Napi::Array types = Napi::Array::New(env, mp->memoryTypeCount);
  for (uint32_t i = 0; i < mp->memoryTypeCount; ++i) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("propertyFlags", static_cast<double>(mp->memoryTypes[i].propertyFlags));
    t.Set("heapIndex", static_cast<double>(mp->memoryTypes[i].heapIndex));
    types.Set(i, t);
  }
  o.Set("heaps", heaps);
  o.Set("types", types);
  o.Set("deviceName", pp->deviceName);
  o.Set("deviceType", static_cast<double>(pp->deviceType));
  o.Set("apiVersion", static_cast<double>(pp->apiVersion));
  o.Set("vendorID", static_cast<double>(pp->vendorID));
  o.Set("deviceID", static_cast<double>(pp->deviceID));
  o.Set("nonCoherentAtomSize", static_cast<double>(pp->limits.nonCoherentAtomSize));
  o.Set("bufferImageGranularity", static_cast<double>(pp->limits.bufferImageGranularity));
  o.Set("maxMemoryAllocationCount", static_cast<double>(pp->limits.maxMemoryAllocationCount));
  return o;
}

Napi::Value Addon::GetHeapBudgets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocatorSlot& slot = AllocatorFrom(env, info[0]);
  const VkPhysicalDeviceMemoryProperties* mp = nullptr;
  vmaGetMemoryProperties(slot.allocator, &mp);
  VmaBudget budgets[VK_MAX_MEMORY_HEAPS];
  vmaGetHeapBudgets(slot.allocator, budgets);
  Napi::Array out = Napi::Array::New(env, mp->memoryHeapCount);
  for (uint32_t i = 0; i < mp->memoryHeapCount; ++i) {
    Napi::Object b = Napi::Object::New(env);
    b.Set("blockCount", static_cast<double>(budgets[i].statistics.blockCount));
    b.Set("allocationCount", static_cast<double>(budgets[i].statistics.allocationCount));
    b.Set("blockBytes", static_cast<double>(budgets[i].statistics.blockBytes));
    b.Set("allocationBytes", static_cast<double>(budgets[i].statistics.allocationBytes));
    b.Set("usage", static_cast<double>(budgets[i].usage));
    b.Set("budget", static_cast<double>(budgets[i].budget));
    out.Set(i, b);
  }
  return out;
}

Napi::Value Addon::CalculateStatistics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocatorSlot& slot = AllocatorFrom(env, info[0]);
  const VkPhysicalDeviceMemoryProperties* mp = nullptr;
  vmaGetMemoryProperties(slot.allocator, &mp);
  VmaTotalStatistics stats;
  vmaCalculateStatistics(slot.allocator, &stats);
  Napi::Object o = Napi::Object::New(env);
  o.Set("total", DetailedStats(env, stats.total));
  Napi::Array heaps = Napi::Array::New(env, mp->memoryHeapCount);
  for (uint32_t i = 0; i < mp->memoryHeapCount; ++i) heaps.Set(i, DetailedStats(env, stats.memoryHeap[i]));
  Napi::Array types = Napi::Array::New(env, mp->memoryTypeCount);
  for (uint32_t i = 0; i < mp->memoryTypeCount; ++i) types.Set(i, DetailedStats(env, stats.memoryType[i]));
  o.Set("memoryHeap", heaps);
  o.Set("memoryType", types);
  return o;
}

Napi::Value Addon::BuildStatsString(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocatorSlot& slot = AllocatorFrom(env, info[0]);
  bool detailed = info.Length() > 1 && info[1].ToBoolean().Value();
  char* s = nullptr;
  vmaBuildStatsString(slot.allocator, &s, detailed ? VK_TRUE : VK_FALSE);
  Napi::String out = Napi::String::New(env, s ? s : "");
  vmaFreeStatsString(slot.allocator, s);
  return out;
}

Napi::Value Addon::SetCurrentFrameIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocatorSlot& slot = AllocatorFrom(env, info[0]);
  double f = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (!IsUint(f, 4294967295.0)) throw RangeErrorFor(env, "frame index must be an integer in [0, 2^32)");
  vmaSetCurrentFrameIndex(slot.allocator, static_cast<uint32_t>(f));
  return env.Undefined();
}

// findMemoryTypeIndex(handle) with memoryTypeBits at scratch kIn0 and the allocation create info in
// the scratch: returns the index, or the negative VkResult when no type fits.
Napi::Value Addon::FindMemoryTypeIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, info[0], &ai);
  double bits = f64[Scratch::kIn0];
  if (!IsUint(bits, 4294967295.0)) throw RangeErrorFor(env, "memoryTypeBits out of range");
  VmaAllocationCreateInfo aci;
  if (!ReadAllocationCreateInfo(env, aci, "vmaFindMemoryTypeIndex", ai)) return env.Undefined();
  uint32_t index = 0;
  VkResult r = vmaFindMemoryTypeIndex(slot.allocator, static_cast<uint32_t>(bits), &aci, &index);
  ThrowIfVmaAsserted(env, "vmaFindMemoryTypeIndex");
  return Napi::Number::New(env, r == VK_SUCCESS ? static_cast<double>(index) : static_cast<double>(r));
}

// findMemoryTypeIndexForBufferInfo(handle) / ...ForImageInfo(handle): the resource description as
// createBuffer / createImage lay it out and the allocation create info, in the scratch. These accept the
// Auto usages (VMA reads the resource's usage). Returns the index, or the negative VkResult.
Napi::Value Addon::FindMemoryTypeIndexFor(const Napi::CallbackInfo& info, bool image) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, info[0], &ai);
  const char* operation = image ? "vmaFindMemoryTypeIndexForImageInfo" : "vmaFindMemoryTypeIndexForBufferInfo";
  VkBufferCreateInfo bci;
  VkImageCreateInfo ici;
  if (image) ReadImageCreateInfo(env, ici);
  else ReadBufferCreateInfo(env, bci);
  VmaAllocationCreateInfo aci;
  ReadAllocationCreateInfo(env, aci, operation, ai);
  uint32_t index = 0;
  VkResult r = image ? vmaFindMemoryTypeIndexForImageInfo(slot.allocator, &ici, &aci, &index)
                     : vmaFindMemoryTypeIndexForBufferInfo(slot.allocator, &bci, &aci, &index);
  ThrowIfVmaAsserted(env, operation);
  return Napi::Number::New(env, r == VK_SUCCESS ? static_cast<double>(index) : static_cast<double>(r));
}

Napi::Value Addon::FindMemoryTypeIndexForBufferInfo(const Napi::CallbackInfo& info) { return FindMemoryTypeIndexFor(info, false); }
Napi::Value Addon::FindMemoryTypeIndexForImageInfo(const Napi::CallbackInfo& info) { return FindMemoryTypeIndexFor(info, true); }

}  // namespace vkmem
