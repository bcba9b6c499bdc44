// Native objects that JS names by a number (upload worker pools, trace files): the ids come from a counter and are
// never reused, so a stale id names nothing. JS calls come from one thread per environment, but environments
// (worker_threads) may run at once, so the table has a lock of its own; no object's work is done under it.
#pragma once

#include <unordered_map>

#include "threads.h"

namespace vkmem {

template <typename T>
class IdTable {
 public:
  // Names `object`; returns its id.
  double Add(T* object) {
    Held h(lock_);
    const double id = next_++;
    objects_[id] = object;
    return id;
  }

  // The object named `id`, or nullptr.
  T* Find(double id) {
    Held h(lock_);
    auto it = objects_.find(id);
    return it == objects_.end() ? nullptr : it->second;
  }

  // Forgets `object` (an environment's cleanup hook, which has the object rather than its id); nothing when unknown.
  void Remove(T* object) {
    Held h(lock_);
    for (auto it = objects_.begin(); it != objects_.end(); ++it) {
      if (it->second == object) {
        objects_.erase(it);
        return;
      }
    }
  }

 private:
  Lock lock_;
  std::unordered_map<double, T*> objects_;
  double next_ = 1;
};

}  // namespace vkmem
