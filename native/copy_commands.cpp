// cmdCopyBuffers(cmd, table, first, end, regroup?) -> the index of the first copy not recorded (end when all were).
//
// Records the staging copies of an upload batch (engine/resources/upload-batch.ts) with one call, instead of one nvk
// call and a VkBufferCopy object per region: copies [first, end) of `table`, a Float64Array of 5 numbers per copy
// (source allocation, destination allocation, srcOffset, dstOffset, size), all of one phase, become one
// vkCmdCopyBuffer per run of copies with the same source and destination buffer. The copies of a phase write disjoint
// bytes, so their order does not matter: with `regroup` they are grouped by destination buffer first (stably:
// GroupByDestination), so that each buffer is one run. A game's uploads go to many buffers in turn (a uniform here, a
// mesh there), and lavapipe's cost is per command (1,000 uploads of 4 KiB into 250 buffers in turn: endFrame about
// 300 µs as 1,000 commands, about 210 as 250). NVIDIA's has a part per command and a part per region (on the H100:
// 250 commands of one region 49 µs, one command of 1,000 regions 58 µs, 250 commands of 4 regions 168 µs), and
// depends on the order of the destinations (see GroupByDestination).
//
// The buffers are named by their allocation handles, never by raw Vulkan handles: each is looked up in this addon's
// slot table and must be a live buffer vkmem created (its BufferRecord: the size and usage it was created with) of a
// live allocator, the source with TRANSFER_SRC usage and the destination with TRANSFER_DST, and each range is checked
// against the buffer's own size (not its allocation's, which VMA may have made larger), so no value in the table can
// make Vulkan touch another object or bytes outside a buffer. The first copy whose handles do not pass (a buffer
// bound into memory, a buddy pool's, one of an allocator on the other build of the addon, one a defragmentation pass
// is moving: from the frame a live defragmentation switches it, the game's object names the new buffer while the slot
// keeps the old one until the pass ends, and only the object says which one this frame's copy is for) ends the call:
// the copies before it are recorded, and its index is returned, for the caller to record that run through nvk and
// call again after it. `cmd` must be a command buffer in the recording state (the caller's, from its own pool); it
// cannot be checked here.
#include "copy_commands.h"

#include <algorithm>
#include <vector>

#include "addon.h"

