#pragma once
// How every front end reports an upstream call's outcome: one classification
// (cancelled: nothing; transport error or 5xx: a breaker failure; 429: rate
// limited until Retry-After; anything else: the upstream is alive), with the
// same metrics and warnings for all of them.
#include <string>
#include <string_view>

#include "daemon/metrics.h"
#include "upstream/http_client.h"
#include "upstream/upstream_health.h"

namespace hoard {

void recordUpstreamOutcome(UpstreamHealth& health, Metrics& metrics,
                           const std::string& upstreamName, long status, FetchError error,
                           std::string_view retryAfter);

}  // namespace hoard
