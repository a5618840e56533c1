#pragma once
// The OCI distribution (read side) front end: what /v2/... requests reach.
// It owns the per-upstream registry clients and the coalescing tables, and
// hands each request to one handler (one per endpoint, one per file).
#include <uv.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/access_tracker.h"
#include "cache/async_store.h"
#include "cache/clock.h"
#include "cache/fill.h"
#include "conf/config.h"
#include "daemon/blob_response.h"
#include "daemon/front_deps.h"
#include "daemon/http/exchange.h"
#include "daemon/metrics.h"
#include "daemon/oci/manifest_cache.h"
#include "daemon/oci/reference.h"
#include "daemon/oci/upstream_router.h"
#include "daemon/policy/gate.h"
#include "upstream/http_client.h"
#include "upstream/oci_client.h"
#include "upstream/upstream_health.h"

namespace hoard::oci {

class ManifestFetch;
using ManifestFetchPtr = std::shared_ptr<ManifestFetch>;

struct OciUpstream {
  conf::UpstreamConfig config;
  std::unique_ptr<OciClient> client;
  std::unique_ptr<UpstreamHealth> health;
};

// One routed request: which upstream, and the names on both sides.
struct OciTarget {
  OciUpstream* upstream = nullptr;
  std::string clientName;  // as the client asked (may carry a routing prefix)
  std::string repository;  // as the upstream knows it
  std::string ns;          // the ?ns= value, if any
  // The registry the upstream serves (its first registry name, else ns,
  // else the upstream's name): policy subjects name images
  // as oci:<registry>/<repository>.
  std::string registry;

  // The subject of a request about this repository (no tag, no digest).
  policy::Subject subject() const;

  // registryHeaders() plus OCI-Namespace echoing the ns that chose the upstream.
  http::Headers responseHeaders() const;
};

class OciService {
 public:
  using Deps = FrontDeps;
  // globalOffline: the config's top-level `offline: true`.
  OciService(Deps deps, const std::vector<conf::UpstreamConfig>& upstreams, bool globalOffline);

  // Entry point for every request whose path starts with /v2.
  void handle(http::Exchange& ex);
  // Stops all fills (shutdown).
  void cancelAll();

  // Shared with the handlers.
  uv_loop_t* loop() const { return deps_.loop; }
  AsyncStore& store() { return *deps_.store; }
  AccessTracker& access() { return *deps_.access; }
  ClockPtr clock() const { return deps_.clock; }
  Metrics& metrics() { return *deps_.metrics; }
  FillRegistry& blobFills() { return *deps_.fills; }
  BlobServices blobServices() const { return deps_.blobServices(); }
  policy::Policy* policy() const { return deps_.policy; }
  // Deny/allow-list checks answering in OCI's format (DENIED); true = refused.
  bool refuseIfDenied(http::Exchange& ex, const policy::Subject& s);
  bool refuseIfUnlisted(http::Exchange& ex, const policy::Subject& s);
  // Whether `s` is pinned; for a pinned manifest also pins what it names
  // (config, layers, child manifests), which are later asked for by digest.
  bool pinManifest(const policy::Subject& s, std::string_view manifest);
  ManifestCache& manifests() { return manifests_; }
  std::unordered_map<std::string, ManifestFetchPtr>& manifestFetches() { return manifestFetches_; }

  // Every upstream call goes through these: the gate before (breaker, 429,
  // offline), the outcome after, and a counter per upstream and kind.
  UpstreamGate admit(OciUpstream& upstream);
  void recordOutcome(OciUpstream& upstream, long status, FetchError error,
                     std::string_view retryAfter);
  void countUpstreamRequest(const OciUpstream& upstream, std::string_view kind);

 private:
  Deps deps_;
  UpstreamRouter router_;
  std::vector<std::unique_ptr<OciUpstream>> upstreams_;
  ManifestCache manifests_;
  std::unordered_map<std::string, ManifestFetchPtr> manifestFetches_;
};

// The handlers, one per endpoint (each in its own file).
void handleBlob(OciService& svc, http::Exchange& ex, const OciPath& path, OciTarget target);
void handleManifest(OciService& svc, http::Exchange& ex, const OciPath& path, OciTarget target);
void handleTagsList(OciService& svc, http::Exchange& ex, const OciPath& path, OciTarget target);
void handleReferrers(OciService& svc, http::Exchange& ex, const OciPath& path, OciTarget target);

// The upstream's tags/list Link header rewritten to point at hoard under the
// client's name ("" if it is not a well-formed next link).
std::string rewriteTagsLink(std::string_view link, std::string_view upstreamRepo,
                            std::string_view clientName, std::string_view ns);

}  // namespace hoard::oci
