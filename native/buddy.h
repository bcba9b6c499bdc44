// A binary buddy allocator over a range of offsets: no memory of its own, no VMA, no N-API.
//
// VMA 3 dropped its buddy algorithm (VMA_POOL_CREATE_BUDDY_ALGORITHM_BIT); vkmem brings it back for
// virtual blocks (native/virtual_block.cpp) and, later, for custom pools over VMA blocks. Its interface is
// that of a VMA virtual block: Allocate(size, alignment) -> offset and an id, Free(id), Clear(), statistics.
//
// The model. The usable range is the largest power of two that fits in the block (the rest, the tail, is
// never handed out). Level 0 is one node covering it; a node of level L has size usable >> L and is either
// free, split into two buddies of level L+1, or one allocation. A request of `size` bytes with `alignment`
// takes one node of size max(nextPow2(size), alignment, minNodeSize): offsets of a node of size S are
// multiples of S, so every alignment up to the node size holds without any padding.
//  - Allocate: the deepest non-empty free list at or above the wanted level is found in O(1) (one bit per
//    level in a mask), its node is split down to the wanted level, pushing each right half on its list:
//    O(levels).
//  - Free: the node becomes free; while its buddy is free too, both go back into their parent: O(levels).
// Invariants: every offset in [0, usable) belongs to exactly one leaf node (free or allocation); a free
// node's buddy is never free (they would have merged); after freeing everything there is exactly one free
// node, the root. The waste of an allocation (node size - requested size) is counted apart: block bytes =
// allocation bytes + internal waste + free node bytes + tail.
#pragma once

#include <cstdint>
#include <vector>

namespace vkmem {

class BuddyAllocator {
 public:
  static constexpr uint32_t kNoNode = UINT32_MAX;
  static constexpr int kMaxLevels = 64;

  struct Statistics {
    uint64_t blockBytes = 0;
    uint64_t allocationCount = 0;
    uint64_t allocationBytes = 0;   // sum of requested sizes
    uint64_t internalWasteBytes = 0;  // sum of (node size - requested size)
    uint64_t unusedRangeCount = 0;  // free nodes, plus the tail when it is not empty
    uint64_t allocationSizeMin = UINT64_MAX, allocationSizeMax = 0;
    uint64_t unusedRangeSizeMin = UINT64_MAX, unusedRangeSizeMax = 0;
  };

  // size >= minNodeSize; minNodeSize a power of two. The caller checks both (virtual_block.cpp does).
  BuddyAllocator(uint64_t size, uint64_t minNodeSize);

  // Returns the node of the new allocation and its offset, or kNoNode when nothing fits.
  uint32_t Allocate(uint64_t size, uint64_t alignment, uint64_t* offset);
  // `node` must be a live allocation (IsAllocation); the caller keeps track of which ids are live.
  void Free(uint32_t node);
  void Clear();

  bool IsAllocation(uint32_t node) const { return node < nodes_.size() && nodes_[node].type == kAllocation; }
  uint64_t OffsetOf(uint32_t node) const { return nodes_[node].offset; }
  uint64_t RequestedSizeOf(uint32_t node) const { return nodes_[node].requested; }
  uint64_t NodeSizeOf(uint32_t node) const { return usable_ >> nodes_[node].level; }

  uint64_t Size() const { return size_; }
  uint64_t UsableSize() const { return usable_; }
  uint64_t MinNodeSize() const { return minNodeSize_; }
  uint64_t AllocationCount() const { return allocationCount_; }
  uint64_t AllocationBytes() const { return allocationBytes_; }
  uint64_t InternalWasteBytes() const { return wasteBytes_; }
  bool IsEmpty() const { return allocationCount_ == 0; }

  // O(1) figures only (count, bytes, waste, free range count and extremes); allocation min/max stay unset.
  Statistics FastStatistics() const;
  // Everything, walking the nodes: O(nodes).
  Statistics DetailedStatistics() const;

  // Calls fn(offset, size, requestedOrZero, node, isAllocation) for every leaf and for the tail, in offset order.
  template <class Fn>
  void ForEachRange(Fn&& fn) const {
    Walk(0, fn);
    if (size_ > usable_) fn(usable_, size_ - usable_, uint64_t(0), kNoNode, false);
  }

 private:
  enum Type : uint8_t { kUnused = 0, kFree = 1, kSplit = 2, kAllocation = 3 };
  struct Node {
    uint64_t offset = 0;
    uint64_t requested = 0;   // allocation: the size asked for
    uint32_t parent = kNoNode;
    uint32_t buddy = kNoNode;
    uint32_t prev = kNoNode;  // free: free-list links; split: next = left child; unused: next = next unused
    uint32_t next = kNoNode;
    uint8_t level = 0;
    Type type = kUnused;
  };

  uint32_t NewNode(uint64_t offset, uint8_t level, uint32_t parent);
  void ReleaseNode(uint32_t node);
  void PushFree(uint32_t node);
  void RemoveFree(uint32_t node);

  template <class Fn>
  void Walk(uint32_t node, Fn& fn) const {
    const Node& n = nodes_[node];
    if (n.type == kSplit) {
      Walk(n.next, fn);
      Walk(nodes_[n.next].buddy, fn);
    } else {
      fn(n.offset, usable_ >> n.level, n.type == kAllocation ? n.requested : uint64_t(0), node, n.type == kAllocation);
    }
  }

  uint64_t size_ = 0;
  uint64_t usable_ = 0;
  uint64_t minNodeSize_ = 0;
  int levels_ = 1;  // levels 0 .. levels_-1; the last has node size minNodeSize (or usable, when smaller)
  std::vector<Node> nodes_;
  uint32_t unusedHead_ = kNoNode;
  uint32_t freeHead_[kMaxLevels];
  uint64_t freeCount_[kMaxLevels];
  uint64_t nonEmpty_ = 0;  // bit L: the free list of level L is not empty
  uint64_t freeNodeCount_ = 0;
  uint64_t allocationCount_ = 0;
  uint64_t allocationBytes_ = 0;
  uint64_t wasteBytes_ = 0;
};

}  // namespace vkmem
