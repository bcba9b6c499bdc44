// Addon entry: per-environment state, the slot tables, the scratch buffer, VMA's assert recorder and
// the bridge to the JS error classes (built in TS: engine/errors.ts, handed over by engine/native.ts).
#include "addon.h"
#include "buddy_pool.h"

#include <cmath>
#include <cstring>
#include <atomic>
#include <mutex>

namespace vkmem {

// VMA's checks, recorded instead of aborting. VMA is only ever entered from a JS thread, but several
// worker threads may each use their own allocator, so the record is guarded.
static std::mutex gVmaMessagesMutex;
static std::vector<std::string> gVmaMessages;
// Checked after every VMA call on the hot path: an atomic load, the mutex only when something was recorded.
static std::atomic<bool> gVmaAsserted{false};

void RecordVmaAssert(const char* expr, const char* file, int line) {
  std::lock_guard<std::mutex> lock(gVmaMessagesMutex);
  const char* base = std::strrchr(file, '/');
  std::string msg = std::string("VMA check failed: ") + expr + " (" + (base ? base + 1 : file) + ":" +
                    std::to_string(line) + ")";
  if (gVmaMessages.size() < 1000) gVmaMessages.push_back(msg);
  gVmaAsserted = true;
}

void RecordVmaLeak(const char* message) {
  std::lock_guard<std::mutex> lock(gVmaMessagesMutex);
  if (gVmaMessages.size() < 1000) gVmaMessages.push_back(std::string("VMA leak: ") + message);
}

VmaMessageMark MarkVmaMessages() {
  std::lock_guard<std::mutex> lock(gVmaMessagesMutex);
  return {gVmaMessages.size(), gVmaAsserted.load()};
}

std::vector<std::string> TakeVmaMessagesSince(const VmaMessageMark& mark) {
  std::lock_guard<std::mutex> lock(gVmaMessagesMutex);
  std::vector<std::string> taken;
  if (gVmaMessages.size() > mark.count) {
    taken.assign(gVmaMessages.begin() + static_cast<std::ptrdiff_t>(mark.count), gVmaMessages.end());
    gVmaMessages.resize(mark.count);
  }
  gVmaAsserted = mark.wasAsserted;
  return taken;
}

Napi::Error TypeErrorFor(Napi::Env env, const std::string& message) {
  return Napi::TypeError::New(env, "vkmem native: " + message);
}
Napi::Error RangeErrorFor(Napi::Env env, const std::string& message) {
  return Napi::RangeError::New(env, "vkmem native: " + message);
}

uint64_t BigIntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsBigInt()) {
    throw TypeErrorFor(info.Env(), std::string(name) + " must be a BigInt handle");
  }
  bool lossless = false;
  uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw RangeErrorFor(info.Env(), std::string(name) + " does not fit in 64 bits");
  return v;
}

void DefineHotFunction(Napi::Env env, Napi::Object exports, Addon* addon, const char* name, napi_callback cb) {
  napi_value fn = nullptr;
  NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, addon, &fn));
  exports.Set(name, Napi::Value(env, fn));
}

namespace {

// The allocator's hot calls are Addon methods; HotCall (addon.h) takes a plain function.
using HotMethod = Napi::Value (Addon::*)(Napi::Env, napi_value);

template <HotMethod Method>
napi_value CallMethod(Addon& addon, Napi::Env env, napi_value arg) {
  return (addon.*Method)(env, arg);
}

template <HotMethod Method>
void DefineHot(Napi::Env env, Napi::Object exports, Addon* addon, const char* name) {
  DefineHotFunction(env, exports, addon, name, HotCall<CallMethod<Method>>);
}

}  // namespace

