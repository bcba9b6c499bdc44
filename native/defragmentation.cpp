// Defragmentation: VMA 3's pass-based API (vmaBeginDefragmentation ... vmaEndDefragmentation) over the slot tables.
//
// A context lives in its own slot table (addon.h, DefragSlot) with generation counters, like pools, and belongs to
// one allocator (and to one pool, or to the default pools). One context per allocator at a time: two would plan
// moves of the same allocations.
//
// A pass, from vmaBeginDefragmentationPass to vmaEndDefragmentationPass, names moves. For each one this file keeps:
// - the source's slot, marked `moving`: freeing it is refused until the pass ends, because VMA's end of pass
//   dereferences it (VMA: "allocations returned in pMoves shouldn't be destroyed until the pass is ended");
// - a slot of its own for VMA's dstTmpAllocation, marked `defragTemp`, of kind Memory: JS may map it, query it and
//   bind its own buffer or image to it with the ordinary calls; it is never freed through JS (the pass frees it);
// - the replacement resource, when vkmem made it (createDefragmentationMoveResource): a buffer or image with the
//   caller's description, bound at the destination.
// Ending the pass, before VMA commits it, for every move:
// - COPY: the source's old buffer/image (vkmem's) is destroyed and the replacement takes its place in the slot; a
//   source that owns a resource must have a replacement, otherwise the end is refused and the pass stays open
//   (committing would leave a buffer bound to freed memory). A resource the caller bound to the destination moves
//   into the source's slot. VMA itself carries the map count to the new place.
// - IGNORE: the replacement, if any, is destroyed (its memory is the destination, which VMA frees).
// - DESTROY: the source's resources are destroyed and its maps undone; VMA frees it; its slot is released.
// The destination's own maps are undone in every case. The temporary slots are released after VMA's call.
//
// Whatever order things are destroyed in, no VMA call sees a freed allocation: destroying a pool or an allocator
// first abandons the contexts over it (each move of an open pass ignored, but a source the caller freed during the
// pass is freed, its move being DESTROY; the context ended), before their allocations are freed.
#include <cmath>
#include <cstdint>
#include <unordered_map>

#include "addon.h"

// A monotonic clock without <chrono>: MinGW's posix-thread libstdc++ takes steady_clock from libwinpthread-1.dll,
// which the Windows addon must not import (scripts/build-win.mjs checks its imports).
#ifdef _WIN32
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <time.h>
#endif

