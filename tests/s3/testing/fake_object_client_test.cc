#include "s3/testing/fake_object_client.h"

#include <gtest/gtest.h>

#include "s3/etag.h"
#include "s3/testing/fault_injecting_object_client.h"

namespace stagefs::s3 {
namespace {

class FakeObjectClientTest : public ::testing::Test {
 protected:
  void SetUp() override { fake_.CreateBucket("b"); }
  FakeObjectClient fake_;
};

TEST_F(FakeObjectClientTest, PutGetHeadAndRanges) {
  auto put = fake_.PutObject({.bucket = "b", .key = "k", .body = BodySource::FromString("hello"),
                              .metadata = {{"file-owner", "7"}}});
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->etag, SinglePartEtag("hello"));
  auto get = fake_.GetObject({.bucket = "b", .key = "k", .range = ByteRange{1, 3}});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->body, "ell");
  EXPECT_EQ(get->info.size, 5u);
  auto suffix = fake_.GetObject({.bucket = "b", .key = "k", .suffix_length = 2});
  EXPECT_EQ(suffix->body, "lo");
  auto head = fake_.HeadObject({.bucket = "b", .key = "k"});
  EXPECT_EQ(head->metadata.at("file-owner"), "7");
  EXPECT_EQ(fake_.count(Op::kGetObject), 2u);
  auto bad = fake_.GetObject({.bucket = "b", .key = "k", .if_match = "\"nope\""});
  EXPECT_EQ(bad.error().kind, S3ErrorKind::kPreconditionFailed);
  auto missing = fake_.GetObject({.bucket = "b", .key = "zz"});
  EXPECT_EQ(missing.error().kind, S3ErrorKind::kNoSuchKey);
}

TEST_F(FakeObjectClientTest, ConditionalPut) {
  ASSERT_TRUE(fake_.PutObject({.bucket = "b", .key = "k", .body = BodySource::FromString("1"),
                               .if_none_match = "*"}).ok());
  auto again = fake_.PutObject(
      {.bucket = "b", .key = "k", .body = BodySource::FromString("2"), .if_none_match = "*"});
  EXPECT_EQ(again.error().kind, S3ErrorKind::kPreconditionFailed);
  auto wrong = fake_.PutObject(
      {.bucket = "b", .key = "k", .body = BodySource::FromString("2"), .if_match = "\"x\""});
  EXPECT_EQ(wrong.error().kind, S3ErrorKind::kPreconditionFailed);
  EXPECT_TRUE(fake_.PutObject({.bucket = "b", .key = "k", .body = BodySource::FromString("2"),
                               .if_match = SinglePartEtag("1")}).ok());
}

TEST_F(FakeObjectClientTest, ListPaginatesWithDelimiter) {
  for (int i = 0; i < 25; ++i) fake_.PutRaw("b", "d/f" + std::to_string(100 + i), "x");
  fake_.PutRaw("b", "d/sub/a", "x");
  fake_.PutRaw("b", "d/sub/b", "x");
  fake_.PutRaw("b", "d/tub/a", "x");
  fake_.PutRaw("b", "e", "x");
  std::vector<std::string> keys, prefixes;
  ListObjectsV2Params p{.bucket = "b", .prefix = "d/", .delimiter = "/", .max_keys = 4};
  int pages = 0;
  while (true) {
    auto r = fake_.ListObjectsV2(p);
    ASSERT_TRUE(r.ok());
    ++pages;
    for (auto& o : r->objects) keys.push_back(o.key);
    for (auto& c : r->common_prefixes) prefixes.push_back(c);
    if (!r->is_truncated) break;
    p.continuation_token = r->next_continuation_token;
  }
  EXPECT_EQ(keys.size(), 25u);
  EXPECT_EQ(prefixes, (std::vector<std::string>{"d/sub/", "d/tub/"}));
  EXPECT_EQ(pages, 7);
}

TEST_F(FakeObjectClientTest, MultipartWithCopyAndFallback) {
  std::string big(6 * 1024 * 1024, 'a');
  fake_.PutRaw("b", "src", big + "tail");
  auto up = fake_.CreateMultipartUpload({.bucket = "b", .key = "dst"});
  ASSERT_TRUE(up.ok());
  auto p1 = fake_.UploadPartCopy({.bucket = "b", .key = "dst", .upload_id = up->upload_id,
                                  .part_number = 1, .source_bucket = "b", .source_key = "src",
                                  .source_range = ByteRange{0, big.size() - 1}});
  ASSERT_TRUE(p1.ok());
  auto p2 = fake_.UploadPart({.bucket = "b", .key = "dst", .upload_id = up->upload_id,
                              .part_number = 2, .body = BodySource::FromString("NEW")});
  ASSERT_TRUE(p2.ok());
  auto done = fake_.CompleteMultipartUpload(
      {.bucket = "b", .key = "dst", .upload_id = up->upload_id,
       .parts = {{1, p1->etag}, {2, p2->etag}}});
  ASSERT_TRUE(done.ok());
  EXPECT_NE(done->etag.find("-2\""), std::string::npos);
  EXPECT_EQ(fake_.GetRaw("b", "dst")->data, big + "NEW");

  FakeObjectClient lenient({.upload_part_copy = false}, nullptr);
  lenient.CreateBucket("b");
  auto up2 = lenient.CreateMultipartUpload({.bucket = "b", .key = "x"});
  auto r = lenient.UploadPartCopy({.bucket = "b", .key = "x", .upload_id = up2->upload_id,
                                   .part_number = 1, .source_bucket = "b", .source_key = "x"});
  EXPECT_EQ(r.error().kind, S3ErrorKind::kNotImplemented);
}

TEST_F(FakeObjectClientTest, FaultInjection) {
  fake_.PutRaw("b", "k", std::string(1000, 'z'));
  FaultInjectingObjectClient faulty(&fake_);
  faulty.FailNth(2, FaultInjectingObjectClient::ServerError(503), Op::kHeadObject);
  EXPECT_TRUE(faulty.HeadObject({.bucket = "b", .key = "k"}).ok());
  auto e = faulty.HeadObject({.bucket = "b", .key = "k"});
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(e.error().retryable);
  EXPECT_EQ(e.error().kind, S3ErrorKind::kThrottled);
  EXPECT_TRUE(faulty.HeadObject({.bucket = "b", .key = "k"}).ok());

  faulty.SetOffline(true);
  EXPECT_EQ(faulty.ListObjectsV2({.bucket = "b"}).error().kind, S3ErrorKind::kTransport);
  faulty.SetOffline(false);

  faulty.TruncateGetsAfter(100);
  uint64_t got = 0;
  auto t = faulty.GetObject({.bucket = "b", .key = "k", .sink = [&](const char*, size_t n) {
                               got += n;
                               return true;
                             }});
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(got, 100u);
  EXPECT_EQ(faulty.injected(), 3u);
}

}  // namespace
}  // namespace stagefs::s3
