#include "upstream/token_cache.h"

#include <algorithm>

namespace hoard {

TokenCache::TokenCache(ClockPtr clock, std::size_t maxEntries)
    : clock_(std::move(clock)), maxEntries_(std::max<std::size_t>(1, maxEntries)) {}

std::optional<std::string> TokenCache::get(std::string_view upstream,
                                           std::string_view scope) const {
  auto it = entries_.find(Key(upstream, scope));
  if (it == entries_.end() || clock_->nowMs() >= it->second.validUntil) return std::nullopt;
  return it->second.token;
}

void TokenCache::put(std::string_view upstream, std::string_view scope, std::string token,
                     std::optional<std::int64_t> expiresInSec) {
  constexpr std::int64_t kMaxSec = 7 * 24 * 3600;  // no token lives for weeks; avoids overflow
  std::int64_t secs = expiresInSec.value_or(kDefaultExpiresInSec);
  if (secs <= 0) secs = kDefaultExpiresInSec;
  secs = std::min(secs, kMaxSec);
  Millis lifetime = secs * 1000;
  // Short-lived tokens keep at least half their life.
  Millis margin = std::min(kSafetyMarginMs, lifetime / 2);
  Key key(upstream, scope);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    makeRoom();
    entries_.emplace(std::move(key), Entry{std::move(token), clock_->nowMs() + lifetime - margin});
  } else {
    it->second = Entry{std::move(token), clock_->nowMs() + lifetime - margin};
  }
}

void TokenCache::invalidate(std::string_view upstream, std::string_view scope,
                            std::string_view token) {
  auto it = entries_.find(Key(upstream, scope));
  if (it == entries_.end()) return;
  if (!token.empty() && it->second.token != token) return;
  entries_.erase(it);
}

void TokenCache::makeRoom() {
  if (entries_.size() < maxEntries_) return;
  Millis now = clock_->nowMs();
  std::erase_if(entries_, [now](const auto& kv) { return now >= kv.second.validUntil; });
  while (entries_.size() >= maxEntries_) {
    auto soonest = std::min_element(
        entries_.begin(), entries_.end(),
        [](const auto& a, const auto& b) { return a.second.validUntil < b.second.validUntil; });
    entries_.erase(soonest);
  }
}

}  // namespace hoard
