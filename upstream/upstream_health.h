#pragma once
// Per-upstream health: a circuit breaker plus rate-limit (429) and offline
// state, consulted before every upstream call so that clients get a fast,
// clear answer instead of waiting on an upstream that is down, limiting us,
// or switched off.
//
// Breaker: after `failures` consecutive failures (transport error, timeout,
// 5xx) the upstream is not called for `cooldown`; then exactly one request is
// let through as a probe, and its outcome closes or re-opens the breaker. A
// probe that never reports (its client left and it was cancelled) does not
// wedge the breaker: after another cool-down a new probe is allowed.
// Rate limit: a 429 blocks calls until its Retry-After (seconds or an HTTP
// date; the cool-down when absent) has passed.
//
// Loop-thread only. Time comes from the injected Clock.
#include <cstdint>
#include <optional>
#include <string_view>

#include "cache/clock.h"

namespace hoard {

enum class UpstreamGate { Allow, Probe, Open, RateLimited, Offline };

class UpstreamHealth {
 public:
  UpstreamHealth(ClockPtr clock, std::uint32_t failureThreshold, Millis cooldownMs, bool offline)
      : clock_(std::move(clock)),
        threshold_(failureThreshold == 0 ? 1 : failureThreshold),
        cooldownMs_(cooldownMs),
        offline_(offline) {}

  // Call once before each upstream request that is not joining one already in
  // flight. Allow and Probe mean "go ahead" (report the outcome); the others
  // mean "do not call".
  UpstreamGate admit();
  void recordSuccess();
  void recordFailure();
  void recordRateLimited(std::string_view retryAfterHeader);

  // True while calls flow normally (breaker closed, not limited, not offline);
  // does not start a probe.
  bool admitWouldAllow() const {
    return !offline_ && openUntil_ == 0 && clock_->nowMs() >= limitedUntil_;
  }
  // Milliseconds until a rate limit or open breaker lifts (0 if none).
  Millis retryAfterMs() const;
  bool offline() const { return offline_; }
  std::uint32_t consecutiveFailures() const { return failures_; }

  // Parses Retry-After: delta-seconds or an IMF-fixdate; nullopt if neither.
  static std::optional<Millis> parseRetryAfter(std::string_view value, Millis nowMs);

 private:
  ClockPtr clock_;
  std::uint32_t threshold_;
  Millis cooldownMs_;
  bool offline_;
  std::uint32_t failures_ = 0;
  Millis openUntil_ = 0;     // breaker open until then (0 = closed)
  Millis probeSince_ = 0;    // a probe is in flight since then (0 = none)
  Millis limitedUntil_ = 0;  // 429: no calls until then
};

// Stale-if-error: may an answer fetched at `fetchedMs` with `ttlMs` still be
// served at `nowMs` while the upstream fails? `maxStaleMs` is the config's
// max_stale (0 = never, UINT64_MAX = forever). One rule for every front end.
inline bool staleServable(Millis nowMs, Millis fetchedMs, Millis ttlMs, std::uint64_t maxStaleMs) {
  if (maxStaleMs == UINT64_MAX) return true;
  if (maxStaleMs == 0) return false;
  return nowMs - (fetchedMs + ttlMs) <= static_cast<Millis>(maxStaleMs);
}

}  // namespace hoard
