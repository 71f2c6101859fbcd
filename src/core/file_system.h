// FileSystem: the POSIX semantics of a stagefs mount, with no FUSE types.
//
// It owns the in-memory inode table (loaded from and written through to the
// MetadataStore), imports directories from S3 on first access, routes reads to
// the data cache, the block cache (ranged GETs) or a sequential Prefetcher, and
// imports small files in the background. The FUSE adapter (src/fuse) translates
// requests into these calls and errors into errno with core/errno_map.h.
//
// Lookup counts follow the kernel protocol: every successful Lookup/Create/
// ReadDirPlus entry adds one, Forget subtracts. Inode numbers are never reused
// and are valid node ids; LookupDot/LookupDotDot answer for nodes the kernel
// has forgotten (NFS export). Thread-safe. Lock order: mu_ before any handle
// mutex; no lock is held across an S3 call.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "cache/data_cache.h"
#include "core/fs_options.h"
#include "meta/metadata_store.h"
#include "prefetch/prefetcher.h"
#include "s3/object_client.h"
#include "sync/export_job.h"
#include "sync/exporter.h"
#include "sync/s3_events.h"

namespace stagefs::core {

struct Attr {
  uint64_t ino = 0;
  uint32_t mode = 0;
  uint32_t nlink = 1;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t rdev = 0;
};

struct Entry {
  uint64_t ino = 0;
  uint64_t gen = 0;
  Attr attr;
};

struct DirEntry {
  std::string name;
  Entry entry;  // attr.mode carries the type
  uint64_t next_offset = 0;
};

struct OpenResult {
  uint64_t fh = 0;
  bool keep_cache = false;  // the kernel may keep its page cache for this inode
  // I/O bypasses the page cache with the caller's exact ranges: a lost+found
  // copy with unfetched bytes (the held ranges stay readable around them), and
  // a write-only handle from create (see Create).
  bool direct_io = false;
};

// Who is asking (from the FUSE request).
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct SetAttrRequest {
  std::optional<uint32_t> mode;  // permission bits
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  std::optional<int64_t> atime_ns;  // kNow = the current time
  std::optional<int64_t> mtime_ns;
  static constexpr int64_t kNow = INT64_MIN;
};

struct FsStats {
  uint64_t inodes = 0;
  uint64_t cache_bytes = 0;
  uint64_t import_failures = 0;
};

// Told about changes the kernel must drop from its caches.
class KernelNotifier {
 public:
  virtual ~KernelNotifier() = default;
  virtual void InvalidateInode(uint64_t ino) = 0;
  virtual void InvalidateEntry(uint64_t parent, const std::string& name) = 0;
};

class FileSystem final : public sync::ExportTarget {
 public:
  // All pointers must outlive the FileSystem.
  FileSystem(FsOptions options, s3::ObjectClient* client, meta::MetadataStore* store,
             cache::DataCache* cache, Clock* clock, MetricsRegistry* metrics);
  ~FileSystem() override;

  // Loads the inode table from the store (creating the root on first use).
  Status Init();
  void SetNotifier(KernelNotifier* notifier) { notifier_ = notifier; }
  // Connects the export engine and schedules everything left pending by a
  // previous run. `exporter` must outlive the FileSystem's use of it.
  void SetExporter(sync::Exporter* exporter);

  Result<Entry> Lookup(uint64_t parent, const std::string& name);
  void Forget(uint64_t ino, uint64_t nlookup);
  Result<Attr> GetAttr(uint64_t ino);
  Result<std::string> ReadLink(uint64_t ino);

  Result<uint64_t> OpenDir(uint64_t ino);
  // Calls `emit` for entries from `offset` on until it returns false. With
  // `plus`, each emitted entry counts as a lookup (readdirplus) and `emit`
  // must return false without consuming when the reply buffer is full.
  Status ReadDir(uint64_t ino, uint64_t fh, uint64_t offset, bool plus,
                 const std::function<bool(const DirEntry&)>& emit);
  void ReleaseDir(uint64_t fh);

  Result<OpenResult> Open(uint64_t ino, int flags);
  Result<size_t> Read(uint64_t fh, uint64_t off, size_t len, char* buf);
  void Release(uint64_t fh);

