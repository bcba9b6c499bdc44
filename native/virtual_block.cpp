// Virtual blocks (see virtual_block.h): create/destroy/clear, allocate/free/info on the hot path through the
// scratch buffer (addon.h, Scratch::kVb*), statistics and the {"Stats","Details"} JSON for every algorithm.
//
// Every value from JS is checked again here (TS checks first and gives the good messages): a size of 0,
// an alignment that is not a power of two, UPPER_ADDRESS outside a linear block, or an allocation handle
// that is not live in this block never reaches VMA or the buddy allocator.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <string>

#include "addon.h"
#include "virtual_block.h"

namespace vkmem {

namespace {

constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1
constexpr double kMaxAlignment = 4503599627370496.0;  // 2^52
constexpr uint32_t kUpperAddress = VMA_VIRTUAL_ALLOCATION_CREATE_UPPER_ADDRESS_BIT;
constexpr uint32_t kKnownFlags = kUpperAddress | VMA_VIRTUAL_ALLOCATION_CREATE_STRATEGY_MASK;

// VMA's linear metadata tells allocations from freed items by type when allocating, but by
// `userData == NULL` in its statistics and JSON (VmaBlockMetadata_Linear::AddDetailedStatistics,
// PrintDetailedMap): a linear virtual allocation without pUserData counts as free there. So linear
// blocks always hand VMA a non-null pUserData: the user's integer, or this sentinel, which no JS user
// data can equal (those are < 2^53) and which the JSON has removed again (kNoUserDataJson).
constexpr uint64_t kNoUserData = UINT64_MAX;
constexpr const char* kNoUserDataJson = ", \"CustomData\": \"0xffffffffffffffff\"";

void* VmaUserData(const VirtualBlockSlot& block, uint64_t userData) {
  if (userData == 0 && block.algorithm == VirtualAlgorithm::Linear) userData = kNoUserData;
  return reinterpret_cast<void*>(static_cast<uintptr_t>(userData));
}

Addon& AddonOf(const Napi::CallbackInfo& info) { return *static_cast<Addon*>(info.Data()); }

VirtualBlockSlot& BlockFrom(Addon& addon, Napi::Env env, napi_value v, uint32_t* indexOut = nullptr) {
  double h = -1;
  if (v == nullptr || napi_get_value_double(env, v, &h) != napi_ok || !IsUint(h, kMaxSafe)) {
    throw TypeErrorFor(env, "virtual block handle must be a non-negative integer Number");
  }
  const uint64_t raw = static_cast<uint64_t>(h);
  const uint32_t index = static_cast<uint32_t>(raw & ((1u << kIndexBits) - 1));
  const uint32_t gen = static_cast<uint32_t>(raw >> kIndexBits);
  auto& slots = addon.virtualBlocks->slots;
  if (index == 0 || index >= slots.size() || !slots[index].live || slots[index].generation != gen) {
    throw Napi::Error::New(env, "vkmem native: stale or invalid virtual block handle");
  }
  if (indexOut) *indexOut = index;
  return slots[index];
}

// The live allocation a handle names, or nullptr (stale, freed, forged, or of another block).
VirtualAllocationSlot* AllocationOf(VirtualBlockSlot& block, double h, uint32_t* indexOut) {
  if (!(h >= 1 && h <= kMaxSafe) || std::floor(h) != h) return nullptr;
  const uint64_t raw = static_cast<uint64_t>(h);
  const uint32_t index = static_cast<uint32_t>(raw & ((1u << kIndexBits) - 1));
  const uint32_t gen = static_cast<uint32_t>(raw >> kIndexBits);
  if (index == 0 || index >= block.allocations.size()) return nullptr;
  VirtualAllocationSlot& a = block.allocations[index];
  if (!a.live || a.generation != gen) return nullptr;
  if (indexOut) *indexOut = index;
  return &a;
}

VirtualAllocationSlot& AllocationFrom(VirtualBlockSlot& block, Napi::Env env, double h, uint32_t* indexOut) {
  VirtualAllocationSlot* a = AllocationOf(block, h, indexOut);
  if (a == nullptr) throw Napi::Error::New(env, "vkmem native: stale or invalid virtual allocation handle");
  return *a;
}

// 0 when the table is full (2^24 - 1 live allocations in one block).
uint32_t NewAllocationSlot(VirtualBlockSlot& block) {
  uint32_t index;
  if (block.freeHead != 0) {
    index = block.freeHead - 1;
    block.freeHead = block.allocations[index].nextFree;
  } else {
    if (block.allocations.size() >= (1u << kIndexBits)) return 0;
    index = static_cast<uint32_t>(block.allocations.size());
    block.allocations.emplace_back();
  }
  block.allocations[index].live = true;
  block.allocations[index].nextFree = 0;
  block.liveCount++;
  return index;
}

void ReleaseAllocationSlot(VirtualBlockSlot& block, uint32_t index) {
  VirtualAllocationSlot& a = block.allocations[index];
  a.live = false;
  a.id = 0;
  a.userData = 0;
  a.generation = a.generation >= kMaxGeneration ? 1 : a.generation + 1;
  a.nextFree = block.freeHead;
  block.freeHead = index + 1;
  block.liveCount--;
}

void AllocationRange(const VirtualBlockSlot& block, const VirtualAllocationSlot& a, uint64_t* offset, uint64_t* size) {
  if (block.algorithm == VirtualAlgorithm::Buddy) {
    *offset = block.buddy->OffsetOf(static_cast<uint32_t>(a.id));
    *size = block.buddy->RequestedSizeOf(static_cast<uint32_t>(a.id));
  } else {
    VmaVirtualAllocationInfo info;
    vmaGetVirtualAllocationInfo(block.vma, reinterpret_cast<VmaVirtualAllocation>(a.id), &info);
    *offset = info.offset;
    *size = info.size;
  }
}

// Frees everything in the block and invalidates every allocation handle (clear and destroy).
void ClearBlock(VirtualBlockSlot& block) {
  if (block.algorithm == VirtualAlgorithm::Buddy) block.buddy->Clear();
  else vmaClearVirtualBlock(block.vma);
  block.freeHead = 0;
  for (uint32_t i = static_cast<uint32_t>(block.allocations.size()); i-- > 1;) {
    VirtualAllocationSlot& a = block.allocations[i];
    if (a.live) {
      a.live = false;
      a.id = 0;
      a.userData = 0;
      a.generation = a.generation >= kMaxGeneration ? 1 : a.generation + 1;
    }
    a.nextFree = block.freeHead;
    block.freeHead = i + 1;
  }
  block.liveCount = 0;
}

void DestroyBlock(VirtualBlockSlot& block) {
  ClearBlock(block);
  if (block.vma != VK_NULL_HANDLE) vmaDestroyVirtualBlock(block.vma);
  block.vma = VK_NULL_HANDLE;
  block.buddy.reset();
  block.allocations.clear();
  block.allocations.shrink_to_fit();
  block.freeHead = 0;
  block.live = false;
  block.generation = block.generation >= kMaxGeneration ? 1 : block.generation + 1;
}

// ---- the hot calls: one Number argument (the block), inputs and outputs in the scratch buffer ----

// virtualAllocate(block): in kVbSize, kVbAlignment, kVbFlags, kVbUserData. Returns the offset, or -1 when
// the block has no room; on success writes kOutVbAllocation (handle), kOutVbOffset and kOutVbSize.
napi_value VirtualAllocate(Addon& addon, Napi::Env env, napi_value arg) {
  addon.RequireScratch(env);
  VirtualBlockSlot& block = BlockFrom(addon, env, arg);
  double* f = addon.f64;
  const double size = f[Scratch::kVbSize], alignment = f[Scratch::kVbAlignment];
  const double flags = f[Scratch::kVbFlags], userData = f[Scratch::kVbUserData];
  if (!(size >= 1 && size <= kMaxSafe) || std::floor(size) != size) throw RangeErrorFor(env, "virtual allocation size out of range");
  if (!IsUint(alignment, kMaxAlignment)) throw RangeErrorFor(env, "virtual allocation alignment out of range");
  const uint64_t align = alignment < 1 ? 1 : static_cast<uint64_t>(alignment);
  if ((align & (align - 1)) != 0) throw RangeErrorFor(env, "virtual allocation alignment must be a power of two");
  if (!IsUint(flags, 4294967295.0) || (static_cast<uint32_t>(flags) & ~kKnownFlags) != 0) {
    throw RangeErrorFor(env, "virtual allocation flags out of range");
  }
  const uint32_t vflags = static_cast<uint32_t>(flags);
  if ((vflags & kUpperAddress) != 0 && block.algorithm != VirtualAlgorithm::Linear) {
    throw RangeErrorFor(env, "upper address allocations need a linear virtual block");
  }
  if (!IsUint(userData, kMaxSafe)) throw RangeErrorFor(env, "virtual allocation user data must be an integer in [0, 2^53)");
  const uint64_t bytes = static_cast<uint64_t>(size);
  uint64_t offset = 0;
  uint64_t id = 0;
  if (block.algorithm == VirtualAlgorithm::Buddy) {
    const uint32_t node = block.buddy->Allocate(bytes, align, &offset);
    if (node == BuddyAllocator::kNoNode) return Napi::Number::New(env, -1);
    id = node;
  } else {
    VmaVirtualAllocationCreateInfo ci = {};
    ci.size = bytes;
    ci.alignment = align;
    ci.flags = vflags;
    ci.pUserData = VmaUserData(block, static_cast<uint64_t>(userData));
    VmaVirtualAllocation va = VK_NULL_HANDLE;
    const VkResult r = vmaVirtualAllocate(block.vma, &ci, &va, &offset);
    if (VmaAssertedThisCall()) {
      if (r == VK_SUCCESS) vmaVirtualFree(block.vma, va);  // never handed out
      addon.ThrowIfVmaAsserted(env, "vmaVirtualAllocate");
    }
    if (r != VK_SUCCESS) return Napi::Number::New(env, -1);
    id = reinterpret_cast<uint64_t>(va);
  }
  const uint32_t index = NewAllocationSlot(block);
  if (index == 0) {
    if (block.algorithm == VirtualAlgorithm::Buddy) block.buddy->Free(static_cast<uint32_t>(id));
    else vmaVirtualFree(block.vma, reinterpret_cast<VmaVirtualAllocation>(id));
    throw RangeErrorFor(env, "a virtual block holds at most 2^24 - 1 live allocations");
  }
  VirtualAllocationSlot& a = block.allocations[index];
  a.id = id;
  a.userData = static_cast<uint64_t>(userData);
  f[Scratch::kOutVbAllocation] = Addon::EncodeHandle(a.generation, index);
  f[Scratch::kOutVbOffset] = static_cast<double>(offset);
  f[Scratch::kOutVbSize] = size;
  return Napi::Number::New(env, static_cast<double>(offset));
}

// virtualFree(block): in kVbAllocation. Throws for a handle that is not live in this block.
napi_value VirtualFree(Addon& addon, Napi::Env env, napi_value arg) {
  addon.RequireScratch(env);
  VirtualBlockSlot& block = BlockFrom(addon, env, arg);
  uint32_t index = 0;
  VirtualAllocationSlot& a = AllocationFrom(block, env, addon.f64[Scratch::kVbAllocation], &index);
  if (block.algorithm == VirtualAlgorithm::Buddy) {
    block.buddy->Free(static_cast<uint32_t>(a.id));
  } else {
    vmaVirtualFree(block.vma, reinterpret_cast<VmaVirtualAllocation>(a.id));
  }
  ReleaseAllocationSlot(block, index);
  if (block.algorithm != VirtualAlgorithm::Buddy) addon.ThrowIfVmaAsserted(env, "vmaVirtualFree");
  return nullptr;
}

// virtualAllocationInfo(block): in kVbAllocation; writes kOutVbOffset, kOutVbSize, kOutVbUserData.
napi_value VirtualAllocationInfo(Addon& addon, Napi::Env env, napi_value arg) {
  addon.RequireScratch(env);
  VirtualBlockSlot& block = BlockFrom(addon, env, arg);
  VirtualAllocationSlot& a = AllocationFrom(block, env, addon.f64[Scratch::kVbAllocation], nullptr);
  uint64_t offset = 0, size = 0;
  AllocationRange(block, a, &offset, &size);
  addon.f64[Scratch::kOutVbOffset] = static_cast<double>(offset);
  addon.f64[Scratch::kOutVbSize] = static_cast<double>(size);
  addon.f64[Scratch::kOutVbUserData] = static_cast<double>(a.userData);
  return nullptr;
}

// ---- the rest: ordinary node-addon-api calls ----

// createVirtualBlock(size, algorithm: 0 tlsf | 1 linear | 2 buddy, minNodeSize) -> handle
Napi::Value CreateVirtualBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& addon = AddonOf(info);
  const double size = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  const double algorithm = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  const double minNode = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  if (!(size >= 1 && size <= kMaxSafe) || std::floor(size) != size) throw RangeErrorFor(env, "virtual block size out of range");
  if (!IsUint(algorithm, 2)) throw RangeErrorFor(env, "virtual block algorithm must be 0 (tlsf), 1 (linear) or 2 (buddy)");
  const auto algo = static_cast<VirtualAlgorithm>(static_cast<int>(algorithm));
  if (algo == VirtualAlgorithm::Buddy) {
    if (!IsUint(minNode, kMaxAlignment) || minNode < 1 || (static_cast<uint64_t>(minNode) & (static_cast<uint64_t>(minNode) - 1)) != 0) {
      throw RangeErrorFor(env, "buddy minimum node size must be a power of two");
    }
    if (minNode > size) throw RangeErrorFor(env, "buddy minimum node size must not exceed the block size");
  }
  auto& slots = addon.virtualBlocks->slots;
  uint32_t index = 0;
  for (uint32_t i = 1; i < slots.size(); ++i) {
    if (!slots[i].live) { index = i; break; }
  }
  if (index == 0) {
    if (slots.size() >= (1u << kIndexBits)) throw RangeErrorFor(env, "too many virtual blocks");
    index = static_cast<uint32_t>(slots.size());
    slots.emplace_back();
  }
  VirtualBlockSlot& block = slots[index];
  block.algorithm = algo;
  if (algo == VirtualAlgorithm::Buddy) {
    block.buddy = std::make_unique<BuddyAllocator>(static_cast<uint64_t>(size), static_cast<uint64_t>(minNode));
  } else {
    VmaVirtualBlockCreateInfo ci = {};
    ci.size = static_cast<VkDeviceSize>(size);
    ci.flags = algo == VirtualAlgorithm::Linear ? VMA_VIRTUAL_BLOCK_CREATE_LINEAR_ALGORITHM_BIT : 0;
    VmaVirtualBlock vma = VK_NULL_HANDLE;
    const VkResult r = vmaCreateVirtualBlock(&ci, &vma);
    if (VmaAssertedThisCall()) {
      if (r == VK_SUCCESS) vmaDestroyVirtualBlock(vma);  // never handed out
      addon.ThrowIfVmaAsserted(env, "vmaCreateVirtualBlock");
    }
    if (r != VK_SUCCESS) addon.ThrowVk(env, r, "vmaCreateVirtualBlock");
    block.vma = vma;
  }
  block.allocations.assign(1, VirtualAllocationSlot{});
  block.freeHead = 0;
  block.liveCount = 0;
  block.live = true;
  return Napi::Number::New(env, Addon::EncodeHandle(block.generation, index));
}

// destroyVirtualBlock(block) -> { leaks: [{ handle, offset, size, userData }], messages: string[] }
// Allocations still alive are listed, then the block is cleared before VMA destroys it, so VMA's
// "Some virtual allocations were not freed" check never fires.
Napi::Value DestroyVirtualBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& addon = AddonOf(info);
  VirtualBlockSlot& block = BlockFrom(addon, env, info[0]);
  Napi::Array leaks = Napi::Array::New(env);
  uint32_t n = 0;
  for (uint32_t i = 1; i < block.allocations.size() && n < block.liveCount; ++i) {
    const VirtualAllocationSlot& a = block.allocations[i];
    if (!a.live) continue;
    uint64_t offset = 0, size = 0;
    AllocationRange(block, a, &offset, &size);
    Napi::Object leak = Napi::Object::New(env);
    leak.Set("handle", Addon::EncodeHandle(a.generation, i));
    leak.Set("offset", static_cast<double>(offset));
    leak.Set("size", static_cast<double>(size));
    leak.Set("userData", static_cast<double>(a.userData));
    leaks.Set(n++, leak);
  }
  DestroyBlock(block);
  Napi::Object out = Napi::Object::New(env);
  out.Set("leaks", leaks);
  out.Set("messages", addon.TakeVmaMessages(info));
  return out;
}

