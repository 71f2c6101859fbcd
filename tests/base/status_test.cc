#include "base/status.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "base/metrics.h"

namespace stagefs {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status(ErrorCode::kInvalidArgument, "odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(StatusTest, OkAndError) {
  EXPECT_TRUE(OkStatus().ok());
  Status s(ErrorCode::kUnavailable, "down", true);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.retryable());
  EXPECT_EQ(s.ToString(), "Unavailable: down");
  EXPECT_EQ(s.Annotate("listing").message(), "listing: down");
}

TEST(StatusTest, ResultPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST(ClockTest, FakeClockSleepsInstantly) {
  FakeClock clock;
  auto t0 = clock.Now();
  int64_t w0 = clock.WallNanos();
  clock.SleepFor(std::chrono::seconds(5));
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(clock.Now() - t0, std::chrono::seconds(6));
  EXPECT_EQ(clock.WallNanos() - w0, 6'000'000'000);
  EXPECT_EQ(clock.total_slept(), std::chrono::seconds(5));
}

TEST(MetricsTest, RendersPrometheus) {
  MetricsRegistry m;
  m.GetCounter("stagefs_s3_requests_total", "S3 requests", {{"op", "GetObject"}})->Inc(3);
  m.GetCounter("stagefs_s3_requests_total", "S3 requests", {{"op", "PutObject"}})->Inc();
  m.GetGauge("stagefs_pending_exports", "pending")->Set(2);
  std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find("stagefs_s3_requests_total{op=\"GetObject\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE stagefs_pending_exports gauge"), std::string::npos);
  EXPECT_EQ(m.CounterSum("stagefs_s3_requests_total"), 4u);
  EXPECT_EQ(m.CounterSum("stagefs_s3_requests_total", {{"op", "PutObject"}}), 1u);
}

}  // namespace
}  // namespace stagefs
