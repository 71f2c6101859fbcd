// Handle: the state of one open file (internal to the core).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/file_system.h"
#include "prefetch/prefetcher.h"

namespace stagefs::core {

struct FileSystem::Handle {
  uint64_t ino = 0;
  int flags = 0;
  std::mutex mu;  // serialises reads on this handle (the prefetcher is not thread-safe)
  // Sequential-access detection.
  uint64_t seq_next = 0;
  uint64_t seq_run = 0;
  std::unique_ptr<prefetch::Prefetcher> prefetcher;
  std::string prefetch_etag;
};

}  // namespace stagefs::core
