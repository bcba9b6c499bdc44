// Device-memory frees (and the destroys of the buffers and images bound there) off the JS thread.
//
// VMA frees a VkDeviceMemory block when its last allocation goes. vkFreeMemory of memory the device has used is not
// cheap: measured here, lavapipe gives the pages back to the kernel (about 0.7 ms for a touched 8 MiB block), and a
// GPU driver unmaps and returns the range. A defragmentation pass empties blocks by design, so its end
// (vmaEndDefragmentationPass) would pay that inside a frame, or inside defragment()'s copy time.
//
// VMA calls Vulkan through the function table it is given (native/allocator.cpp): its vkFreeMemory is
// FreeDeviceMemory below. Inside a DeferFrees scope (the end of a defragmentation pass, a FrameManager's run of
// deferred frees: native/batch.cpp's freeResources) the free is queued for one background thread and VMA goes on;
// anywhere else it happens at once, as before. The pass's old buffers and images, its transfer buffers and the
// retired resources are destroyed the same way (DestroyBufferOrImage), queued before the memory they were bound to,
// in one queue that the thread runs in order.
//
// Why this is safe:
// - VMA calls vkFreeMemory only for a block it has forgotten: nothing of VMA's, and nothing of vkmem's, refers to that
//   memory any more (vkmem destroyed the buffers and images bound there and detached every JS view first; the GPU
//   finished its copies before the pass ended). Only the memory object itself is touched by the freer thread, and
//   Vulkan requires external synchronization of that object only, not of the device.
// - Every queued free of a device is done before that device can be destroyed: destroying an allocator
//   (native/allocator.cpp) waits for the queue, and an allocator is destroyed before its device (engine/lifetime).
// - A deferred free never makes an allocation fail that would have succeeded: AllocateDeviceMemory waits for the
//   queue and tries again when the device answers out of memory while frees are queued.
// - The thread starts with the first queued free and is stopped and joined when the last device is unregistered.
//   Threads, locks and condition variables come from native/threads.h.
#include "deferred_free.h"

#include <napi.h>

#include <atomic>
#include <vector>

#include "threads.h"

namespace vkmem {

namespace {

struct DeviceFunctions {
  VkDevice device;
  PFN_vkFreeMemory freeMemory;
  PFN_vkAllocateMemory allocateMemory;
  int allocators;
};

// One object to free or destroy: device memory, a buffer, an image or an image view, with the function of its kind.
struct Queued {
  enum class Kind : uint8_t { Memory, Buffer, Image, ImageView };
  Kind kind;
  union {
    PFN_vkFreeMemory freeMemory;
    PFN_vkDestroyBuffer destroyBuffer;
    PFN_vkDestroyImage destroyImage;
    PFN_vkDestroyImageView destroyImageView;
  };
  VkDevice device;
  uint64_t handle;
  const VkAllocationCallbacks* callbacks;

  static Queued Memory(PFN_vkFreeMemory fn, VkDevice device, uint64_t handle, const VkAllocationCallbacks* callbacks) {
    Queued q{Kind::Memory, {}, device, handle, callbacks};
    q.freeMemory = fn;
    return q;
  }
  static Queued BufferOrImage(bool image, PFN_vkDestroyBuffer buffer, PFN_vkDestroyImage img, VkDevice device,
                              uint64_t handle) {
    Queued q{image ? Kind::Image : Kind::Buffer, {}, device, handle, nullptr};
    if (image) q.destroyImage = img;
    else q.destroyBuffer = buffer;
    return q;
  }
  static Queued ImageView(PFN_vkDestroyImageView fn, VkDevice device, uint64_t handle) {
    Queued q{Kind::ImageView, {}, device, handle, nullptr};
    q.destroyImageView = fn;
    return q;
  }

  void Run() const {
    switch (kind) {
      case Kind::Memory: freeMemory(device, reinterpret_cast<VkDeviceMemory>(handle), callbacks); break;
      case Kind::Buffer: destroyBuffer(device, reinterpret_cast<VkBuffer>(handle), callbacks); break;
      case Kind::Image: destroyImage(device, reinterpret_cast<VkImage>(handle), callbacks); break;
      case Kind::ImageView: destroyImageView(device, reinterpret_cast<VkImageView>(handle), callbacks); break;
    }
  }
};

struct Freer {
  Lock lock;
  Cond work;  // something queued, or stop
  Cond idle;  // a batch was freed
  std::vector<DeviceFunctions> devices;
  std::vector<Queued> queue;
  size_t inFlight = 0;  // taken from the queue by the thread, not freed yet
  bool running = false;
  bool stop = false;
  // Held back (the oracles build's fault injection, below): the queue stays pending until somebody waits for it.
  bool held = false;
  ThreadHandle thread{};
  std::atomic<unsigned long long> pending{0};
  std::atomic<unsigned long long> done{0};

