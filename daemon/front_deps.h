#pragma once
// What the daemon hands every front end (OCI, npm, PyPI, Go): the loop, the
// store, the upstream client and the shared pieces, owned by the App.
#include <uv.h>

#include "cache/access_tracker.h"
#include "cache/async_store.h"
#include "cache/fill.h"
#include "daemon/blob_response.h"
#include "daemon/front_upstream.h"
#include "daemon/metrics.h"
#include "daemon/policy/policy.h"
#include "upstream/http_client.h"

namespace hoard {

struct FrontDeps {
  uv_loop_t* loop = nullptr;
  AsyncStore* store = nullptr;
  AccessTracker* access = nullptr;
  HttpClient* http = nullptr;
  ClockPtr clock;
  Metrics* metrics = nullptr;
  FillRegistry* fills = nullptr;  // shared by every front end: one fill per digest
  // Deny/allow-lists and pins; null = no policy (nothing refused, nothing pinned).
  policy::Policy* policy = nullptr;

  BlobServices blobServices() const { return {loop, store, access, fills, metrics, clock}; }
};

// Reports upstream call outcomes to `upstream`'s health and the metrics; it
// may outlive requests (fills continue when clients leave).
OutcomeRecorder outcomeRecorder(FrontUpstream& upstream, Metrics& metrics);

}  // namespace hoard
