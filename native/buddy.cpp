// The buddy allocator (see buddy.h for the model and its invariants).
#include "buddy.h"

namespace vkmem {

namespace {
inline int Log2(uint64_t v) { return 63 - __builtin_clzll(v); }  // v > 0
inline uint64_t PrevPow2(uint64_t v) { return uint64_t(1) << Log2(v); }
inline uint64_t NextPow2(uint64_t v) { return v <= 1 ? 1 : uint64_t(1) << (64 - __builtin_clzll(v - 1)); }
}  // namespace

BuddyAllocator::BuddyAllocator(uint64_t size, uint64_t minNodeSize) : size_(size) {
  usable_ = PrevPow2(size);
  minNodeSize_ = minNodeSize > usable_ ? usable_ : minNodeSize;
  levels_ = Log2(usable_) - Log2(minNodeSize_) + 1;
  if (levels_ > kMaxLevels) levels_ = kMaxLevels;
  Clear();
}

void BuddyAllocator::Clear() {
  nodes_.clear();
  nodes_.reserve(64);
  unusedHead_ = kNoNode;
  for (int l = 0; l < kMaxLevels; ++l) {
    freeHead_[l] = kNoNode;
    freeCount_[l] = 0;
  }
  nonEmpty_ = 0;
  freeNodeCount_ = 0;
  allocationCount_ = allocationBytes_ = wasteBytes_ = 0;
  uint32_t root = NewNode(0, 0, kNoNode);
  PushFree(root);
}

uint32_t BuddyAllocator::NewNode(uint64_t offset, uint8_t level, uint32_t parent) {
  uint32_t i;
  if (unusedHead_ != kNoNode) {
    i = unusedHead_;
    unusedHead_ = nodes_[i].next;
  } else {
    i = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
  }
  Node& n = nodes_[i];
  n.offset = offset;
  n.requested = 0;
  n.parent = parent;
  n.buddy = kNoNode;
  n.prev = n.next = kNoNode;
  n.level = level;
  n.type = kFree;
  return i;
}

void BuddyAllocator::ReleaseNode(uint32_t node) {
  Node& n = nodes_[node];
  n.type = kUnused;
  n.next = unusedHead_;
  unusedHead_ = node;
}

void BuddyAllocator::PushFree(uint32_t node) {
  Node& n = nodes_[node];
  n.type = kFree;
  n.prev = kNoNode;
  n.next = freeHead_[n.level];
  if (n.next != kNoNode) nodes_[n.next].prev = node;
  freeHead_[n.level] = node;
  freeCount_[n.level]++;
  nonEmpty_ |= uint64_t(1) << n.level;
  freeNodeCount_++;
}

void BuddyAllocator::RemoveFree(uint32_t node) {
  Node& n = nodes_[node];
  if (n.prev != kNoNode) nodes_[n.prev].next = n.next;
  else freeHead_[n.level] = n.next;
  if (n.next != kNoNode) nodes_[n.next].prev = n.prev;
  if (--freeCount_[n.level] == 0) nonEmpty_ &= ~(uint64_t(1) << n.level);
  freeNodeCount_--;
}

uint32_t BuddyAllocator::Allocate(uint64_t size, uint64_t alignment, uint64_t* offset) {
  if (size == 0 || size > usable_ || alignment > usable_) return kNoNode;
  uint64_t want = size < minNodeSize_ ? minNodeSize_ : size;
  if (alignment > want) want = alignment;
  const uint64_t nodeSize = NextPow2(want);
  if (nodeSize > usable_) return kNoNode;
  int target = Log2(usable_) - Log2(nodeSize);
  if (target >= levels_) target = levels_ - 1;  // only when minNodeSize was clamped; never smaller than asked
  // The deepest level at or above the target that has a free node: the smallest node that fits.
  const uint64_t candidates = nonEmpty_ & ((target >= 63 ? ~uint64_t(0) : (uint64_t(2) << target) - 1));
  if (candidates == 0) return kNoNode;
  int level = Log2(candidates);
  uint32_t node = freeHead_[level];
  RemoveFree(node);
  while (level < target) {
    const uint64_t half = usable_ >> (level + 1);
    const uint64_t base = nodes_[node].offset;
    // NewNode may grow the vector: take no references across it.
    uint32_t left = NewNode(base, static_cast<uint8_t>(level + 1), node);
    uint32_t right = NewNode(base + half, static_cast<uint8_t>(level + 1), node);
    nodes_[left].buddy = right;
    nodes_[right].buddy = left;
    nodes_[node].type = kSplit;
    nodes_[node].next = left;
    PushFree(right);
    node = left;
    ++level;
  }
  Node& n = nodes_[node];
  n.type = kAllocation;
  n.requested = size;
  allocationCount_++;
  allocationBytes_ += size;
  wasteBytes_ += (usable_ >> n.level) - size;
  *offset = n.offset;
  return node;
}

void BuddyAllocator::Free(uint32_t node) {
  Node* n = &nodes_[node];
  allocationCount_--;
  allocationBytes_ -= n->requested;
  wasteBytes_ -= (usable_ >> n->level) - n->requested;
  n->requested = 0;
  // Merge upwards while the buddy is free as well.
  while (n->parent != kNoNode && nodes_[n->buddy].type == kFree) {
    const uint32_t parent = n->parent;
    RemoveFree(n->buddy);
    ReleaseNode(n->buddy);
    ReleaseNode(node);
    node = parent;
    n = &nodes_[node];
  }
  PushFree(node);
}

BuddyAllocator::Statistics BuddyAllocator::FastStatistics() const {
  Statistics s;
  s.blockBytes = size_;
  s.allocationCount = allocationCount_;
  s.allocationBytes = allocationBytes_;
  s.internalWasteBytes = wasteBytes_;
  s.unusedRangeCount = freeNodeCount_;
  if (nonEmpty_ != 0) {
    s.unusedRangeSizeMax = usable_ >> __builtin_ctzll(nonEmpty_);  // the shallowest level has the largest nodes
    s.unusedRangeSizeMin = usable_ >> Log2(nonEmpty_);
  }
  const uint64_t tail = size_ - usable_;
  if (tail > 0) {
    s.unusedRangeCount++;
    if (tail < s.unusedRangeSizeMin) s.unusedRangeSizeMin = tail;
    if (tail > s.unusedRangeSizeMax) s.unusedRangeSizeMax = tail;
  }
  return s;
}

BuddyAllocator::Statistics BuddyAllocator::DetailedStatistics() const {
  Statistics s = FastStatistics();
  for (const Node& n : nodes_) {
    if (n.type != kAllocation) continue;
    if (n.requested < s.allocationSizeMin) s.allocationSizeMin = n.requested;
    if (n.requested > s.allocationSizeMax) s.allocationSizeMax = n.requested;
  }
  return s;
}

}  // namespace vkmem
