// S3 XML: parsing of S3 response bodies and building of the two request bodies
// that are XML (DeleteObjects, CompleteMultipartUpload), with pugixml.
//
// Contracts: parsers never throw and never crash on bad input. A body that is
// not well-formed (including one cut short), or whose root element is not the
// expected one, yields S3Error kMalformedResponse. A body whose root is <Error>
// yields the S3 error it describes: S3 may answer CopyObject, UploadPartCopy and
// CompleteMultipartUpload with 200 OK and an <Error> body. Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "s3/s3_error.h"
#include "s3/types.h"

namespace stagefs::s3::http {

// Builds the error for a non-2xx response: kind from the status and the XML
// <Code>, plus <Message> and <RequestId>. An empty or unparseable body (HEAD, a
// proxy's HTML page) still gives the status-based error; `header_request_id`
// (x-amz-request-id) is used when the body has none.
S3Error ErrorFromResponse(int http_status, std::string_view body,
                          std::string_view header_request_id);

// kMalformedResponse with a short description; not retryable.
S3Error MalformedResponse(std::string message);

// ListObjectsV2. With `url_encoded` (the request had encoding-type=url), keys,
// prefixes, delimiter and start-after are URL-decoded.
S3Result<ListObjectsV2Result> ParseListObjectsV2(std::string_view body, bool url_encoded);
S3Result<DeleteObjectsResult> ParseDeleteObjects(std::string_view body);
// <CopyObjectResult> (CopyObject) or <CopyPartResult> (UploadPartCopy). The
// version id comes from a header and is not set here.
S3Result<CopyObjectResult> ParseCopyResult(std::string_view body);
// Only the ETag, which may be empty (RGW 16 sends <ETag></ETag>); the version id
// comes from the x-amz-version-id header.
S3Result<CompleteMultipartUploadResult> ParseCompleteMultipartUpload(std::string_view body);
S3Result<CreateMultipartUploadResult> ParseInitiateMultipartUpload(std::string_view body);
S3Result<GetBucketVersioningResult> ParseVersioningConfiguration(std::string_view body);

std::string BuildDeleteObjectsXml(const std::vector<std::string>& keys, bool quiet);
std::string BuildCompleteMultipartUploadXml(const std::vector<CompletedPart>& parts);

}  // namespace stagefs::s3::http
