// Recording of many buffer copies, and of many buffer-to-image copies, in one native call (native/copy_commands.cpp), for the upload batches of
// engine/resources/upload-batch.ts.
#pragma once

#include <napi.h>

namespace vkmem {

class Addon;

// Adds cmdCopyBuffers(cmd, table, first, end) and cmdCopyBufferToImages(cmd, table, first, end) to the addon's exports
// (called once from Addon's constructor).
void RegisterCopyCommands(Napi::Env env, Napi::Object exports, Addon* addon);

}  // namespace vkmem
