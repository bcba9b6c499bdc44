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
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <unordered_map>

#include "addon.h"
#include "deferred_free.h"

namespace vkmem {

namespace {
constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1
constexpr uint32_t kAlgorithmMask = 0x1 | 0x2 | 0x4 | 0x8;  // VMA_DEFRAGMENTATION_FLAG_ALGORITHM_*

// VMA's break callback: true once the pass's planning has run past its limit.
VkBool32 VKAPI_PTR BreakWhenLate(void* userData) {
  DefragBreak* b = static_cast<DefragBreak*>(userData);
  if (b->limitNs <= 0 || MonotonicNs() - b->startNs < b->limitNs) return VK_FALSE;
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

// Destroys a buffer or image of the pass: at once, or inside FinishPass's DeferFrees scope on the background thread.
void DestroyResource(const AllocatorSlot& slot, uint64_t raw, bool image) {
  DestroyBufferOrImage(slot.device, raw, image, slot.destroyBuffer, slot.destroyImage);
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

// beginDefragmentationPass(context, maxPlanningMicroseconds?) -> null when nothing is left to move (no pass is open
// then); an empty Float64Array when the planning limit stopped VMA before its first move (no pass is open then
// either: call again); else a Float64Array [source allocation handle, destination allocation handle] per move, and
// the pass is open until endDefragmentationPass. A second begin while a pass is open is refused. A planning limit
// given here replaces the context's from this pass on (a context begun without one has no break callback: refused).
Napi::Value Addon::BeginDefragmentationPass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DefragSlot& d = DefragFrom(*this, info);
  if (d.passOpen) throw Napi::Error::New(env, "vkmem native: a defragmentation pass is already open");
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    const double limit = NumberArg(info, 1);
    if (!IsUint(limit, 1e12) || limit == 0) throw RangeErrorFor(env, "beginDefragmentationPass: planning time limit out of range");
    if (d.breaker->limitNs <= 0) throw Napi::Error::New(env, "vkmem native: the defragmentation was begun without a planning limit");
    d.breaker->limitNs = static_cast<int64_t>(limit) * 1000;
  }
  AllocatorSlot& slot = allocators[d.allocator];
  d.breaker->startNs = MonotonicNs();
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
    move.format = ici.format;
    move.extent = ici.extent;
    move.mipLevels = ici.mipLevels;
    move.arrayLayers = ici.arrayLayers;
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

// createDefragmentationBlockCopies(context) -> Float64Array, one number per move of the open pass: 1 when the move's
// bytes go through transfer buffers over the whole memory blocks of its source and its destination (made here, at
// most 256 per pass; recordDefragmentationCopies finds them by memory), 0 when not (a move vkmem does not name, a
// dedicated allocation, more blocks than that, or a block whose size the device's buffer rules do not fit): the caller
// copies those its other way (createDefragmentationCopyBuffers). The pass destroys the buffers when it ends. One
// buffer per block lets one vkCmdCopyBuffer carry every move between two blocks.
Napi::Value Addon::CreateDefragmentationBlockCopies(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DefragSlot& d = DefragFrom(*this, info);
  if (!d.passOpen) throw Napi::Error::New(env, "vkmem native: no defragmentation pass is open");
  AllocatorSlot& slot = allocators[d.allocator];
  constexpr size_t kMaxBuffers = 256;
  size_t made = 0;
  for (const auto& entry : d.blockBuffers) made += entry.second != 0 ? 1 : 0;
  // Whether `a` lies in a block with a transfer buffer over it (made now when need be).
  auto placed = [&](VmaAllocation a) -> bool {
    VmaAllocationInfo2 ai = {};
    vmaGetAllocationInfo2(slot.allocator, a, &ai);
    if (ai.dedicatedMemory) return false;
    auto found = d.blockBuffers.find(ai.allocationInfo.deviceMemory);
    if (found != d.blockBuffers.end()) return found->second != 0;
    if (made >= kMaxBuffers) return false;
    const uint64_t buffer = reinterpret_cast<uint64_t>(
        CreateBlockBuffer(slot, ai.allocationInfo.deviceMemory, ai.blockSize, ai.allocationInfo.memoryType));
    d.blockBuffers[ai.allocationInfo.deviceMemory] = buffer;  // 0 remembered too: not tried again
    if (buffer != 0) made++;
    return buffer != 0;
  };
  Napi::Float64Array out = Napi::Float64Array::New(env, d.moves.size());
  for (size_t m = 0; m < d.moves.size(); ++m) {
    const DefragMove& move = d.moves[m];
    out[m] = move.src != 0 && placed(allocations[move.src].allocation) && placed(allocations[move.tmp].allocation);
  }
  ThrowIfVmaAsserted(env, "vmaGetAllocationInfo2");
  return out;
}

namespace {
VkImageMemoryBarrier ImageBarrier(VkImage image, const VkImageSubresourceRange& range, VkImageLayout from,
                                  VkImageLayout to, VkAccessFlags src, VkAccessFlags dst) {
  VkImageMemoryBarrier b = {VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
  b.srcAccessMask = src;
  b.dstAccessMask = dst;
  b.oldLayout = from;
  b.newLayout = to;
  b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = image;
  b.subresourceRange = range;
  return b;
}

struct ByteCopy {
  VkBuffer src;
  VkBuffer dst;
  VkBufferCopy region;
};
struct ImageCopy {
  VkImage src;
  VkImage dst;
  VkImageSubresourceRange range;
  VkImageLayout layout;
  VkExtent3D extent;
};
}  // namespace

// recordDefragmentationCopies(context, cmd, table: Float64Array, rows): records the open pass's GPU copies into `cmd`
// (a command buffer in the recording state, of the caller's), in one call instead of an nvk call and struct per
// region. `table` has 6 numbers per row: the move's index, then for an image the subresource range (base mip, mip
// count, base layer, layer count) and the layout those subresources are in (their copy leaves them in it, in the old
// image and in the new one; UNDEFINED: nothing to copy); for memory (a buffer, or raw memory) the other five are
// ignored and the move's bytes are copied through its transfer buffers (createDefragmentationCopyBuffers, or the
// block-wide ones of createDefragmentationBlockCopies). Recorded: one barrier after every earlier use of the memory
// (with each copied range of the old image to TRANSFER_SRC and of the new one from UNDEFINED to TRANSFER_DST), one
// vkCmdCopyBuffer per pair of transfer buffers with all its regions, one vkCmdCopyImage per row (a region per mip),
// and one barrier before any later use (each range back to its layout in both images).
// Checked here: each row names a move of the open pass that vkmem copies (its operation COPY, its source live), an
// image row's range lies inside the replacement's description and its image has a replacement, a memory row's move
// has transfer buffers; anything else throws before anything is recorded.
Napi::Value Addon::RecordDefragmentationCopies(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DefragSlot& d = DefragFrom(*this, info);
  if (!d.passOpen) throw Napi::Error::New(env, "vkmem native: no defragmentation pass is open");
  const uint64_t cmd = BigIntArg(info, 1, "cmd");
  if (cmd == 0) throw TypeErrorFor(env, "recordDefragmentationCopies: null command buffer");
  if (info.Length() < 4 || !info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || !info[3].IsNumber())
    throw TypeErrorFor(env, "recordDefragmentationCopies(context, cmd, table: Float64Array, rows)");
  Napi::Float64Array table = info[2].As<Napi::Float64Array>();
  const double rowsD = info[3].As<Napi::Number>().DoubleValue();
  if (!IsUint(rowsD, static_cast<double>(table.ElementLength() / 6)))
    throw RangeErrorFor(env, "recordDefragmentationCopies: rows must be an integer within the table");
  const size_t rows = static_cast<size_t>(rowsD);
  AllocatorSlot& slot = allocators[d.allocator];
  const double* t = table.Data();
  std::vector<ByteCopy> bytes;
  std::vector<ImageCopy> images;
  for (size_t i = 0; i < rows; ++i) {
    const double* row = t + i * 6;
    if (!IsUint(row[0], static_cast<double>(d.moves.size()) - 1))
      throw RangeErrorFor(env, "recordDefragmentationCopies: row " + std::to_string(i) + " names no move of the pass");
    const size_t m = static_cast<size_t>(row[0]);
    const DefragMove& move = d.moves[m];
    if (move.src == 0 || d.pass.pMoves[m].operation != VMA_DEFRAGMENTATION_MOVE_OPERATION_COPY)
      throw Napi::Error::New(env, "vkmem native: recordDefragmentationCopies: move " + std::to_string(m) + " is not copied");
    const AllocationSlot& src = allocations[move.src];
    if (src.kind == Kind::Image) {
      for (int k = 1; k <= 5; ++k) {
        if (!IsUint(row[k], 4294967295.0))
          throw RangeErrorFor(env, "recordDefragmentationCopies: row " + std::to_string(i) + " has a bad range or layout");
      }
      const uint32_t baseMip = static_cast<uint32_t>(row[1]), mips = static_cast<uint32_t>(row[2]);
      const uint32_t baseLayer = static_cast<uint32_t>(row[3]), layers = static_cast<uint32_t>(row[4]);
      if (move.newResource == 0 || !move.newIsImage || src.resource == 0 || mips < 1 || layers < 1 ||
          static_cast<uint64_t>(baseMip) + mips > move.mipLevels ||
          static_cast<uint64_t>(baseLayer) + layers > move.arrayLayers)
        throw RangeErrorFor(env, "recordDefragmentationCopies: row " + std::to_string(i) +
                                     ": the range is outside the image, or the move has no replacement image");
      const VkImageLayout layout = static_cast<VkImageLayout>(static_cast<uint32_t>(row[5]));
      if (layout == VK_IMAGE_LAYOUT_UNDEFINED) continue;  // nothing written there yet: nothing to copy
      images.push_back({reinterpret_cast<VkImage>(src.resource), reinterpret_cast<VkImage>(move.newResource),
                        {AspectOf(move.format), baseMip, mips, baseLayer, layers}, layout, move.extent});
      continue;
    }
    // Memory: through the move's own transfer buffers, or the block-wide ones.
    VmaAllocationInfo2 from = {}, to = {};
    vmaGetAllocationInfo2(slot.allocator, src.allocation, &from);
    vmaGetAllocationInfo2(slot.allocator, allocations[move.tmp].allocation, &to);
    ByteCopy c = {};
    c.region.size = from.allocationInfo.size;
    if (move.copySrc != 0) {
      c.src = reinterpret_cast<VkBuffer>(move.copySrc);
      c.dst = reinterpret_cast<VkBuffer>(move.copyDst);
    } else {
      auto s = d.blockBuffers.find(from.allocationInfo.deviceMemory);
      auto e = d.blockBuffers.find(to.allocationInfo.deviceMemory);
      if (s == d.blockBuffers.end() || e == d.blockBuffers.end() || s->second == 0 || e->second == 0)
        throw Napi::Error::New(env, "vkmem native: recordDefragmentationCopies: move " + std::to_string(m) +
                                        " has no transfer buffers");
      c.src = reinterpret_cast<VkBuffer>(s->second);
      c.dst = reinterpret_cast<VkBuffer>(e->second);
      c.region.srcOffset = from.allocationInfo.offset;
      c.region.dstOffset = to.allocationInfo.offset;
    }
    bytes.push_back(c);
  }
  ThrowIfVmaAsserted(env, "vmaGetAllocationInfo2");
  if (bytes.empty() && images.empty()) return env.Undefined();

  const PFN_vkCmdPipelineBarrier barrier = slot.cmdPipelineBarrier;
  const PFN_vkCmdCopyBuffer copyBuffer = slot.cmdCopyBuffer;
  const PFN_vkCmdCopyImage copyImage = slot.cmdCopyImage;
  if (barrier == nullptr || copyBuffer == nullptr || copyImage == nullptr)
    throw Napi::Error::New(env, "vkmem native: recordDefragmentationCopies: the device has no copy commands");
  VkCommandBuffer cb = reinterpret_cast<VkCommandBuffer>(cmd);

  std::vector<VkImageMemoryBarrier> into;
  for (const ImageCopy& c : images) {
    into.push_back(ImageBarrier(c.src, c.range, c.layout, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                                VK_ACCESS_MEMORY_WRITE_BIT, VK_ACCESS_TRANSFER_READ_BIT));
    into.push_back(ImageBarrier(c.dst, c.range, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0,
                                VK_ACCESS_TRANSFER_WRITE_BIT));
  }
  VkMemoryBarrier before = {VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_MEMORY_WRITE_BIT,
                            VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
  barrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, nullptr,
          static_cast<uint32_t>(into.size()), into.empty() ? nullptr : into.data());

  // Byte copies grouped by their pair of transfer buffers: the pass's moves between two blocks in one command.
  std::vector<bool> done(bytes.size(), false);
  std::vector<VkBufferCopy> regions;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (done[i]) continue;
    regions.clear();
    for (size_t j = i; j < bytes.size(); ++j) {
      if (!done[j] && bytes[j].src == bytes[i].src && bytes[j].dst == bytes[i].dst) {
        regions.push_back(bytes[j].region);
        done[j] = true;
      }
    }
    copyBuffer(cb, bytes[i].src, bytes[i].dst, static_cast<uint32_t>(regions.size()), regions.data());
  }
  std::vector<VkImageCopy> imageRegions;
  std::vector<VkImageMemoryBarrier> back;
  for (const ImageCopy& c : images) {
    imageRegions.clear();
    for (uint32_t mip = c.range.baseMipLevel; mip < c.range.baseMipLevel + c.range.levelCount; ++mip) {
      VkImageCopy r = {};
      r.srcSubresource = {c.range.aspectMask, mip, c.range.baseArrayLayer, c.range.layerCount};
      r.dstSubresource = r.srcSubresource;
      r.extent = {std::max(1u, c.extent.width >> mip), std::max(1u, c.extent.height >> mip),
                  std::max(1u, c.extent.depth >> mip)};
      imageRegions.push_back(r);
    }
    copyImage(cb, c.src, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, c.dst, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
              static_cast<uint32_t>(imageRegions.size()), imageRegions.data());
    back.push_back(ImageBarrier(c.dst, c.range, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, c.layout,
                                VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_MEMORY_READ_BIT));
    // The old image too: it serves until its owner switches to the new one (the FrameManager's copy frame).
    back.push_back(ImageBarrier(c.src, c.range, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, c.layout, 0,
                                VK_ACCESS_MEMORY_READ_BIT));
  }
  VkMemoryBarrier after = {VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT,
                           VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT};
  barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &after, 0, nullptr,
          static_cast<uint32_t>(back.size()), back.empty() ? nullptr : back.data());
  return env.Undefined();
}

// createDefragmentationView(context, moveIndex, viewType, aspect) -> VkResult: a view of the whole of the move's
// replacement image (every mip and layer, `aspect`: some of its format's aspects, identity swizzle), written to
// kOutResource as u64. The caller owns it (destroys it with vkDestroyImageView); what FrameManager textures use as
// their default view after a move.
Napi::Value Addon::CreateDefragmentationView(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  DefragSlot& d = DefragFrom(*this, info);
  DefragMove& move = MoveFrom(d, info);
  const double viewType = NumberArg(info, 2);
  const double aspect = NumberArg(info, 3);
  if (!IsUint(viewType, VK_IMAGE_VIEW_TYPE_CUBE_ARRAY))
    throw RangeErrorFor(env, "createDefragmentationView: viewType must be a VkImageViewType");
  if (move.newResource == 0 || !move.newIsImage)
    throw Napi::Error::New(env, "vkmem native: createDefragmentationView: the move has no replacement image");
  if (!IsUint(aspect, 4294967295.0) || aspect == 0 ||
      (static_cast<uint32_t>(aspect) & ~static_cast<uint32_t>(AspectOf(move.format))) != 0)
    throw RangeErrorFor(env, "createDefragmentationView: aspect must be some of the image format's aspects");
  AllocatorSlot& slot = allocators[d.allocator];
  const PFN_vkCreateImageView create = slot.createImageView;
  if (create == nullptr) throw Napi::Error::New(env, "vkmem native: the device has no vkCreateImageView");
  VkImageViewCreateInfo vi = {VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
  vi.image = reinterpret_cast<VkImage>(move.newResource);
  vi.viewType = static_cast<VkImageViewType>(static_cast<uint32_t>(viewType));
  vi.format = move.format;
  vi.subresourceRange = {static_cast<VkImageAspectFlags>(aspect), 0, move.mipLevels, 0, move.arrayLayers};
  VkImageView view = VK_NULL_HANDLE;
  VkResult r = create(slot.device, &vi, nullptr, &view);
  if (r == VK_SUCCESS) u64[Scratch::kOutResource] = reinterpret_cast<uint64_t>(view);
  return Napi::Number::New(env, r);
}

VkResult Addon::FinishPass(DefragSlot& d, bool abandon) {
  AllocatorSlot& slot = allocators[d.allocator];
  std::vector<uint32_t> destroyed;
  // The old buffers and images, the transfer buffers and the blocks the pass empties are destroyed and freed on the
  // background thread (native/deferred_free.cpp), in this order: the GPU is done with all of them (the caller waited
  // for the copies) and nothing else refers to them; vkFreeMemory of a used block is the costly part.
  DeferFrees defer;
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
          // The device address the scatter of uploads asked for names the old buffer, whose handle the driver may
          // hand to a later one (scatter_copy.cpp): asked for again.
          if (src.kind == Kind::Buffer && move.src < buffers.size()) buffers[move.src].addressOf = 0;
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
