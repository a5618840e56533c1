#include "daemon/front_deps.h"

#include "daemon/upstream_outcome.h"

namespace hoard {

OutcomeRecorder outcomeRecorder(FrontUpstream& upstream, Metrics& metrics) {
  FrontUpstream* up = &upstream;
  Metrics* m = &metrics;
  return [up, m](long status, FetchError error, std::string_view retryAfter) {
    recordUpstreamOutcome(*up->health, *m, up->config.name, status, error, retryAfter);
  };
}

}  // namespace hoard
