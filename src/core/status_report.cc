// Status reports exposed through extended attributes: per file
// (user.stagefs.status) and per mount (user.stagefs.mount-status on the root).
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/file_system.h"

namespace stagefs::core {
namespace {

const char* ExportStateName(const meta::InodeRecord& r) {
  switch (r.export_state) {
    case meta::ExportState::kClean: return (r.data_dirty || r.meta_dirty) ? "pending" : "clean";
    case meta::ExportState::kPending: return "pending";
    case meta::ExportState::kExporting: return "exporting";
    case meta::ExportState::kFailed: return "failed";
  }
  return "unknown";
}

}  // namespace

Result<std::string> FileSystem::FileStatusText(uint64_t ino) {
  std::shared_lock lock(mu_);
  Inode* n = FindLocked(ino);
  if (!n) return Status(ErrorCode::kNotFound, "stale node id");
  std::string path = "/" + PathOfLocked(ino);
  std::string key = KeyOfLocked(ino);
  if (!n->rec.origin_path.empty()) {  // in lost+found: where it came from
    path = n->rec.origin_path;
    key = n->rec.origin_key;
  }
  std::string out = "S3Key: s3://" + options_.bucket + "/" + key + "\n";
  out += "FilePath: " + path + "\n";
  out += std::string("ExportState: ") + ExportStateName(n->rec) + "\n";
  out += "ExportError: " + n->rec.export_error + "\n";
  if (n->rec.is_file()) {
    out += "ETag: " + n->rec.etag + "\n";
    uint64_t resident = cache_->ResidentBytes(ino);
    out += "ResidentBytes: " + std::to_string(resident) + "\n";
    // A lost+found copy is all it will ever be: say what it lacks (reads of
    // those ranges fail with EIO).
    if (InLostFoundLocked(n) && resident < n->rec.size)
      out += "MissingBytes: " + std::to_string(n->rec.size - resident) + "\n";
  }
  return out;
}

std::string FileSystem::MountStatusJson() {
  nlohmann::json j;
  j["bucket"] = options_.bucket;
  j["prefix"] = options_.prefix;
  FsStats s = Stats();
  j["inodes"] = s.inodes;
  j["cache_bytes"] = s.cache_bytes;
  nlohmann::json failures = nlohmann::json::array();
  auto list = store_->ListImportFailures();
  if (list.ok()) {
    for (const auto& f : *list) {
      // Keys may hold bytes that are not UTF-8; escape them for JSON.
      std::string key;
      for (unsigned char c : f.key) {
        if (c < 0x20 || c >= 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          key += buf;
        } else {
          key += static_cast<char>(c);
        }
      }
      failures.push_back({{"key", key}, {"reason", f.reason}});
    }
  }
  j["import_failures"] = failures;
  j["import_failures_count"] = failures.size();
  j["cache_hits"] = cache_hits_->value();
  j["cache_misses"] = cache_misses_->value();
  j["pending_exports"] = exporter_ ? exporter_->pending() : 0;
  nlohmann::json failed = nlohmann::json::array();
  {
    std::shared_lock lock(mu_);
    for (const auto& [ino, n] : inodes_) {
      if (n->rec.export_state != meta::ExportState::kFailed || failed.size() >= 100) continue;
      std::string path = n->rec.origin_path.empty() ? "/" + PathOfLocked(ino) : n->rec.origin_path;
      failed.push_back({{"path", path}, {"error", n->rec.export_error}});
    }
  }
  j["export_failures"] = failed;
  j["pid"] = ::getpid();
  return j.dump(2);
}

}  // namespace stagefs::core
