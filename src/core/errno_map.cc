#include "core/errno_map.h"

#include <cerrno>

namespace stagefs::core {

int ToErrno(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk: return 0;
    case ErrorCode::kNotFound: return ENOENT;
    case ErrorCode::kAlreadyExists: return EEXIST;
    case ErrorCode::kInvalidArgument: return EINVAL;
    case ErrorCode::kPermissionDenied: return EACCES;
    case ErrorCode::kPreconditionFailed: return EIO;  // object changed under a read
    case ErrorCode::kUnavailable: return EIO;
    case ErrorCode::kIo: return EIO;
    case ErrorCode::kNoSpace: return ENOSPC;
    case ErrorCode::kNotSupported: return ENOTSUP;
    case ErrorCode::kNotEmpty: return ENOTEMPTY;
    case ErrorCode::kNotDirectory: return ENOTDIR;
    case ErrorCode::kIsDirectory: return EISDIR;
    case ErrorCode::kNameTooLong: return ENAMETOOLONG;
    case ErrorCode::kDataLoss: return EIO;
    case ErrorCode::kConflict: return EIO;
    case ErrorCode::kCancelled: return EINTR;
    case ErrorCode::kReadOnly: return EROFS;
    case ErrorCode::kNotPermitted: return EPERM;
    case ErrorCode::kStale: return ESTALE;
    case ErrorCode::kIllegalByteSequence: return EILSEQ;
    case ErrorCode::kInternal: return EIO;
  }
  return EIO;
}

}  // namespace stagefs::core
