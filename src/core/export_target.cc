// FileSystem as the exporter's ExportTarget: consistent snapshots of inodes as
// export jobs, and the bookkeeping when a job finishes.
#include <sys/stat.h>

#include "core/file_system.h"
#include "core/object_format.h"

namespace stagefs::core {
namespace {

constexpr uint64_t kInlineLimit = 16 << 20;  // below: the export snapshots the bytes

PosixAttrs AttrsOf(const meta::InodeRecord& r) {
  return PosixAttrs{r.mode, r.uid, r.gid, r.mtime_ns, r.atime_ns};
}

}  // namespace

Result<std::optional<sync::ExportJob>> FileSystem::PrepareExport(uint64_t ino) {
  std::unique_lock lock(mu_);
  Inode* n = FindLocked(ino);
  if (!n) return std::optional<sync::ExportJob>();
  meta::InodeRecord& r = n->rec;
  sync::ExportJob job;
  job.ino = ino;
  job.seq = n->change_seq;
  if (r.parent == 0 && ino != meta::kRootIno) {
    if (r.key.empty()) return std::optional<sync::ExportJob>();
    job.kind = sync::ExportJob::Kind::kDelete;
    job.key = options_.prefix + r.key;
    job.expect_etag = r.etag;
    return std::optional<sync::ExportJob>(std::move(job));
  }
  if (ino == meta::kRootIno) return std::optional<sync::ExportJob>();  // the prefix itself
  // A child of a directory whose export failed waits for it.
  for (Inode* a = FindLocked(r.parent); a && a->rec.ino != meta::kRootIno;
       a = FindLocked(a->rec.parent)) {
    if (a->rec.export_state == meta::ExportState::kFailed)
      return Status(ErrorCode::kUnavailable,
                    "DependencyExportFailed: parent directory /" + PathOfLocked(a->rec.ino) +
                        " could not be exported",
                    /*retryable=*/true);
  }
  std::string rel = RelKeyOfLocked(ino);
  job.key = options_.prefix + rel;
  if (job.key.size() > kMaxKeyBytes)
    return Status(ErrorCode::kNameTooLong,
                  "PathTooLong: the S3 key would be " + std::to_string(job.key.size()) +
                      " bytes (limit 1024)");
  bool moved = !r.key.empty() && r.key != rel;
  if (r.is_dir()) {
    if (!r.meta_dirty && !(moved && r.has_marker)) {
      if (moved) {  // an implicit directory: nothing in S3 to move
        r.key = rel;
        (void)PersistLocked(r);
      }
      if (!r.data_dirty && !r.meta_dirty) {
        r.export_state = meta::ExportState::kClean;
        (void)PersistLocked(r);
      }
      return std::optional<sync::ExportJob>();
    }
    job.inline_data = "";
    job.content_changed = true;
    job.source_key = r.has_marker && !r.key.empty() ? options_.prefix + r.key : "";
  } else {
    if (!r.data_dirty && !r.meta_dirty && !moved) {
      r.export_state = meta::ExportState::kClean;
      (void)PersistLocked(r);
      return std::optional<sync::ExportJob>();
    }
    job.source_key = r.key.empty() ? "" : options_.prefix + r.key;
    job.content_changed = r.data_dirty || r.key.empty();
    job.size = r.size;
    if (r.is_symlink()) {
      job.inline_data = r.symlink_target;
      job.content_changed = true;
    }
  }
  job.source_etag = r.etag;
  job.source_size = r.remote_size;
  job.dest_etag = moved || r.key.empty() ? r.dest_etag : r.etag;
  job.dest_may_be_absent = moved;
  job.metadata = EncodePosixAttrs(AttrsOf(r));
  if (UserMetadataSize(job.metadata) > kMaxUserMetadataBytes)
    return Status(ErrorCode::kInvalidArgument,
                  "S3UserMetadataTooLarge: user metadata exceeds 2 KB");
  // Another inode's object sits at our destination and has not moved away yet
  // (a rename cycle such as a<->b): park it under a temporary key first.
  if (moved || !r.dest_etag.empty()) {
    for (auto& [other_ino, other] : inodes_) {
      if (other_ino == ino || other->rec.parent == 0 || other->rec.key != rel) continue;
      if (RelKeyOfLocked(other_ino) == rel) break;  // it is really there: overwrite
      sync::ExportJob park;
      park.ino = other_ino;
      park.seq = other->change_seq;
      park.park = true;
      park.source_key = options_.prefix + other->rec.key;
      park.source_etag = other->rec.etag;
      park.key = options_.prefix + ".stagefs-tmp/" + std::to_string(other_ino) + "-" +
                 std::to_string(other->change_seq);
      park.metadata = EncodePosixAttrs(AttrsOf(other->rec));
      park.inline_data = other->rec.is_dir() ? std::optional<std::string>("") : std::nullopt;
      park.content_changed = other->rec.is_dir();
      ScheduleLocked(ino);  // come back for this inode afterwards
      return std::optional<sync::ExportJob>(std::move(park));
    }
  }
  if (job.content_changed && r.is_file()) {
    // Ranges that are not in the cache come from the current object.
    uint64_t limit = std::min(r.size, r.key.empty() ? 0 : r.remote_size);
    for (const auto& m : cache_->Missing(ino, 0, limit)) job.missing.push_back(m);
    if (n->modified_known) job.modified = n->modified.ToVector();
    else job.modified = {{0, r.size}};
    if (r.size < kInlineLimit && job.missing.empty()) {
      std::string data(r.size, '\0');
      lock.unlock();
      auto got = cache_->Read(ino, 0, data.size(), data.data());
      if (!got.ok()) return got.error();
      job.inline_data = std::move(data);
      return std::optional<sync::ExportJob>(std::move(job));
    }
    job.cache_path = cache_->PathOf(ino);
    if (r.size < kInlineLimit) job.modified = {{0, r.size}};  // fetched first, then inlined
  }
  r.export_state = meta::ExportState::kExporting;
  return std::optional<sync::ExportJob>(std::move(job));
}

void FileSystem::CompleteExport(const sync::ExportJob& job, const sync::ExportResult& result) {
  std::unique_lock lock(mu_);
  Inode* n = FindLocked(job.ino);
  if (!n) return;
  meta::InodeRecord& r = n->rec;
  if (!result.status.ok()) {
    r.export_error = result.status.message();
    r.export_state = result.status.retryable() ? meta::ExportState::kPending
                                               : meta::ExportState::kFailed;
    (void)PersistLocked(r);
    return;
  }
  if (job.kind == sync::ExportJob::Kind::kDelete) {
    pending_deletes_.erase(r.key);
    r.key.clear();
    r.etag.clear();
    (void)PersistLocked(r);
    MaybeEraseLocked(n);
    return;
  }
  if (job.key.empty()) return;  // nothing was done
  r.key = job.key.substr(options_.prefix.size());
  r.etag = result.etag;
  r.version_id = result.version_id;
  r.remote_mtime_ns = result.last_modified_ns ? result.last_modified_ns : clock_->WallNanos();
  r.last_validated_ns = clock_->WallNanos();
  r.export_error.clear();
  if (job.park) {
    r.dest_etag.clear();
    (void)PersistLocked(r);
    ScheduleLocked(r.ino);  // still not at its own key
    return;
  }
  r.dest_etag.clear();
  if (r.is_dir()) r.has_marker = true;
  if (job.content_changed && !r.is_dir()) r.remote_size = job.size;
  if (n->change_seq == job.seq) {
    r.data_dirty = r.meta_dirty = false;
    r.export_state = meta::ExportState::kClean;
    n->modified.Clear();
    n->modified_known = true;
    if (r.is_file()) r.fully_resident = cache_->Covers(r.ino, 0, r.size);
  } else {
    r.export_state = meta::ExportState::kPending;
  }
  (void)PersistLocked(r);
}

Status FileSystem::FetchMissing(uint64_t ino, const sync::ExportJob& job) {
  for (const auto& [a, b] : job.missing)
    RETURN_IF_ERROR(FetchIntoCache(ino, job.source_key, job.source_etag, a, b));
  return OkStatus();
}

}  // namespace stagefs::core
