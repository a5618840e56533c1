#include "cache/read_pacer.h"

#include <thread>

namespace hoard {

ReadPacer::ReadPacer(std::uint64_t bytesPerSecond, Hooks hooks)
    : rate_(bytesPerSecond), hooks_(std::move(hooks)) {
  if (!hooks_.now) hooks_.now = [] { return Clock::now(); };
  if (!hooks_.sleep) hooks_.sleep = [](Clock::duration d) { std::this_thread::sleep_for(d); };
  start_ = hooks_.now();
}

void ReadPacer::consumed(std::uint64_t n) {
  if (rate_ == 0) return;
  bytes_ += n;
  const auto due =
      start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                   static_cast<double>(bytes_) / static_cast<double>(rate_)));
  const auto now = hooks_.now();
  if (now < due) {
    hooks_.sleep(due - now);
  } else if (now - due > std::chrono::seconds(1)) {
    start_ = now;
    bytes_ = 0;
  }
}

}  // namespace hoard