namespace vkmem {

namespace {
constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1
constexpr uint32_t kAlgorithmMask = 0x1 | 0x2 | 0x4 | 0x8;  // VMA_DEFRAGMENTATION_FLAG_ALGORITHM_*

int64_t NowNs() {
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

// VMA's break callback: true once the pass's planning has run past its limit.
VkBool32 VKAPI_PTR BreakWhenLate(void* userData) {
  DefragBreak* b = static_cast<DefragBreak*>(userData);
  if (b->limitNs <= 0 || NowNs() - b->startNs < b->limitNs) return VK_FALSE;
  b->fired = true;
  return VK_TRUE;
}

double NumberArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
}


DefragSlot& DefragFrom(Addon& addon, const Napi::CallbackInfo& info) {
  DefragSlot* d = LiveSlotFromNumber(addon.defrags, NumberArg(info, 0), nullptr);
  if (d == nullptr) throw Napi::Error::New(info.Env(), "vkmem native: stale or invalid defragmentation handle");
  return *d;
}

DefragMove& MoveFrom(DefragSlot& d, const Napi::CallbackInfo& info) {
  if (!d.passOpen) throw Napi::Error::New(info.Env(), "vkmem native: no defragmentation pass is open");
  const double i = NumberArg(info, 1);
  if (!IsUint(i, static_cast<double>(d.moves.size()) - 1)) {
    throw RangeErrorFor(info.Env(), "defragmentation move index out of range");
  }
  return d.moves[static_cast<size_t>(i)];
}

void DestroyResource(const AllocatorSlot& slot, uint64_t raw, bool image) {
  if (raw == 0) return;
  if (image) slot.destroyImage(slot.device, reinterpret_cast<VkImage>(raw), nullptr);
  else slot.destroyBuffer(slot.device, reinterpret_cast<VkBuffer>(raw), nullptr);
}
}  // namespace

// The slot of each live allocation of the context's allocator, by its VmaAllocation (VMA's pUserData is the caller's).
void Addon::MapAllocationSlots(DefragSlot& d) {
  d.slotOf.clear();
  d.slotOf.reserve(allocators[d.allocator].liveAllocations);
  for (uint32_t i = 1; i < allocations.size(); ++i) {
    if (allocations[i].kind != Kind::Free && allocations[i].allocator == d.allocator) d.slotOf[allocations[i].allocation] = i;
  }
}

// beginDefragmentation(allocator, pool (0: the default pools), algorithmFlags, maxBytesPerPass, maxAllocationsPerPass,
//                      maxPlanningMicroseconds (0: none)) -> the context handle, or the negative VkResult of VMA.
Napi::Value Addon::BeginDefragmentation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, info[0], &ai);
  const double poolHandle = NumberArg(info, 1), flags = NumberArg(info, 2);
  const double maxBytes = NumberArg(info, 3), maxAllocations = NumberArg(info, 4), maxMicros = NumberArg(info, 5);
  uint32_t poolIndex = 0;
  if (poolHandle != 0) {
    PoolSlot* p = PoolFromNumber(poolHandle, &poolIndex);
    if (p == nullptr || p->allocator != ai) throw Napi::Error::New(env, "vkmem native: stale or foreign pool handle");
    if (p->linear) throw RangeErrorFor(env, "beginDefragmentation: VMA does not defragment linear pools");
  }
  if (!IsUint(flags, kAlgorithmMask) || (static_cast<uint32_t>(flags) & ~kAlgorithmMask) != 0) {
    throw RangeErrorFor(env, "beginDefragmentation: algorithm flags out of range");
  }
  if (!IsUint(maxBytes, kMaxSafe)) throw RangeErrorFor(env, "beginDefragmentation: maxBytesPerPass out of range");
  if (!IsUint(maxAllocations, 4294967295.0)) throw RangeErrorFor(env, "beginDefragmentation: maxAllocationsPerPass out of range");
  if (!IsUint(maxMicros, 1e12)) throw RangeErrorFor(env, "beginDefragmentation: planning time limit out of range");
  for (size_t i = 1; i < defrags.size(); ++i) {
    if (defrags[i].live && defrags[i].allocator == ai) {
      throw Napi::Error::New(env, "vkmem native: the allocator already has a defragmentation in progress");
    }
  }

  uint32_t index = 0;
  for (uint32_t i = 1; i < defrags.size(); ++i) {
    if (!defrags[i].live) {
      index = i;
      break;
    }
  }
  if (index == 0) {
    if (defrags.size() >= (1u << kIndexBits)) return Napi::Number::New(env, VK_ERROR_OUT_OF_HOST_MEMORY);
    index = static_cast<uint32_t>(defrags.size());
    defrags.emplace_back();
  }
  DefragSlot& d = defrags[index];
  d.breaker = std::make_unique<DefragBreak>();
  d.breaker->limitNs = static_cast<int64_t>(maxMicros) * 1000;

  VmaDefragmentationInfo di = {};
  di.flags = static_cast<VmaDefragmentationFlags>(flags);
  di.pool = poolIndex != 0 ? pools[poolIndex].pool : VK_NULL_HANDLE;
  di.maxBytesPerPass = static_cast<VkDeviceSize>(maxBytes);
  di.maxAllocationsPerPass = static_cast<uint32_t>(maxAllocations);
  di.pfnBreakCallback = maxMicros > 0 ? BreakWhenLate : nullptr;
  di.pBreakCallbackUserData = d.breaker.get();
  VmaDefragmentationContext context = VK_NULL_HANDLE;
  VkResult r = vmaBeginDefragmentation(slot.allocator, &di, &context);
  if (r != VK_SUCCESS) {
    d.breaker.reset();
    ThrowIfVmaAsserted(env, "vmaBeginDefragmentation");
    return Napi::Number::New(env, r);
  }
  d.context = context;
  d.allocator = ai;
  d.pool = poolIndex;
  d.live = true;
  d.passOpen = false;
  d.moves.clear();
  // The slot of each live allocation, built now rather than in the first pass (a live defragmentation's passes run
  // inside frames; this call is made between them).
  MapAllocationSlots(d);
  return Napi::Number::New(env, EncodeHandle(d.generation, index));
}

