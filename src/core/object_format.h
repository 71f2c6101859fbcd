// Object format: how POSIX attributes live in S3 user metadata, and which keys can
// be file names.
//
// Written: the AWS convention shared by S3 Files, FSx, DataSync and Storage
// Gateway: file-owner (uid), file-group (gid), file-permissions (octal st_mode
// with type bits, "0100644"), file-mtime / file-atime ("<nanoseconds>ns").
// Read as well: s3fs keys (mode, uid, gid, mtime in seconds) and rclone's mtime
// (RFC 3339 or fractional seconds). Missing values come from the defaults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "s3/types.h"

namespace stagefs::core {

struct PosixDefaults {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t file_mode = 0644;  // permission bits only
  uint32_t dir_mode = 0755;
};

struct PosixAttrs {
  uint32_t mode = 0;  // with type bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_ns = 0;
  int64_t atime_ns = 0;
  uint64_t rdev = 0;  // device nodes ("file-rdev", a stagefs extension)
};

// Decodes attributes from user metadata. `is_dir_marker` selects the default
// type; `last_modified_ns` is the fallback mtime. A file-permissions value whose
// type is a directory on a non-marker (or vice versa) is ignored.
PosixAttrs DecodePosixAttrs(const s3::UserMetadata& md, bool is_dir_marker,
                            int64_t last_modified_ns, const PosixDefaults& defaults);

// Copies decoded attributes into the fields of an inode-like record (mode,
// owner, group, times; ctime follows mtime, as S3 has no ctime).
template <typename Record>
void ApplyPosixAttrs(const PosixAttrs& a, Record* r) {
  r->mode = a.mode;
  r->uid = a.uid;
  r->gid = a.gid;
  r->mtime_ns = r->ctime_ns = a.mtime_ns;
  r->atime_ns = a.atime_ns;
  r->rdev = a.rdev;
}

// Encodes attributes in the AWS convention.
s3::UserMetadata EncodePosixAttrs(const PosixAttrs& attrs);

// Total size S3 counts against the 2 KB user-metadata limit (names + values).
size_t UserMetadataSize(const s3::UserMetadata& md);
inline constexpr size_t kMaxUserMetadataBytes = 2048;
inline constexpr size_t kMaxKeyBytes = 1024;
inline constexpr size_t kMaxSymlinkTarget = 4080;

// Why a name taken from a listing cannot be a file name, or nullopt when it can.
// `name` is one path component (no '/').
std::optional<std::string> InvalidNameReason(std::string_view name);

}  // namespace stagefs::core
