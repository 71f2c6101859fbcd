// SigV4: AWS Signature Version 4 header signing as a pure function, so it can be
// checked against AWS's published test vectors (tests/data/sigv4/).
//
// The signer signs exactly the headers it is given (names are lower-cased,
// values trimmed and inner runs of spaces collapsed, duplicates joined with ',').
// The caller adds host, x-amz-date, x-amz-content-sha256 and, with temporary
// credentials, x-amz-security-token to `headers` before signing, and then sends
// those same headers plus the returned Authorization header.
//
// S3 rule: the canonical URI is the URI-encoded path ('/' kept), encoded once
// (not double-encoded as for other services). Query parameters are passed raw and
// encoded here. Thread-safe (no state).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "s3/http/client_options.h"

namespace stagefs::s3::http {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct SigV4Input {
  std::string method;            // "GET"
  std::string canonical_uri;     // already encoded: "/bucket/a%20b.txt"
  KeyValues query;               // raw (not encoded) names and values
  KeyValues headers;             // as sent; all of them are signed
  std::string payload_hash;      // hex SHA-256 of the body, or UNSIGNED-PAYLOAD
  Credentials credentials;
  std::string region;            // "us-east-1"
  std::string service;           // "s3"
  std::string amz_date;          // "20150830T123600Z", same as the x-amz-date header
};

struct SigV4Output {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;    // "host;x-amz-date"
  std::string signature;         // hex
  std::string authorization;     // full Authorization header value
};

SigV4Output SignV4(const SigV4Input& in);

// "a=1&b=2": names and values URI-encoded ('/' too), sorted by name then value.
std::string CanonicalQueryString(const KeyValues& query);

}  // namespace stagefs::s3::http
