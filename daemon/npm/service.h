#pragma once
// The npm registry front end (mounted at /npm/): packuments rewritten once
// per fill and served like blobs, tarballs through the shared blob path
// (verified against dist.integrity), scoped routing to private upstreams.
#include <uv.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/access_tracker.h"
#include "cache/async_store.h"
#include "cache/fill.h"
#include "conf/config.h"
#include "daemon/blob_response.h"
#include "daemon/http/exchange.h"
#include "daemon/metrics.h"
#include "daemon/npm/names.h"
#include "daemon/npm/packument_store.h"
#include "upstream/http_client.h"
#include "upstream/upstream_health.h"

namespace hoard::npm {

struct NpmUpstream {
  conf::UpstreamConfig config;
  std::unique_ptr<UpstreamHealth> health;
  std::string origin;  // scheme://host[:port] of config.url: tarballs must live there
};

class PackumentFetch;
using PackumentFetchPtr = std::shared_ptr<PackumentFetch>;

class NpmService {
 public:
  struct Deps {
    uv_loop_t* loop;
    AsyncStore* store;
    AccessTracker* access;
    HttpClient* http;
    ClockPtr clock;
    Metrics* metrics;
    FillRegistry* fills;
  };
  NpmService(Deps deps, const std::vector<conf::UpstreamConfig>& upstreams, bool globalOffline,
             std::string publicUrl);

  // Every request under /npm/ (path without the mount).
  void handle(http::Exchange& ex, std::string_view rest);
  void cancelAll() { fetches_.clear(); }

  // Shared with the handlers.
  uv_loop_t* loop() const { return deps_.loop; }
  AsyncStore& store() { return *deps_.store; }
  HttpClient& http() { return *deps_.http; }
  ClockPtr clock() const { return deps_.clock; }
  Metrics& metrics() { return *deps_.metrics; }
  BlobServices blobServices() const {
    return {deps_.loop, deps_.store, deps_.access, deps_.fills, deps_.metrics, deps_.clock};
  }
  std::unordered_map<std::string, PackumentFetchPtr>& fetches() { return fetches_; }
  std::unordered_map<std::string, PackumentEntryPtr>& entries() { return entries_; }

  NpmUpstream* route(const NpmPath& path);
  // hoard's URL for the mount, as clients reach it: public_url, else the
  // request's Host (and X-Forwarded-Proto). Empty if the Host is unusable.
  std::string mountUrl(const http::Request& req) const;
  UpstreamGate admit(NpmUpstream& upstream);
  void recordOutcome(NpmUpstream& upstream, long status, FetchError error,
                     std::string_view retryAfter);
  void countUpstreamRequest(const NpmUpstream& upstream, std::string_view kind);

 private:
  Deps deps_;
  std::string publicUrl_;
  std::vector<std::unique_ptr<NpmUpstream>> upstreams_;
  NpmUpstream* default_ = nullptr;
  std::unordered_map<std::string, PackumentFetchPtr> fetches_;
  std::unordered_map<std::string, PackumentEntryPtr> entries_;  // bounded in putEntry
};

// npm's error format: {"error": "..."}.
void respondNpmError(http::Exchange& ex, int status, std::string_view message,
                     http::Headers extra = {});

void handlePackument(NpmService& svc, http::Exchange& ex, const NpmPath& path,
                     NpmUpstream& upstream);
void handleTarball(NpmService& svc, http::Exchange& ex, const NpmPath& path, NpmUpstream& upstream);

}  // namespace hoard::npm
