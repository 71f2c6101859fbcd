#include "s3/http/retry_policy.h"

#include <gtest/gtest.h>

#include <chrono>

namespace stagefs::s3::http {
namespace {

using std::chrono::milliseconds;

RetryOptions Opts(int attempts = 5, int base_ms = 100, int max_ms = 1000) {
  RetryOptions o;
  o.max_attempts = attempts;
  o.base_delay = milliseconds(base_ms);
  o.max_delay = milliseconds(max_ms);
  return o;
}

S3Error Transport(bool retryable) {
  S3Error e;
  e.kind = S3ErrorKind::kTransport;
  e.retryable = retryable;
  return e;
}

TEST(RetryPolicyTest, WhichErrorsRetry) {
  for (int status : {500, 502, 503, 504, 429, 408}) {
    EXPECT_TRUE(RetryPolicy::IsRetryable(MakeHttpError(status, "", "", ""))) << status;
  }
  EXPECT_TRUE(RetryPolicy::IsRetryable(MakeHttpError(503, "SlowDown", "", "")));
  for (int status : {400, 401, 403, 404, 409, 412, 416, 501}) {
    EXPECT_FALSE(RetryPolicy::IsRetryable(MakeHttpError(status, "", "", ""))) << status;
  }
  EXPECT_TRUE(RetryPolicy::IsRetryable(Transport(true)));
  EXPECT_FALSE(RetryPolicy::IsRetryable(Transport(false)));
  S3Error cancelled;
  cancelled.kind = S3ErrorKind::kCancelled;
  cancelled.retryable = true;
  EXPECT_FALSE(RetryPolicy::IsRetryable(cancelled));
}

TEST(RetryPolicyTest, ExponentialCeilingWithFullJitter) {
  RetryPolicy p(Opts());
  EXPECT_EQ(p.BackoffDelay(1, 0.0), Duration::zero());
  EXPECT_EQ(p.BackoffDelay(1, 0.5), milliseconds(50));
  EXPECT_EQ(p.BackoffDelay(2, 0.5), milliseconds(100));
  EXPECT_EQ(p.BackoffDelay(3, 0.5), milliseconds(200));
  EXPECT_EQ(p.BackoffDelay(4, 0.5), milliseconds(400));
  EXPECT_EQ(p.BackoffDelay(5, 0.5), milliseconds(500));    // capped at 1000
  EXPECT_EQ(p.BackoffDelay(60, 0.5), milliseconds(500));   // no overflow
  EXPECT_LE(p.BackoffDelay(3, 0.999999), milliseconds(400));
}

TEST(RetryPolicyTest, RunWithRetriesSleepsOnTheInjectedClock) {
  FakeClock clock;
  RetryPolicy p(Opts(5, 100, 1000));
  int calls = 0;
  auto r = RunWithRetries<int>(p, &clock, [] { return 1.0 - 1e-12; }, [&](int attempt) -> S3Result<int> {
    ++calls;
    EXPECT_EQ(attempt, calls);
    if (attempt < 3) return MakeHttpError(503, "SlowDown", "slow down", "");
    return 42;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(calls, 3);
  // Two sleeps: just under 100ms and just under 200ms.
  EXPECT_GT(clock.total_slept(), milliseconds(299));
  EXPECT_LE(clock.total_slept(), milliseconds(300));
}

TEST(RetryPolicyTest, GivesUpAfterMaxAttempts) {
  FakeClock clock;
  RetryPolicy p(Opts(4, 10, 1000));
  int calls = 0;
  auto r = RunWithRetries<int>(p, &clock, [] { return 0.5; }, [&](int) -> S3Result<int> {
    ++calls;
    return MakeHttpError(500, "InternalError", "", "");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, S3ErrorKind::kServerError);
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(clock.total_slept(), milliseconds(5 + 10 + 20));
}

TEST(RetryPolicyTest, NeverRetriesOther4xx) {
  FakeClock clock;
  RetryPolicy p(Opts());
  int calls = 0;
  auto r = RunWithRetries<int>(p, &clock, [] { return 0.5; }, [&](int) -> S3Result<int> {
    ++calls;
    return MakeHttpError(404, "NoSuchKey", "", "");
  });
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(clock.total_slept(), Duration::zero());
}

}  // namespace
}  // namespace stagefs::s3::http
