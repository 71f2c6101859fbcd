// Conflicts: S3 wins, nothing is lost. A file with local changes whose object
// changed or vanished in S3 moves to /.stagefs-lost+found/<hexid>_<name>; the
// S3 version (if any) then appears at the original path.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "base/text.h"
#include "core/file_system.h"

namespace stagefs::core {

FileSystem::Inode* FileSystem::LostFoundDirLocked() {
  Inode* root = FindLocked(meta::kRootIno);
  auto it = root->children.find(kLostFoundName);
  if (it != root->children.end()) return FindLocked(it->second);
  auto ino = store_->NextInodeNumber();
  if (!ino.ok()) return nullptr;
  auto fresh = std::make_unique<Inode>();
  Inode* d = fresh.get();
  meta::InodeRecord& r = d->rec;
  r.ino = *ino;
  r.parent = meta::kRootIno;
  r.name = kLostFoundName;
  r.kind = meta::Kind::kDirectory;
  r.mode = S_IFDIR | 0700;
  r.uid = root->rec.uid;
  r.gid = root->rec.gid;
  r.atime_ns = r.mtime_ns = r.ctime_ns = clock_->WallNanos();
  r.dir_listed = true;
  r.dir_listed_at_ns = INT64_MAX;  // never listed from S3
  inodes_[r.ino] = std::move(fresh);
  root->children[kLostFoundName] = r.ino;
  (void)PersistLocked(r);
  return d;
}

bool FileSystem::IsInternalName(const std::string& name) {
  return name == kLostFoundName || name == ".stagefs-tmp" || name == ".stagefs-probe";
}

uint64_t FileSystem::FetchLimitLocked(Inode* n) {
  // Bytes that are not resident equal the object the file is based on at the
  // same offsets, which exist only below remote_size. A lost+found copy stands
  // for no object (its missing bytes come back only by version recovery).
  const meta::InodeRecord& r = n->rec;
  if (!r.is_file() || r.key.empty() || InLostFoundLocked(n)) return 0;
  return std::min(r.size, r.remote_size);
}

std::vector<std::pair<uint64_t, uint64_t>> FileSystem::UnfetchableLocked(Inode* n) {
  if (!n->rec.is_file()) return {};
  uint64_t limit = FetchLimitLocked(n);
  return cache_->Missing(n->rec.ino, limit, n->rec.size);
}

bool FileSystem::InLostFoundLocked(const Inode* n) {
  for (const Inode* a = n; a && a->rec.ino != meta::kRootIno; a = FindLocked(a->rec.parent))
    if (a->rec.parent == meta::kRootIno && a->rec.name == kLostFoundName) return true;
  return false;
}

void FileSystem::MoveToLostFoundLocked(Inode* n, const std::string& reason, bool deleted_in_s3,
                                       std::vector<std::pair<uint64_t, std::string>>* invalidate) {
  bool existed = FindLocked(meta::kRootIno)->children.count(kLostFoundName) > 0;
  Inode* lf = LostFoundDirLocked();
  Inode* dir = FindLocked(n->rec.parent);
  if (!lf || !dir) return;
  // A lookup before it existed left a negative entry in the kernel.
  if (!existed && invalidate) invalidate->emplace_back(meta::kRootIno, kLostFoundName);
  meta::InodeRecord& r = n->rec;
  r.origin_path = "/" + PathOfLocked(r.ino);
  const std::string based_on = options_.prefix + (r.key.empty() ? RelKeyOfLocked(r.ino) : r.key);
  // Where it came from in S3; nothing when S3 deleted the object.
  r.origin_key = deleted_in_s3 ? "" : based_on;
  char hex[32];
  std::snprintf(hex, sizeof(hex), "%llx_", static_cast<unsigned long long>(r.ino));
  std::string name = hex + r.name;
  if (name.size() > 255) name.resize(255);
  dir->children.erase(r.name);
  if (invalidate) invalidate->emplace_back(dir->rec.ino, r.name);
  r.parent = lf->rec.ino;
  r.name = name;
  lf->children[name] = r.ino;
  // The kernel caches lost+found's listing too: without this, a second entry
  // never showed in `ls` (found by test_lost_found.py's randomized test).
  if (invalidate) invalidate->emplace_back(lf->rec.ino, name);
  // Bytes it never fetched from the object it was based on: in a versioned
  // bucket that version still exists, so fetch them from it (in the
  // background; until then, and if that fails, reading them gives EIO).
  if (r.is_file() && !r.version_id.empty()) {
    auto missing = cache_->Missing(r.ino, 0, std::min(r.size, r.remote_size));
    if (!missing.empty())
      import_pool_->Submit([this, ino = r.ino, key = based_on, version = r.version_id,
                            missing = std::move(missing)] {
        RecoverFromVersion(ino, key, version, missing);
      });
  }
  // It no longer stands for any S3 object; it is never exported.
  SetKeyLocked(n, "");
  r.etag.clear();
  r.remote_size = 0;
  r.export_state = meta::ExportState::kFailed;
  r.export_error = reason;
  (void)PersistLocked(r);
  lost_found_gauge_->Add(1);
  if (!options_.audit_log_path.empty()) {
    nlohmann::json j;
    j["time"] = clock_->WallNanos() / 1'000'000'000;
    j["event"] = "moved-to-lost+found";
    j["path"] = EscapeBytes(r.origin_path);
    j["key"] = EscapeBytes(based_on);
    j["deleted_in_s3"] = deleted_in_s3;
    j["lost_found_path"] = EscapeBytes("/" + std::string(kLostFoundName) + "/" + name);
    j["reason"] = EscapeBytes(reason);
    std::ofstream out(options_.audit_log_path, std::ios::app);
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
}

void FileSystem::RecoverFromVersion(uint64_t ino, const std::string& key,
                                    const std::string& version_id,
                                    const std::vector<std::pair<uint64_t, uint64_t>>& ranges) {
  for (const auto& [start, end] : ranges) {
    Status st = FetchIntoCache(ino, key, "", start, end, version_id);
    if (!st.ok()) {
      spdlog::warn("lost+found inode {}: bytes {}-{} of s3://{}/{} version {} not recovered: {}",
                   ino, start, end, options_.bucket, key, version_id, st.ToString());
      return;
    }
  }
}

}  // namespace stagefs::core
