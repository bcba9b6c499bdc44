// Trace files written by a background thread: a recording writer (engine/trace/writer.ts) hands its full buffer
// here and goes on recording while one thread per file writes the bytes to the file.
//
//   traceFileOpen(path) -> id          creates (or truncates) the file and starts its thread; throws naming the path
//   traceFileWrite(id, bytes, length)  copies bytes[0, length) (a Uint8Array) into the file's queue; returns at once,
//                                      or first waits while more than kMaxQueued bytes are queued
//   traceFileSync(id)                  returns once everything queued is written to the file (handed to the kernel)
//   traceFileClose(id)                 syncs, closes the file and joins the thread; an unknown or closed id does nothing
//
// Why: writing a 256 KiB buffer to the file from the JS thread took 90 µs to over a millisecond on these machines
// (the page cache, writeback), and a recording allocator fills one every ten thousand createBuffer + destroyBuffer
// pairs; a copy into memory this thread reuses costs a few tens of microseconds.
//
// The invariants, and why they hold:
// - The file holds the bytes in the order they were handed over. One thread writes each file, taking chunks from a
//   FIFO queue in order; a write that the kernel takes in part is continued from where it stopped.
// - Nothing written is lost silently. The thread's first error (errno, or GetLastError on Windows) is kept, every
//   later chunk is dropped, and the next write, sync or close on the JS thread throws it, naming the file.
// - "Written" means what the writer needs it to mean: sync returns only when the queue is empty and no chunk is in
//   the thread's hands, so that a writer that syncs at each frame's end loses at most the frame in progress when the
//   process dies.
// - No copy outlives its arguments: the bytes are copied before the call returns; the thread reads only its own
//   chunks.
// - Memory is bounded: a write waits while more than kMaxQueued bytes are queued, and at most kSpareChunks chunk
//   buffers are kept for reuse (so a steady stream of writes allocates nothing).
// - Ids are never reused (a counter), so a stale id names no file, and a file answers only to the environment that
//   opened it; a file nobody closed is synced, closed and its thread joined when that environment is torn down (an
//   env cleanup hook).
// - Threads, locks and condition variables come from native/threads.h (pthreads, or Win32), not <thread>.
#include "trace_file.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

#include "addon.h"
#include "id_table.h"
#include "threads.h"  // windows.h on Windows

namespace vkmem {

namespace {

// Bytes queued and not yet written above which a write waits for the thread (back-pressure: a disk slower than the
// recording holds the recording back instead of growing memory without bound).
constexpr size_t kMaxQueued = 16 * 1024 * 1024;
constexpr size_t kSpareChunks = 4;

#ifdef _WIN32
using FileHandle = HANDLE;
const FileHandle kNoFile = INVALID_HANDLE_VALUE;
#else
using FileHandle = int;
constexpr FileHandle kNoFile = -1;
#endif

// An OS error: its code and, on the JS thread, its text.
std::string DescribeOsError(long code) {
#ifdef _WIN32
  char text[512] = {};
  const DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr,
                                 static_cast<DWORD>(code), 0, text, sizeof text, nullptr);
  std::string s(text, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '.')) s.pop_back();
  return s + " (Windows error " + std::to_string(code) + ")";
#else
  return std::string(std::strerror(static_cast<int>(code))) + " (errno " + std::to_string(code) + ")";
#endif
}

// Writes all of [data, data + n) at the file's position; 0, or the OS error code.
long WriteAll(FileHandle file, const uint8_t* data, size_t n) {
  while (n > 0) {
#ifdef _WIN32
    const DWORD ask = n > 0x40000000 ? 0x40000000 : static_cast<DWORD>(n);
    DWORD wrote = 0;
    if (!WriteFile(file, data, ask, &wrote, nullptr)) return static_cast<long>(GetLastError());
    if (wrote == 0) return static_cast<long>(ERROR_WRITE_FAULT);
#else
    const ssize_t wrote = ::write(file, data, n);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (wrote == 0) return EIO;
#endif
    data += wrote;
    n -= static_cast<size_t>(wrote);
  }
  return 0;
}

// Closes `file`; 0, or the OS error code.
long CloseFile(FileHandle file) {
#ifdef _WIN32
  return CloseHandle(file) ? 0 : static_cast<long>(GetLastError());
#else
  return ::close(file) == 0 ? 0 : errno;
#endif
}

