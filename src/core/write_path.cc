// Writes, attribute changes and durability: all local; exports come later.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>

#include "core/file_system.h"
#include "core/handle.h"

namespace stagefs::core {

void FileSystem::SetExporter(sync::Exporter* exporter) {
  std::unique_lock lock(mu_);
  exporter_ = exporter;
  if (!exporter_) return;
  for (auto& [ino, n] : inodes_) {
    const meta::InodeRecord& r = n->rec;
    bool pending = r.data_dirty || r.meta_dirty || r.export_state != meta::ExportState::kClean ||
                   (r.parent == 0 && !r.key.empty() && ino != meta::kRootIno);
    if (pending) exporter_->Schedule(ino);
  }
}

Status FileSystem::TruncateLocked(Inode* n, uint64_t size) {
  if (!n->rec.is_file()) return Status(ErrorCode::kIsDirectory, "not a regular file");
  uint64_t old = n->rec.size;
  if (size == old) {
    n->rec.mtime_ns = n->rec.ctime_ns = clock_->WallNanos();
    ChangedLocked(n, true);
    return OkStatus();
  }
  RETURN_IF_ERROR(DirtyBeforeChangeLocked(n));
  // Growing: the new range is zeros we hold locally. Shrinking: bytes past the
  // end are gone (and must not come back from the old object if regrown).
  RETURN_IF_ERROR(cache_->Truncate(n->rec.ino, size, old, /*extend_resident=*/true));
  if (size > old) n->modified.Add(old, size);
  else n->modified.Remove(size, UINT64_MAX);
  n->rec.size = size;
  if (size < n->rec.remote_size) {
    // Later growth must read zeros, not the old object's bytes: from here on
    // bytes past `size` are never taken from the object.
    n->rec.remote_size = size;
  }
  n->rec.mtime_ns = n->rec.ctime_ns = clock_->WallNanos();
  ChangedLocked(n, true);
  // The cache file has its new length now: commit the size with it (see Write).
  return store_->Flush();
}

Result<size_t> FileSystem::Write(uint64_t fh, uint64_t off, const char* data, size_t len) {
  RETURN_IF_ERROR(CheckWritable());
  std::shared_ptr<Handle> h;
  {
    std::lock_guard lock(handles_mu_);
    auto it = handles_.find(fh);
    if (it == handles_.end()) return Status(ErrorCode::kInvalidArgument, "bad file handle");
    h = it->second;
  }
  if ((h->flags & O_ACCMODE) == O_RDONLY) return Status(ErrorCode::kInvalidArgument, "not open for writing");
  if (off + len > (5ULL << 40)) return Status(ErrorCode::kInvalidArgument, "file would exceed 5 TiB");
  uint64_t size_before = 0;
  {
    std::unique_lock lock(mu_);
    Inode* n = FindLocked(h->ino);
    if (!n) return Status(ErrorCode::kNotFound, "stale node id");
    if (h->flags & O_APPEND) off = n->rec.size;
    size_before = n->rec.size;
    RETURN_IF_ERROR(DirtyBeforeChangeLocked(n));
    if (off > n->rec.size) {
      // A hole between the old end and this write reads as zeros.
      RETURN_IF_ERROR(cache_->Truncate(h->ino, off, n->rec.size, /*extend_resident=*/true));
      n->modified.Add(n->rec.size, off);
      n->rec.size = off;
    }
  }
  // The data goes to the cache file outside the namespace lock. A full cache
  // disk first gives up clean (exported) data; ENOSPC only when there is none.
  Status wrote = cache_->Write(h->ino, off, data, len);
  if (wrote.code() == ErrorCode::kNoSpace && MakeRoom(len))
    wrote = cache_->Write(h->ino, off, data, len);
  RETURN_IF_ERROR(wrote);
  std::unique_lock lock(mu_);
  Inode* n = FindLocked(h->ino);
  if (!n) return Status(ErrorCode::kNotFound, "stale node id");
  meta::InodeRecord& r = n->rec;
  bool was_dirty = r.data_dirty;
  uint64_t old_size = r.size;
  if (off + len > r.size) r.size = off + len;
  n->modified.Add(off, off + len);
  r.mtime_ns = r.ctime_ns = clock_->WallNanos();
  // Writing clears set-user-ID and set-group-ID, as on local file systems. The
  // kernel's cached mode is dropped too: after a direct write it has not
  // cleared the bits itself.
  bool cleared_setid = r.mode & (S_ISUID | S_ISGID);
  r.mode &= ~(S_ISUID | S_ISGID);
  n->change_seq++;
  // An acknowledged write survives a crash of the daemon whole (its bytes are
  // in the cache file's page cache): a new size, or bytes written where nothing
  // was resident (a partly cached object), are committed before the reply, or
  // the next mount would show new bytes under an old size, or the object's
  // old bytes where new ones were written (docs/CONSISTENCY.md, "Crashes").
  bool commit = r.size != size_before;
  if (!was_dirty || r.size != old_size || r.export_state == meta::ExportState::kClean) {
    ChangedLocked(n, true);
  } else {
    r.dirty_since_ns = r.last_access_ns = r.mtime_ns;
    auto persisted = cache_->PersistIfChanged(r.ino);
    if (!persisted.ok()) return persisted.error();
    commit |= *persisted;
    ScheduleLocked(r.ino);
  }
  if (commit) {
    Status st = store_->Flush();
    if (st.code() == ErrorCode::kNoSpace) {
      lock.unlock();
      if (MakeRoom(0)) st = store_->Flush();
      lock.lock();
    }
    RETURN_IF_ERROR(st);
  }
  if (cleared_setid) {
    lock.unlock();
    NotifyKernel({{h->ino, ""}});
  }
  return len;
}

Status FileSystem::Fallocate(uint64_t fh, int mode, uint64_t off, uint64_t len) {
  RETURN_IF_ERROR(CheckWritable());
  if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE)
    return Status(ErrorCode::kNotSupported, "only fallocate mode 0 is supported");
  std::shared_ptr<Handle> h;
  {
    std::lock_guard lock(handles_mu_);
    auto it = handles_.find(fh);
    if (it == handles_.end()) return Status(ErrorCode::kInvalidArgument, "bad file handle");
    h = it->second;
  }
  std::unique_lock lock(mu_);
  Inode* n = FindLocked(h->ino);
  if (!n) return Status(ErrorCode::kNotFound, "stale node id");
  if (mode == 0 && off + len > n->rec.size) return TruncateLocked(n, off + len);
  return OkStatus();
}

