// Batches of buffers (createBuffers / destroyBuffers: one native call for many vmaCreateBuffer / vmaDestroyBuffer),
// the timer of native calls that benchmarks switch on, and, in the oracles build only, the in-process C++ loop that
// bench/allocator.ts compares the TypeScript loop with.
//
// A batch's ArrayBuffer, laid out by engine/memory/buffer-batch.ts (change both together), for n buffers, in 8-byte
// slots (u64 where it says so, f64 otherwise):
//   [0, 4n)    in:  per buffer size, usage, create flags, sharing mode (as ReadBufferCreateInfo reads them)
//   [4n, 5n)   out: allocation handle
//   [5n, 6n)   out: offset in its VkDeviceMemory
//   [6n, 7n)   out: allocation size
//   [7n, 8n)   out: memory type index
//   [8n, 9n)   out: size of its VkDeviceMemory block
//   [9n, 10n)  out: VkBuffer (u64)
//   [10n, 11n) out: VkDeviceMemory (u64)
// The VmaAllocationCreateInfo is the scratch's, as for createBuffer: one for the whole batch. The handles and the
// VkBuffers are written by createBuffers; the rest ([5n, 9n) and [10n, 11n), what vmaGetAllocationInfo2 says) only
// when it is asked to fill them (a recording wants them at once) or later by fillBufferBatch, when JS first reads
// them: a level load or a particle system that never looks at its offsets does not pay VMA's info call per buffer.
//
// All or nothing: every description is checked before the first VMA call, and when a creation fails the buffers the
// call already made are destroyed before it returns the VkResult (or throws), so JS never holds part of a batch.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>
#ifdef _WIN32
#include <windows.h>
#else
#include <time.h>
#endif

#include "addon.h"
#include "deferred_free.h"

namespace vkmem {

bool gNativeTiming = false;
std::atomic<int64_t> gNativeNs{0};

int64_t MonotonicNs() {
#ifdef _WIN32
  LARGE_INTEGER frequency, counter;
  QueryPerformanceFrequency(&frequency);
  QueryPerformanceCounter(&counter);
  return static_cast<int64_t>(static_cast<double>(counter.QuadPart) * 1e9 / static_cast<double>(frequency.QuadPart));
#else
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
#endif
}

namespace {
constexpr double kMaxU32 = 4294967295.0;
constexpr double kMaxSafe = 9007199254740991.0;
constexpr uint32_t kBatchSlots = 11;
constexpr double kMaxBatch = 16777216.0;  // 2^24: no more than the slot table can hold

double NumberAt(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
}

// The batch ArrayBuffer of argument 1 for `count` (argument 2) buffers.
double* BatchFrom(const Napi::CallbackInfo& info, uint32_t* countOut) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsArrayBuffer()) throw TypeErrorFor(env, "batch must be an ArrayBuffer");
  const double count = NumberAt(info, 2);
  if (!(count >= 1 && count <= kMaxBatch) || std::floor(count) != count) throw RangeErrorFor(env, "batch count out of range");
  Napi::ArrayBuffer ab = info[1].As<Napi::ArrayBuffer>();
  const uint32_t n = static_cast<uint32_t>(count);
  if (ab.ByteLength() < static_cast<size_t>(n) * kBatchSlots * 8) throw RangeErrorFor(env, "batch buffer is too small");
  *countOut = n;
  return static_cast<double*>(ab.Data());
}

// Writes buffer i's allocation info into the results of a batch of n (the layout above).
void WriteBatchInfo(VmaAllocator allocator, VmaAllocation allocation, double* batch, uint32_t n, uint32_t i) {
  VmaAllocationInfo2 ai2;
  vmaGetAllocationInfo2(allocator, allocation, &ai2);
  double* out = batch + static_cast<size_t>(n) * 5;
  out[i] = static_cast<double>(ai2.allocationInfo.offset);
  out[n + i] = static_cast<double>(ai2.allocationInfo.size);
  out[2 * static_cast<size_t>(n) + i] = ai2.allocationInfo.memoryType;
  out[3 * static_cast<size_t>(n) + i] = static_cast<double>(ai2.blockSize);
  reinterpret_cast<uint64_t*>(batch + static_cast<size_t>(n) * 10)[i] = reinterpret_cast<uint64_t>(ai2.allocationInfo.deviceMemory);
}
}  // namespace

