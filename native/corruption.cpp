// Corruption detection: vmaCheckCorruption / vmaCheckPoolCorruption, the allocations whose margin was
// overwritten, and (debug build only) test hooks that write and read bytes of a block outside an allocation.
//
// VMA reports found corruption twice: as the result VK_ERROR_UNKNOWN and by firing VMA_ASSERT. Our assert
// recorder (vma_config.h) would turn that assert into an error on the next native call, so the checks here
// take the messages they caused out of the record: a found corruption is an answer, not a failed call.
//
// VMA says which memory types it checked only through the result, and not at all which allocation was
// hit. The slot table knows every live allocation, so CorruptedAllocations checks each one's margin the way
// VMA does (the magic number at offset + size, VMA_DEBUG_MARGIN bytes) and describes the broken ones.
#include <cmath>
#include <cstring>

#include "addon.h"

namespace vkmem {

namespace {
constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1
constexpr VkMemoryPropertyFlags kCheckable = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
constexpr uint32_t kMagic = 0x7F84E666;  // VMA_CORRUPTION_DETECTION_MAGIC_VALUE

uint32_t MemoryTypeBitsArg(const Napi::CallbackInfo& info, size_t i, VmaAllocator allocator) {
  const VkPhysicalDeviceMemoryProperties* mp = nullptr;
  vmaGetMemoryProperties(allocator, &mp);
  double bits = info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
  const double all = mp->memoryTypeCount >= 32 ? 4294967295.0 : static_cast<double>((1u << mp->memoryTypeCount) - 1);
  if (!IsUint(bits, 4294967295.0) || (static_cast<uint32_t>(bits) & ~static_cast<uint32_t>(all)) != 0) {
    throw RangeErrorFor(info.Env(), "memoryTypeBits must be a mask of the device's memory types");
  }
  return static_cast<uint32_t>(bits);
}
}  // namespace

bool Addon::MarginIntact(uint32_t index) {
#if VMA_DEBUG_MARGIN > 0 && VMA_DEBUG_DETECT_CORRUPTION
  AllocationSlot& a = allocations[index];
  VmaAllocator allocator = allocators[a.allocator].allocator;
  VkMemoryPropertyFlags flags = 0;
  vmaGetAllocationMemoryProperties(allocator, a.allocation, &flags);
  if ((flags & kCheckable) != kCheckable) return true;  // VMA keeps no magic there
  VmaAllocationInfo ai;
  vmaGetAllocationInfo(allocator, a.allocation, &ai);
  char* base = nullptr;
  VkDeviceSize blockSize = 0;
  if (MapAllocationBlock(allocator, a.allocation, &base, &blockSize) != VK_SUCCESS) return true;  // dedicated
  bool intact = true;
  const VkDeviceSize end = ai.offset + ai.size;  // VMA's size: the request rounded up to 4 bytes
  if (end + VMA_DEBUG_MARGIN <= blockSize) {
    for (VkDeviceSize i = 0; i < VMA_DEBUG_MARGIN; i += 4) {
      uint32_t word;
      std::memcpy(&word, base + end + i, 4);
      if (word != kMagic) { intact = false; break; }
    }
  }
  UnmapAllocationBlock(allocator, a.allocation);
  return intact;
#else
  (void)index;
  return true;
#endif
}

void Addon::ThrowCorruption(Napi::Env env, const char* operation, const std::string& message, Napi::Array found) {
  if (!makeCorruptionError.IsEmpty()) {
    Napi::Value err = makeCorruptionError.Call({Napi::String::New(env, operation), Napi::String::New(env, message), found});
    throw Napi::Error(env, err);
  }
  throw Napi::Error::New(env, std::string(operation) + ": " + message);
}

// checkCorruption(allocator, memoryTypeBits) -> VkResult of vmaCheckCorruption: VK_SUCCESS (checked, intact),
// VK_ERROR_FEATURE_NOT_PRESENT (no type in the mask can be checked, or this build has no detection),
// VK_ERROR_UNKNOWN (a margin was overwritten), or a Vulkan error (a block could not be mapped).
Napi::Value Addon::CheckCorruption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocatorSlot& slot = AllocatorFrom(env, info[0]);
  const uint32_t bits = MemoryTypeBitsArg(info, 1, slot.allocator);
  const VmaMessageMark mark = MarkVmaMessages();
  VkResult r = vmaCheckCorruption(slot.allocator, bits);
  TakeVmaMessagesSince(mark);  // "MEMORY CORRUPTION DETECTED ...": the result says it
  return Napi::Number::New(env, r);
}

// checkPoolCorruption(pool) -> VkResult of vmaCheckPoolCorruption, as checkCorruption.
Napi::Value Addon::CheckPoolCorruption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double h = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  PoolSlot* p = PoolFromNumber(h, nullptr);
  if (p == nullptr) throw Napi::Error::New(env, "vkmem native: stale or invalid pool handle");
  const VmaMessageMark mark = MarkVmaMessages();
  VkResult r = vmaCheckPoolCorruption(allocators[p->allocator].allocator, p->pool);
  TakeVmaMessagesSince(mark);
  return Napi::Number::New(env, r);
}

