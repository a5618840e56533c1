#include "upstream/upstream_health.h"

#include <ctime>
#include <string>

namespace hoard {

UpstreamGate UpstreamHealth::admit() {
  if (offline_) return UpstreamGate::Offline;
  const Millis now = clock_->nowMs();
  if (now < limitedUntil_) return UpstreamGate::RateLimited;
  if (openUntil_ == 0) return UpstreamGate::Allow;
  if (now < openUntil_) return UpstreamGate::Open;
  // Half-open: one probe at a time; a probe silent for a whole cool-down is
  // presumed lost and replaced.
  if (probeSince_ != 0 && now - probeSince_ < cooldownMs_) return UpstreamGate::Open;
  probeSince_ = now;
  return UpstreamGate::Probe;
}

void UpstreamHealth::recordSuccess() {
  failures_ = 0;
  openUntil_ = 0;
  probeSince_ = 0;
}

void UpstreamHealth::recordFailure() {
  const Millis now = clock_->nowMs();
  ++failures_;
  if (probeSince_ != 0 || failures_ >= threshold_) {
    openUntil_ = now + cooldownMs_;
    probeSince_ = 0;
  }
}

void UpstreamHealth::recordRateLimited(std::string_view retryAfterHeader) {
  const Millis now = clock_->nowMs();
  auto wait = parseRetryAfter(retryAfterHeader, now);
  limitedUntil_ = now + (wait ? *wait : cooldownMs_);
  // A 429 proves the upstream is alive: it is not a breaker failure.
  failures_ = 0;
  openUntil_ = 0;
  probeSince_ = 0;
}

Millis UpstreamHealth::retryAfterMs() const {
  const Millis now = clock_->nowMs();
  Millis until = std::max(limitedUntil_, openUntil_);
  return until > now ? until - now : 0;
}

std::optional<Millis> UpstreamHealth::parseRetryAfter(std::string_view v, Millis nowMs) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  bool digits = v.size() <= 9;
  for (char c : v) digits = digits && c >= '0' && c <= '9';
  if (digits) return static_cast<Millis>(std::stoll(std::string(v))) * 1000;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  std::tm tm{};
  std::string s(v);
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return std::nullopt;
  Millis at = static_cast<Millis>(timegm(&tm)) * 1000;
  return at > nowMs ? at - nowMs : 0;
}

}  // namespace hoard