Addon::Addon(Napi::Env env, Napi::Object exports) {
  allocators.resize(1);   // index 0 is never used: a zero handle is always invalid
  allocations.resize(1);
  pools.resize(1);
  DefineAddon(exports, {
      InstanceMethod("setScratch", &Addon::SetScratch),
      InstanceMethod("setErrorFactory", &Addon::SetErrorFactory),
      InstanceMethod("detach", &Addon::Detach),
      InstanceMethod("takeVmaMessages", &Addon::TakeVmaMessages),
      InstanceMethod("version", &Addon::Version),
      InstanceMethod("createAllocator", &Addon::CreateAllocator),
      InstanceMethod("destroyAllocator", &Addon::DestroyAllocator),
      InstanceMethod("getMemoryProperties", &Addon::GetMemoryProperties),
      InstanceMethod("getHeapBudgets", &Addon::GetHeapBudgets),
      InstanceMethod("calculateStatistics", &Addon::CalculateStatistics),
      InstanceMethod("buildStatsString", &Addon::BuildStatsString),
      InstanceMethod("setCurrentFrameIndex", &Addon::SetCurrentFrameIndex),
      InstanceMethod("findMemoryTypeIndex", &Addon::FindMemoryTypeIndex),
      InstanceMethod("liveAllocationCount", &Addon::LiveAllocationCount),
      InstanceMethod("findMemoryTypeIndexForBufferInfo", &Addon::FindMemoryTypeIndexForBufferInfo),
      InstanceMethod("findMemoryTypeIndexForImageInfo", &Addon::FindMemoryTypeIndexForImageInfo),
      InstanceMethod("createPool", &Addon::CreatePool),
      InstanceMethod("destroyPool", &Addon::DestroyPool),
      InstanceMethod("getPoolStatistics", &Addon::GetPoolStatistics),
      InstanceMethod("calculatePoolStatistics", &Addon::CalculatePoolStatistics),
      InstanceMethod("setPoolName", &Addon::SetPoolName),
      InstanceMethod("getPoolName", &Addon::GetPoolName),
      InstanceMethod("allocateMemoryForBuffer", &Addon::AllocateMemoryForBuffer),
      InstanceMethod("allocateMemoryForImage", &Addon::AllocateMemoryForImage),
      InstanceMethod("bindBufferMemory", &Addon::BindBufferMemory),
      InstanceMethod("bindImageMemory", &Addon::BindImageMemory),
      InstanceMethod("setAllocationName", &Addon::SetAllocationName),
      InstanceMethod("getAllocationName", &Addon::GetAllocationName),
      InstanceMethod("setAllocationUserData", &Addon::SetAllocationUserData),
      InstanceMethod("getMemoryTypeProperties", &Addon::GetMemoryTypeProperties),
      InstanceMethod("map", &Addon::Map),
      InstanceMethod("unmap", &Addon::Unmap),
      InstanceMethod("flush", &Addon::Flush),
      InstanceMethod("invalidate", &Addon::Invalidate),
      InstanceMethod("checkCorruption", &Addon::CheckCorruption),
      InstanceMethod("checkPoolCorruption", &Addon::CheckPoolCorruption),
      InstanceMethod("corruptedAllocations", &Addon::CorruptedAllocations),
#ifdef VKMEM_DEBUG_BUILD
      // Test hooks that write and read outside an allocation's bounds: the debug build only.
      InstanceMethod("debugPoke", &Addon::DebugPoke),
      InstanceMethod("debugPeek", &Addon::DebugPeek),
#endif
  });
  DefineHot<&Addon::CreateBuffer>(env, exports, this, "createBuffer");
  DefineHot<&Addon::CreateImage>(env, exports, this, "createImage");
  DefineHot<&Addon::AllocateMemory>(env, exports, this, "allocateMemory");
  DefineHot<&Addon::FreeAllocation>(env, exports, this, "freeAllocation");
  DefineHot<&Addon::GetAllocationInfo>(env, exports, this, "getAllocationInfo");
  RegisterVirtualBlocks(env, exports, this);
  RegisterBuddyPools(env, exports, this);
}

