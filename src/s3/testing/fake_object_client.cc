#include "s3/testing/fake_object_client.h"

#include <unistd.h>

#include <chrono>

#include "s3/etag.h"

namespace stagefs::s3 {
namespace {

S3Error Err(S3ErrorKind kind, int status, std::string code, std::string message = "") {
  S3Error e;
  e.kind = kind;
  e.http_status = status;
  e.code = std::move(code);
  e.message = std::move(message);
  e.retryable = false;
  return e;
}

S3Error NoSuchKey(const std::string& key) {
  return Err(S3ErrorKind::kNoSuchKey, 404, "NoSuchKey", "The specified key does not exist: " + key);
}
S3Error NoSuchBucket(const std::string& b) {
  return Err(S3ErrorKind::kNoSuchBucket, 404, "NoSuchBucket", "no bucket " + b);
}
S3Error Precondition() {
  return Err(S3ErrorKind::kPreconditionFailed, 412, "PreconditionFailed",
             "At least one of the pre-conditions you specified did not hold");
}

Result<std::string, S3Error> ReadBody(const BodySource& body) {
  if (body.fd < 0) return std::string(body.data);
  std::string out(body.length, '\0');
  uint64_t done = 0;
  while (done < body.length) {
    ssize_t n = ::pread(body.fd, out.data() + done, body.length - done, body.offset + done);
    if (n <= 0) return Err(S3ErrorKind::kTransport, 0, "", "short read from request body file");
    done += n;
  }
  return out;
}

}  // namespace

FakeObjectClient::FakeObjectClient(Options options, Clock* clock)
    : options_(options), clock_(clock) {}

void FakeObjectClient::CreateBucket(const std::string& bucket) {
  std::lock_guard lock(mu_);
  buckets_[bucket];
}

int64_t FakeObjectClient::NowNs() const {
  if (clock_) return clock_->WallNanos();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void FakeObjectClient::Enter(Op op) {
  counts_[static_cast<int>(op)]++;
  if (clock_ && options_.latency.count() > 0) clock_->SleepFor(options_.latency);
}

uint64_t FakeObjectClient::total_count() const {
  uint64_t n = 0;
  for (const auto& c : counts_) n += c.load();
  return n;
}

void FakeObjectClient::ResetCounts() {
  for (auto& c : counts_) c = 0;
  bytes_sent_ = 0;
  bytes_received_ = 0;
}

FakeObject FakeObjectClient::MakeObject(std::string data, UserMetadata md,
                                        std::string content_type) {
  FakeObject o;
  o.etag = SinglePartEtag(data);
  o.data = std::move(data);
  o.metadata = std::move(md);
  o.content_type = content_type.empty() ? "binary/octet-stream" : std::move(content_type);
  o.last_modified_ns = NowNs();
  o.version_id = "v" + std::to_string(next_id_++);
  return o;
}

void FakeObjectClient::PutRaw(const std::string& bucket, const std::string& key, std::string data,
                              UserMetadata metadata) {
  std::lock_guard lock(mu_);
  buckets_[bucket][key] = MakeObject(std::move(data), std::move(metadata), "");
}

std::optional<FakeObject> FakeObjectClient::GetRaw(const std::string& bucket,
                                                   const std::string& key) const {
  std::lock_guard lock(mu_);
  auto b = buckets_.find(bucket);
  if (b == buckets_.end()) return std::nullopt;
  auto o = b->second.find(key);
  if (o == b->second.end()) return std::nullopt;
  return o->second;
}

void FakeObjectClient::DeleteRaw(const std::string& bucket, const std::string& key) {
  std::lock_guard lock(mu_);
  buckets_[bucket].erase(key);
}

std::vector<std::string> FakeObjectClient::Keys(const std::string& bucket) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> keys;
  auto b = buckets_.find(bucket);
  if (b != buckets_.end())
    for (const auto& [k, _] : b->second) keys.push_back(k);
  return keys;
}

static ObjectInfo InfoOf(const std::string& key, const FakeObject& o) {
  ObjectInfo info;
  info.key = key;
  info.size = o.data.size();
  info.etag = o.etag;
  info.last_modified_ns = o.last_modified_ns;
  info.version_id = o.version_id;
  info.content_type = o.content_type;
  info.storage_class = "STANDARD";
  info.metadata = o.metadata;
  return info;
}

S3Result<Empty> FakeObjectClient::HeadBucket(const HeadBucketParams& p) {
  Enter(Op::kHeadBucket);
  std::lock_guard lock(mu_);
  if (!buckets_.count(p.bucket)) return NoSuchBucket(p.bucket);
  return Empty{};
}

S3Result<GetObjectResult> FakeObjectClient::GetObject(const GetObjectParams& p) {
  Enter(Op::kGetObject);
  FakeObject o;
  {
    std::lock_guard lock(mu_);
    auto b = buckets_.find(p.bucket);
    if (b == buckets_.end()) return NoSuchBucket(p.bucket);
    auto it = b->second.find(p.key);
    if (it == b->second.end()) return NoSuchKey(p.key);
    o = it->second;
  }
  if (options_.honour_preconditions) {
    if (!p.if_match.empty() && p.if_match != o.etag) return Precondition();
    if (!p.if_none_match.empty() && (p.if_none_match == "*" || p.if_none_match == o.etag))
      return Err(S3ErrorKind::kNotModified, 304, "", "Not Modified");
  }
  uint64_t first = 0, last = o.data.empty() ? 0 : o.data.size() - 1;
  bool empty_body = o.data.empty();
  if (p.range) {
    if (p.range->first >= o.data.size())
      return Err(S3ErrorKind::kInvalidRange, 416, "InvalidRange", "range not satisfiable");
    first = p.range->first;
    last = std::min<uint64_t>(p.range->last, o.data.size() - 1);
  } else if (p.suffix_length) {
    if (o.data.empty()) return Err(S3ErrorKind::kInvalidRange, 416, "InvalidRange", "empty");
    first = o.data.size() - std::min<uint64_t>(*p.suffix_length, o.data.size());
  }
  GetObjectResult r;
  r.info = InfoOf(p.key, o);
  std::string_view slice =
      empty_body ? std::string_view() : std::string_view(o.data).substr(first, last - first + 1);
  r.bytes_received = slice.size();
  bytes_received_ += slice.size();
  if (p.sink) {
    // Deliver in chunks, as the real client does.
    constexpr size_t kChunk = 64 * 1024;
    for (size_t off = 0; off < slice.size(); off += kChunk) {
      size_t n = std::min(kChunk, slice.size() - off);
      if (!p.sink(slice.data() + off, n))
        return Err(S3ErrorKind::kCancelled, 0, "", "sink stopped the transfer");
    }
  } else {
    r.body.assign(slice);
  }
  return r;
}

S3Result<HeadObjectResult> FakeObjectClient::HeadObject(const HeadObjectParams& p) {
  Enter(Op::kHeadObject);
  std::lock_guard lock(mu_);
  auto b = buckets_.find(p.bucket);
  if (b == buckets_.end()) return NoSuchBucket(p.bucket);
  auto it = b->second.find(p.key);
  if (it == b->second.end()) return Err(S3ErrorKind::kNoSuchKey, 404, "", "");
  if (options_.honour_preconditions && !p.if_match.empty() && p.if_match != it->second.etag)
    return Precondition();
  return InfoOf(p.key, it->second);
}

std::optional<S3Error> FakeObjectClient::CheckPut(const std::string& bucket,
                                                  const std::string& key,
                                                  const std::string& if_match,
                                                  const std::string& if_none_match) {
  auto b = buckets_.find(bucket);
  if (b == buckets_.end()) return NoSuchBucket(bucket);
  if (!options_.honour_preconditions) return std::nullopt;
  auto it = b->second.find(key);
  if (!if_match.empty()) {
    if (it == b->second.end()) return NoSuchKey(key);
    if (it->second.etag != if_match) return Precondition();
  }
  if (if_none_match == "*" && it != b->second.end()) return Precondition();
  return std::nullopt;
}

S3Result<PutObjectResult> FakeObjectClient::PutObject(const PutObjectParams& p) {
  Enter(Op::kPutObject);
  auto body = ReadBody(p.body);
  if (!body.ok()) return body.error();
  bytes_sent_ += body->size();
  std::lock_guard lock(mu_);
  if (auto e = CheckPut(p.bucket, p.key, p.if_match, p.if_none_match)) return *e;
  FakeObject& o = buckets_[p.bucket][p.key];
  o = MakeObject(std::move(body).value(), p.metadata, p.content_type);
  return PutObjectResult{o.etag, o.version_id};
}

S3Result<CreateMultipartUploadResult> FakeObjectClient::CreateMultipartUpload(
    const CreateMultipartUploadParams& p) {
  Enter(Op::kCreateMultipartUpload);
  std::lock_guard lock(mu_);
  if (!buckets_.count(p.bucket)) return NoSuchBucket(p.bucket);
  std::string id = "upload-" + std::to_string(next_id_++);
  uploads_[id] = Upload{p.bucket, p.key, p.metadata, p.content_type, {}};
  return CreateMultipartUploadResult{id};
}

S3Result<UploadPartResult> FakeObjectClient::UploadPart(const UploadPartParams& p) {
  Enter(Op::kUploadPart);
  auto body = ReadBody(p.body);
  if (!body.ok()) return body.error();
  bytes_sent_ += body->size();
  std::lock_guard lock(mu_);
  auto it = uploads_.find(p.upload_id);
  if (it == uploads_.end())
    return Err(S3ErrorKind::kNoSuchUpload, 404, "NoSuchUpload", "no upload " + p.upload_id);
  std::string etag = SinglePartEtag(*body);
  it->second.parts[p.part_number] = std::move(body).value();
  return UploadPartResult{etag};
}

S3Result<UploadPartCopyResult> FakeObjectClient::UploadPartCopy(const UploadPartCopyParams& p) {
  Enter(Op::kUploadPartCopy);
  if (!options_.upload_part_copy)
    return Err(S3ErrorKind::kNotImplemented, 501, "NotImplemented",
               "A header you provided implies functionality that is not implemented");
  std::lock_guard lock(mu_);
  auto up = uploads_.find(p.upload_id);
  if (up == uploads_.end())
    return Err(S3ErrorKind::kNoSuchUpload, 404, "NoSuchUpload", "no upload " + p.upload_id);
  auto b = buckets_.find(p.source_bucket);
  if (b == buckets_.end()) return NoSuchBucket(p.source_bucket);
  auto src = b->second.find(p.source_key);
  if (src == b->second.end()) return NoSuchKey(p.source_key);
  if (options_.honour_preconditions && !p.copy_source_if_match.empty() &&
      p.copy_source_if_match != src->second.etag)
    return Precondition();
  std::string bytes = src->second.data;
  if (p.source_range) {
    if (p.source_range->last >= bytes.size())
      return Err(S3ErrorKind::kInvalidRange, 416, "InvalidRange", "copy range outside source");
    bytes = bytes.substr(p.source_range->first, p.source_range->length());
  }
  std::string etag = SinglePartEtag(bytes);
  up->second.parts[p.part_number] = std::move(bytes);
  return UploadPartCopyResult{etag};
}

S3Result<CompleteMultipartUploadResult> FakeObjectClient::CompleteMultipartUpload(
    const CompleteMultipartUploadParams& p) {
  Enter(Op::kCompleteMultipartUpload);
  std::lock_guard lock(mu_);
  auto up = uploads_.find(p.upload_id);
  if (up == uploads_.end())
    return Err(S3ErrorKind::kNoSuchUpload, 404, "NoSuchUpload", "no upload " + p.upload_id);
  if (p.parts.empty()) return Err(S3ErrorKind::kInvalidRequest, 400, "MalformedXML", "no parts");
  std::string data;
  for (size_t i = 0; i < p.parts.size(); ++i) {
    const CompletedPart& part = p.parts[i];
    auto it = up->second.parts.find(part.part_number);
    if (it == up->second.parts.end() || SinglePartEtag(it->second) != part.etag)
      return Err(S3ErrorKind::kInvalidRequest, 400, "InvalidPart", "unknown part");
    if (i + 1 < p.parts.size() && it->second.size() < options_.min_part_size)
      return Err(S3ErrorKind::kInvalidRequest, 400, "EntityTooSmall", "part too small");
    if (i > 0 && part.part_number <= p.parts[i - 1].part_number)
      return Err(S3ErrorKind::kInvalidRequest, 400, "InvalidPartOrder", "parts out of order");
    data += it->second;
  }
  if (auto e = CheckPut(up->second.bucket, up->second.key, p.if_match, p.if_none_match)) return *e;
  FakeObject o = MakeObject(std::move(data), up->second.metadata, up->second.content_type);
  o.etag = MultipartEtag(p.parts);
  PutObjectResult r{o.etag, o.version_id};
  buckets_[up->second.bucket][up->second.key] = std::move(o);
  uploads_.erase(up);
  return r;
}

S3Result<Empty> FakeObjectClient::AbortMultipartUpload(const AbortMultipartUploadParams& p) {
  Enter(Op::kAbortMultipartUpload);
  std::lock_guard lock(mu_);
  if (!uploads_.erase(p.upload_id))
    return Err(S3ErrorKind::kNoSuchUpload, 404, "NoSuchUpload", "no upload " + p.upload_id);
  return Empty{};
}

S3Result<CopyObjectResult> FakeObjectClient::CopyObject(const CopyObjectParams& p) {
  Enter(Op::kCopyObject);
  std::lock_guard lock(mu_);
  auto sb = buckets_.find(p.source_bucket);
  if (sb == buckets_.end()) return NoSuchBucket(p.source_bucket);
  auto src = sb->second.find(p.source_key);
  if (src == sb->second.end()) return NoSuchKey(p.source_key);
  if (options_.honour_preconditions && !p.copy_source_if_match.empty() &&
      p.copy_source_if_match != src->second.etag)
    return Precondition();
  if (!buckets_.count(p.bucket)) return NoSuchBucket(p.bucket);
  FakeObject copy = src->second;
  UserMetadata md = p.directive == MetadataDirective::kReplace ? p.metadata : copy.metadata;
  std::string ct = p.directive == MetadataDirective::kReplace ? p.content_type : copy.content_type;
  std::string etag = copy.etag;
  FakeObject o = MakeObject(std::move(copy.data), std::move(md), std::move(ct));
  o.etag = etag;  // S3 keeps the ETag of a single-part copy
  CopyObjectResult r{o.etag, o.version_id, o.last_modified_ns};
  buckets_[p.bucket][p.key] = std::move(o);
  return r;
}

S3Result<Empty> FakeObjectClient::DeleteObject(const DeleteObjectParams& p) {
  Enter(Op::kDeleteObject);
  std::lock_guard lock(mu_);
  auto b = buckets_.find(p.bucket);
  if (b == buckets_.end()) return NoSuchBucket(p.bucket);
  b->second.erase(p.key);  // deleting a missing key succeeds, as in S3
  return Empty{};
}

S3Result<DeleteObjectsResult> FakeObjectClient::DeleteObjects(const DeleteObjectsParams& p) {
  Enter(Op::kDeleteObjects);
  std::lock_guard lock(mu_);
  auto b = buckets_.find(p.bucket);
  if (b == buckets_.end()) return NoSuchBucket(p.bucket);
  if (p.keys.size() > 1000)
    return Err(S3ErrorKind::kInvalidRequest, 400, "MalformedXML", "more than 1000 keys");
  DeleteObjectsResult r;
  for (const auto& k : p.keys) {
    b->second.erase(k);
    if (!p.quiet) r.deleted.push_back(k);
  }
  return r;
}

S3Result<ListObjectsV2Result> FakeObjectClient::ListObjectsV2(const ListObjectsV2Params& p) {
  Enter(Op::kListObjectsV2);
  std::lock_guard lock(mu_);
  auto b = buckets_.find(p.bucket);
  if (b == buckets_.end()) return NoSuchBucket(p.bucket);
  std::string after = p.continuation_token.empty() ? p.start_after : p.continuation_token;
  auto it = after.empty() ? b->second.lower_bound(p.prefix) : b->second.upper_bound(after);
  if (!after.empty() && after < p.prefix) it = b->second.lower_bound(p.prefix);
  ListObjectsV2Result r;
  int count = 0;
  std::string last;
  int max_keys = p.max_keys > 0 ? p.max_keys : 1000;
  for (; it != b->second.end(); ++it) {
    const std::string& key = it->first;
    if (key.compare(0, p.prefix.size(), p.prefix) != 0) break;
    if (count == max_keys) {
      r.is_truncated = true;
      r.next_continuation_token = last;
      break;
    }
    if (!p.delimiter.empty()) {
      size_t pos = key.find(p.delimiter, p.prefix.size());
      if (pos != std::string::npos) {
        std::string cp = key.substr(0, pos + p.delimiter.size());
        r.common_prefixes.push_back(cp);
        ++count;
        // Skip every key under this common prefix.
        std::string next = cp;
        next.back() = static_cast<char>(next.back() + 1);
        last = cp;
        auto skip = b->second.lower_bound(next);
        if (skip == b->second.end()) break;
        it = std::prev(skip);
        last = it->first;
        continue;
      }
    }
    const FakeObject& o = it->second;
    r.objects.push_back(ListedObject{key, o.data.size(), o.etag, o.last_modified_ns, "STANDARD"});
    last = key;
    ++count;
  }
  return r;
}

S3Result<GetBucketVersioningResult> FakeObjectClient::GetBucketVersioning(
    const GetBucketVersioningParams& p) {
  Enter(Op::kGetBucketVersioning);
  std::lock_guard lock(mu_);
  if (!buckets_.count(p.bucket)) return NoSuchBucket(p.bucket);
  return GetBucketVersioningResult{""};
}

}  // namespace stagefs::s3
