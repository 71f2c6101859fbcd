#include "s3/types.h"

namespace stagefs::s3 {

std::string NormalizeEtag(std::string etag) {
  if (etag.empty() || etag.front() == '"' || etag.rfind("W/", 0) == 0) return etag;
  return "\"" + etag + "\"";
}

const char* OpName(Op op) {
  switch (op) {
    case Op::kHeadBucket: return "HeadBucket";
    case Op::kGetObject: return "GetObject";
    case Op::kHeadObject: return "HeadObject";
    case Op::kPutObject: return "PutObject";
    case Op::kCreateMultipartUpload: return "CreateMultipartUpload";
    case Op::kUploadPart: return "UploadPart";
    case Op::kUploadPartCopy: return "UploadPartCopy";
    case Op::kCompleteMultipartUpload: return "CompleteMultipartUpload";
    case Op::kAbortMultipartUpload: return "AbortMultipartUpload";
    case Op::kCopyObject: return "CopyObject";
    case Op::kDeleteObject: return "DeleteObject";
    case Op::kDeleteObjects: return "DeleteObjects";
    case Op::kListObjectsV2: return "ListObjectsV2";
    case Op::kGetBucketVersioning: return "GetBucketVersioning";
  }
  return "Unknown";
}

}  // namespace stagefs::s3