// createBuffers(allocator, batch, count, name|null, fill) -> VkResult (0: every buffer made; else none is left). `fill`:
// write each buffer's allocation info as well (else fillBufferBatch does, when asked).
Napi::Value Addon::CreateBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  uint32_t ai = 0;
  AllocatorFrom(env, info[0], &ai);
  uint32_t n = 0;
  double* batch = BatchFrom(info, &n);
  std::string name;
  const bool named = info.Length() > 3 && info[3].IsString();
  const bool fill = info.Length() > 4 && info[4].ToBoolean().Value();
  if (named) {
    name = info[3].As<Napi::String>().Utf8Value();
    if (name.find('\0') != std::string::npos) throw RangeErrorFor(env, "allocation name must not contain NUL");
  }
  VmaAllocationCreateInfo aci;
  uint32_t poolIndex = 0;
  ReadAllocationCreateInfo(env, aci, "vmaCreateBuffer", ai, &poolIndex);
  const VkDeviceSize minAlignment = ReadMinAlignment(env);
  for (uint32_t i = 0; i < n; ++i) {
    const double* in = batch + 4 * static_cast<size_t>(i);
    if (!(in[0] >= 1 && in[0] <= kMaxSafe) || std::floor(in[0]) != in[0]) throw RangeErrorFor(env, "buffer size out of range");
    if (!IsUint(in[1], kMaxU32) || !IsUint(in[2], kMaxU32) || in[3] != 0) {
      throw RangeErrorFor(env, "buffer usage, flags or sharing mode out of range");
    }
  }
  double* outAllocation = batch + 4 * static_cast<size_t>(n);
  uint64_t* outBuffer = reinterpret_cast<uint64_t*>(batch + 9 * static_cast<size_t>(n));
  // Destroys the first `made` buffers of this call: a failure leaves nothing behind.
  auto undo = [&](uint32_t made) {
    for (uint32_t j = 0; j < made; ++j) {
      uint32_t index = 0;
      if (AllocationFromNumber(outAllocation[j], &index) != nullptr) FreeAllocationNow(index);
      outAllocation[j] = 0;
    }
  };
  VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  for (uint32_t i = 0; i < n; ++i) {
    const double* in = batch + 4 * static_cast<size_t>(i);
    bci.size = static_cast<VkDeviceSize>(in[0]);
    bci.usage = static_cast<VkBufferUsageFlags>(in[1]);
    bci.flags = static_cast<VkBufferCreateFlags>(in[2]);
    bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VmaAllocator allocator = allocators[ai].allocator;
    VkBuffer buffer = VK_NULL_HANDLE;
    VmaAllocation allocation = VK_NULL_HANDLE;
    const VkResult r = minAlignment > 0
                           ? vmaCreateBufferWithAlignment(allocator, &bci, &aci, minAlignment, &buffer, &allocation, nullptr)
                           : vmaCreateBuffer(allocator, &bci, &aci, &buffer, &allocation, nullptr);
    if (r == VK_SUCCESS && VmaAssertedThisCall()) vmaDestroyBuffer(allocator, buffer, allocation);
    if (r != VK_SUCCESS || VmaAssertedThisCall()) {
      undo(i);
      if (VmaAssertMentions("already being used as ring buffer")) {
        TakeVmaMessagesSince(VmaMessageMark{0, false});
        throw RangeErrorFor(env, "createBuffers: allocationOptions.upperAddress cannot be used while the linear pool is in "
                                 "use as a ring buffer");
      }
      ThrowIfVmaAsserted(env, "vmaCreateBuffer");
      f64[Scratch::kOutAllocation] = i;  // which buffer failed
      return Napi::Number::New(env, r);
    }
    const uint32_t index = NewAllocationSlot(ai, allocation, Kind::Buffer, reinterpret_cast<uint64_t>(buffer), true);
    if (index == 0) {
      vmaDestroyBuffer(allocator, buffer, allocation);
      undo(i);
      f64[Scratch::kOutAllocation] = i;
      return Napi::Number::New(env, VK_ERROR_TOO_MANY_OBJECTS);
    }
    if (poolIndex != 0) {
      allocations[index].pool = poolIndex;
      pools[poolIndex].liveAllocations++;
    }
    Keep(buffers, index, BufferRecord{0, bci.usage, bci.size});
    if (named) vmaSetAllocationName(allocator, allocation, name.c_str());
    outAllocation[i] = EncodeHandle(allocations[index].generation, index);
    outBuffer[i] = reinterpret_cast<uint64_t>(buffer);
    if (fill) WriteBatchInfo(allocator, allocation, batch, n, i);
  }
  return Napi::Number::New(env, VK_SUCCESS);
}

