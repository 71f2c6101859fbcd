#include "s3/http/retry_policy.h"

#include <algorithm>
#include <chrono>

namespace stagefs::s3::http {

bool RetryPolicy::IsRetryable(const S3Error& e) {
  switch (e.kind) {
    case S3ErrorKind::kThrottled:
    case S3ErrorKind::kServerError:
    case S3ErrorKind::kTimeout:
    case S3ErrorKind::kTransport:
      return e.retryable;
    default:
      return false;
  }
}

Duration RetryPolicy::BackoffDelay(int retry, double u) const {
  using std::chrono::duration_cast;
  const Duration base = duration_cast<Duration>(options_.base_delay);
  const Duration cap = duration_cast<Duration>(options_.max_delay);
  Duration ceiling = base;
  for (int i = 1; i < retry && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  u = std::clamp(u, 0.0, 1.0);
  return Duration(static_cast<Duration::rep>(static_cast<double>(ceiling.count()) * u));
}

}  // namespace stagefs::s3::http
