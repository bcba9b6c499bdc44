// Addon entry: per-environment state, the slot tables, the scratch buffer, VMA's assert recorder and
// the bridge to the JS error classes (built in TS: engine/errors.ts, handed over by engine/native.ts).
#include "addon.h"
#include "buddy_pool.h"
#include "copy_commands.h"
#include "trace_file.h"
#ifdef VKMEM_ORACLES
#include "image_bench.h"
#include "virtual_block.h"
#endif
#include "upload_workers.h"
#include "deferred_free.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>

namespace vkmem {

// VMA's checks, recorded instead of aborting, per native call. VMA is entered only from the JS thread that
// called us (each worker thread has its own addon instance and allocators), so the record is thread_local:
// no lock, and a call on one thread never sees another thread's messages.
//
// - gCall: what VMA said during the current native call. BeginNativeCall() clears it at the start of every
//   call (HotCall, GuardedMethod and GuardedFunction in addon.h do that), so an error always carries the
//   messages of its own call, never those of an earlier one.
// - gCall.asserted: a VMA_ASSERT failed during this call. Checked after VMA calls on the hot path (through
//   VmaAssertedThisCall: a plain load of gVmaRecordsEverHeld, addon.h, and of the record only once that is set);
//   EndNativeCall() turns an assert nobody claimed into a VmaAssertionError as the call returns.
// - gUnclaimed: messages of earlier calls that no error or report carried out (a call that threw something
//   else first), kept for takeVmaMessages() so they are never lost silently. Capped.
namespace {
struct CallRecord {
  std::vector<std::string> messages;
  bool asserted = false;
};
thread_local CallRecord gCall;
thread_local std::vector<std::string> gUnclaimed;
constexpr size_t kMaxMessages = 1000;

// A record is about to hold something: from now on every thread looks at its own (addon.h).
void MarkRecordsHeld() {
  if (!gVmaRecordsEverHeld.load(std::memory_order_relaxed)) gVmaRecordsEverHeld.store(true, std::memory_order_relaxed);
}
}  // namespace

std::atomic<bool> gVmaRecordsEverHeld{false};

void RecordVmaAssert(const char* expr, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  std::string msg = std::string("VMA check failed: ") + expr + " (" + (base ? base + 1 : file) + ":" +
                    std::to_string(line) + ")";
  MarkRecordsHeld();
  CallRecord& r = gCall;
  if (r.messages.size() < kMaxMessages) r.messages.push_back(std::move(msg));
  r.asserted = true;
}

void RecordVmaLeak(const char* message) {
  MarkRecordsHeld();
  CallRecord& r = gCall;
  if (r.messages.size() < kMaxMessages) r.messages.push_back(std::string("VMA leak: ") + message);
}

void BeginNativeCallHeld() {
  CallRecord& r = gCall;
  if (!r.messages.empty()) {
    for (auto& m : r.messages) {
      if (gUnclaimed.size() < kMaxMessages) gUnclaimed.push_back(std::move(m));
    }
    r.messages.clear();
  }
  r.asserted = false;
}

bool VmaAssertedHeld() { return gCall.asserted; }

bool VmaAssertMentions(const char* needle) {
  if (!VmaAssertedThisCall()) return false;
  for (const auto& m : gCall.messages) {
    if (m.rfind("VMA check failed", 0) == 0 && m.find(needle) != std::string::npos) return true;
  }
  return false;
}

VmaMessageMark MarkVmaMessages() {
  if (!VmaRecordsHeld()) return {0, false};
  return {gCall.messages.size(), gCall.asserted};
}

std::vector<std::string> TakeVmaMessagesSince(const VmaMessageMark& mark) {
  std::vector<std::string> taken;
  if (!VmaRecordsHeld()) return taken;  // nothing was ever recorded (a mark with an assert implies something was)
  CallRecord& r = gCall;
  if (r.messages.size() > mark.count) {
    taken.assign(std::make_move_iterator(r.messages.begin() + static_cast<std::ptrdiff_t>(mark.count)),
                 std::make_move_iterator(r.messages.end()));
    r.messages.resize(mark.count);
  }
  r.asserted = mark.wasAsserted;
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
  defrags.resize(1);
  DefineAddon(exports, {
      InstanceMethod<&Addon::Guarded<&Addon::SetScratch>>("setScratch"),
      InstanceMethod<&Addon::Guarded<&Addon::SetErrorFactory>>("setErrorFactory"),
      InstanceMethod<&Addon::Guarded<&Addon::Detach>>("detach"),
      InstanceMethod<&Addon::Guarded<&Addon::TakeVmaMessages>>("takeVmaMessages"),
      InstanceMethod<&Addon::Guarded<&Addon::Version>>("version"),
      InstanceMethod<&Addon::Guarded<&Addon::CreateAllocator>>("createAllocator"),
      InstanceMethod<&Addon::Guarded<&Addon::DestroyAllocator>>("destroyAllocator"),
      InstanceMethod<&Addon::Guarded<&Addon::GetMemoryProperties>>("getMemoryProperties"),
      InstanceMethod<&Addon::Guarded<&Addon::GetHeapBudgets>>("getHeapBudgets"),
      InstanceMethod<&Addon::Guarded<&Addon::CalculateStatistics>>("calculateStatistics"),
      InstanceMethod<&Addon::Guarded<&Addon::BuildStatsString>>("buildStatsString"),
      InstanceMethod<&Addon::Guarded<&Addon::SetCurrentFrameIndex>>("setCurrentFrameIndex"),
      InstanceMethod<&Addon::Guarded<&Addon::FindMemoryTypeIndex>>("findMemoryTypeIndex"),
      InstanceMethod<&Addon::Guarded<&Addon::LiveAllocationCount>>("liveAllocationCount"),
      InstanceMethod<&Addon::Guarded<&Addon::FindResource>>("findResource"),
      InstanceMethod<&Addon::Guarded<&Addon::FindMemoryTypeIndexForBufferInfo>>("findMemoryTypeIndexForBufferInfo"),
      InstanceMethod<&Addon::Guarded<&Addon::FindMemoryTypeIndexForImageInfo>>("findMemoryTypeIndexForImageInfo"),
      InstanceMethod<&Addon::Guarded<&Addon::CreatePool>>("createPool"),
      InstanceMethod<&Addon::Guarded<&Addon::DestroyPool>>("destroyPool"),
      InstanceMethod<&Addon::Guarded<&Addon::GetPoolStatistics>>("getPoolStatistics"),
      InstanceMethod<&Addon::Guarded<&Addon::CalculatePoolStatistics>>("calculatePoolStatistics"),
      InstanceMethod<&Addon::Guarded<&Addon::SetPoolName>>("setPoolName"),
      InstanceMethod<&Addon::Guarded<&Addon::GetPoolName>>("getPoolName"),
      InstanceMethod<&Addon::Guarded<&Addon::AllocateMemoryForBuffer>>("allocateMemoryForBuffer"),
      InstanceMethod<&Addon::Guarded<&Addon::AllocateMemoryForImage>>("allocateMemoryForImage"),
      InstanceMethod<&Addon::Guarded<&Addon::BindBufferMemory>>("bindBufferMemory"),
      InstanceMethod<&Addon::Guarded<&Addon::BindImageMemory>>("bindImageMemory"),
      InstanceMethod<&Addon::Guarded<&Addon::SetAllocationName>>("setAllocationName"),
      InstanceMethod<&Addon::Guarded<&Addon::GetAllocationName>>("getAllocationName"),
      InstanceMethod<&Addon::Guarded<&Addon::SetAllocationUserData>>("setAllocationUserData"),
      InstanceMethod<&Addon::Guarded<&Addon::GetMemoryTypeProperties>>("getMemoryTypeProperties"),
      InstanceMethod<&Addon::Guarded<&Addon::Map>>("map"),
      InstanceMethod<&Addon::Guarded<&Addon::Unmap>>("unmap"),
      InstanceMethod<&Addon::Guarded<&Addon::Flush>>("flush"),
      InstanceMethod<&Addon::Guarded<&Addon::Invalidate>>("invalidate"),
      InstanceMethod<&Addon::Guarded<&Addon::CreateDedicatedResource>>("createDedicatedResource"),
      InstanceMethod<&Addon::Guarded<&Addon::CreateAliasingResource>>("createAliasingResource"),
      InstanceMethod<&Addon::Guarded<&Addon::BindAlias>>("bindAlias"),
      InstanceMethod<&Addon::Guarded<&Addon::DestroyAlias>>("destroyAlias"),
      InstanceMethod<&Addon::Guarded<&Addon::AllocateMemoryPages>>("allocateMemoryPages"),
      InstanceMethod<&Addon::Guarded<&Addon::FlushAllocations>>("flushAllocations"),
      InstanceMethod<&Addon::Guarded<&Addon::CopyMemoryToAllocation>>("copyMemoryToAllocation"),
      InstanceMethod<&Addon::Guarded<&Addon::CopyAllocationToMemory>>("copyAllocationToMemory"),
      InstanceMethod<&Addon::Guarded<&Addon::BeginDefragmentation>>("beginDefragmentation"),
      InstanceMethod<&Addon::Guarded<&Addon::BeginDefragmentationPass>>("beginDefragmentationPass"),
      InstanceMethod<&Addon::Guarded<&Addon::SetDefragmentationMoveOperation>>("setDefragmentationMoveOperation"),
      InstanceMethod<&Addon::Guarded<&Addon::CreateDefragmentationMoveResource>>("createDefragmentationMoveResource"),
      InstanceMethod<&Addon::Guarded<&Addon::CreateDefragmentationCopyBuffers>>("createDefragmentationCopyBuffers"),
      InstanceMethod<&Addon::Guarded<&Addon::CreateDefragmentationBlockCopies>>("createDefragmentationBlockCopies"),
      InstanceMethod<&Addon::Guarded<&Addon::RecordDefragmentationCopies>>("recordDefragmentationCopies"),
      InstanceMethod<&Addon::Guarded<&Addon::CreateDefragmentationView>>("createDefragmentationView"),
      InstanceMethod<&Addon::Guarded<&Addon::CreateImageView>>("createImageView"),
      InstanceMethod<&Addon::Guarded<&Addon::DestroyImageViewBytes>>("destroyImageView"),
      InstanceMethod<&Addon::Guarded<&Addon::EndDefragmentationPass>>("endDefragmentationPass"),
      InstanceMethod<&Addon::Guarded<&Addon::EndDefragmentation>>("endDefragmentation"),
      InstanceMethod<&Addon::Guarded<&Addon::CheckCorruption>>("checkCorruption"),
      InstanceMethod<&Addon::Guarded<&Addon::CheckPoolCorruption>>("checkPoolCorruption"),
      InstanceMethod<&Addon::Guarded<&Addon::CorruptedAllocations>>("corruptedAllocations"),
      InstanceMethod<&Addon::Guarded<&Addon::CreateBuffers>>("createBuffers"),
      InstanceMethod<&Addon::Guarded<&Addon::DestroyBuffers>>("destroyBuffers"),
      InstanceMethod<&Addon::Guarded<&Addon::FillBufferBatch>>("fillBufferBatch"),
      InstanceMethod<&Addon::Guarded<&Addon::FreeResources>>("freeResources"),
      InstanceMethod<&Addon::Guarded<&Addon::SetNativeTiming>>("setNativeTiming"),
      InstanceMethod<&Addon::Guarded<&Addon::TakeNativeTime>>("takeNativeTime"),
#ifdef VKMEM_ORACLES
      // The in-process C++ loop bench/allocator compares the TypeScript loop with: the oracles build only.
      InstanceMethod<&Addon::Guarded<&Addon::BenchBufferPairs>>("benchBufferPairs"),
#endif
#ifdef VKMEM_DEBUG_BUILD
      // Test hooks that write and read outside an allocation's bounds: the debug build only.
      InstanceMethod<&Addon::Guarded<&Addon::DebugPoke>>("debugPoke"),
      InstanceMethod<&Addon::Guarded<&Addon::DebugPeek>>("debugPeek"),
#endif
  });
  DefineHot<&Addon::CreateBuffer>(env, exports, this, "createBuffer");
  DefineHot<&Addon::CreateImage>(env, exports, this, "createImage");
  DefineHot<&Addon::AllocateMemory>(env, exports, this, "allocateMemory");
  DefineHot<&Addon::FreeAllocation>(env, exports, this, "freeAllocation");
  DefineHot<&Addon::GetAllocationInfo>(env, exports, this, "getAllocationInfo");
  RegisterBuddyPools(env, exports, this);
  RegisterUploadWorkers(env, exports, this);
  RegisterDeferredFrees(env, exports);
  RegisterCopyCommands(env, exports, this);
  RegisterScatterCopies(env, exports, this);
  RegisterFrameCommands(env, exports, this);
  RegisterTraceSinks(env, exports, this);
  RegisterTraceFiles(env, exports, this);
#ifdef VKMEM_ORACLES
  RegisterVirtualBlocks(env, exports, this);  // the oracles build only (addon.h)
  RegisterImageBench(env, exports, this);
#endif
}

// setScratch(buffer) -> the buffer the addon uses. The first call's buffer is kept for good: Node loads an addon
// once per environment, but the JS that drives it can be evaluated more than once there (a test runner that resets
// its module registry, a bundle that carries the package twice). Each copy then uses the scratch this returns, so
// none reads results the addon wrote elsewhere or hands it inputs it does not read.
Napi::Value Addon::SetScratch(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) throw TypeErrorFor(info.Env(), "scratch must be an ArrayBuffer");
  if (f64 != nullptr) return scratchRef.Value();
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  if (ab.ByteLength() < Scratch::kSlots * 8) throw RangeErrorFor(info.Env(), "scratch is too small");
  scratchRef = Napi::Persistent(ab);
  f64 = static_cast<double*>(ab.Data());
  u64 = static_cast<uint64_t*>(ab.Data());
  return ab;
}

