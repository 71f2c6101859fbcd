// FileSystem as the exporter's ExportTarget: consistent snapshots of inodes as
// export jobs, and the bookkeeping when a job finishes.
#include <sys/stat.h>

#include "base/text.h"
#include "core/file_system.h"
#include "core/object_format.h"

namespace stagefs::core {
namespace {

constexpr uint64_t kInlineLimit = 16 << 20;  // below: the export snapshots the bytes

PosixAttrs AttrsOf(const meta::InodeRecord& r) {
  return PosixAttrs{r.mode, r.uid, r.gid, r.mtime_ns, r.atime_ns, r.rdev};
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
    r.export_state = meta::ExportState::kExporting;  // a put to the same key waits
    return std::optional<sync::ExportJob>(std::move(job));
  }
  if (ino == meta::kRootIno) return std::optional<sync::ExportJob>();  // the prefix itself
  if (InLostFoundLocked(n)) return std::optional<sync::ExportJob>();   // never exported
  // A child of a directory whose export failed fails too (not retried, so a
  // sync reports it); CompleteExport schedules it again once that directory
  // is exported.
  if (Inode* a = FailedAncestorLocked(n))
    return Status(ErrorCode::kUnavailable,
                  std::string(kDependencyExportFailed) + ": parent directory /" +
                      PathOfLocked(a->rec.ino) + " could not be exported");
  if (n->park_requested && !r.key.empty()) {
    job.park = true;
    job.source_key = options_.prefix + r.key;
    job.source_etag = r.etag;
    job.key = options_.prefix + ".stagefs-tmp/" + std::to_string(ino) + "-" +
              std::to_string(n->change_seq);
    job.metadata = EncodePosixAttrs(AttrsOf(r));
    if (r.is_dir()) {
      job.inline_data = "";
      job.content_changed = true;
    }
    return std::optional<sync::ExportJob>(std::move(job));
  }
  std::string rel = RelKeyOfLocked(ino);
  job.key = options_.prefix + rel;
  if (job.key.size() > kMaxKeyBytes)
    return Status(ErrorCode::kNameTooLong,
                  "PathTooLong: the S3 key would be " + std::to_string(job.key.size()) +
                      " bytes (limit 1024)");
  // Names made before stagefs refused them (mount_ops: EILSEQ) stay local.
  if (!IsValidUtf8(job.key))
    return Status(ErrorCode::kIllegalByteSequence,
                  "InvalidObjectName: the path is not valid UTF-8 and S3 keys must be; the "
                  "file stays local (readable, and removable)");
  // New content with bytes that are in neither the cache nor S3 (a crash lost
  // them, or a copy of an object S3 replaced) must never be uploaded, as
  // zeros or anything else.
  if (r.is_file() && (r.data_dirty || r.key.empty())) {
    uint64_t unknown = 0;
    for (const auto& [a, b] : UnfetchableLocked(n)) unknown += b - a;
    if (unknown > 0)
      return Status(ErrorCode::kDataLoss,
                    "MissingBytes: " + std::to_string(unknown) +
                        " bytes of this file are neither in the local cache nor in S3; it is "
                        "not exported until they are written");
  }
  bool moved = !r.key.empty() && r.key != rel;
  if (r.is_dir()) {
    if (!r.meta_dirty && !(moved && r.has_marker)) {
      if (moved) {  // an implicit directory: nothing in S3 to move
        SetKeyLocked(n, rel);
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
    if (r.is_symlink() || r.is_special()) {
      job.inline_data = r.is_symlink() ? r.symlink_target : "";
      job.content_changed = true;
    }
  }
  job.source_etag = r.etag;
  job.source_size = r.remote_size;

  job.metadata = EncodePosixAttrs(AttrsOf(r));
  if (UserMetadataSize(job.metadata) > kMaxUserMetadataBytes)
    return Status(ErrorCode::kInvalidArgument,
                  "S3UserMetadataTooLarge: user metadata exceeds 2 KB");
  // Another inode's upload to this key is in flight (e.g. a file unlinked and
  // created again while its first export runs): it lands first, then this one
  // takes its place below.
  if (auto fl = uploading_keys_.find(job.key); fl != uploading_keys_.end() && fl->second != ino)
    return Status(ErrorCode::kUnavailable, "waiting for the upload in flight to " + rel,
                  /*retryable=*/true);
  // What sits at the destination key decides the precondition of the commit.
  auto occ = objects_by_key_.find(rel);
  Inode* occupant = occ == objects_by_key_.end() ? nullptr : FindLocked(occ->second);
  if (occupant == n || !occupant) {
    job.dest_etag = occupant ? r.etag : "";  // overwrite our object, or create
  } else if (occupant->rec.parent == 0) {
    // An unlinked file whose delete is pending. A delete already running must
    // finish first (it checks the ETag and then deletes; our commit must not
    // land in between). Otherwise take its place: overwrite, do not delete.
    if (occupant->rec.export_state == meta::ExportState::kExporting)
      return Status(ErrorCode::kUnavailable, "waiting for the delete of " + rel + " to finish",
                    /*retryable=*/true);
    job.dest_etag = occupant->rec.etag;
    SetKeyLocked(occupant, "");
    occupant->rec.export_state = meta::ExportState::kClean;
    (void)PersistLocked(occupant->rec);
    MaybeEraseLocked(occupant);
  } else {
    // A renamed inode whose object has not moved yet (e.g. a<->b): it has to
    // move to a temporary key first.
    if (!occupant->park_requested) {
      occupant->park_requested = true;
      ScheduleLocked(occupant->rec.ino);
    }
    return Status(ErrorCode::kUnavailable,
                  "waiting for /" + PathOfLocked(occupant->rec.ino) + " to move out of the way",
                  /*retryable=*/true);
  }
  uploading_keys_[job.key] = ino;  // until CompleteExport
  if (job.content_changed && r.is_file()) {
    // Ranges that are not in the cache come from the current object.
    uint64_t limit = FetchLimitLocked(n);
    for (const auto& m : cache_->Missing(ino, 0, limit)) job.missing.push_back(m);
    if (n->modified_known) job.modified = n->modified.ToVector();
    else job.modified = {{0, r.size}};
    if (r.size < kInlineLimit && job.missing.empty()) {
      std::string data(r.size, '\0');
      // In flight from here: a re-list that sees this upload's ETag must not
      // take it for a change made in S3.
      r.export_state = meta::ExportState::kExporting;
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
  for (auto it = uploading_keys_.begin(); it != uploading_keys_.end();)
    it = it->second == job.ino ? uploading_keys_.erase(it) : std::next(it);
  Inode* n = FindLocked(job.ino);
  if (!n) return;
  meta::InodeRecord& r = n->rec;
  if (result.conflict && job.kind == sync::ExportJob::Kind::kPut && !job.park &&
      !InLostFoundLocked(n)) {  // already moved (by a re-list): once is enough
    // S3 wins: keep the local bytes in lost+found and show S3's version.
    Inode* dir = FindLocked(r.parent);
    std::vector<std::pair<uint64_t, std::string>> invalidate;
    MoveToLostFoundLocked(n, result.status.message(), result.deleted_in_s3, &invalidate);
    if (dir) dir->rec.dir_listed_at_ns = 0;  // list again to bring S3's version
    lock.unlock();
    NotifyKernel(invalidate);
    return;
  }
  if (!result.status.ok()) {
    r.export_error = result.status.message();
    r.export_state = result.status.retryable() ? meta::ExportState::kPending
                                               : meta::ExportState::kFailed;
    if (r.export_error.rfind(kDependencyExportFailed, 0) == 0) blocked_by_parent_.insert(r.ino);
    (void)PersistLocked(r);
    return;
  }
  if (job.kind == sync::ExportJob::Kind::kDelete) {
    SetKeyLocked(n, "");
    r.etag.clear();
    r.export_state = meta::ExportState::kClean;
    (void)PersistLocked(r);
    MaybeEraseLocked(n);
    return;
  }
  if (job.key.empty()) return;  // nothing was done
  // A commit over an unlinked file's object replaces it: its delete is moot.
  std::string new_key = job.key.substr(options_.prefix.size());
  auto occ = objects_by_key_.find(new_key);
  if (occ != objects_by_key_.end() && occ->second != n->rec.ino) {
    if (Inode* other = FindLocked(occ->second); other && other->rec.parent == 0) {
      SetKeyLocked(other, "");
      (void)PersistLocked(other->rec);
      MaybeEraseLocked(other);
    }
  }
  SetKeyLocked(n, new_key);
  r.etag = result.etag;
  r.version_id = result.version_id;
  r.remote_mtime_ns = result.last_modified_ns ? result.last_modified_ns : clock_->WallNanos();
  r.last_validated_ns = clock_->WallNanos();
  r.export_error.clear();
  if (job.park) {
    n->park_requested = false;
    (void)PersistLocked(r);
    ScheduleLocked(r.ino);  // still not at its own key
    return;
  }
  if (r.is_dir()) {
    r.has_marker = true;
    // Children that failed because a parent could not be exported go again.
    for (auto it = blocked_by_parent_.begin(); it != blocked_by_parent_.end();) {
      Inode* child = FindLocked(*it);
      if (child && FailedAncestorLocked(child)) {
        ++it;  // another failed directory still stands in the way
        continue;
      }
      if (child) ScheduleLocked(*it);
      it = blocked_by_parent_.erase(it);
    }
  }
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

FileSystem::Inode* FileSystem::FailedAncestorLocked(Inode* n) {
  for (Inode* a = FindLocked(n->rec.parent); a && a->rec.ino != meta::kRootIno;
       a = FindLocked(a->rec.parent))
    if (a->rec.export_state == meta::ExportState::kFailed) return a;
  return nullptr;
}

Status FileSystem::FetchMissing(uint64_t ino, const sync::ExportJob& job) {
  for (const auto& [a, b] : job.missing)
    RETURN_IF_ERROR(FetchIntoCache(ino, job.source_key, job.source_etag, a, b));
  return OkStatus();
}

}  // namespace stagefs::core