// clearVirtualBlock(block) -> how many allocations it freed
Napi::Value ClearVirtualBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& addon = AddonOf(info);
  VirtualBlockSlot& block = BlockFrom(addon, env, info[0]);
  const uint32_t count = block.liveCount;
  ClearBlock(block);
  addon.ThrowIfVmaAsserted(env, "vmaClearVirtualBlock");
  return Napi::Number::New(env, count);
}

Napi::Value VirtualBlockAllocationCount(const Napi::CallbackInfo& info) {
  Addon& addon = AddonOf(info);
  return Napi::Number::New(info.Env(), BlockFrom(addon, info.Env(), info[0]).liveCount);
}

// setVirtualAllocationUserData(block, allocation, value): value an integer in [0, 2^53).
Napi::Value SetVirtualAllocationUserData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& addon = AddonOf(info);
  VirtualBlockSlot& block = BlockFrom(addon, env, info[0]);
  const double h = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  VirtualAllocationSlot& a = AllocationFrom(block, env, h, nullptr);
  const double v = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  if (!IsUint(v, kMaxSafe)) throw RangeErrorFor(env, "user data must be an integer in [0, 2^53)");
  a.userData = static_cast<uint64_t>(v);
  if (block.algorithm != VirtualAlgorithm::Buddy) {
    vmaSetVirtualAllocationUserData(block.vma, reinterpret_cast<VmaVirtualAllocation>(a.id), VmaUserData(block, a.userData));
  }
  return env.Undefined();
}

