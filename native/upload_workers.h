// Upload workers (native/upload_workers.cpp): a bounded pool of copy threads for large staging uploads
// (engine/resources/transfers.ts). Each copy returns only when every thread has finished it.
#pragma once

#include <napi.h>

namespace vkmem {

class Addon;

// Adds createUploadWorkers, uploadWorkersCopy, destroyUploadWorkers and uploadWorkerThreads to the addon's exports
// (called once from Addon's constructor).
void RegisterUploadWorkers(Napi::Env env, Napi::Object exports, Addon* addon);

}  // namespace vkmem
