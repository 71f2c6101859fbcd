#include "s3/http/object_headers.h"

#include <charconv>

#include "s3/http/http_util.h"

namespace stagefs::s3::http {
namespace {

bool ToU64(std::string_view s, uint64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

constexpr std::string_view kMetaPrefix = "x-amz-meta-";

}  // namespace

std::optional<ContentRange> ParseContentRange(std::string_view v) {
  v = Trim(v);
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  size_t dash = v.find('-');
  size_t slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) {
    return std::nullopt;
  }
  ContentRange r;
  if (!ToU64(v.substr(0, dash), &r.first) ||
      !ToU64(v.substr(dash + 1, slash - dash - 1), &r.last) ||
      !ToU64(v.substr(slash + 1), &r.total) || r.first > r.last || r.last >= r.total) {
    return std::nullopt;
  }
  return r;
}

ObjectInfo ObjectInfoFromHeaders(const KeyValues& headers, int http_status) {
  ObjectInfo info;
  bool have_range_total = false;
  for (const auto& [name, value] : headers) {
    if (name == "etag") {
      info.etag = NormalizeEtag(value);
    } else if (name == "content-length") {
      if (!have_range_total) ToU64(value, &info.size);
    } else if (name == "content-range") {  // some servers send it with a 200
      if (auto r = ParseContentRange(value)) {
        info.size = r->total;
        have_range_total = true;
      }
    } else if (name == "last-modified") {
      info.last_modified_ns = ParseHttpDate(value).value_or(0);
    } else if (name == "x-amz-version-id") {
      info.version_id = value == "null" ? "" : value;
    } else if (name == "x-amz-storage-class") {
      info.storage_class = value;
    } else if (name == "content-type") {
      info.content_type = value;
    } else if (name.starts_with(kMetaPrefix)) {
      info.metadata[ToLower(name.substr(kMetaPrefix.size()))] = value;
    }
  }
  return info;
}

void AddMetadataHeaders(const UserMetadata& metadata, KeyValues* headers) {
  for (const auto& [name, value] : metadata) {
    headers->emplace_back(std::string(kMetaPrefix) + ToLower(name), value);
  }
}

void AddSseHeaders(const ServerSideEncryption& sse, KeyValues* headers) {
  switch (sse.mode) {
    case ServerSideEncryption::Mode::kNone:
      break;
    case ServerSideEncryption::Mode::kS3:
      headers->emplace_back("x-amz-server-side-encryption", "AES256");
      break;
    case ServerSideEncryption::Mode::kKms:
      headers->emplace_back("x-amz-server-side-encryption", "aws:kms");
      if (!sse.kms_key_id.empty()) {
        headers->emplace_back("x-amz-server-side-encryption-aws-kms-key-id", sse.kms_key_id);
      }
      break;
  }
}

std::string CopySourceValue(const std::string& bucket, const std::string& key,
                            const std::string& version_id) {
  std::string v = UriEncode(bucket + "/" + key, false);
  if (!version_id.empty()) v += "?versionId=" + UriEncode(version_id, true);
  return v;
}

std::string RangeValue(const ByteRange& r) {
  return "bytes=" + std::to_string(r.first) + "-" + std::to_string(r.last);
}

}  // namespace stagefs::s3::http
