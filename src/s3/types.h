// Typed parameters and results, one pair per S3 operation, used by ObjectClient.
//
// Keys are raw (not URL-encoded); the client encodes them. User metadata maps use
// lower-case names without the "x-amz-meta-" prefix. Times are nanoseconds since
// the Unix epoch. ETags are kept exactly as the server sends them, quotes included.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stagefs::s3 {

using UserMetadata = std::map<std::string, std::string>;

// Called with each chunk of a response body as it arrives. Return false to abort
// the transfer (the operation then fails with kCancelled).
using DataSink = std::function<bool(const char* data, size_t len)>;

// A request body: either bytes in memory (which must outlive the call) or a range
// of an open file descriptor, streamed with pread so large bodies are not copied.
struct BodySource {
  std::string_view data;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;

  static BodySource FromString(std::string_view s) { return BodySource{s, -1, 0, s.size()}; }
  static BodySource FromFile(int fd, uint64_t offset, uint64_t length) {
    return BodySource{{}, fd, offset, length};
  }
  uint64_t size() const { return fd >= 0 ? length : data.size(); }
};

// Inclusive byte range [first, last], as in the HTTP Range header.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t length() const { return last - first + 1; }
};

struct ServerSideEncryption {
  enum class Mode { kNone, kS3, kKms };
  Mode mode = Mode::kNone;
  std::string kms_key_id;  // optional with kKms
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;  // whole object size, even for ranged GETs
  std::string etag;
  int64_t last_modified_ns = 0;
  std::string version_id;
  std::string content_type;
  std::string storage_class;
  UserMetadata metadata;
};

struct Empty {};

struct HeadBucketParams {
  std::string bucket;
};

struct GetObjectParams {
  std::string bucket;
  std::string key;
  std::optional<ByteRange> range;
  std::optional<uint64_t> suffix_length;  // "bytes=-N"; exclusive with range
  std::string if_match;
  std::string if_none_match;
  std::string version_id;
  DataSink sink;  // when empty, the body is returned in GetObjectResult::body
};
struct GetObjectResult {
  ObjectInfo info;
  std::string body;           // only when no sink was given
  uint64_t bytes_received = 0;
};

struct HeadObjectParams {
  std::string bucket;
  std::string key;
  std::string if_match;
  std::string version_id;
};
using HeadObjectResult = ObjectInfo;

struct PutObjectParams {
  std::string bucket;
  std::string key;
  BodySource body;
  UserMetadata metadata;
  std::string content_type;
  std::string if_match;
  std::string if_none_match;  // "*" to create only
  ServerSideEncryption sse;
};
struct PutObjectResult {
  std::string etag;
  std::string version_id;
};

struct CreateMultipartUploadParams {
  std::string bucket;
  std::string key;
  UserMetadata metadata;
  std::string content_type;
  ServerSideEncryption sse;
};
struct CreateMultipartUploadResult {
  std::string upload_id;
};

struct UploadPartParams {
  std::string bucket;
  std::string key;
  std::string upload_id;
  int part_number = 0;
  BodySource body;
  // The answered ETag must be the part's MD5 (false for uploads whose part
  // ETags are opaque, such as SSE-KMS).
  bool verify_etag = true;
};
struct UploadPartResult {
  std::string etag;
};

struct UploadPartCopyParams {
  std::string bucket;
  std::string key;
  std::string upload_id;
  int part_number = 0;
  std::string source_bucket;
  std::string source_key;
  std::string source_version_id;
  std::optional<ByteRange> source_range;
  std::string copy_source_if_match;
};
using UploadPartCopyResult = UploadPartResult;

struct CompletedPart {
  int part_number = 0;
  std::string etag;
};
struct CompleteMultipartUploadParams {
  std::string bucket;
  std::string key;
  std::string upload_id;
  std::vector<CompletedPart> parts;
  std::string if_match;
  std::string if_none_match;
};
using CompleteMultipartUploadResult = PutObjectResult;

struct AbortMultipartUploadParams {
  std::string bucket;
  std::string key;
  std::string upload_id;
};

enum class MetadataDirective { kCopy, kReplace };

struct CopyObjectParams {
  std::string bucket;
  std::string key;
  std::string source_bucket;
  std::string source_key;
  std::string source_version_id;
  MetadataDirective directive = MetadataDirective::kCopy;
  UserMetadata metadata;      // with kReplace
  std::string content_type;   // with kReplace
  std::string copy_source_if_match;
  ServerSideEncryption sse;
};
struct CopyObjectResult {
  std::string etag;
  std::string version_id;
  int64_t last_modified_ns = 0;
};

struct DeleteObjectParams {
  std::string bucket;
  std::string key;
  std::string version_id;
};

struct DeleteObjectsParams {
  std::string bucket;
  std::vector<std::string> keys;  // at most 1000
  bool quiet = true;
};
struct DeleteObjectsError {
  std::string key;
  std::string code;
  std::string message;
};
struct DeleteObjectsResult {
  std::vector<std::string> deleted;  // empty in quiet mode
  std::vector<DeleteObjectsError> errors;
};

struct ListObjectsV2Params {
  std::string bucket;
  std::string prefix;
  std::string delimiter;
  std::string continuation_token;
  std::string start_after;
  int max_keys = 1000;
};
struct ListedObject {
  std::string key;
  uint64_t size = 0;
  std::string etag;
  int64_t last_modified_ns = 0;
  std::string storage_class;
};
struct ListObjectsV2Result {
  std::vector<ListedObject> objects;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_continuation_token;
};

struct GetBucketVersioningParams {
  std::string bucket;
};
struct GetBucketVersioningResult {
  std::string status;  // "", "Enabled" or "Suspended"
};

// The operations, for request counters and fault injection.
enum class Op {
  kHeadBucket,
  kGetObject,
  kHeadObject,
  kPutObject,
  kCreateMultipartUpload,
  kUploadPart,
  kUploadPartCopy,
  kCompleteMultipartUpload,
  kAbortMultipartUpload,
  kCopyObject,
  kDeleteObject,
  kDeleteObjects,
  kListObjectsV2,
  kGetBucketVersioning,
};
inline constexpr int kOpCount = 14;
const char* OpName(Op op);

// ETags as S3 documents them: in double quotes. Some servers (Ceph RGW 16 in
// CopyObject results) send them bare; everything the client returns goes
// through this so that ETags compare equal across operations.
std::string NormalizeEtag(std::string etag);

}  // namespace stagefs::s3
