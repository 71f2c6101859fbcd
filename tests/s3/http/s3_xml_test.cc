#include "s3/http/s3_xml.h"

#include <gtest/gtest.h>

#include <pugixml.hpp>

namespace stagefs::s3::http {
namespace {

constexpr char kList[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>dir%2F</Prefix><KeyCount>3</KeyCount><MaxKeys>2</MaxKeys>
  <Delimiter>%2F</Delimiter><EncodingType>url</EncodingType>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>dir/a+b%2Bc%0A.txt</Key><LastModified>2015-08-30T12:36:00.000Z</LastModified>
    <ETag>&quot;abc&quot;</ETag><Size>123</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>dir/%E1%88%B4</Key><LastModified>2015-08-30T12:36:01Z</LastModified>
    <ETag>"def"</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>
  <CommonPrefixes><Prefix>dir/sub%20dir/</Prefix></CommonPrefixes>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)";

TEST(S3XmlTest, ListObjectsV2UrlDecoded) {
  auto r = ParseListObjectsV2(kList, /*url_encoded=*/true);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->objects.size(), 2u);
  EXPECT_EQ(r->objects[0].key, "dir/a b+c\n.txt");
  EXPECT_EQ(r->objects[0].size, 123u);
  EXPECT_EQ(r->objects[0].etag, "\"abc\"");
  EXPECT_EQ(r->objects[0].last_modified_ns, 1440938160LL * 1'000'000'000);
  EXPECT_EQ(r->objects[0].storage_class, "STANDARD");
  EXPECT_EQ(r->objects[1].key, "dir/\xe1\x88\xb4");
  ASSERT_EQ(r->common_prefixes.size(), 1u);
  EXPECT_EQ(r->common_prefixes[0], "dir/sub dir/");
  EXPECT_TRUE(r->is_truncated);
  EXPECT_EQ(r->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3XmlTest, ListObjectsV2NotEncodedKeepsKeys) {
  auto r = ParseListObjectsV2(kList, /*url_encoded=*/false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->objects[0].key, "dir/a+b%2Bc%0A.txt");
}

TEST(S3XmlTest, EmptyListing) {
  auto r = ParseListObjectsV2(
      "<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated>"
      "</ListBucketResult>",
      true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->objects.empty());
  EXPECT_FALSE(r->is_truncated);
}

TEST(S3XmlTest, TruncatedAndMalformedBodiesAreCleanErrors) {
  std::string full = kList;
  // Every prefix of a valid document is either rejected cleanly or (never) crashes.
  for (size_t n = 0; n < full.size(); n += 7) {
    auto r = ParseListObjectsV2(std::string_view(full).substr(0, n), true);
    ASSERT_FALSE(r.ok()) << "prefix of length " << n << " accepted";
    EXPECT_EQ(r.error().kind, S3ErrorKind::kMalformedResponse);
    EXPECT_FALSE(r.error().retryable);
  }
  for (const char* bad : {"", "not xml", "<html><body>502 Bad Gateway</body></html>",
                          "<ListBucketResult><Contents><Size>abc</Size></Contents></ListBucketResult>",
                          "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
                          "\xff\xfe<\x00"}) {
    auto r = ParseListObjectsV2(bad, true);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, S3ErrorKind::kMalformedResponse) << bad;
  }
}

TEST(S3XmlTest, ErrorBodyInsideA200IsAnError) {
  constexpr char kErr[] =
      "<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>We encountered an "
      "internal error.</Message><RequestId>req-1</RequestId></Error>";
  auto c = ParseCompleteMultipartUpload(kErr);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().kind, S3ErrorKind::kServerError);
  EXPECT_TRUE(c.error().retryable);
  EXPECT_EQ(c.error().code, "InternalError");
  EXPECT_EQ(c.error().request_id, "req-1");
  auto cp = ParseCopyResult(
      "<Error><Code>AccessDenied</Code><Message>no</Message></Error>");
  ASSERT_FALSE(cp.ok());
  EXPECT_EQ(cp.error().kind, S3ErrorKind::kAccessDenied);
  EXPECT_FALSE(cp.error().retryable);
}

TEST(S3XmlTest, ErrorFromResponse) {
  auto e = ErrorFromResponse(
      404,
      "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
      "<Key>a</Key><RequestId>tx1</RequestId></Error>",
      "hdr-id");
  EXPECT_EQ(e.kind, S3ErrorKind::kNoSuchKey);
  EXPECT_EQ(e.message, "The specified key does not exist.");
  EXPECT_EQ(e.request_id, "tx1");
  // HEAD: no body; status decides, request id from the header.
  e = ErrorFromResponse(412, "", "hdr-id");
  EXPECT_EQ(e.kind, S3ErrorKind::kPreconditionFailed);
  EXPECT_EQ(e.request_id, "hdr-id");
  // A proxy's HTML page or a truncated error body: still the status-based error.
  e = ErrorFromResponse(503, "<html>busy", "");
  EXPECT_EQ(e.kind, S3ErrorKind::kServerError);
  EXPECT_TRUE(e.retryable);
  e = ErrorFromResponse(503, "<Error><Code>SlowDown</Code><Mess", "");
  EXPECT_TRUE(e.retryable);
  e = ErrorFromResponse(503, "<Error><Code>SlowDown</Code></Error>", "");
  EXPECT_EQ(e.kind, S3ErrorKind::kThrottled);
}

TEST(S3XmlTest, CopyResults) {
  auto r = ParseCopyResult(
      "<CopyObjectResult><LastModified>2015-08-30T12:36:00.000Z</LastModified>"
      "<ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></CopyObjectResult>");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->etag, "\"9b2cf535f27731c974343645a3985328\"");
  EXPECT_EQ(r->last_modified_ns, 1440938160LL * 1'000'000'000);
  auto p = ParseCopyResult("<CopyPartResult><ETag>\"p1\"</ETag></CopyPartResult>");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->etag, "\"p1\"");
  EXPECT_FALSE(ParseCopyResult("<CopyObjectResult><ETag>\"x\"</ETag>").ok());
  EXPECT_FALSE(ParseCopyResult("<CopyObjectResult></CopyObjectResult>").ok());
}

