#include "sync/exporter.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <random>
#include <string_view>
#include <vector>

#include "s3/etag.h"

namespace stagefs::sync {
namespace {

// The result of a commit whose object S3 describes with `r` (a HEAD or a copy).
template <typename T>
ExportResult CommittedAs(const T& r) {
  ExportResult out;
  out.etag = r.etag;
  out.version_id = r.version_id;
  out.last_modified_ns = r.last_modified_ns;
  return out;
}

// The single-part ETag of the first `size` bytes of the file at `path`.
Result<std::string> SinglePartEtagOfFile(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (size == 0) return s3::SinglePartEtag("");
    return Status(ErrorCode::kIo, "cannot open " + path);
  }
  s3::EtagHasher md5;
  std::vector<char> buf(1 << 20);
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size - done),
                        static_cast<off_t>(done));
    if (n <= 0) {
      ::close(fd);
      return Status(ErrorCode::kIo, "short read of " + path);
    }
    md5.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return md5.Finish();
}

}  // namespace

Exporter::Exporter(ExporterOptions options, s3::ObjectClient* client, ExportTarget* target,
                   Clock* clock, MetricsRegistry* metrics)
    : options_(std::move(options)),
      client_(client),
      target_(target),
      clock_(clock),
      upload_part_copy_(options_.upload_part_copy) {
  pending_gauge_ = metrics->GetGauge("stagefs_pending_exports",
                                     "Inodes with local changes not yet in S3");
  age_gauge_ = metrics->GetGauge("stagefs_export_age_seconds",
                                 "Age of the oldest change not yet exported");
  failures_ = metrics->GetCounter("stagefs_export_failures_total",
                                  "Exports that failed with a non-retryable error");
  exports_ = metrics->GetCounter("stagefs_exports_total", "Completed exports");
  bytes_uploaded_ = metrics->GetCounter("stagefs_export_bytes_total",
                                        "File bytes uploaded by exports (not server-side copies)");
}

Exporter::~Exporter() { Stop(); }

void Exporter::Start() {
  workers_ = std::make_unique<ThreadPool>(std::max(1, options_.concurrency), "sfs-export");
  thread_ = std::thread([this] { Loop(); });
}

void Exporter::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  workers_.reset();  // waits for running exports
}

uint64_t Exporter::PartSize(uint64_t size, uint64_t min_part_size) {
  constexpr uint64_t kMiB = 1 << 20;
  uint64_t need = (size + 9999) / 10000;
  uint64_t part = std::max(min_part_size, need);
  return (part + kMiB - 1) / kMiB * kMiB;
}

void Exporter::Schedule(uint64_t ino) {
  std::lock_guard lock(mu_);
  MonoTime now = clock_->Now();
  auto [it, inserted] = pending_.try_emplace(ino);
  Pending& p = it->second;
  if (inserted) {
    p.first_change = now;
    by_age_.emplace(now, ino);
  } else if (!p.running) {
    queue_.erase({p.due, ino});
  }
  p.due = now + options_.export_delay;
  p.attempts = 0;
  failed_.erase(ino);
  if (p.running) p.rescheduled = true;
  else queue_.emplace(p.due, ino);
  pending_gauge_->Set(static_cast<double>(pending_.size()));
  // The loop wakes up every 50 ms anyway; only a shorter quiet window needs it now.
  if (options_.export_delay < std::chrono::milliseconds(50) || force_) cv_.notify_all();
}

size_t Exporter::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

Status Exporter::SyncNow(const std::set<uint64_t>& inos,
                         std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(mu_);
  force_++;
  cv_.notify_all();
  auto done = [&] {
    if (stopping_ || pending_.empty()) return true;
    if (inos.empty()) return false;
    for (uint64_t ino : inos)
      if (pending_.count(ino)) return false;
    return true;
  };
  bool finished = true;
  if (timeout) finished = cv_.wait_for(lock, *timeout, done);
  else cv_.wait(lock, done);
  force_--;
  if (stopping_) return Status(ErrorCode::kCancelled, "exporter stopped");
  if (!finished)
    return Status(ErrorCode::kUnavailable, std::to_string(pending_.size()) +
                                               " exports still pending (S3 unreachable?)", true);
  size_t failed = 0;
  std::string first;
  for (const auto& [ino, why] : failed_) {
    if (!inos.empty() && !inos.count(ino)) continue;
    if (failed++ == 0) first = why;
  }
  for (const auto& [ino, why] : conflicts_) {
    if (failed++ == 0) first = why + " (the local copy is in lost+found)";
  }
  conflicts_.clear();
  if (failed > 0)
    return Status(ErrorCode::kIo, std::to_string(failed) + " export(s) failed, first: " + first);
  return OkStatus();
}

