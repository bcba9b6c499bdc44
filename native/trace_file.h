// Trace files written by a background thread (native/trace_file.cpp).
#pragma once

#include <napi.h>

namespace vkmem {

class Addon;

// Adds traceFileOpen, traceFileWrite, traceFileSync and traceFileClose to the exports.
void RegisterTraceFiles(Napi::Env env, Napi::Object exports, Addon* addon);

}  // namespace vkmem
