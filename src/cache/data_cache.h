// DataCache: file contents on local disk, one sparse file per inode under
// <cache-dir>/data, plus the residency map saying which byte ranges are present.
//
// Residency is kept in memory and persisted through the MetadataStore: for one
// inode on Persist() (after a fetch, on fsync), for every inode changed since
// on PersistChanged() (with each commit of the metadata batch, so residency and
// inode sizes survive a crash together). Bytes outside the resident ranges are
// never served: Read() of such a range, or of a resident range that the file
// no longer holds (shorter than recorded), is an integrity error: an assertion
// in debug builds, and in release builds EIO (kDataLoss), a log line and
// stagefs_integrity_errors_total. Thread-safe: one mutex guards the maps; file
// I/O runs outside it on per-inode descriptors that stay open while in use.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "base/status.h"
#include "cache/extent_set.h"
#include "meta/metadata_store.h"

namespace stagefs::cache {

class DataCache {
 public:
  // `store` (and `metrics`, if given) must outlive the cache.
  DataCache(std::string dir, meta::MetadataStore* store, MetricsRegistry* metrics = nullptr);
  ~DataCache();

  Status Init();
  // Records that `ino` is a new inode with no cached bytes, so its first I/O
  // needs no lookup in the metadata store (inode numbers are never reused).
  void AddEmpty(uint64_t ino);
  // Deletes the cache files found by Init() whose inode `keep` rejects (files a
  // crash left without an inode record: their data was never fsynced).
  Status RemoveOrphans(const std::function<bool(uint64_t)>& keep);

  // Writes bytes and marks them resident.
  Status Write(uint64_t ino, uint64_t off, const char* data, size_t len);
  // The inode's cache generation: it changes whenever its bytes are dropped.
  uint64_t Generation(uint64_t ino);
  // Writes only the parts of [off, off+len) that are not resident yet: bytes
  // fetched from S3 must never overwrite newer local writes. `generation` is
  // Generation() from before the fetch began: when the cache was dropped since
  // (the object changed), nothing is written and kCancelled is returned, so
  // bytes of an old version never mix with a new one.
  Status WriteIfMissing(uint64_t ino, uint64_t off, const char* data, size_t len,
                        uint64_t generation);
  // Reads bytes that the caller knows are resident. Returns the count read.
  Result<size_t> Read(uint64_t ino, uint64_t off, size_t len, char* buf);
  // Sets the file length; bytes past `size` stop being resident. When
  // `extend_resident`, a grown range [old, size) becomes resident zeros.
  Status Truncate(uint64_t ino, uint64_t size, uint64_t old_size, bool extend_resident);
  // Forgets all bytes of the inode and removes its file.
  Status Drop(uint64_t ino);
  Status Fsync(uint64_t ino);
  // Saves the residency map of `ino` to the metadata store.
  Status Persist(uint64_t ino);
  // Saves the residency maps changed since they were last saved.
  Status PersistChanged();
  // Saves the residency map of `ino` if it changed since it was last saved
  // (cheap otherwise) and says whether it did: the core calls it before it
  // writes the inode's record, so that a size is never committed without the
  // residency it relies on.
  Result<bool> PersistIfChanged(uint64_t ino);

  bool Covers(uint64_t ino, uint64_t start, uint64_t end);
  std::vector<ExtentSet::Extent> Missing(uint64_t ino, uint64_t start, uint64_t end);
  uint64_t ResidentBytes(uint64_t ino);
  uint64_t used_bytes() const { return used_.load(); }
  // Free bytes on the file system holding the cache (for making room).
  uint64_t FreeDiskBytes() const;
  // The path of the cache file (for streaming uploads by fd).
  std::string PathOf(uint64_t ino) const;

 private:
  struct Entry {
    ExtentSet extents;
    bool loaded = false;
    int fd = -1;
    int users = 0;  // I/O calls currently using fd
    uint64_t generation = 0;  // from next_generation_, renewed by Drop
    // Serialises writers of this inode so that "write bytes, then mark them
    // resident" is atomic with respect to WriteIfMissing.
    std::shared_ptr<std::mutex> write_mu = std::make_shared<std::mutex>();
  };
  Status WriteLocked(int fd, uint64_t off, const char* data, size_t len);
  std::shared_ptr<std::mutex> WriteMutex(uint64_t ino);
  // Pins the inode's fd for one I/O call; Unpin releases it.
  Result<int> Pin(uint64_t ino);
  void Unpin(uint64_t ino);
  void CloseIdleLocked();
  // Requires mu_. Loads residency from the store on first use.
  Entry& EntryLocked(uint64_t ino);
  Result<int> FdLocked(uint64_t ino, Entry& e);
  // Bytes that must not be served were asked for (see the header comment).
  Status IntegrityError(uint64_t ino, const std::string& what);

  std::string dir_;
  meta::MetadataStore* store_;
  std::mutex mu_;
  std::map<uint64_t, Entry> entries_;  // GUARDED_BY(mu_)
  std::atomic<uint64_t> used_{0};
  std::map<uint64_t, uint64_t> found_;  // GUARDED_BY(mu_): Init's files and their bytes
  int open_fds_ = 0;  // GUARDED_BY(mu_)
  uint64_t next_generation_ = 1;  // GUARDED_BY(mu_)
  std::set<uint64_t> unpersisted_;  // GUARDED_BY(mu_): residency changed since saved
  Counter* integrity_errors_ = nullptr;
};

}  // namespace stagefs::cache
