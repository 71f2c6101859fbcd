// FaultInjectingObjectClient: wraps another ObjectClient and makes chosen calls
// fail, for testing how upper layers survive S3 errors.
//
// Faults: fail the Nth call (optionally of one operation), fail a seeded random
// fraction of calls, go "offline" (every call fails with a retryable transport
// error until back online), and truncate GET bodies (deliver part of the bytes,
// then fail). Thread-safe; configuration may change while calls are running.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <random>

#include "s3/object_client.h"

namespace stagefs::s3 {

class FaultInjectingObjectClient final : public ObjectClient {
 public:
  explicit FaultInjectingObjectClient(ObjectClient* inner, uint64_t seed = 1);

  // Fails the `n`th call from now (1-based) of `op` (any op if nullopt) with `error`.
  void FailNth(uint64_t n, S3Error error, std::optional<Op> op = std::nullopt);
  // The `n`th call of `op` reaches S3 and takes effect, but its response is
  // lost: the caller gets a retryable transport error.
  void LoseResponseNth(uint64_t n, Op op);
  // Fails each call (of `op`, or any) with probability `fraction`.
  void FailFraction(double fraction, S3Error error, std::optional<Op> op = std::nullopt);
  // Every call fails with a retryable kTransport error while offline.
  void SetOffline(bool offline) { offline_ = offline; }
  // GETs deliver at most `bytes` bytes and then fail with a retryable kTransport error.
  void TruncateGetsAfter(std::optional<uint64_t> bytes);
  void Clear();

  uint64_t injected() const { return injected_.load(); }

  static S3Error Transport(const std::string& why = "injected connection reset");
  static S3Error ServerError(int status = 503, const std::string& code = "SlowDown");

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
  ObjectClient* inner_;
  std::atomic<bool> offline_{false};
  std::atomic<uint64_t> injected_{0};

  std::mutex mu_;
  struct NthRule {
    uint64_t remaining;
    S3Error error;
    std::optional<Op> op;
    bool after = false;  // the call is made first (a lost response)
  };
  struct Fault {
    S3Error error;
    bool after = false;
  };
  // The fault to inject for this call, if any.
  std::optional<Fault> Check(Op op);
  std::vector<NthRule> nth_;                  // GUARDED_BY(mu_)
  double fraction_ = 0;                       // GUARDED_BY(mu_)
  S3Error fraction_error_;                    // GUARDED_BY(mu_)
  std::optional<Op> fraction_op_;             // GUARDED_BY(mu_)
  std::optional<uint64_t> truncate_after_;    // GUARDED_BY(mu_)
  std::mt19937_64 rng_;                       // GUARDED_BY(mu_)
};

}  // namespace stagefs::s3
