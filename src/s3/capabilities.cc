#include "s3/capabilities.h"

#include <cstdio>
#include <random>

namespace stagefs::s3 {
namespace {

constexpr char kProbeBody[] = "stagefs capability probe\n";
constexpr char kWrongEtag[] = "\"00000000000000000000000000000000\"";

bool IsUnsupported(const S3Error& e) {
  return e.kind == S3ErrorKind::kNotImplemented || e.kind == S3ErrorKind::kInvalidRequest;
}

// The answer to "is this conditional PUT enforced?" given the PUT's outcome on a
// request that must fail when enforcement works.
Tri EnforcedWhenRejected(const S3Result<PutObjectResult>& r) {
  if (r.ok()) return Tri::kNo;  // the condition was ignored
  if (r.error().kind == S3ErrorKind::kPreconditionFailed) return Tri::kYes;
  return IsUnsupported(r.error()) ? Tri::kNo : Tri::kUnknown;
}

PutObjectParams ProbePut(const std::string& bucket, const std::string& key) {
  PutObjectParams p;
  p.bucket = bucket;
  p.key = key;
  p.body = BodySource::FromString(kProbeBody);
  p.content_type = "text/plain";
  return p;
}

Tri ProbePutIfMatch(ObjectClient& c, const std::string& bucket, const std::string& key,
                    const std::string& etag) {
  PutObjectParams right = ProbePut(bucket, key);
  right.if_match = etag;
  auto r = c.PutObject(right);
  if (!r.ok()) {
    // A 412 on the correct ETag means the feature is broken; unusable either way.
    if (r.error().kind == S3ErrorKind::kPreconditionFailed || IsUnsupported(r.error())) {
      return Tri::kNo;
    }
    return Tri::kUnknown;
  }
  PutObjectParams wrong = ProbePut(bucket, key);
  wrong.if_match = kWrongEtag;
  return EnforcedWhenRejected(c.PutObject(wrong));
}

Tri ProbeUploadPartCopy(ObjectClient& c, const std::string& bucket, const std::string& src,
                        const std::string& dst) {
  auto mpu = c.CreateMultipartUpload({bucket, dst, {}, "", {}});
  if (!mpu.ok()) return Tri::kUnknown;
  UploadPartCopyParams p;
  p.bucket = bucket;
  p.key = dst;
  p.upload_id = mpu->upload_id;
  p.part_number = 1;
  p.source_bucket = bucket;
  p.source_key = src;
  p.source_range = ByteRange{0, sizeof(kProbeBody) - 2};
  auto r = c.UploadPartCopy(p);
  (void)c.AbortMultipartUpload({bucket, dst, mpu->upload_id});
  if (r.ok()) return Tri::kYes;
  return r.error().kind == S3ErrorKind::kNotImplemented ? Tri::kNo : Tri::kUnknown;
}

}  // namespace

const char* TriName(Tri t) {
  switch (t) {
    case Tri::kUnknown: return "unknown";
    case Tri::kYes: return "yes";
    case Tri::kNo: return "no";
  }
  return "unknown";
}

std::string RandomProbePrefix() {
  std::random_device rd;
  uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return std::string(".stagefs-probe/") + buf;
}

Result<Capabilities> ProbeCapabilities(ObjectClient& client, const std::string& bucket,
                                       const std::string& scratch_prefix) {
  const std::string key = scratch_prefix + "/object";
  const std::string mpu_key = scratch_prefix + "/multipart";
  auto first = client.PutObject(ProbePut(bucket, key));
  if (!first.ok()) return first.error().ToStatus().Annotate("capability probe: scratch PUT");
  Capabilities caps;

  PutObjectParams create_only = ProbePut(bucket, key);
  create_only.if_none_match = "*";
  caps.put_if_none_match = EnforcedWhenRejected(client.PutObject(create_only));

  // Same bytes every time, so the ETag of the first PUT stays current.
  auto head = client.HeadObject({bucket, key, "", ""});
  std::string etag = head.ok() ? head->etag : first->etag;
  caps.put_if_match = ProbePutIfMatch(client, bucket, key, etag);

  caps.upload_part_copy = ProbeUploadPartCopy(client, bucket, key, mpu_key);

  (void)client.DeleteObject({bucket, key, ""});
  (void)client.DeleteObject({bucket, mpu_key, ""});
  return caps;
}

std::optional<Capabilities> CapabilityCache::Get(const std::string& bucket) const {
  std::lock_guard lock(mu_);
  auto it = by_bucket_.find(bucket);
  if (it == by_bucket_.end()) return std::nullopt;
  return it->second;
}

void CapabilityCache::Put(const std::string& bucket, const Capabilities& caps) {
  std::lock_guard lock(mu_);
  by_bucket_[bucket] = caps;
}

Result<Capabilities> CapabilityCache::GetOrProbe(ObjectClient& client, const std::string& bucket) {
  if (auto cached = Get(bucket)) return *cached;
  auto probed = ProbeCapabilities(client, bucket, RandomProbePrefix());
  if (probed.ok()) Put(bucket, *probed);
  return probed;
}

}  // namespace stagefs::s3