void Addon::RequireScratch(Napi::Env env) {
  if (f64 == nullptr) throw Napi::Error::New(env, "vkmem native: setScratch() was not called");
}

Napi::Value Addon::SetErrorFactory(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) throw TypeErrorFor(info.Env(), "error factory must be a function");
  makeVkError = Napi::Persistent(info[0].As<Napi::Function>());
  if (info.Length() > 1 && info[1].IsFunction()) makeCorruptionError = Napi::Persistent(info[1].As<Napi::Function>());
  if (info.Length() > 2 && info[2].IsFunction()) makeVmaAssertionError = Napi::Persistent(info[2].As<Napi::Function>());
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
  if (!VmaAssertedThisCall()) return;
  // The messages of this call only; they are claimed by the error.
  std::vector<std::string> messages;
  messages.swap(gCall.messages);
  gCall.asserted = false;
  std::vector<std::string> checks;
  for (auto& m : messages) {
    if (m.rfind("VMA check failed", 0) == 0) checks.push_back(m);
  }
  if (!makeVmaAssertionError.IsEmpty()) {
    Napi::Array list = Napi::Array::New(env, checks.size());
    for (size_t i = 0; i < checks.size(); ++i) list.Set(static_cast<uint32_t>(i), checks[i]);
    Napi::Value err = makeVmaAssertionError.Call({Napi::String::New(env, operation), list});
    throw Napi::Error(env, err);
  }
  throw Napi::Error::New(env, std::string(operation) + ": " + (checks.empty() ? "VMA check failed" : checks[0]));
}