// beginDefragmentationPass(context) -> null when nothing is left to move (no pass is open then); an empty Float64Array
// when the planning limit stopped VMA before its first move (no pass is open then either: call again); else a
// Float64Array [source allocation handle, destination allocation handle] per move, and the pass is open until
// endDefragmentationPass. A second begin while a pass is open is refused.
Napi::Value Addon::BeginDefragmentationPass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DefragSlot& d = DefragFrom(*this, info);
  if (d.passOpen) throw Napi::Error::New(env, "vkmem native: a defragmentation pass is already open");
  AllocatorSlot& slot = allocators[d.allocator];
  d.breaker->startNs = NowNs();
  d.breaker->fired = false;
  d.pass = {};
  VkResult r = vmaBeginDefragmentationPass(slot.allocator, d.context, &d.pass);
  ThrowIfVmaAsserted(env, "vmaBeginDefragmentationPass");
  // VMA answers VK_SUCCESS ("nothing more to move") also when its break callback stopped the planning before the first
  // move: that is an interrupted pass, not the end. It is told apart by our callback having fired, and answered with
  // no moves and no pass open (the next call plans on).
  if (r == VK_SUCCESS) return d.breaker->fired ? Napi::Float64Array::New(env, 0).As<Napi::Value>() : env.Null();
  if (r != VK_INCOMPLETE) ThrowVk(env, r, "vmaBeginDefragmentationPass");

  // Our slot of each source, found by its VmaAllocation (VMA's pUserData is the caller's, not ours to use): the
  // context's map, rebuilt when a source is missing from it or its entry went stale.
  auto current = [&](VmaAllocation a) {
    auto it = d.slotOf.find(a);
    return it != d.slotOf.end() && allocations[it->second].allocation == a && allocations[it->second].kind != Kind::Free;
  };
  bool rebuilt = false;
  for (uint32_t m = 0; m < d.pass.moveCount && !rebuilt; ++m) {
    if (!current(d.pass.pMoves[m].srcAllocation)) {
      MapAllocationSlots(d);
      rebuilt = true;
    }
  }
  std::unordered_map<VmaAllocation, uint32_t>& slotOf = d.slotOf;
  d.moves.assign(d.pass.moveCount, DefragMove{});
  d.passOpen = true;
  Napi::Float64Array out = Napi::Float64Array::New(env, static_cast<size_t>(d.pass.moveCount) * 2);
  for (uint32_t m = 0; m < d.pass.moveCount; ++m) {
    VmaDefragmentationMove& vm = d.pass.pMoves[m];
    auto found = slotOf.find(vm.srcAllocation);
    DefragMove& move = d.moves[m];
    if (found == slotOf.end() || allocations[found->second].allocation != vm.srcAllocation ||
        allocations[found->second].kind == Kind::Free) {
      // An allocation vkmem has no slot for (a buddy pool's block is dedicated, so never moved): leave it be.
      vm.operation = VMA_DEFRAGMENTATION_MOVE_OPERATION_IGNORE;
      out[m * 2] = 0;
      out[m * 2 + 1] = 0;
      continue;
    }
    AllocationSlot& src = allocations[found->second];
    const uint32_t tmp = NewAllocationSlot(d.allocator, vm.dstTmpAllocation, Kind::Memory, 0, false);
    if (tmp == 0) {
      vm.operation = VMA_DEFRAGMENTATION_MOVE_OPERATION_IGNORE;
      out[m * 2] = 0;
      out[m * 2 + 1] = 0;
      continue;
    }
    AllocationSlot& t = allocations[tmp];
    t.pool = src.pool;
    if (t.pool != 0) pools[t.pool].liveAllocations++;
    t.defragTemp = true;
    src.moving = true;
    move.src = found->second;
    move.tmp = tmp;
    out[m * 2] = EncodeHandle(src.generation, found->second);
    out[m * 2 + 1] = EncodeHandle(t.generation, tmp);
  }
  return out;
}

