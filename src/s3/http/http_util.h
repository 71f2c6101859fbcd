// Small pure helpers shared by the S3 HTTP client: RFC 3986 percent-encoding as
// S3 and SigV4 want it, hex/SHA-256/HMAC/MD5 digests (OpenSSL), and the time
// formats S3 uses (x-amz-date, ISO 8601 in XML bodies, RFC 1123 in headers).
//
// All functions are pure and thread-safe. Parse functions never throw; they
// return std::nullopt on input they cannot read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stagefs::s3::http {

// Percent-encodes every byte except the RFC 3986 unreserved set
// (A-Z a-z 0-9 - . _ ~). '/' is kept as is unless `encode_slash`.
std::string UriEncode(std::string_view s, bool encode_slash);

// Decodes %XX escapes; with `plus_is_space` also '+' as ' ' (S3's
// encoding-type=url listings). Malformed escapes are kept literally.
std::string UriDecode(std::string_view s, bool plus_is_space);

std::string HexEncode(std::string_view bytes);
std::string Sha256(std::string_view data);      // raw 32 bytes
std::string Sha256Hex(std::string_view data);   // lower-case hex
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string Md5Base64(std::string_view data);   // for Content-MD5

// "20150830T123600Z" for a wall time in ns since the Unix epoch.
std::string FormatAmzDate(int64_t wall_nanos);

// "2009-10-12T17:50:30.000Z" (fraction optional) -> ns since the epoch.
std::optional<int64_t> ParseIso8601(std::string_view s);

// "Wed, 12 Oct 2009 17:50:00 GMT" -> ns since the epoch.
std::optional<int64_t> ParseHttpDate(std::string_view s);

// ASCII lower-casing and whitespace trimming.
std::string ToLower(std::string_view s);
std::string_view Trim(std::string_view s);

}  // namespace stagefs::s3::http
