// The GPU scatter of an upload batch's small staging copies (engine/resources/upload-batch.ts).
//
// A frame of a game's uploads is about 1,000 small copies into a few hundred buffers. Recorded as vkCmdCopyBuffer
// regions (copy_commands.cpp), their recording is the largest part of the frame's end, and the GPU takes long to run
// them: 1,000 regions of 4 KiB into 250 buffers took 408-455 µs to record on the H200 and 1.6 ms on its GPU, against
// 0.4 ms for the memcpy of their bytes (engine/resources/scatter-copies.ts has the figures of the dispatch that
// replaces them). Here they become one compute dispatch instead: a table of (source address, destination address,
// size) rows, written into the staging ring next to the bytes, and a shader (shaders/scatter-copy.comp) in which each
// workgroup copies one row. Engines do the same for their scene data (a "scatter upload"). It needs
// bufferDeviceAddress, the ring's and the destinations' buffers made with SHADER_DEVICE_ADDRESS usage (the manager
// adds it), and a queue with compute: the caller says when.
//
// createScatterPipeline(allocator, spirv) -> true once the allocator has the pipeline (made on the first call).
// cmdScatterCopies(cmd, table, first, end, tableBuffer, tableOffset) -> the index of the first copy not recorded.
//
// cmdScatterCopies takes the copies [first, end) of the batch's table (5 numbers a copy, as cmdCopyBuffers) up to
// the first one it cannot: buffers that do not pass cmdCopyBuffers' checks, or without SHADER_DEVICE_ADDRESS usage,
// an offset or size that is not a multiple of 4, a size over kMaxBytes (a large copy is the copy engine's work), or
// another allocator's. Their rows go into `tableBuffer` (a mapped buffer of the same allocator with
// SHADER_DEVICE_ADDRESS usage: the staging ring's block) from `tableOffset` (a multiple of 16), and one dispatch per
// 65,535 rows is recorded. A copy outside its buffers is a RangeError, with nothing recorded. The copies of a phase
// write disjoint bytes (the batch's phases), so the rows may run in any order; the caller's barriers name the compute
// stage beside the transfer stage. `cmd` must be a command buffer in the recording state, of a queue with compute.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "addon.h"
#include "copy_commands.h"

