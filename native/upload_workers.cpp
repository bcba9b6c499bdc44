// Upload workers: a bounded pool of native threads that copy one large upload into mapped staging memory together
// with the calling thread (engine/resources/transfers.ts uses them for uploads past a threshold).
//
//   createUploadWorkers(threads) -> id      threads - 1 worker threads are started (the caller is the last one)
//   uploadWorkersCopy(id, dst, dstOffset, src, srcOffset, size)
//                                           copies size bytes from the typed array src into the typed array dst
//   uploadWorkersStart(id, dst, dstOffset, src, srcOffset, size)
//                                           the same copy begun on the workers alone; returns at once
//   uploadWorkersFinish(id)                 the caller joins the copy begun last; returns when it is done
//   destroyUploadWorkers(id)                stops and joins the threads; an unknown or destroyed id does nothing
//
// The invariants, and why they hold:
// - A copy never outlives the JS code that asked for it. The range is split into chunks that the workers and the
//   caller take in turn from one atomic counter. uploadWorkersCopy returns only once every worker has reported that
//   it left the job; no worker holds a pointer between jobs. uploadWorkersStart hands the job to the workers and
//   returns, so that the JS thread can submit the piece copied before while they copy the next one; its one caller
//   (engine/resources/transfers.ts) calls uploadWorkersFinish before anything else can unmap the ring or before it
//   returns or throws, and runs nothing of the user's in between. Every other entry point finishes a job still
//   running first: a new copy or start, and destroying the pool (its workers leave only between jobs). So nothing
//   the pool touches is unmapped or freed while it copies, and destroying the pool, the frame manager or the
//   allocator in any order never meets a copy in flight.
// - Pointers and bounds are checked here again: dst and src must be typed arrays (a detached or unmapped view has
//   length 0 and fails the bounds check), and the ranges must lie inside them.
// - Ids are never reused (a counter), so a stale id names no pool. Each pool is also joined when its Node
//   environment is torn down (an env cleanup hook), so a pool nobody destroyed never leaves threads behind.
// - Threads come from the platform (native/threads.h: pthreads, or Win32 threads and condition variables), not from <thread> or
//   <mutex>: MinGW's posix-thread libstdc++ would make the Windows addon import libwinpthread-1.dll.
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#include <immintrin.h>
#define VKMEM_CPU_RELAX() _mm_pause()
#else
#define VKMEM_CPU_RELAX() ((void)0)
#endif

#include "id_table.h"
#include "threads.h"
#include "upload_workers.h"

#include "addon.h"

namespace vkmem {

namespace {

// Chunks smaller than this are not worth another thread's cache misses; a copy is cut into about four chunks per
// thread so that a thread that wakes late does not hold the others up.
constexpr size_t kMinChunk = 256 * 1024;

struct Pool {
  Lock lock;
  Cond work;  // a new job, or stop
  Cond done;  // a worker left the job
  std::vector<ThreadHandle> threads;
  // The job: valid while `busy` > 0 or the caller is inside Copy or Finish. Workers copy only between seeing a new
  // `generation` and decrementing `busy`. Both change under `lock` only; they are atomic so that a thread can also
  // spin on them for a moment before it sleeps (see Spin).
  std::atomic<uint64_t> generation{0};
  std::atomic<int> busy{0};
  bool stop = false;
  uint8_t* dst = nullptr;
  const uint8_t* src = nullptr;
  size_t size = 0;
  size_t chunk = 0;
  size_t chunks = 0;
  std::atomic<size_t> next{0};
  napi_env env = nullptr;

  // Busy-waits until `ready()` or for at most 200 microseconds: a sleeping thread takes tens of microseconds to
  // wake, as long as a few chunks take to copy. The caller then blocks on the lock and condition as before, so the
  // spin only saves time and never decides anything.
  template <typename Ready>
  static void Spin(Ready ready) {
    // The addon's clock (native/batch.cpp), not <chrono>, whose MinGW steady_clock may come from libwinpthread.
    constexpr int64_t kSpinNs = 200 * 1000;
    const int64_t until = MonotonicNs() + kSpinNs;
    for (int i = 0; !ready(); i++) {
      VKMEM_CPU_RELAX();
      if ((i & 63) == 63 && MonotonicNs() >= until) return;
    }
  }

  // Takes chunks until none is left.
  void Drain() {
    for (;;) {
      const size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= chunks) return;
      const size_t at = i * chunk;
      const size_t n = at + chunk <= size ? chunk : size - at;
      std::memcpy(dst + at, src + at, n);
    }
  }

