#include "s3/http/addressing.h"

#include <gtest/gtest.h>

#include "s3/http/object_headers.h"

namespace stagefs::s3::http {
namespace {

using A = ClientOptions::Addressing;

Endpoint Ep(const std::string& url, const std::string& region = "us-east-1") {
  ClientOptions o;
  o.endpoint_url = url;
  o.region = region;
  return ParseEndpoint(o);
}

TEST(AddressingTest, EndpointParsing) {
  Endpoint aws = Ep("", "eu-central-1");
  EXPECT_EQ(aws.scheme, "https");
  EXPECT_EQ(aws.host, "s3.eu-central-1.amazonaws.com");
  Endpoint local = Ep("http://127.0.0.1:7480/");
  EXPECT_EQ(local.scheme, "http");
  EXPECT_EQ(local.host, "127.0.0.1:7480");
  EXPECT_EQ(local.hostname, "127.0.0.1");
  EXPECT_EQ(Ep("https://minio.example:443").host, "minio.example");
  EXPECT_EQ(Ep("minio.example:9000").scheme, "https");
  EXPECT_EQ(Ep("http://[::1]:9000").hostname, "[::1]");
}

TEST(AddressingTest, AutoChoosesPathStyleExceptForAws) {
  EXPECT_FALSE(UsePathStyle(A::kAuto, Ep(""), "bucket"));
  EXPECT_TRUE(UsePathStyle(A::kAuto, Ep(""), "my.dotted.bucket"));
  EXPECT_TRUE(UsePathStyle(A::kAuto, Ep(""), "Upper_Case"));
  EXPECT_TRUE(UsePathStyle(A::kAuto, Ep("http://127.0.0.1:7480"), "bucket"));
  EXPECT_TRUE(UsePathStyle(A::kAuto, Ep("http://localhost:4569"), "bucket"));
  EXPECT_TRUE(UsePathStyle(A::kAuto, Ep("https://storage.example.com"), "bucket"));
  EXPECT_TRUE(UsePathStyle(A::kAuto, Ep("http://[::1]:9000"), "bucket"));
  EXPECT_TRUE(UsePathStyle(A::kPath, Ep(""), "bucket"));
  EXPECT_FALSE(UsePathStyle(A::kVirtual, Ep("http://minio.local:9000"), "bucket"));
}

TEST(AddressingTest, TargetsEncodeKeysOnce) {
  Endpoint ep = Ep("http://127.0.0.1:7480");
  Target t = BuildTarget(ep, true, "b", "dir/a b/../c?", {{"versionId", "v/1"}});
  EXPECT_EQ(t.host, "127.0.0.1:7480");
  EXPECT_EQ(t.canonical_uri, "/b/dir/a%20b/../c%3F");
  EXPECT_EQ(t.url, "http://127.0.0.1:7480/b/dir/a%20b/../c%3F?versionId=v%2F1");
  Target v = BuildTarget(Ep(""), false, "bucket", "k", {{"uploads", ""}});
  EXPECT_EQ(v.host, "bucket.s3.us-east-1.amazonaws.com");
  EXPECT_EQ(v.url, "https://bucket.s3.us-east-1.amazonaws.com/k?uploads=");
  EXPECT_EQ(BuildTarget(Ep(""), false, "bucket", "", {}).canonical_uri, "/");
}

TEST(ObjectHeadersTest, InfoFromHeaders) {
  KeyValues h = {{"etag", "\"abc\""},
                 {"content-length", "3"},
                 {"content-range", "bytes 5-7/100"},
                 {"last-modified", "Sun, 30 Aug 2015 12:36:00 GMT"},
                 {"x-amz-version-id", "v1"},
                 {"x-amz-storage-class", "STANDARD_IA"},
                 {"content-type", "text/plain"},
                 {"x-amz-meta-Mode", "0644"}};
  ObjectInfo i = ObjectInfoFromHeaders(h, 206);
  EXPECT_EQ(i.etag, "\"abc\"");
  EXPECT_EQ(i.size, 100u);
  EXPECT_EQ(i.last_modified_ns, 1440938160LL * 1'000'000'000);
  EXPECT_EQ(i.version_id, "v1");
  EXPECT_EQ(i.storage_class, "STANDARD_IA");
  EXPECT_EQ(i.content_type, "text/plain");
  EXPECT_EQ(i.metadata.at("mode"), "0644");
  EXPECT_EQ(ObjectInfoFromHeaders({{"content-length", "42"}}, 200).size, 42u);
  EXPECT_EQ(ObjectInfoFromHeaders({{"x-amz-version-id", "null"}}, 200).version_id, "");
}

TEST(ObjectHeadersTest, ContentRangeParsing) {
  auto r = ParseContentRange("bytes 0-9/443");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->last, 9u);
  EXPECT_EQ(r->total, 443u);
  for (const char* bad : {"bytes */443", "bytes 9-0/443", "bytes 0-9/*", "bytes 0-500/443",
                          "items 0-1/2", "", "bytes 0-9"}) {
    EXPECT_FALSE(ParseContentRange(bad).has_value()) << bad;
  }
}

TEST(ObjectHeadersTest, RequestHeaders) {
  KeyValues h;
  AddMetadataHeaders({{"mtime", "1"}}, &h);
  AddSseHeaders({ServerSideEncryption::Mode::kKms, "key-1"}, &h);
  AddSseHeaders({ServerSideEncryption::Mode::kS3, ""}, &h);
  AddSseHeaders({}, &h);
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[0], (std::pair<std::string, std::string>{"x-amz-meta-mtime", "1"}));
  EXPECT_EQ(h[1].second, "aws:kms");
  EXPECT_EQ(h[2], (std::pair<std::string, std::string>{
                      "x-amz-server-side-encryption-aws-kms-key-id", "key-1"}));
  EXPECT_EQ(h[3].second, "AES256");
  EXPECT_EQ(CopySourceValue("b", "dir/a b+c", ""), "b/dir/a%20b%2Bc");
  EXPECT_EQ(CopySourceValue("b", "k", "v 1"), "b/k?versionId=v%201");
  EXPECT_EQ(RangeValue({0, 1023}), "bytes=0-1023");
}

}  // namespace
}  // namespace stagefs::s3::http
