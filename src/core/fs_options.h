// FsOptions: the immutable settings of one mounted file system, built in app/
// from flags and the config file.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/object_format.h"
#include "core/sync_config.h"

namespace stagefs::core {

struct FsOptions {
  std::string bucket;
  std::string prefix;  // "" or ending in '/'
  PosixDefaults defaults;
  bool read_only = false;
  // Re-list / revalidate after this long; also the kernel attribute timeout.
  std::chrono::nanoseconds refresh_interval = std::chrono::seconds(30);
  // Import rules and expiration; changeable at runtime (FileSystem::PutSyncConfig).
  SyncConfig sync;
  // Capacity watermark of the data cache in bytes (0 = none): above it, the least
  // recently used clean data is evicted.
  uint64_t cache_size = 0;
  // JSON-lines audit log of conflict moves ("" = none).
  std::string audit_log_path;
  int head_concurrency = 32;      // parallel HEADs during a directory import
  uint64_t block_size = 1 << 20;  // block cache unit for random reads
  // Sequential reads switch to streaming after this many contiguous bytes.
  uint64_t sequential_threshold = 2 << 20;
  uint64_t prefetch_initial_window = 256 << 10;
  uint64_t prefetch_max_window = 64 << 20;
  uint64_t prefetch_part_size = 8 << 20;
};

}  // namespace stagefs::core
