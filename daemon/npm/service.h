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
#include "daemon/document/document_cache.h"
#include "daemon/front_deps.h"
#include "daemon/front_upstream.h"
#include "daemon/http/exchange.h"
#include "daemon/metrics.h"
#include "daemon/npm/names.h"
#include "daemon/policy/gate.h"
#include "upstream/http_client.h"
#include "upstream/upstream_health.h"

namespace hoard::npm {

class NpmService {
 public:
  using Deps = FrontDeps;
  NpmService(Deps deps, const std::vector<conf::UpstreamConfig>& upstreams, bool globalOffline,
             std::string publicUrl);

  // Every request under /npm/ (path without the mount).
  void handle(http::Exchange& ex, std::string_view rest);
  void cancelAll() { documents_.cancelAll(); }

  // Shared with the handlers.
  DocumentCache& documents() { return documents_; }
  HttpClient& http() { return *deps_.http; }
  BlobServices blobServices() const { return deps_.blobServices(); }
  FrontUpstream* route(const NpmPath& path);
  // hoard's URL for the mount, as clients reach it: public_url, else the
  // request's Host (and X-Forwarded-Proto). Empty if the Host is unusable.
  std::string mountUrl(const http::Request& req) const;
  OutcomeRecorder outcomeRecorder(FrontUpstream& upstream) {
    return hoard::outcomeRecorder(upstream, *deps_.metrics);
  }
  void countUpstreamRequest(const FrontUpstream& upstream, std::string_view kind);
  // The policy subject of a request (npm:<name>, npm:<name>@<version> for a
  // tarball), with npm's way of refusing.
  policy::RequestPolicy requestPolicy(const NpmPath& path) const;
  AccessTracker* access() const { return deps_.access; }
  uv_loop_t* loop() const { return deps_.loop; }
  // Where unscoped names (and npm audit) go; null when none is configured.
  FrontUpstream* defaultUpstream() const { return default_; }
  // Every configured scope that route() sends to an upstream other than the
  // default one: names in them must never reach the public upstream.
  std::vector<std::string> privateScopes();

 private:
  Deps deps_;
  std::string publicUrl_;
  std::vector<FrontUpstreamPtr> upstreams_;
  FrontUpstream* default_ = nullptr;
  DocumentCache documents_;
};

// The version in a tarball's file name ("widget-1.2.3.tgz" of "@acme/widget"); "" if the name
// does not have that shape.
std::string tarballVersion(std::string_view name, std::string_view file);

// npm's error format: {"error": "..."}.
void respondNpmError(http::Exchange& ex, int status, std::string_view message,
                     http::Headers extra = {});

void handlePackument(NpmService& svc, http::Exchange& ex, const NpmPath& path,
                     FrontUpstream& upstream);
void handleTarball(NpmService& svc, http::Exchange& ex, const NpmPath& path,
                   FrontUpstream& upstream);

// npm audit: POST to -/npm/v1/security/advisories/bulk or -/npm/v1/security/audits/quick.
// `rest` is the path after "/npm/". The only npm requests hoard reads a body
// for (the App's http::BodyPolicy asks this).
bool isAuditRequest(std::string_view method, std::string_view rest);
// `endpoint` is the path after "/npm/-/" (audit_handler.cpp).
void handleAudit(NpmService& svc, http::Exchange& ex, std::string_view endpoint);

}  // namespace hoard::npm