namespace vkmem {

namespace {

constexpr uint32_t kRowBytes = 32;          // uvec2 source, uvec2 destination, uint size, three words of padding
constexpr double kMaxBytes = 64.0 * 1024;   // larger copies stay vkCmdCopyBuffer's
constexpr uint32_t kMaxGroups = 65535;      // the least maxComputeWorkGroupCount[0] a device may have
constexpr uint32_t kSpirvMagic = 0x07230203;
constexpr uint32_t kDestinations = 256;     // the destinations a call remembers (CmdScatterCopies)
constexpr double kMaxHandle = 9007199254740991.0;

// A destination buffer CmdScatterCopies checked, by the handle its rows name (-1: none yet), with its address.
struct Destination {
  double handle;
  const BufferRecord* record;
  uint64_t address;
};

template <class F>
F DeviceProc(const AllocatorSlot& slot, const char* name) {
  return reinterpret_cast<F>(slot.getDeviceProcAddr(slot.device, name));
}

// The device address of the buffer of `slot` (whose record is `record`), asked for once per resource.
uint64_t AddressOf(const AllocatorSlot& owner, const AllocationSlot* slot, const BufferRecord* record) {
  if (record->addressOf != slot->resource) {
    VkBufferDeviceAddressInfo info = {VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO};
    info.buffer = reinterpret_cast<VkBuffer>(slot->resource);
    record->address = owner.getBufferDeviceAddress(owner.device, &info);
    record->addressOf = slot->resource;
  }
  return record->address;
}

Napi::Value CreateScatterPipeline(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  AllocatorSlot& slot = addon->AllocatorFrom(env, info.Length() > 0 ? info[0] : env.Undefined());
  if (slot.scatterPipeline != VK_NULL_HANDLE) return Napi::Boolean::New(env, true);
  if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw TypeErrorFor(env, "createScatterPipeline(allocator, spirv: Uint8Array)");
  Napi::Uint8Array spirv = info[1].As<Napi::Uint8Array>();
  uint32_t magic = 0;
  if (spirv.ByteLength() < 20 || spirv.ByteLength() % 4 != 0) throw RangeErrorFor(env, "createScatterPipeline: not SPIR-V");
  std::memcpy(&magic, spirv.Data(), 4);
  if (magic != kSpirvMagic) throw RangeErrorFor(env, "createScatterPipeline: not SPIR-V");
  slot.getBufferDeviceAddress = DeviceProc<PFN_vkGetBufferDeviceAddress>(slot, "vkGetBufferDeviceAddress");
  if (slot.getBufferDeviceAddress == nullptr)
    slot.getBufferDeviceAddress = DeviceProc<PFN_vkGetBufferDeviceAddress>(slot, "vkGetBufferDeviceAddressKHR");
  slot.cmdBindPipeline = DeviceProc<PFN_vkCmdBindPipeline>(slot, "vkCmdBindPipeline");
  slot.cmdPushConstants = DeviceProc<PFN_vkCmdPushConstants>(slot, "vkCmdPushConstants");
  slot.cmdDispatch = DeviceProc<PFN_vkCmdDispatch>(slot, "vkCmdDispatch");
  auto createModule = DeviceProc<PFN_vkCreateShaderModule>(slot, "vkCreateShaderModule");
  auto destroyModule = DeviceProc<PFN_vkDestroyShaderModule>(slot, "vkDestroyShaderModule");
  auto createLayout = DeviceProc<PFN_vkCreatePipelineLayout>(slot, "vkCreatePipelineLayout");
  auto createPipelines = DeviceProc<PFN_vkCreateComputePipelines>(slot, "vkCreateComputePipelines");
  if (slot.getBufferDeviceAddress == nullptr || slot.cmdBindPipeline == nullptr || slot.cmdPushConstants == nullptr ||
      slot.cmdDispatch == nullptr || createModule == nullptr || destroyModule == nullptr || createLayout == nullptr ||
      createPipelines == nullptr)
    return Napi::Boolean::New(env, false);

  VkShaderModuleCreateInfo moduleInfo = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  moduleInfo.codeSize = spirv.ByteLength();
  std::vector<uint32_t> code(spirv.ByteLength() / 4);
  std::memcpy(code.data(), spirv.Data(), spirv.ByteLength());
  moduleInfo.pCode = code.data();
  VkShaderModule module = VK_NULL_HANDLE;
  VkResult r = createModule(slot.device, &moduleInfo, nullptr, &module);
  if (r != VK_SUCCESS) addon->ThrowVk(env, r, "vkCreateShaderModule");
  VkPushConstantRange range = {VK_SHADER_STAGE_COMPUTE_BIT, 0, 8};
  VkPipelineLayoutCreateInfo layoutInfo = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layoutInfo.pushConstantRangeCount = 1;
  layoutInfo.pPushConstantRanges = &range;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  r = createLayout(slot.device, &layoutInfo, nullptr, &layout);
  VkPipeline pipeline = VK_NULL_HANDLE;
  if (r == VK_SUCCESS) {
    VkComputePipelineCreateInfo pipelineInfo = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    pipelineInfo.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    pipelineInfo.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    pipelineInfo.stage.module = module;
    pipelineInfo.stage.pName = "main";
    pipelineInfo.layout = layout;
    r = createPipelines(slot.device, VK_NULL_HANDLE, 1, &pipelineInfo, nullptr, &pipeline);
    if (r != VK_SUCCESS) DeviceProc<PFN_vkDestroyPipelineLayout>(slot, "vkDestroyPipelineLayout")(slot.device, layout, nullptr);
  }
  destroyModule(slot.device, module, nullptr);
  if (r != VK_SUCCESS) addon->ThrowVk(env, r, layout == VK_NULL_HANDLE ? "vkCreatePipelineLayout" : "vkCreateComputePipelines");
  slot.scatterLayout = layout;
  slot.scatterPipeline = pipeline;
  return Napi::Boolean::New(env, true);
}

// Whether a buffer of a copy can be scattered: it passes (cmdCopyBuffers' checks: a live buffer vkmem made, with
// `usage`, not being moved), has a device address and is of allocator `ai`.
bool ScatterableBuffer(const AllocationSlot* slot, const BufferRecord* record, uint32_t usage, uint32_t ai) {
  constexpr uint32_t kAddress = VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
  return record != nullptr && (record->usage & usage) != 0 && (record->usage & kAddress) != 0 && slot->allocator == ai &&
         !slot->moving;
}

Napi::Value CmdScatterCopies(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  const uint64_t cmd = BigIntArg(info, 0, "cmd");
  if (cmd == 0) throw TypeErrorFor(env, "cmdScatterCopies: null command buffer");
  if (!TableArgs(info, 1) || info.Length() < 6 || !info[4].IsNumber() || !info[5].IsNumber())
    throw TypeErrorFor(env, "cmdScatterCopies(cmd, table: Float64Array, first, end, tableBuffer, tableOffset)");
  const TableRun run = ReadTableRun(info, 1, 5, "cmdScatterCopies: first and end must be copy indices, first <= end");
  AllocationSlot* tableSlot = nullptr;
  const BufferRecord* tableRecord = addon->RecordedBuffer(info[4].As<Napi::Number>().DoubleValue(), &tableSlot);
  if (tableRecord == nullptr || (tableRecord->usage & VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT) == 0 ||
      tableSlot->moving)
    throw TypeErrorFor(env, "cmdScatterCopies: tableBuffer must be a live buffer with SHADER_DEVICE_ADDRESS usage");
  const AllocatorSlot& owner = addon->allocators[tableSlot->allocator];
  if (!owner.live || owner.scatterPipeline == VK_NULL_HANDLE)
    throw TypeErrorFor(env, "cmdScatterCopies: the allocator has no scatter pipeline (createScatterPipeline)");
  VmaAllocationInfo mapped = {};
  vmaGetAllocationInfo(owner.allocator, tableSlot->allocation, &mapped);
  const double tableOffset = info[5].As<Napi::Number>().DoubleValue();
  const double rows = static_cast<double>(run.end - run.first);
  if (mapped.pMappedData == nullptr || !IsUint(tableOffset, static_cast<double>(tableRecord->size)) ||
      std::fmod(tableOffset, 16) != 0 || tableOffset + rows * kRowBytes > static_cast<double>(tableRecord->size))
    throw RangeErrorFor(env, "cmdScatterCopies: the table does not fit its buffer at that offset, or is not mapped");

  const double* t = run.rows;
  // The rows are made here and copied into the mapped table in one memcpy: the staging ring is write-combined ReBAR
  // on a discrete GPU, where 20 bytes stored per 32-byte row flushed as partial lines (the call took 42-50 µs for
  // 1,000 rows on the H200).
  static thread_local std::vector<uint32_t> table;
  table.resize((run.end - run.first) * (kRowBytes / 4));
  // The source of the row before, checked, and its address: a frame's copies come from runs of one ring block, and
  // it is looked up only when it changes (a lookup is a cache miss or two in the slot tables). NaN at first: no
  // table value equals it (a buddy pool's buffer is -1 in the table: looked up, refused).
  double lastSrc = std::nan("");
  AllocationSlot* src = nullptr;
  AllocationSlot* dst = nullptr;
  const BufferRecord* from = nullptr;
  const BufferRecord* to = nullptr;
  uint64_t srcAddress = 0, dstAddress = 0;
  const uint32_t ai = tableSlot->allocator;
  // The destinations checked in this call, by handle (a slot of the table per handle's low bits): a frame's uploads
  // go to a few hundred buffers in turn, so a row's destination was most often checked a row or a few rows before,
  // and its slot and record have left the caches since. Valid for this call only (nothing is freed or moved during
  // it). A handle that fits no slot (-1, a buddy pool's buffer) is looked up, and refused.
  std::array<Destination, kDestinations> destinations;
  for (Destination& d : destinations) d.handle = -1;
  size_t i = run.first;
  for (; i < run.end; ++i) {
    const double* row = t + i * 5;
    if (row[0] != lastSrc) {
      from = addon->RecordedBuffer(row[0], &src);
      if (!ScatterableBuffer(src, from, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, ai)) break;
      srcAddress = AddressOf(owner, src, from);
      lastSrc = row[0];
    }
    const double h = row[1];
    Destination* seen = h >= 0 && h <= kMaxHandle ? &destinations[static_cast<uint64_t>(h) % kDestinations] : nullptr;
    if (seen != nullptr && seen->handle == h) {
      to = seen->record;
      dstAddress = seen->address;
    } else {
      to = addon->RecordedBuffer(h, &dst);
      if (!ScatterableBuffer(dst, to, VK_BUFFER_USAGE_TRANSFER_DST_BIT, ai)) break;
      dstAddress = AddressOf(owner, dst, to);
      if (seen != nullptr) *seen = Destination{h, to, dstAddress};
    }
    // Word-aligned and small (larger copies are the copy engine's): else the caller records it as a copy command.
    if (!IsUint(row[2], static_cast<double>(from->size)) || !IsUint(row[3], static_cast<double>(to->size)) ||
        !(row[4] >= 4 && row[4] <= kMaxBytes))
      break;
    const uint64_t srcOffset = static_cast<uint64_t>(row[2]);
    const uint64_t dstOffset = static_cast<uint64_t>(row[3]);
    const uint64_t size = static_cast<uint64_t>(row[4]);
    if (((srcOffset | dstOffset | size) & 3) != 0 || static_cast<double>(size) != row[4]) break;
    if (srcOffset + size > from->size || dstOffset + size > to->size)
      throw RangeErrorFor(env, "cmdScatterCopies: a copy lies outside its buffers");
    const uint64_t s = srcAddress + srcOffset;
    const uint64_t d = dstAddress + dstOffset;
    uint32_t* r = table.data() + (i - run.first) * (kRowBytes / 4);
    r[0] = static_cast<uint32_t>(s);
    r[1] = static_cast<uint32_t>(s >> 32);
    r[2] = static_cast<uint32_t>(d);
    r[3] = static_cast<uint32_t>(d >> 32);
    r[4] = static_cast<uint32_t>(size);
    r[5] = r[6] = r[7] = 0;
  }
  const size_t count = i - run.first;
  if (count == 0) return Napi::Number::New(env, static_cast<double>(i));
  std::memcpy(static_cast<uint8_t*>(mapped.pMappedData) + static_cast<size_t>(tableOffset), table.data(),
              count * kRowBytes);
  const VkCommandBuffer cb = reinterpret_cast<VkCommandBuffer>(cmd);
  owner.cmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, owner.scatterPipeline);
  uint64_t at = AddressOf(owner, tableSlot, tableRecord) + static_cast<uint64_t>(tableOffset);
  for (size_t done = 0; done < count;) {
    const uint32_t groups = static_cast<uint32_t>(std::min<size_t>(count - done, kMaxGroups));
    const uint32_t push[2] = {static_cast<uint32_t>(at), static_cast<uint32_t>(at >> 32)};
    owner.cmdPushConstants(cb, owner.scatterLayout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(push), push);
    owner.cmdDispatch(cb, groups, 1, 1);
    done += groups;
    at += static_cast<uint64_t>(groups) * kRowBytes;
  }
  return Napi::Number::New(env, static_cast<double>(i));
}

}  // namespace

void DestroyScatterPipeline(AllocatorSlot& slot) {
  if (slot.scatterPipeline != VK_NULL_HANDLE)
    DeviceProc<PFN_vkDestroyPipeline>(slot, "vkDestroyPipeline")(slot.device, slot.scatterPipeline, nullptr);
  if (slot.scatterLayout != VK_NULL_HANDLE)
    DeviceProc<PFN_vkDestroyPipelineLayout>(slot, "vkDestroyPipelineLayout")(slot.device, slot.scatterLayout, nullptr);
  slot.scatterPipeline = VK_NULL_HANDLE;
  slot.scatterLayout = VK_NULL_HANDLE;
}

void RegisterScatterCopies(Napi::Env env, Napi::Object exports, Addon* addon) {
  exports.Set("createScatterPipeline",
              Napi::Function::New(env, GuardedFunction<CreateScatterPipeline>, "createScatterPipeline", addon));
  exports.Set("cmdScatterCopies", Napi::Function::New(env, GuardedFunction<CmdScatterCopies>, "cmdScatterCopies", addon));
}

}  // namespace vkmem
