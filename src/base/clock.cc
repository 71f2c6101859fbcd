#include "base/clock.h"

#include <thread>

namespace stagefs {

MonoTime RealClock::Now() { return std::chrono::steady_clock::now(); }

int64_t RealClock::WallNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void RealClock::SleepFor(Duration d) { std::this_thread::sleep_for(d); }

MonoTime FakeClock::Now() {
  std::lock_guard lock(mu_);
  return MonoTime(mono_);
}

int64_t FakeClock::WallNanos() {
  std::lock_guard lock(mu_);
  return wall_;
}

void FakeClock::SleepFor(Duration d) {
  std::lock_guard lock(mu_);
  slept_ += d;
  mono_ += d;
  wall_ += d.count();
}

void FakeClock::Advance(Duration d) {
  std::lock_guard lock(mu_);
  mono_ += d;
  wall_ += d.count();
}

Duration FakeClock::total_slept() const {
  std::lock_guard lock(mu_);
  return slept_;
}

}  // namespace stagefs
