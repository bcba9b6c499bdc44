// The C++ side of the host-import measurement in bench/uploads: what a large upload would cost if the GPU read the
// caller's own memory (VK_EXT_external_memory_host) instead of vkmem copying it into staging memory first.
//
// Each repetition takes fresh memory the way Node's ArrayBuffers of this size get it (malloc, which glibc serves
// with mmap: page-aligned plus a 16-byte header, so the bytes start 16 bytes into a page) and fills it, then:
//  - memcpy: copies it once on one thread into another warm buffer (the baseline the uploads bench also uses);
//  - import: rounds the range out to minImportedHostPointerAlignment, asks vkGetMemoryHostPointerPropertiesEXT for
//    its memory types, creates a TRANSFER_SRC buffer over it and allocates the imported memory (the driver pins the
//    pages here);
//  - copy: one vkCmdCopyBuffer from the imported buffer into a DEVICE_LOCAL buffer, submitted and waited for;
//  - release: vkDestroyBuffer + vkFreeMemory of the import (the driver unpins);
//  - reused copy: the same copy again from the same import, i.e. the rate once the pinning is paid.
// The device-local destination, command buffer and fence are made once. No VMA: the import is plain Vulkan.
//
// Output: JSON lines on stdout: {"type":"device",...} (with "supported": false and nothing more when the device
// lacks the extension), one {"type":"sample",...} per repetition (microseconds), then {"type":"done"}.
//
// Build (bench/uploads.ts does it when the binary is missing or older than this file):
//   g++ -O2 -DNDEBUG -std=c++17 bench/native/host_import_bench.cpp -o build/bench/host_import_bench -lvulkan
#include <vulkan/vulkan.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double Micros(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "host_import_bench: %s\n", message.c_str());
  std::exit(1);
}

void Check(VkResult result, const char* what) {
  if (result != VK_SUCCESS) Die(std::string(what) + " returned " + std::to_string(static_cast<int>(result)));
}

struct Options {
  uint64_t mib = 64;
  int repetitions = 11;
  int deviceIndex = 0;
  uint32_t apiVersion = VK_API_VERSION_1_1;
};

uint64_t ParseUint(const char* name, const char* text) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') Die(std::string(name) + ": not a whole number: " + text);
  return v;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) Die(a + " needs a value");
    const char* v = argv[++i];
    if (a == "--mib") o.mib = ParseUint("--mib", v);
    else if (a == "--repetitions") o.repetitions = static_cast<int>(ParseUint("--repetitions", v));
    else if (a == "--device-index") o.deviceIndex = static_cast<int>(ParseUint("--device-index", v));
    else if (a == "--api-version") o.apiVersion = static_cast<uint32_t>(ParseUint("--api-version", v));
    else Die("unknown option " + a + " (--mib N --repetitions R --device-index I --api-version V)");
  }
  if (o.mib == 0 || o.repetitions < 1) Die("--mib and --repetitions must be at least 1");
  return o;
}

