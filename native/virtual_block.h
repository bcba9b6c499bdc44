// Virtual blocks: VMA's VmaVirtualBlock (TLSF, linear) and vkmem's own buddy allocator (buddy.h) behind
// one slot table, so that JS sees one kind of object whatever the algorithm.
//
// Handles. A block is a Number (generation * 2^24 + index) into Addon::virtualBlocks. A virtual allocation
// is a Number of the same form into its block's own allocation table, never VMA's VmaVirtualAllocation
// (an opaque value that VMA dereferences or treats as an offset): a stale, freed or forged allocation
// handle fails the generation check and becomes a JS error, never a call into VMA with a bad value.
#pragma once

#include <napi.h>
#include <cstdint>
#include <memory>
#include <vector>

#include "buddy.h"
#include "vma_config.h"

namespace vkmem {

class Addon;

enum class VirtualAlgorithm : uint8_t { Tlsf = 0, Linear = 1, Buddy = 2 };

struct VirtualAllocationSlot {
  uint64_t id = 0;          // VmaVirtualAllocation, or the buddy node
  uint64_t userData = 0;    // a non-negative integer (VMA's pUserData, the dump's CustomData); 0: none
  uint32_t generation = 1;
  uint32_t nextFree = 0;    // free-list link (index + 1; 0 ends the list)
  bool live = false;
};

struct VirtualBlockSlot {
  VmaVirtualBlock vma = VK_NULL_HANDLE;
  std::unique_ptr<BuddyAllocator> buddy;
  std::vector<VirtualAllocationSlot> allocations;  // index 0 is never used
  uint32_t freeHead = 0;
  uint32_t liveCount = 0;
  uint32_t generation = 1;
  VirtualAlgorithm algorithm = VirtualAlgorithm::Tlsf;
  bool live = false;
};

// Every virtual block of one addon instance; the destructor frees what JS left alive (environment teardown).
struct VirtualBlocks {
  std::vector<VirtualBlockSlot> slots;
  VirtualBlocks() { slots.resize(1); }
  ~VirtualBlocks();
};

// Adds the virtual-block functions to the addon's exports (called once from Addon's constructor).
void RegisterVirtualBlocks(Napi::Env env, Napi::Object exports, Addon* addon);

}  // namespace vkmem
