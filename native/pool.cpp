// Custom pools (VmaPool): creation, destruction with its live allocations, statistics and names.
//
// Pools live in their own slot table (addon.h, PoolSlot) with generation counters, like allocators and
// allocations, and each belongs to one allocator. An allocation made from a pool records the pool's
// index, so that destroying the pool can find, report and free what is still in it: VMA itself would
// only assert (and leak the VkDeviceMemory) when a pool goes with allocations alive. Destroying an
// allocator frees every allocation first and then destroys its pools (allocator.cpp).
//
// Allocation from a pool goes through the ordinary allocation calls: the pool's handle travels in the
// scratch slot kAllocPool, and ReadAllocationCreateInfo (allocation.cpp) checks that it is live and
// belongs to the same allocator.
#include <cmath>

#include "addon.h"

namespace vkmem {

namespace {
constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1
// The VmaPoolCreateFlagBits vkmem exposes: IGNORE_BUFFER_IMAGE_GRANULARITY and the linear algorithm.
constexpr uint32_t kIgnoreGranularity = 0x2;
constexpr uint32_t kLinear = 0x4;

double NumberArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
}
}  // namespace

PoolSlot* Addon::PoolFromNumber(double h, uint32_t* indexOut) { return LiveSlotFromNumber(pools, h, indexOut); }

static PoolSlot& PoolFrom(Addon& addon, const Napi::CallbackInfo& info, uint32_t* indexOut = nullptr) {
  double h = NumberArg(info, 0);
  PoolSlot* p = addon.PoolFromNumber(h, indexOut);
  if (p == nullptr) throw Napi::Error::New(info.Env(), "vkmem native: stale or invalid pool handle");
  return *p;
}

// createPool(allocator, memoryTypeIndex, flags, blockSize, minBlockCount, maxBlockCount, priority,
//            minAllocationAlignment) -> the pool handle, or the negative VkResult of vmaCreatePool.
// blockSize 0: VMA's preferred size for the heap (and the pool may then make dedicated allocations);
// maxBlockCount 0: no limit.
Napi::Value Addon::CreatePool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, info[0], &ai);
  const double typeIndex = NumberArg(info, 1), flags = NumberArg(info, 2), blockSize = NumberArg(info, 3);
  const double minBlocks = NumberArg(info, 4), maxBlocks = NumberArg(info, 5), priority = NumberArg(info, 6);
  const double minAlignment = NumberArg(info, 7);
  const VkPhysicalDeviceMemoryProperties* mp = nullptr;
  vmaGetMemoryProperties(slot.allocator, &mp);
  if (!IsUint(typeIndex, mp->memoryTypeCount - 1.0)) throw RangeErrorFor(env, "createPool: memory type index out of range");
  if (!IsUint(flags, 0xffffffff) || (static_cast<uint32_t>(flags) & ~(kIgnoreGranularity | kLinear)) != 0) {
    throw RangeErrorFor(env, "createPool: pool flags out of range");
  }
  if (!IsUint(blockSize, kMaxSafe)) throw RangeErrorFor(env, "createPool: block size out of range");
  if (!IsUint(minBlocks, 1e9) || !IsUint(maxBlocks, 1e9)) throw RangeErrorFor(env, "createPool: block counts out of range");
  if (maxBlocks != 0 && minBlocks > maxBlocks) throw RangeErrorFor(env, "createPool: minBlockCount exceeds maxBlockCount");
  if (!(priority >= 0 && priority <= 1)) throw RangeErrorFor(env, "createPool: priority must be in [0, 1]");
  if (!IsUint(minAlignment, 2147483648.0) ||
      (minAlignment != 0 && (static_cast<uint64_t>(minAlignment) & (static_cast<uint64_t>(minAlignment) - 1)) != 0)) {
    throw RangeErrorFor(env, "createPool: minAllocationAlignment must be 0 or a power of two");
  }

  VmaPoolCreateInfo ci = {};
  ci.memoryTypeIndex = static_cast<uint32_t>(typeIndex);
  ci.flags = static_cast<VmaPoolCreateFlags>(flags);
  ci.blockSize = static_cast<VkDeviceSize>(blockSize);
  ci.minBlockCount = static_cast<size_t>(minBlocks);
  ci.maxBlockCount = static_cast<size_t>(maxBlocks);
  ci.priority = static_cast<float>(priority);
  ci.minAllocationAlignment = static_cast<VkDeviceSize>(minAlignment);
  VmaPool pool = VK_NULL_HANDLE;
  VkResult r = vmaCreatePool(slot.allocator, &ci, &pool);
  if (VmaAssertedThisCall()) {
    if (r == VK_SUCCESS) vmaDestroyPool(slot.allocator, pool);  // never handed out
    ThrowIfVmaAsserted(env, "vmaCreatePool");
  }
  if (r != VK_SUCCESS) return Napi::Number::New(env, r);

  uint32_t index = 0;
  for (uint32_t i = 1; i < pools.size(); ++i) {
    if (!pools[i].live) { index = i; break; }
  }
  if (index == 0) {
    if (pools.size() >= (1u << kIndexBits)) {
      vmaDestroyPool(slot.allocator, pool);
      return Napi::Number::New(env, VK_ERROR_TOO_MANY_OBJECTS);
    }
    index = static_cast<uint32_t>(pools.size());
    pools.emplace_back();
  }
  PoolSlot& p = pools[index];
  p.pool = pool;
  p.allocator = ai;
  p.liveAllocations = 0;
  p.live = true;
  p.linear = (static_cast<uint32_t>(flags) & kLinear) != 0;
  p.singleBlock = maxBlocks == 1;
  p.explicitBlockSize = blockSize != 0;
  return Napi::Number::New(env, EncodeHandle(p.generation, index));
}

