// The oracles build only (binding.gyp's vkmem_oracles): a C++ loop of image creation on a vkmem allocator, the
// baseline that bench/streaming.ts reports FrameManager.createTexture against (native/image_bench.cpp).
#pragma once

#include <napi.h>

namespace vkmem {

class Addon;

// Adds createImagesLoop(...) to the addon's exports (called once from Addon's constructor, oracles build only).
void RegisterImageBench(Napi::Env env, Napi::Object exports, Addon* addon);

}  // namespace vkmem