// setDefragmentationMoveOperation(context, moveIndex, operation: 0 copy | 1 ignore | 2 destroy).
Napi::Value Addon::SetDefragmentationMoveOperation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DefragSlot& d = DefragFrom(*this, info);
  DefragMove& move = MoveFrom(d, info);
  const double op = NumberArg(info, 2);
  if (!IsUint(op, 2)) throw RangeErrorFor(env, "defragmentation move operation must be 0 (copy), 1 (ignore) or 2 (destroy)");
  const size_t i = static_cast<size_t>(NumberArg(info, 1));
  if (move.src == 0) throw Napi::Error::New(env, "vkmem native: this move is not vkmem's to change (ignored)");
  d.pass.pMoves[i].operation = static_cast<VmaDefragmentationMoveOperation>(static_cast<uint32_t>(op));
  return env.Undefined();
}

// createDefragmentationMoveResource(context, moveIndex, image: boolean): a buffer (or image) with the description in
// the scratch (as createBuffer / createImage lay it out), created and bound at the move's destination. It replaces
// the source's resource when the pass ends with the move's operation COPY. Writes the handle to kOutResource;
// returns VK_SUCCESS or the negative VkResult of the creation or the bind (nothing is left behind then).
Napi::Value Addon::CreateDefragmentationMoveResource(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  DefragSlot& d = DefragFrom(*this, info);
  DefragMove& move = MoveFrom(d, info);
  const bool image = info.Length() > 2 && info[2].ToBoolean().Value();
  if (move.src == 0) throw Napi::Error::New(env, "vkmem native: this move is not vkmem's to change (ignored)");
  if (move.newResource != 0) throw Napi::Error::New(env, "vkmem native: the move already has its replacement resource");
  AllocationSlot& t = allocations[move.tmp];
  if (t.resource != 0) throw Napi::Error::New(env, "vkmem native: a resource is already bound at the move's destination");
  AllocatorSlot& slot = allocators[d.allocator];
  VkResult r;
  uint64_t raw = 0;
  if (image) {
    VkImageCreateInfo ici;
    ReadImageCreateInfo(env, ici);
    VkImage handle = VK_NULL_HANDLE;
    r = slot.createImage(slot.device, &ici, nullptr, &handle);
    if (r != VK_SUCCESS) return Napi::Number::New(env, r);
    r = vmaBindImageMemory(slot.allocator, t.allocation, handle);
    raw = reinterpret_cast<uint64_t>(handle);
  } else {
    VkBufferCreateInfo bci;
    ReadBufferCreateInfo(env, bci);
    VkBuffer handle = VK_NULL_HANDLE;
    r = slot.createBuffer(slot.device, &bci, nullptr, &handle);
    if (r != VK_SUCCESS) return Napi::Number::New(env, r);
    r = vmaBindBufferMemory(slot.allocator, t.allocation, handle);
    raw = reinterpret_cast<uint64_t>(handle);
  }
  if (r != VK_SUCCESS) {
    DestroyResource(slot, raw, image);
    ThrowIfVmaAsserted(env, image ? "vmaBindImageMemory" : "vmaBindBufferMemory");
    return Napi::Number::New(env, r);
  }
  move.newResource = raw;
  move.newIsImage = image;
  u64[Scratch::kOutResource] = raw;
  ThrowIfVmaAsserted(env, image ? "vmaBindImageMemory" : "vmaBindBufferMemory");
  return Napi::Number::New(env, VK_SUCCESS);
}

namespace {
// A buffer with `usage` over the whole of `allocation`'s bytes, bound at its offset; VK_NULL_HANDLE (and `*result`
// the reason) when the device's rules for such a buffer (size, alignment, memory type) do not fit the allocation.
VkBuffer CreateBufferOver(const AllocatorSlot& slot, VmaAllocation allocation, VkBufferUsageFlags usage, VkResult* result) {
  VmaAllocationInfo ai = {};
  vmaGetAllocationInfo(slot.allocator, allocation, &ai);
  VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = ai.size;
  bci.usage = usage;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer buffer = VK_NULL_HANDLE;
  *result = slot.createBuffer(slot.device, &bci, nullptr, &buffer);
  if (*result != VK_SUCCESS) return VK_NULL_HANDLE;
  VkMemoryRequirements req = {};
  slot.getBufferMemoryRequirements(slot.device, buffer, &req);
  if (req.size > ai.size || ai.offset % req.alignment != 0 || (req.memoryTypeBits & (1u << ai.memoryType)) == 0) {
    slot.destroyBuffer(slot.device, buffer, nullptr);
    *result = VK_ERROR_FORMAT_NOT_SUPPORTED;
    return VK_NULL_HANDLE;
  }
  *result = vmaBindBufferMemory(slot.allocator, allocation, buffer);
  if (*result != VK_SUCCESS) {
    slot.destroyBuffer(slot.device, buffer, nullptr);
    return VK_NULL_HANDLE;
  }
  return buffer;
}
}  // namespace