void Exporter::UpdateGauges() {
  double oldest = by_age_.empty() ? 0.0
                                  : std::chrono::duration<double>(clock_->Now() -
                                                                  by_age_.begin()->first).count();
  pending_gauge_->Set(static_cast<double>(pending_.size()));
  age_gauge_->Set(oldest);
}

void Exporter::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    MonoTime now = clock_->Now();
    // queue_ is ordered by due time: without a sync in progress the first entry
    // not yet due ends the walk. A sync starts every first attempt at once;
    // retries still wait for their backoff.
    for (auto q = queue_.begin(); q != queue_.end() && running_ < options_.concurrency;) {
      uint64_t ino = q->second;
      Pending& p = pending_[ino];
      if (q->first > now && !(force_ && p.attempts == 0)) {
        if (!force_) break;
        ++q;
        continue;
      }
      q = queue_.erase(q);
      p.running = true;
      p.rescheduled = false;
      ++running_;
      workers_->Submit([this, ino] { RunOne(ino); });
    }
    UpdateGauges();
    cv_.wait_for(lock, std::chrono::milliseconds(force_ ? 5 : 50));
  }
}

void Exporter::RunOne(uint64_t ino) {
  ExportResult result;
  std::optional<ExportJob> job;
  auto prepared = target_->PrepareExport(ino);
  if (prepared.ok()) job = std::move(prepared).value();
  else result.status = prepared.error();
  if (job && job->kind == ExportJob::Kind::kPut && job->content_changed && !job->missing.empty()) {
    // Bytes we do not hold locally: copied server-side when possible, otherwise
    // fetched first so the upload has them.
    bool copy_ok = upload_part_copy_ && job->size >= options_.multipart_threshold;
    // Only the missing bytes of parts that must be uploaded are fetched; the
    // other parts are copied server-side.
    std::vector<std::pair<uint64_t, uint64_t>> fetch;
    if (!copy_ok) {
      fetch = job->missing;
    } else {
      uint64_t ps = PartSize(job->size, options_.min_part_size);
      for (const auto& [xs, xe] : job->missing) {
        for (uint64_t p = xs / ps; p <= (xe - 1) / ps; ++p) {
          uint64_t s = p * ps, e = std::min(job->size, s + ps);
          bool modified = false;
          for (const auto& [ms, me] : job->modified) modified |= ms < e && s < me;
          if (modified) fetch.emplace_back(std::max(xs, s), std::min(xe, e));
        }
      }
    }
    if (!fetch.empty()) {
      ExportJob partial = *job;
      partial.missing = std::move(fetch);
      Status st = target_->FetchMissing(ino, partial);
      if (!st.ok() && st.code() == ErrorCode::kPreconditionFailed) {
        // The object changed in S3 since this file was last seen: the bytes it
        // still needed are gone. A conflict: S3 wins, the local copy is kept.
        result.conflict = true;
        result.status = Status(ErrorCode::kConflict,
                               "Conflict: the object changed in S3 (" + st.message() + ")");
        job.reset();
      } else if (!st.ok()) {
        result.status = st;
        job.reset();
      } else {
        auto again = target_->PrepareExport(ino);
        job.reset();
        if (again.ok()) job = std::move(again).value();
        else result.status = again.error();
      }
    }
  }
  if (job) {
    result = Execute(*job);
    target_->CompleteExport(*job, result);
  } else if (!result.status.ok()) {
    ExportJob failed;
    failed.ino = ino;
    target_->CompleteExport(failed, result);
  }

  std::lock_guard lock(mu_);
  --running_;
  auto it = pending_.find(ino);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  p.running = false;
  if (p.rescheduled) {
    p.rescheduled = false;  // changed during the export: wait for a new quiet window
    queue_.emplace(p.due, ino);
  } else if (!result.status.ok() && result.status.retryable()) {
    p.attempts++;
    static thread_local std::mt19937_64 rng(std::random_device{}());
    auto cap = std::min<Duration>(options_.retry_max, options_.retry_base * (1LL << std::min(p.attempts, 20)));
    Duration delay(std::uniform_int_distribution<int64_t>(cap.count() / 2, cap.count())(rng));
    p.due = clock_->Now() + delay;
    queue_.emplace(p.due, ino);
    spdlog::warn("export of inode {} failed, retrying in {} ms: {}", ino,
                 std::chrono::duration_cast<std::chrono::milliseconds>(delay).count(),
                 result.status.ToString());
  } else {
    if (!result.status.ok()) {
      failures_->Inc();
      // A conflict on an upload is settled at once (S3 wins, the local copy
      // is in lost+found, never exported): the next sync reports it, once.
      // Other failures stay until the inode changes again.
      if (result.conflict && !(job && job->park)) conflicts_[ino] = result.status.message();
      else failed_[ino] = result.status.message();
      spdlog::error("export of inode {} failed: {}", ino, result.status.ToString());
    } else if (job) {
      exports_->Inc();
    }
    by_age_.erase({p.first_change, ino});
    pending_.erase(it);
  }
  UpdateGauges();
  cv_.notify_all();
}