// corruptedAllocations(allocator, memoryTypeBits, pool) -> [{ handle, name, size, offset, memoryType, kind,
// pool }] for each live allocation of the allocator (of that pool when `pool` is not 0) in those memory types
// whose margin no longer holds the magic number. Always [] in a build without corruption detection.
Napi::Value Addon::CorruptedAllocations(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, info[0], &ai);
  const uint32_t bits = MemoryTypeBitsArg(info, 1, slot.allocator);
  double poolHandle = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  uint32_t poolIndex = 0;
  if (poolHandle != 0 && (PoolFromNumber(poolHandle, &poolIndex) == nullptr || pools[poolIndex].allocator != ai)) {
    throw Napi::Error::New(env, "vkmem native: stale or invalid pool handle");
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  uint32_t seen = 0;
  for (uint32_t i = 1; i < allocations.size() && seen < slot.liveAllocations; ++i) {
    AllocationSlot& a = allocations[i];
    if (a.kind == Kind::Free || a.allocator != ai) continue;
    ++seen;
    if (poolIndex != 0 && a.pool != poolIndex) continue;
    VmaAllocationInfo info2;
    vmaGetAllocationInfo(slot.allocator, a.allocation, &info2);
    if (((1u << info2.memoryType) & bits) == 0) continue;
    if (!MarginIntact(i)) out.Set(n++, DescribeLeak(env, i));
  }
  return out;
}

#ifdef VKMEM_DEBUG_BUILD
namespace {
// The byte at `relative` from the allocation's start, anywhere in its block: checks the allocation, the
// offset (an integer, possibly negative) and the block bounds, then maps the block.
struct BlockByte {
  VmaAllocator allocator = VK_NULL_HANDLE;
  VmaAllocation allocation = VK_NULL_HANDLE;
  char* base = nullptr;
  VkDeviceSize at = 0;
};

BlockByte LocateByte(Addon& addon, const Napi::CallbackInfo& info, const char* operation) {
  Napi::Env env = info.Env();
  AllocationSlot& a = addon.AllocationFrom(env, info[0]);
  double rel = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : NAN;
  if (!(rel >= -kMaxSafe && rel <= kMaxSafe) || std::floor(rel) != rel) {
    throw RangeErrorFor(env, std::string(operation) + ": relative offset must be an integer");
  }
  BlockByte b;
  b.allocator = addon.allocators[a.allocator].allocator;
  b.allocation = a.allocation;
  VkMemoryPropertyFlags flags = 0;
  vmaGetAllocationMemoryProperties(b.allocator, b.allocation, &flags);
  if ((flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) == 0) {
    throw RangeErrorFor(env, std::string(operation) + ": the allocation's memory type is not HOST_VISIBLE");
  }
  VmaAllocationInfo ai;
  vmaGetAllocationInfo(b.allocator, b.allocation, &ai);
  const double at = static_cast<double>(ai.offset) + rel;
  VkDeviceSize blockSize = 0;
  VkResult r = MapAllocationBlock(b.allocator, b.allocation, &b.base, &blockSize);
  if (r == VK_ERROR_FEATURE_NOT_PRESENT) {
    throw RangeErrorFor(env, std::string(operation) + ": a dedicated allocation has no block around it");
  }
  if (r != VK_SUCCESS) addon.ThrowVk(env, r, operation);
  if (!(at >= 0 && at < static_cast<double>(blockSize))) {
    UnmapAllocationBlock(b.allocator, b.allocation);
    throw RangeErrorFor(env, std::string(operation) + ": allocation offset " + std::to_string(ai.offset) + " + " +
                                 std::to_string(static_cast<long long>(rel)) + " is outside its block of " +
                                 std::to_string(blockSize) + " bytes");
  }
  b.at = static_cast<VkDeviceSize>(at);
  return b;
}
}  // namespace

// debugPoke(allocation, relativeOffset, value): writes one byte at the allocation's offset + relativeOffset
// in its block, through VMA's mapping of the block: a deliberate out-of-bounds write, for tests.
Napi::Value Addon::DebugPoke(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double v = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  if (!IsUint(v, 255)) throw RangeErrorFor(env, "debugPoke: value must be a byte (0..255)");
  BlockByte b = LocateByte(*this, info, "debugPoke");
  reinterpret_cast<volatile uint8_t*>(b.base)[b.at] = static_cast<uint8_t>(v);
  UnmapAllocationBlock(b.allocator, b.allocation);
  return env.Undefined();
}

// debugPeek(allocation, relativeOffset) -> the byte at the allocation's offset + relativeOffset in its block.
Napi::Value Addon::DebugPeek(const Napi::CallbackInfo& info) {
  BlockByte b = LocateByte(*this, info, "debugPeek");
  uint8_t v = reinterpret_cast<volatile uint8_t*>(b.base)[b.at];
  UnmapAllocationBlock(b.allocator, b.allocation);
  return Napi::Number::New(info.Env(), v);
}
#else
Napi::Value Addon::DebugPoke(const Napi::CallbackInfo& info) { throw Napi::Error::New(info.Env(), "vkmem native: debugPoke needs the debug build"); }
Napi::Value Addon::DebugPeek(const Napi::CallbackInfo& info) { throw Napi::Error::New(info.Env(), "vkmem native: debugPeek needs the debug build"); }
#endif

}  // namespace vkmem
