// CacheDirLock: exclusive ownership of a cache directory by one mount, through
// flock(2) on <cache-dir>/lock. The lock is released when the process exits,
// even by kill -9, so a crashed mount never blocks the next one.
#pragma once

#include <string>

#include "base/status.h"

namespace stagefs::app {

class CacheDirLock {
 public:
  CacheDirLock() = default;
  ~CacheDirLock();
  CacheDirLock(const CacheDirLock&) = delete;
  CacheDirLock& operator=(const CacheDirLock&) = delete;

  // Creates `dir` if needed (mode 0700), checks it is writable, and locks it.
  // Fails with a clear message when another process holds it.
  Status Acquire(const std::string& dir);
  // Records the pid of the process now holding the lock (after daemonizing).
  void WritePid();

 private:
  int fd_ = -1;
};

}  // namespace stagefs::app
