#include "base/status.h"

namespace stagefs {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "OK";
    case ErrorCode::kNotFound: return "NotFound";
    case ErrorCode::kAlreadyExists: return "AlreadyExists";
    case ErrorCode::kInvalidArgument: return "InvalidArgument";
    case ErrorCode::kPermissionDenied: return "PermissionDenied";
    case ErrorCode::kPreconditionFailed: return "PreconditionFailed";
    case ErrorCode::kUnavailable: return "Unavailable";
    case ErrorCode::kIo: return "IOError";
    case ErrorCode::kNoSpace: return "NoSpace";
    case ErrorCode::kNotSupported: return "NotSupported";
    case ErrorCode::kNotEmpty: return "NotEmpty";
    case ErrorCode::kNotDirectory: return "NotDirectory";
    case ErrorCode::kIsDirectory: return "IsDirectory";
    case ErrorCode::kNameTooLong: return "NameTooLong";
    case ErrorCode::kDataLoss: return "DataLoss";
    case ErrorCode::kConflict: return "Conflict";
    case ErrorCode::kCancelled: return "Cancelled";
    case ErrorCode::kReadOnly: return "ReadOnly";
    case ErrorCode::kNotPermitted: return "NotPermitted";
    case ErrorCode::kStale: return "Stale";
    case ErrorCode::kIllegalByteSequence: return "IllegalByteSequence";
    case ErrorCode::kInternal: return "Internal";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = ErrorCodeName(code_);
  if (!message_.empty()) s += ": " + message_;
  return s;
}

Status Status::Annotate(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_, retryable_);
}

}  // namespace stagefs