struct TraceFile {
  std::string path;
  FileHandle file = kNoFile;
  napi_env env = nullptr;
  Lock lock;
  Cond work;  // a chunk queued, or stop
  Cond idle;  // a chunk written (room in the queue, or the queue empty)
  std::deque<std::vector<uint8_t>> queue;
  std::vector<std::vector<uint8_t>> spare;
  size_t queued = 0;     // bytes in `queue` and in the thread's hands
  bool writing = false;  // the thread holds a chunk
  bool stop = false;
  // The oracles build's fault injection (traceFileHold): the thread leaves the queue alone until somebody waits for
  // it (a sync, the close, the exit of the environment), so a test can tell "handed over" from "written".
  bool held = false;
  int draining = 0;  // Drain calls waiting
  long error = 0;  // the thread's first OS error; later chunks are dropped
  ThreadHandle thread{};

  void Run() {
    lock.lock();
    for (;;) {
      while (!stop && (queue.empty() || (held && draining == 0))) work.wait(lock);
      if (queue.empty()) break;  // stop, and nothing left to write
      std::vector<uint8_t> chunk = std::move(queue.front());
      queue.pop_front();
      writing = true;
      const bool drop = error != 0;
      lock.unlock();
      const long e = drop ? 0 : WriteAll(file, chunk.data(), chunk.size());
      lock.lock();
      if (e != 0 && error == 0) error = e;
      writing = false;
      queued -= chunk.size();
      if (spare.size() < kSpareChunks) {
        chunk.clear();
        spare.push_back(std::move(chunk));
      }
      idle.broadcast();
    }
    lock.unlock();
  }

  // Copies [data, data + n) to the end of the queue (waiting while it is full). The lock is held by the caller.
  void Push(const uint8_t* data, size_t n) {
    while (queued > 0 && queued + n > kMaxQueued && error == 0) idle.wait(lock);
    std::vector<uint8_t> chunk;
    if (!spare.empty()) {
      chunk = std::move(spare.back());
      spare.pop_back();
    }
    chunk.assign(data, data + n);
    queue.push_back(std::move(chunk));
    queued += n;
    work.broadcast();
  }

  // Waits until every queued chunk is written. The lock is held by the caller.
  void Drain() {
    draining++;
    work.broadcast();
    while (!queue.empty() || writing) idle.wait(lock);
    draining--;
  }

  // Drains, stops and joins the thread, closes the file; the thread's error, or the close's (0: none).
  long Close() {
    {
      Held h(lock);
      Drain();
      stop = true;
      work.broadcast();
    }
    JoinThread(thread);
    const long closed = CloseFile(file);
    file = kNoFile;
    return error != 0 ? error : closed;
  }
};

// Every open file by id (native/id_table.h).
IdTable<TraceFile>& Files() {
  static auto* t = new IdTable<TraceFile>();
  return *t;
}

// The file with `id` opened in `env`, or nullptr: ids are process-wide, but a file belongs to the environment that
// opened it (a worker naming the main thread's file, which that thread may close meanwhile, finds nothing). Only
// that environment's thread removes it, so the file found stays in the table while the caller uses it.
TraceFile* Find(napi_env env, double id) {
  TraceFile* f = Files().Find(id);
  return f != nullptr && f->env == env ? f : nullptr;
}

void CleanupHook(void* arg) {
  TraceFile* f = static_cast<TraceFile*>(arg);
  Files().Remove(f);
  f->Close();  // nobody is left to hear an error
  delete f;
}

Napi::Error FileError(Napi::Env env, const TraceFile& f, const char* what, long code) {
  return Napi::Error::New(env, "vkmem trace '" + f.path + "': " + what + ": " + DescribeOsError(code));
}

double IdArg(const Napi::CallbackInfo& info) {
  return info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
}

TraceFile& Open(const Napi::CallbackInfo& info, const char* op) {
  TraceFile* f = Find(info.Env(), IdArg(info));
  if (f == nullptr) throw Napi::Error::New(info.Env(), std::string("vkmem native: ") + op + ": the trace file is closed");
  return *f;
}

