// Status reports exposed through extended attributes: per file
// (user.stagefs.status) and per mount (user.stagefs.mount-status on the root).
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/text.h"
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
  std::string s3key = "s3://" + options_.bucket + "/" + KeyOfLocked(ino);
  if (InLostFoundLocked(n) && !n->rec.origin_path.empty()) {  // where it came from
    path = n->rec.origin_path;
    s3key = n->rec.origin_key.empty() ? "" : "s3://" + options_.bucket + "/" + n->rec.origin_key;
  }
  // Bytes that can never be read nor exported: a property of the file, wherever it is.
  uint64_t missing = 0;
  for (const auto& [a, b] : UnfetchableLocked(n)) missing += b - a;
  // Names and keys are bytes: shown escaped (base/text.h), one line per field.
  std::string out = "S3Key: " + EscapeBytes(s3key) + "\n";
  out += "FilePath: " + EscapeBytes(path) + "\n";
  out += std::string("ExportState: ") + (missing ? "blocked" : ExportStateName(n->rec)) + "\n";
  out += "ExportError: " + EscapeBytes(n->rec.export_error) + "\n";
  if (n->rec.is_file()) {
    out += "ETag: " + n->rec.etag + "\n";
    out += "ResidentBytes: " + std::to_string(cache_->ResidentBytes(ino)) + "\n";
    if (missing) out += "MissingBytes: " + std::to_string(missing) + "\n";
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
    for (const auto& f : *list)
      failures.push_back({{"key", EscapeBytes(f.key)}, {"reason", EscapeBytes(f.reason)}});
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
      std::string path = "/" + PathOfLocked(ino);  // where it is now
      failed.push_back({{"path", EscapeBytes(path)}, {"error", EscapeBytes(n->rec.export_error)}});
    }
  }
  j["export_failures"] = failed;
  j["pid"] = ::getpid();
  // Every string above is valid UTF-8; `replace` keeps a slip from throwing.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace stagefs::core