namespace vkmem {

namespace {

constexpr uint32_t kNoCopyGroup = 0xffffffffu;

// Fills `order` (sized) with rows [first, first + order.size()) of `t`, whose destinations were all found live, grouped
// by destination buffer: each group's rows in their order, the groups in the order of their destinations' handles
// (a phase's copies write disjoint bytes, so any order is correct; on the H100 the driver records 1,000 regions into
// 250 buffers in 185 µs in this order, against 215 in the order in which they first come, which is what a game's
// uploads give: .gpu/diag/regions.mjs, one and two runs on two sessions' hosts). Within a group,
// rows from another source block (the ring moved to a new block in the frame) only split its run. A counting sort on
// the destination's slot index, with the groups' handles sorted: std::stable_sort of the rows by (source,
// destination) took 29 µs of 70 for the 1,000 scattered uploads of a frame into 250 buffers on the two-core machine
// (recording alone, lavapipe).
void GroupByDestination(Addon* addon, const double* t, size_t first, std::vector<uint32_t>& order) {
  const size_t n = order.size();
  std::vector<uint32_t>& groupOf = addon->copyGroupOfSlot;
  if (groupOf.size() < addon->allocations.size()) groupOf.resize(addon->allocations.size(), kNoCopyGroup);
  std::vector<uint32_t>& rowSlot = addon->copyRowSlot;
  std::vector<uint32_t>& starts = addon->copyGroupStarts;
  std::vector<std::pair<double, uint32_t>>& groups = addon->copyGroups;
  rowSlot.resize(n);
  groups.clear();
  for (size_t k = 0; k < n; ++k) {
    const double handle = t[(first + k) * 5 + 1];
    uint32_t index = 0, generation = 0;
    DecodeHandle(handle, &index, &generation);  // a live slot's handle: checked by the caller
    rowSlot[k] = index;
    if (groupOf[index] == kNoCopyGroup) {
      groupOf[index] = 0;  // seen: numbered once the groups are sorted
      groups.emplace_back(handle, index);
    }
  }
  std::sort(groups.begin(), groups.end());
  starts.assign(groups.size(), 0);
  for (size_t g = 0; g < groups.size(); ++g) groupOf[groups[g].second] = static_cast<uint32_t>(g);
  for (size_t k = 0; k < n; ++k) ++starts[groupOf[rowSlot[k]]];
  uint32_t at = 0;
  for (uint32_t& s : starts) {
    const uint32_t count = s;
    s = at;
    at += count;
  }
  for (size_t k = 0; k < n; ++k) order[starts[groupOf[rowSlot[k]]]++] = static_cast<uint32_t>(first + k);
  for (const auto& group : groups) groupOf[group.second] = kNoCopyGroup;
}

Napi::Value CmdCopyBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  const uint64_t cmd = BigIntArg(info, 0, "cmd");
  if (cmd == 0) throw TypeErrorFor(env, "cmdCopyBuffers: null command buffer");
  if (!TableArgs(info, 1)) throw TypeErrorFor(env, "cmdCopyBuffers(cmd, table: Float64Array, first, end)");
  const bool regroup = info.Length() > 4 && info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  const TableRun run = ReadTableRun(info, 1, 5, "cmdCopyBuffers: first and end must be copy indices, first <= end");
  const size_t first = run.first;
  const double* t = run.rows;
  // The copies that can be recorded here: up to the first whose buffers do not pass.
  size_t stop = first;
  for (; stop < run.end; ++stop) {
    const double* row = t + stop * 5;
    if (stop > first && row[0] == row[-5] && row[1] == row[-4]) continue;  // the pair of the row before, checked
    AllocationSlot* src = nullptr;
    AllocationSlot* dst = nullptr;
    const BufferRecord* from = addon->RecordedBuffer(row[0], &src);
    const BufferRecord* to = addon->RecordedBuffer(row[1], &dst);
    if (from == nullptr || to == nullptr || (from->usage & VK_BUFFER_USAGE_TRANSFER_SRC_BIT) == 0 ||
        (to->usage & VK_BUFFER_USAGE_TRANSFER_DST_BIT) == 0 || src->allocator != dst->allocator ||
        !addon->allocators[dst->allocator].live || src->moving || dst->moving)
      break;
  }
  // Grouped by destination, in their order otherwise, when the caller says a destination comes back after another in
  // these copies (`regroup`); rows already grouped (uploads filling one buffer) are taken as they are.
  std::vector<uint32_t>& order = addon->copyOrder;
  order.resize(stop - first);
  if (regroup && order.size() > 2) {
    GroupByDestination(addon, t, first, order);
  } else {
    for (size_t k = 0; k < order.size(); ++k) order[k] = static_cast<uint32_t>(first + k);
  }
  std::vector<VkBufferCopy>& regions = addon->copyRegions;
  size_t i = 0;
  while (i < order.size()) {
    const double* row = t + static_cast<size_t>(order[i]) * 5;
    AllocationSlot* src = nullptr;
    AllocationSlot* dst = nullptr;
    const double srcSize = static_cast<double>(addon->RecordedBuffer(row[0], &src)->size);
    const double dstSize = static_cast<double>(addon->RecordedBuffer(row[1], &dst)->size);
    const PFN_vkCmdCopyBuffer copy = addon->allocators[dst->allocator].cmdCopyBuffer;
    if (copy == nullptr) throw Napi::Error::New(env, "vkmem native: cmdCopyBuffers: no vkCmdCopyBuffer");
    regions.clear();
    size_t j = i;
    for (; j < order.size(); ++j) {
      const double* r = t + static_cast<size_t>(order[j]) * 5;
      if (r[0] != row[0] || r[1] != row[1]) break;
      constexpr double kMaxSafe = 9007199254740991.0;
      if (!IsUint(r[2], kMaxSafe) || !IsUint(r[3], kMaxSafe) || !IsUint(r[4], kMaxSafe) || r[4] < 1 ||
          r[2] + r[4] > srcSize || r[3] + r[4] > dstSize)
        throw RangeErrorFor(env, "cmdCopyBuffers: a copy lies outside its buffers");
      regions.push_back({static_cast<VkDeviceSize>(r[2]), static_cast<VkDeviceSize>(r[3]), static_cast<VkDeviceSize>(r[4])});
    }
    copy(reinterpret_cast<VkCommandBuffer>(cmd), reinterpret_cast<VkBuffer>(src->resource),
         reinterpret_cast<VkBuffer>(dst->resource), static_cast<uint32_t>(regions.size()), regions.data());
    i = j;
  }
  return Napi::Number::New(env, static_cast<double>(stop));
}

// The texel blocks of the color formats vkmem uploads into (engine/vulkan/formats.ts): bytes per block and the
// block's width and height (4 for BC formats, 1 otherwise). False for any other format: its copies are refused.
bool UploadBlockOf(uint32_t format, uint32_t* bytes, uint32_t* dim) {
  *dim = 1;
  switch (format) {
    case VK_FORMAT_R8_UNORM:
    case VK_FORMAT_R8_UINT: *bytes = 1; return true;
    case VK_FORMAT_R8G8_UNORM:
    case VK_FORMAT_R16_UNORM:
    case VK_FORMAT_R16_UINT:
    case VK_FORMAT_R16_SFLOAT: *bytes = 2; return true;
    case VK_FORMAT_R8G8B8A8_UNORM:
    case VK_FORMAT_R8G8B8A8_SNORM:
    case VK_FORMAT_R8G8B8A8_UINT:
    case VK_FORMAT_R8G8B8A8_SRGB:
    case VK_FORMAT_B8G8R8A8_UNORM:
    case VK_FORMAT_B8G8R8A8_SRGB:
    case VK_FORMAT_A2B10G10R10_UNORM_PACK32:
    case VK_FORMAT_R16G16_SFLOAT:
    case VK_FORMAT_R32_UINT:
    case VK_FORMAT_R32_SFLOAT:
    case VK_FORMAT_B10G11R11_UFLOAT_PACK32: *bytes = 4; return true;
    case VK_FORMAT_R16G16B16A16_UNORM:
    case VK_FORMAT_R16G16B16A16_SFLOAT:
    case VK_FORMAT_R32G32_SFLOAT: *bytes = 8; return true;
    case VK_FORMAT_R32G32B32A32_SFLOAT: *bytes = 16; return true;
    case VK_FORMAT_BC1_RGB_UNORM_BLOCK:
    case VK_FORMAT_BC1_RGBA_UNORM_BLOCK:
    case VK_FORMAT_BC4_UNORM_BLOCK: *bytes = 8; *dim = 4; return true;
    case VK_FORMAT_BC2_UNORM_BLOCK:
    case VK_FORMAT_BC3_UNORM_BLOCK:
    case VK_FORMAT_BC5_UNORM_BLOCK:
    case VK_FORMAT_BC7_UNORM_BLOCK:
    case VK_FORMAT_BC7_SRGB_BLOCK: *bytes = 16; *dim = 4; return true;
    default: return false;
  }
}

// cmdCopyBufferToImages(cmd, table, first, end) -> the index of the first copy not recorded (end when all were).
//
// Records the staging copies into textures of an upload batch (engine/resources/upload-batch.ts) with one call,
// instead of an nvk call and four nvk struct objects per region (5-15 µs a region on the two-core machine, with its
// barriers): copies [first, end) of `table`, a Float64Array of 9 numbers per copy (source allocation, destination
// allocation, srcOffset, mip, layer, x, y, width, height: tightly packed rows of one region of one subresource), all
// of one phase, become one vkCmdCopyBufferToImage per run of copies with the same source buffer and destination
// image, into TRANSFER_DST_OPTIMAL (the batch's barriers put every subresource it writes there first).
//
// As cmdCopyBuffers, the buffer and the image are named by their allocation handles and looked up in this addon's
// slot table: the source must be a live buffer vkmem created and the destination a live 2D image vkmem created
// (createImage, whose description the addon records: ImageRecord) with TRANSFER_DST usage, of a color format vkmem
// uploads into, both of one live allocator and neither being moved by a defragmentation pass (see cmdCopyBuffers);
// the first copy whose handles do not pass (a buddy pool's image, another build's, a moving one) ends the call, the
// copies before it recorded, for the caller to record that one through nvk and call again after it. Each copy is
// checked against the records: the mip and layer exist, the region lies in the mip, starts on a block and covers
// whole blocks or reaches the mip's edge, and the bytes it reads lie in the source buffer; one that does not is a
// RangeError (nothing of its run is recorded). `cmd` must be a command buffer in the recording state (the caller's,
// from its own pool); it cannot be checked here.
Napi::Value CmdCopyBufferToImages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  const uint64_t cmd = BigIntArg(info, 0, "cmd");
  if (cmd == 0) throw TypeErrorFor(env, "cmdCopyBufferToImages: null command buffer");
  if (!TableArgs(info, 1)) throw TypeErrorFor(env, "cmdCopyBufferToImages(cmd, table: Float64Array, first, end)");
  constexpr size_t kRow = 9;
  const TableRun run =
      ReadTableRun(info, 1, kRow, "cmdCopyBufferToImages: first and end must be copy indices, first <= end");
  const size_t end = run.end;
  const double* t = run.rows;
  std::vector<VkBufferImageCopy> regions;
  size_t i = run.first;
  while (i < end) {
    const double* row = t + i * kRow;
    AllocationSlot* src = nullptr;
    const BufferRecord* from = addon->RecordedBuffer(row[0], &src);
    AllocationSlot* dst = nullptr;
    const ImageRecord* img = addon->RecordedImage(row[1], &dst);
    uint32_t blockBytes = 0;
    uint32_t block = 1;
    if (from == nullptr || img == nullptr || (from->usage & VK_BUFFER_USAGE_TRANSFER_SRC_BIT) == 0 ||
        src->allocator != dst->allocator || !addon->allocators[dst->allocator].live || src->moving || dst->moving ||
        img->type != VK_IMAGE_TYPE_2D || (img->usage & VK_IMAGE_USAGE_TRANSFER_DST_BIT) == 0 ||
        !UploadBlockOf(img->format, &blockBytes, &block))
      break;
    const AllocatorSlot& owner = addon->allocators[dst->allocator];
    const PFN_vkCmdCopyBufferToImage copy = owner.cmdCopyBufferToImage;
    if (copy == nullptr) throw Napi::Error::New(env, "vkmem native: cmdCopyBufferToImages: no vkCmdCopyBufferToImage");
    const double srcSize = static_cast<double>(from->size);
    regions.clear();
    size_t j = i;
    for (; j < end; ++j) {
      const double* r = t + j * kRow;
      if (r[0] != row[0] || r[1] != row[1]) break;
      constexpr double kMaxSafe = 9007199254740991.0;
      const bool mip = IsUint(r[3], img->mipLevels - 1.0) && IsUint(r[4], img->arrayLayers - 1.0);
      const double mipW = mip ? std::max(1u, img->width >> static_cast<uint32_t>(r[3])) : 0;
      const double mipH = mip ? std::max(1u, img->height >> static_cast<uint32_t>(r[3])) : 0;
      const bool inImage = mip && IsUint(r[5], mipW - 1) && IsUint(r[6], mipH - 1) && IsUint(r[7], mipW) &&
                           IsUint(r[8], mipH) && r[7] >= 1 && r[8] >= 1 && r[5] + r[7] <= mipW && r[6] + r[8] <= mipH;
      const bool onBlocks = inImage && static_cast<uint32_t>(r[5]) % block == 0 &&
                            static_cast<uint32_t>(r[6]) % block == 0 &&
                            (static_cast<uint32_t>(r[7]) % block == 0 || r[5] + r[7] == mipW) &&
                            (static_cast<uint32_t>(r[8]) % block == 0 || r[6] + r[8] == mipH);
      const double bytes = std::ceil(r[7] / block) * std::ceil(r[8] / block) * blockBytes;
      if (!onBlocks || !IsUint(r[2], kMaxSafe) || static_cast<uint64_t>(r[2]) % blockBytes != 0 ||
          static_cast<uint64_t>(r[2]) % 4 != 0 || r[2] + bytes > srcSize)
        throw RangeErrorFor(env, "cmdCopyBufferToImages: a copy lies outside its buffer or image");
      VkBufferImageCopy c = {};
      c.bufferOffset = static_cast<VkDeviceSize>(r[2]);
      c.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, static_cast<uint32_t>(r[3]), static_cast<uint32_t>(r[4]), 1};
      c.imageOffset = {static_cast<int32_t>(r[5]), static_cast<int32_t>(r[6]), 0};
      c.imageExtent = {static_cast<uint32_t>(r[7]), static_cast<uint32_t>(r[8]), 1};
      regions.push_back(c);
    }
    copy(reinterpret_cast<VkCommandBuffer>(cmd), reinterpret_cast<VkBuffer>(src->resource),
         reinterpret_cast<VkImage>(dst->resource), VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
         static_cast<uint32_t>(regions.size()), regions.data());
    i = j;
  }
  return Napi::Number::New(env, static_cast<double>(i));
}

