#include "s3/capabilities.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "s3/testing/fake_object_client.h"
#include "s3/testing/fault_injecting_object_client.h"

namespace stagefs::s3 {
namespace {

FakeObjectClient::Options FakeOptions() { return FakeObjectClient::Options{}; }

TEST(CapabilitiesTest, StrictServerSupportsEverythingAndScratchIsCleanedUp) {
  FakeClock clock;
  FakeObjectClient fake(FakeOptions(), &clock);
  fake.CreateBucket("b");
  fake.PutRaw("b", "user/file", "keep me");
  auto caps = ProbeCapabilities(fake, "b", ".stagefs-probe/test");
  ASSERT_TRUE(caps.ok()) << caps.error().ToString();
  EXPECT_EQ(caps->upload_part_copy, Tri::kYes);
  EXPECT_EQ(caps->put_if_match, Tri::kYes);
  EXPECT_EQ(caps->put_if_none_match, Tri::kYes);
  EXPECT_EQ(fake.Keys("b"), std::vector<std::string>{"user/file"});
}

TEST(CapabilitiesTest, NoUploadPartCopyLikeS3rver) {
  FakeClock clock;
  auto o = FakeOptions();
  o.upload_part_copy = false;
  FakeObjectClient fake(o, &clock);
  fake.CreateBucket("b");
  auto caps = ProbeCapabilities(fake, "b", RandomProbePrefix());
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->upload_part_copy, Tri::kNo);
  EXPECT_EQ(caps->put_if_match, Tri::kYes);
  EXPECT_TRUE(fake.Keys("b").empty());
}

TEST(CapabilitiesTest, IgnoredPreconditions) {
  FakeClock clock;
  auto o = FakeOptions();
  o.honour_preconditions = false;
  FakeObjectClient fake(o, &clock);
  fake.CreateBucket("b");
  auto caps = ProbeCapabilities(fake, "b", RandomProbePrefix());
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->put_if_match, Tri::kNo);
  EXPECT_EQ(caps->put_if_none_match, Tri::kNo);
  EXPECT_EQ(caps->upload_part_copy, Tri::kYes);
}

TEST(CapabilitiesTest, IfMatchRejectingTheCorrectEtagIsBroken) {
  FakeClock clock;
  FakeObjectClient fake(FakeOptions(), &clock);
  fake.CreateBucket("b");
  FaultInjectingObjectClient faulty(&fake);
  // PUTs in the probe: plain, If-None-Match: *, If-Match with the right ETag.
  faulty.FailNth(3, MakeHttpError(412, "PreconditionFailed", "broken", ""), Op::kPutObject);
  auto caps = ProbeCapabilities(faulty, "b", RandomProbePrefix());
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->put_if_match, Tri::kNo);
  EXPECT_EQ(caps->put_if_none_match, Tri::kYes);
}

TEST(CapabilitiesTest, TransportTroubleIsUnknownAndNoWriteAccessFails) {
  FakeClock clock;
  FakeObjectClient fake(FakeOptions(), &clock);
  fake.CreateBucket("b");
  FaultInjectingObjectClient faulty(&fake);
  faulty.FailNth(2, FaultInjectingObjectClient::Transport(), Op::kPutObject);
  auto caps = ProbeCapabilities(faulty, "b", RandomProbePrefix());
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->put_if_none_match, Tri::kUnknown);

  faulty.Clear();
  faulty.FailNth(1, MakeHttpError(403, "AccessDenied", "no", ""), Op::kPutObject);
  auto denied = ProbeCapabilities(faulty, "b", RandomProbePrefix());
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied);
}

TEST(CapabilitiesTest, CacheProbesOncePerBucket) {
  FakeClock clock;
  FakeObjectClient fake(FakeOptions(), &clock);
  fake.CreateBucket("b");
  CapabilityCache cache;
  EXPECT_FALSE(cache.Get("b").has_value());
  ASSERT_TRUE(cache.GetOrProbe(fake, "b").ok());
  uint64_t after_first = fake.total_count();
  auto again = cache.GetOrProbe(fake, "b");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->upload_part_copy, Tri::kYes);
  EXPECT_EQ(fake.total_count(), after_first);
  cache.Put("other", Capabilities{Tri::kNo, Tri::kNo, Tri::kYes});
  EXPECT_EQ(cache.Get("other")->put_if_none_match, Tri::kYes);
  EXPECT_STREQ(TriName(Tri::kNo), "no");
  EXPECT_EQ(RandomProbePrefix().rfind(".stagefs-probe/", 0), 0u);
}

}  // namespace
}  // namespace stagefs::s3
