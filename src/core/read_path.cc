// The read path: open with revalidation, reads from the cache, the block cache
// or the sequential prefetcher, and background import of small files.
#include <fcntl.h>

#include <algorithm>
#include <cctype>

#include "core/file_system.h"
#include "core/handle.h"
#include "core/object_format.h"
#include "s3/etag.h"

namespace stagefs::core {

Result<OpenResult> FileSystem::Open(uint64_t ino, int flags) {
  int acc = flags & O_ACCMODE;
  {
    std::shared_lock lock(mu_);
    Inode* n = FindLocked(ino);
    if (!n) return Status(ErrorCode::kNotFound, "stale node id");
    if (n->rec.is_dir()) return Status(ErrorCode::kIsDirectory, "is a directory");
    if ((acc != O_RDONLY || (flags & O_TRUNC)) && options_.read_only)
      return Status(ErrorCode::kReadOnly, "mounted read-only");
  }
  bool changed = false;
  RETURN_IF_ERROR(Revalidate(ino, &changed));
  bool import_now = false;
  bool direct_io = false;
  {
    std::unique_lock lock(mu_);
    Inode* n = FindLocked(ino);
    if (!n) return Status(ErrorCode::kNotFound, "file was deleted in S3");
    n->open_count++;
    if ((flags & O_TRUNC) && acc != O_RDONLY && n->rec.is_file()) {
      Status st = TruncateLocked(n, 0);
      if (!st.ok()) {
        n->open_count--;
        return st;
      }
    }
    const ImportRule& rule = MatchImportRule(sync_config_, n->rec.key);
    import_now = rule.trigger == ImportTrigger::kOnFileAccess && n->rec.is_file() &&
                 !n->rec.key.empty() && n->rec.size < rule.size_less_than &&
                 !n->rec.fully_resident;
    // A file with bytes that can never be read: I/O bypasses the page cache
    // with the caller's exact ranges, so the held ranges stay readable and the
    // others fail with EIO (a cached page would need them all).
    direct_io = !UnfetchableLocked(n).empty();
  }
  if (import_now) ScheduleImport(ino);
  auto h = std::make_shared<Handle>();
  h->ino = ino;
  h->flags = flags;
  std::lock_guard lock(handles_mu_);
  uint64_t fh = next_fh_++;
  handles_[fh] = std::move(h);
  return OpenResult{fh, !changed && !direct_io, direct_io};
}

void FileSystem::Release(uint64_t fh) {
  std::shared_ptr<Handle> h;
  {
    std::lock_guard lock(handles_mu_);
    auto it = handles_.find(fh);
    if (it == handles_.end()) return;
    h = std::move(it->second);
    handles_.erase(it);
  }
  std::unique_lock lock(mu_);
  Inode* n = FindLocked(h->ino);
  if (!n) return;
  n->open_count--;
  MaybeEraseLocked(n);
}

// Close-to-open against S3: when the last check is older than the refresh
// interval, HEAD the object and drop cached bytes if its ETag changed.
Status FileSystem::Revalidate(uint64_t ino, bool* changed) {
  std::string key, etag;
  {
    std::shared_lock lock(mu_);
    Inode* n = FindLocked(ino);
    if (!n) return Status(ErrorCode::kNotFound, "stale node id");
    const meta::InodeRecord& r = n->rec;
    if (r.key.empty() || r.data_dirty || r.meta_dirty) return OkStatus();
    if (clock_->WallNanos() - r.last_validated_ns < options_.refresh_interval.count())
      return OkStatus();
    key = options_.prefix + r.key;
    etag = r.etag;
  }
  auto head = client_->HeadObject({.bucket = options_.bucket, .key = key});
  if (!head.ok()) {
    if (head.error().kind == s3::S3ErrorKind::kNoSuchKey) {
      // Deleted in S3 and clean here: the name goes now, without waiting for a
      // re-list (which skips a directory with unexported changes). ESTALE makes
      // the kernel look the name up again, so open(O_CREAT) then creates it.
      std::vector<std::pair<uint64_t, std::string>> invalidate;
      {
        std::unique_lock lock(mu_);
        Inode* n = FindLocked(ino);
        if (n && !n->rec.data_dirty && !n->rec.meta_dirty &&
            n->rec.key == key.substr(options_.prefix.size())) {
          if (Inode* dir = FindLocked(n->rec.parent)) DetachDeletedLocked(dir, n->rec.name, &invalidate);
        }
      }
      NotifyKernel(invalidate);
      return Status(ErrorCode::kStale, "object was deleted in S3: " + key);
    }
    return OkStatus();  // S3 unreachable: serve what we have
  }
  std::unique_lock lock(mu_);
  Inode* n = FindLocked(ino);
  if (!n) return Status(ErrorCode::kNotFound, "stale node id");
  meta::InodeRecord& r = n->rec;
  r.last_validated_ns = clock_->WallNanos();
  if (head->etag != etag) {
    PosixAttrs a = DecodePosixAttrs(head->metadata, false, head->last_modified_ns,
                                    options_.defaults);
    ApplyPosixAttrs(a, &r);
    r.size = r.remote_size = head->size;
    r.etag = head->etag;
    r.version_id = head->version_id;
    r.fully_resident = false;
    RETURN_IF_ERROR(cache_->Drop(ino));
    *changed = true;
  }
  return PersistLocked(r);
}

void FileSystem::MarkStale(uint64_t ino) {
  std::unique_lock lock(mu_);
  if (Inode* n = FindLocked(ino)) n->rec.last_validated_ns = 0;
}

Result<size_t> FileSystem::Read(uint64_t fh, uint64_t off, size_t len, char* buf) {
  std::shared_ptr<Handle> h;
  {
    std::lock_guard lock(handles_mu_);
    auto it = handles_.find(fh);
    if (it == handles_.end()) return Status(ErrorCode::kInvalidArgument, "bad file handle");
    h = it->second;
  }
  uint64_t size;
  std::string key, etag;
  bool streamable;
  {
    std::shared_lock lock(mu_);
    Inode* n = FindLocked(h->ino);
    if (!n) return Status(ErrorCode::kNotFound, "stale node id");
    size = n->rec.size;
    key = options_.prefix + n->rec.key;
    etag = n->rec.etag;
    n->rec.last_access_ns = clock_->WallNanos();
    // Only an unmodified object can be streamed straight from S3.
    streamable = !n->rec.key.empty() && !n->rec.data_dirty && n->rec.size == n->rec.remote_size;
  }
  if (off >= size) return size_t{0};
  len = static_cast<size_t>(std::min<uint64_t>(len, size - off));
  std::lock_guard hl(h->mu);
  // The kernel's read-ahead reaches us from several threads, slightly out of
  // order: a read near the furthest point so far continues the stream.
  constexpr uint64_t kSlack = 8 << 20;
  if (off + kSlack >= h->seq_next && off <= h->seq_next + kSlack) {
    h->seq_run += len;
  } else {
    h->seq_run = len;
  }
  h->seq_next = std::max(h->seq_next, off + len);
  if (cache_->Covers(h->ino, off, off + len)) {
    cache_hits_->Inc();
    return cache_->Read(h->ino, off, len, buf);
  }
  cache_misses_->Inc();
  if (streamable && h->seq_run >= options_.sequential_threshold && size > options_.block_size) {
    if (!h->prefetcher || h->prefetch_etag != etag) {
      h->prefetcher = std::make_unique<prefetch::Prefetcher>(
          client_, prefetch_pool_.get(), options_.bucket, key, etag, size,
          prefetch::PrefetchOptions{options_.prefetch_initial_window,
                                    options_.prefetch_max_window, options_.prefetch_part_size});
      h->prefetch_etag = etag;
    }
    auto r = h->prefetcher->Read(off, len, buf);
    if (!r.ok() && r.error().code() == ErrorCode::kPreconditionFailed) MarkStale(h->ino);
    return r;
  }
  h->prefetcher.reset();
  return ReadBlocks(*h, off, len, buf);
}

// Random reads: fetch the aligned blocks that are missing into the cache, then
// serve from it, so a re-read is local.
Result<size_t> FileSystem::ReadBlocks(Handle& h, uint64_t off, size_t len, char* buf) {
  uint64_t size, bs = options_.block_size;
  std::string key, etag;
  {
    std::shared_lock lock(mu_);
    Inode* n = FindLocked(h.ino);
    if (!n) return Status(ErrorCode::kNotFound, "stale node id");
    size = FetchLimitLocked(n);  // what may come from the object the file is based on
    key = options_.prefix + n->rec.key;
    etag = n->rec.etag;
  }
  uint64_t start = off / bs * bs;
  uint64_t end = std::min(size, (off + len + bs - 1) / bs * bs);
  for (const auto& [a, b] : cache_->Missing(h.ino, start, end)) {
    Status st = FetchIntoCache(h.ino, key, etag, a, b);
    if (st.code() == ErrorCode::kNoSpace && MakeRoom(b - a))  // a full cache disk
      st = FetchIntoCache(h.ino, key, etag, a, b);
    if (st.code() == ErrorCode::kNoSpace)  // a read never says ENOSPC
      return Status(ErrorCode::kIo, "the cache disk is full of data not yet exported: " +
                                        st.message());
    if (!st.ok()) {
      if (st.code() == ErrorCode::kPreconditionFailed) MarkStale(h.ino);
      return st;
    }
  }
  // Bytes in neither the cache nor S3 (a copy of an object S3 replaced, in
  // lost+found or wherever it is) are unknown, never zeros: EIO.
  if (!cache_->Covers(h.ino, off, off + len))
    return Status(ErrorCode::kDataLoss,
                  "bytes of this file are neither in the local cache nor in the S3 object it "
                  "is based on (see MissingBytes in user.stagefs.status)");
  return cache_->Read(h.ino, off, len, buf);
}

namespace {

// Fetches up to this size are held in memory until they are checked: a GET
// that turns out to be the whole object is compared with its MD5 ETag before
// any byte reaches the cache (a lying server's bytes never become "resident").
constexpr uint64_t kCheckedFetchLimit = 16 << 20;

bool IsMd5Etag(const std::string& etag) {
  std::string e = s3::NormalizeEtag(etag);
  if (e.size() != 34) return false;  // "<32 hex>"
  for (size_t i = 1; i < 33; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(e[i]))) return false;
  return true;
}

}  // namespace