Napi::Value Addon::SetScratch(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) throw TypeErrorFor(info.Env(), "scratch must be an ArrayBuffer");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  if (ab.ByteLength() < Scratch::kSlots * 8) throw RangeErrorFor(info.Env(), "scratch is too small");
  scratchRef = Napi::Persistent(ab);
  f64 = static_cast<double*>(ab.Data());
  u64 = static_cast<uint64_t*>(ab.Data());
  return info.Env().Undefined();
}

void Addon::RequireScratch(Napi::Env env) {
  if (f64 == nullptr) throw Napi::Error::New(env, "vkmem native: setScratch() was not called");
}

Napi::Value Addon::SetErrorFactory(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) throw TypeErrorFor(info.Env(), "error factory must be a function");
  makeVkError = Napi::Persistent(info[0].As<Napi::Function>());
  if (info.Length() > 1 && info[1].IsFunction()) makeCorruptionError = Napi::Persistent(info[1].As<Napi::Function>());
  return info.Env().Undefined();
}

void Addon::ThrowVk(Napi::Env env, VkResult result, const char* operation, const std::string& detail) {
  if (!makeVkError.IsEmpty()) {
    Napi::Value err = makeVkError.Call({Napi::Number::New(env, static_cast<double>(result)),
                                        Napi::String::New(env, operation), env.Undefined(),
                                        detail.empty() ? env.Undefined() : Napi::String::New(env, detail)});
    throw Napi::Error(env, err);
  }
  throw Napi::Error::New(env, std::string(operation) + " failed: VkResult " + std::to_string(result));
}

void Addon::ThrowIfVmaAsserted(Napi::Env env, const char* operation) {
  if (!gVmaAsserted.load(std::memory_order_relaxed)) return;
  std::string first;
  {
    std::lock_guard<std::mutex> lock(gVmaMessagesMutex);
    gVmaAsserted = false;
    for (auto& m : gVmaMessages) {
      if (m.rfind("VMA check failed", 0) == 0) { first = m; break; }
    }
  }
  throw Napi::Error::New(env, std::string(operation) + ": " + first);
}

Napi::Value Addon::TakeVmaMessages(const Napi::CallbackInfo& info) {
  std::vector<std::string> taken;
  {
    std::lock_guard<std::mutex> lock(gVmaMessagesMutex);
    taken.swap(gVmaMessages);
    gVmaAsserted = false;
  }
  Napi::Array out = Napi::Array::New(info.Env(), taken.size());
  for (size_t i = 0; i < taken.size(); ++i) out.Set(static_cast<uint32_t>(i), taken[i]);
  return out;
}

Napi::Value Addon::Detach(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) throw TypeErrorFor(info.Env(), "detach() takes an ArrayBuffer");
  napi_value ab = info[0];
  bool detached = false;
  napi_is_detached_arraybuffer(info.Env(), ab, &detached);
  if (!detached) {
    napi_status s = napi_detach_arraybuffer(info.Env(), ab);
    if (s != napi_ok) throw Napi::Error::New(info.Env(), "vkmem native: could not detach a mapped ArrayBuffer");
  }
  return info.Env().Undefined();
}

Napi::Value Addon::Version(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
#ifdef VMA_VERSION
  o.Set("vma", Napi::Number::New(info.Env(), VMA_VERSION));
#else
  o.Set("vma", info.Env().Null());
#endif
  o.Set("vmaVulkanVersion", Napi::Number::New(info.Env(), VMA_VULKAN_VERSION));
  o.Set("headerVulkanVersion", Napi::Number::New(info.Env(), VK_HEADER_VERSION_COMPLETE));
  // Which build this is: VMA's compile-time debug settings (vma_config.h).
#ifdef VKMEM_DEBUG_BUILD
  o.Set("debugBuild", true);
#else
  o.Set("debugBuild", false);
#endif
  o.Set("debugMargin", Napi::Number::New(info.Env(), VMA_DEBUG_MARGIN));
  o.Set("detectCorruption", VMA_DEBUG_DETECT_CORRUPTION != 0 && VMA_DEBUG_MARGIN > 0);
  o.Set("initializeAllocations", VMA_DEBUG_INITIALIZE_ALLOCATIONS != 0);
  return o;
}