// fillBufferBatch(allocator, batch, count): writes what vmaGetAllocationInfo2 says of each buffer of a live batch
// (offset, size, memory type, block size, VkDeviceMemory) into its results, for the first read of them in JS. Every
// handle must name a live buffer allocation of this allocator (else it throws and writes nothing).
Napi::Value Addon::FillBufferBatch(const Napi::CallbackInfo& info) {
  uint32_t ai = 0, n = 0;
  double* batch = nullptr;
  const double* handles = CheckedBatchHandles(info, "fillBufferBatch", false, &ai, &batch, &n);
  for (uint32_t i = 0; i < n; ++i)
    WriteBatchInfo(allocators[ai].allocator, AllocationFromNumber(handles[i], nullptr)->allocation, batch, n, i);
  return info.Env().Undefined();
}

// The handles of a batch call's results ([4n, 5n)), once each is checked to name a live buffer allocation that
// vkmem made on allocator `*ai` (and, when `notMoving`, that no open defragmentation pass holds): else it throws,
// naming `op`. `batchOut` (may be null) receives the batch's buffer.
const double* Addon::CheckedBatchHandles(const Napi::CallbackInfo& info, const char* op, bool notMoving, uint32_t* ai,
                                         double** batchOut, uint32_t* nOut) {
  Napi::Env env = info.Env();
  AllocatorFrom(env, info[0], ai);
  double* batch = BatchFrom(info, nOut);
  const uint32_t n = *nOut;
  const double* handles = batch + 4 * static_cast<size_t>(n);
  for (uint32_t i = 0; i < n; ++i) {
    const AllocationSlot* a = AllocationFromNumber(handles[i], nullptr);
    if (a == nullptr || a->allocator != *ai || a->kind != Kind::Buffer || !a->ownsResource) {
      throw Napi::Error::New(env, std::string("vkmem native: ") + op + ": stale or invalid allocation handle in the batch");
    }
    if (notMoving && (a->moving || a->defragTemp)) {
      throw Napi::Error::New(env, std::string("vkmem native: ") + op +
                                      ": an allocation of the batch is being moved by an open defragmentation pass");
    }
  }
  if (batchOut != nullptr) *batchOut = batch;
  return handles;
}

// destroyBuffers(allocator, batch, count): checks that every handle of the batch's output names a live buffer
// allocation of this allocator that no defragmentation pass holds, then destroys them all (vmaDestroyBuffer each).
// A batch the allocator freed already (its destroy(), a pool's) fails the check: nothing is freed then.
Napi::Value Addon::DestroyBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ai = 0, n = 0;
  const double* handles = CheckedBatchHandles(info, "destroyBuffers", true, &ai, nullptr, &n);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t index = 0;
    // A handle listed twice was freed by its first entry.
    if (AllocationFromNumber(handles[i], &index) != nullptr) FreeAllocationNow(index);
  }
  ThrowIfVmaAsserted(env, "vmaDestroyBuffer");
  return env.Undefined();
}

// freeResources(allocator, handles: Float64Array, views: (ArrayBuffer | null)[], first, end) -> the index of the first
// entry not freed (end when all were). The deferred frees of a FrameManager's Buffers and Textures, in one call
// instead of one per resource (engine/resources/release-batch.ts): entries [first, end) in order, each the
// allocation handle of a buffer or image vkmem created with its memory, and, for a texture, its default view's 8
// bytes (the nvk handle object's memoryBuffer), destroyed just before the image. A freed entry's handle is set to 0,
// so that the caller knows which were freed even when a VMA assert makes this call throw after them.
//
// The allocations are named by their handles and each is looked up in the slot table: it must be a live buffer or
// image allocation of this allocator with the resource vkmem created, in no pool, with no aliases, not held by a
// defragmentation pass, of an allocator that does not record (its Free records are written by TS), and (the debug
// build) with its margin intact; an image's view entry must be null or an ArrayBuffer of at least 8 bytes. An entry
// that does not pass stops the call there, with nothing of it done: the caller frees that one on the single path
// (which throws the typed error when there is one) and calls again after it, so the order of the frees is kept. The
// view entries are read for images only (a buffer's is never looked at, so a thousand buffers cost no array reads).
// A view can only be checked to go with an image; that it is that image's own, made on this allocator's device and
// used by nothing, is the caller's to know (vkmem made it, and the frame that last used it is complete).
// Entries prefetched at a time (PrefetchFrees): their lines, three or four each, stay in the caches until freed.
constexpr uint32_t kPrefetchWindow = 256;

