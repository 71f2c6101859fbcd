#include "s3/http/addressing.h"

#include "s3/http/http_util.h"

namespace stagefs::s3::http {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

bool IsIpAddress(std::string_view host) {
  if (!host.empty() && host.front() == '[') return true;  // IPv6 literal
  if (host.empty()) return false;
  for (char c : host) {
    if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool IsDnsCompatibleBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return b.front() != '-' && b.back() != '-';
}

}  // namespace

Endpoint ParseEndpoint(const ClientOptions& options) {
  std::string url = options.endpoint_url;
  if (url.empty()) url = "https://s3." + options.region + ".amazonaws.com";
  Endpoint ep;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    ep.scheme = "https";
  } else {
    ep.scheme = ToLower(url.substr(0, scheme_end));
    url = url.substr(scheme_end + 3);
  }
  ep.host = url.substr(0, url.find_first_of("/?#"));
  size_t colon = ep.host.rfind(':');
  size_t bracket = ep.host.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    ep.hostname = ep.host.substr(0, colon);
    // Drop default ports so that Host matches what curl would send.
    std::string port = ep.host.substr(colon + 1);
    if ((ep.scheme == "https" && port == "443") || (ep.scheme == "http" && port == "80")) {
      ep.host = ep.hostname;
    }
  } else {
    ep.hostname = ep.host;
  }
  ep.hostname = ToLower(ep.hostname);
  return ep;
}

bool UsePathStyle(ClientOptions::Addressing addressing, const Endpoint& endpoint,
                  const std::string& bucket) {
  if (bucket.empty()) return true;
  switch (addressing) {
    case ClientOptions::Addressing::kPath:
      return true;
    case ClientOptions::Addressing::kVirtual:
      return !IsDnsCompatibleBucket(bucket);
    case ClientOptions::Addressing::kAuto:
      break;
  }
  const std::string& h = endpoint.hostname;
  bool aws = EndsWith(h, ".amazonaws.com") || EndsWith(h, ".amazonaws.com.cn");
  if (!aws || IsIpAddress(h) || h == "localhost") return true;
  return !IsDnsCompatibleBucket(bucket);
}

Target BuildTarget(const Endpoint& endpoint, bool path_style, const std::string& bucket,
                   const std::string& key, const KeyValues& query) {
  Target t;
  if (bucket.empty()) {
    t.host = endpoint.host;
    t.canonical_uri = "/";
  } else if (path_style) {
    t.host = endpoint.host;
    t.canonical_uri = "/" + UriEncode(bucket, true);
    if (!key.empty()) t.canonical_uri += "/" + UriEncode(key, false);
  } else {
    t.host = bucket + "." + endpoint.host;
    t.canonical_uri = "/" + UriEncode(key, false);
  }
  t.url = endpoint.scheme + "://" + t.host + t.canonical_uri;
  std::string q = CanonicalQueryString(query);
  if (!q.empty()) t.url += "?" + q;
  return t;
}

}  // namespace stagefs::s3::http
