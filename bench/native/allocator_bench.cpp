// The C++ side of bench/allocator: the same createBuffer + destroyBuffer loop as the TypeScript side,
// straight on VMA, so that the TS number has a floor to be compared with.
//
// Fairness rests on three things being the same as in the vkmem addon:
//  - the VMA header and its configuration: this file includes native/vma_config.h (every VMA_* macro vkmem
//    uses) and compiles VMA's implementation itself, with the addon's -O2 -DNDEBUG;
//  - the device: the same physical-device rule as the TS side (VKMEM_DEVICE_INDEX, else the first discrete
//    GPU, else the first device), the instance apiVersion, device extensions and features the TS context
//    enabled (passed on the command line by bench/allocator.ts), no layers;
//  - the allocator: the VmaAllocatorCreateFlags the TS Allocator was created with (--vma-flags), plus
//    EXTERNALLY_SYNCHRONIZED, which the addon always adds.
// The loop creates one buffer (usage VERTEX_BUFFER | TRANSFER_DST, VMA_MEMORY_USAGE_GPU_ONLY) and destroys
// it at once, `iterations` times per repetition (each repetition, and the warm-up, starts again at i = 0),
// with the size sequence of allocatorBenchSize() in bench/allocator.ts: size(i) = 256 << (i % 9), that is
// 256 B, 512 B, ..., 64 KiB, repeating.
//
// Output: one JSON object per line on stdout: {"type":"device",...}, then one {"type":"sample",...} per
// repetition, then {"type":"done",...}. Errors go to stderr with a non-zero exit status.
//
// Build (bench/allocator.ts does it when the binary is missing or older than its sources):
//   g++ -O2 -DNDEBUG -std=c++17 -Inative -Ivendor/vma/include bench/native/allocator_bench.cpp
//       -o build/bench/allocator_bench -lvulkan
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define VMA_IMPLEMENTATION
#include "vma_config.h"

// vma_config.h routes VMA's checks to these (the addon records them as JS errors). Here they are counted
// and reported in the last line: a benchmark whose allocator asserted measured something else.
namespace vkmem {
static uint64_t gAsserts = 0;
static uint64_t gLeaks = 0;
void RecordVmaAssert(const char* expr, const char* file, int line) {
  if (gAsserts++ < 5) std::fprintf(stderr, "allocator_bench: VMA check failed: %s (%s:%d)\n", expr, file, line);
}
void RecordVmaLeak(const char* message) {
  if (gLeaks++ < 5) std::fprintf(stderr, "allocator_bench: VMA leak: %s\n", message);
}
}  // namespace vkmem

namespace {

// Must match allocatorBenchSize() in bench/allocator.ts.
inline VkDeviceSize SizeAt(uint64_t i) { return VkDeviceSize(256) << (i % 9); }

// VMA_ALLOCATOR_CREATE_EXTERNALLY_SYNCHRONIZED_BIT, always set by the addon (native/allocator.cpp).
constexpr VmaAllocatorCreateFlags kAddonFlags = VMA_ALLOCATOR_CREATE_EXTERNALLY_SYNCHRONIZED_BIT;

struct Options {
  uint64_t iterations = 100000;
  uint32_t repetitions = 7;
  uint64_t warmup = 10000;
  uint32_t apiVersion = VK_API_VERSION_1_3;
  VmaAllocatorCreateFlags vmaFlags = 0;
  std::vector<std::string> extensions;
  bool memoryPriority = false;
  bool bufferDeviceAddress = false;
  bool maintenance4 = false;
  int deviceIndex = -1;  // -1: the rule (VKMEM_DEVICE_INDEX, discrete, first)
};

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "allocator_bench: %s\n", why.c_str());
  std::exit(1);
}

void CheckVk(VkResult r, const char* what) {
  if (r != VK_SUCCESS) Die(std::string(what) + " failed with VkResult " + std::to_string(static_cast<int>(r)));
}