  // Mutations (namespace_ops.cc, write_path.cc). Permission checks on mode bits
  // are the kernel's (default_permissions); these enforce the rest of POSIX.
  Result<std::pair<Entry, OpenResult>> Create(uint64_t parent, const std::string& name,
                                              uint32_t mode, int flags, const Caller& caller);
  Result<Entry> Mknod(uint64_t parent, const std::string& name, uint32_t mode, uint64_t rdev,
                      const Caller& caller);
  Result<Entry> Mkdir(uint64_t parent, const std::string& name, uint32_t mode,
                      const Caller& caller);
  Result<Entry> Symlink(uint64_t parent, const std::string& name, const std::string& target,
                        const Caller& caller);
  Status Unlink(uint64_t parent, const std::string& name);
  Status Rmdir(uint64_t parent, const std::string& name);
  // flags: RENAME_NOREPLACE, RENAME_EXCHANGE (from <linux/fs.h>).
  Status Rename(uint64_t parent, const std::string& name, uint64_t new_parent,
                const std::string& new_name, unsigned flags);
  Result<Attr> SetAttr(uint64_t ino, const SetAttrRequest& req);
  Result<size_t> Write(uint64_t fh, uint64_t off, const char* data, size_t len);
  Status Fallocate(uint64_t fh, int mode, uint64_t off, uint64_t len);
  // Makes the inode's data and metadata durable on local disk.
  Status Fsync(uint64_t ino);
  // Exports `ino` (and its subtree; kRootIno = everything) now and waits.
  Status SyncNow(uint64_t ino);

  // sync::ExportTarget (export_target.cc).
  Result<std::optional<sync::ExportJob>> PrepareExport(uint64_t ino) override;
  void CompleteExport(const sync::ExportJob& job, const sync::ExportResult& result) override;
  Status FetchMissing(uint64_t ino, const sync::ExportJob& job) override;

  // Names at the mount root that belong to stagefs (lost+found, temporary keys).
  static bool IsInternalName(const std::string& name);

  // Background work (background.cc): the reconciler, event-driven refreshes and
  // expiration run on one thread between StartBackground and StopBackground.
  void StartBackground();
  void StopBackground();
  // S3 event notifications: the parent directories of the keys are listed again
  // at once (so events cannot apply stale state, whatever their order).
  void OnObjectEvents(const std::vector<sync::ObjectEvent>& events);
  // One pass of each, for tests.
  void ReconcileDue();
  void ExpireDue();
  Status RefreshDirectory(uint64_t dir_ino);

  // Waits until background imports queued so far have finished (tests, sync).
  void WaitForBackgroundImports();
  FsStats Stats();
  Result<std::vector<meta::ImportFailure>> ImportFailures() { return store_->ListImportFailures(); }
  const FsOptions& options() const { return options_; }

  // Synchronization configuration (sync_config.h), changeable at runtime.
  SyncConfig GetSyncConfig();
  // Replaces the configuration if `config.version` equals the current version
  // (kConflict otherwise); the stored version becomes version + 1.
  Result<SyncConfig> PutSyncConfig(SyncConfig config);

  // "S3Key: s3://b/k\nFilePath: /k\nExportState: clean\nExportError: \n..." (status_report.cc).
  Result<std::string> FileStatusText(uint64_t ino);
  // Mount-wide status as JSON: bucket, counts, import failures.
  std::string MountStatusJson();

 private:
  struct Inode {
    meta::InodeRecord rec;
    uint64_t nlookup = 0;
    int open_count = 0;
    std::map<std::string, uint64_t> children;  // directories only
    bool importing = false;                    // a listing is in flight
    uint64_t change_seq = 0;                   // bumped by every local change
    // Ranges written locally since the last export; unknown after a restart
    // (then every resident byte counts as modified).
    cache::ExtentSet modified;
    bool modified_known = true;
    // Another inode must overwrite this one's object (a rename cycle): copy it
    // to a temporary key first.
    bool park_requested = false;
  };
  struct Handle;
  struct DirHandle {
    uint64_t ino = 0;
    std::vector<std::pair<std::string, uint64_t>> snapshot;  // taken at offset 0
    bool has_snapshot = false;
  };

