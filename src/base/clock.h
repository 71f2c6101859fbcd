// Clock: the only source of time for code that has timeouts, backoff, quiet
// windows or expiry. RealClock reads the system; FakeClock is advanced by tests so
// that time-dependent logic is tested without sleeping.
//
// Thread-safety: both implementations are safe to call from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace stagefs {

using Duration = std::chrono::nanoseconds;
using MonoTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for intervals and deadlines.
  virtual MonoTime Now() = 0;
  // Wall-clock time in nanoseconds since the Unix epoch, for file times.
  virtual int64_t WallNanos() = 0;
  // Blocks the calling thread for `d` (a FakeClock returns when advanced past it).
  virtual void SleepFor(Duration d) = 0;
};

class RealClock final : public Clock {
 public:
  MonoTime Now() override;
  int64_t WallNanos() override;
  void SleepFor(Duration d) override;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t wall_start_nanos = 1'700'000'000'000'000'000) : wall_(wall_start_nanos) {}

  MonoTime Now() override;
  int64_t WallNanos() override;
  // Records the requested sleep, advances time by it and returns at once, so code
  // under test that sleeps (backoff) runs instantly and the test can inspect sleeps.
  void SleepFor(Duration d) override;

  void Advance(Duration d);
  Duration total_slept() const;

 private:
  mutable std::mutex mu_;
  Duration mono_{Duration::zero()};  // GUARDED_BY(mu_)
  int64_t wall_;                     // GUARDED_BY(mu_)
  Duration slept_{Duration::zero()}; // GUARDED_BY(mu_)
};

}  // namespace stagefs
