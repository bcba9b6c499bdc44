// Buddy pools (engine/memory/buddy-pool.ts) are built in TS over whole dedicated VMA allocations and the buddy
// virtual blocks of virtual_block.cpp. The one thing they need natively is an ArrayBuffer over part of a mapped
// block: JS cannot make an independently detachable view over a sub-range of memory it does not own.
#pragma once

#include <napi.h>

namespace vkmem {

class Addon;

// Adds mappedRange(allocation, offset, size) to the addon's exports (called once from Addon's constructor).
void RegisterBuddyPools(Napi::Env env, Napi::Object exports, Addon* addon);

}  // namespace vkmem