Result<Attr> FileSystem::SetAttr(uint64_t ino, const SetAttrRequest& req) {
  RETURN_IF_ERROR(CheckWritable());
  std::unique_lock lock(mu_);
  Inode* n = FindLocked(ino);
  if (!n) return Status(ErrorCode::kNotFound, "stale node id");
  meta::InodeRecord& r = n->rec;
  int64_t now = clock_->WallNanos();
  bool meta_changed = false;
  if (req.size) {
    if (r.is_dir()) return Status(ErrorCode::kIsDirectory, "is a directory");
    if (*req.size > (5ULL << 40)) return Status(ErrorCode::kInvalidArgument, "larger than 5 TiB");
    RETURN_IF_ERROR(TruncateLocked(n, *req.size));
  }
  if (req.mode) {
    r.mode = (r.mode & S_IFMT) | (*req.mode & 07777);
    meta_changed = true;
  }
  if (req.uid && *req.uid != r.uid) {
    r.uid = *req.uid;
    meta_changed = true;
  }
  if (req.gid && *req.gid != r.gid) {
    r.gid = *req.gid;
    meta_changed = true;
  }
  if ((req.uid || req.gid) && !r.is_dir() && !req.mode) {
    r.mode &= ~(S_ISUID | S_ISGID);  // chown clears set-ID bits
  }
  if (req.atime_ns) {
    r.atime_ns = *req.atime_ns == SetAttrRequest::kNow ? now : *req.atime_ns;
    meta_changed = true;
  }
  if (req.mtime_ns) {
    r.mtime_ns = *req.mtime_ns == SetAttrRequest::kNow ? now : *req.mtime_ns;
    meta_changed = true;
  }
  if (meta_changed || req.size) r.ctime_ns = now;
  if (meta_changed) ChangedLocked(n, false);
  return AttrOf(r);
}

Status FileSystem::Fsync(uint64_t ino) {
  {
    std::shared_lock lock(mu_);
    Inode* n = FindLocked(ino);
    if (!n) return Status(ErrorCode::kNotFound, "stale node id");
    if (n->rec.is_file()) RETURN_IF_ERROR(cache_->Fsync(ino));
  }
  // Every name and size is checkpointed, with the residency recorded so far
  // (what the next mount serves must agree with the sizes).
  RETURN_IF_ERROR(cache_->PersistChanged());
  return store_->Sync();
}

Status FileSystem::SyncNow(uint64_t ino) {
  if (!exporter_) return OkStatus();
  std::set<uint64_t> inos;
  if (ino != meta::kRootIno) {
    std::shared_lock lock(mu_);
    std::vector<Inode*> stack;
    if (Inode* n = FindLocked(ino)) stack.push_back(n);
    while (!stack.empty()) {
      Inode* cur = stack.back();
      stack.pop_back();
      inos.insert(cur->rec.ino);
      for (const auto& [name, c] : cur->children)
        if (Inode* ci = FindLocked(c)) stack.push_back(ci);
    }
  }
  RETURN_IF_ERROR(exporter_->SyncNow(inos));
  return CommitBatch();
}

}  // namespace stagefs::core