// createDefragmentationCopyBuffers(context, moveIndex) -> VK_SUCCESS with two buffers in the scratch (kOutResource: a
// TRANSFER_SRC buffer over the source's bytes, kOutMemory: a TRANSFER_DST buffer over the destination's), or a negative
// VkResult (VK_ERROR_FORMAT_NOT_SUPPORTED: the device's buffer rules do not fit the allocation; nothing is left then).
// They let a GPU copy carry the memory of any allocation, whatever its own resource's usage; the pass destroys them.
Napi::Value Addon::CreateDefragmentationCopyBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  DefragSlot& d = DefragFrom(*this, info);
  DefragMove& move = MoveFrom(d, info);
  if (move.src == 0) throw Napi::Error::New(env, "vkmem native: this move is not vkmem's to change (ignored)");
  if (move.copySrc != 0) throw Napi::Error::New(env, "vkmem native: the move already has its copy buffers");
  AllocatorSlot& slot = allocators[d.allocator];
  VkResult r = VK_SUCCESS;
  VkBuffer src = CreateBufferOver(slot, allocations[move.src].allocation, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &r);
  if (src == VK_NULL_HANDLE) {
    ThrowIfVmaAsserted(env, "vmaBindBufferMemory");
    return Napi::Number::New(env, r);
  }
  VkBuffer dst = CreateBufferOver(slot, allocations[move.tmp].allocation, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &r);
  if (dst == VK_NULL_HANDLE) {
    slot.destroyBuffer(slot.device, src, nullptr);
    ThrowIfVmaAsserted(env, "vmaBindBufferMemory");
    return Napi::Number::New(env, r);
  }
  move.copySrc = reinterpret_cast<uint64_t>(src);
  move.copyDst = reinterpret_cast<uint64_t>(dst);
  u64[Scratch::kOutResource] = move.copySrc;
  u64[Scratch::kOutMemory] = move.copyDst;
  ThrowIfVmaAsserted(env, "vmaBindBufferMemory");
  return Napi::Number::New(env, VK_SUCCESS);
}

namespace {
// A TRANSFER_SRC|DST buffer over the whole of `memory` (a block of `blockSize` bytes of `memoryType`), bound at 0;
// VK_NULL_HANDLE when the device's rules for such a buffer do not fit the block.
VkBuffer CreateBlockBuffer(const AllocatorSlot& slot, VkDeviceMemory memory, VkDeviceSize blockSize, uint32_t memoryType) {
  VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = blockSize;
  bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer buffer = VK_NULL_HANDLE;
  if (slot.bindBufferMemory == nullptr || slot.createBuffer(slot.device, &bci, nullptr, &buffer) != VK_SUCCESS) {
    return VK_NULL_HANDLE;
  }
  VkMemoryRequirements req = {};
  slot.getBufferMemoryRequirements(slot.device, buffer, &req);
  if (req.size > blockSize || (req.memoryTypeBits & (1u << memoryType)) == 0 ||
      slot.bindBufferMemory(slot.device, buffer, memory, 0) != VK_SUCCESS) {
    slot.destroyBuffer(slot.device, buffer, nullptr);
    return VK_NULL_HANDLE;
  }
  return buffer;
}
}  // namespace

