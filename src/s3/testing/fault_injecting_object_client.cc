#include "s3/testing/fault_injecting_object_client.h"

namespace stagefs::s3 {

FaultInjectingObjectClient::FaultInjectingObjectClient(ObjectClient* inner, uint64_t seed)
    : inner_(inner), rng_(seed) {}

S3Error FaultInjectingObjectClient::Transport(const std::string& why) {
  S3Error e;
  e.kind = S3ErrorKind::kTransport;
  e.message = why;
  e.retryable = true;
  return e;
}

S3Error FaultInjectingObjectClient::ServerError(int status, const std::string& code) {
  return MakeHttpError(status, code, "injected server error", "injected");
}

void FaultInjectingObjectClient::FailNth(uint64_t n, S3Error error, std::optional<Op> op) {
  std::lock_guard lock(mu_);
  nth_.push_back(NthRule{n, std::move(error), op});
}

void FaultInjectingObjectClient::LoseResponseNth(uint64_t n, Op op) {
  std::lock_guard lock(mu_);
  nth_.push_back(NthRule{n, Transport("injected: response lost after the request took effect"),
                         op, /*after=*/true});
}

void FaultInjectingObjectClient::FailFraction(double fraction, S3Error error,
                                              std::optional<Op> op) {
  std::lock_guard lock(mu_);
  fraction_ = fraction;
  fraction_error_ = std::move(error);
  fraction_op_ = op;
}

void FaultInjectingObjectClient::TruncateGetsAfter(std::optional<uint64_t> bytes) {
  std::lock_guard lock(mu_);
  truncate_after_ = bytes;
}

void FaultInjectingObjectClient::Clear() {
  std::lock_guard lock(mu_);
  nth_.clear();
  fraction_ = 0;
  truncate_after_.reset();
  offline_ = false;
}

std::optional<FaultInjectingObjectClient::Fault> FaultInjectingObjectClient::Check(Op op) {
  if (offline_) {
    injected_++;
    return Fault{Transport("injected: S3 endpoint unreachable")};
  }
  std::lock_guard lock(mu_);
  for (auto it = nth_.begin(); it != nth_.end(); ++it) {
    if (it->op && *it->op != op) continue;
    if (--it->remaining == 0) {
      Fault f{it->error, it->after};
      nth_.erase(it);
      injected_++;
      return f;
    }
  }
  if (fraction_ > 0 && (!fraction_op_ || *fraction_op_ == op)) {
    if (std::uniform_real_distribution<double>(0, 1)(rng_) < fraction_) {
      injected_++;
      return Fault{fraction_error_};
    }
  }
  return std::nullopt;
}

#define STAGEFS_FORWARD(Name, ParamT, ResultT)                               \
  S3Result<ResultT> FaultInjectingObjectClient::Name(const ParamT& p) {      \
    auto f = Check(Op::k##Name);                                             \
    if (f && !f->after) return f->error;                                     \
    auto r = inner_->Name(p);                                                \
    if (f) return f->error;                                                  \
    return r;                                                                \
  }

STAGEFS_FORWARD(HeadBucket, HeadBucketParams, Empty)
STAGEFS_FORWARD(HeadObject, HeadObjectParams, HeadObjectResult)
STAGEFS_FORWARD(PutObject, PutObjectParams, PutObjectResult)
STAGEFS_FORWARD(CreateMultipartUpload, CreateMultipartUploadParams, CreateMultipartUploadResult)
STAGEFS_FORWARD(UploadPart, UploadPartParams, UploadPartResult)
STAGEFS_FORWARD(UploadPartCopy, UploadPartCopyParams, UploadPartCopyResult)
STAGEFS_FORWARD(CompleteMultipartUpload, CompleteMultipartUploadParams,
                CompleteMultipartUploadResult)
STAGEFS_FORWARD(AbortMultipartUpload, AbortMultipartUploadParams, Empty)
STAGEFS_FORWARD(CopyObject, CopyObjectParams, CopyObjectResult)
STAGEFS_FORWARD(DeleteObject, DeleteObjectParams, Empty)
STAGEFS_FORWARD(DeleteObjects, DeleteObjectsParams, DeleteObjectsResult)
STAGEFS_FORWARD(ListObjectsV2, ListObjectsV2Params, ListObjectsV2Result)
STAGEFS_FORWARD(GetBucketVersioning, GetBucketVersioningParams, GetBucketVersioningResult)
#undef STAGEFS_FORWARD

S3Result<GetObjectResult> FaultInjectingObjectClient::GetObject(const GetObjectParams& p) {
  if (auto f = Check(Op::kGetObject)) return f->error;  // lost GET responses: same as failed
  std::optional<uint64_t> limit;
  {
    std::lock_guard lock(mu_);
    limit = truncate_after_;
  }
  if (!limit) return inner_->GetObject(p);
  // Deliver at most `limit` bytes to the caller, then fail as a reset would.
  GetObjectParams q = p;
  uint64_t delivered = 0;
  std::string collected;
  q.sink = [&](const char* data, size_t len) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(len, *limit - delivered));
    if (n > 0) {
      if (p.sink) {
        if (!p.sink(data, n)) return false;
      } else {
        collected.append(data, n);
      }
      delivered += n;
    }
    return delivered < *limit;
  };
  auto r = inner_->GetObject(q);
  if (r.ok() && delivered < *limit) {
    r->body = std::move(collected);
    return r;
  }
  injected_++;
  return Transport("injected: connection reset after " + std::to_string(delivered) + " bytes");
}

}  // namespace stagefs::s3
