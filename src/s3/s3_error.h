// S3Error: the typed error every ObjectClient operation returns on failure.
//
// The kind is decided once, in the client, from the HTTP status and the S3 XML
// error code. `retryable` says whether the same request may succeed if repeated
// (throttling, 5xx, transport failures). Layers above never look at HTTP status
// codes; the core maps kinds to errno in one table.
#pragma once

#include <string>

#include "base/status.h"

namespace stagefs::s3 {

enum class S3ErrorKind {
  kNoSuchKey,
  kNoSuchBucket,
  kNoSuchUpload,
  kPreconditionFailed,  // 412, or ConditionalRequestConflict (409)
  kNotModified,         // 304 on If-None-Match GET
  kAccessDenied,        // 403, including signature mismatch
  kInvalidRange,        // 416
  kThrottled,           // 503 SlowDown, 429
  kServerError,         // other 5xx
  kTransport,           // connection refused/reset, DNS, TLS
  kTimeout,
  kMalformedResponse,   // unparseable or truncated response body
  kNotImplemented,      // 501 (s3rver for UploadPartCopy)
  kMetadataTooLarge,
  kEntityTooLarge,
  kInvalidRequest,      // other 4xx
  kCancelled,           // the caller's sink asked to stop
};

const char* S3ErrorKindName(S3ErrorKind kind);

struct S3Error {
  S3ErrorKind kind = S3ErrorKind::kInvalidRequest;
  int http_status = 0;      // 0 when no response was received
  std::string code;         // S3 <Code>, e.g. "NoSuchKey"; may be empty (HEAD)
  std::string message;      // S3 <Message> or transport error text
  std::string request_id;   // S3 <RequestId> or x-amz-request-id
  bool retryable = false;

  // "NoSuchKey (HTTP 404, NoSuchKey): The specified key does not exist. [request tx0001]"
  std::string ToString() const;
  // Converts to a generic Status, keeping `retryable`.
  Status ToStatus() const;
};

template <typename T>
using S3Result = Result<T, S3Error>;

// Builds an error from an HTTP status and an optional S3 error code, choosing the
// kind and the retryable flag by the project's retry rules: 5xx, 408, 429 and
// SlowDown are retryable; other 4xx are not.
S3Error MakeHttpError(int http_status, std::string code, std::string message,
                      std::string request_id);

}  // namespace stagefs::s3
