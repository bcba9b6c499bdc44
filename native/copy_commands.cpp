// cmdCopyBuffers(cmd, table, first, end, regroup?) -> the index of the first copy not recorded (end when all were).
//
// Records the staging copies of an upload batch (engine/resources/upload-batch.ts) with one call, instead of one
// nvk call and a VkBufferCopy object per region: copies [first, end) of `table`, a Float64Array of 5 numbers per copy
// (source allocation, destination allocation, srcOffset, dstOffset, size), all of one phase, become one
// vkCmdCopyBuffer per run of copies with the same source and destination buffer. The copies of a phase write disjoint
// bytes, so their order does not matter: with `regroup` they are grouped by buffer pair (stably) first, so that each
// pair is one run. A game's uploads go to many buffers in turn (a uniform here, a mesh there), and lavapipe's cost is
// per command (1,000 uploads of 4 KiB into 250 buffers in turn: endFrame about 300 µs as 1,000 commands, about 210
// as 250; NVIDIA's follows the regions instead).
//
// The buffers are named by their allocation handles, never by raw Vulkan handles: each is looked up in this addon's
// slot table and must be a live buffer vkmem created (Kind::Buffer) of a live allocator, and each range is checked
// against the allocation's size, so no value in the table can make Vulkan touch another object or memory outside a
// buffer. The first copy whose handles do not pass (a buffer bound into memory, a buddy pool's, one of an allocator on
// the other build of the addon, one a defragmentation pass is moving: from the frame a live defragmentation switches
// it, the game's object names the new buffer while the slot keeps the old one until the pass ends, and only the
// object says which one this frame's copy is for) ends the call: the copies before it are recorded, and its index is returned, for the
// caller to record that run through nvk and call again after it. `cmd` must be a command buffer in the recording
// state (the caller's, from its own pool); it cannot be checked here.
#include "copy_commands.h"

#include <algorithm>
#include <vector>

#include "addon.h"

namespace vkmem {

namespace {

Napi::Value CmdCopyBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  const uint64_t cmd = BigIntArg(info, 0, "cmd");
  if (cmd == 0) throw TypeErrorFor(env, "cmdCopyBuffers: null command buffer");
  if (info.Length() < 4 || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || !info[2].IsNumber() ||
      !info[3].IsNumber())
    throw TypeErrorFor(env, "cmdCopyBuffers(cmd, table: Float64Array, first, end)");
  Napi::Float64Array table = info[1].As<Napi::Float64Array>();
  const bool regroup = info.Length() > 4 && info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  const double firstD = info[2].As<Napi::Number>().DoubleValue();
  const double endD = info[3].As<Napi::Number>().DoubleValue();
  const double rows = static_cast<double>(table.ElementLength() / 5);
  if (!IsUint(firstD, rows) || !IsUint(endD, rows) || firstD > endD)
    throw RangeErrorFor(env, "cmdCopyBuffers: first and end must be copy indices, first <= end");
  const size_t first = static_cast<size_t>(firstD);
  const double* t = table.Data();
  // The copies that can be recorded here: up to the first whose buffers do not pass.
  size_t stop = first;
  for (; stop < static_cast<size_t>(endD); ++stop) {
    const double* row = t + stop * 5;
    if (stop > first && row[0] == row[-5] && row[1] == row[-4]) continue;  // the pair of the row before, checked
    AllocationSlot* src = addon->AllocationFromNumber(row[0], nullptr);
    AllocationSlot* dst = addon->AllocationFromNumber(row[1], nullptr);
    if (src == nullptr || dst == nullptr || src->kind != Kind::Buffer || dst->kind != Kind::Buffer ||
        src->resource == 0 || dst->resource == 0 || src->allocator != dst->allocator ||
        !addon->allocators[dst->allocator].live || src->moving || dst->moving)
      break;
  }
  // Grouped by (source, destination), in their order otherwise, when the caller says a destination comes back after
  // another in these copies (`regroup`); rows already grouped (uploads filling one buffer) are not sorted.
  std::vector<uint32_t> order(stop - first);
  for (size_t k = 0; k < order.size(); ++k) order[k] = static_cast<uint32_t>(first + k);
  if (regroup && order.size() > 2) {
    std::stable_sort(order.begin(), order.end(), [t](uint32_t a, uint32_t b) {
      const double* x = t + static_cast<size_t>(a) * 5;
      const double* y = t + static_cast<size_t>(b) * 5;
      return x[0] != y[0] ? x[0] < y[0] : x[1] < y[1];
    });
  }
  std::vector<VkBufferCopy> regions;
  size_t i = 0;
  while (i < order.size()) {
    const double* row = t + static_cast<size_t>(order[i]) * 5;
    AllocationSlot* src = addon->AllocationFromNumber(row[0], nullptr);
    AllocationSlot* dst = addon->AllocationFromNumber(row[1], nullptr);
    const AllocatorSlot& owner = addon->allocators[dst->allocator];
    const PFN_vkCmdCopyBuffer copy = owner.cmdCopyBuffer;
    if (copy == nullptr) throw Napi::Error::New(env, "vkmem native: cmdCopyBuffers: no vkCmdCopyBuffer");
    VmaAllocationInfo srcInfo;
    VmaAllocationInfo dstInfo;
    vmaGetAllocationInfo(owner.allocator, src->allocation, &srcInfo);
    vmaGetAllocationInfo(owner.allocator, dst->allocation, &dstInfo);
    regions.clear();
    size_t j = i;
    for (; j < order.size(); ++j) {
      const double* r = t + static_cast<size_t>(order[j]) * 5;
      if (r[0] != row[0] || r[1] != row[1]) break;
      constexpr double kMaxSafe = 9007199254740991.0;
      if (!IsUint(r[2], kMaxSafe) || !IsUint(r[3], kMaxSafe) || !IsUint(r[4], kMaxSafe) || r[4] < 1 ||
          r[2] + r[4] > static_cast<double>(srcInfo.size) || r[3] + r[4] > static_cast<double>(dstInfo.size))
        throw RangeErrorFor(env, "cmdCopyBuffers: a copy lies outside its buffers");
      regions.push_back({static_cast<VkDeviceSize>(r[2]), static_cast<VkDeviceSize>(r[3]), static_cast<VkDeviceSize>(r[4])});
    }
    copy(reinterpret_cast<VkCommandBuffer>(cmd), reinterpret_cast<VkBuffer>(src->resource),
         reinterpret_cast<VkBuffer>(dst->resource), static_cast<uint32_t>(regions.size()), regions.data());
    i = j;
  }
  return Napi::Number::New(env, static_cast<double>(stop));
}

}  // namespace

void RegisterCopyCommands(Napi::Env env, Napi::Object exports, Addon* addon) {
  exports.Set("cmdCopyBuffers", Napi::Function::New(env, GuardedFunction<CmdCopyBuffers>, "cmdCopyBuffers", addon));
}

}  // namespace vkmem