BuddyAllocator::Statistics StatisticsOf(const VirtualBlockSlot& block, bool detailed) {
  if (block.algorithm == VirtualAlgorithm::Buddy) {
    return detailed ? block.buddy->DetailedStatistics() : block.buddy->FastStatistics();
  }
  BuddyAllocator::Statistics s;
  if (detailed) {
    VmaDetailedStatistics d;
    vmaCalculateVirtualBlockStatistics(block.vma, &d);
    s.blockBytes = d.statistics.blockBytes;
    s.allocationCount = d.statistics.allocationCount;
    s.allocationBytes = d.statistics.allocationBytes;
    s.unusedRangeCount = d.unusedRangeCount;
    s.allocationSizeMin = d.allocationSizeMin;
    s.allocationSizeMax = d.allocationSizeMax;
    s.unusedRangeSizeMin = d.unusedRangeSizeMin;
    s.unusedRangeSizeMax = d.unusedRangeSizeMax;
  } else {
    VmaStatistics st;
    vmaGetVirtualBlockStatistics(block.vma, &st);
    s.blockBytes = st.blockBytes;
    s.allocationCount = st.allocationCount;
    s.allocationBytes = st.allocationBytes;
  }
  return s;
}

// virtualBlockStatistics(block, detailed) -> VmaStatistics (+ VmaDetailedStatistics when detailed) + waste
Napi::Value VirtualBlockStatistics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& addon = AddonOf(info);
  const VirtualBlockSlot& block = BlockFrom(addon, env, info[0]);
  const bool detailed = info.Length() > 1 && info[1].ToBoolean().Value();
  const BuddyAllocator::Statistics s = StatisticsOf(block, detailed);
  auto min = [](uint64_t v) { return v == UINT64_MAX ? INFINITY : static_cast<double>(v); };
  Napi::Object o = Napi::Object::New(env);
  o.Set("blockCount", 1);
  o.Set("allocationCount", static_cast<double>(s.allocationCount));
  o.Set("blockBytes", static_cast<double>(s.blockBytes));
  o.Set("allocationBytes", static_cast<double>(s.allocationBytes));
  if (detailed) {
    o.Set("unusedRangeCount", static_cast<double>(s.unusedRangeCount));
    o.Set("allocationSizeMin", min(s.allocationSizeMin));
    o.Set("allocationSizeMax", static_cast<double>(s.allocationSizeMax));
    o.Set("unusedRangeSizeMin", min(s.unusedRangeSizeMin));
    o.Set("unusedRangeSizeMax", static_cast<double>(s.unusedRangeSizeMax));
  }
  o.Set("internalWasteBytes", static_cast<double>(s.internalWasteBytes));
  return o;
}

