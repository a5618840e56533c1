#include "daemon/upstream_outcome.h"

#include "daemon/log.h"

namespace hoard {

void recordUpstreamOutcome(UpstreamHealth& h, Metrics& metrics, const std::string& name,
                           long status, FetchError error, std::string_view retryAfter) {
  if (error == FetchError::Aborted) return;  // we cancelled it; says nothing about the upstream
  const std::string label = "{upstream=\"" + name + "\"}";
  // Refreshed on every outcome, so the gauge shows the state the last call left.
  struct BreakerGauge {
    UpstreamHealth& health;
    Metrics& metrics;
    std::string series;
    ~BreakerGauge() { metrics.set(series, health.admitWouldAllow() ? 0 : 1); }
  } gauge{h, metrics, "hoard_upstream_breaker_open" + label};
  if (error != FetchError::None || status >= 500) {
    bool wasClosed = h.admitWouldAllow();
    h.recordFailure();
    metrics.add("hoard_upstream_errors_total" + label);
    if (wasClosed && !h.admitWouldAllow()) {
      metrics.add("hoard_breaker_opened_total" + label);
      logWarn("upstream " + name + " failing: circuit breaker open");
    }
    return;
  }
  if (status == 429) {
    h.recordRateLimited(retryAfter);
    metrics.add("hoard_upstream_rate_limited_total" + label);
    logWarn("upstream " + name + " answered 429; calls paused for " +
            std::to_string(h.retryAfterMs() / 1000) + " s");
    return;
  }
  h.recordSuccess();
}

}  // namespace hoard
