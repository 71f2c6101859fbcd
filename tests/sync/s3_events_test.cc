#include "sync/s3_events.h"

#include <gtest/gtest.h>

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