// The buddy block's JSON, in the shape of vmaBuildVirtualBlockStatsString: {"Stats": VmaDetailedStatistics,
// "Details": {TotalBytes, UnusedBytes, Allocations, UnusedRanges, Suballocations[]}} plus, in Details, the
// buddy's own figures (Algorithm, UsableBytes, MinNodeSize, InternalWasteBytes). An allocation's Size is
// what was asked for; the rest of its node is internal waste, neither allocation nor unused range.
std::string BuddyStatsString(const VirtualBlockSlot& block, bool detailed) {
  const BuddyAllocator& b = *block.buddy;
  const BuddyAllocator::Statistics s = b.DetailedStatistics();
  std::string out = "{\n  \"Stats\": {\n";
  auto field = [&out](const char* indent, const char* name, uint64_t v, bool last) {
    out += indent;
    out += "\"";
    out += name;
    out += "\": ";
    out += std::to_string(v);
    out += last ? "\n" : ",\n";
  };
  field("    ", "BlockCount", 1, false);
  field("    ", "BlockBytes", s.blockBytes, false);
  field("    ", "AllocationCount", s.allocationCount, false);
  field("    ", "AllocationBytes", s.allocationBytes, false);
  const bool allocMinMax = s.allocationCount > 1, rangeMinMax = s.unusedRangeCount > 1;
  field("    ", "UnusedRangeCount", s.unusedRangeCount, !allocMinMax && !rangeMinMax);
  if (allocMinMax) {
    field("    ", "AllocationSizeMin", s.allocationSizeMin, false);
    field("    ", "AllocationSizeMax", s.allocationSizeMax, !rangeMinMax);
  }
  if (rangeMinMax) {
    field("    ", "UnusedRangeSizeMin", s.unusedRangeSizeMin, false);
    field("    ", "UnusedRangeSizeMax", s.unusedRangeSizeMax, true);
  }
  out += "  }";
  if (detailed) {
    out += ",\n  \"Details\": {\n";
    field("    ", "TotalBytes", s.blockBytes, false);
    field("    ", "UnusedBytes", s.blockBytes - s.allocationBytes - s.internalWasteBytes, false);
    field("    ", "Allocations", s.allocationCount, false);
    field("    ", "UnusedRanges", s.unusedRangeCount, false);
    out += "    \"Algorithm\": \"Buddy\",\n";
    field("    ", "UsableBytes", b.UsableSize(), false);
    field("    ", "MinNodeSize", b.MinNodeSize(), false);
    field("    ", "InternalWasteBytes", s.internalWasteBytes, false);
    out += "    \"Suballocations\": [";
    // userData per buddy node, from the allocation table.
    std::vector<uint64_t> userData;
    for (const VirtualAllocationSlot& a : block.allocations) {
      if (!a.live) continue;
      if (a.id >= userData.size()) userData.resize(a.id + 1, 0);
      userData[a.id] = a.userData;
    }
    bool first = true;
    b.ForEachRange([&](uint64_t offset, uint64_t size, uint64_t requested, uint32_t node, bool isAllocation) {
      out += first ? "\n" : ",\n";
      first = false;
      out += "      {\"Offset\": " + std::to_string(offset);
      if (isAllocation) {
        out += ", \"Size\": " + std::to_string(requested);
        const uint64_t ud = node < userData.size() ? userData[node] : 0;
        if (ud != 0) {
          char buf[32];
          // As VMA's dumps print it (vma_impl.cpp, FormatForVma): 0x2a on every platform, not %p's own form.
          std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(ud));
          out += ", \"CustomData\": \"";
          out += buf;
          out += "\"";
        }
      } else {
        out += ", \"Type\": \"FREE\", \"Size\": " + std::to_string(size);
      }
      out += "}";
    });
    out += first ? "]\n  }" : "\n    ]\n  }";
  }
  out += "\n}";
  return out;
}