void Addon::EndNativeCall(Napi::Env env, const char* operation) {
  // An exception already pending (a JS error thrown by this call) wins; the messages then stay unclaimed.
  if (VmaAssertedThisCall() && !env.IsExceptionPending()) ThrowIfVmaAsserted(env, operation);
}

Napi::Value Addon::TakeVmaMessages(const Napi::CallbackInfo& info) {
  // Earlier calls' unclaimed messages, then this call's (destroyAllocator / destroyPool report their leaks so).
  std::vector<std::string> taken;
  taken.swap(gUnclaimed);
  for (auto& m : gCall.messages) taken.push_back(std::move(m));
  gCall.messages.clear();
  gCall.asserted = false;
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
#ifdef VKMEM_ORACLES
  o.Set("oracles", true);
#else
  o.Set("oracles", false);
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
  uint32_t index = 0, gen = 0;
  if (!DecodeHandle(h, &index, &gen) || index == 0 || index >= allocations.size()) return nullptr;
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
  s.aliasCount = 0;
  s.nextFree = 0;
  s.serial = nextAllocationSerial++;
  allocators[allocatorIndex].liveAllocations++;
  return index;
}

std::vector<uint32_t> Addon::LiveSlotsOldestFirst(uint32_t allocatorIndex, uint32_t poolIndex, uint32_t count) const {
  std::vector<uint32_t> out;
  out.reserve(count);
  for (uint32_t i = 1; i < allocations.size() && out.size() < count; ++i) {
    const AllocationSlot& a = allocations[i];
    if (a.kind == Kind::Free || a.allocator != allocatorIndex || (poolIndex != 0 && a.pool != poolIndex)) continue;
    out.push_back(i);
  }
  // Slots are reused after frees, so their order is the history's; the serial is the order of creation.
  std::sort(out.begin(), out.end(), [this](uint32_t a, uint32_t b) { return allocations[a].serial < allocations[b].serial; });
  return out;
}

void Addon::ReleaseAllocationSlot(uint32_t index) {
  AllocationSlot& s = allocations[index];
  // A backstop for the paths that free memory without FreeAllocationNow (a defragmentation move's DESTROY): no
  // aliasing resource may outlive its slot (destroying a buffer or image after its memory is valid Vulkan).
  if (s.aliasCount > 0) DestroyAliasesOf(index);
  allocators[s.allocator].liveAllocations--;
  if (s.pool != 0) pools[s.pool].liveAllocations--;
  s.pool = 0;
  s.allocation = VK_NULL_HANDLE;
  s.resource = 0;
  s.kind = Kind::Free;
  s.ownsResource = false;
  s.mapCount = 0;
  s.aliasCount = 0;
  s.moving = false;
  s.defragTemp = false;
  s.generation = s.generation >= kMaxGeneration ? 1 : s.generation + 1;
  s.nextFree = freeAllocationHead;
  freeAllocationHead = index + 1;
}

}  // namespace vkmem

using vkmem::Addon;
NODE_API_ADDON(Addon)