  void Run() {
    std::vector<Queued> batch;
    lock.lock();
    for (;;) {
      while (!stop && (queue.empty() || held)) work.wait(lock);
      if (queue.empty()) break;  // stop, and nothing left
      batch.swap(queue);
      inFlight = batch.size();
      lock.unlock();
      for (const Queued& q : batch) q.Run();
      lock.lock();
      pending.fetch_sub(batch.size(), std::memory_order_relaxed);
      done.fetch_add(batch.size(), std::memory_order_relaxed);
      batch.clear();
      inFlight = 0;
      idle.broadcast();
    }
    lock.unlock();
  }

  // Under the lock.
  const DeviceFunctions* Find(VkDevice device) const {
    for (const DeviceFunctions& d : devices) {
      if (d.device == device) return &d;
    }
    return nullptr;
  }

  // Under the lock: returns once the queue is empty and nothing is in flight.
  void WaitIdle() {
    held = false;
    if (!queue.empty()) work.broadcast();  // queued by a scope still open (its end wakes the thread otherwise)
    while (!queue.empty() || inFlight > 0) idle.wait(lock);
  }

  // Under the lock: queues `q` when this thread is inside a DeferFrees scope and the thread runs (started now if
  // need be); false when the caller must do it itself.
  bool Queue(const Queued& q);
};

// Never destroyed: FreeDeviceMemory may run during static destruction at exit.
Freer& TheFreer() {
  static Freer* f = new Freer();
  return *f;
}

// DeferFrees scopes open on this thread, and the threads with one open: while none has, as on every call outside a
// run of frees, QueueOrRun does not look at the thread_local (in a shared library each access is a __tls_get_addr
// call; it is reached once per buffer or image destroyed). A thread counts itself when it opens its first scope, so
// it never reads 0 while one of its own is open.
thread_local int deferDepth = 0;
std::atomic<uint32_t> deferringThreads{0};

#ifdef VKMEM_ORACLES
// Fault injection for the tests (the oracles build only): allocations of device memory to refuse as a full device
// would, and the retries AllocateDeviceMemory made after waiting for the queue.
std::atomic<int> refusalsLeft{0};
std::atomic<unsigned long long> retries{0};
#endif

}  // namespace

void RegisterDevice(VkDevice device, PFN_vkGetDeviceProcAddr getDeviceProcAddr) {
  Freer& f = TheFreer();
  Held h(f.lock);
  for (DeviceFunctions& d : f.devices) {
    if (d.device == device) {
      d.allocators++;
      return;
    }
  }
  f.devices.push_back({device, reinterpret_cast<PFN_vkFreeMemory>(getDeviceProcAddr(device, "vkFreeMemory")),
                       reinterpret_cast<PFN_vkAllocateMemory>(getDeviceProcAddr(device, "vkAllocateMemory")), 1});
}

void UnregisterDevice(VkDevice device) {
  Freer& f = TheFreer();
  bool join = false;
  ThreadHandle thread{};
  {
    Held h(f.lock);
    f.WaitIdle();
    for (size_t i = 0; i < f.devices.size(); ++i) {
      if (f.devices[i].device == device && --f.devices[i].allocators == 0) {
        f.devices.erase(f.devices.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
    if (f.devices.empty() && f.running) {
      f.stop = true;
      f.work.broadcast();
      join = true;
      thread = f.thread;
    }
  }
  if (join) {
    JoinThread(thread);
    Held h(f.lock);
    f.running = false;
    f.stop = false;
  }
}

bool Freer::Queue(const Queued& q) {
  if (deferDepth == 0 || stop) return false;
  if (!running) running = StartThread([](void* p) { static_cast<Freer*>(p)->Run(); }, this, &thread);
  if (!running) return false;
  queue.push_back(q);
  pending.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void VKAPI_PTR FreeDeviceMemory(VkDevice device, VkDeviceMemory memory, const VkAllocationCallbacks* callbacks) {
  Freer& f = TheFreer();
  PFN_vkFreeMemory fn = nullptr;
  {
    Held h(f.lock);
    const DeviceFunctions* d = f.Find(device);
    if (d != nullptr) fn = d->freeMemory;
    if (fn != nullptr && f.Queue(Queued::Memory(fn, device, reinterpret_cast<uint64_t>(memory), callbacks))) return;
  }
  if (fn != nullptr) fn(device, memory, callbacks);
}

namespace {

// Queued for the background thread inside a DeferFrees scope on this thread (and while the thread runs), run here
// otherwise.
void QueueOrRun(const Queued& q) {
  if (deferringThreads.load(std::memory_order_relaxed) != 0 && deferDepth > 0) {
    Freer& f = TheFreer();
    Held h(f.lock);
    if (f.Queue(q)) return;
  }
  q.Run();
}

}  // namespace

void DestroyBufferOrImage(VkDevice device, uint64_t raw, bool image, PFN_vkDestroyBuffer destroyBuffer,
                          PFN_vkDestroyImage destroyImage) {
  if (raw != 0) QueueOrRun(Queued::BufferOrImage(image, destroyBuffer, destroyImage, device, raw));
}

void DestroyImageView(VkDevice device, uint64_t raw, PFN_vkDestroyImageView destroyImageView) {
  if (raw != 0) QueueOrRun(Queued::ImageView(destroyImageView, device, raw));
}

VkResult VKAPI_PTR AllocateDeviceMemory(VkDevice device, const VkMemoryAllocateInfo* info,
                                        const VkAllocationCallbacks* callbacks, VkDeviceMemory* memory) {
  Freer& f = TheFreer();
  PFN_vkAllocateMemory fn = nullptr;
  {
    Held h(f.lock);
    const DeviceFunctions* d = f.Find(device);
    if (d != nullptr) fn = d->allocateMemory;
  }
  if (fn == nullptr) return VK_ERROR_INITIALIZATION_FAILED;
#ifdef VKMEM_ORACLES
  const bool refused = refusalsLeft.load() > 0 && refusalsLeft.fetch_sub(1) > 0;
  VkResult r = refused ? VK_ERROR_OUT_OF_DEVICE_MEMORY : fn(device, info, callbacks, memory);
#else
  VkResult r = fn(device, info, callbacks, memory);
#endif
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY && f.pending.load(std::memory_order_relaxed) > 0) {
    WaitForDeferredFrees();
#ifdef VKMEM_ORACLES
    retries.fetch_add(1);
#endif
    r = fn(device, info, callbacks, memory);
  }
  return r;
}

void WaitForDeferredFrees() {
  Freer& f = TheFreer();
  if (f.pending.load(std::memory_order_relaxed) == 0) return;
  Held h(f.lock);
  f.WaitIdle();
}

unsigned long long PendingDeferredFrees() { return TheFreer().pending.load(std::memory_order_relaxed); }
unsigned long long DeferredFreesDone() { return TheFreer().done.load(std::memory_order_relaxed); }

namespace {
// deferredFrees() -> [queued, done]: the background thread's counts (frees and destroys), for tests and diagnostics.
Napi::Value DeferredFreesValue(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(PendingDeferredFrees())));
  out.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(DeferredFreesDone())));
  return out;
}

#ifdef VKMEM_ORACLES
// deferredFreeFaults(hold, refusals) -> retries (the oracles build only, for the tests): `hold` keeps the background
// freer from taking its queue until somebody waits for it (WaitIdle lets it go); the next `refusals` allocations of
// device memory are refused with VK_ERROR_OUT_OF_DEVICE_MEMORY before the driver is asked (a retry after the wait
// asks it). Returns how many allocations were retried after waiting for the queue, since the process started.
Napi::Value DeferredFreeFaults(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBoolean() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "deferredFreeFaults(hold: boolean, refusals: number)");
  }
  const double refusals = info[1].As<Napi::Number>().DoubleValue();
  if (!(refusals >= 0 && refusals <= 1000)) throw Napi::RangeError::New(env, "deferredFreeFaults: refusals in [0, 1000]");
  Freer& f = TheFreer();
  {
    Held h(f.lock);
    f.held = info[0].As<Napi::Boolean>().Value();
    if (!f.held) f.work.broadcast();
  }
  refusalsLeft.store(static_cast<int>(refusals));
  return Napi::Number::New(env, static_cast<double>(retries.load()));
}
#endif
}  // namespace

void RegisterDeferredFrees(Napi::Env env, Napi::Object exports) {
  exports.Set("deferredFrees", Napi::Function::New(env, DeferredFreesValue, "deferredFrees"));
#ifdef VKMEM_ORACLES
  exports.Set("deferredFreeFaults", Napi::Function::New(env, DeferredFreeFaults, "deferredFreeFaults"));
#endif
}

DeferFrees::DeferFrees() {
  if (deferDepth++ == 0) deferringThreads.fetch_add(1, std::memory_order_relaxed);
}

// The thread is woken once, when the outermost scope ends: woken per item, it started freeing while the pass was
// still queueing the rest, its vkFreeMemory calls beside the pass's own calls into the driver. (With this and
// rawHandle's fast path, a defragment() of 64 MiB on the H200 went from 2.1-2.5 ms to 1.7-2.3 ms.)
DeferFrees::~DeferFrees() {
  if (--deferDepth > 0) return;
  deferringThreads.fetch_sub(1, std::memory_order_relaxed);
  Freer& f = TheFreer();
  if (f.pending.load(std::memory_order_relaxed) == 0) return;
  Held h(f.lock);
  if (!f.queue.empty()) f.work.broadcast();
}

}  // namespace vkmem