// buildVirtualBlockStatsString(block, detailed) -> JSON {"Stats", "Details"}
Napi::Value BuildVirtualBlockStatsString(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& addon = AddonOf(info);
  const VirtualBlockSlot& block = BlockFrom(addon, env, info[0]);
  const bool detailed = info.Length() > 1 && info[1].ToBoolean().Value();
  if (block.algorithm == VirtualAlgorithm::Buddy) return Napi::String::New(env, BuddyStatsString(block, detailed));
  char* s = nullptr;
  vmaBuildVirtualBlockStatsString(block.vma, &s, detailed ? VK_TRUE : VK_FALSE);
  std::string json = s ? s : "";
  vmaFreeVirtualBlockStatsString(block.vma, s);
  if (block.algorithm == VirtualAlgorithm::Linear) {
    const std::string sentinel = kNoUserDataJson;
    for (size_t at = json.find(sentinel); at != std::string::npos; at = json.find(sentinel, at)) json.erase(at, sentinel.size());
  }
  return Napi::String::New(env, json);
}

}  // namespace

VirtualBlocks::~VirtualBlocks() {
  for (VirtualBlockSlot& block : slots) {
    if (block.live) DestroyBlock(block);
  }
}

void RegisterVirtualBlocks(Napi::Env env, Napi::Object exports, Addon* addon) {
  addon->virtualBlocks = {new VirtualBlocks(), [](VirtualBlocks* blocks) { delete blocks; }};
  DefineHotFunction(env, exports, addon, "virtualAllocate", HotCall<VirtualAllocate>);
  DefineHotFunction(env, exports, addon, "virtualFree", HotCall<VirtualFree>);
  DefineHotFunction(env, exports, addon, "virtualAllocationInfo", HotCall<VirtualAllocationInfo>);
  exports.Set("createVirtualBlock", Napi::Function::New(env, GuardedFunction<CreateVirtualBlock>, "createVirtualBlock", addon));
  exports.Set("destroyVirtualBlock", Napi::Function::New(env, GuardedFunction<DestroyVirtualBlock>, "destroyVirtualBlock", addon));
  exports.Set("clearVirtualBlock", Napi::Function::New(env, GuardedFunction<ClearVirtualBlock>, "clearVirtualBlock", addon));
  exports.Set("virtualBlockAllocationCount", Napi::Function::New(env, GuardedFunction<VirtualBlockAllocationCount>, "virtualBlockAllocationCount", addon));
  exports.Set("setVirtualAllocationUserData", Napi::Function::New(env, GuardedFunction<SetVirtualAllocationUserData>, "setVirtualAllocationUserData", addon));
  exports.Set("virtualBlockStatistics", Napi::Function::New(env, GuardedFunction<VirtualBlockStatistics>, "virtualBlockStatistics", addon));
  exports.Set("buildVirtualBlockStatsString", Napi::Function::New(env, GuardedFunction<BuildVirtualBlockStatsString>, "buildVirtualBlockStatsString", addon));
}

}  // namespace vkmem