Napi::Value TraceFileOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw TypeErrorFor(env, "traceFileOpen: path must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.empty() || path.find('\0') != std::string::npos)
    throw TypeErrorFor(env, "traceFileOpen: path must be a non-empty string without NUL characters");
  auto* f = new TraceFile();
  f->path = path;
  f->env = env;
#ifdef _WIN32
  const int wide = MultiByteToWideChar(CP_UTF8, 0, path.c_str(), -1, nullptr, 0);
  std::wstring w(wide > 0 ? static_cast<size_t>(wide) : 1, L'\0');
  if (wide > 0) MultiByteToWideChar(CP_UTF8, 0, path.c_str(), -1, &w[0], wide);
  f->file = CreateFileW(w.c_str(), GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                        CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  const long openError = f->file == INVALID_HANDLE_VALUE ? static_cast<long>(GetLastError()) : 0;
#else
  f->file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  const long openError = f->file < 0 ? errno : 0;
#endif
  if (openError != 0) {
    Napi::Error e = FileError(env, *f, "cannot create the file", openError);
    delete f;
    throw e;
  }
  if (!StartThread([](void* p) { static_cast<TraceFile*>(p)->Run(); }, f, &f->thread)) {
    CloseFile(f->file);
    Napi::Error e = Napi::Error::New(env, "vkmem trace '" + path + "': the platform refused a writer thread");
    delete f;
    throw e;
  }
  const double id = Files().Add(f);
  napi_add_env_cleanup_hook(env, CleanupHook, f);
  return Napi::Number::New(env, id);
}

Napi::Value TraceFileWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TraceFile& f = Open(info, "traceFileWrite");
  if (info.Length() < 3 || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || !info[2].IsNumber())
    throw TypeErrorFor(env, "traceFileWrite: (id, bytes: Uint8Array, length: number)");
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  const double length = info[2].As<Napi::Number>().DoubleValue();
  if (!IsUint(length, static_cast<double>(bytes.ElementLength())))
    throw RangeErrorFor(env, "traceFileWrite: length must be an integer in [0, bytes.length], got " +
                                 Napi::Number::New(env, length).ToString().Utf8Value());
  const size_t n = static_cast<size_t>(length);
  Held h(f.lock);
  if (f.error != 0) throw FileError(env, f, "writing failed", f.error);
  if (n > 0) f.Push(bytes.Data(), n);
  return env.Undefined();
}

Napi::Value TraceFileSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TraceFile& f = Open(info, "traceFileSync");
  Held h(f.lock);
  f.Drain();
  if (f.error != 0) throw FileError(env, f, "writing failed", f.error);
  return env.Undefined();
}

Napi::Value TraceFileClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TraceFile* f = Find(info.Env(), IdArg(info));
  if (f == nullptr) return env.Undefined();
  Files().Remove(f);  // its closer owns it from here
  napi_remove_env_cleanup_hook(f->env, CleanupHook, f);
  const long e = f->Close();
  if (e != 0) {
    Napi::Error error = FileError(env, *f, "writing failed", e);
    delete f;
    throw error;
  }
  delete f;
  return env.Undefined();
}

#ifdef VKMEM_ORACLES
// traceFileHold(id, hold): while held, the file's thread writes nothing until something waits for it (tests only).
Napi::Value TraceFileHold(const Napi::CallbackInfo& info) {
  TraceFile& f = Open(info, "traceFileHold");
  Held h(f.lock);
  f.held = info.Length() > 1 && info[1].ToBoolean().Value();
  f.work.broadcast();
  return info.Env().Undefined();
}
#endif

}  // namespace

void RegisterTraceFiles(Napi::Env env, Napi::Object exports, Addon* addon) {
  exports.Set("traceFileOpen", Napi::Function::New(env, GuardedFunction<TraceFileOpen>, "traceFileOpen", addon));
  exports.Set("traceFileWrite", Napi::Function::New(env, GuardedFunction<TraceFileWrite>, "traceFileWrite", addon));
  exports.Set("traceFileSync", Napi::Function::New(env, GuardedFunction<TraceFileSync>, "traceFileSync", addon));
  exports.Set("traceFileClose", Napi::Function::New(env, GuardedFunction<TraceFileClose>, "traceFileClose", addon));
#ifdef VKMEM_ORACLES
  exports.Set("traceFileHold", Napi::Function::New(env, GuardedFunction<TraceFileHold>, "traceFileHold", addon));
#endif
}

}  // namespace vkmem