bool HasExtension(VkPhysicalDevice device, const char* name) {
  uint32_t count = 0;
  vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> all(count);
  vkEnumerateDeviceExtensionProperties(device, nullptr, &count, all.data());
  for (const auto& e : all)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

uint32_t FindType(const VkPhysicalDeviceMemoryProperties& props, uint32_t bits, VkMemoryPropertyFlags want) {
  for (uint32_t i = 0; i < props.memoryTypeCount; ++i)
    if ((bits >> i & 1u) && (props.memoryTypes[i].propertyFlags & want) == want) return i;
  Die("no memory type with the wanted properties");
}

struct Gpu {
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  VkBuffer destination = VK_NULL_HANDLE;
  VkPhysicalDeviceMemoryProperties memory{};
  PFN_vkGetMemoryHostPointerPropertiesEXT hostPointerProperties = nullptr;

  void Copy(VkBuffer source, VkDeviceSize sourceOffset, VkDeviceSize size) const {
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    Check(vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");
    const VkBufferCopy region{sourceOffset, 0, size};
    vkCmdCopyBuffer(cmd, source, destination, 1, &region);
    Check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
    VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &cmd;
    Check(vkQueueSubmit(queue, 1, &submit, fence), "vkQueueSubmit");
    Check(vkWaitForFences(device, 1, &fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
    Check(vkResetFences(device, 1, &fence), "vkResetFences");
  }
};

struct Import {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;  // of the caller's first byte inside the import
};

Import ImportHostRange(const Gpu& gpu, const char* bytes, VkDeviceSize size, VkDeviceSize alignment) {
  const uintptr_t first = reinterpret_cast<uintptr_t>(bytes);
  const uintptr_t base = first & ~static_cast<uintptr_t>(alignment - 1);
  const VkDeviceSize length = (first + size - base + alignment - 1) & ~(alignment - 1);
  void* pointer = reinterpret_cast<void*>(base);
  VkMemoryHostPointerPropertiesEXT props{VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
  Check(gpu.hostPointerProperties(gpu.device, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, pointer, &props),
        "vkGetMemoryHostPointerPropertiesEXT");
  VkExternalMemoryBufferCreateInfo external{VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO};
  external.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.pNext = &external;
  info.size = length;
  info.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
  Import out;
  Check(vkCreateBuffer(gpu.device, &info, nullptr, &out.buffer), "vkCreateBuffer (import)");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(gpu.device, out.buffer, &req);
  VkImportMemoryHostPointerInfoEXT import{VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT};
  import.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
  import.pHostPointer = pointer;
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.pNext = &import;
  alloc.allocationSize = length;
  alloc.memoryTypeIndex = FindType(gpu.memory, props.memoryTypeBits & req.memoryTypeBits, 0);
  Check(vkAllocateMemory(gpu.device, &alloc, nullptr, &out.memory), "vkAllocateMemory (import)");
  Check(vkBindBufferMemory(gpu.device, out.buffer, out.memory, 0), "vkBindBufferMemory (import)");
  out.offset = first - base;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  const VkDeviceSize size = o.mib << 20;

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.apiVersion = o.apiVersion < VK_API_VERSION_1_1 ? VK_API_VERSION_1_1 : o.apiVersion;
  VkInstanceCreateInfo instanceInfo{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  instanceInfo.pApplicationInfo = &app;
  VkInstance instance;
  Check(vkCreateInstance(&instanceInfo, nullptr, &instance), "vkCreateInstance");
  uint32_t count = 0;
  vkEnumeratePhysicalDevices(instance, &count, nullptr);
  std::vector<VkPhysicalDevice> devices(count);
  vkEnumeratePhysicalDevices(instance, &count, devices.data());
  if (static_cast<uint32_t>(o.deviceIndex) >= count) Die("--device-index out of range");
  VkPhysicalDevice physical = devices[o.deviceIndex];

  VkPhysicalDeviceExternalMemoryHostPropertiesEXT hostProps{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
  VkPhysicalDeviceProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  const bool supported = HasExtension(physical, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
  if (supported) props2.pNext = &hostProps;
  vkGetPhysicalDeviceProperties2(physical, &props2);
  std::printf("{\"type\":\"device\",\"name\":\"%s\",\"supported\":%s,\"alignment\":%llu}\n",
              props2.properties.deviceName, supported ? "true" : "false",
              static_cast<unsigned long long>(hostProps.minImportedHostPointerAlignment));
  if (!supported) {
    std::printf("{\"type\":\"done\"}\n");
    vkDestroyInstance(instance, nullptr);
    return 0;
  }

  Gpu gpu;
  vkGetPhysicalDeviceMemoryProperties(physical, &gpu.memory);
  uint32_t familyCount = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &familyCount, nullptr);
  std::vector<VkQueueFamilyProperties> families(familyCount);
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &familyCount, families.data());
  uint32_t family = 0;
  while (family < familyCount && !(families[family].queueFlags & VK_QUEUE_GRAPHICS_BIT)) ++family;
  if (family == familyCount) Die("no graphics queue family");
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queueInfo{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queueInfo.queueFamilyIndex = family;
  queueInfo.queueCount = 1;
  queueInfo.pQueuePriorities = &priority;
  const char* extension = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
  VkDeviceCreateInfo deviceInfo{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  deviceInfo.queueCreateInfoCount = 1;
  deviceInfo.pQueueCreateInfos = &queueInfo;
  deviceInfo.enabledExtensionCount = 1;
  deviceInfo.ppEnabledExtensionNames = &extension;
  Check(vkCreateDevice(physical, &deviceInfo, nullptr, &gpu.device), "vkCreateDevice");
  gpu.hostPointerProperties = reinterpret_cast<PFN_vkGetMemoryHostPointerPropertiesEXT>(
      vkGetDeviceProcAddr(gpu.device, "vkGetMemoryHostPointerPropertiesEXT"));
  if (gpu.hostPointerProperties == nullptr) Die("vkGetMemoryHostPointerPropertiesEXT not found");
  vkGetDeviceQueue(gpu.device, family, 0, &gpu.queue);

  VkBufferCreateInfo dstInfo{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  dstInfo.size = size;
  dstInfo.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  Check(vkCreateBuffer(gpu.device, &dstInfo, nullptr, &gpu.destination), "vkCreateBuffer");
  VkMemoryRequirements dstReq;
  vkGetBufferMemoryRequirements(gpu.device, gpu.destination, &dstReq);
  VkMemoryAllocateInfo dstAlloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  dstAlloc.allocationSize = dstReq.size;
  dstAlloc.memoryTypeIndex = FindType(gpu.memory, dstReq.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  VkDeviceMemory dstMemory;
  Check(vkAllocateMemory(gpu.device, &dstAlloc, nullptr, &dstMemory), "vkAllocateMemory");
  Check(vkBindBufferMemory(gpu.device, gpu.destination, dstMemory, 0), "vkBindBufferMemory");
  VkCommandPoolCreateInfo poolInfo{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  poolInfo.queueFamilyIndex = family;
  VkCommandPool pool;
  Check(vkCreateCommandPool(gpu.device, &poolInfo, nullptr, &pool), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo cmdInfo{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cmdInfo.commandPool = pool;
  cmdInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cmdInfo.commandBufferCount = 1;
  Check(vkAllocateCommandBuffers(gpu.device, &cmdInfo, &gpu.cmd), "vkAllocateCommandBuffers");
  VkFenceCreateInfo fenceInfo{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  Check(vkCreateFence(gpu.device, &fenceInfo, nullptr, &gpu.fence), "vkCreateFence");

  std::vector<char> target(size, 0);
  for (int rep = 0; rep < o.repetitions + 1; ++rep) {  // the first one warms up and is not printed
    char* block = static_cast<char*>(std::malloc(size));
    if (block == nullptr) Die("malloc failed");
    std::memset(block, rep & 0xff, size);
    auto t0 = Clock::now();
    std::memcpy(target.data(), block, size);
    auto t1 = Clock::now();
    const Import imported = ImportHostRange(gpu, block, size, hostProps.minImportedHostPointerAlignment);
    auto t2 = Clock::now();
    gpu.Copy(imported.buffer, imported.offset, size);
    auto t3 = Clock::now();
    gpu.Copy(imported.buffer, imported.offset, size);
    auto t4 = Clock::now();
    vkDestroyBuffer(gpu.device, imported.buffer, nullptr);
    vkFreeMemory(gpu.device, imported.memory, nullptr);
    auto t5 = Clock::now();
    std::free(block);
    if (rep == 0) continue;
    std::printf(
        "{\"type\":\"sample\",\"memcpy_us\":%.1f,\"import_us\":%.1f,\"copy_us\":%.1f,\"reused_copy_us\":%.1f,"
        "\"release_us\":%.1f,\"offset\":%llu}\n",
        Micros(t0, t1), Micros(t1, t2), Micros(t2, t3), Micros(t3, t4), Micros(t4, t5),
        static_cast<unsigned long long>(imported.offset));
  }
  std::printf("{\"type\":\"done\"}\n");

  vkDestroyFence(gpu.device, gpu.fence, nullptr);
  vkDestroyCommandPool(gpu.device, pool, nullptr);
  vkDestroyBuffer(gpu.device, gpu.destination, nullptr);
  vkFreeMemory(gpu.device, dstMemory, nullptr);
  vkDestroyDevice(gpu.device, nullptr);
  vkDestroyInstance(instance, nullptr);
  return 0;
}
