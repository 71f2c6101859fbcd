// Exporter: writes local changes back to S3 after a per-file quiet window.
//
// The core calls Schedule(ino) on every change; the inode is exported once it
// has had no change for `export_delay` (N writes inside one window make one
// PUT). Exports run on a bounded worker pool, oldest first. Small files are one
// PutObject; large files are multipart uploads whose unchanged parts are
// server-side UploadPartCopy when the server supports it. A conditional write
// (If-Match / If-None-Match, or a HEAD just before the commit where the server
// cannot be trusted) guards against overwriting a change made directly in S3.
// Retryable errors retry forever with backoff; others are recorded on the inode.
// Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/metrics.h"
#include "base/thread_pool.h"
#include "s3/object_client.h"
#include "sync/export_job.h"

namespace stagefs::sync {

// Maps an S3 error of a commit to a result (412 = conflict).
ExportResult FromS3Error(const s3::S3Error& e);

struct ExporterOptions {
  std::string bucket;
  Duration export_delay = std::chrono::seconds(60);
  int concurrency = 8;              // inodes exported at once
  uint64_t multipart_threshold = 16 << 20;
  uint64_t min_part_size = 8 << 20;
  // What the server honours (from capability probing); when a precondition is
  // not trusted the exporter HEADs the key right before committing.
  bool trust_put_if_match = false;
  bool trust_put_if_none_match = false;
  bool upload_part_copy = true;
  Duration retry_base = std::chrono::milliseconds(200);
  Duration retry_max = std::chrono::seconds(30);
};

class Exporter {
 public:
  Exporter(ExporterOptions options, s3::ObjectClient* client, ExportTarget* target, Clock* clock,
           MetricsRegistry* metrics);
  ~Exporter();

  void Start();
  // Stops the scheduler; pending work stays recorded in the metadata store.
  void Stop();

  // Marks `ino` changed now; it is exported after the quiet window.
  void Schedule(uint64_t ino);
  // Exports everything scheduled (ignoring the quiet window) and waits until the
  // queue is empty or only failed inodes remain. `inos` empty = all.
  // With a timeout, gives up (kUnavailable) when it passes; the work stays queued.
  // Fails (kIo) when an export in scope failed for good (conflict, access
  // denied, path too long, ...), naming the first error.
  Status SyncNow(const std::set<uint64_t>& inos = {},
                 std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  size_t pending() const;

  // The part size for a file of `size` bytes: at least min_part_size, and large
  // enough for 10,000 parts (S3's limit), rounded up to a MiB.
  static uint64_t PartSize(uint64_t size, uint64_t min_part_size);

 private:
  struct Pending {
    MonoTime due;
    MonoTime first_change;
    int attempts = 0;
    bool running = false;
    bool rescheduled = false;  // changed again while running
  };
  void Loop();
  void RunOne(uint64_t ino);
  ExportResult Execute(const ExportJob& job);
  ExportResult PutSmall(const ExportJob& job);
  ExportResult PutMultipart(const ExportJob& job);
  ExportResult CopyMetadata(const ExportJob& job);
  ExportResult Delete(const ExportJob& job);
  // Where preconditions are not trusted: checks that `key` still has `etag`
  // ("" = must not exist). Returns a conflict result on mismatch.
  std::optional<ExportResult> CheckBeforeCommit(const std::string& key, const std::string& etag,
                                                bool may_be_absent = false);
  // After a conflict: whether `job.key` already holds exactly this upload
  // (same single-part or remembered multipart ETag, size and metadata), i.e.
  // an earlier attempt of the same export reached S3 but its response was
  // lost. Then that is success.
  std::optional<ExportResult> OwnEarlierUpload(const ExportJob& job);
  void UpdateGauges();

  const ExporterOptions options_;
  s3::ObjectClient* client_;
  ExportTarget* target_;
  Clock* clock_;
  Gauge* pending_gauge_;
  Gauge* age_gauge_;
  Counter* failures_;
  Counter* exports_;
  Counter* bytes_uploaded_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Pending> pending_;  // GUARDED_BY(mu_)
  // The pending inodes that are not running, by due time; and all pending
  // inodes by first change (for the age gauge). Both GUARDED_BY(mu_), so that
  // scheduling and starting exports stay O(log n) with many files pending.
  std::set<std::pair<MonoTime, uint64_t>> queue_;
  std::set<std::pair<MonoTime, uint64_t>> by_age_;
  // Inodes whose last export failed for good (until they change again).
  std::map<uint64_t, std::string> failed_;  // GUARDED_BY(mu_)
  // Multipart uploads whose commit was sent but not confirmed: key -> the ETag
  // S3 gives the completed object (GUARDED_BY(mu_)).
  std::map<std::string, std::string> multipart_etags_;
  // Upload conflicts since the last sync (the local copies went to lost+found).
  std::map<uint64_t, std::string> conflicts_;  // GUARDED_BY(mu_)
  int force_ = 0;                        // GUARDED_BY(mu_): >0 ignores the quiet window
  bool stopping_ = false;                // GUARDED_BY(mu_)
  int running_ = 0;                      // GUARDED_BY(mu_)
  std::once_flag no_copy_logged_;
  std::atomic<bool> upload_part_copy_;  // cleared when the server answers 501
  std::unique_ptr<ThreadPool> workers_;
  std::thread thread_;
};

}  // namespace stagefs::sync
