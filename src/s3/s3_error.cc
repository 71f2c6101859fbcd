#include "s3/s3_error.h"

namespace stagefs::s3 {

const char* S3ErrorKindName(S3ErrorKind kind) {
  switch (kind) {
    case S3ErrorKind::kNoSuchKey: return "NoSuchKey";
    case S3ErrorKind::kNoSuchBucket: return "NoSuchBucket";
    case S3ErrorKind::kNoSuchUpload: return "NoSuchUpload";
    case S3ErrorKind::kPreconditionFailed: return "PreconditionFailed";
    case S3ErrorKind::kNotModified: return "NotModified";
    case S3ErrorKind::kAccessDenied: return "AccessDenied";
    case S3ErrorKind::kInvalidRange: return "InvalidRange";
    case S3ErrorKind::kThrottled: return "Throttled";
    case S3ErrorKind::kServerError: return "ServerError";
    case S3ErrorKind::kTransport: return "Transport";
    case S3ErrorKind::kTimeout: return "Timeout";
    case S3ErrorKind::kMalformedResponse: return "MalformedResponse";
    case S3ErrorKind::kNotImplemented: return "NotImplemented";
    case S3ErrorKind::kMetadataTooLarge: return "MetadataTooLarge";
    case S3ErrorKind::kEntityTooLarge: return "EntityTooLarge";
    case S3ErrorKind::kInvalidRequest: return "InvalidRequest";
    case S3ErrorKind::kCancelled: return "Cancelled";
  }
  return "Unknown";
}

std::string S3Error::ToString() const {
  std::string s = S3ErrorKindName(kind);
  if (http_status != 0 || !code.empty()) {
    s += " (";
    if (http_status != 0) s += "HTTP " + std::to_string(http_status);
    if (!code.empty()) s += (http_status != 0 ? ", " : "") + code;
    s += ")";
  }
  if (!message.empty()) s += ": " + message;
  if (!request_id.empty()) s += " [request " + request_id + "]";
  return s;
}

Status S3Error::ToStatus() const {
  ErrorCode ec = ErrorCode::kInternal;
  switch (kind) {
    case S3ErrorKind::kNoSuchKey:
    case S3ErrorKind::kNoSuchBucket:
    case S3ErrorKind::kNoSuchUpload: ec = ErrorCode::kNotFound; break;
    case S3ErrorKind::kPreconditionFailed:
    case S3ErrorKind::kNotModified: ec = ErrorCode::kPreconditionFailed; break;
    case S3ErrorKind::kAccessDenied: ec = ErrorCode::kPermissionDenied; break;
    case S3ErrorKind::kInvalidRange:
    case S3ErrorKind::kInvalidRequest:
    case S3ErrorKind::kMetadataTooLarge:
    case S3ErrorKind::kEntityTooLarge: ec = ErrorCode::kInvalidArgument; break;
    case S3ErrorKind::kThrottled:
    case S3ErrorKind::kServerError:
    case S3ErrorKind::kTransport:
    case S3ErrorKind::kTimeout: ec = ErrorCode::kUnavailable; break;
    case S3ErrorKind::kMalformedResponse: ec = ErrorCode::kDataLoss; break;
    case S3ErrorKind::kNotImplemented: ec = ErrorCode::kNotSupported; break;
    case S3ErrorKind::kCancelled: ec = ErrorCode::kCancelled; break;
  }
  return Status(ec, "S3 " + ToString(), retryable);
}

S3Error MakeHttpError(int http_status, std::string code, std::string message,
                      std::string request_id) {
  S3Error e;
  e.http_status = http_status;
  e.code = std::move(code);
  e.message = std::move(message);
  e.request_id = std::move(request_id);
  const std::string& c = e.code;
  if (c == "NoSuchKey") e.kind = S3ErrorKind::kNoSuchKey;
  else if (c == "NoSuchBucket") e.kind = S3ErrorKind::kNoSuchBucket;
  else if (c == "NoSuchUpload") e.kind = S3ErrorKind::kNoSuchUpload;
  else if (c == "SlowDown" || c == "Throttling" || c == "ThrottlingException" ||
           c == "RequestLimitExceeded" || http_status == 429)
    e.kind = S3ErrorKind::kThrottled;
  else if (c == "MetadataTooLarge") e.kind = S3ErrorKind::kMetadataTooLarge;
  else if (c == "EntityTooLarge") e.kind = S3ErrorKind::kEntityTooLarge;
  else if (c == "ConditionalRequestConflict" || http_status == 412)
    e.kind = S3ErrorKind::kPreconditionFailed;
  else if (c == "AccessDenied" || c == "SignatureDoesNotMatch" || c == "InvalidAccessKeyId" ||
           http_status == 403)
    e.kind = S3ErrorKind::kAccessDenied;
  else if (http_status == 304) e.kind = S3ErrorKind::kNotModified;
  else if (http_status == 404) e.kind = S3ErrorKind::kNoSuchKey;
  else if (http_status == 416) e.kind = S3ErrorKind::kInvalidRange;
  else if (http_status == 501) e.kind = S3ErrorKind::kNotImplemented;
  else if (http_status == 408) e.kind = S3ErrorKind::kTimeout;
  else if (http_status >= 500) e.kind = S3ErrorKind::kServerError;
  else e.kind = S3ErrorKind::kInvalidRequest;
  e.retryable = (http_status >= 500 && http_status != 501) || http_status == 408 ||
                e.kind == S3ErrorKind::kThrottled;
  return e;
}

}  // namespace stagefs::s3
