// Per-environment state of the vkmem addon and the helpers every native file shares.
//
// Native objects live in slot tables with generation counters. JS only ever holds a Number that
// encodes (generation, index); a stale handle (its slot was freed and maybe reused) or a forged one
// (any other Number) fails the generation check and becomes a JS error, never a dangling pointer.
//
// Hot calls (create/destroy, allocate/free, info) take their arguments from, and write their results
// into, one scratch ArrayBuffer that JS hands over once: no argument marshalling, no object per call.
// The layout of that buffer is shared with engine/native.ts (see Scratch below); change both together.
#pragma once

#include <napi.h>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "trace_sink.h"
#include "vma_config.h"

namespace vkmem {

struct VirtualBlocks;  // virtual_block.h

// Indices into the scratch buffer, in 8-byte units. Inputs and outputs do not overlap, so a call can
// read its inputs while writing results. u64 slots carry Vulkan handles; f64 slots carry Numbers.
namespace Scratch {
constexpr int kSlots = 64;
// Inputs: the resource description.
constexpr int kIn0 = 0;          // ..kIn0+15: per-call resource parameters
// Inputs: VmaAllocationCreateInfo.
constexpr int kAllocFlags = 16;
constexpr int kAllocUsage = 17;
constexpr int kAllocRequired = 18;
constexpr int kAllocPreferred = 19;
constexpr int kAllocTypeBits = 20;
constexpr int kAllocPool = 21;
constexpr int kAllocPriority = 22;
constexpr int kAllocMinAlignment = 23;
// Outputs: (u64) resource handle and VkDeviceMemory, (f64) allocation handle and its info.
constexpr int kOutResource = 32;   // u64
constexpr int kOutMemory = 33;     // u64
constexpr int kOutAllocation = 34; // f64 handle
constexpr int kOutMemoryType = 35;
constexpr int kOutOffset = 36;
constexpr int kOutSize = 37;
constexpr int kOutMapped = 38;     // pointer as a Number (0 when not mapped)
constexpr int kOutUserData = 39;
constexpr int kOutBlockSize = 40;  // the VkDeviceMemory block's size (creations and getAllocationInfo)
constexpr int kOutDedicated = 41;  // 1 when the allocation owns its VkDeviceMemory
// Virtual blocks (native/virtual_block.cpp): inputs 52..56, outputs 58..61, all f64.
constexpr int kVbSize = 52;
constexpr int kVbAlignment = 53;      // 0 or a power of two
constexpr int kVbFlags = 54;          // VmaVirtualAllocationCreateFlags (UPPER_ADDRESS, STRATEGY_*)
constexpr int kVbUserData = 55;       // an integer in [0, 2^53); 0: none
constexpr int kVbAllocation = 56;     // the virtual allocation handle for free / info
constexpr int kOutVbAllocation = 58;  // handle of the new virtual allocation
constexpr int kOutVbOffset = 59;
constexpr int kOutVbSize = 60;
constexpr int kOutVbUserData = 61;
}  // namespace Scratch

enum class Kind : uint8_t { Free = 0, Memory = 1, Buffer = 2, Image = 3 };

struct AllocatorSlot {
  VmaAllocator allocator = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  PFN_vkDestroyBuffer destroyBuffer = nullptr;
  PFN_vkDestroyImage destroyImage = nullptr;
  // For resources a buddy pool creates unbound and binds inside one of its blocks (buddy_pool.cpp).
  PFN_vkCreateBuffer createBuffer = nullptr;
  PFN_vkCreateImage createImage = nullptr;
  PFN_vkGetBufferMemoryRequirements getBufferMemoryRequirements = nullptr;
  PFN_vkGetImageMemoryRequirements getImageMemoryRequirements = nullptr;
  // For defragmentation's transfer buffers over whole memory blocks (defragmentation.cpp).
  PFN_vkBindBufferMemory bindBufferMemory = nullptr;
  // For recording copies (copy_commands.cpp, defragmentation.cpp) and a moved texture's view, looked up once here
  // rather than on every recording (a live defragmentation records in every copy frame).
  PFN_vkCmdPipelineBarrier cmdPipelineBarrier = nullptr;
  PFN_vkCmdCopyBuffer cmdCopyBuffer = nullptr;
  PFN_vkCmdCopyImage cmdCopyImage = nullptr;
  PFN_vkCmdCopyBufferToImage cmdCopyBufferToImage = nullptr;
  PFN_vkCreateImageView createImageView = nullptr;
  // For a FrameManager texture's default view, destroyed just before its image by freeResources (batch.cpp).
  PFN_vkDestroyImageView destroyImageView = nullptr;
  // The Vulkan calls of a FrameManager's frame (frame_commands.cpp).
  PFN_vkGetFenceStatus getFenceStatus = nullptr;
  PFN_vkWaitForFences waitForFences = nullptr;
  PFN_vkResetFences resetFences = nullptr;
  PFN_vkResetCommandPool resetCommandPool = nullptr;
  PFN_vkBeginCommandBuffer beginCommandBuffer = nullptr;
  PFN_vkEndCommandBuffer endCommandBuffer = nullptr;
  PFN_vkQueueSubmit queueSubmit = nullptr;
  // The physical device's queue family count: the families a barrier recorded here may name (copy_commands.cpp).
  uint32_t queueFamilyCount = 0;
  // The GPU scatter of small staging copies (scatter_copy.cpp): made by createScatterPipeline, destroyed with the
  // allocator (DestroyScatterPipeline). The device's function lookup is kept for it.
  PFN_vkGetDeviceProcAddr getDeviceProcAddr = nullptr;
  PFN_vkGetBufferDeviceAddress getBufferDeviceAddress = nullptr;
  PFN_vkCmdBindPipeline cmdBindPipeline = nullptr;
  PFN_vkCmdPushConstants cmdPushConstants = nullptr;
  PFN_vkCmdDispatch cmdDispatch = nullptr;
  VkPipelineLayout scatterLayout = VK_NULL_HANDLE;
  VkPipeline scatterPipeline = VK_NULL_HANDLE;
  // The buffers (false) and images (true) made by createUnbound and not yet destroyed: only these may be
  // bound with bindAt or destroyed with destroyUnbound, so no JS value can name another Vulkan object.
  std::unordered_map<uint64_t, bool> unboundResources;
  // Aliasing resources (aliasing.cpp): buffers and images bound beside an allocation's own resource, by value. Each
  // is destroyed by destroyAlias or, at the latest, just before its allocation is freed (FreeAllocationNow).
  struct Alias {
    uint32_t allocation = 0;  // index into allocations
    bool image = false;
  };
  std::unordered_map<uint64_t, Alias> aliases;
  // The writer of a recording allocator (trace_sink.h): its hot creations and frees encode their records into it.
  std::unique_ptr<TraceSink> trace;
  uint32_t generation = 1;
  uint32_t liveAllocations = 0;
  bool live = false;
};

// A custom VmaPool (pool.cpp). Owned by its allocator: destroyed with it, after its allocations.
struct PoolSlot {
  VmaPool pool = VK_NULL_HANDLE;
  uint32_t generation = 1;
  uint32_t allocator = 0;         // index into allocators
  uint32_t liveAllocations = 0;
  bool live = false;
  bool linear = false;            // VMA_POOL_CREATE_LINEAR_ALGORITHM_BIT: UPPER_ADDRESS allowed
  bool singleBlock = false;       // maxBlockCount == 1: UPPER_ADDRESS needs it too
  bool explicitBlockSize = false; // blockSize != 0: VMA refuses dedicated allocations in it
};

struct AllocationSlot {
  VmaAllocation allocation = VK_NULL_HANDLE;
  uint64_t resource = 0;        // VkBuffer / VkImage created with it or bound to it
  uint32_t generation = 1;
  uint32_t allocator = 0;       // index into allocators
  uint32_t pool = 0;            // index into pools; 0: the allocator's default pools
  uint32_t nextFree = 0;        // free-list link (index + 1; 0 ends the list)
  uint32_t mapCount = 0;        // our own count of vmaMapMemory calls not yet unmapped
  uint32_t aliasCount = 0;      // aliasing resources bound to it (AllocatorSlot::aliases), destroyed before it is freed
  Kind kind = Kind::Free;
  bool ownsResource = false;    // resource was created by vkmem and is destroyed with the allocation
  // Defragmentation (defragmentation.cpp): the source of a move in an open pass, or a pass's temporary destination.
  // Neither may be freed until the pass ends (VMA would then touch a freed allocation).
  bool moving = false;
  bool defragTemp = false;
  uint64_t serial = 0;          // creation order (Addon::nextAllocationSerial): leak reports list the oldest first
};

// The description of an image vkmem created with an allocation (createImage), kept beside its slot
// (Addon::images): what createImageView and the upload recording (copy_commands.cpp) build from and check against.
struct ImageRecord {
  uint32_t generation = 0;  // the slot's generation it was written for: it names no later allocation of the slot
  uint32_t format = 0;
  uint32_t type = 0;
  uint32_t mipLevels = 0;
  uint32_t arrayLayers = 0;
  uint32_t usage = 0;
  uint32_t flags = 0;
  uint32_t width = 0;
  uint32_t height = 0;
  uint32_t depth = 0;
};

// The size and usage of a buffer vkmem created with an allocation (createBuffer, createBuffers, a dedicated buffer),
// kept beside its slot (Addon::buffers): the copy recordings (copy_commands.cpp) check each copy against the buffer
// itself, not against its allocation, which VMA may have made larger, and need no VMA call to learn the size.
struct BufferRecord {
  uint32_t generation = 0;  // the slot's generation it was written for: it names no later allocation of the slot
  uint32_t usage = 0;
  uint64_t size = 0;
  // The device address of `addressOf`, the slot's resource when it was asked for (scatter_copy.cpp): a defragmentation
  // that gives the slot another buffer makes it stale, and the address is asked for again.
  mutable uint64_t addressOf = 0;
  mutable uint64_t address = 0;
};

// One move of an open defragmentation pass: VMA's VmaDefragmentationMove, with our slot indices.
struct DefragMove {
  uint32_t src = 0;          // allocation slot of the allocation being moved
  uint32_t tmp = 0;          // allocation slot standing for VMA's dstTmpAllocation
  uint64_t newResource = 0;  // the replacement buffer/image vkmem created and bound at the destination, if any
  bool newIsImage = false;
  // Transfer buffers over the source's and the destination's bytes (createDefragmentationCopyBuffers), for a GPU copy
  // of the memory itself whatever the usage of the resource bound there; destroyed when the pass ends.
  uint64_t copySrc = 0;
  uint64_t copyDst = 0;
  // The replacement image's description (createDefragmentationMoveResource), for recordDefragmentationCopies and
  // createDefragmentationView: the ranges and views JS asks for are checked against it.
  VkFormat format = VK_FORMAT_UNDEFINED;
  VkExtent3D extent = {0, 0, 0};
  uint32_t mipLevels = 0;
  uint32_t arrayLayers = 0;
};

// Wall-clock limit of a pass's planning, read by VMA's break callback (heap-held: its address is given to VMA).
struct DefragBreak {
  int64_t startNs = 0;
  int64_t limitNs = 0;  // 0: no limit
  bool fired = false;
};

// A VmaDefragmentationContext (defragmentation.cpp). Owned by its allocator: ended with it or with its pool.
struct DefragSlot {
  VmaDefragmentationContext context = VK_NULL_HANDLE;
  uint32_t generation = 1;
  uint32_t allocator = 0;  // index into allocators
  uint32_t pool = 0;       // index into pools; 0: the default pools
  bool live = false;
  bool passOpen = false;
  VmaDefragmentationPassMoveInfo pass = {};
  std::vector<DefragMove> moves;
  std::unique_ptr<DefragBreak> breaker;
  // Our slot of each VmaAllocation, built when a pass first needs it and rebuilt when an entry is missing or stale
  // (a slot is checked to still hold that VmaAllocation before it is used): not a scan of every slot per pass.
  std::unordered_map<VmaAllocation, uint32_t> slotOf;
  // The open pass's transfer buffers over whole memory blocks (createDefragmentationBlockCopies), by memory.
  std::unordered_map<VkDeviceMemory, uint64_t> blockBuffers;
};

// Handles are Numbers: generation * 2^24 + index for allocations, the same for allocators.
constexpr uint32_t kIndexBits = 24;
constexpr double kIndexSpan = 16777216.0;  // 2^24
constexpr uint32_t kMaxGeneration = (1u << 28) - 1;

// Splits a handle Number into its index and generation; false for anything that is not a whole Number in
// [1, 2^53) (a forged or garbage value), so no caller indexes a table with it.
inline bool DecodeHandle(double h, uint32_t* index, uint32_t* generation) {
  if (!(h >= 1 && h <= 9007199254740991.0) || std::floor(h) != h) return false;
  const uint64_t raw = static_cast<uint64_t>(h);
  *index = static_cast<uint32_t>(raw & ((1u << kIndexBits) - 1));
  *generation = static_cast<uint32_t>(raw >> kIndexBits);
  return true;
}

// The live slot a handle names in a table whose slots have `live` and `generation` (pools, defragmentation
// contexts; index 0 is never used), or nullptr for a stale or forged handle.
template <typename SlotT>
SlotT* LiveSlotFromNumber(std::vector<SlotT>& table, double h, uint32_t* indexOut) {
  uint32_t index = 0, generation = 0;
  if (!DecodeHandle(h, &index, &generation)) return nullptr;
  if (index == 0 || index >= table.size() || !table[index].live || table[index].generation != generation) return nullptr;
  if (indexOut) *indexOut = index;
  return &table[index];
}

// The timer of native calls (batch.cpp): while a benchmark has it on (setNativeTiming), every exported call adds
// the nanoseconds it took to gNativeNs, so that the time JS spent inside VMA and the Vulkan calls VMA makes can be
// told from the time spent in TypeScript. Off, it costs one branch per call.
// Process-wide plain globals (benchmarks only; a thread_local costs a TLS lookup per call in a shared library).
extern bool gNativeTiming;
extern std::atomic<int64_t> gNativeNs;
int64_t MonotonicNs();
struct NativeCallTimer {
  int64_t start = gNativeTiming ? MonotonicNs() : 0;
  ~NativeCallTimer() {
    if (start != 0) gNativeNs.fetch_add(MonotonicNs() - start, std::memory_order_relaxed);
  }
};

// VMA's assert recorder (addon.cpp), per native call and per thread. BeginNativeCall() starts a call's record.
// gVmaRecordsEverHeld is set, for good, the first time any thread's record holds anything (a message or a failed
// check): until then, as in a process where VMA never complains, neither needs to look at the calling thread's record,
// a thread_local whose every access in a shared library is a __tls_get_addr call and an init-guard check (2% of the
// addon's createBuffer + freeAllocation pair from JS). A thread sets it before its record's first message, so it
// never reads it unset while its own record holds something. It is never cleared: a count of the threads holding a
// record in its place (decremented as records emptied and as threads ended) once read 0 under Wine while a record held
// an assert, in one Windows lane of four, with workers sharing the process; the unpaired decrement was not found, and
// a flag that only goes up has none to find. After VMA's first complaint every call looks at its record, as all did.
extern std::atomic<bool> gVmaRecordsEverHeld;
inline bool VmaRecordsHeld() { return gVmaRecordsEverHeld.load(std::memory_order_relaxed); }
void BeginNativeCallHeld();
bool VmaAssertedHeld();
inline void BeginNativeCall() {
  if (VmaRecordsHeld()) BeginNativeCallHeld();
}
inline bool VmaAssertedThisCall() { return VmaRecordsHeld() && VmaAssertedHeld(); }
// Whether a VMA check that failed in this call mentions `needle` (VMA's asserts carry their message in the expression).
bool VmaAssertMentions(const char* needle);

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);

  // Shared helpers (used by allocator.cpp and allocation.cpp).
  double* f64 = nullptr;
  uint64_t* u64 = nullptr;
  Napi::Reference<Napi::ArrayBuffer> scratchRef;
  Napi::FunctionReference makeVkError;  // (result, operation, label?, detail?) => VkError
  Napi::FunctionReference makeCorruptionError;  // (operation, message, allocations) => CorruptionError
  Napi::FunctionReference makeVmaAssertionError;  // (operation, messages) => VmaAssertionError

  std::vector<AllocatorSlot> allocators;
  std::vector<AllocationSlot> allocations;
  // The image and buffer records by allocation slot index, grown as resources are made. Beside the slot table rather
  // than in it, so that the slots every create and free reads stay small; a record names the slot's generation it was
  // written for, so that nothing clears it when the slot is freed or taken again.
  std::vector<ImageRecord> images;
  std::vector<BufferRecord> buffers;
  // cmdCopyBuffers' scratch (copy_commands.cpp), kept between calls so that a frame's recording allocates nothing:
  // the order rows are recorded in, the group of each destination slot (kNoCopyGroup between calls), the slot of
  // each row, the groups' starts, the groups' destination handles and slots, and the regions of a run.
  std::vector<uint32_t> copyOrder;
  std::vector<uint32_t> copyGroupOfSlot;
  std::vector<uint32_t> copyRowSlot;
  std::vector<uint32_t> copyGroupStarts;
  std::vector<std::pair<double, uint32_t>> copyGroups;
  std::vector<VkBufferCopy> copyRegions;
  // Keeps `record` in `records` for the allocation in slot `index`, stamped with the slot's generation.
  template <class Record>
  void Keep(std::vector<Record>& records, uint32_t index, Record record) {
    if (records.size() <= index) records.resize(allocations.size());
    record.generation = allocations[index].generation;
    records[index] = record;
  }
  // The record in `records` of the resource of `kind` vkmem created with the live allocation `handle` names, and its
  // slot in `slot`; null when the handle names none (stale, freed, another kind, a resource bound into memory or made
  // without a record, another build's).
  template <class Record>
  const Record* Recorded(const std::vector<Record>& records, Kind kind, double handle, AllocationSlot** slot) {
    uint32_t index = 0;
    AllocationSlot* a = AllocationFromNumber(handle, &index);
    if (a == nullptr || a->kind != kind || !a->ownsResource || a->resource == 0 || index >= records.size() ||
        records[index].generation != a->generation)
      return nullptr;
    *slot = a;
    return &records[index];
  }
  const ImageRecord* RecordedImage(double handle, AllocationSlot** slot) {
    return Recorded(images, Kind::Image, handle, slot);
  }
  const BufferRecord* RecordedBuffer(double handle, AllocationSlot** slot) {
    return Recorded(buffers, Kind::Buffer, handle, slot);
  }
  uint32_t freeAllocationHead = 0;  // index + 1 of the first free slot; 0: none
  uint64_t nextAllocationSerial = 1;
  // The cross-check oracles (VMA's virtual blocks, virtual_block.cpp) exist only in the vkmem_oracles build that
  // tests and benches load (binding.gyp); the addons that ship neither compile nor export them, and hold null here.
  // A pointer with its own deleter, not a member of the oracles' type, so that Addon has one layout in every build
  // and the builds share the objects of the sources they compile alike (binding.gyp).
  std::unique_ptr<VirtualBlocks, void (*)(VirtualBlocks*)> virtualBlocks{nullptr, nullptr};
  std::vector<PoolSlot> pools;
  std::vector<DefragSlot> defrags;  // defragmentation.cpp; index 0 unused

  AllocatorSlot& AllocatorFrom(Napi::Env env, napi_value v, uint32_t* indexOut = nullptr);
  AllocationSlot* AllocationFromNumber(double handle, uint32_t* indexOut);
  AllocationSlot& AllocationFrom(Napi::Env env, napi_value v, uint32_t* indexOut = nullptr);
  uint32_t NewAllocationSlot(uint32_t allocatorIndex, VmaAllocation allocation, Kind kind, uint64_t resource,
                             bool ownsResource);
  void ReleaseAllocationSlot(uint32_t index);
  PoolSlot* PoolFromNumber(double handle, uint32_t* indexOut);
  // Unmaps, destroys the resource vkmem created with it (on the background freer inside a DeferFrees scope:
  // deferred_free.h), frees the memory and releases the slot.
  void FreeAllocationNow(uint32_t index);
  // Starts loading what freeing the allocations of entries [first, end) of `handles` reads first (batch.cpp):
  // their slots, VmaAllocations and metadata nodes. Reads only live slots' allocations; frees nothing.
  void PrefetchFrees(const double* handles, uint32_t first, uint32_t end);
  // { handle, name, size, offset, memoryType, kind, pool } of a live allocation, for leak reports.
  Napi::Object DescribeLeak(Napi::Env env, uint32_t index);
  // The live allocation slots of an allocator (of one of its pools when `poolIndex` != 0), oldest first; `count`
  // is how many there are (the allocator's or pool's liveAllocations), so the scan stops at the last.
  std::vector<uint32_t> LiveSlotsOldestFirst(uint32_t allocatorIndex, uint32_t poolIndex, uint32_t count) const;
  // Frees the pool's live allocations (described into leaks) and destroys it (pool.cpp).
  void DestroyPoolNow(Napi::Env env, uint32_t poolIndex, Napi::Array* leaks);
  static double EncodeHandle(uint32_t generation, uint32_t index) {
    return static_cast<double>(generation) * kIndexSpan + static_cast<double>(index);
  }
  // Every exported method runs inside Guarded: the VMA record is reset as the call starts and an assert that
  // fired and was not turned into an error by the method becomes a VmaAssertionError as it returns.
  template <Napi::Value (Addon::*Method)(const Napi::CallbackInfo&)>
  Napi::Value Guarded(const Napi::CallbackInfo& info) {
    NativeCallTimer timer;
    BeginNativeCall();
    Napi::Value result = (this->*Method)(info);
    EndNativeCall(info.Env(), "vkmem native call");
    return result;
  }
  void EndNativeCall(Napi::Env env, const char* operation);
  [[noreturn]] void ThrowVk(Napi::Env env, VkResult result, const char* operation, const std::string& detail = "");
  // Throws VmaAssertionError (engine/errors.ts) with this call's VMA messages when a VMA_ASSERT failed in it.
  // VMA's asserts guard preconditions TS checks before calling; one that fires is a vkmem bug. Callers keep
  // the slot tables in step with what VMA did before calling this, so state stays consistent after the throw.
  void ThrowIfVmaAsserted(Napi::Env env, const char* operation);
  void RequireScratch(Napi::Env env);

  // The second argument of the hot call running now (createBuffer / createImage take the allocation's name there),
  // or nullptr; set by HotCall for the duration of one call only.
  napi_value hotSecondArg = nullptr;

  // Exported methods.
  Napi::Value SetScratch(const Napi::CallbackInfo& info);
  Napi::Value SetErrorFactory(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value TakeVmaMessages(const Napi::CallbackInfo& info);
  Napi::Value Version(const Napi::CallbackInfo& info);

  // allocator.cpp
  Napi::Value CreateAllocator(const Napi::CallbackInfo& info);
  Napi::Value DestroyAllocator(const Napi::CallbackInfo& info);
  Napi::Value GetMemoryProperties(const Napi::CallbackInfo& info);
  Napi::Value GetHeapBudgets(const Napi::CallbackInfo& info);
  Napi::Value CalculateStatistics(const Napi::CallbackInfo& info);
  Napi::Value BuildStatsString(const Napi::CallbackInfo& info);
  Napi::Value SetCurrentFrameIndex(const Napi::CallbackInfo& info);
  Napi::Value FindMemoryTypeIndex(const Napi::CallbackInfo& info);
  Napi::Value LiveAllocationCount(const Napi::CallbackInfo& info);
  Napi::Value FindResource(const Napi::CallbackInfo& info);
  Napi::Value FindMemoryTypeIndexForBufferInfo(const Napi::CallbackInfo& info);
  Napi::Value FindMemoryTypeIndexForImageInfo(const Napi::CallbackInfo& info);

  // pool.cpp
  Napi::Value CreatePool(const Napi::CallbackInfo& info);
  Napi::Value DestroyPool(const Napi::CallbackInfo& info);
  Napi::Value GetPoolStatistics(const Napi::CallbackInfo& info);
  Napi::Value CalculatePoolStatistics(const Napi::CallbackInfo& info);
  Napi::Value SetPoolName(const Napi::CallbackInfo& info);
  Napi::Value GetPoolName(const Napi::CallbackInfo& info);

  // defragmentation.cpp
  Napi::Value BeginDefragmentation(const Napi::CallbackInfo& info);
  Napi::Value BeginDefragmentationPass(const Napi::CallbackInfo& info);
  Napi::Value SetDefragmentationMoveOperation(const Napi::CallbackInfo& info);
  Napi::Value CreateDefragmentationMoveResource(const Napi::CallbackInfo& info);
  Napi::Value CreateDefragmentationCopyBuffers(const Napi::CallbackInfo& info);
  Napi::Value CreateDefragmentationBlockCopies(const Napi::CallbackInfo& info);
  Napi::Value RecordDefragmentationCopies(const Napi::CallbackInfo& info);
  Napi::Value CreateDefragmentationView(const Napi::CallbackInfo& info);
  Napi::Value CreateImageView(const Napi::CallbackInfo& info);  // allocation.cpp
  Napi::Value DestroyImageViewBytes(const Napi::CallbackInfo& info);  // allocation.cpp
  Napi::Value EndDefragmentationPass(const Napi::CallbackInfo& info);
  Napi::Value EndDefragmentation(const Napi::CallbackInfo& info);
  // Ends every defragmentation of the allocator (poolIndex 0) or of one pool, as if each move of an open pass had
  // been ignored: run before the allocations they name are freed (pool and allocator destruction).
  void AbandonDefragmentations(uint32_t allocatorIndex, uint32_t poolIndex);
  // Commits or abandons the open pass of a context: `abandon` turns every move into IGNORE first.
  VkResult FinishPass(DefragSlot& d, bool abandon);
  void MapAllocationSlots(DefragSlot& d);

  // corruption.cpp
  Napi::Value CheckCorruption(const Napi::CallbackInfo& info);
  Napi::Value CheckPoolCorruption(const Napi::CallbackInfo& info);
  Napi::Value CorruptedAllocations(const Napi::CallbackInfo& info);
  Napi::Value DebugPoke(const Napi::CallbackInfo& info);
  Napi::Value DebugPeek(const Napi::CallbackInfo& info);
  // False when the debug build's margin after this allocation no longer holds VMA's magic number.
  bool MarginIntact(uint32_t index);
  // Throws the JS CorruptionError (operation, message, [descriptions of the allocations]).
  [[noreturn]] void ThrowCorruption(Napi::Env env, const char* operation, const std::string& message, Napi::Array allocations);

  // allocation.cpp
  Napi::Value CreateBuffer(Napi::Env env, napi_value arg);  // hot: registered raw (addon.cpp)
  Napi::Value CreateImage(Napi::Env env, napi_value arg);  // hot: registered raw (addon.cpp)
  Napi::Value AllocateMemory(Napi::Env env, napi_value arg);  // hot: registered raw (addon.cpp)
  Napi::Value AllocateMemoryForBuffer(const Napi::CallbackInfo& info);
  Napi::Value AllocateMemoryForImage(const Napi::CallbackInfo& info);
  Napi::Value BindBufferMemory(const Napi::CallbackInfo& info);
  Napi::Value BindImageMemory(const Napi::CallbackInfo& info);
  Napi::Value FreeAllocation(Napi::Env env, napi_value arg);  // hot: registered raw (addon.cpp)
  Napi::Value GetAllocationInfo(Napi::Env env, napi_value arg);  // hot: registered raw (addon.cpp)
  Napi::Value SetAllocationName(const Napi::CallbackInfo& info);
  Napi::Value GetAllocationName(const Napi::CallbackInfo& info);
  Napi::Value SetAllocationUserData(const Napi::CallbackInfo& info);
  Napi::Value GetMemoryTypeProperties(const Napi::CallbackInfo& info);
  Napi::Value Map(const Napi::CallbackInfo& info);
  Napi::Value Unmap(const Napi::CallbackInfo& info);
  Napi::Value Flush(const Napi::CallbackInfo& info);
  Napi::Value Invalidate(const Napi::CallbackInfo& info);
  Napi::Value CreateDedicatedResource(const Napi::CallbackInfo& info);

  // aliasing.cpp
  Napi::Value CreateAliasingResource(const Napi::CallbackInfo& info);
  Napi::Value BindAlias(const Napi::CallbackInfo& info);
  Napi::Value DestroyAlias(const Napi::CallbackInfo& info);
  // Destroys every aliasing resource of an allocation (it is about to be freed).
  void DestroyAliasesOf(uint32_t allocationIndex);

  // pages.cpp
  Napi::Value AllocateMemoryPages(const Napi::CallbackInfo& info);
  Napi::Value FlushAllocations(const Napi::CallbackInfo& info);
  Napi::Value CopyMemoryToAllocation(const Napi::CallbackInfo& info);
  Napi::Value CopyAllocationToMemory(const Napi::CallbackInfo& info);

  // batch.cpp
  Napi::Value CreateBuffers(const Napi::CallbackInfo& info);
  Napi::Value DestroyBuffers(const Napi::CallbackInfo& info);
  Napi::Value FillBufferBatch(const Napi::CallbackInfo& info);
  const double* CheckedBatchHandles(const Napi::CallbackInfo& info, const char* op, bool notMoving, uint32_t* ai,
                                    double** batchOut, uint32_t* nOut);
  Napi::Value FreeResources(const Napi::CallbackInfo& info);
  Napi::Value SetNativeTiming(const Napi::CallbackInfo& info);
  Napi::Value TakeNativeTime(const Napi::CallbackInfo& info);
  Napi::Value BenchBufferPairs(const Napi::CallbackInfo& info);  // defined in the oracles build only

 private:
  Napi::Value FindMemoryTypeIndexFor(const Napi::CallbackInfo& info, bool image);
  Napi::Value AllocateMemoryFor(const Napi::CallbackInfo& info, bool image);
  Napi::Value BindMemory(const Napi::CallbackInfo& info, bool image);
  VkDeviceSize ReadMinAlignment(Napi::Env env);
  void FillAllocationOutputs(VmaAllocator allocator, VmaAllocation allocation, double handle);
  // Reads VmaAllocationCreateInfo from the scratch; a pool must be live and belong to allocatorIndex.
  bool ReadAllocationCreateInfo(Napi::Env env, VmaAllocationCreateInfo& out, const char* operation,
                                uint32_t allocatorIndex, uint32_t* poolIndexOut = nullptr);
  Napi::Value FinishAllocation(Napi::Env env, const char* operation, uint32_t allocatorIndex, VkResult result,
                               VmaAllocation allocation, Kind kind, uint64_t resource, bool ownsResource,
                               uint32_t poolIndex, napi_value name = nullptr, bool traced = false,
                               const VkImageCreateInfo* image = nullptr,
                               const VkBufferCreateInfo* buffer = nullptr);

 public:
  // Resource descriptions in the scratch (kIn0..), as createBuffer / createImage lay them out.
  void ReadBufferCreateInfo(Napi::Env env, VkBufferCreateInfo& out);
  void ReadImageCreateInfo(Napi::Env env, VkImageCreateInfo& out);
};

