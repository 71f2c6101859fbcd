// FakeObjectClient: an in-memory S3 for unit tests of the layers above s3/.
//
// Behaves like a strict S3: ETags are MD5s (multipart: MD5 of part MD5s + "-N"),
// preconditions are honoured, ListObjectsV2 paginates with delimiters, and
// UploadPartCopy works unless disabled. Every call is counted per operation.
// Optional latency per call (through the injected Clock) simulates a remote
// server. Thread-safe. Tests may also reach in with PutRaw/GetRaw/DeleteRaw to
// model changes made "directly in S3" without counting requests.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"
#include "s3/object_client.h"

namespace stagefs::s3 {

struct FakeObject {
  std::string data;
  std::string etag;
  UserMetadata metadata;
  std::string content_type;
  int64_t last_modified_ns = 0;
  std::string version_id;
};

class FakeObjectClient final : public ObjectClient {
 public:
  struct Options {
    bool upload_part_copy = true;    // false: UploadPartCopy answers 501 (like s3rver)
    bool honour_preconditions = true;
    Duration latency{0};             // slept through `clock` on every call
    uint64_t min_part_size = 5 * 1024 * 1024;
  };

  // `clock` may be null (no latency, wall time from the system).
  explicit FakeObjectClient(Clock* clock = nullptr) : FakeObjectClient(Options{}, clock) {}
  FakeObjectClient(Options options, Clock* clock);

  void CreateBucket(const std::string& bucket);

  // Direct access that bypasses counters (the "other S3 tools" of a test).
  void PutRaw(const std::string& bucket, const std::string& key, std::string data,
              UserMetadata metadata = {});
  std::optional<FakeObject> GetRaw(const std::string& bucket, const std::string& key) const;
  void DeleteRaw(const std::string& bucket, const std::string& key);
  std::vector<std::string> Keys(const std::string& bucket) const;

  uint64_t count(Op op) const { return counts_[static_cast<int>(op)].load(); }
  uint64_t total_count() const;
  uint64_t bytes_sent() const { return bytes_sent_.load(); }
  uint64_t bytes_received() const { return bytes_received_.load(); }
  void ResetCounts();

  S3Result<Empty> HeadBucket(const HeadBucketParams& p) override;
  S3Result<GetObjectResult> GetObject(const GetObjectParams& p) override;
  S3Result<HeadObjectResult> HeadObject(const HeadObjectParams& p) override;
  S3Result<PutObjectResult> PutObject(const PutObjectParams& p) override;
  S3Result<CreateMultipartUploadResult> CreateMultipartUpload(
      const CreateMultipartUploadParams& p) override;
  S3Result<UploadPartResult> UploadPart(const UploadPartParams& p) override;
  S3Result<UploadPartCopyResult> UploadPartCopy(const UploadPartCopyParams& p) override;
  S3Result<CompleteMultipartUploadResult> CompleteMultipartUpload(
      const CompleteMultipartUploadParams& p) override;
  S3Result<Empty> AbortMultipartUpload(const AbortMultipartUploadParams& p) override;
  S3Result<CopyObjectResult> CopyObject(const CopyObjectParams& p) override;
  S3Result<Empty> DeleteObject(const DeleteObjectParams& p) override;
  S3Result<DeleteObjectsResult> DeleteObjects(const DeleteObjectsParams& p) override;
  S3Result<ListObjectsV2Result> ListObjectsV2(const ListObjectsV2Params& p) override;
  S3Result<GetBucketVersioningResult> GetBucketVersioning(
      const GetBucketVersioningParams& p) override;

 private:
  struct Upload {
    std::string bucket, key;
    UserMetadata metadata;
    std::string content_type;
    std::map<int, std::string> parts;  // part number -> bytes
  };
  using Bucket = std::map<std::string, FakeObject>;

  void Enter(Op op);
  int64_t NowNs() const;
  FakeObject MakeObject(std::string data, UserMetadata md, std::string content_type);
  // Requires mu_ held. Null error when the bucket exists.
  std::optional<S3Error> CheckPut(const std::string& bucket, const std::string& key,
                                  const std::string& if_match, const std::string& if_none_match);

  Options options_;
  Clock* clock_;
  std::array<std::atomic<uint64_t>, kOpCount> counts_{};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};

  mutable std::mutex mu_;
  std::map<std::string, Bucket> buckets_;      // GUARDED_BY(mu_)
  std::map<std::string, Upload> uploads_;      // GUARDED_BY(mu_)
  uint64_t next_id_ = 1;                       // GUARDED_BY(mu_)
};

}  // namespace stagefs::s3
