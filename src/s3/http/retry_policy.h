// RetryPolicy: which S3 errors are retried and how long to wait before each
// retry (exponential backoff with full jitter), plus RunWithRetries, the loop the
// client wraps around every request.
//
// Retried: 500/502/503/504 and other retryable 5xx, 503 SlowDown and 429
// (throttling), 408, transport failures marked retryable (connection refused or
// reset, timeouts). Never retried: other 4xx, 501, malformed responses,
// cancellation by the caller's sink.
//
// Delay before retry n (n = 1 after the first failed attempt) is
// u * min(max_delay, base_delay * 2^(n-1)), u uniform in [0, 1) ("full jitter").
// All sleeping goes through the injected Clock so that tests use FakeClock.
// RetryPolicy is immutable and thread-safe; the random source passed to
// RunWithRetries is called from the calling thread only.
#pragma once

#include <functional>

#include "base/clock.h"
#include "s3/http/client_options.h"
#include "s3/s3_error.h"

namespace stagefs::s3::http {

// Returns a uniformly distributed value in [0, 1).
using UnitRandom = std::function<double()>;

class RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options) : options_(options) {}

  static bool IsRetryable(const S3Error& e);

  // Whether to try again after `attempt` (1-based) failed with `e`.
  bool ShouldRetry(const S3Error& e, int attempt) const {
    return attempt < options_.max_attempts && IsRetryable(e);
  }

  // The sleep before retry number `retry` (1-based), given u in [0, 1).
  Duration BackoffDelay(int retry, double u) const;

  const RetryOptions& options() const { return options_; }

 private:
  RetryOptions options_;
};

// Calls `attempt_fn(attempt)` (attempt is 1-based) until it succeeds, fails with
// an error the policy does not retry, or attempts run out; sleeps on `clock`
// between attempts. `on_retry`, if set, is called with each error that is retried.
template <typename T>
S3Result<T> RunWithRetries(const RetryPolicy& policy, Clock* clock, const UnitRandom& random,
                           const std::function<S3Result<T>(int attempt)>& attempt_fn) {
  for (int attempt = 1;; ++attempt) {
    S3Result<T> r = attempt_fn(attempt);
    if (r.ok() || !policy.ShouldRetry(r.error(), attempt)) return r;
    clock->SleepFor(policy.BackoffDelay(attempt, random()));
  }
}

}  // namespace stagefs::s3::http
