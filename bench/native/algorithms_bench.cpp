// The C++ side of bench/algorithms: the same allocate/free loops as bench/algorithms.ts, straight on VMA's
// virtual blocks (TLSF, linear) and on vkmem's buddy allocator (native/buddy.cpp), so that every TS figure
// has a floor to be compared with.
//
// The workload must match bench/algorithms.ts exactly (change both together): a block of `blockSize` bytes,
// `live` allocations kept alive, sizes from xorshift32 (seed 0x9E3779B9 per repetition):
//   small: 32 + r % 993 (32 B .. 1 KiB); large: 1024 + r % (1 MiB - 1024 + 1) (1 KiB .. 1 MiB);
// prefill `live` allocations (slot i), then `iterations` steps, each freeing one slot and allocating into it:
//   fifo: slot = step % live (the oldest); lifo: slot = live - 1 (the newest); random: slot = r % live, the
//   index drawn before the size; then drain (fifo: oldest first; lifo: newest first; random: slot order).
// A failed allocation leaves its slot empty (counted; the next free of that slot is skipped). Every attempt
// and every free counts as one operation. No Vulkan device is involved.
//
// Output: one JSON object per line: {"type":"sample","algorithm","pattern","sizes","ns_per_op","failures"}
// per repetition, then {"type":"done","vmaAsserts":n}.
//
// Build (bench/algorithms.ts does it when the binary is missing or older than its sources):
//   g++ -O2 -DNDEBUG -std=c++17 -Inative -Ivendor/vma/include bench/native/algorithms_bench.cpp native/buddy.cpp
//       -o build/bench/algorithms_bench -lvulkan
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define VMA_IMPLEMENTATION
#include "vma_config.h"
#include "buddy.h"

namespace vkmem {
static uint64_t gAsserts = 0;
void RecordVmaAssert(const char* expr, const char* file, int line) {
  if (gAsserts++ < 5) std::fprintf(stderr, "algorithms_bench: VMA check failed: %s (%s:%d)\n", expr, file, line);
}
void RecordVmaLeak(const char* message) { std::fprintf(stderr, "algorithms_bench: VMA leak: %s\n", message); }
}  // namespace vkmem

namespace {

constexpr uint64_t kNone = UINT64_MAX;

struct Rng {
  uint32_t x;
  uint32_t Next(uint32_t n) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x % n;
  }
};

struct Vma {
  VmaVirtualBlock block = VK_NULL_HANDLE;
  Vma(uint64_t size, bool linear) {
    VmaVirtualBlockCreateInfo ci = {};
    ci.size = size;
    ci.flags = linear ? VMA_VIRTUAL_BLOCK_CREATE_LINEAR_ALGORITHM_BIT : 0;
    vmaCreateVirtualBlock(&ci, &block);
  }
  ~Vma() {
    vmaClearVirtualBlock(block);
    vmaDestroyVirtualBlock(block);
  }
  uint64_t Allocate(uint64_t size) {
    VmaVirtualAllocationCreateInfo ci = {};
    ci.size = size;
    ci.alignment = 1;
    VmaVirtualAllocation a = VK_NULL_HANDLE;
    VkDeviceSize offset = 0;
    if (vmaVirtualAllocate(block, &ci, &a, &offset) != VK_SUCCESS) return kNone;
    return reinterpret_cast<uint64_t>(a);
  }
  void Free(uint64_t a) { vmaVirtualFree(block, reinterpret_cast<VmaVirtualAllocation>(a)); }
};

struct Buddy {
  vkmem::BuddyAllocator buddy;
  explicit Buddy(uint64_t size) : buddy(size, 16) {}
  uint64_t Allocate(uint64_t size) {
    uint64_t offset = 0;
    uint32_t node = buddy.Allocate(size, 1, &offset);
    return node == vkmem::BuddyAllocator::kNoNode ? kNone : node;
  }
  void Free(uint64_t a) { buddy.Free(static_cast<uint32_t>(a)); }
};

enum Pattern { kFifo, kLifo, kRandom };

struct Result {
  double nsPerOp;
  uint64_t failures;
};

template <class A>
Result Run(A& a, Pattern pattern, bool large, uint32_t live, uint64_t iterations) {
  Rng rng{0x9E3779B9u};
  auto size = [&]() -> uint64_t { return large ? 1024 + rng.Next(1048576 - 1024 + 1) : 32 + rng.Next(993); };
  std::vector<uint64_t> slots(live, kNone);
  uint64_t failures = 0, ops = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < live; ++i) {
    slots[i] = a.Allocate(size());
    ops++;
    if (slots[i] == kNone) failures++;
  }
  for (uint64_t step = 0; step < iterations; ++step) {
    uint32_t slot = pattern == kFifo ? static_cast<uint32_t>(step % live) : pattern == kLifo ? live - 1 : rng.Next(live);
    if (slots[slot] != kNone) {
      a.Free(slots[slot]);
      ops++;
    }
    slots[slot] = a.Allocate(size());
    ops++;
    if (slots[slot] == kNone) failures++;
  }
  // Drain.
  for (uint32_t k = 0; k < live; ++k) {
    uint32_t slot = pattern == kFifo ? static_cast<uint32_t>((iterations + k) % live) : pattern == kLifo ? live - 1 - k : k;
    if (slots[slot] != kNone) {
      a.Free(slots[slot]);
      ops++;
    }
  }
  auto t1 = std::chrono::steady_clock::now();
  return {std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(ops), failures};
}

const char* kPatternNames[] = {"fifo", "lifo", "random"};

}  // namespace

int main(int argc, char** argv) {
  uint64_t iterations = 100000;
  uint32_t repetitions = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--iterations") == 0) iterations = std::strtoull(argv[i + 1], nullptr, 10);
    else if (std::strcmp(argv[i], "--repetitions") == 0) repetitions = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
    else {
      std::fprintf(stderr, "algorithms_bench: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  const char* algorithms[] = {"tlsf", "linear", "buddy"};
  for (int large = 0; large <= 1; ++large) {
    const uint64_t blockSize = large ? (uint64_t(128) << 20) : (uint64_t(4) << 20);
    const uint32_t live = large ? 64 : 1000;
    for (int p = kFifo; p <= kRandom; ++p) {
      for (const char* algorithm : algorithms) {
        const bool linear = std::strcmp(algorithm, "linear") == 0;
        if (linear && p == kRandom) continue;  // linear reclaims only at its ends
        for (uint32_t r = 0; r <= repetitions; ++r) {  // r == 0: warm-up, not printed
          Result res;
          if (std::strcmp(algorithm, "buddy") == 0) {
            Buddy b(blockSize);
            res = Run(b, static_cast<Pattern>(p), large, live, iterations);
          } else {
            Vma v(blockSize, linear);
            res = Run(v, static_cast<Pattern>(p), large, live, iterations);
          }
          if (r == 0) continue;
          std::printf("{\"type\":\"sample\",\"algorithm\":\"%s\",\"pattern\":\"%s\",\"sizes\":\"%s\",\"ns_per_op\":%.3f,\"failures\":%llu}\n",
                      algorithm, kPatternNames[p], large ? "large" : "small", res.nsPerOp,
                      static_cast<unsigned long long>(res.failures));
        }
      }
    }
  }
  std::printf("{\"type\":\"done\",\"vmaAsserts\":%llu}\n", static_cast<unsigned long long>(vkmem::gAsserts));
  return 0;
}
