// ExportJob: one unit of work for the Exporter, prepared by the core from a
// consistent snapshot of an inode, and the ExportTarget interface through which
// the core hands out jobs and learns their results (the core implements it, so
// this layer never sees the namespace).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "s3/types.h"

namespace stagefs::sync {

struct ExportJob {
  enum class Kind {
    kPut,     // make `key` hold this inode's content and metadata
    kDelete,  // remove `key` (an unlinked file, a removed directory marker)
  };
  Kind kind = Kind::kPut;
  uint64_t ino = 0;
  uint64_t seq = 0;  // the inode's change counter when the snapshot was taken
  std::string key;   // full S3 key to write or delete

  // kPut: where the current object (if any) lives, and its ETag. When
  // source_key == key this is an overwrite; when it differs it is a rename
  // (the old key is deleted after the new one is committed).
  std::string source_key;
  std::string source_etag;
  uint64_t source_size = 0;
  // What `key` must hold right before the commit: "" = nothing (a new key), or
  // an ETag (an overwrite, or a rename over an existing file).
  std::string dest_etag;
  // Renames: the destination may also be absent (another export of ours may
  // have moved or deleted what was there).
  bool dest_may_be_absent = false;
  // Parking: move the object from `source_key` (which another inode is about to
  // overwrite) to a temporary key.
  bool park = false;

  // kPut content. Inline content (symlink targets, directory markers, small
  // files snapshotted in memory) or a range read from the cache file.
  bool content_changed = false;     // false: metadata/rename only (server-side copy)
  std::optional<std::string> inline_data;
  std::string cache_path;           // otherwise read the file from here
  uint64_t size = 0;
  // Byte ranges [start, end) modified locally; the rest equals the source
  // object at the same offsets (so multipart can copy those parts).
  std::vector<std::pair<uint64_t, uint64_t>> modified;
  // Ranges that are not in the cache file (must come from the source object).
  std::vector<std::pair<uint64_t, uint64_t>> missing;
  s3::UserMetadata metadata;

  // kDelete: delete only if the object still has this ETag ("" = always).
  std::string expect_etag;
};

struct ExportResult {
  Status status;
  std::string etag;        // of the new object (kPut)
  std::string version_id;
  int64_t last_modified_ns = 0;
  bool conflict = false;   // the object changed in S3 since we last saw it
  bool deleted_in_s3 = false;  // ... and, as far as we know, is gone
};

class ExportTarget {
 public:
  virtual ~ExportTarget() = default;
  // A job for `ino`, or nullopt when there is nothing to export (any more).
  // A non-OK status is a permanent failure of the inode (e.g. PathTooLong).
  virtual Result<std::optional<ExportJob>> PrepareExport(uint64_t ino) = 0;
  // Applies the result: records the new identity if `job.seq` is still current,
  // or keeps the inode dirty otherwise.
  virtual void CompleteExport(const ExportJob& job, const ExportResult& result) = 0;
  // Fetches missing byte ranges of `ino` into the cache (before a full upload).
  virtual Status FetchMissing(uint64_t ino, const ExportJob& job) = 0;
};

}  // namespace stagefs::sync
