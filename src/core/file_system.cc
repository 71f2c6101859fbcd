// FileSystem: inode table, lookup/forget, attributes, directories, open/release.
// Directory import lives in dir_import.cc and the read path in read_path.cc.
#include "core/file_system.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "core/handle.h"

namespace stagefs::core {

FileSystem::FileSystem(FsOptions options, s3::ObjectClient* client, meta::MetadataStore* store,
                       cache::DataCache* cache, Clock* clock, MetricsRegistry* metrics)
    : options_(std::move(options)),
      client_(client),
      store_(store),
      cache_(cache),
      clock_(clock),
      metrics_(metrics),
      sync_config_(options_.sync) {
  cache_hits_ = metrics_->GetCounter("stagefs_cache_hits_total",
                                     "Reads served entirely from the local cache");
  cache_misses_ = metrics_->GetCounter("stagefs_cache_misses_total",
                                       "Reads that needed bytes from S3");
  import_failures_ = metrics_->GetCounter("stagefs_import_failures_total",
                                          "S3 keys that could not be imported as files");
  import_age_ = metrics_->GetGauge(
      "stagefs_import_age_seconds",
      "For the last change made in S3 that the mount applied: seconds from the "
      "object's Last-Modified to the moment it was applied");
  changes_applied_ = metrics_->GetCounter("stagefs_s3_changes_applied_total",
                                          "New or changed objects in S3 applied to the mount");
  lost_found_gauge_ = metrics_->GetGauge("stagefs_lost_and_found_files",
                                         "Files moved to lost+found by conflicts with S3");
  evictions_ = metrics_->GetCounter("stagefs_cache_evictions_total",
                                    "Files whose clean cached data was evicted");
  events_received_ = metrics_->GetCounter("stagefs_s3_events_total",
                                          "S3 event notification records received");
  files_imported_ = metrics_->GetCounter("stagefs_files_imported_total",
                                         "Small files copied into the cache in the background");
  head_pool_ = std::make_unique<ThreadPool>(std::max(1, options_.head_concurrency), "sfs-head");
  prefetch_pool_ = std::make_unique<ThreadPool>(16, "sfs-prefetch");
  import_pool_ = std::make_unique<ThreadPool>(8, "sfs-import");
}

FileSystem::~FileSystem() {
  StopBackground();
  // Stop background work before the tables it touches go away.
  import_pool_.reset();
  prefetch_pool_.reset();
  head_pool_.reset();
  std::lock_guard lock(handles_mu_);
  handles_.clear();
}

Status FileSystem::Init() {
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(store_->LoadInodes([&](meta::InodeRecord&& rec) {
    auto inode = std::make_unique<Inode>();
    inode->rec = std::move(rec);
    inodes_[inode->rec.ino] = std::move(inode);
  }));
  // Unlinked inodes of a previous run: those whose object still has to be
  // deleted stay for the exporter; the rest are garbage now.
  std::vector<uint64_t> orphans;
  for (auto& [ino, inode] : inodes_) {
    if (ino == meta::kRootIno || inode->rec.parent != 0) continue;
    if (inode->rec.key.empty()) orphans.push_back(ino);
  }
  for (uint64_t ino : orphans) {
    inodes_.erase(ino);
    RETURN_IF_ERROR(store_->DeleteInode(ino));
    RETURN_IF_ERROR(cache_->Drop(ino));
  }
  // Cache files without a file inode: a crash lost their inode record before
  // it was committed (the data was never fsynced, and no name leads to it).
  RETURN_IF_ERROR(cache_->RemoveOrphans([&](uint64_t ino) {
    auto it = inodes_.find(ino);
    return it != inodes_.end() && it->second->rec.is_file();
  }));
  for (auto& [ino, inode] : inodes_) {
    inode->modified_known = false;  // after a restart the exact ranges are unknown
    if (!inode->rec.key.empty()) objects_by_key_[inode->rec.key] = ino;
  }
  for (auto& [ino, inode] : inodes_) {
    if (ino == meta::kRootIno) continue;
    auto parent = inodes_.find(inode->rec.parent);
    if (parent != inodes_.end()) parent->second->children[inode->rec.name] = ino;
  }
  // A configuration changed at runtime (config put) outlives the mount.
  auto saved = store_->GetSetting("sync_config");
  if (saved.ok() && !saved->empty()) {
    auto parsed = SyncConfigFromJson(*saved);
    if (parsed.ok()) sync_config_ = *parsed;
  }
  if (!inodes_.count(meta::kRootIno)) {
    auto root = std::make_unique<Inode>();
    meta::InodeRecord& r = root->rec;
    r.ino = meta::kRootIno;
    r.kind = meta::Kind::kDirectory;
    r.mode = S_IFDIR | options_.defaults.dir_mode;
    r.uid = options_.defaults.uid;
    r.gid = options_.defaults.gid;
    r.mtime_ns = r.atime_ns = r.ctime_ns = clock_->WallNanos();
    RETURN_IF_ERROR(PersistLocked(r));
    inodes_[meta::kRootIno] = std::move(root);
  }
  return store_->Flush();
}

FileSystem::Inode* FileSystem::FindLocked(uint64_t ino) {
  auto it = inodes_.find(ino);
  return it == inodes_.end() ? nullptr : it->second.get();
}

Result<std::pair<FileSystem::Inode*, FileSystem::Inode*>> FileSystem::ChildLocked(
    uint64_t parent, const std::string& name) {
  Inode* dir = FindLocked(parent);
  if (!dir) return Status(ErrorCode::kNotFound, "stale directory");
  auto it = dir->children.find(name);
  Inode* child = it == dir->children.end() ? nullptr : FindLocked(it->second);
  if (!child) return Status(ErrorCode::kNotFound, "no such entry");
  return std::make_pair(dir, child);
}

Attr FileSystem::AttrOf(const meta::InodeRecord& r) const {
  Attr a;
  a.ino = r.ino;
  a.mode = r.mode;
  a.nlink = r.is_dir() ? 2 : 1;
  if (r.parent == 0 && r.ino != meta::kRootIno) a.nlink = 0;  // unlinked, still open
  a.uid = r.uid;
  a.gid = r.gid;
  a.size = r.is_symlink() ? r.symlink_target.size() : r.is_dir() ? 4096 : r.is_special() ? 0 : r.size;
  a.rdev = r.rdev;
  a.atime_ns = r.atime_ns;
  a.mtime_ns = r.mtime_ns;
  a.ctime_ns = r.ctime_ns ? r.ctime_ns : r.mtime_ns;
  return a;
}

Entry FileSystem::EntryOfLocked(Inode& inode) {
  return Entry{inode.rec.ino, inode.rec.gen, AttrOf(inode.rec)};
}

std::string FileSystem::PathOfLocked(uint64_t ino) {
  std::vector<const std::string*> parts;
  for (Inode* n = FindLocked(ino); n && n->rec.ino != meta::kRootIno;
       n = FindLocked(n->rec.parent))
    parts.push_back(&n->rec.name);
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!path.empty()) path += '/';
    path += **it;
  }
  return path;
}

