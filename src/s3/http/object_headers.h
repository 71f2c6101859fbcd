// Object headers: translation between S3 object HTTP headers and ObjectInfo /
// request parameters (user metadata, SSE, copy source, ranges). Pure functions,
// thread-safe, unit-tested without a server.
#pragma once

#include <optional>
#include <string>

#include "s3/http/sigv4.h"
#include "s3/types.h"

namespace stagefs::s3::http {

struct ContentRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t total = 0;
};

// "bytes 0-9/443" -> {0, 9, 443}. A total of "*" or any malformed value -> nullopt.
std::optional<ContentRange> ParseContentRange(std::string_view v);

// Reads ETag, size (the Content-Range total when present, else Content-Length),
// Last-Modified, x-amz-version-id, x-amz-storage-class, Content-Type and the
// x-amz-meta-* headers (names lower-cased, prefix stripped). `headers` must have
// lower-case names (as HttpResponse has).
ObjectInfo ObjectInfoFromHeaders(const KeyValues& headers, int http_status = 200);

// Appends x-amz-meta-<name> headers.
void AddMetadataHeaders(const UserMetadata& metadata, KeyValues* headers);
// Appends x-amz-server-side-encryption (and the KMS key id) unless mode is kNone.
void AddSseHeaders(const ServerSideEncryption& sse, KeyValues* headers);

// x-amz-copy-source value: URL-encoded "bucket/key" ('/' kept), plus
// "?versionId=<id>" when a version is given.
std::string CopySourceValue(const std::string& bucket, const std::string& key,
                            const std::string& version_id);

// "bytes=first-last".
std::string RangeValue(const ByteRange& r);

}  // namespace stagefs::s3::http