  void Worker() {
    uint64_t seen = 0;
    for (;;) {
      // A large upload begins its pieces back to back: a worker that has just left one waits for the next awake.
      Spin([&] { return generation.load(std::memory_order_acquire) != seen; });
      lock.lock();
      while (!stop && generation.load(std::memory_order_relaxed) == seen) work.wait(lock);
      if (stop) break;
      seen = generation.load(std::memory_order_relaxed);
      lock.unlock();
      Drain();
      lock.lock();
      if (busy.fetch_sub(1, std::memory_order_acq_rel) == 1) done.broadcast();
      lock.unlock();
    }
    lock.unlock();
  }

  // Hands a copy to the workers and returns; false when it is too small to share (nothing was begun).
  bool Begin(uint8_t* d, const uint8_t* s, size_t n) {
    Finish();
    const size_t parties = threads.size() + 1;
    size_t c = n / (parties * 4);
    if (c < kMinChunk) c = kMinChunk;
    c = (c + 4095) & ~static_cast<size_t>(4095);
    if (threads.empty() || c >= n) return false;
    Held h(lock);
    dst = d;
    src = s;
    size = n;
    chunk = c;
    chunks = (n + c - 1) / c;
    next.store(0, std::memory_order_relaxed);
    busy.store(static_cast<int>(threads.size()), std::memory_order_relaxed);
    generation.fetch_add(1, std::memory_order_release);
    work.broadcast();
    return true;
  }

  // Joins the job begun last, if any; returns when every worker has left it.
  void Finish() {
    if (dst == nullptr) return;
    Drain();
    // The others hold at most a chunk each by now: wait for them awake rather than through a wake-up.
    Spin([&] { return busy.load(std::memory_order_acquire) == 0; });
    Held h(lock);
    while (busy.load(std::memory_order_relaxed) > 0) done.wait(lock);
    dst = nullptr;
    src = nullptr;
  }

  // Copies with every worker; returns when all of them have left the job.
  void Copy(uint8_t* d, const uint8_t* s, size_t n) {
    if (Begin(d, s, n)) Finish();
    else std::memcpy(d, s, n);
  }

  // Begins a copy on the workers alone (the caller joins in Finish); a copy too small to share is made now.
  void Start(uint8_t* d, const uint8_t* s, size_t n) {
    if (!Begin(d, s, n)) std::memcpy(d, s, n);
  }

  // Stops and joins every thread (idempotent).
  void Join() {
    Finish();
    {
      Held h(lock);
      stop = true;
      work.broadcast();
    }
    for (ThreadHandle t : threads) JoinThread(t);
    threads.clear();
  }
};

// Every live pool by id (native/id_table.h).
IdTable<Pool>& Pools() {
  static auto* t = new IdTable<Pool>();
  return *t;
}

Pool* Find(double id) { return Pools().Find(id); }

void DestroyPool(Pool* pool, bool removeHook);

void CleanupHook(void* arg) { DestroyPool(static_cast<Pool*>(arg), false); }

void DestroyPool(Pool* pool, bool removeHook) {
  Pools().Remove(pool);
  if (removeHook) napi_remove_env_cleanup_hook(pool->env, CleanupHook, pool);
  pool->Join();
  delete pool;
}

double NumberArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
}

// The bytes of typed array argument i (any element type): its data pointer and byte length.
uint8_t* BytesArg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t* length) {
  if (info.Length() <= i || !info[i].IsTypedArray()) throw TypeErrorFor(info.Env(), std::string(name) + " must be a typed array");
  napi_typedarray_type type;
  size_t count = 0;
  void* data = nullptr;
  napi_value ab;
  size_t byteOffset = 0;
  NAPI_THROW_IF_FAILED(info.Env(), napi_get_typedarray_info(info.Env(), info[i], &type, &count, &data, &ab, &byteOffset),
                       nullptr);
  size_t elem = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: elem = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
    default: elem = 1;
  }
  *length = count * elem;
  return static_cast<uint8_t*>(data);
}

