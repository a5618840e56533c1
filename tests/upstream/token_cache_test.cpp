#include "upstream/token_cache.h"

#include <catch2/catch.hpp>
#include <memory>

using hoard::ManualClock;
using hoard::TokenCache;

TEST_CASE("TokenCache keys by upstream and scope") {
  auto clock = std::make_shared<ManualClock>();
  TokenCache c(clock);
  c.put("hub", "repository:a:pull", "t1", 300);
  c.put("hub", "repository:b:pull", "t2", 300);
  c.put("ghcr", "repository:a:pull", "t3", 300);
  CHECK(c.get("hub", "repository:a:pull") == "t1");
  CHECK(c.get("hub", "repository:b:pull") == "t2");
  CHECK(c.get("ghcr", "repository:a:pull") == "t3");
  CHECK_FALSE(c.get("ghcr", "repository:b:pull"));
  c.put("hub", "repository:a:pull", "t1b", 300);
  CHECK(c.get("hub", "repository:a:pull") == "t1b");
  CHECK(c.size() == 3);
}

TEST_CASE("TokenCache expires tokens a safety margin before expires_in") {
  auto clock = std::make_shared<ManualClock>();
  TokenCache c(clock);
  c.put("hub", "s", "tok", 300);
  clock->advance(300'000 - TokenCache::kSafetyMarginMs - 1);
  CHECK(c.get("hub", "s") == "tok");
  clock->advance(1);
  CHECK_FALSE(c.get("hub", "s"));
}

TEST_CASE("TokenCache defaults expires_in to 60 s when absent or nonsense") {
  auto clock = std::make_shared<ManualClock>();
  TokenCache c(clock);
  c.put("hub", "absent", "a", std::nullopt);
  c.put("hub", "zero", "z", 0);
  c.put("hub", "negative", "n", -5);
  clock->advance(60'000 - TokenCache::kSafetyMarginMs - 1);
  CHECK(c.get("hub", "absent") == "a");
  CHECK(c.get("hub", "zero") == "z");
  CHECK(c.get("hub", "negative") == "n");
  clock->advance(1);
  CHECK_FALSE(c.get("hub", "absent"));
  CHECK_FALSE(c.get("hub", "zero"));
  CHECK_FALSE(c.get("hub", "negative"));
}

TEST_CASE("TokenCache keeps short-lived tokens for half their life, caps absurd ones") {
  auto clock = std::make_shared<ManualClock>();
  TokenCache c(clock);
  c.put("hub", "short", "s", 4);  // margin would exceed the lifetime
  clock->advance(1999);
  CHECK(c.get("hub", "short") == "s");
  clock->advance(1);
  CHECK_FALSE(c.get("hub", "short"));
  c.put("hub", "huge", "h", INT64_MAX);  // must not overflow
  clock->advance(24LL * 3600 * 1000);
  CHECK(c.get("hub", "huge") == "h");
  clock->advance(8LL * 24 * 3600 * 1000);
  CHECK_FALSE(c.get("hub", "huge"));
}

TEST_CASE("TokenCache invalidate only drops the token it was told about") {
  auto clock = std::make_shared<ManualClock>();
  TokenCache c(clock);
  c.put("hub", "s", "new", 300);
  c.invalidate("hub", "s", "old");  // a stale rejection must not drop a fresh token
  CHECK(c.get("hub", "s") == "new");
  c.invalidate("hub", "s", "new");
  CHECK_FALSE(c.get("hub", "s"));
  c.put("hub", "s", "x", 300);
  c.invalidate("hub", "s");
  CHECK_FALSE(c.get("hub", "s"));
}

TEST_CASE("TokenCache stays bounded: expired first, then soonest to expire") {
  auto clock = std::make_shared<ManualClock>();
  TokenCache c(clock, 3);
  c.put("u", "a", "a", 100);
  c.put("u", "b", "b", 1000);
  c.put("u", "c", "c", 2000);
  c.put("u", "d", "d", 3000);  // evicts a (soonest)
  CHECK(c.size() == 3);
  CHECK_FALSE(c.get("u", "a"));
  CHECK(c.get("u", "b") == "b");
  clock->advance(1500'000);  // b expired
  c.put("u", "e", "e", 3000);
  CHECK(c.size() == 3);
  CHECK(c.get("u", "c") == "c");
  CHECK(c.get("u", "d") == "d");
  CHECK(c.get("u", "e") == "e");
}
