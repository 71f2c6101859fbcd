// CurlObjectClient: single-object writes, copies, deletes, listing and bucket
// versioning. Transport, signing and retries are in curl_object_client.cc.
#include "s3/http/body_digest.h"
#include "s3/http/curl_object_client_impl.h"
#include "s3/http/http_util.h"
#include "s3/http/object_headers.h"
#include "s3/http/s3_xml.h"

namespace stagefs::s3::http {
namespace {

std::string HeaderOr(const HttpResponse& r, std::string_view name) {
  const std::string* v = r.Header(name);
  return v ? *v : std::string();
}

std::string VersionHeader(const HttpResponse& r) {
  std::string v = HeaderOr(r, "x-amz-version-id");
  return v == "null" ? "" : v;
}

}  // namespace

S3Result<PutObjectResult> CurlObjectClient::PutObject(const PutObjectParams& p) {
  S3Request req{Op::kPutObject, "PUT", p.bucket, p.key, {}, {}, &p.body};
  if (!p.content_type.empty()) req.headers.emplace_back("Content-Type", p.content_type);
  if (!p.if_match.empty()) req.headers.emplace_back("If-Match", p.if_match);
  if (!p.if_none_match.empty()) req.headers.emplace_back("If-None-Match", p.if_none_match);
  AddMetadataHeaders(p.metadata, &req.headers);
  AddSseHeaders(p.sse, &req.headers);
  auto digest = DigestBody(p.body);
  if (!digest.ok()) return digest.error();
  req.headers.emplace_back("Content-MD5", digest->content_md5);
  return Call<PutObjectResult>(req, [&](const HttpResponse& r) -> S3Result<PutObjectResult> {
    PutObjectResult out{NormalizeEtag(HeaderOr(r, "etag")), VersionHeader(r)};
    if (out.etag.empty()) return MalformedResponse("PUT response without ETag");
    if (auto bad = CheckUploadEtag(*digest, out.etag, p.sse)) return *bad;
    return out;
  });
}

S3Result<CopyObjectResult> CurlObjectClient::CopyObject(const CopyObjectParams& p) {
  S3Request req{Op::kCopyObject, "PUT", p.bucket, p.key, {}, {}, nullptr};
  req.headers.emplace_back("x-amz-copy-source",
                           CopySourceValue(p.source_bucket, p.source_key, p.source_version_id));
  if (!p.copy_source_if_match.empty()) {
    req.headers.emplace_back("x-amz-copy-source-if-match", p.copy_source_if_match);
  }
  if (p.directive == MetadataDirective::kReplace) {
    req.headers.emplace_back("x-amz-metadata-directive", "REPLACE");
    if (!p.content_type.empty()) req.headers.emplace_back("Content-Type", p.content_type);
    AddMetadataHeaders(p.metadata, &req.headers);
  } else {
    req.headers.emplace_back("x-amz-metadata-directive", "COPY");
  }
  AddSseHeaders(p.sse, &req.headers);
  return Call<CopyObjectResult>(req, [](const HttpResponse& r) {
    auto out = ParseCopyResult(r.body);  // a 200 may carry an <Error>
    if (out.ok()) out->version_id = VersionHeader(r);
    return out;
  });
}

S3Result<Empty> CurlObjectClient::DeleteObject(const DeleteObjectParams& p) {
  S3Request req{Op::kDeleteObject, "DELETE", p.bucket, p.key, {}, {}, nullptr};
  if (!p.version_id.empty()) req.query.emplace_back("versionId", p.version_id);
  auto r = Send(req);
  if (!r.ok()) return std::move(r).error();
  return Empty{};
}

S3Result<DeleteObjectsResult> CurlObjectClient::DeleteObjects(const DeleteObjectsParams& p) {
  if (p.keys.empty()) return DeleteObjectsResult{};
  const std::string xml = BuildDeleteObjectsXml(p.keys, p.quiet);
  const BodySource body = BodySource::FromString(xml);
  S3Request req{Op::kDeleteObjects, "POST", p.bucket, "", {{"delete", ""}}, {}, &body};
  req.headers.emplace_back("Content-Type", "application/xml");
  req.headers.emplace_back("Content-MD5", Md5Base64(xml));
  return Call<DeleteObjectsResult>(
      req, [](const HttpResponse& r) { return ParseDeleteObjects(r.body); });
}

S3Result<ListObjectsV2Result> CurlObjectClient::ListObjectsV2(const ListObjectsV2Params& p) {
  S3Request req{Op::kListObjectsV2, "GET", p.bucket, "", {}, {}, nullptr};
  req.query = {{"list-type", "2"}, {"encoding-type", "url"}};
  if (!p.prefix.empty()) req.query.emplace_back("prefix", p.prefix);
  if (!p.delimiter.empty()) req.query.emplace_back("delimiter", p.delimiter);
  if (!p.continuation_token.empty()) {
    req.query.emplace_back("continuation-token", p.continuation_token);
  }
  if (!p.start_after.empty()) req.query.emplace_back("start-after", p.start_after);
  if (p.max_keys > 0) req.query.emplace_back("max-keys", std::to_string(p.max_keys));
  return Call<ListObjectsV2Result>(req, [](const HttpResponse& r) {
    // Decode only if the server honoured encoding-type=url (it echoes it back).
    bool encoded = r.body.find("<EncodingType>url</EncodingType>") != std::string::npos;
    return ParseListObjectsV2(r.body, encoded);
  });
}

S3Result<GetBucketVersioningResult> CurlObjectClient::GetBucketVersioning(
    const GetBucketVersioningParams& p) {
  S3Request req{Op::kGetBucketVersioning, "GET", p.bucket, "", {{"versioning", ""}}, {}, nullptr};
  return Call<GetBucketVersioningResult>(
      req, [](const HttpResponse& r) { return ParseVersioningConfiguration(r.body); });
}

}  // namespace stagefs::s3::http