Napi::Value CreateUploadWorkers(const Napi::CallbackInfo& info) {
  const double threads = NumberArg(info, 0);
  if (!IsUint(threads, 64) || threads < 1) throw RangeErrorFor(info.Env(), "createUploadWorkers: threads must be an integer in [1, 64]");
  auto* pool = new Pool();
  pool->env = info.Env();
  for (int i = 1; i < static_cast<int>(threads); i++) {
    ThreadHandle t;
    const bool ok = StartThread([](void* p) { static_cast<Pool*>(p)->Worker(); }, pool, &t);
    if (!ok) break;  // fewer threads than asked: the copy still works with what started
    pool->threads.push_back(t);
  }
  const double id = Pools().Add(pool);
  napi_add_env_cleanup_hook(info.Env(), CleanupHook, pool);
  return Napi::Number::New(info.Env(), id);
}

// The checked arguments of a copy: (id, dst, dstOffset, src, srcOffset, size) from argument 0.
struct CopyArgs {
  Pool* pool;
  uint8_t* dst;
  const uint8_t* src;
  size_t size;
};

CopyArgs ParseCopy(const Napi::CallbackInfo& info, const char* op) {
  Napi::Env env = info.Env();
  Pool* pool = Find(NumberArg(info, 0));
  if (pool == nullptr) throw Napi::Error::New(env, std::string("vkmem native: ") + op + ": the upload workers were destroyed");
  size_t dstLength = 0;
  size_t srcLength = 0;
  uint8_t* dst = BytesArg(info, 1, "dst", &dstLength);
  const double dstOffset = NumberArg(info, 2);
  const uint8_t* src = BytesArg(info, 3, "src", &srcLength);
  const double srcOffset = NumberArg(info, 4);
  const double size = NumberArg(info, 5);
  constexpr double kMaxSafe = 9007199254740991.0;
  if (!IsUint(dstOffset, kMaxSafe) || !IsUint(srcOffset, kMaxSafe) || !IsUint(size, kMaxSafe))
    throw RangeErrorFor(env, std::string(op) + ": offsets and size must be non-negative integers");
  if (dstOffset + size > static_cast<double>(dstLength) || srcOffset + size > static_cast<double>(srcLength))
    throw RangeErrorFor(env, std::string(op) + ": a range ends beyond its array");
  return {pool, dst + static_cast<size_t>(dstOffset), src + static_cast<size_t>(srcOffset), static_cast<size_t>(size)};
}

Napi::Value UploadWorkersCopy(const Napi::CallbackInfo& info) {
  const CopyArgs a = ParseCopy(info, "uploadWorkersCopy");
  if (a.size > 0) a.pool->Copy(a.dst, a.src, a.size);
  return info.Env().Undefined();
}

Napi::Value UploadWorkersStart(const Napi::CallbackInfo& info) {
  const CopyArgs a = ParseCopy(info, "uploadWorkersStart");
  if (a.size > 0) a.pool->Start(a.dst, a.src, a.size);
  return info.Env().Undefined();
}

Napi::Value UploadWorkersFinish(const Napi::CallbackInfo& info) {
  Pool* pool = Find(NumberArg(info, 0));
  if (pool != nullptr) pool->Finish();
  return info.Env().Undefined();
}

Napi::Value DestroyUploadWorkers(const Napi::CallbackInfo& info) {
  Pool* pool = Find(NumberArg(info, 0));
  if (pool != nullptr) DestroyPool(pool, true);
  return info.Env().Undefined();
}

Napi::Value UploadWorkerThreads(const Napi::CallbackInfo& info) {
  Pool* pool = Find(NumberArg(info, 0));
  return Napi::Number::New(info.Env(), pool == nullptr ? 0 : static_cast<double>(pool->threads.size() + 1));
}

}  // namespace

void RegisterUploadWorkers(Napi::Env env, Napi::Object exports, Addon* addon) {
  exports.Set("createUploadWorkers", Napi::Function::New(env, GuardedFunction<CreateUploadWorkers>, "createUploadWorkers", addon));
  exports.Set("uploadWorkersCopy", Napi::Function::New(env, GuardedFunction<UploadWorkersCopy>, "uploadWorkersCopy", addon));
  exports.Set("uploadWorkersStart", Napi::Function::New(env, GuardedFunction<UploadWorkersStart>, "uploadWorkersStart", addon));
  exports.Set("uploadWorkersFinish", Napi::Function::New(env, GuardedFunction<UploadWorkersFinish>, "uploadWorkersFinish", addon));
  exports.Set("destroyUploadWorkers", Napi::Function::New(env, GuardedFunction<DestroyUploadWorkers>, "destroyUploadWorkers", addon));
  exports.Set("uploadWorkerThreads", Napi::Function::New(env, GuardedFunction<UploadWorkerThreads>, "uploadWorkerThreads", addon));
}

}  // namespace vkmem