// VMA's assert recorder: a mark, and the messages recorded since it, taken out of the record.
// `wasAsserted` is what the asserted flag was at the mark; it is restored, so that an expected assert
// (VMA reports found corruption through VMA_ASSERT) does not turn the next call into an error.
struct VmaMessageMark {
  size_t count;
  bool wasAsserted;
};
VmaMessageMark MarkVmaMessages();
std::vector<std::string> TakeVmaMessagesSince(const VmaMessageMark& mark);

// vma_impl.cpp: the whole VkDeviceMemory block of an allocation, mapped through VMA's own block mapping
// (reference-counted with VMA's other maps of it). VK_ERROR_FEATURE_NOT_PRESENT for dedicated allocations.
VkResult MapAllocationBlock(VmaAllocator allocator, VmaAllocation allocation, char** base, VkDeviceSize* blockSize);
// Starts loading what VMA's free of a block allocation reads first after the allocation itself: its node in the
// block's metadata (the TLSF block, whose address is the allocation's handle there). Reads the allocation.
void PrefetchFreeOf(VmaAllocation allocation);
void UnmapAllocationBlock(VmaAllocator allocator, VmaAllocation allocation);

// The hot-call boundary. The hot calls bypass node-addon-api's CallbackInfo (which costs tens of nanoseconds
// a call): one napi_get_cb_info for the single Number argument, the Addon as the function's data, and C++
// exceptions turned into JS exceptions here. DefineHotFunction registers such a callback on `exports`.
using HotFn = napi_value (*)(Addon&, Napi::Env, napi_value);

