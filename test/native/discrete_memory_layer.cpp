// VK_LAYER_VKMEM_discrete_memory: a Vulkan layer for vkmem's tests that shows the device beneath it with the memory
// of a discrete GPU, so that tests written on lavapipe (one heap, one memory type that is host-visible and takes
// every resource) also run against the memory they meet on a real GPU, on every machine and in CI.
//
// The layout is the one the NVIDIA H200 reports (measured there by bench/gpu/memory-types.ts):
//   heap 0: DEVICE_LOCAL, heap 1: host memory (each as large as the device's first heap: a heap of 1 GiB or less
//   would make VMA choose small-heap block sizes, heap / 8, which no discrete GPU gets)
//   type 0: heap 1, no property flags (what AutoPreferHost and CpuCopy get there)
//   type 1: heap 0, DEVICE_LOCAL
//   type 2: heap 1, HOST_VISIBLE | HOST_COHERENT
//   type 3: heap 1, HOST_VISIBLE | HOST_COHERENT | HOST_CACHED
//   type 4: heap 0, DEVICE_LOCAL | HOST_VISIBLE | HOST_COHERENT (resizable BAR)
// Buffers and linear images take every type; optimal images only types 0 and 1, so no memory an optimal image can
// use is host-visible; imported host pointers take types 2 and 3. A buffer's memory requirement is rounded up to 16
// bytes, as NVIDIA's driver rounds it, where lavapipe asks for the buffer's own size.
//
// The memory itself is the device's: every simulated type allocates from its memory type 0 (over a device whose type 0
// is not host-visible and coherent, as lavapipe's is, the layer reports the device's own memory and says so). What
// the layer adds is the rules: it reports the layout above, translates memoryTypeBits into it, remembers the type
// each allocation was made in, refuses vkMapMemory on memory without HOST_VISIBLE with VK_ERROR_MEMORY_MAP_FAILED (as
// a driver may; the validation layer, when it sits above this one, reports it first) and, where a heap is used up,
// answers VK_ERROR_OUT_OF_DEVICE_MEMORY as a device would.
//
// It offers VK_EXT_memory_budget, as the H200's driver does, which lavapipe does not: the extension is taken out of
// the device's create info on its way down, and the budget structure of vkGetPhysicalDeviceMemoryProperties2 is
// filled here: each heap's usage is what the process's devices hold in it, its budget the heap less a sixteenth (what
// other processes use, as a driver reports).
//
// Enabled by VK_INSTANCE_LAYERS=VK_LAYER_VKMEM_discrete_memory with its manifest on VK_ADD_LAYER_PATH (see
// test/helpers/discrete-memory.ts, which builds it). Linux only; not part of the package.
#include <vulkan/vk_layer.h>
#include <vulkan/vulkan.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#define EXPORT extern "C" __attribute__((visibility("default")))

