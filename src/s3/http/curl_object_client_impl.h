// CurlObjectClient internals, shared by curl_object_client.cc (transport,
// signing, retries, metrics, GET/HEAD), object_ops.cc (PUT, copy, delete, list,
// versioning) and multipart_ops.cc. Not for use outside src/s3/http.
//
// Thread-safety: all methods may be called from any number of threads. Mutable
// state is the engine (internally synchronized), the metrics registry (ditto)
// and the jitter random generator (guarded by rng_mu_).
//
// Retries: every operation runs under RunWithRetries. Non-idempotent operations
// are retried too when the error says so; a retry after a lost success response
// can therefore surface as NoSuchUpload (CompleteMultipartUpload) or 412 (PUT
// with If-None-Match: *), which callers above already treat as "check state".
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <random>
#include <string>

#include "base/clock.h"
#include "base/metrics.h"
#include "s3/http/addressing.h"
#include "s3/http/client_options.h"
#include "s3/http/curl_engine.h"
#include "s3/http/retry_policy.h"
#include "s3/object_client.h"

namespace stagefs::s3::http {

// One S3 request before addressing and signing.
struct S3Request {
  Op op = Op::kGetObject;
  std::string method = "GET";
  std::string bucket;
  std::string key;       // raw
  KeyValues query;       // raw
  KeyValues headers;     // operation headers; host/x-amz-date/... are added
  const BodySource* body = nullptr;
};

class CurlObjectClient final : public ObjectClient {
 public:
  CurlObjectClient(const ClientOptions& options, Clock* clock, MetricsRegistry* metrics);

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

  struct GetState;  // per-GetObject resume state (get_object.cc)

 private:
  // One attempt: address, sign, execute, count. Returns the response of a 2xx,
  // else the typed error (transport or HTTP).
  S3Result<HttpResponse> SendOnce(const S3Request& req, const BodyHandler* handler);
  // SendOnce under the retry policy, without streaming.
  S3Result<HttpResponse> Send(const S3Request& req);
  // Send and parse inside each attempt, so that an error found in a 200 body
  // (S3's <Error> in a 200 for copies and CompleteMultipartUpload) is retried
  // when it is retryable, like any other error.
  template <typename T>
  S3Result<T> Call(const S3Request& req,
                   const std::function<S3Result<T>(const HttpResponse&)>& parse) {
    return RunWithRetries<T>(policy_, clock_, [this] { return NextRandom(); },
                             [&](int) -> S3Result<T> {
                               auto r = SendOnce(req, nullptr);
                               if (!r.ok()) return std::move(r).error();
                               S3Result<T> parsed = parse(*r);
                               if (!parsed.ok()) CountError(req.op, parsed.error());
                               return parsed;
                             });
  }
  HttpRequest BuildHttpRequest(const S3Request& req, std::string* payload_error);
  void CountError(Op op, const S3Error& e);
  double NextRandom();

  S3Result<Empty> GetAttempt(const GetObjectParams& p, const DataSink& sink, GetState* st);

  const ClientOptions options_;
  const Endpoint endpoint_;
  Clock* const clock_;
  MetricsRegistry* const metrics_;
  const RetryPolicy policy_;
  CurlEngine engine_;
  std::array<Counter*, kOpCount> requests_{};
  Counter* bytes_sent_ = nullptr;
  Counter* bytes_received_ = nullptr;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(rng_mu_)
};

}  // namespace stagefs::s3::http
