#include "s3/http/sigv4.h"

#include <algorithm>
#include <map>

#include "s3/http/http_util.h"

namespace stagefs::s3::http {
namespace {

// Trims and collapses runs of spaces, as SigV4 canonical header values require.
std::string CanonicalHeaderValue(std::string_view v) {
  v = Trim(v);
  std::string out;
  out.reserve(v.size());
  bool in_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      if (!in_space) out.push_back(' ');
      in_space = true;
    } else {
      out.push_back(c);
      in_space = false;
    }
  }
  return out;
}

}  // namespace

std::string CanonicalQueryString(const KeyValues& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, true), UriEncode(v, true));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

SigV4Output SignV4(const SigV4Input& in) {
  // Ordered by lower-case name; duplicate headers keep their order, joined by ','.
  std::map<std::string, std::string> canon;
  for (const auto& [name, value] : in.headers) {
    std::string lname = ToLower(Trim(name));
    std::string cval = CanonicalHeaderValue(value);
    auto [it, inserted] = canon.emplace(lname, cval);
    if (!inserted) it->second += "," + cval;
  }
  SigV4Output out;
  std::string canonical_headers;
  for (const auto& [name, value] : canon) {
    canonical_headers += name + ":" + value + "\n";
    if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
    out.signed_headers += name;
  }
  out.canonical_request = in.method + "\n" + in.canonical_uri + "\n" +
                          CanonicalQueryString(in.query) + "\n" + canonical_headers + "\n" +
                          out.signed_headers + "\n" + in.payload_hash;

  const std::string date = in.amz_date.substr(0, 8);
  const std::string scope = date + "/" + in.region + "/" + in.service + "/aws4_request";
  out.string_to_sign = "AWS4-HMAC-SHA256\n" + in.amz_date + "\n" + scope + "\n" +
                       Sha256Hex(out.canonical_request);

  std::string k = HmacSha256("AWS4" + in.credentials.secret_access_key, date);
  k = HmacSha256(k, in.region);
  k = HmacSha256(k, in.service);
  k = HmacSha256(k, "aws4_request");
  out.signature = HexEncode(HmacSha256(k, out.string_to_sign));
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + in.credentials.access_key_id + "/" + scope +
                      ", SignedHeaders=" + out.signed_headers + ", Signature=" + out.signature;
  return out;
}

}  // namespace stagefs::s3::http
