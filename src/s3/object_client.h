// ObjectClient: the only way any layer reaches S3.
//
// Three implementations: s3/http/CurlObjectClient (real), s3/testing/
// FakeObjectClient (in memory) and s3/testing/FaultInjectingObjectClient (wraps
// another client and fails chosen calls). Every call is blocking and thread-safe;
// callers get concurrency by calling from several threads (the real client
// multiplexes them over one libcurl multi handle with a bounded number of
// requests in flight). Errors are typed S3Errors, never exceptions.
#pragma once

#include "s3/s3_error.h"
#include "s3/types.h"

namespace stagefs::s3 {

class ObjectClient {
 public:
  virtual ~ObjectClient() = default;

  virtual S3Result<Empty> HeadBucket(const HeadBucketParams& p) = 0;
  virtual S3Result<GetObjectResult> GetObject(const GetObjectParams& p) = 0;
  virtual S3Result<HeadObjectResult> HeadObject(const HeadObjectParams& p) = 0;
  virtual S3Result<PutObjectResult> PutObject(const PutObjectParams& p) = 0;
  virtual S3Result<CreateMultipartUploadResult> CreateMultipartUpload(
      const CreateMultipartUploadParams& p) = 0;
  virtual S3Result<UploadPartResult> UploadPart(const UploadPartParams& p) = 0;
  virtual S3Result<UploadPartCopyResult> UploadPartCopy(const UploadPartCopyParams& p) = 0;
  virtual S3Result<CompleteMultipartUploadResult> CompleteMultipartUpload(
      const CompleteMultipartUploadParams& p) = 0;
  virtual S3Result<Empty> AbortMultipartUpload(const AbortMultipartUploadParams& p) = 0;
  virtual S3Result<CopyObjectResult> CopyObject(const CopyObjectParams& p) = 0;
  virtual S3Result<Empty> DeleteObject(const DeleteObjectParams& p) = 0;
  virtual S3Result<DeleteObjectsResult> DeleteObjects(const DeleteObjectsParams& p) = 0;
  virtual S3Result<ListObjectsV2Result> ListObjectsV2(const ListObjectsV2Params& p) = 0;
  virtual S3Result<GetBucketVersioningResult> GetBucketVersioning(
      const GetBucketVersioningParams& p) = 0;
};

}  // namespace stagefs::s3