  // Namespace helpers; *Locked functions require mu_.
  Inode* FindLocked(uint64_t ino);
  // The directory `parent` and its child `name`, or kNotFound.
  Result<std::pair<Inode*, Inode*>> ChildLocked(uint64_t parent, const std::string& name);
  Attr AttrOf(const meta::InodeRecord& r) const;
  Entry EntryOfLocked(Inode& inode);
  std::string PathOfLocked(uint64_t ino);  // relative to the mount root, no leading '/'
  std::string KeyOfLocked(uint64_t ino);   // full S3 key (prefix + path)
  Status PersistLocked(const meta::InodeRecord& rec);

  // Directory import (dir_import.cc).
  Status EnsureListed(uint64_t dir_ino);
  // Lists `dir_ino` and every directory below it (before a directory rename,
  // whose children must all be known to move them in S3).
  Status EnsureListedRecursive(uint64_t dir_ino);
  Status ImportDirectory(uint64_t dir_ino, const std::string& key_prefix);

  // Read path (read_path.cc).
  Result<size_t> ReadBlocks(Handle& h, uint64_t off, size_t len, char* buf);
  // GETs [start, end) of `key` (pinned to `etag`, or to `version_id`) into the
  // cache where not resident yet.
  Status FetchIntoCache(uint64_t ino, const std::string& key, const std::string& etag,
                        uint64_t start, uint64_t end,
                        const std::string& version_id = "");
  Status Revalidate(uint64_t ino, bool* changed);
  void ScheduleImport(uint64_t ino);
  void BackgroundLoop();
  // Saves changed residency maps and commits the metadata batch.
  Status CommitBatch();
  // Drops the cached bytes of `ino` if they are clean; whether it did.
  bool Evict(uint64_t ino);
  // Clean, closed files with cached bytes, least recently used first.
  std::vector<std::pair<int64_t, uint64_t>> EvictionCandidates();
  // The cache disk is full: evicts least recently used clean data until
  // `bytes` (and a margin) are free. Whether anything was evicted. Requires
  // that mu_ is not held.
  bool MakeRoom(uint64_t bytes);
  void EnforceWatermark();
  void ImportFile(uint64_t ino);
  void MarkStale(uint64_t ino);

  // Mutation helpers (namespace_ops.cc, write_path.cc); *Locked require mu_.
  Result<Inode*> NewChildLocked(Inode* dir, const std::string& name, meta::Kind kind,
                                uint32_t mode, const Caller& caller);
  Status CheckNewNameLocked(Inode* dir, const std::string& name);
  // Records a local change and schedules its export.
  void ChangedLocked(Inode* n, bool data);
  // Called before the cached bytes of a file change: a clean file is marked
  // dirty and that is committed first, so a crash of the daemon cannot leave
  // changed bytes in a file the next mount takes for the exported content.
  Status DirtyBeforeChangeLocked(Inode* n);
  void ScheduleLocked(uint64_t ino);
  // Detaches a child that is being unlinked or replaced.
  void DetachLocked(Inode* dir, const std::string& name, Inode* child);
  // Removes the record once nothing refers to it and no delete is pending.
  void MaybeEraseLocked(Inode* n);
  void ScheduleSubtreeLocked(Inode* n);
  // The length of the longest key below directory `dir`, relative to its own
  // key (e.g. "b/c.txt" for dir/b/c.txt): what a rename adds to its new key.
  size_t LongestPathBelowLocked(Inode* dir);
  Status CheckWritable() const;
  Status TruncateLocked(Inode* n, uint64_t size);
  std::string RelKeyOfLocked(uint64_t ino);  // KeyOfLocked without the prefix

  // Conflicts (lost_found.cc).
  static constexpr const char* kLostFoundName = ".stagefs-lost+found";
  Inode* LostFoundDirLocked();  // created on demand
  bool InLostFoundLocked(const Inode* n);