// Whether `layout` is a layout an upload's barriers may name: the core ones (UNDEFINED to PREINITIALIZED, 0-8); as a
// new layout, not UNDEFINED or PREINITIALIZED.
bool BarrierLayout(double layout, bool isNew) {
  if (!IsUint(layout, VK_IMAGE_LAYOUT_PREINITIALIZED)) return false;
  return !isNew || (layout != VK_IMAGE_LAYOUT_UNDEFINED && layout != VK_IMAGE_LAYOUT_PREINITIALIZED);
}

// cmdPipelineBarrier(allocator, cmd, srcStage, dstStage, memory, memorySrcAccess, memoryDstAccess, table, first, end)
// -> the index of the first image barrier not recorded (end when all were).
//
// Records into `cmd` (a command buffer of the allocator's device, through the allocator's own function) one
// vkCmdPipelineBarrier with, when `memory`, a global memory barrier, and image barriers [first, end) of `table`, a
// Float64Array of 9 numbers per barrier (image allocation, mip, layer, old layout, new layout, src access, dst
// access, src queue family, dst queue family: one subresource of a texture, every aspect of its format): an upload
// batch's layout transitions and queue family transfers (engine/resources/barriers.ts), which through nvk cost two
// struct objects per subresource and a call with arrays of them. The images are named by their allocation handles, as
// in cmdCopyBufferToImages, and the first whose handle does not pass (a buddy pool's image, another build's or
// allocator's, one a defragmentation pass is moving) ends the barrier there: the ones before it are recorded, for the
// caller to record that one through nvk and call again after it (with `memory` false: the stages are the same, so two
// barriers order what one would). Each barrier is checked against the record: the mip and layer exist, the layouts
// are core ones (a new one neither UNDEFINED nor PREINITIALIZED), the families are both VK_QUEUE_FAMILY_IGNORED or
// both families of the device, the stages and access masks are 32-bit flags (stages not 0); anything else is a
// RangeError, with nothing recorded. `cmd` must be a command buffer in the recording state.
Napi::Value CmdPipelineBarrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  uint32_t ai = 0;
  const AllocatorSlot& owner = addon->AllocatorFrom(env, info.Length() > 0 ? info[0] : info.Env().Undefined(), &ai);
  const uint64_t cmd = BigIntArg(info, 1, "cmd");
  if (cmd == 0) throw TypeErrorFor(env, "cmdPipelineBarrier: null command buffer");
  if (info.Length() < 10 || !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsBoolean() ||
      !info[5].IsNumber() || !info[6].IsNumber() || !TableArgs(info, 7))
    throw TypeErrorFor(env,
                       "cmdPipelineBarrier(allocator, cmd, srcStage, dstStage, memory: boolean, memorySrcAccess, "
                       "memoryDstAccess, table: Float64Array, first, end)");
  constexpr double kFlags = 4294967295.0;
  const double srcStage = info[2].As<Napi::Number>().DoubleValue();
  const double dstStage = info[3].As<Napi::Number>().DoubleValue();
  const bool memory = info[4].As<Napi::Boolean>().Value();
  const double memSrc = info[5].As<Napi::Number>().DoubleValue();
  const double memDst = info[6].As<Napi::Number>().DoubleValue();
  if (!IsUint(srcStage, kFlags) || !IsUint(dstStage, kFlags) || srcStage == 0 || dstStage == 0 ||
      !IsUint(memSrc, kFlags) || !IsUint(memDst, kFlags))
    throw RangeErrorFor(env, "cmdPipelineBarrier: stages and access masks must be 32-bit flags, stages not 0");
  constexpr size_t kRow = 9;
  const TableRun run =
      ReadTableRun(info, 7, kRow, "cmdPipelineBarrier: first and end must be barrier indices, first <= end");
  const size_t end = run.end;
  const double* t = run.rows;
  std::vector<VkImageMemoryBarrier> images;
  images.reserve(end - run.first);
  size_t i = run.first;
  for (; i < end; ++i) {
    const double* r = t + i * kRow;
    AllocationSlot* a = nullptr;
    const ImageRecord* img = addon->RecordedImage(r[0], &a);
    if (img == nullptr || a->moving || a->allocator != ai) break;
    const double families = owner.queueFamilyCount;
    const bool ignored = r[7] == VK_QUEUE_FAMILY_IGNORED && r[8] == VK_QUEUE_FAMILY_IGNORED;
    if (!IsUint(r[1], img->mipLevels - 1.0) || !IsUint(r[2], img->arrayLayers - 1.0) ||
        !BarrierLayout(r[3], false) || !BarrierLayout(r[4], true) || !IsUint(r[5], kFlags) || !IsUint(r[6], kFlags) ||
        !(ignored || (IsUint(r[7], families - 1) && IsUint(r[8], families - 1))))
      throw RangeErrorFor(env, "cmdPipelineBarrier: an image barrier does not suit its image or the device");
    VkImageMemoryBarrier b = {VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.srcAccessMask = static_cast<VkAccessFlags>(r[5]);
    b.dstAccessMask = static_cast<VkAccessFlags>(r[6]);
    b.oldLayout = static_cast<VkImageLayout>(static_cast<uint32_t>(r[3]));
    b.newLayout = static_cast<VkImageLayout>(static_cast<uint32_t>(r[4]));
    b.srcQueueFamilyIndex = static_cast<uint32_t>(r[7]);
    b.dstQueueFamilyIndex = static_cast<uint32_t>(r[8]);
    b.image = reinterpret_cast<VkImage>(a->resource);
    b.subresourceRange = {AspectOf(static_cast<VkFormat>(img->format)), static_cast<uint32_t>(r[1]), 1,
                          static_cast<uint32_t>(r[2]), 1};
    images.push_back(b);
  }
  if (images.empty() && !memory) return Napi::Number::New(env, static_cast<double>(i));
  if (owner.cmdPipelineBarrier == nullptr) throw Napi::Error::New(env, "vkmem native: no vkCmdPipelineBarrier");
  VkMemoryBarrier global = {VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, static_cast<VkAccessFlags>(memSrc),
                            static_cast<VkAccessFlags>(memDst)};
  owner.cmdPipelineBarrier(reinterpret_cast<VkCommandBuffer>(cmd), static_cast<VkPipelineStageFlags>(srcStage),
                            static_cast<VkPipelineStageFlags>(dstStage), 0, memory ? 1 : 0, memory ? &global : nullptr,
                            0, nullptr, static_cast<uint32_t>(images.size()), images.empty() ? nullptr : images.data());
  return Napi::Number::New(env, static_cast<double>(i));
}

