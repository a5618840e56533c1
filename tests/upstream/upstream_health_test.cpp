#include "upstream/upstream_health.h"

#include <catch2/catch.hpp>

using namespace hoard;

TEST_CASE("the breaker opens after N consecutive failures and probes once after the cool-down") {
  auto clock = std::make_shared<ManualClock>();
  UpstreamHealth h(clock, 3, 10'000, false);
  CHECK(h.admit() == UpstreamGate::Allow);
  h.recordFailure();
  h.recordFailure();
  CHECK(h.admit() == UpstreamGate::Allow);
  h.recordSuccess();  // a success resets the count
  h.recordFailure();
  h.recordFailure();
  CHECK(h.admit() == UpstreamGate::Allow);
  h.recordFailure();
  CHECK(h.admit() == UpstreamGate::Open);
  CHECK(h.retryAfterMs() == 10'000);
  clock->advance(9'999);
  CHECK(h.admit() == UpstreamGate::Open);
  clock->advance(1);
  CHECK(h.admit() == UpstreamGate::Probe);
  CHECK(h.admit() == UpstreamGate::Open);  // only one probe
  h.recordFailure();                       // failed probe re-opens at once
  CHECK(h.admit() == UpstreamGate::Open);
  clock->advance(10'000);
  CHECK(h.admit() == UpstreamGate::Probe);
  h.recordSuccess();
  CHECK(h.admit() == UpstreamGate::Allow);
}

TEST_CASE("a lost probe does not wedge the breaker") {
  auto clock = std::make_shared<ManualClock>();
  UpstreamHealth h(clock, 1, 1'000, false);
  h.recordFailure();
  clock->advance(1'000);
  CHECK(h.admit() == UpstreamGate::Probe);
  clock->advance(999);
  CHECK(h.admit() == UpstreamGate::Open);
  clock->advance(1);
  CHECK(h.admit() == UpstreamGate::Probe);
}

TEST_CASE("429 blocks calls until Retry-After, in seconds or as a date") {
  auto clock = std::make_shared<ManualClock>(1'000'000'000'000);
  UpstreamHealth h(clock, 3, 5'000, false);
  h.recordRateLimited("30");
  CHECK(h.admit() == UpstreamGate::RateLimited);
  CHECK(h.retryAfterMs() == 30'000);
  clock->advance(30'000);
  CHECK(h.admit() == UpstreamGate::Allow);
  h.recordRateLimited("");  // absent: the cool-down
  CHECK(h.retryAfterMs() == 5'000);

  // 1'000'000'000 s after the epoch is Sun, 09 Sep 2001 01:46:40 GMT.
  CHECK(UpstreamHealth::parseRetryAfter("Sun, 09 Sep 2001 01:47:40 GMT", 1'000'000'000'000) ==
        60'000);
  CHECK_FALSE(UpstreamHealth::parseRetryAfter("soon", 0));
}

TEST_CASE("offline never admits") {
  UpstreamHealth h(std::make_shared<ManualClock>(), 3, 1'000, true);
  CHECK(h.admit() == UpstreamGate::Offline);
}

TEST_CASE("max_stale bounds stale serving past the TTL; 0 never, UINT64_MAX forever") {
  // fetched at 1000 with a 100 ms TTL: expired from 1100 on
  CHECK_FALSE(staleServable(1100, 1000, 100, 0));  // 0 = never, even at the moment of expiry
  CHECK_FALSE(staleServable(1101, 1000, 100, 0));
  CHECK(staleServable(1600, 1000, 100, 500));
  CHECK_FALSE(staleServable(1601, 1000, 100, 500));
  CHECK(staleServable(1'000'000'000, 1000, 100, UINT64_MAX));
}