  // Tells the kernel about changes it did not make itself: an entry
  // (parent, name) or an inode (name empty). A directory that gained or lost a
  // name is invalidated too, which drops its cached readdir pages.
  void NotifyKernel(const std::vector<std::pair<uint64_t, std::string>>& changes);
  // Metrics for a new or changed object from S3 applied now.
  void ChangeApplied(int64_t last_modified_ns, int64_t now_ns);
  // Removes the clean child `name` of `dir` whose object was deleted in S3
  // (no delete is exported) and records the kernel entry to invalidate.
  void DetachDeletedLocked(Inode* dir, const std::string& name,
                           std::vector<std::pair<uint64_t, std::string>>* invalidate);
  // The nearest ancestor directory whose export failed for good, or null.
  Inode* FailedAncestorLocked(Inode* n);
  static constexpr const char* kDependencyExportFailed = "DependencyExportFailed";
  // Fetches `ranges` of a lost+found copy from the object version it was based on.
  void RecoverFromVersion(uint64_t ino, const std::string& key, const std::string& version_id,
                          const std::vector<std::pair<uint64_t, uint64_t>>& ranges);
  // `deleted_in_s3`: the object is gone, so the entry's S3Key is empty.
  void MoveToLostFoundLocked(Inode* n, const std::string& reason, bool deleted_in_s3,
                             std::vector<std::pair<uint64_t, std::string>>* invalidate);
  // Byte ranges of file `n` that are neither resident nor fetchable from the
  // object version it is based on: they can never be read (EIO) nor exported.
  std::vector<std::pair<uint64_t, uint64_t>> UnfetchableLocked(Inode* n);
  // The end of the bytes that a read may fetch from S3 (0 if none may).
  uint64_t FetchLimitLocked(Inode* n);
  // Sets rec.key and keeps objects_by_key_ in step.
  void SetKeyLocked(Inode* n, const std::string& key);
  // Removes the inode from the table, the index, the store and the cache.
  void EraseLocked(uint64_t ino);

  const FsOptions options_;
  s3::ObjectClient* client_;
  meta::MetadataStore* store_;
  cache::DataCache* cache_;
  Clock* clock_;
  MetricsRegistry* metrics_;
  KernelNotifier* notifier_ = nullptr;
  // Full keys with an upload in flight, and the inode uploading (GUARDED_BY(mu_)).
  std::map<std::string, uint64_t> uploading_keys_;
  // Inodes whose export failed because a parent directory's did (GUARDED_BY(mu_)).
  std::set<uint64_t> blocked_by_parent_;
  sync::Exporter* exporter_ = nullptr;

  std::shared_mutex mu_;
  std::condition_variable_any import_cv_;
  std::unordered_map<uint64_t, std::unique_ptr<Inode>> inodes_;  // GUARDED_BY(mu_)
  // Which inode's S3 object sits at each key (relative to the prefix), as far
  // as we know: live inodes, renamed ones not yet moved, and unlinked ones whose
  // delete is pending. An export that writes key K consults it to overwrite,
  // adopt or first move away what is at K.
  std::map<std::string, uint64_t> objects_by_key_;  // GUARDED_BY(mu_)
  SyncConfig sync_config_;                          // GUARDED_BY(mu_)

  std::mutex handles_mu_;  // after mu_ in lock order
  uint64_t next_fh_ = 1;   // GUARDED_BY(handles_mu_)
  std::unordered_map<uint64_t, std::shared_ptr<Handle>> handles_;  // GUARDED_BY(handles_mu_)
  std::unordered_map<uint64_t, std::shared_ptr<DirHandle>> dir_handles_;  // GUARDED_BY(handles_mu_)

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  int bg_pending_ = 0;  // GUARDED_BY(bg_mu_)
  std::set<uint64_t> importing_;  // GUARDED_BY(bg_mu_): file imports queued or running
  std::atomic<bool> stopping_imports_{false};

  Counter* cache_hits_;
  Counter* cache_misses_;
  Gauge* import_age_;
  Counter* changes_applied_;
  Counter* import_failures_;
  Counter* files_imported_;
  Gauge* lost_found_gauge_;
  Counter* evictions_;
  Counter* events_received_;

  std::mutex bg_thread_mu_;
  std::condition_variable bg_thread_cv_;
  std::set<uint64_t> refresh_queue_;  // GUARDED_BY(bg_thread_mu_)
  bool bg_stop_ = false;              // GUARDED_BY(bg_thread_mu_)
  std::thread bg_thread_;

  // Declared last: destroyed first, so no task outlives the state above.
  std::unique_ptr<ThreadPool> head_pool_;
  std::unique_ptr<ThreadPool> prefetch_pool_;
  std::unique_ptr<ThreadPool> import_pool_;
};

}  // namespace stagefs::core