ExportResult Exporter::Execute(const ExportJob& job) {
  if (job.kind == ExportJob::Kind::kDelete) return Delete(job);
  ExportResult r;
  if (!job.content_changed && !job.source_key.empty()) {
    r = CopyMetadata(job);
  } else {
    r = job.size >= options_.multipart_threshold && !job.inline_data ? PutMultipart(job)
                                                                     : PutSmall(job);
    // The "conflict" may be this export's own earlier attempt (response lost).
    if (r.conflict)
      if (auto ours = OwnEarlierUpload(job)) r = *ours;
  }
  if (!r.status.ok() || job.source_key.empty() || job.source_key == job.key) return r;
  // A rename (or a park): the new key is committed, now remove the old one (only
  // if it still holds what we copied from).
  ExportJob del;
  del.kind = ExportJob::Kind::kDelete;
  del.key = job.source_key;
  del.expect_etag = job.source_etag;
  ExportResult d = Delete(del);
  if (!d.status.ok()) r.status = d.status.Annotate("deleting the old key after a rename");
  return r;
}

std::optional<ExportResult> Exporter::CheckBeforeCommit(const std::string& key,
                                                        const std::string& etag,
                                                        bool may_be_absent) {
  auto head = client_->HeadObject({.bucket = options_.bucket, .key = key});
  ExportResult r;
  if (!head.ok()) {
    if (head.error().kind == s3::S3ErrorKind::kNoSuchKey) {
      if (etag.empty() || may_be_absent) return std::nullopt;
      r.conflict = true;
      r.deleted_in_s3 = true;
      r.status = Status(ErrorCode::kConflict, "Conflict: s3://" + options_.bucket + "/" + key +
                                                  " was deleted in S3");
      return r;
    }
    r.status = head.error().ToStatus();
    return r;
  }
  if (head->etag == etag) return std::nullopt;
  r.conflict = true;
  r.status = Status(ErrorCode::kConflict, "Conflict: s3://" + options_.bucket + "/" + key +
                                              " was changed in S3 (ETag " + head->etag + ")");
  return r;
}

ExportResult FromS3Error(const s3::S3Error& e) {
  ExportResult r;
  if (e.kind == s3::S3ErrorKind::kPreconditionFailed) {
    r.conflict = true;
    r.status = Status(ErrorCode::kConflict, "Conflict: the object changed in S3 (" + e.ToString() + ")");
  } else {
    r.status = e.ToStatus();
  }
  return r;
}

