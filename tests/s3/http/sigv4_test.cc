// Checks the SigV4 signer against AWS's published test suite (data files under
// tests/data/sigv4/, one directory per vector with .req/.creq/.sts/.authz).
#include "s3/http/sigv4.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "s3/http/http_util.h"

namespace stagefs::s3::http {
namespace {

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::filesystem::path VectorDir() {
  const char* d = std::getenv("STAGEFS_TESTDATA");
  return std::filesystem::path(d ? d : "tests/data") / "sigv4";
}

// Parses an AWS test-suite .req file into signer input.
SigV4Input ParseReq(const std::string& req) {
  SigV4Input in;
  std::istringstream ss(req);
  std::string line;
  std::getline(ss, line);
  size_t sp = line.find(' ');
  size_t http = line.rfind(" HTTP/");
  in.method = line.substr(0, sp);
  std::string uri = line.substr(sp + 1, http - sp - 1);
  std::string path = uri.substr(0, uri.find('?'));
  in.canonical_uri = UriEncode(UriDecode(path, false), false);
  if (size_t q = uri.find('?'); q != std::string::npos) {
    std::string query = uri.substr(q + 1);
    size_t start = 0;
    while (start <= query.size()) {
      size_t amp = query.find('&', start);
      if (amp == std::string::npos) amp = query.size();
      std::string kv = query.substr(start, amp - start);
      size_t eq = kv.find('=');
      std::string k = kv.substr(0, eq);
      std::string v = eq == std::string::npos ? "" : kv.substr(eq + 1);
      if (!kv.empty()) in.query.emplace_back(UriDecode(k, false), UriDecode(v, false));
      start = amp + 1;
    }
  }
  std::string body;
  bool in_body = false;
  while (std::getline(ss, line)) {
    if (in_body) {
      body += (body.empty() ? "" : "\n") + line;
      continue;
    }
    if (line.empty()) {
      in_body = true;
      continue;
    }
    size_t colon = line.find(':');
    // The client never signs Content-Length (curl computes it), see below.
    if (ToLower(line.substr(0, colon)) == "content-length") continue;
    in.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  in.payload_hash = Sha256Hex(body);
  in.credentials.access_key_id = "AKIDEXAMPLE";
  in.credentials.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  in.region = "us-east-1";
  in.service = "service";
  in.amz_date = "20150830T123600Z";
  return in;
}

std::string StripTrailingNewline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// The published post-x-www-form-urlencoded* vectors are inconsistent: their .req
// and .creq list Content-Length, but their .sts and .authz were computed without
// it. We sign without it (as the client does) and drop it from the expected creq.
std::string WithoutContentLength(std::string creq) {
  for (std::string_view drop : {"content-length:13\n", "content-length;"}) {
    if (size_t p = creq.find(drop); p != std::string::npos) creq.erase(p, drop.size());
  }
  return creq;
}

TEST(SigV4Test, AwsTestSuiteVectors) {
  int checked = 0;
  ASSERT_TRUE(std::filesystem::is_directory(VectorDir())) << VectorDir();
  for (const auto& entry : std::filesystem::directory_iterator(VectorDir())) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    auto file = [&](const char* ext) { return ReadFile(entry.path() / (name + ext)); };
    SigV4Output out = SignV4(ParseReq(file(".req")));
    EXPECT_EQ(out.canonical_request, WithoutContentLength(StripTrailingNewline(file(".creq"))));
    EXPECT_EQ(out.string_to_sign, StripTrailingNewline(file(".sts")));
    EXPECT_EQ(out.authorization, StripTrailingNewline(file(".authz")));
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

TEST(SigV4Test, CanonicalQuerySortsAndEncodes) {
  KeyValues q = {{"prefix", "a b/c"}, {"list-type", "2"}, {"encoding-type", "url"}, {"uploads", ""}};
  EXPECT_EQ(CanonicalQueryString(q), "encoding-type=url&list-type=2&prefix=a%20b%2Fc&uploads=");
}

TEST(SigV4Test, S3StyleUriIsEncodedOnceWithSlashKept) {
  EXPECT_EQ(UriEncode("/bucket/dir/a b+c%.txt", false), "/bucket/dir/a%20b%2Bc%25.txt");
  EXPECT_EQ(UriEncode("~-._", true), "~-._");
  EXPECT_EQ(UriEncode("\xe1\x88\xb4", true), "%E1%88%B4");
}

// The example from the S3 SigV4 documentation ("GET Object" with a Range header).
TEST(SigV4Test, S3DocumentationGetObjectExample) {
  SigV4Input in;
  in.method = "GET";
  in.canonical_uri = "/test.txt";
  in.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                {"Range", "bytes=0-9"},
                {"x-amz-content-sha256", std::string(kEmptyPayloadSha256)},
                {"x-amz-date", "20130524T000000Z"}};
  in.payload_hash = std::string(kEmptyPayloadSha256);
  in.credentials = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  in.region = "us-east-1";
  in.service = "s3";
  in.amz_date = "20130524T000000Z";
  SigV4Output out = SignV4(in);
  EXPECT_EQ(out.signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
  EXPECT_EQ(out.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(HttpUtilTest, Dates) {
  EXPECT_EQ(FormatAmzDate(1440938160LL * 1'000'000'000), "20150830T123600Z");
  EXPECT_EQ(ParseHttpDate("Sun, 30 Aug 2015 12:36:00 GMT").value(), 1440938160LL * 1'000'000'000);
  EXPECT_EQ(ParseIso8601("2015-08-30T12:36:00.500Z").value(),
            1440938160LL * 1'000'000'000 + 500'000'000);
  EXPECT_FALSE(ParseHttpDate("garbage").has_value());
  EXPECT_FALSE(ParseIso8601("").has_value());
  // Found by fuzz_s3_xml: dates past 2262 overflowed int64 nanoseconds.
  EXPECT_FALSE(ParseIso8601("4018-10-28T22:32:00.000Z").has_value());
  EXPECT_FALSE(ParseHttpDate("Sun, 30 Aug 9999 12:36:00 GMT").has_value());
}

TEST(HttpUtilTest, DecodeAndDigests) {
  EXPECT_EQ(UriDecode("a%20b+c%2B%zz%", true), "a b c+%zz%");
  EXPECT_EQ(UriDecode("a+b", false), "a+b");
  EXPECT_EQ(Md5Base64(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(Sha256Hex(""), kEmptyPayloadSha256);
}

}  // namespace
}  // namespace stagefs::s3::http