// createDefragmentationBlockCopies(context) -> Float64Array, 4 numbers per move of the open pass: the index of the
// transfer buffer over the source's memory block, the source's offset in it, the same for the destination (-1 for a
// move vkmem does not name, or when the device's rules for a block-wide buffer do not fit); the buffers themselves,
// one per memory block, are written to the scratch from kIn0 as u64 (at most 8 per call: more blocks than that give
// -1 for the later moves, which the caller copies its other way). The pass destroys them when it ends.
// One buffer per block lets one vkCmdCopyBuffer carry every move between two blocks.
Napi::Value Addon::CreateDefragmentationBlockCopies(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  DefragSlot& d = DefragFrom(*this, info);
  if (!d.passOpen) throw Napi::Error::New(env, "vkmem native: no defragmentation pass is open");
  AllocatorSlot& slot = allocators[d.allocator];
  constexpr size_t kMaxBuffers = 8;
  std::vector<uint64_t> order;  // buffer handles in index order, for the scratch
  for (auto& [memory, buffer] : d.blockBuffers) order.push_back(buffer);
  auto indexOf = [&](VmaAllocation a, double* offset) -> double {
    VmaAllocationInfo2 ai = {};
    vmaGetAllocationInfo2(slot.allocator, a, &ai);
    *offset = static_cast<double>(ai.allocationInfo.offset);
    if (ai.dedicatedMemory) return -1;
    auto found = d.blockBuffers.find(ai.allocationInfo.deviceMemory);
    uint64_t buffer = 0;
    if (found != d.blockBuffers.end()) {
      buffer = found->second;
    } else {
      if (order.size() >= kMaxBuffers) return -1;
      buffer = reinterpret_cast<uint64_t>(
          CreateBlockBuffer(slot, ai.allocationInfo.deviceMemory, ai.blockSize, ai.allocationInfo.memoryType));
      d.blockBuffers[ai.allocationInfo.deviceMemory] = buffer;  // 0 remembered too: not tried again
      if (buffer != 0) order.push_back(buffer);
    }
    if (buffer == 0) return -1;
    for (size_t i = 0; i < order.size(); ++i) {
      if (order[i] == buffer) return static_cast<double>(i);
    }
    return -1;
  };
  Napi::Float64Array out = Napi::Float64Array::New(env, d.moves.size() * 4);
  for (size_t m = 0; m < d.moves.size(); ++m) {
    const DefragMove& move = d.moves[m];
    double srcOffset = 0, dstOffset = 0;
    double src = move.src == 0 ? -1 : indexOf(allocations[move.src].allocation, &srcOffset);
    double dst = move.src == 0 ? -1 : indexOf(allocations[move.tmp].allocation, &dstOffset);
    if (src < 0 || dst < 0) src = dst = -1;
    out[m * 4] = src;
    out[m * 4 + 1] = srcOffset;
    out[m * 4 + 2] = dst;
    out[m * 4 + 3] = dstOffset;
  }
  for (size_t i = 0; i < order.size(); ++i) u64[Scratch::kIn0 + i] = order[i];
  ThrowIfVmaAsserted(env, "vmaGetAllocationInfo2");
  return out;
}

VkResult Addon::FinishPass(DefragSlot& d, bool abandon) {
  AllocatorSlot& slot = allocators[d.allocator];
  std::vector<uint32_t> destroyed;
  for (uint32_t m = 0; m < d.moves.size(); ++m) {
    DefragMove& move = d.moves[m];
    VmaDefragmentationMove& vm = d.pass.pMoves[m];
    if (move.src == 0) continue;
    // A DESTROY move's source was freed by the caller during the pass (JS forgot it already): it is freed all the
    // same, or it would stay allocated with nobody to free it until its pool or allocator goes.
    if (abandon && vm.operation != VMA_DEFRAGMENTATION_MOVE_OPERATION_DESTROY) {
      vm.operation = VMA_DEFRAGMENTATION_MOVE_OPERATION_IGNORE;
    }
    DestroyResource(slot, move.copySrc, false);
    DestroyResource(slot, move.copyDst, false);
    AllocationSlot& src = allocations[move.src];
    AllocationSlot& t = allocations[move.tmp];
    while (t.mapCount > 0) {
      vmaUnmapMemory(slot.allocator, t.allocation);
      t.mapCount--;
    }
    switch (vm.operation) {
      case VMA_DEFRAGMENTATION_MOVE_OPERATION_COPY:
        if (src.ownsResource) {
          DestroyResource(slot, src.resource, src.kind == Kind::Image);
          src.resource = move.newResource;
        } else if (t.resource != 0) {
          src.resource = t.resource;  // the caller's own buffer/image, bound at the destination
        }
        break;
      case VMA_DEFRAGMENTATION_MOVE_OPERATION_DESTROY:
        DestroyResource(slot, move.newResource, move.newIsImage);
        if (src.ownsResource) DestroyResource(slot, src.resource, src.kind == Kind::Image);
        while (src.mapCount > 0) {
          vmaUnmapMemory(slot.allocator, src.allocation);
          src.mapCount--;
        }
        destroyed.push_back(move.src);
        break;
      default:  // IGNORE
        DestroyResource(slot, move.newResource, move.newIsImage);
        break;
    }
    src.moving = false;
  }
  for (auto& [memory, buffer] : d.blockBuffers) DestroyResource(slot, buffer, false);
  d.blockBuffers.clear();
  VkResult r = vmaEndDefragmentationPass(slot.allocator, d.context, &d.pass);
  for (const DefragMove& move : d.moves) {
    if (move.src != 0) ReleaseAllocationSlot(move.tmp);  // VMA freed the destination (or gave it to the source)
  }
  for (uint32_t index : destroyed) ReleaseAllocationSlot(index);  // VMA freed the source
  d.moves.clear();
  d.pass = {};
  d.passOpen = false;
  return r;
}

