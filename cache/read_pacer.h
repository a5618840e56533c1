#pragma once
// Caps the average read rate of a long background scan (hoard verify on a
// live store) so it leaves disk bandwidth to the requests being served.
//
// Blocking: consumed() sleeps the calling (threadpool) thread. Time and sleep
// are injectable so tests check the pacing without sleeping.
#include <chrono>
#include <cstdint>
#include <functional>

namespace hoard {

class ReadPacer {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hooks {
    std::function<Clock::time_point()> now;      // default: steady_clock::now
    std::function<void(Clock::duration)> sleep;  // default: this_thread::sleep_for
  };

  // bytesPerSecond == 0: no cap (consumed() never sleeps).
  explicit ReadPacer(std::uint64_t bytesPerSecond, Hooks hooks = {});

  // Records n bytes read; sleeps until the average rate since the pacer
  // started (or since it last fell behind by more than a second: a scan that
  // was idle must not earn a burst) is within the cap.
  void consumed(std::uint64_t n);

 private:
  std::uint64_t rate_;
  Hooks hooks_;
  Clock::time_point start_;
  std::uint64_t bytes_ = 0;
};

}  // namespace hoard
