// FsOptions: the immutable settings of one mounted file system, built in app/
// from flags and the config file.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/object_format.h"

namespace stagefs::core {

enum class ImportTrigger { kOnDirectoryFirstAccess, kOnFileAccess };

struct FsOptions {
  std::string bucket;
  std::string prefix;  // "" or ending in '/'
  PosixDefaults defaults;
  bool read_only = false;
  // Re-list / revalidate after this long; also the kernel attribute timeout.
  std::chrono::nanoseconds refresh_interval = std::chrono::seconds(30);
  uint64_t import_size_less_than = 131072;
  ImportTrigger import_trigger = ImportTrigger::kOnDirectoryFirstAccess;
  int head_concurrency = 32;      // parallel HEADs during a directory import
  uint64_t block_size = 1 << 20;  // block cache unit for random reads
  // Sequential reads switch to streaming after this many contiguous bytes.
  uint64_t sequential_threshold = 2 << 20;
  uint64_t prefetch_initial_window = 256 << 10;
  uint64_t prefetch_max_window = 64 << 20;
  uint64_t prefetch_part_size = 8 << 20;
};

}  // namespace stagefs::core