// endDefragmentationPass(context) -> true when nothing more can be moved, false when another pass may move more.
// Refused, the pass staying open, when a COPY move of an allocation with a vkmem-made buffer or image has no
// replacement (createDefragmentationMoveResource): committing would leave that resource bound to freed memory.
Napi::Value Addon::EndDefragmentationPass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DefragSlot& d = DefragFrom(*this, info);
  if (!d.passOpen) throw Napi::Error::New(env, "vkmem native: no defragmentation pass is open");
  for (uint32_t m = 0; m < d.moves.size(); ++m) {
    const DefragMove& move = d.moves[m];
    if (move.src != 0 && d.pass.pMoves[m].operation == VMA_DEFRAGMENTATION_MOVE_OPERATION_COPY &&
        allocations[move.src].ownsResource && move.newResource == 0) {
      throw Napi::Error::New(env, "vkmem native: move " + std::to_string(m) +
                                      " copies an allocation whose buffer or image vkmem made, but has no replacement "
                                      "resource: create it, or set the move's operation to ignore");
    }
  }
  VkResult r = FinishPass(d, false);
  ThrowIfVmaAsserted(env, "vmaEndDefragmentationPass");
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) ThrowVk(env, r, "vmaEndDefragmentationPass");
  return Napi::Boolean::New(env, r == VK_SUCCESS);
}

// endDefragmentation(context) -> { bytesMoved, bytesFreed, allocationsMoved, deviceMemoryBlocksFreed,
// abandonedPass }. An open pass is ended first with every move ignored but DESTROY (abandonedPass: true).
Napi::Value Addon::EndDefragmentation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DefragSlot& d = DefragFrom(*this, info);
  const bool abandoned = d.passOpen;
  if (d.passOpen) FinishPass(d, true);
  VmaDefragmentationStats stats = {};
  vmaEndDefragmentation(allocators[d.allocator].allocator, d.context, &stats);
  d.context = VK_NULL_HANDLE;
  d.live = false;
  d.breaker.reset();
  d.slotOf.clear();
  d.generation = d.generation >= kMaxGeneration ? 1 : d.generation + 1;
  Napi::Object out = Napi::Object::New(env);
  out.Set("bytesMoved", static_cast<double>(stats.bytesMoved));
  out.Set("bytesFreed", static_cast<double>(stats.bytesFreed));
  out.Set("allocationsMoved", static_cast<double>(stats.allocationsMoved));
  out.Set("deviceMemoryBlocksFreed", static_cast<double>(stats.deviceMemoryBlocksFreed));
  out.Set("abandonedPass", abandoned);
  ThrowIfVmaAsserted(env, "vmaEndDefragmentation");
  return out;
}

void Addon::AbandonDefragmentations(uint32_t allocatorIndex, uint32_t poolIndex) {
  for (DefragSlot& d : defrags) {
    if (!d.live || d.allocator != allocatorIndex || (poolIndex != 0 && d.pool != poolIndex)) continue;
    if (d.passOpen) FinishPass(d, true);
    vmaEndDefragmentation(allocators[d.allocator].allocator, d.context, nullptr);
    d.context = VK_NULL_HANDLE;
    d.live = false;
    d.breaker.reset();
    d.slotOf.clear();
    d.generation = d.generation >= kMaxGeneration ? 1 : d.generation + 1;
  }
}

}  // namespace vkmem