void Addon::DestroyPoolNow(Napi::Env env, uint32_t poolIndex, Napi::Array* leaks) {
  AbandonDefragmentations(pools[poolIndex].allocator, poolIndex);
  PoolSlot& p = pools[poolIndex];
  uint32_t n = leaks != nullptr ? leaks->Length() : 0;
  for (uint32_t i : LiveSlotsOldestFirst(p.allocator, poolIndex, p.liveAllocations)) {
    if (leaks != nullptr) leaks->Set(n++, DescribeLeak(env, i));
    FreeAllocationNow(i);
  }
  vmaDestroyPool(allocators[p.allocator].allocator, p.pool);
  p.pool = VK_NULL_HANDLE;
  p.live = false;
  p.allocator = 0;
  p.generation = p.generation >= kMaxGeneration ? 1 : p.generation + 1;
}

// destroyPool(pool) -> { leaks: [{ handle, name, size, offset, memoryType, kind, pool }], messages }
// The allocations still in the pool are described, freed (with the buffers and images vkmem created
// with them), and only then is the pool destroyed.
Napi::Value Addon::DestroyPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t index = 0;
  PoolFrom(*this, info, &index);
  Napi::Array leaks = Napi::Array::New(env);
  DestroyPoolNow(env, index, &leaks);
  Napi::Object out = Napi::Object::New(env);
  out.Set("leaks", leaks);
  out.Set("messages", TakeVmaMessages(info));
  return out;
}

// getPoolStatistics(pool) -> VmaStatistics: cheap, kept up to date by VMA.
// Except for linear pools: in VMA 3.4.0, VmaBlockMetadata_Linear::AddStatistics walks the second vector
// of a ring buffer from index m_1stNullItemsBeginCount instead of 0 (every other walk starts at 0), so
// once the ring has wrapped, allocationCount misses allocations. For linear pools the counts come from
// the full walk (vmaCalculatePoolStatistics), which is exact; test/memory/pool.test.ts catches a regression.
Napi::Value Addon::GetPoolStatistics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PoolSlot& p = PoolFrom(*this, info);
  VmaStatistics s;
  if (p.linear) {
    VmaDetailedStatistics d;
    vmaCalculatePoolStatistics(allocators[p.allocator].allocator, p.pool, &d);
    s = d.statistics;
  } else {
    vmaGetPoolStatistics(allocators[p.allocator].allocator, p.pool, &s);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("blockCount", static_cast<double>(s.blockCount));
  o.Set("allocationCount", static_cast<double>(s.allocationCount));
  o.Set("blockBytes", static_cast<double>(s.blockBytes));
  o.Set("allocationBytes", static_cast<double>(s.allocationBytes));
  return o;
}

// calculatePoolStatistics(pool) -> VmaDetailedStatistics: walks the pool's blocks.
Napi::Value Addon::CalculatePoolStatistics(const Napi::CallbackInfo& info) {
  PoolSlot& p = PoolFrom(*this, info);
  VmaDetailedStatistics s;
  vmaCalculatePoolStatistics(allocators[p.allocator].allocator, p.pool, &s);
  return DetailedStats(info.Env(), s);
}

Napi::Value Addon::SetPoolName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PoolSlot& p = PoolFrom(*this, info);
  if (info.Length() < 2 || (!info[1].IsString() && !info[1].IsNull())) throw TypeErrorFor(env, "pool name must be a string or null");
  VmaAllocator allocator = allocators[p.allocator].allocator;
  if (info[1].IsNull()) {
    vmaSetPoolName(allocator, p.pool, nullptr);
  } else {
    std::string name = info[1].As<Napi::String>().Utf8Value();
    if (name.find('\0') != std::string::npos) throw RangeErrorFor(env, "pool name must not contain NUL");
    vmaSetPoolName(allocator, p.pool, name.c_str());
  }
  return env.Undefined();
}

Napi::Value Addon::GetPoolName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PoolSlot& p = PoolFrom(*this, info);
  const char* name = nullptr;
  vmaGetPoolName(allocators[p.allocator].allocator, p.pool, &name);
  return name != nullptr ? Napi::Value(Napi::String::New(env, name)) : env.Null();
}

}  // namespace vkmem