TEST(S3XmlTest, MultipartAndVersioning) {
  auto init = ParseInitiateMultipartUpload(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE"
      "</UploadId></InitiateMultipartUploadResult>");
  ASSERT_TRUE(init.ok());
  EXPECT_EQ(init->upload_id, "VXBsb2FkIElE");
  EXPECT_FALSE(ParseInitiateMultipartUpload("<InitiateMultipartUploadResult>").ok());
  auto done = ParseCompleteMultipartUpload(
      "<CompleteMultipartUploadResult><Location>x</Location><Bucket>b</Bucket><Key>k</Key>"
      "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag></CompleteMultipartUploadResult>");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
  auto rgw = ParseCompleteMultipartUpload(
      "<CompleteMultipartUploadResult><Key>k</Key><ETag></ETag></CompleteMultipartUploadResult>");
  ASSERT_TRUE(rgw.ok());  // RGW 16: the client fills the ETag in with a HEAD
  EXPECT_EQ(rgw->etag, "");
  auto v = ParseVersioningConfiguration(
      "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>Enabled"
      "</Status></VersioningConfiguration>");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, "Enabled");
  auto never = ParseVersioningConfiguration("<VersioningConfiguration/>");
  ASSERT_TRUE(never.ok());
  EXPECT_EQ(never->status, "");
  EXPECT_FALSE(ParseVersioningConfiguration("<VersioningConfiguration><Status>En").ok());
}

TEST(S3XmlTest, DeleteObjectsResult) {
  auto r = ParseDeleteObjects(
      "<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code>"
      "<Message>Access Denied</Message></Error></DeleteResult>");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->deleted, std::vector<std::string>{"a"});
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].key, "b");
  EXPECT_EQ(r->errors[0].code, "AccessDenied");
  EXPECT_FALSE(ParseDeleteObjects("<DeleteResult><Deleted><Key>a</Key>").ok());
}

TEST(S3XmlTest, RequestBodiesEscapeAndRoundTrip) {
  std::string xml = BuildDeleteObjectsXml({"a&b<c>\"'", "line\nbreak"}, true);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str()));
  auto root = doc.child("Delete");
  EXPECT_STREQ(root.child("Quiet").text().as_string(), "true");
  auto obj = root.child("Object");
  EXPECT_STREQ(obj.child("Key").text().as_string(), "a&b<c>\"'");
  EXPECT_STREQ(obj.next_sibling("Object").child("Key").text().as_string(), "line\nbreak");
  std::string c = BuildCompleteMultipartUploadXml({{1, "\"e1\""}, {2, "\"e2\""}});
  EXPECT_EQ(c,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUpload><Part><PartNumber>1"
            "</PartNumber><ETag>&quot;e1&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"
            "&quot;e2&quot;</ETag></Part></CompleteMultipartUpload>");
}

}  // namespace
}  // namespace stagefs::s3::http