Napi::Value Addon::FreeResources(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, info[0], &ai);
  if (info.Length() < 5 || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || !info[2].IsArray() ||
      !info[3].IsNumber() || !info[4].IsNumber())
    throw TypeErrorFor(env, "freeResources(allocator, handles: Float64Array, views: Array, first, end)");
  Napi::Float64Array handles = info[1].As<Napi::Float64Array>();
  Napi::Array views = info[2].As<Napi::Array>();
  const double firstD = info[3].As<Napi::Number>().DoubleValue();
  const double endD = info[4].As<Napi::Number>().DoubleValue();
  const double length = static_cast<double>(handles.ElementLength() < views.Length() ? handles.ElementLength() : views.Length());
  if (!IsUint(firstD, length) || !IsUint(endD, length) || firstD > endD)
    throw RangeErrorFor(env, "freeResources: first and end must be entry indices, first <= end");
  const uint32_t first = static_cast<uint32_t>(firstD);
  const uint32_t end = static_cast<uint32_t>(endD);
  double* h = handles.Data();
  if (slot.trace) return Napi::Number::New(env, first);
  // The buffers', images' and views' own destruction (and the vkFreeMemory of any block VMA empties) goes to the
  // background freer (deferred_free.h): in a frame that retires a thousand resources, the driver's part of each free
  // is off the frame's thread. A view is queued before its image, and the queue runs in order.
  DeferFrees defer;
  uint32_t prefetched = first;
  for (uint32_t i = first; i < end; ++i) {
    if (i == prefetched) {
      prefetched = end - i > kPrefetchWindow ? i + kPrefetchWindow : end;
      PrefetchFrees(h, i, prefetched);
    }
    uint32_t index = 0;
    const AllocationSlot* a = AllocationFromNumber(h[i], &index);
    if (a == nullptr || a->allocator != ai || !a->ownsResource || a->pool != 0 || a->aliasCount != 0 || a->moving ||
        a->defragTemp || !(a->kind == Kind::Image || a->kind == Kind::Buffer))
      return Napi::Number::New(env, i);
    uint64_t view = 0;
    if (a->kind == Kind::Image) {
      napi_value v = nullptr;
      napi_valuetype type = napi_undefined;
      if (napi_get_element(env, views, i, &v) != napi_ok || napi_typeof(env, v, &type) != napi_ok)
        return Napi::Number::New(env, i);
      if (type != napi_null && type != napi_undefined) {
        bool isBuffer = false;
        void* data = nullptr;
        size_t length = 0;
        if (napi_is_arraybuffer(env, v, &isBuffer) != napi_ok || !isBuffer ||
            napi_get_arraybuffer_info(env, v, &data, &length) != napi_ok || length < 8)
          return Napi::Number::New(env, i);
        std::memcpy(&view, data, 8);
      }
    }
#if VMA_DEBUG_MARGIN > 0 && VMA_DEBUG_DETECT_CORRUPTION
    if (!MarginIntact(index)) return Napi::Number::New(env, i);  // the single free names it in a CorruptionError
#endif
    DestroyImageView(slot.device, view, slot.destroyImageView);  // queued before its image
    FreeAllocationNow(index);
    h[i] = 0;
  }
  ThrowIfVmaAsserted(env, "vmaDestroyImage");
  return Napi::Number::New(env, end);
}

// A run of deferred frees (FreeResources) names allocations made a frame or more before, which nothing has touched
// since: each free's first loads (its slot, VMA's allocation object, the allocation's node in its block's metadata)
// miss the caches, and freeing them one after the other waited for each miss in turn. Three passes over a window of
// entries first ask for those lines without waiting on any (a prefetch does not fault and changes nothing), so that
// the misses overlap: the slots; then, once most have arrived, the VmaAllocations of the live ones; then their nodes.
// A handle that names no live slot is skipped; the free loop checks every entry as before. On the two-core lavapipe
// machine, bench frame's beginFrame (retiring 1,000 resources) went from 867-993 µs to 655-715 (medians, 3 runs each).
void Addon::PrefetchFrees(const double* handles, uint32_t first, uint32_t end) {
#if defined(__GNUC__) || defined(__clang__)
  const size_t size = allocations.size();
  const AllocationSlot* table = allocations.data();
  for (uint32_t i = first; i < end; ++i) {
    uint32_t index = 0, gen = 0;
    if (DecodeHandle(handles[i], &index, &gen) && index < size) __builtin_prefetch(table + index);
  }
  for (uint32_t i = first; i < end; ++i) {
    const AllocationSlot* s = AllocationFromNumber(handles[i], nullptr);
    if (s != nullptr && s->allocation != VK_NULL_HANDLE) __builtin_prefetch(s->allocation);
  }
  for (uint32_t i = first; i < end; ++i) {
    const AllocationSlot* s = AllocationFromNumber(handles[i], nullptr);
    if (s != nullptr && s->allocation != VK_NULL_HANDLE) PrefetchFreeOf(s->allocation);
  }
#else
  (void)handles, (void)first, (void)end;
#endif
}

