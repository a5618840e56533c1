#pragma once
// Bearer tokens per (upstream, scope), valid until the registry's expires_in
// minus a safety margin, so a token is never sent in its last seconds (clock
// skew, request latency). Time comes from the injected Clock.
//
// Must survive: expires_in absent, zero, negative or absurdly large; many
// scopes (bounded: expired entries are purged, then the soonest-expiring).
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "cache/clock.h"

namespace hoard {

class TokenCache {
 public:
  static constexpr std::int64_t kDefaultExpiresInSec = 60;  // distribution token spec
  static constexpr Millis kSafetyMarginMs = 10'000;
  static constexpr std::size_t kDefaultMaxEntries = 4096;

  explicit TokenCache(ClockPtr clock, std::size_t maxEntries = kDefaultMaxEntries);

  // A token still valid now, if any.
  std::optional<std::string> get(std::string_view upstream, std::string_view scope) const;

  // expiresInSec: the token response's expires_in, if present.
  void put(std::string_view upstream, std::string_view scope, std::string token,
           std::optional<std::int64_t> expiresInSec);

  // Drops the entry, but only if it still holds `token` (a concurrent refresh
  // may already have replaced it with a good one). Empty token: drop anyway.
  void invalidate(std::string_view upstream, std::string_view scope, std::string_view token = {});

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string token;
    Millis validUntil;
  };
  using Key = std::pair<std::string, std::string>;
  void makeRoom();

  ClockPtr clock_;
  std::size_t maxEntries_;
  std::map<Key, Entry, std::less<>> entries_;
};

}  // namespace hoard
