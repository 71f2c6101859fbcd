// S3's ETag forms computed locally (checked against values from Python's
// hashlib, which is what S3's documented formulas give).
#include "s3/etag.h"

#include <gtest/gtest.h>

namespace stagefs::s3 {
namespace {

TEST(EtagTest, SinglePartIsTheQuotedHexMd5) {
  EXPECT_EQ(SinglePartEtag(""), "\"d41d8cd98f00b204e9800998ecf8427e\"");
  EXPECT_EQ(SinglePartEtag("hello"), "\"5d41402abc4b2a76b9719d911017c592\"");
  EtagHasher h;
  h.Update("hel");
  h.Update("lo");
  EXPECT_EQ(h.Finish(), SinglePartEtag("hello"));
}

TEST(EtagTest, MultipartIsTheMd5OfThePartMd5sAndTheirCount) {
  std::vector<CompletedPart> parts = {{1, SinglePartEtag("hello")}, {2, SinglePartEtag("world")}};
  EXPECT_EQ(MultipartEtag(parts), "\"065947336a2f2a95ba8899f3675c3be6-2\"");
  parts[1].etag = "5d41402abc4b2a76b9719d911017c592";  // bare, as some servers send it
  EXPECT_EQ(MultipartEtag(parts),
            MultipartEtag({{1, SinglePartEtag("hello")}, {2, SinglePartEtag("hello")}}));
  parts[1].etag = "\"not-an-md5\"";
  EXPECT_EQ(MultipartEtag(parts), "");
}

}  // namespace
}  // namespace stagefs::s3