uint64_t ParseUint(const char* flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0') Die(std::string(flag) + " wants an unsigned integer, got '" + text + "'");
  return v;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Die(a + " wants a value");
      return argv[++i];
    };
    if (a == "--iterations") o.iterations = ParseUint("--iterations", value());
    else if (a == "--repetitions") o.repetitions = static_cast<uint32_t>(ParseUint("--repetitions", value()));
    else if (a == "--warmup") o.warmup = ParseUint("--warmup", value());
    else if (a == "--api-version") o.apiVersion = static_cast<uint32_t>(ParseUint("--api-version", value()));
    else if (a == "--vma-flags") o.vmaFlags = static_cast<VmaAllocatorCreateFlags>(ParseUint("--vma-flags", value()));
    else if (a == "--device-index") o.deviceIndex = static_cast<int>(ParseUint("--device-index", value()));
    else if (a == "--extensions") o.extensions = SplitComma(value());
    else if (a == "--features") {
      for (const std::string& f : SplitComma(value())) {
        if (f == "memoryPriority") o.memoryPriority = true;
        else if (f == "bufferDeviceAddress") o.bufferDeviceAddress = true;
        else if (f == "maintenance4") o.maintenance4 = true;
        else Die("unknown feature '" + f + "' (memoryPriority, bufferDeviceAddress, maintenance4)");
      }
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "allocator_bench [--iterations N] [--repetitions R] [--warmup W] [--api-version V] [--vma-flags F]\n"
          "                [--extensions a,b] [--features memoryPriority,bufferDeviceAddress,maintenance4]\n"
          "                [--device-index I]\n");
      std::exit(0);
    } else {
      Die("unknown argument '" + a + "' (--help lists them)");
    }
  }
  if (o.iterations == 0 || o.repetitions == 0) Die("--iterations and --repetitions must be at least 1");
  return o;
}

// Same rule as the TS side: VKMEM_DEVICE_INDEX when set, else the first discrete GPU, else device 0.
uint32_t ChooseDevice(const std::vector<VkPhysicalDevice>& devices, int forced) {
  if (forced >= 0) {
    if (static_cast<size_t>(forced) >= devices.size()) Die("--device-index out of range");
    return static_cast<uint32_t>(forced);
  }
  if (const char* env = std::getenv("VKMEM_DEVICE_INDEX"); env != nullptr && *env != '\0') {
    uint64_t i = ParseUint("VKMEM_DEVICE_INDEX", env);
    if (i >= devices.size()) Die("VKMEM_DEVICE_INDEX out of range");
    return static_cast<uint32_t>(i);
  }
  for (uint32_t i = 0; i < devices.size(); ++i) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(devices[i], &p);
    if (p.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU) return i;
  }
  return 0;
}

std::string JsonString(const char* s) {
  std::string out = "\"";
  for (const char* p = s; *p; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\') { out += '\\'; out += static_cast<char>(c); }
    else if (c < 0x20) { char buf[8]; std::snprintf(buf, sizeof buf, "\\u%04x", c); out += buf; }
    else out += static_cast<char>(c);
  }
  return out + "\"";
}