Status FileSystem::FetchIntoCache(uint64_t ino, const std::string& key, const std::string& etag,
                                  uint64_t start, uint64_t end, const std::string& version_id) {
  if (start >= end) return OkStatus();
  const std::string where = "reading s3://" + options_.bucket + "/" + key;
  const uint64_t generation = cache_->Generation(ino);
  s3::GetObjectParams get{.bucket = options_.bucket, .key = key,
                          .range = s3::ByteRange{start, end - 1}, .if_match = etag,
                          .version_id = version_id};
  uint64_t pos = start;
  Status write_status;
  if (end - start > kCheckedFetchLimit) {  // large ranges stream into the cache
    get.sink = [&](const char* d, size_t n) {
      write_status = cache_->WriteIfMissing(ino, pos, d, n, generation);
      pos += n;
      return write_status.ok();
    };
  }
  auto r = client_->GetObject(get);
  if (!r.ok() && write_status.ok()) return r.error().ToStatus().Annotate(where);
  if (!get.sink) {
    pos += r->body.size();
    if (pos != end) return Status(ErrorCode::kDataLoss, "short read of " + key + " from S3", true);
    // The whole object: its bytes must have the MD5 its ETag names (objects
    // written in one PUT without SSE-KMS; multipart ETags are not checked).
    if (start == 0 && end == r->info.size && IsMd5Etag(r->info.etag) &&
        s3::SinglePartEtag(r->body) != s3::NormalizeEtag(r->info.etag))
      return Status(ErrorCode::kDataLoss,
                    "the bytes S3 returned do not match the object's ETag " + r->info.etag, true)
          .Annotate(where);
    write_status = cache_->WriteIfMissing(ino, start, r->body.data(), r->body.size(), generation);
  }
  if (write_status.code() == ErrorCode::kCancelled)  // dropped: the object changed meanwhile
    return Status(ErrorCode::kPreconditionFailed, "s3://" + options_.bucket + "/" + key +
                                                      " changed while it was being read");
  RETURN_IF_ERROR(write_status);
  if (!r.ok()) return r.error().ToStatus().Annotate(where);
  if (pos != end)
    return Status(ErrorCode::kDataLoss, "short read of " + key + " from S3", true);
  RETURN_IF_ERROR(cache_->Persist(ino));
  EnforceWatermark();
  return OkStatus();
}

