#include "s3/http/s3_xml.h"

#include <pugixml.hpp>

#include <charconv>
#include <optional>

#include "s3/http/http_util.h"

namespace stagefs::s3::http {
namespace {

// Parses `body`; on success `doc` holds it and the root element is returned.
// Parsing stops at the first error, so truncated documents (unclosed elements)
// are rejected rather than half-read.
pugi::xml_node ParseRoot(pugi::xml_document& doc, std::string_view body, std::string* err) {
  if (body.empty()) {
    *err = "empty response body";
    return {};
  }
  pugi::xml_parse_result r = doc.load_buffer(body.data(), body.size(), pugi::parse_default,
                                             pugi::encoding_utf8);
  if (!r) {
    *err = std::string("bad XML at offset ") + std::to_string(r.offset) + ": " + r.description();
    return {};
  }
  pugi::xml_node root = doc.document_element();
  if (!root) *err = "XML body has no root element";
  return root;
}

std::string Text(const pugi::xml_node& parent, const char* name) {
  return parent.child(name).text().as_string();
}

bool ParseU64(std::string_view s, uint64_t* out) {
  s = Trim(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

S3Error ErrorFromXml(const pugi::xml_node& err, int http_status) {
  std::string code = Text(err, "Code");
  S3Error e = MakeHttpError(http_status, code, Text(err, "Message"), Text(err, "RequestId"));
  if (http_status / 100 == 2 && (code == "InternalError" || code == "ServiceUnavailable")) {
    // An error inside a 200: retry as S3 documents for these codes.
    e.kind = S3ErrorKind::kServerError;
    e.retryable = true;
  }
  return e;
}

// Common prologue of every parser: well-formed, not <Error>, expected root.
template <typename T>
bool Open(pugi::xml_document& doc, std::string_view body, const char* want, pugi::xml_node* root,
          std::optional<S3Result<T>>* fail) {
  std::string err;
  *root = ParseRoot(doc, body, &err);
  if (!*root) {
    fail->emplace(MalformedResponse(err));
    return false;
  }
  if (std::string_view(root->name()) == "Error") {
    fail->emplace(ErrorFromXml(*root, 200));
    return false;
  }
  if (std::string_view(root->name()) != want) {
    fail->emplace(MalformedResponse(std::string("expected <") + want + ">, got <" + root->name() +
                                    ">"));
    return false;
  }
  return true;
}

void XmlEscapeInto(std::string_view s, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '&': *out += "&amp;"; break;
      case '<': *out += "&lt;"; break;
      case '>': *out += "&gt;"; break;
      case '"': *out += "&quot;"; break;
      case '\'': *out += "&apos;"; break;
      case '\r': *out += "&#13;"; break;
      case '\n': *out += "&#10;"; break;
      default: out->push_back(c);
    }
  }
}

}  // namespace

S3Error MalformedResponse(std::string message) {
  S3Error e;
  e.kind = S3ErrorKind::kMalformedResponse;
  e.message = std::move(message);
  e.retryable = false;
  return e;
}

S3Error ErrorFromResponse(int http_status, std::string_view body,
                          std::string_view header_request_id) {
  pugi::xml_document doc;
  std::string err;
  pugi::xml_node root = body.empty() ? pugi::xml_node() : ParseRoot(doc, body, &err);
  S3Error e;
  if (root && std::string_view(root.name()) == "Error") {
    e = ErrorFromXml(root, http_status);
  } else {
    e = MakeHttpError(http_status, "", body.empty() ? "" : "unparseable error body", "");
  }
  if (e.request_id.empty()) e.request_id = std::string(header_request_id);
  return e;
}

S3Result<ListObjectsV2Result> ParseListObjectsV2(std::string_view body, bool url_encoded) {
  pugi::xml_document doc;
  pugi::xml_node root;
  std::optional<S3Result<ListObjectsV2Result>> fail;
  if (!Open(doc, body, "ListBucketResult", &root, &fail)) return std::move(*fail);
  auto decode = [&](std::string s) { return url_encoded ? UriDecode(s, true) : s; };
  ListObjectsV2Result out;
  for (pugi::xml_node c : root.children("Contents")) {
    ListedObject o;
    o.key = decode(Text(c, "Key"));
    if (!ParseU64(Text(c, "Size"), &o.size)) {
      return MalformedResponse("bad <Size> for key '" + o.key + "'");
    }
    o.etag = NormalizeEtag(Text(c, "ETag"));
    o.last_modified_ns = ParseIso8601(Text(c, "LastModified")).value_or(0);
    o.storage_class = Text(c, "StorageClass");
    out.objects.push_back(std::move(o));
  }
  for (pugi::xml_node p : root.children("CommonPrefixes")) {
    out.common_prefixes.push_back(decode(Text(p, "Prefix")));
  }
  std::string truncated = Text(root, "IsTruncated");
  out.is_truncated = truncated == "true";
  out.next_continuation_token = Text(root, "NextContinuationToken");
  if (out.is_truncated && out.next_continuation_token.empty()) {
    return MalformedResponse("truncated listing without NextContinuationToken");
  }
  return out;
}

S3Result<DeleteObjectsResult> ParseDeleteObjects(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_node root;
  std::optional<S3Result<DeleteObjectsResult>> fail;
  if (!Open(doc, body, "DeleteResult", &root, &fail)) return std::move(*fail);
  DeleteObjectsResult out;
  for (pugi::xml_node d : root.children("Deleted")) out.deleted.push_back(Text(d, "Key"));
  for (pugi::xml_node e : root.children("Error")) {
    out.errors.push_back({Text(e, "Key"), Text(e, "Code"), Text(e, "Message")});
  }
  return out;
}

S3Result<CopyObjectResult> ParseCopyResult(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_node root;
  std::optional<S3Result<CopyObjectResult>> fail;
  const char* want = "CopyObjectResult";
  if (body.find("<CopyPartResult") != std::string_view::npos) want = "CopyPartResult";
  if (!Open(doc, body, want, &root, &fail)) return std::move(*fail);
  CopyObjectResult out;
  out.etag = NormalizeEtag(Text(root, "ETag"));
  if (out.etag.empty()) return MalformedResponse(std::string("<") + want + "> without <ETag>");
  out.last_modified_ns = ParseIso8601(Text(root, "LastModified")).value_or(0);
  return out;
}

S3Result<CompleteMultipartUploadResult> ParseCompleteMultipartUpload(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_node root;
  std::optional<S3Result<CompleteMultipartUploadResult>> fail;
  if (!Open(doc, body, "CompleteMultipartUploadResult", &root, &fail)) return std::move(*fail);
  CompleteMultipartUploadResult out;
  out.etag = NormalizeEtag(Text(root, "ETag"));  // RGW 16 sends an empty <ETag/>; the caller fills it in
  return out;
}

S3Result<CreateMultipartUploadResult> ParseInitiateMultipartUpload(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_node root;
  std::optional<S3Result<CreateMultipartUploadResult>> fail;
  if (!Open(doc, body, "InitiateMultipartUploadResult", &root, &fail)) return std::move(*fail);
  CreateMultipartUploadResult out;
  out.upload_id = Text(root, "UploadId");
  if (out.upload_id.empty()) return MalformedResponse("no <UploadId> in response");
  return out;
}

S3Result<GetBucketVersioningResult> ParseVersioningConfiguration(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_node root;
  std::optional<S3Result<GetBucketVersioningResult>> fail;
  if (!Open(doc, body, "VersioningConfiguration", &root, &fail)) return std::move(*fail);
  GetBucketVersioningResult out;
  out.status = Text(root, "Status");
  return out;
}

std::string BuildDeleteObjectsXml(const std::vector<std::string>& keys, bool quiet) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete>";
  if (quiet) out += "<Quiet>true</Quiet>";
  for (const std::string& k : keys) {
    out += "<Object><Key>";
    XmlEscapeInto(k, &out);
    out += "</Key></Object>";
  }
  out += "</Delete>";
  return out;
}

std::string BuildCompleteMultipartUploadXml(const std::vector<CompletedPart>& parts) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUpload>";
  for (const CompletedPart& p : parts) {
    out += "<Part><PartNumber>" + std::to_string(p.part_number) + "</PartNumber><ETag>";
    XmlEscapeInto(p.etag, &out);
    out += "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

}  // namespace stagefs::s3::http
