// Prefetcher: serves one sequential reader of one object from memory, with an
// adaptive read-ahead window of parallel ranged GETs.
//
// The window starts small (so a reader that stops early costs little) and doubles
// each time the reader consumes a whole part, up to max_window; that bounds the
// memory held per stream (back-pressure: no new GET is issued until the reader
// moves forward). Every GET is pinned to the ETag with If-Match, so an object
// replaced mid-stream fails cleanly instead of mixing versions. Bytes read here
// never enter the data cache. A read that is not within the window resets it.
// Not thread-safe: one per open handle, called under the handle's lock.
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <string>

#include "base/status.h"
#include "base/thread_pool.h"
#include "s3/object_client.h"

namespace stagefs::prefetch {

struct PrefetchOptions {
  uint64_t initial_window = 256 << 10;
  uint64_t max_window = 64 << 20;
  uint64_t max_part_size = 8 << 20;
};

class Prefetcher {
 public:
  Prefetcher(s3::ObjectClient* client, ThreadPool* pool, std::string bucket, std::string key,
             std::string etag, uint64_t size, PrefetchOptions options);
  ~Prefetcher();

  // Reads up to `len` bytes at `off` into `buf`; returns the count (0 at EOF).
  Result<size_t> Read(uint64_t off, size_t len, char* buf);

  uint64_t window() const { return window_; }

 private:
  struct Part {
    uint64_t off = 0;
    uint64_t len = 0;
    std::shared_future<s3::S3Result<std::string>> data;
  };
  void Reset(uint64_t off);
  void Fill(uint64_t reader_off);

  s3::ObjectClient* client_;
  ThreadPool* pool_;
  std::string bucket_, key_, etag_;
  uint64_t size_;
  PrefetchOptions options_;
  std::deque<Part> parts_;
  uint64_t next_off_ = 0;  // first byte not yet requested
  uint64_t window_;
};

}  // namespace stagefs::prefetch
