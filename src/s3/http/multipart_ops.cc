// CurlObjectClient: multipart uploads (create, upload part, upload part copy,
// complete, abort). Transport, signing and retries are in curl_object_client.cc.
#include "s3/http/body_digest.h"
#include "s3/http/curl_object_client_impl.h"
#include "s3/http/object_headers.h"
#include "s3/http/s3_xml.h"

namespace stagefs::s3::http {

S3Result<CreateMultipartUploadResult> CurlObjectClient::CreateMultipartUpload(
    const CreateMultipartUploadParams& p) {
  S3Request req{Op::kCreateMultipartUpload, "POST", p.bucket, p.key, {{"uploads", ""}}, {}, nullptr};
  if (!p.content_type.empty()) req.headers.emplace_back("Content-Type", p.content_type);
  AddMetadataHeaders(p.metadata, &req.headers);
  AddSseHeaders(p.sse, &req.headers);
  return Call<CreateMultipartUploadResult>(
      req, [](const HttpResponse& r) { return ParseInitiateMultipartUpload(r.body); });
}

S3Result<UploadPartResult> CurlObjectClient::UploadPart(const UploadPartParams& p) {
  S3Request req{Op::kUploadPart, "PUT", p.bucket, p.key, {}, {}, &p.body};
  req.query = {{"partNumber", std::to_string(p.part_number)}, {"uploadId", p.upload_id}};
  auto digest = DigestBody(p.body);
  if (!digest.ok()) return digest.error();
  req.headers.emplace_back("Content-MD5", digest->content_md5);
  return Call<UploadPartResult>(req, [&](const HttpResponse& r) -> S3Result<UploadPartResult> {
    const std::string* etag = r.Header("etag");
    if (etag == nullptr || etag->empty()) return MalformedResponse("UploadPart without ETag");
    if (p.verify_etag)
      if (auto bad = CheckUploadEtag(*digest, *etag, {})) return *bad;
    return UploadPartResult{NormalizeEtag(*etag)};
  });
}

S3Result<UploadPartCopyResult> CurlObjectClient::UploadPartCopy(const UploadPartCopyParams& p) {
  S3Request req{Op::kUploadPartCopy, "PUT", p.bucket, p.key, {}, {}, nullptr};
  req.query = {{"partNumber", std::to_string(p.part_number)}, {"uploadId", p.upload_id}};
  req.headers.emplace_back("x-amz-copy-source",
                           CopySourceValue(p.source_bucket, p.source_key, p.source_version_id));
  if (p.source_range) {
    req.headers.emplace_back("x-amz-copy-source-range", RangeValue(*p.source_range));
  }
  if (!p.copy_source_if_match.empty()) {
    req.headers.emplace_back("x-amz-copy-source-if-match", p.copy_source_if_match);
  }
  return Call<UploadPartResult>(req, [](const HttpResponse& r) -> S3Result<UploadPartResult> {
    auto copied = ParseCopyResult(r.body);  // a 200 may carry an <Error>
    if (!copied.ok()) return std::move(copied).error();
    return UploadPartResult{copied->etag};
  });
}

S3Result<CompleteMultipartUploadResult> CurlObjectClient::CompleteMultipartUpload(
    const CompleteMultipartUploadParams& p) {
  const std::string xml = BuildCompleteMultipartUploadXml(p.parts);
  const BodySource body = BodySource::FromString(xml);
  S3Request req{Op::kCompleteMultipartUpload, "POST", p.bucket, p.key, {{"uploadId", p.upload_id}},
                {}, &body};
  req.headers.emplace_back("Content-Type", "application/xml");
  if (!p.if_match.empty()) req.headers.emplace_back("If-Match", p.if_match);
  if (!p.if_none_match.empty()) req.headers.emplace_back("If-None-Match", p.if_none_match);
  auto done = Call<CompleteMultipartUploadResult>(req, [](const HttpResponse& r) {
    auto done = ParseCompleteMultipartUpload(r.body);  // a 200 may carry an <Error>
    if (!done.ok()) return done;
    const std::string* version = r.Header("x-amz-version-id");
    if (version != nullptr && *version != "null") done->version_id = *version;
    const std::string* etag = r.Header("etag");
    if (done->etag.empty() && etag != nullptr) done->etag = NormalizeEtag(*etag);
    return done;
  });
  if (!done.ok() || !done->etag.empty()) return done;
  // Some servers (RGW 16) omit the ETag. Ask for it; a writer racing in between
  // could make this the ETag of a newer object, which callers treat like any
  // concurrent overwrite.
  auto head = HeadObject({p.bucket, p.key, "", done->version_id});
  if (!head.ok()) return std::move(head).error();
  done->etag = head->etag;
  return done;
}

S3Result<Empty> CurlObjectClient::AbortMultipartUpload(const AbortMultipartUploadParams& p) {
  S3Request req{Op::kAbortMultipartUpload, "DELETE", p.bucket, p.key, {{"uploadId", p.upload_id}},
                {}, nullptr};
  auto r = Send(req);
  if (!r.ok()) return std::move(r).error();
  return Empty{};
}

}  // namespace stagefs::s3::http
