// Addressing: turns ClientOptions' endpoint plus a bucket, key and query into the
// request URL, the Host header and the SigV4 canonical URI, choosing path-style
// or virtual-hosted-style per ClientOptions::Addressing. Pure and thread-safe.
//
// kAuto: virtual-hosted for *.amazonaws.com (and .amazonaws.com.cn) endpoints,
// path-style for IP addresses, localhost and every other endpoint; path-style
// anyway for bucket names with dots (they break TLS wildcard certificates) and
// for bucket names that are not valid DNS labels.
#pragma once

#include <string>

#include "s3/http/client_options.h"
#include "s3/http/sigv4.h"

namespace stagefs::s3::http {

struct Endpoint {
  std::string scheme;  // "https"
  std::string host;    // "s3.us-east-1.amazonaws.com" or "127.0.0.1:4569" (port kept)
  std::string hostname;  // host without the port
};

// An empty endpoint_url means https://s3.<region>.amazonaws.com. A URL without
// a scheme gets https://. Any path in the URL is ignored.
Endpoint ParseEndpoint(const ClientOptions& options);

bool UsePathStyle(ClientOptions::Addressing addressing, const Endpoint& endpoint,
                  const std::string& bucket);

struct Target {
  std::string url;            // full URL with the canonical query string
  std::string host;           // Host header value
  std::string canonical_uri;  // for SigV4; the URL's path, encoded once
};

// `bucket` may be empty (service-level request); `key` is raw.
Target BuildTarget(const Endpoint& endpoint, bool path_style, const std::string& bucket,
                   const std::string& key, const KeyValues& query);

}  // namespace stagefs::s3::http
