#pragma once
// The PyPI front end (mounted at /pypi/; pip's index URL is
// http://hoard:5050/pypi/simple/): Simple API pages fetched as PEP 691 JSON
// (or PEP 503 HTML from upstreams that only speak that), rendered once per
// fill into JSON and HTML with file links pointing at hoard, served with
// PEP 691 content negotiation; wheels, sdists and their PEP 658 metadata
// through the shared named-file path, verified against the page's sha256.
#include <uv.h>

#include <memory>
#include <string>
#include <string_view>
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
#include "daemon/policy/gate.h"
#include "daemon/pypi/names.h"
#include "upstream/http_client.h"

namespace hoard::pypi {

class PypiService {
 public:
  using Deps = FrontDeps;
  PypiService(Deps deps, const std::vector<conf::UpstreamConfig>& upstreams, bool globalOffline);

  // Every request under /pypi/ (path without the mount).
  void handle(http::Exchange& ex, std::string_view rest);
  void cancelAll() { documents_.cancelAll(); }

  DocumentCache& documents() { return documents_; }
  HttpClient& http() { return *deps_.http; }
  BlobServices blobServices() const { return deps_.blobServices(); }
  OutcomeRecorder outcomeRecorder(FrontUpstream& upstream) {
    return hoard::outcomeRecorder(upstream, *deps_.metrics);
  }
  // The policy subject of a page (pypi:<project>) or a file (pypi:<file>, its
  // project; a PEP 658 .metadata counts as its distribution file), refused as
  // JSON {"error": ...}.
  policy::RequestPolicy requestPolicy(const std::string& normalizedProject,
                                      std::string_view file = {}) const;
  AccessTracker* access() const { return deps_.access; }

 private:
  Deps deps_;
  std::vector<FrontUpstreamPtr> upstreams_;
  FrontUpstream* default_ = nullptr;
  DocumentCache documents_;
};

// Errors pip shows: plain text with the status.
void respondPypiError(http::Exchange& ex, int status, std::string_view message,
                      http::Headers extra = {});

// Index keys and the upstream request for a project page ("" = the root list).
DocumentKeys pageKeys(const FrontUpstream& upstream, const std::string& project);
DocumentSource pageSource(const FrontUpstream& upstream, const std::string& project,
                          OutcomeRecorder recordOutcome);

void handlePage(PypiService& svc, http::Exchange& ex, const std::string& project,
                FrontUpstream& upstream);
void handleFile(PypiService& svc, http::Exchange& ex, const PypiPath& path,
                FrontUpstream& upstream);

}  // namespace hoard::pypi
