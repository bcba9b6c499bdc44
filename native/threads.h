// Threads, locks and condition variables from the platform (pthreads, or Win32), for the addon's few background
// threads (native/upload_workers.cpp, native/deferred_free.cpp). Not <thread> or <mutex>: MinGW's posix-thread
// libstdc++ would make the Windows addon import libwinpthread-1.dll (scripts/build-win.mjs checks its imports).
#pragma once

#ifdef _WIN32
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <pthread.h>
#endif

namespace vkmem {

#ifdef _WIN32
struct Lock {
  CRITICAL_SECTION cs;
  Lock() { InitializeCriticalSection(&cs); }
  ~Lock() { DeleteCriticalSection(&cs); }
  void lock() { EnterCriticalSection(&cs); }
  void unlock() { LeaveCriticalSection(&cs); }
};
struct Cond {
  CONDITION_VARIABLE cv;
  Cond() { InitializeConditionVariable(&cv); }
  void wait(Lock& l) { SleepConditionVariableCS(&cv, &l.cs, INFINITE); }
  void broadcast() { WakeAllConditionVariable(&cv); }
};
using ThreadHandle = HANDLE;
#else
struct Lock {
  pthread_mutex_t m;
  Lock() { pthread_mutex_init(&m, nullptr); }
  ~Lock() { pthread_mutex_destroy(&m); }
  void lock() { pthread_mutex_lock(&m); }
  void unlock() { pthread_mutex_unlock(&m); }
};
struct Cond {
  pthread_cond_t cv;
  Cond() { pthread_cond_init(&cv, nullptr); }
  ~Cond() { pthread_cond_destroy(&cv); }
  void wait(Lock& l) { pthread_cond_wait(&cv, &l.m); }
  void broadcast() { pthread_cond_broadcast(&cv); }
};
using ThreadHandle = pthread_t;
#endif

// Holds a Lock for a scope.
struct Held {
  Lock& l;
  explicit Held(Lock& lock) : l(lock) { l.lock(); }
  ~Held() { l.unlock(); }
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;
};

// Starts `main(arg)` on a new thread; false when the platform refused one.
inline bool StartThread(void (*main)(void*), void* arg, ThreadHandle* out) {
  struct Start {
    void (*main)(void*);
    void* arg;
  };
  Start* s = new Start{main, arg};
#ifdef _WIN32
  HANDLE t = CreateThread(
      nullptr, 0,
      [](LPVOID p) -> DWORD {
        Start* s = static_cast<Start*>(p);
        s->main(s->arg);
        delete s;
        return 0;
      },
      s, 0, nullptr);
  if (t == nullptr) {
    delete s;
    return false;
  }
  *out = t;
  return true;
#else
  pthread_t t;
  if (pthread_create(
          &t, nullptr,
          [](void* p) -> void* {
            Start* s = static_cast<Start*>(p);
            s->main(s->arg);
            delete s;
            return nullptr;
          },
          s) != 0) {
    delete s;
    return false;
  }
  *out = t;
  return true;
#endif
}

// Waits for a thread StartThread started to return, and releases it.
inline void JoinThread(ThreadHandle t) {
#ifdef _WIN32
  WaitForSingleObject(t, INFINITE);
  CloseHandle(t);
#else
  pthread_join(t, nullptr);
#endif
}

}  // namespace vkmem