AllocatorSlot& Addon::AllocatorFrom(Napi::Env env, napi_value v, uint32_t* indexOut) {
  double h = -1;
  if (v == nullptr || napi_get_value_double(env, v, &h) != napi_ok || !IsUint(h, 9007199254740991.0)) {
    throw TypeErrorFor(env, "allocator handle must be a non-negative integer Number");
  }
  uint64_t raw = static_cast<uint64_t>(h);
  uint32_t index = static_cast<uint32_t>(raw & ((1u << kIndexBits) - 1));
  uint32_t gen = static_cast<uint32_t>(raw >> kIndexBits);
  if (index == 0 || index >= allocators.size() || !allocators[index].live || allocators[index].generation != gen) {
    throw Napi::Error::New(env, "vkmem native: stale or invalid allocator handle");
  }
  if (indexOut) *indexOut = index;
  return allocators[index];
}

AllocationSlot* Addon::AllocationFromNumber(double h, uint32_t* indexOut) {
  if (!(h >= 1 && h <= 9007199254740991.0) || std::floor(h) != h) return nullptr;
  uint64_t raw = static_cast<uint64_t>(h);
  uint32_t index = static_cast<uint32_t>(raw & ((1u << kIndexBits) - 1));
  uint32_t gen = static_cast<uint32_t>(raw >> kIndexBits);
  if (index == 0 || index >= allocations.size()) return nullptr;
  AllocationSlot& s = allocations[index];
  if (s.kind == Kind::Free || s.generation != gen) return nullptr;
  if (indexOut) *indexOut = index;
  return &s;
}

AllocationSlot& Addon::AllocationFrom(Napi::Env env, napi_value v, uint32_t* indexOut) {
  double h = -1;
  AllocationSlot* s =
      v != nullptr && napi_get_value_double(env, v, &h) == napi_ok ? AllocationFromNumber(h, indexOut) : nullptr;
  if (s == nullptr) throw Napi::Error::New(env, "vkmem native: stale or invalid allocation handle");
  return *s;
}

uint32_t Addon::NewAllocationSlot(uint32_t allocatorIndex, VmaAllocation allocation, Kind kind, uint64_t resource,
                                  bool ownsResource) {
  uint32_t index;
  if (freeAllocationHead != 0) {
    index = freeAllocationHead - 1;
    freeAllocationHead = allocations[index].nextFree;
  } else {
    if (allocations.size() >= (1u << kIndexBits)) return 0;
    index = static_cast<uint32_t>(allocations.size());
    allocations.emplace_back();
  }
  AllocationSlot& s = allocations[index];
  s.allocation = allocation;
  s.resource = resource;
  s.allocator = allocatorIndex;
  s.pool = 0;
  s.kind = kind;
  s.ownsResource = ownsResource;
  s.mapCount = 0;
  s.nextFree = 0;
  allocators[allocatorIndex].liveAllocations++;
  return index;
}

void Addon::ReleaseAllocationSlot(uint32_t index) {
  AllocationSlot& s = allocations[index];
  allocators[s.allocator].liveAllocations--;
  if (s.pool != 0) pools[s.pool].liveAllocations--;
  s.pool = 0;
  s.allocation = VK_NULL_HANDLE;
  s.resource = 0;
  s.kind = Kind::Free;
  s.ownsResource = false;
  s.mapCount = 0;
  s.generation = s.generation >= kMaxGeneration ? 1 : s.generation + 1;
  s.nextFree = freeAllocationHead;
  freeAllocationHead = index + 1;
}

}  // namespace vkmem

using vkmem::Addon;
NODE_API_ADDON(Addon)
