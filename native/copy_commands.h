// Recording of many buffer copies, and of many buffer-to-image copies, in one native call (native/copy_commands.cpp),
// and the GPU scatter of many small ones (native/scatter_copy.cpp), for the upload batches of
// engine/resources/upload-batch.ts.
#pragma once

#include <napi.h>

#include "addon.h"

namespace vkmem {

// The table arguments of the recordings (copy_commands.cpp, scatter_copy.cpp): a Float64Array at info[at] and the
// row range first, end after it.
inline bool TableArgs(const Napi::CallbackInfo& info, size_t at) {
  return info.Length() > at + 2 && info[at].IsTypedArray() &&
         info[at].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array && info[at + 1].IsNumber() &&
         info[at + 2].IsNumber();
}

// Rows [first, end) of a table of `rowSize` numbers a row (TableArgs passed): its data and the range, checked to be
// one of the table's (RangeError `message` otherwise).
struct TableRun {
  const double* rows;
  size_t first;
  size_t end;
};
inline TableRun ReadTableRun(const Napi::CallbackInfo& info, size_t at, size_t rowSize, const char* message) {
  Napi::Float64Array table = info[at].As<Napi::Float64Array>();
  const double first = info[at + 1].As<Napi::Number>().DoubleValue();
  const double end = info[at + 2].As<Napi::Number>().DoubleValue();
  const double rows = static_cast<double>(table.ElementLength() / rowSize);
  if (!IsUint(first, rows) || !IsUint(end, rows) || first > end) throw RangeErrorFor(info.Env(), message);
  return {table.Data(), static_cast<size_t>(first), static_cast<size_t>(end)};
}

// Adds cmdCopyBuffers(cmd, table, first, end) and cmdCopyBufferToImages(cmd, table, first, end) to the addon's exports
// (called once from Addon's constructor).
void RegisterCopyCommands(Napi::Env env, Napi::Object exports, Addon* addon);

// Adds createScatterPipeline(allocator, spirv) and cmdScatterCopies(cmd, table, first, end, tableBuffer, tableOffset)
// to the addon's exports (scatter_copy.cpp; called once from Addon's constructor).
void RegisterScatterCopies(Napi::Env env, Napi::Object exports, Addon* addon);

// Adds frameFenceStatus, frameBeginCommands, frameEndCommands and frameSubmit to the addon's exports (frame_commands.cpp;
// called once from Addon's constructor).
void RegisterFrameCommands(Napi::Env env, Napi::Object exports, Addon* addon);

// Destroys the allocator's scatter pipeline, if it has one (from DestroyAllocator, before VMA's allocator goes).
void DestroyScatterPipeline(AllocatorSlot& slot);

}  // namespace vkmem