namespace {

constexpr uint32_t kTypeCount = 5;
constexpr uint32_t kAllTypes = (1u << kTypeCount) - 1;
constexpr uint32_t kOptimalImageTypes = 0x3;
constexpr uint32_t kHostPointerTypes = 0xc;
constexpr VkMemoryPropertyFlags kDL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
constexpr VkMemoryPropertyFlags kHV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
constexpr VkMemoryPropertyFlags kHC = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
constexpr VkMemoryPropertyFlags kCached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
constexpr VkMemoryType kTypes[kTypeCount] = {
    {0, 1}, {kDL, 0}, {kHV | kHC, 1}, {kHV | kHC | kCached, 1}, {kDL | kHV | kHC, 0}};

using Key = void*;
Key keyOf(const void* dispatchable) { return *static_cast<void* const*>(dispatchable); }

constexpr const char* kBudgetExtension = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;

struct InstanceData {
  PFN_vkGetInstanceProcAddr next = nullptr;
  PFN_vkEnumerateDeviceExtensionProperties enumerateDeviceExtensions = nullptr;
  PFN_vkDestroyInstance destroyInstance = nullptr;
  PFN_vkGetPhysicalDeviceMemoryProperties memoryProperties = nullptr;
  PFN_vkGetPhysicalDeviceMemoryProperties2 memoryProperties2 = nullptr;
};

struct DeviceData {
  PFN_vkGetDeviceProcAddr next = nullptr;
  PFN_vkDestroyDevice destroyDevice = nullptr;
  PFN_vkAllocateMemory allocateMemory = nullptr;
  PFN_vkFreeMemory freeMemory = nullptr;
  PFN_vkMapMemory mapMemory = nullptr;
  PFN_vkCreateImage createImage = nullptr;
  PFN_vkDestroyImage destroyImage = nullptr;
  PFN_vkGetBufferMemoryRequirements bufferRequirements = nullptr;
  PFN_vkGetBufferMemoryRequirements2 bufferRequirements2 = nullptr;
  PFN_vkGetImageMemoryRequirements imageRequirements = nullptr;
  PFN_vkGetImageMemoryRequirements2 imageRequirements2 = nullptr;
  PFN_vkGetDeviceBufferMemoryRequirements deviceBufferRequirements = nullptr;
  PFN_vkGetDeviceImageMemoryRequirements deviceImageRequirements = nullptr;
  PFN_vkGetMemoryHostPointerPropertiesEXT hostPointerProperties = nullptr;
  Key physicalDevice = nullptr;
  VkDeviceSize heapSize[2] = {0, 0};
  VkDeviceSize heapUsed[2] = {0, 0};
  std::unordered_map<uint64_t, uint32_t> memoryType;          // VkDeviceMemory -> simulated type
  std::unordered_map<uint64_t, VkDeviceSize> memorySize;      // VkDeviceMemory -> bytes
  std::unordered_map<uint64_t, VkImageTiling> imageTiling;    // VkImage -> tiling
};

std::mutex lock;
std::unordered_map<Key, InstanceData> instances;
std::unordered_map<Key, DeviceData> devices;
std::unordered_map<Key, VkDeviceSize> physicalHeap;  // physical device -> the device's heap 0 size

template <typename T>
uint64_t handleOf(T* h) {
  return reinterpret_cast<uint64_t>(h);
}

InstanceData& instanceOf(const void* dispatchable) {
  std::lock_guard<std::mutex> guard(lock);
  return instances.at(keyOf(dispatchable));
}
DeviceData& deviceOf(const void* dispatchable) {
  std::lock_guard<std::mutex> guard(lock);
  return devices.at(keyOf(dispatchable));
}

/** Removes what the layer keeps for `dispatchable` from `table`; returns its `member` (the next layer's destroy). */
template <typename Table, typename Member>
auto forget(Table& table, const void* dispatchable, Member member) {
  std::lock_guard<std::mutex> guard(lock);
  auto found = table.find(keyOf(dispatchable));
  auto destroy = found->second.*member;
  table.erase(found);
  return destroy;
}

/** The loader's link to the next layer in a create info's pNext chain (sType `type`, function VK_LAYER_LINK_INFO). */
template <typename Info>
Info* loaderLink(const void* next, VkStructureType type) {
  auto* info = static_cast<Info*>(const_cast<void*>(next));
  while (info && !(info->sType == type && info->function == VK_LAYER_LINK_INFO)) {
    info = static_cast<Info*>(const_cast<void*>(info->pNext));
  }
  return info;
}

/** The simulated types a resource the device gives `realBits` may use, `wanted` the layout's set for it. */
uint32_t translate(uint32_t realBits, uint32_t wanted) { return (realBits & 1u) ? wanted : 0; }

/**
 * A buffer's requirements as the GPU's driver gives them: its memory types translated, and its size rounded up to a
 * multiple of 16 bytes, as NVIDIA's driver does (a 1000-byte buffer needs 1008 bytes on the H100; lavapipe asks for
 * the size itself), so that a test that takes an allocation's size for the buffer's fails here as it would there.
 * Asking for more than the device beneath needs is allowed; the memory is the device's, bound as before.
 */
void gpuBufferRequirements(VkMemoryRequirements& r) {
  r.memoryTypeBits = translate(r.memoryTypeBits, kAllTypes);
  r.size = (r.size + 15) & ~VkDeviceSize{15};
}

void fillProperties(VkPhysicalDevice physicalDevice, VkPhysicalDeviceMemoryProperties& p) {
  if ((p.memoryTypes[0].propertyFlags & (kHV | kHC)) != (kHV | kHC)) {
    fprintf(stderr, "VK_LAYER_VKMEM_discrete_memory: the device's memory type 0 is not HOST_VISIBLE|HOST_COHERENT: "
                    "not simulating\n");
    return;
  }
  const VkDeviceSize real = p.memoryHeaps[0].size;
  {
    std::lock_guard<std::mutex> guard(lock);
    physicalHeap[keyOf(physicalDevice)] = real;
  }
  p.memoryHeapCount = 2;
  p.memoryHeaps[0] = {real, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
  p.memoryHeaps[1] = {real, 0};
  p.memoryTypeCount = kTypeCount;
  for (uint32_t i = 0; i < kTypeCount; i++) p.memoryTypes[i] = kTypes[i];
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceMemoryProperties(VkPhysicalDevice pd, VkPhysicalDeviceMemoryProperties* p) {
  instanceOf(pd).memoryProperties(pd, p);
  fillProperties(pd, *p);
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceMemoryProperties2(VkPhysicalDevice pd,
                                                              VkPhysicalDeviceMemoryProperties2* p) {
  InstanceData& data = instanceOf(pd);
  if (data.memoryProperties2) {
    data.memoryProperties2(pd, p);
  } else {
    data.memoryProperties(pd, &p->memoryProperties);
  }
  fillProperties(pd, p->memoryProperties);
  for (auto* next = static_cast<VkBaseOutStructure*>(p->pNext); next != nullptr; next = next->pNext) {
    if (next->sType != VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT) continue;
    auto* budget = reinterpret_cast<VkPhysicalDeviceMemoryBudgetPropertiesEXT*>(next);
    std::lock_guard<std::mutex> guard(lock);
    for (uint32_t h = 0; h < VK_MAX_MEMORY_HEAPS; h++) budget->heapBudget[h] = budget->heapUsage[h] = 0;
    for (uint32_t h = 0; h < p->memoryProperties.memoryHeapCount; h++) {
      const VkDeviceSize size = p->memoryProperties.memoryHeaps[h].size;
      budget->heapBudget[h] = size - size / 16;
      for (const auto& [key, d] : devices) {
        if (d.physicalDevice == keyOf(pd) && h < 2) budget->heapUsage[h] += d.heapUsed[h];
      }
    }
  }
}

VKAPI_ATTR VkResult VKAPI_CALL EnumerateDeviceExtensionProperties(VkPhysicalDevice pd, const char* layerName,
                                                                  uint32_t* count, VkExtensionProperties* properties) {
  InstanceData& data = instanceOf(pd);
  if (layerName != nullptr && std::strcmp(layerName, "VK_LAYER_VKMEM_discrete_memory") == 0) {
    const VkExtensionProperties own = {VK_EXT_MEMORY_BUDGET_EXTENSION_NAME, VK_EXT_MEMORY_BUDGET_SPEC_VERSION};
    if (properties == nullptr) {
      *count = 1;
      return VK_SUCCESS;
    }
    if (*count < 1) return VK_INCOMPLETE;
    properties[0] = own;
    *count = 1;
    return VK_SUCCESS;
  }
  if (layerName != nullptr) return data.enumerateDeviceExtensions(pd, layerName, count, properties);
  // The device's own, and VK_EXT_memory_budget where it lacks it.
  uint32_t below = 0;
  VkResult result = data.enumerateDeviceExtensions(pd, nullptr, &below, nullptr);
  if (result != VK_SUCCESS) return result;
  std::vector<VkExtensionProperties> all(below);
  result = data.enumerateDeviceExtensions(pd, nullptr, &below, all.data());
  if (result != VK_SUCCESS) return result;
  all.resize(below);
  bool has = false;
  for (const auto& e : all) has = has || std::strcmp(e.extensionName, kBudgetExtension) == 0;
  if (!has) all.push_back({VK_EXT_MEMORY_BUDGET_EXTENSION_NAME, VK_EXT_MEMORY_BUDGET_SPEC_VERSION});
  if (properties == nullptr) {
    *count = static_cast<uint32_t>(all.size());
    return VK_SUCCESS;
  }
  const uint32_t n = std::min<uint32_t>(*count, static_cast<uint32_t>(all.size()));
  for (uint32_t i = 0; i < n; i++) properties[i] = all[i];
  *count = n;
  return n < all.size() ? VK_INCOMPLETE : VK_SUCCESS;
}

// ---- device ----

VKAPI_ATTR VkResult VKAPI_CALL AllocateMemory(VkDevice device, const VkMemoryAllocateInfo* info,
                                              const VkAllocationCallbacks* allocator, VkDeviceMemory* memory) {
  DeviceData& d = deviceOf(device);
  const uint32_t type = info->memoryTypeIndex;
  if (type >= kTypeCount) {
    fprintf(stderr, "VK_LAYER_VKMEM_discrete_memory: vkAllocateMemory with memoryTypeIndex %u of %u\n", type,
            kTypeCount);
    return VK_ERROR_OUT_OF_DEVICE_MEMORY;
  }
  const uint32_t heap = kTypes[type].heapIndex;
  {
    std::lock_guard<std::mutex> guard(lock);
    if (d.heapSize[heap] != 0 && d.heapUsed[heap] + info->allocationSize > d.heapSize[heap]) {
      return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    }
  }
  VkMemoryAllocateInfo real = *info;
  real.memoryTypeIndex = 0;
  const VkResult result = d.allocateMemory(device, &real, allocator, memory);
  if (result == VK_SUCCESS) {
    std::lock_guard<std::mutex> guard(lock);
    d.memoryType[handleOf(*memory)] = type;
    d.memorySize[handleOf(*memory)] = info->allocationSize;
    d.heapUsed[heap] += info->allocationSize;
  }
  return result;
}

VKAPI_ATTR void VKAPI_CALL FreeMemory(VkDevice device, VkDeviceMemory memory, const VkAllocationCallbacks* allocator) {
  DeviceData& d = deviceOf(device);
  if (memory != VK_NULL_HANDLE) {
    std::lock_guard<std::mutex> guard(lock);
    auto type = d.memoryType.find(handleOf(memory));
    if (type != d.memoryType.end()) {
      d.heapUsed[kTypes[type->second].heapIndex] -= d.memorySize[handleOf(memory)];
      d.memorySize.erase(handleOf(memory));
      d.memoryType.erase(type);
    }
  }
  d.freeMemory(device, memory, allocator);
}

VKAPI_ATTR VkResult VKAPI_CALL MapMemory(VkDevice device, VkDeviceMemory memory, VkDeviceSize offset,
                                         VkDeviceSize size, VkMemoryMapFlags flags, void** data) {
  DeviceData& d = deviceOf(device);
  uint32_t type = 0;
  {
    std::lock_guard<std::mutex> guard(lock);
    auto found = d.memoryType.find(handleOf(memory));
    if (found != d.memoryType.end()) type = found->second;
  }
  if ((kTypes[type].propertyFlags & kHV) == 0) {
    fprintf(stderr, "VK_LAYER_VKMEM_discrete_memory: vkMapMemory of memory type %u, which is not HOST_VISIBLE\n",
            type);
    return VK_ERROR_MEMORY_MAP_FAILED;
  }
  return d.mapMemory(device, memory, offset, size, flags, data);
}

VKAPI_ATTR VkResult VKAPI_CALL CreateImage(VkDevice device, const VkImageCreateInfo* info,
                                           const VkAllocationCallbacks* allocator, VkImage* image) {
  DeviceData& d = deviceOf(device);
  const VkResult result = d.createImage(device, info, allocator, image);
  if (result == VK_SUCCESS) {
    std::lock_guard<std::mutex> guard(lock);
    d.imageTiling[handleOf(*image)] = info->tiling;
  }
  return result;
}

VKAPI_ATTR void VKAPI_CALL DestroyImage(VkDevice device, VkImage image, const VkAllocationCallbacks* allocator) {
  DeviceData& d = deviceOf(device);
  {
    std::lock_guard<std::mutex> guard(lock);
    d.imageTiling.erase(handleOf(image));
  }
  d.destroyImage(device, image, allocator);
}

uint32_t imageTypes(DeviceData& d, VkImage image) {
  std::lock_guard<std::mutex> guard(lock);
  auto found = d.imageTiling.find(handleOf(image));
  const bool linear = found != d.imageTiling.end() && found->second == VK_IMAGE_TILING_LINEAR;
  return linear ? kAllTypes : kOptimalImageTypes;
}

VKAPI_ATTR void VKAPI_CALL GetBufferMemoryRequirements(VkDevice device, VkBuffer buffer, VkMemoryRequirements* r) {
  deviceOf(device).bufferRequirements(device, buffer, r);
  gpuBufferRequirements(*r);
}

VKAPI_ATTR void VKAPI_CALL GetBufferMemoryRequirements2(VkDevice device, const VkBufferMemoryRequirementsInfo2* info,
                                                        VkMemoryRequirements2* r) {
  deviceOf(device).bufferRequirements2(device, info, r);
  gpuBufferRequirements(r->memoryRequirements);
}

VKAPI_ATTR void VKAPI_CALL GetImageMemoryRequirements(VkDevice device, VkImage image, VkMemoryRequirements* r) {
  DeviceData& d = deviceOf(device);
  d.imageRequirements(device, image, r);
  r->memoryTypeBits = translate(r->memoryTypeBits, imageTypes(d, image));
}

VKAPI_ATTR void VKAPI_CALL GetImageMemoryRequirements2(VkDevice device, const VkImageMemoryRequirementsInfo2* info,
                                                       VkMemoryRequirements2* r) {
  DeviceData& d = deviceOf(device);
  d.imageRequirements2(device, info, r);
  r->memoryRequirements.memoryTypeBits =
      translate(r->memoryRequirements.memoryTypeBits, imageTypes(d, info->image));
}

VKAPI_ATTR void VKAPI_CALL GetDeviceBufferMemoryRequirements(VkDevice device,
                                                             const VkDeviceBufferMemoryRequirements* info,
                                                             VkMemoryRequirements2* r) {
  deviceOf(device).deviceBufferRequirements(device, info, r);
  gpuBufferRequirements(r->memoryRequirements);
}

VKAPI_ATTR void VKAPI_CALL GetDeviceImageMemoryRequirements(VkDevice device,
                                                            const VkDeviceImageMemoryRequirements* info,
                                                            VkMemoryRequirements2* r) {
  deviceOf(device).deviceImageRequirements(device, info, r);
  const bool linear = info->pCreateInfo->tiling == VK_IMAGE_TILING_LINEAR;
  r->memoryRequirements.memoryTypeBits =
      translate(r->memoryRequirements.memoryTypeBits, linear ? kAllTypes : kOptimalImageTypes);
}

VKAPI_ATTR VkResult VKAPI_CALL GetMemoryHostPointerPropertiesEXT(VkDevice device,
                                                                 VkExternalMemoryHandleTypeFlagBits handleType,
                                                                 const void* pointer,
                                                                 VkMemoryHostPointerPropertiesEXT* properties) {
  const VkResult result = deviceOf(device).hostPointerProperties(device, handleType, pointer, properties);
  if (result == VK_SUCCESS) properties->memoryTypeBits = translate(properties->memoryTypeBits, kHostPointerTypes);
  return result;
}

PFN_vkVoidFunction deviceFunction(const char* name);

VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL GetDeviceProcAddr(VkDevice device, const char* name) {
  PFN_vkGetDeviceProcAddr next = nullptr;
  if (device != VK_NULL_HANDLE) {
    std::lock_guard<std::mutex> guard(lock);
    auto found = devices.find(keyOf(device));
    if (found != devices.end()) next = found->second.next;
  }
  if (next == nullptr) return nullptr;  // a device this layer did not create: nothing to give
  PFN_vkVoidFunction below = next(device, name);
  // Only where the device has the function: a null from below stays null.
  if (PFN_vkVoidFunction own = deviceFunction(name)) return below != nullptr ? own : nullptr;
  return below;
}

VKAPI_ATTR void VKAPI_CALL DestroyDevice(VkDevice device, const VkAllocationCallbacks* allocator) {
  forget(devices, device, &DeviceData::destroyDevice)(device, allocator);
}

VKAPI_ATTR VkResult VKAPI_CALL CreateDevice(VkPhysicalDevice pd, const VkDeviceCreateInfo* info,
                                            const VkAllocationCallbacks* allocator, VkDevice* device) {
  auto* link = loaderLink<VkLayerDeviceCreateInfo>(info->pNext, VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO);
  if (!link) return VK_ERROR_INITIALIZATION_FAILED;
  PFN_vkGetInstanceProcAddr gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
  PFN_vkGetDeviceProcAddr gdpa = link->u.pLayerInfo->pfnNextGetDeviceProcAddr;
  link->u.pLayerInfo = link->u.pLayerInfo->pNext;
  auto create = reinterpret_cast<PFN_vkCreateDevice>(gipa(VK_NULL_HANDLE, "vkCreateDevice"));
  // VK_EXT_memory_budget is this layer's: the device beneath never sees it.
  std::vector<const char*> extensions;
  for (uint32_t i = 0; i < info->enabledExtensionCount; i++) {
    if (std::strcmp(info->ppEnabledExtensionNames[i], kBudgetExtension) != 0)
      extensions.push_back(info->ppEnabledExtensionNames[i]);
  }
  VkDeviceCreateInfo down = *info;
  down.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  down.ppEnabledExtensionNames = extensions.empty() ? nullptr : extensions.data();
  const VkResult result = create(pd, &down, allocator, device);
  if (result != VK_SUCCESS) return result;

  DeviceData d;
  d.physicalDevice = keyOf(pd);
  d.next = gdpa;
#define NEXT(field, name) d.field = reinterpret_cast<decltype(d.field)>(gdpa(*device, name))
  // A core function, else its KHR alias (maintenance4 before 1.3, get_memory_requirements2 before 1.1).
#define NEXT_OR(field, name, alias) \
  NEXT(field, name);                \
  if (!d.field) NEXT(field, alias)
  NEXT(destroyDevice, "vkDestroyDevice");
  NEXT(allocateMemory, "vkAllocateMemory");
  NEXT(freeMemory, "vkFreeMemory");
  NEXT(mapMemory, "vkMapMemory");
  NEXT(createImage, "vkCreateImage");
  NEXT(destroyImage, "vkDestroyImage");
  NEXT(bufferRequirements, "vkGetBufferMemoryRequirements");
  NEXT_OR(bufferRequirements2, "vkGetBufferMemoryRequirements2", "vkGetBufferMemoryRequirements2KHR");
  NEXT(imageRequirements, "vkGetImageMemoryRequirements");
  NEXT_OR(imageRequirements2, "vkGetImageMemoryRequirements2", "vkGetImageMemoryRequirements2KHR");
  NEXT_OR(deviceBufferRequirements, "vkGetDeviceBufferMemoryRequirements", "vkGetDeviceBufferMemoryRequirementsKHR");
  NEXT_OR(deviceImageRequirements, "vkGetDeviceImageMemoryRequirements", "vkGetDeviceImageMemoryRequirementsKHR");
  NEXT(hostPointerProperties, "vkGetMemoryHostPointerPropertiesEXT");
#undef NEXT_OR
#undef NEXT
  {
    std::lock_guard<std::mutex> guard(lock);
    auto heap = physicalHeap.find(keyOf(pd));
    const VkDeviceSize real = heap != physicalHeap.end() ? heap->second : 0;
    d.heapSize[0] = real;
    d.heapSize[1] = real;
    devices[keyOf(*device)] = std::move(d);
  }
  return VK_SUCCESS;
}

PFN_vkVoidFunction deviceFunction(const char* name) {
  struct Entry {
    const char* name;
    PFN_vkVoidFunction fn;
  };
#define FN(n, f) {n, reinterpret_cast<PFN_vkVoidFunction>(f)}
  static const Entry table[] = {
      FN("vkGetDeviceProcAddr", GetDeviceProcAddr),
      FN("vkDestroyDevice", DestroyDevice),
      FN("vkAllocateMemory", AllocateMemory),
      FN("vkFreeMemory", FreeMemory),
      FN("vkMapMemory", MapMemory),
      FN("vkCreateImage", CreateImage),
      FN("vkDestroyImage", DestroyImage),
      FN("vkGetBufferMemoryRequirements", GetBufferMemoryRequirements),
      FN("vkGetBufferMemoryRequirements2", GetBufferMemoryRequirements2),
      FN("vkGetBufferMemoryRequirements2KHR", GetBufferMemoryRequirements2),
      FN("vkGetImageMemoryRequirements", GetImageMemoryRequirements),
      FN("vkGetImageMemoryRequirements2", GetImageMemoryRequirements2),
      FN("vkGetImageMemoryRequirements2KHR", GetImageMemoryRequirements2),
      FN("vkGetDeviceBufferMemoryRequirements", GetDeviceBufferMemoryRequirements),
      FN("vkGetDeviceBufferMemoryRequirementsKHR", GetDeviceBufferMemoryRequirements),
      FN("vkGetDeviceImageMemoryRequirements", GetDeviceImageMemoryRequirements),
      FN("vkGetDeviceImageMemoryRequirementsKHR", GetDeviceImageMemoryRequirements),
      FN("vkGetMemoryHostPointerPropertiesEXT", GetMemoryHostPointerPropertiesEXT),
  };
#undef FN
  for (const Entry& e : table)
    if (std::strcmp(e.name, name) == 0) return e.fn;
  return nullptr;
}

// ---- instance ----

VKAPI_ATTR void VKAPI_CALL DestroyInstance(VkInstance instance, const VkAllocationCallbacks* allocator) {
  forget(instances, instance, &InstanceData::destroyInstance)(instance, allocator);
}

VKAPI_ATTR VkResult VKAPI_CALL CreateInstance(const VkInstanceCreateInfo* info, const VkAllocationCallbacks* allocator,
                                              VkInstance* instance) {
  auto* link = loaderLink<VkLayerInstanceCreateInfo>(info->pNext, VK_STRUCTURE_TYPE_LOADER_INSTANCE_CREATE_INFO);
  if (!link) return VK_ERROR_INITIALIZATION_FAILED;
  PFN_vkGetInstanceProcAddr gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
  link->u.pLayerInfo = link->u.pLayerInfo->pNext;
  auto create = reinterpret_cast<PFN_vkCreateInstance>(gipa(VK_NULL_HANDLE, "vkCreateInstance"));
  const VkResult result = create(info, allocator, instance);
  if (result != VK_SUCCESS) return result;
  InstanceData data;
  data.next = gipa;
  data.destroyInstance = reinterpret_cast<PFN_vkDestroyInstance>(gipa(*instance, "vkDestroyInstance"));
  data.enumerateDeviceExtensions = reinterpret_cast<PFN_vkEnumerateDeviceExtensionProperties>(
      gipa(*instance, "vkEnumerateDeviceExtensionProperties"));
  data.memoryProperties = reinterpret_cast<PFN_vkGetPhysicalDeviceMemoryProperties>(
      gipa(*instance, "vkGetPhysicalDeviceMemoryProperties"));
  for (const char* name : {"vkGetPhysicalDeviceMemoryProperties2", "vkGetPhysicalDeviceMemoryProperties2KHR"}) {
    if (!data.memoryProperties2)
      data.memoryProperties2 = reinterpret_cast<PFN_vkGetPhysicalDeviceMemoryProperties2>(gipa(*instance, name));
  }
  std::lock_guard<std::mutex> guard(lock);
  instances[keyOf(*instance)] = data;
  return VK_SUCCESS;
}

}  // namespace

EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vkmemDiscreteMemory_GetDeviceProcAddr(VkDevice device,
                                                                                     const char* name) {
  return GetDeviceProcAddr(device, name);
}

EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vkmemDiscreteMemory_GetInstanceProcAddr(VkInstance instance,
                                                                                       const char* name) {
#define FN(n, f) \
  if (std::strcmp(name, n) == 0) return reinterpret_cast<PFN_vkVoidFunction>(f)
  FN("vkGetInstanceProcAddr", vkmemDiscreteMemory_GetInstanceProcAddr);
  FN("vkCreateInstance", CreateInstance);
  FN("vkDestroyInstance", DestroyInstance);
  FN("vkCreateDevice", CreateDevice);
  FN("vkEnumerateDeviceExtensionProperties", EnumerateDeviceExtensionProperties);
  FN("vkGetPhysicalDeviceMemoryProperties", GetPhysicalDeviceMemoryProperties);
  FN("vkGetPhysicalDeviceMemoryProperties2", GetPhysicalDeviceMemoryProperties2);
  FN("vkGetPhysicalDeviceMemoryProperties2KHR", GetPhysicalDeviceMemoryProperties2);
#undef FN
  if (PFN_vkVoidFunction own = deviceFunction(name)) return own;
  if (instance == VK_NULL_HANDLE) return nullptr;
  return instanceOf(instance).next(instance, name);
}