void FileSystem::ScheduleImport(uint64_t ino) {
  {
    std::lock_guard lock(bg_mu_);
    if (!importing_.insert(ino).second) return;  // already queued or running
    bg_pending_++;
  }
  import_pool_->Submit([this, ino] {
    ImportFile(ino);
    std::lock_guard lock(bg_mu_);
    importing_.erase(ino);
    if (--bg_pending_ == 0) bg_cv_.notify_all();
  });
}

void FileSystem::ImportFile(uint64_t ino) {
  if (stopping_imports_) return;  // unmounting: imports are only an optimisation
  std::string key, etag;
  uint64_t size;
  {
    std::shared_lock lock(mu_);
    Inode* n = FindLocked(ino);
    if (!n || !n->rec.is_file() || n->rec.fully_resident || n->rec.data_dirty) return;
    key = options_.prefix + n->rec.key;
    etag = n->rec.etag;
    size = n->rec.size;
  }
  Status st = size == 0 ? OkStatus() : FetchIntoCache(ino, key, etag, 0, size);
  if (!st.ok()) return;  // a later read fetches on demand
  std::unique_lock lock(mu_);
  Inode* n = FindLocked(ino);
  if (!n || n->rec.etag != etag) return;
  n->rec.fully_resident = true;
  n->rec.last_access_ns = clock_->WallNanos();
  (void)PersistLocked(n->rec);
  files_imported_->Inc();
}

}  // namespace stagefs::core
