#include "sync/s3_events.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace stagefs::sync {
namespace {

TEST(S3EventsTest, ParsesAwsCephAndSnsForms) {
  auto aws = ParseS3Events(R"({"Records":[{"eventVersion":"2.1","eventName":"ObjectCreated:Put",
      "s3":{"bucket":{"name":"b"},"object":{"key":"dir/a+b%2Bc%E2%82%AC.txt","size":5,
      "eTag":"abc","sequencer":"0055AED6DCD90281E5"}}}]})");
  ASSERT_TRUE(aws.ok()) << aws.error().ToString();
  ASSERT_EQ(aws->size(), 1u);
  EXPECT_EQ((*aws)[0].key, "dir/a b+c\xE2\x82\xAC.txt");
  EXPECT_TRUE((*aws)[0].created());
  EXPECT_EQ((*aws)[0].size, 5u);

  auto ceph = ParseS3Events(R"({"Records":[{"eventName":"s3:ObjectRemoved:Delete",
      "s3":{"bucket":{"name":"b"},"object":{"key":"x"}}}]})");
  ASSERT_TRUE(ceph.ok());
  EXPECT_TRUE((*ceph)[0].removed());

  auto sns = ParseS3Events(R"({"Type":"Notification","Message":"{\"Records\":[{\"eventName\":\"ObjectCreated:Copy\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\"}}}]}"})");
  ASSERT_TRUE(sns.ok());
  EXPECT_EQ((*sns)[0].key, "k");
  EXPECT_TRUE(ParseS3Events(R"({"Type":"SubscriptionConfirmation","SubscribeURL":"x"})")->empty());
}

std::string Captured(const std::string& name) {
  const char* dir = std::getenv("STAGEFS_TESTDATA");
  std::ifstream in(std::string(dir ? dir : "tests/data") + "/events/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Bodies RGW 16.2 really pushed (tests/data/events/README.md): keys are raw.
TEST(S3EventsTest, ParsesCapturedCephPushes) {
  auto special = ParseS3Events(Captured("rgw16_push_special_key.json"));
  ASSERT_TRUE(special.ok()) << special.error().ToString();
  ASSERT_EQ(special->size(), 1u);
  EXPECT_EQ((*special)[0].key, "x+y %41/a b+c%2F \xC3\xA9.txt");
  EXPECT_TRUE((*special)[0].created());
  for (const char* name : {"rgw16_push_put.json", "rgw16_push_overwrite.json", "rgw16_push_copy.json",
                           "rgw16_push_multipart.json"}) {
    auto e = ParseS3Events(Captured(name));
    ASSERT_TRUE(e.ok()) << name;
    ASSERT_EQ(e->size(), 1u) << name;
    EXPECT_TRUE((*e)[0].created()) << name;
    EXPECT_FALSE((*e)[0].etag.empty()) << name;
  }
  for (const char* name : {"rgw16_push_delete.json", "rgw16_push_delete_missing.json"}) {
    auto e = ParseS3Events(Captured(name));
    ASSERT_TRUE(e.ok()) << name;
    ASSERT_EQ(e->size(), 1u) << name;
    EXPECT_TRUE((*e)[0].removed()) << name;
  }
}

TEST(S3EventsTest, MalformedBatchesAreRejected) {
  for (const char* body : {"", "{", "[]", R"({"Records":{}})", R"({"Records":[{"eventName":1}]})",
                           R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{}}]})",
                           R"({"Records":[{"eventName":"ObjectCreated:Put",
                               "s3":{"bucket":{"name":"b"},"object":{}}}]})"}) {
    EXPECT_FALSE(ParseS3Events(body).ok()) << body;
  }
}

}  // namespace
}  // namespace stagefs::sync