template <HotFn Fn>
napi_value HotCall(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value args[2] = {nullptr, nullptr};
  void* data = nullptr;
  napi_get_cb_info(env, cbinfo, &argc, args, nullptr, &data);
  NativeCallTimer timer;
  BeginNativeCall();
  Addon& addon = *static_cast<Addon*>(data);
  addon.hotSecondArg = argc >= 2 ? args[1] : nullptr;
  try {
    napi_value result = Fn(addon, Napi::Env(env), argc >= 1 ? args[0] : nullptr);
    addon.hotSecondArg = nullptr;
    if (VmaAssertedThisCall()) addon.EndNativeCall(Napi::Env(env), "vkmem native call");
    return result;
  } catch (const Napi::Error& e) {
    addon.hotSecondArg = nullptr;
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

void DefineHotFunction(Napi::Env env, Napi::Object exports, Addon* addon, const char* name, napi_callback cb);

// The plain functions (virtual blocks, buddy pools) run inside GuardedFunction, as methods run inside Guarded.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value GuardedFunction(const Napi::CallbackInfo& info) {
  NativeCallTimer timer;
  BeginNativeCall();
  Napi::Value result = Fn(info);
  static_cast<Addon*>(info.Data())->EndNativeCall(info.Env(), "vkmem native call");
  return result;
}

// Checked conversions of scratch values: they come from JS and may hold anything a JS Number can.
inline bool IsUint(double v, double max) { return v >= 0 && v <= max && static_cast<double>(static_cast<uint64_t>(v)) == v; }
Napi::Error TypeErrorFor(Napi::Env env, const std::string& message);
Napi::Error RangeErrorFor(Napi::Env env, const std::string& message);
Napi::Object DetailedStats(Napi::Env env, const VmaDetailedStatistics& s);  // allocator.cpp
// The aspects of an image of `format`: depth and/or stencil for those formats, color otherwise (allocation.cpp).
VkImageAspectFlags AspectOf(VkFormat format);
uint64_t BigIntArg(const Napi::CallbackInfo& info, size_t i, const char* name);

}  // namespace vkmem