// setNativeTiming(on): from now on (or no longer) every native call adds the time it took to a counter.
Napi::Value Addon::SetNativeTiming(const Napi::CallbackInfo& info) {
  gNativeTiming = info.Length() > 0 && info[0].ToBoolean().Value();
  return info.Env().Undefined();
}

// takeNativeTime() -> nanoseconds the timed native calls took since the last take; resets the counter.
Napi::Value Addon::TakeNativeTime(const Napi::CallbackInfo& info) {
  const int64_t ns = gNativeNs.exchange(0, std::memory_order_relaxed);
  return Napi::Number::New(info.Env(), static_cast<double>(ns));
}

#ifdef VKMEM_ORACLES
// benchBufferPairs(allocator, iterations, usage, memoryUsage, batch = 1) -> nanoseconds: the loop of
// bench/native/allocator_bench.cpp (vmaCreateBuffer + vmaDestroyBuffer, size 256 << (i % 9), exclusive, no flags) run
// in this process on the allocator JS made, so that the TypeScript loop and this one share the allocator, the build
// and the machine's state. With `batch` > 1, `batch` buffers are created and then destroyed in the same order: the
// pattern of createBuffers / destroyBuffers, whose VMA work differs from a pair's (more blocks of the metadata live).
Napi::Value Addon::BenchBufferPairs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, info[0], &ai);
  const double iterations = NumberAt(info, 1), usage = NumberAt(info, 2), memoryUsage = NumberAt(info, 3);
  if (!IsUint(iterations, kMaxSafe) || !IsUint(usage, kMaxU32) || !IsUint(memoryUsage, VMA_MEMORY_USAGE_AUTO_PREFER_HOST)) {
    throw RangeErrorFor(env, "benchBufferPairs: iterations, usage or memory usage out of range");
  }
  VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.usage = static_cast<VkBufferUsageFlags>(usage);
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VmaAllocationCreateInfo aci = {};
  aci.usage = static_cast<VmaMemoryUsage>(static_cast<int>(memoryUsage));
  const double batchArg = info.Length() > 4 ? NumberAt(info, 4) : 1;
  if (!(batchArg >= 1 && batchArg <= 65536) || std::floor(batchArg) != batchArg) {
    throw RangeErrorFor(env, "benchBufferPairs: batch out of range");
  }
  const uint64_t n = static_cast<uint64_t>(iterations);
  const uint64_t batch = static_cast<uint64_t>(batchArg);
  std::vector<VkBuffer> buffers(batch);
  std::vector<VmaAllocation> allocations(batch);
  const int64_t start = MonotonicNs();
  for (uint64_t i = 0; i < n; i += batch) {
    const uint64_t count = n - i < batch ? n - i : batch;
    for (uint64_t k = 0; k < count; ++k) {
      bci.size = VkDeviceSize(256) << ((batch > 1 ? k : i) % 9);  // a batch: the same list each time, as the TS loop
      const VkResult r = vmaCreateBuffer(slot.allocator, &bci, &aci, &buffers[k], &allocations[k], nullptr);
      if (r != VK_SUCCESS) {
        for (uint64_t j = 0; j < k; ++j) vmaDestroyBuffer(slot.allocator, buffers[j], allocations[j]);
        ThrowVk(env, r, "vmaCreateBuffer");
      }
    }
    for (uint64_t k = 0; k < count; ++k) vmaDestroyBuffer(slot.allocator, buffers[k], allocations[k]);
  }
  const int64_t ns = MonotonicNs() - start;
  ThrowIfVmaAsserted(env, "benchBufferPairs");
  return Napi::Number::New(env, static_cast<double>(ns));
}
#endif

}  // namespace vkmem