std::string FileSystem::KeyOfLocked(uint64_t ino) {
  std::string path = PathOfLocked(ino);
  Inode* n = FindLocked(ino);
  if (n && n->rec.is_dir() && !path.empty()) path += '/';
  return options_.prefix + path;
}

Status FileSystem::PersistLocked(const meta::InodeRecord& rec) {
  // Residency first: a committed size never relies on bytes whose residency
  // was not recorded (after a crash they would read EIO, or old bytes from S3).
  if (rec.is_file()) {
    auto persisted = cache_->PersistIfChanged(rec.ino);
    if (!persisted.ok()) return persisted.error();
  }
  return store_->PutInode(rec);
}

void FileSystem::SetKeyLocked(Inode* n, const std::string& key) {
  if (n->rec.key == key) return;
  if (!n->rec.key.empty()) {
    auto it = objects_by_key_.find(n->rec.key);
    if (it != objects_by_key_.end() && it->second == n->rec.ino) objects_by_key_.erase(it);
  }
  n->rec.key = key;
  if (!key.empty()) objects_by_key_[key] = n->rec.ino;
}

void FileSystem::NotifyKernel(const std::vector<std::pair<uint64_t, std::string>>& changes) {
  if (!notifier_) return;
  std::set<uint64_t> dirs;
  for (const auto& [ino, name] : changes) {
    if (name.empty()) {
      notifier_->InvalidateInode(ino);
    } else {
      notifier_->InvalidateEntry(ino, name);
      dirs.insert(ino);
    }
  }
  for (uint64_t dir : dirs) notifier_->InvalidateInode(dir);
}

void FileSystem::EraseLocked(uint64_t ino) {
  Inode* n = FindLocked(ino);
  if (!n) return;
  SetKeyLocked(n, "");
  (void)store_->DeleteInode(ino);
  (void)cache_->Drop(ino);
  inodes_.erase(ino);
}

Result<Entry> FileSystem::Lookup(uint64_t parent, const std::string& name) {
  if (name == "." || name == "..") {
    // NFS file handles: the kernel may ask for "." or ".." of a node it has
    // already forgotten; every inode is in the table, so answer from it.
    std::unique_lock lock(mu_);
    Inode* dir = FindLocked(parent);
    if (!dir) return Status(ErrorCode::kNotFound, "stale node id");
    Inode* target = name == "." ? dir : FindLocked(dir->rec.ino == meta::kRootIno
                                                       ? meta::kRootIno
                                                       : dir->rec.parent);
    if (!target) return Status(ErrorCode::kNotFound, "parent is gone");
    target->nlookup++;
    return EntryOfLocked(*target);
  }
  if (name.size() > 255) return Status(ErrorCode::kNameTooLong, "name longer than 255 bytes");
  RETURN_IF_ERROR(EnsureListed(parent));
  std::unique_lock lock(mu_);
  ASSIGN_OR_RETURN(auto found, ChildLocked(parent, name));
  Inode* child = found.second;
  child->nlookup++;
  return EntryOfLocked(*child);
}