// One run of `n` pairs; pair i has size SizeAt(i). Returns elapsed nanoseconds.
uint64_t RunPairs(VmaAllocator allocator, uint64_t n) {
  VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VmaAllocationCreateInfo aci = {};
  aci.usage = VMA_MEMORY_USAGE_GPU_ONLY;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    bci.size = SizeAt(i);
    VkBuffer buffer = VK_NULL_HANDLE;
    VmaAllocation allocation = VK_NULL_HANDLE;
    VkResult r = vmaCreateBuffer(allocator, &bci, &aci, &buffer, &allocation, nullptr);
    if (r != VK_SUCCESS) Die("vmaCreateBuffer failed with VkResult " + std::to_string(static_cast<int>(r)));
    vmaDestroyBuffer(allocator, buffer, allocation);
  }
  const auto t1 = std::chrono::steady_clock::now();
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);

  VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "vkmem allocator_bench";
  app.apiVersion = o.apiVersion;
  VkInstanceCreateInfo ici = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pApplicationInfo = &app;  // no layers, no extensions: validation stays off
  VkInstance instance = VK_NULL_HANDLE;
  CheckVk(vkCreateInstance(&ici, nullptr, &instance), "vkCreateInstance");

  uint32_t count = 0;
  CheckVk(vkEnumeratePhysicalDevices(instance, &count, nullptr), "vkEnumeratePhysicalDevices");
  if (count == 0) Die("no Vulkan physical device");
  std::vector<VkPhysicalDevice> devices(count);
  CheckVk(vkEnumeratePhysicalDevices(instance, &count, devices.data()), "vkEnumeratePhysicalDevices");
  const uint32_t index = ChooseDevice(devices, o.deviceIndex);
  VkPhysicalDevice physical = devices[index];
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(physical, &props);

  // Features, chained only when asked for, exactly as the TS context reported them enabled.
  VkPhysicalDeviceBufferDeviceAddressFeatures bda = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_BUFFER_DEVICE_ADDRESS_FEATURES};
  VkPhysicalDeviceMemoryPriorityFeaturesEXT priority = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT};
  VkPhysicalDeviceMaintenance4Features m4 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_FEATURES};
  VkPhysicalDeviceFeatures2 features2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  void** next = &features2.pNext;
  if (o.bufferDeviceAddress) { bda.bufferDeviceAddress = VK_TRUE; *next = &bda; next = &bda.pNext; }
  if (o.memoryPriority) { priority.memoryPriority = VK_TRUE; *next = &priority; next = &priority.pNext; }
  if (o.maintenance4) { m4.maintenance4 = VK_TRUE; *next = &m4; next = &m4.pNext; }

  const float queuePriority = 1.0f;
  VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = 0;
  qci.queueCount = 1;
  qci.pQueuePriorities = &queuePriority;
  std::vector<const char*> extensionNames;
  for (const std::string& e : o.extensions) extensionNames.push_back(e.c_str());
  VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.pNext = features2.pNext != nullptr ? &features2 : nullptr;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  dci.enabledExtensionCount = static_cast<uint32_t>(extensionNames.size());
  dci.ppEnabledExtensionNames = extensionNames.empty() ? nullptr : extensionNames.data();
  VkDevice device = VK_NULL_HANDLE;
  CheckVk(vkCreateDevice(physical, &dci, nullptr, &device), "vkCreateDevice");

  VmaVulkanFunctions functions = {};
  functions.vkGetInstanceProcAddr = vkGetInstanceProcAddr;
  functions.vkGetDeviceProcAddr = vkGetDeviceProcAddr;
  VmaAllocatorCreateInfo aci = {};
  aci.flags = o.vmaFlags | kAddonFlags;
  aci.instance = instance;
  aci.physicalDevice = physical;
  aci.device = device;
  aci.vulkanApiVersion = std::min<uint32_t>(o.apiVersion, VK_API_VERSION_1_3);  // as native/allocator.cpp
  aci.pVulkanFunctions = &functions;
  VmaAllocator allocator = VK_NULL_HANDLE;
  CheckVk(vmaCreateAllocator(&aci, &allocator), "vmaCreateAllocator");

  std::printf("{\"type\":\"device\",\"name\":%s,\"index\":%u,\"deviceType\":%d,\"apiVersion\":%u,"
              "\"driverVersion\":%u,\"vendorID\":%u,\"deviceID\":%u,\"vmaFlags\":%u}\n",
              JsonString(props.deviceName).c_str(), index, static_cast<int>(props.deviceType), o.apiVersion,
              props.driverVersion, props.vendorID, props.deviceID, static_cast<unsigned>(aci.flags));
  std::fflush(stdout);

  if (o.warmup > 0) RunPairs(allocator, o.warmup);
  for (uint32_t rep = 0; rep < o.repetitions; ++rep) {
    const uint64_t ns = RunPairs(allocator, o.iterations);
    std::printf("{\"type\":\"sample\",\"repetition\":%u,\"iterations\":%llu,\"ns\":%llu,\"ns_per_pair\":%.3f}\n", rep,
                static_cast<unsigned long long>(o.iterations), static_cast<unsigned long long>(ns),
                static_cast<double>(ns) / static_cast<double>(o.iterations));
    std::fflush(stdout);
  }

  vmaDestroyAllocator(allocator);
  vkDestroyDevice(device, nullptr);
  vkDestroyInstance(instance, nullptr);
  std::printf("{\"type\":\"done\",\"vmaAsserts\":%llu,\"vmaLeaks\":%llu}\n",
              static_cast<unsigned long long>(vkmem::gAsserts), static_cast<unsigned long long>(vkmem::gLeaks));
  return 0;
}
