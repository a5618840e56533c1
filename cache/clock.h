#pragma once
// Time is injected: cache logic (TTLs, last access, token expiry) never reads
// the system clock itself, so tests advance a ManualClock instead of sleeping.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace hoard {

// Milliseconds since the Unix epoch; what the index stores.
using Millis = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Millis nowMs() const = 0;
};
using ClockPtr = std::shared_ptr<Clock>;

class SystemClock final : public Clock {
 public:
  Millis nowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// For tests: time moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Millis start = 1'700'000'000'000) : now_(start) {}
  Millis nowMs() const override { return now_.load(); }
  void advance(Millis ms) { now_ += ms; }
  void set(Millis ms) { now_ = ms; }

 private:
  std::atomic<Millis> now_;
};

}  // namespace hoard
