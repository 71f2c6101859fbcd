// Exporter::PutMultipart: large files as a multipart upload. Parts that the
// file did not change are copied server-side from the current object
// (UploadPartCopy), so a small edit to a big file uploads about one part.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <future>

#include "s3/etag.h"
#include "sync/exporter.h"

namespace stagefs::sync {
namespace {

bool Overlaps(const std::vector<std::pair<uint64_t, uint64_t>>& ranges, uint64_t s, uint64_t e) {
  for (const auto& [a, b] : ranges)
    if (a < e && s < b) return true;
  return false;
}

}  // namespace

ExportResult Exporter::PutMultipart(const ExportJob& job) {
  ExportResult out;
  auto up = client_->CreateMultipartUpload(
      {.bucket = options_.bucket, .key = job.key, .metadata = job.metadata});
  if (!up.ok()) {
    out.status = up.error().ToStatus();
    return out;
  }
  const std::string upload_id = up->upload_id;
  auto abort = [&](ExportResult r) {
    (void)client_->AbortMultipartUpload(
        {.bucket = options_.bucket, .key = job.key, .upload_id = upload_id});
    return r;
  };
  int fd = ::open(job.cache_path.c_str(), O_RDONLY | O_CLOEXEC);
  const uint64_t part_size = PartSize(job.size, options_.min_part_size);
  const int parts = static_cast<int>((job.size + part_size - 1) / part_size);
  bool can_copy = upload_part_copy_ && !job.source_key.empty();

  // Upload parts with bounded parallelism, oldest first.
  std::vector<std::future<s3::S3Result<s3::UploadPartResult>>> futures(parts);
  std::vector<s3::CompletedPart> done(parts);
  bool copied_any = false;
  uint64_t uploaded = 0;
  const int kParallel = 4;
  auto launch = [&](int i) {
    uint64_t s = static_cast<uint64_t>(i) * part_size;
    uint64_t e = std::min(job.size, s + part_size);
    bool copy = can_copy && e <= job.source_size && !Overlaps(job.modified, s, e);
    if (copy) {
      copied_any = true;
      return std::async(std::launch::async, [this, &job, i, s, e, &upload_id] {
        return client_->UploadPartCopy({.bucket = options_.bucket, .key = job.key,
                                        .upload_id = upload_id, .part_number = i + 1,
                                        .source_bucket = options_.bucket,
                                        .source_key = job.source_key,
                                        .source_range = s3::ByteRange{s, e - 1},
                                        .copy_source_if_match = job.source_etag});
      });
    }
    uploaded += e - s;
    return std::async(std::launch::async, [this, &job, i, s, e, fd, &upload_id] {
      return client_->UploadPart({.bucket = options_.bucket, .key = job.key,
                                  .upload_id = upload_id, .part_number = i + 1,
                                  .body = s3::BodySource::FromFile(fd, s, e - s)});
    });
  };
  Status first_error;
  bool conflict = false;
  bool not_implemented = false;
  int next = 0;
  for (int i = 0; i < parts; ++i) {
    while (next < parts && next < i + kParallel) {
      futures[next] = launch(next);
      ++next;
    }
    auto r = futures[i].get();
    if (!r.ok()) {
      if (first_error.ok()) {
        first_error = r.error().ToStatus();
        conflict = r.error().kind == s3::S3ErrorKind::kPreconditionFailed;
        not_implemented = r.error().kind == s3::S3ErrorKind::kNotImplemented;
      }
      continue;
    }
    done[i] = s3::CompletedPart{i + 1, r->etag};
  }
  if (fd >= 0) ::close(fd);
  if (!first_error.ok()) {
    if (not_implemented && copied_any) {
      upload_part_copy_ = false;
      std::call_once(no_copy_logged_, [] {
        spdlog::warn("the S3 server does not support UploadPartCopy; "
                     "large files are uploaded whole");
      });
      // Retry at once, uploading every part (the missing bytes get fetched).
      out.status = Status(ErrorCode::kNotSupported, "UploadPartCopy not supported", true);
      return abort(out);
    }
    out.conflict = conflict;
    out.status = conflict ? Status(ErrorCode::kConflict, "Conflict: the object changed in S3")
                          : first_error;
    return abort(out);
  }
  if (copied_any && job.source_key != job.key)
    if (auto c = CheckBeforeCommit(job.source_key, job.source_etag)) return abort(*c);
  if (auto c = CheckBeforeCommit(job.key, job.dest_etag, job.dest_may_be_absent)) return abort(*c);
  // Remembered until the commit is confirmed: if its response is lost, the
  // retry recognises this upload in S3 by its ETag.
  {
    std::lock_guard lock(mu_);
    multipart_etags_[job.key] = s3::MultipartEtag(done);
  }
  auto r = client_->CompleteMultipartUpload(
      {.bucket = options_.bucket, .key = job.key, .upload_id = upload_id, .parts = done});
  if (!r.ok()) return abort(FromS3Error(r.error()));
  {
    std::lock_guard lock(mu_);
    multipart_etags_.erase(job.key);
  }
  bytes_uploaded_->Inc(uploaded);
  out.etag = r->etag;
  out.version_id = r->version_id;
  return out;
}

}  // namespace stagefs::sync