ExportResult Exporter::PutSmall(const ExportJob& job) {
  s3::PutObjectParams p{.bucket = options_.bucket, .key = job.key, .metadata = job.metadata};
  if (job.inline_data) p.body = s3::BodySource::FromString(*job.inline_data);
  bool trusted = !job.dest_may_be_absent && (job.dest_etag.empty()
                                                 ? options_.trust_put_if_none_match
                                                 : options_.trust_put_if_match);
  if (trusted) {
    if (job.dest_etag.empty()) p.if_none_match = "*";
    else p.if_match = job.dest_etag;
  } else if (auto c = CheckBeforeCommit(job.key, job.dest_etag, job.dest_may_be_absent)) {
    return *c;
  }
  int fd = -1;
  if (!job.inline_data) {
    fd = ::open(job.cache_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && job.size > 0)
      return ExportResult{Status(ErrorCode::kIo, "cannot open cache file " + job.cache_path)};
    p.body = fd >= 0 ? s3::BodySource::FromFile(fd, 0, job.size) : s3::BodySource::FromString("");
  }
  auto r = client_->PutObject(p);
  if (fd >= 0) ::close(fd);
  if (!r.ok()) return FromS3Error(r.error());
  bytes_uploaded_->Inc(p.body.size());
  ExportResult out;
  out.etag = r->etag;
  out.version_id = r->version_id;
  return out;
}

std::optional<ExportResult> Exporter::OwnEarlierUpload(const ExportJob& job) {
  auto head = client_->HeadObject({.bucket = options_.bucket, .key = job.key});
  if (!head.ok() || head->metadata != job.metadata || head->size != job.size) return std::nullopt;
  std::string found = s3::NormalizeEtag(head->etag);
  std::string multipart;
  {
    // Whatever the answer, the remembered commit is settled now.
    std::lock_guard lock(mu_);
    if (auto it = multipart_etags_.find(job.key); it != multipart_etags_.end()) {
      multipart = it->second;
      multipart_etags_.erase(it);
    }
  }
  bool ours = !multipart.empty() && found == multipart;
  if (!ours && (job.inline_data || job.size < options_.multipart_threshold)) {
    auto single = job.inline_data ? Result<std::string>(s3::SinglePartEtag(*job.inline_data))
                                  : SinglePartEtagOfFile(job.cache_path, job.size);
    ours = single.ok() && found == *single;
  }
  if (!ours) return std::nullopt;
  spdlog::info("export of {}: the object already holds this upload (an earlier attempt whose "
               "response was lost)", job.key);
  return CommittedAs(*head);
}

ExportResult Exporter::CopyMetadata(const ExportJob& job) {
  // CopyObject has no If-None-Match, and Ceph RGW 16 ignores
  // x-amz-copy-source-if-match: check the source (a rename copies what the
  // inode last saw, not whatever is there now) and the destination explicitly.
  if (job.key != job.source_key)
    if (auto c = CheckBeforeCommit(job.source_key, job.source_etag)) return *c;
  if (auto c = CheckBeforeCommit(job.key, job.dest_etag, job.dest_may_be_absent)) return *c;
  auto r = client_->CopyObject({.bucket = options_.bucket, .key = job.key,
                                .source_bucket = options_.bucket, .source_key = job.source_key,
                                .directive = s3::MetadataDirective::kReplace,
                                .metadata = job.metadata,
                                .copy_source_if_match = job.source_etag});
  if (!r.ok()) return FromS3Error(r.error());
  return CommittedAs(*r);
}

ExportResult Exporter::Delete(const ExportJob& job) {
  ExportResult out;
  if (!job.expect_etag.empty()) {
    auto head = client_->HeadObject({.bucket = options_.bucket, .key = job.key});
    if (!head.ok()) {
      if (head.error().kind == s3::S3ErrorKind::kNoSuchKey) return out;  // already gone
      out.status = head.error().ToStatus();
      return out;
    }
    if (head->etag != job.expect_etag) return out;  // rewritten in S3: S3 wins, keep it
  }
  auto r = client_->DeleteObject({.bucket = options_.bucket, .key = job.key});
  if (!r.ok()) out.status = r.error().ToStatus();
  return out;
}

}  // namespace stagefs::sync