// cmdBufferBarriers(allocator, cmd, srcStage, dstStage, srcAccess, dstAccess, srcFamily, dstFamily, handles, first,
// end) -> the index of the first buffer not recorded (end when all were).
//
// Records into `cmd` one vkCmdPipelineBarrier with a whole-buffer barrier (offset 0, VK_WHOLE_SIZE) for each buffer
// [first, end) of `handles`, a Float64Array of allocation handles, all with the same access masks and queue families:
// the dedicated transfer queue's release of the buffers its batch wrote, and the main queue's matching acquire
// (engine/resources/transfers.ts), which through nvk cost a struct object per buffer and a call with an array of them
// (a level load's 250 new buffers: most of a 1.8-2.2 ms endFrame on an H100). A buffer is named as in cmdCopyBuffers,
// and the first that does not pass (a buddy pool's, another allocator's, one a defragmentation pass is moving) ends the
// barrier there: the ones before it are recorded, for the caller to record that one through nvk and call again after
// it. The families are both VK_QUEUE_FAMILY_IGNORED or both families of the device, the stages and access masks
// 32-bit flags (stages not 0); anything else is a RangeError, with nothing recorded. `cmd` must be a command buffer in
// the recording state.
Napi::Value CmdBufferBarriers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  uint32_t ai = 0;
  const AllocatorSlot& owner = addon->AllocatorFrom(env, info.Length() > 0 ? info[0] : info.Env().Undefined(), &ai);
  const uint64_t cmd = BigIntArg(info, 1, "cmd");
  if (cmd == 0) throw TypeErrorFor(env, "cmdBufferBarriers: null command buffer");
  bool numbers = info.Length() >= 11;
  for (size_t k = 2; numbers && k < 8; ++k) numbers = info[k].IsNumber();
  if (!numbers || !TableArgs(info, 8))
    throw TypeErrorFor(env,
                       "cmdBufferBarriers(allocator, cmd, srcStage, dstStage, srcAccess, dstAccess, srcFamily, "
                       "dstFamily, handles: Float64Array, first, end)");
  double v[6];
  for (size_t k = 0; k < 6; ++k) v[k] = info[2 + k].As<Napi::Number>().DoubleValue();
  constexpr double kFlags = 4294967295.0;
  const double families = owner.queueFamilyCount;
  const bool ignored = v[4] == VK_QUEUE_FAMILY_IGNORED && v[5] == VK_QUEUE_FAMILY_IGNORED;
  if (!IsUint(v[0], kFlags) || !IsUint(v[1], kFlags) || v[0] == 0 || v[1] == 0 || !IsUint(v[2], kFlags) ||
      !IsUint(v[3], kFlags) || !(ignored || (IsUint(v[4], families - 1) && IsUint(v[5], families - 1))))
    throw RangeErrorFor(env,
                        "cmdBufferBarriers: stages and access masks must be 32-bit flags, stages not 0, and the "
                        "families both VK_QUEUE_FAMILY_IGNORED or both the device's");
  const TableRun run =
      ReadTableRun(info, 8, 1, "cmdBufferBarriers: first and end must be buffer indices, first <= end");
  std::vector<VkBufferMemoryBarrier> barriers;
  barriers.reserve(run.end - run.first);
  size_t i = run.first;
  for (; i < run.end; ++i) {
    AllocationSlot* a = nullptr;
    const BufferRecord* record = addon->RecordedBuffer(run.rows[i], &a);
    if (record == nullptr || a->moving || a->allocator != ai) break;
    VkBufferMemoryBarrier b = {VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
    b.srcAccessMask = static_cast<VkAccessFlags>(v[2]);
    b.dstAccessMask = static_cast<VkAccessFlags>(v[3]);
    b.srcQueueFamilyIndex = static_cast<uint32_t>(v[4]);
    b.dstQueueFamilyIndex = static_cast<uint32_t>(v[5]);
    b.buffer = reinterpret_cast<VkBuffer>(a->resource);
    b.offset = 0;
    b.size = VK_WHOLE_SIZE;
    barriers.push_back(b);
  }
  if (barriers.empty()) return Napi::Number::New(env, static_cast<double>(i));
  if (owner.cmdPipelineBarrier == nullptr) throw Napi::Error::New(env, "vkmem native: no vkCmdPipelineBarrier");
  owner.cmdPipelineBarrier(reinterpret_cast<VkCommandBuffer>(cmd), static_cast<VkPipelineStageFlags>(v[0]),
                            static_cast<VkPipelineStageFlags>(v[1]), 0, 0, nullptr,
                            static_cast<uint32_t>(barriers.size()), barriers.data(), 0, nullptr);
  return Napi::Number::New(env, static_cast<double>(i));
}

}  // namespace

void RegisterCopyCommands(Napi::Env env, Napi::Object exports, Addon* addon) {
  exports.Set("cmdCopyBuffers", Napi::Function::New(env, GuardedFunction<CmdCopyBuffers>, "cmdCopyBuffers", addon));
  exports.Set("cmdPipelineBarrier",
              Napi::Function::New(env, GuardedFunction<CmdPipelineBarrier>, "cmdPipelineBarrier", addon));
  exports.Set("cmdBufferBarriers",
              Napi::Function::New(env, GuardedFunction<CmdBufferBarriers>, "cmdBufferBarriers", addon));
  exports.Set("cmdCopyBufferToImages",
              Napi::Function::New(env, GuardedFunction<CmdCopyBufferToImages>, "cmdCopyBufferToImages", addon));
}

}  // namespace vkmem
