// BodyDigest: the MD5 of an upload body (in memory or a file range), computed
// before the request so that it can be sent as Content-MD5 (the server then
// refuses bytes damaged in transit) and compared with the ETag the server
// answers (a server that stores other bytes than we sent is caught, not
// trusted). Reads the file range once with pread; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "s3/s3_error.h"
#include "s3/types.h"

namespace stagefs::s3::http {

struct BodyDigest {
  std::string content_md5;  // base64 of the 16 raw bytes
  std::string etag;         // quoted lower-case hex, the single-part ETag S3 gives it
};

// kTransport (not retryable) if the file range cannot be read whole.
S3Result<BodyDigest> DigestBody(const BodySource& body);

// For a response to an upload of `digest`: an error when the server's ETag is
// not the MD5 of the bytes sent. Only servers that answer MD5 ETags are checked
// (not SSE-KMS, whose ETags are opaque). A kServerError, retryable: the upload
// is sent again.
std::optional<S3Error> CheckUploadEtag(const BodyDigest& digest, const std::string& etag,
                                       const ServerSideEncryption& sse);

}  // namespace stagefs::s3::http
