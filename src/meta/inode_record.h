// InodeRecord: everything stagefs persists about one file, directory or symlink.
//
// stagefs has no hard links, so an inode and its one directory entry are the same
// record: (parent, name) is unique among live records. Unlinked inodes that are
// still open keep their record with parent == 0 until released. Inode numbers
// are never reused, so (ino, gen) is a stable NFS-safe handle.
#pragma once

#include <cstdint>
#include <string>

namespace stagefs::meta {

inline constexpr uint64_t kRootIno = 1;

// kSpecial: a FIFO, socket or device node (the type is in `mode`), stored as an
// empty object whose file-permissions carry the type.
enum class Kind : int { kFile = 0, kDirectory = 1, kSymlink = 2, kSpecial = 3 };

enum class ExportState : int { kClean = 0, kPending = 1, kExporting = 2, kFailed = 3 };

struct InodeRecord {
  uint64_t ino = 0;
  uint64_t gen = 1;
  uint64_t parent = 0;
  std::string name;
  Kind kind = Kind::kFile;

  // POSIX attributes. `mode` includes the type bits.
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  std::string symlink_target;
  uint64_t rdev = 0;  // device nodes

  // Identity of the object in S3 this inode was last synchronised with. `key` is
  // relative to the mount prefix ("a/b.txt", "dir/" for markers); empty when
  // nothing exists in S3 for it yet.
  std::string key;
  std::string etag;
  std::string version_id;
  uint64_t remote_size = 0;
  int64_t remote_mtime_ns = 0;
  std::string storage_class;
  bool has_marker = false;  // directories: a "dir/" object exists

  // Directory import state: listed once => children are known locally.
  bool dir_listed = false;
  int64_t dir_listed_at_ns = 0;

  // Local staging.
  bool data_dirty = false;  // local bytes differ from the object
  bool meta_dirty = false;  // local attributes differ from the object metadata
  ExportState export_state = ExportState::kClean;
  std::string export_error;
  int64_t dirty_since_ns = 0;   // wall time of the last local change
  bool fully_resident = false;  // the cache file holds every byte of `size`
  int64_t last_access_ns = 0;
  int64_t last_validated_ns = 0;  // last ETag check against S3

  // Files moved to lost+found by a conflict: where they came from.
  std::string origin_path;  // "/a/b.txt"
  std::string origin_key;   // full S3 key

  bool is_dir() const { return kind == Kind::kDirectory; }
  bool is_file() const { return kind == Kind::kFile; }
  bool is_symlink() const { return kind == Kind::kSymlink; }
  bool is_special() const { return kind == Kind::kSpecial; }
};

}  // namespace stagefs::meta
