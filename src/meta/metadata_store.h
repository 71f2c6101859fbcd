// MetadataStore: durable storage of inodes, residency extents, import failures
// and small settings, inside the cache directory.
//
// The core keeps the hot state in memory and writes through to the store; on
// start it loads everything back (LoadInodes), so a remount serves imported
// directories with no S3 request. Writes are applied immediately but committed
// in batches (Flush) unless Sync() is called, which makes all previous writes
// durable on disk (fsync). Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "meta/inode_record.h"

namespace stagefs::meta {

using Extent = std::pair<uint64_t, uint64_t>;  // [start, end)

struct ImportFailure {
  std::string key;
  std::string reason;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  virtual Status LoadInodes(const std::function<void(InodeRecord&&)>& fn) = 0;
  virtual Status PutInode(const InodeRecord& rec) = 0;
  virtual Status DeleteInode(uint64_t ino) = 0;
  // Reserves and returns a never-used inode number.
  virtual Result<uint64_t> NextInodeNumber() = 0;

  virtual Status PutExtents(uint64_t ino, const std::vector<Extent>& extents) = 0;
  virtual Result<std::vector<Extent>> GetExtents(uint64_t ino) = 0;

  virtual Status AddImportFailure(const ImportFailure& f) = 0;
  virtual Status RemoveImportFailure(const std::string& key) = 0;
  virtual Result<std::vector<ImportFailure>> ListImportFailures() = 0;

  virtual Result<std::string> GetSetting(const std::string& name) = 0;  // "" if unset
  virtual Status PutSetting(const std::string& name, const std::string& value) = 0;

  // Commits the open batch (cheap; not fsynced).
  virtual Status Flush() = 0;
  // Commits and makes everything written so far durable.
  virtual Status Sync() = 0;
};

// Opens (creating if needed) the SQLite store at `path` in WAL mode.
Result<std::unique_ptr<MetadataStore>> OpenSqliteMetadataStore(const std::string& path);

}  // namespace stagefs::meta