void FileSystem::Forget(uint64_t ino, uint64_t nlookup) {
  std::unique_lock lock(mu_);
  Inode* n = FindLocked(ino);
  if (!n) return;
  n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
  // Inodes stay in the table (they are the namespace); only unlinked ones with
  // no references left are removed.
  MaybeEraseLocked(n);
}

Result<Attr> FileSystem::GetAttr(uint64_t ino) {
  std::shared_lock lock(mu_);
  Inode* n = FindLocked(ino);
  if (!n) return Status(ErrorCode::kNotFound, "stale node id");
  return AttrOf(n->rec);
}

Result<std::string> FileSystem::ReadLink(uint64_t ino) {
  std::shared_lock lock(mu_);
  Inode* n = FindLocked(ino);
  if (!n) return Status(ErrorCode::kNotFound, "stale node id");
  if (!n->rec.is_symlink()) return Status(ErrorCode::kInvalidArgument, "not a symlink");
  return n->rec.symlink_target;
}

Result<uint64_t> FileSystem::OpenDir(uint64_t ino) {
  {
    std::shared_lock lock(mu_);
    Inode* n = FindLocked(ino);
    if (!n) return Status(ErrorCode::kNotFound, "stale node id");
    if (!n->rec.is_dir()) return Status(ErrorCode::kNotDirectory, "not a directory");
  }
  RETURN_IF_ERROR(EnsureListed(ino));
  auto h = std::make_shared<DirHandle>();
  h->ino = ino;
  std::lock_guard lock(handles_mu_);
  uint64_t fh = next_fh_++;
  dir_handles_[fh] = std::move(h);
  return fh;
}

Status FileSystem::ReadDir(uint64_t ino, uint64_t fh, uint64_t offset, bool plus,
                           const std::function<bool(const DirEntry&)>& emit) {
  std::shared_ptr<DirHandle> h;
  {
    std::lock_guard lock(handles_mu_);
    auto it = dir_handles_.find(fh);
    if (it == dir_handles_.end()) return Status(ErrorCode::kInvalidArgument, "bad dir handle");
    h = it->second;
  }
  std::unique_lock lock(mu_);
  Inode* dir = FindLocked(ino);
  if (!dir) return Status(ErrorCode::kNotFound, "stale node id");
  // Offsets index a snapshot taken when the listing starts, so they stay stable
  // while the directory changes and resuming is O(1).
  if (offset == 0 || !h->has_snapshot) {
    h->snapshot.assign(dir->children.begin(), dir->children.end());
    h->has_snapshot = true;
  }
  // Offsets 1 and 2 are "." and "..".
  for (uint64_t off = offset; off < h->snapshot.size() + 2; ++off) {
    DirEntry e;
    e.next_offset = off + 1;
    Inode* target = nullptr;
    if (off == 0) {
      e.name = ".";
      target = dir;
    } else if (off == 1) {
      e.name = "..";
      target = FindLocked(ino == meta::kRootIno ? ino : dir->rec.parent);
      if (!target) target = dir;
    } else {
      const auto& [name, child_ino] = h->snapshot[off - 2];
      target = FindLocked(child_ino);
      if (!target || target->rec.parent != ino) continue;  // removed since the snapshot
      e.name = name;
    }
    e.entry = EntryOfLocked(*target);
    if (!emit(e)) break;
    if (plus && off >= 2) target->nlookup++;
  }
  return OkStatus();
}

void FileSystem::ReleaseDir(uint64_t fh) {
  std::lock_guard lock(handles_mu_);
  dir_handles_.erase(fh);
}

SyncConfig FileSystem::GetSyncConfig() {
  std::shared_lock lock(mu_);
  return sync_config_;
}

Result<SyncConfig> FileSystem::PutSyncConfig(SyncConfig config) {
  RETURN_IF_ERROR(ValidateSyncConfig(config));
  std::unique_lock lock(mu_);
  if (config.version != sync_config_.version)
    return Status(ErrorCode::kConflict,
                  "ConflictException: the configuration changed (version " +
                      std::to_string(config.version) + " is stale; the current version is " +
                      std::to_string(sync_config_.version) + ")");
  config.version = sync_config_.version + 1;
  RETURN_IF_ERROR(store_->PutSetting("sync_config", SyncConfigToJson(config)));
  RETURN_IF_ERROR(store_->Flush());
  sync_config_ = config;
  return config;
}

FsStats FileSystem::Stats() {
  FsStats s;
  {
    std::shared_lock lock(mu_);
    s.inodes = inodes_.size();
  }
  s.cache_bytes = cache_->used_bytes();
  auto f = store_->ListImportFailures();
  if (f.ok()) s.import_failures = f->size();
  return s;
}

void FileSystem::WaitForBackgroundImports() {
  std::unique_lock lock(bg_mu_);
  bg_cv_.wait(lock, [&] { return bg_pending_ == 0; });
}

}  // namespace stagefs::core
