#pragma once
// The request flow every mutable document shares (npm packuments, PyPI
// project pages, Go version lists): memory -> store -> fresh? serve :
// revalidate once for everyone (conditional GET, a 304 renews) -> on upstream
// failure serve stale within max_stale -> otherwise a clear error in the
// front end's format. Front ends supply how to fetch and render, which stored
// variant a request gets, and their error format.
//
// Never turns a transient failure into a 404: clients (npm, pip, go) treat a
// 404 as final. Timeouts become 504, 429 a 503 with Retry-After, other
// failures 502.
//
// Must survive: the client leaving at any point (handles cancel, the shared
// fetch carries on); a stored variant evicted underneath its entry (fetched
// afresh once); the upstream gate closed (breaker, 429, offline) with or
// without a stale copy.
#include <functional>
#include <string>
#include <string_view>

#include "cache/access_tracker.h"
#include "daemon/document/document_cache.h"
#include "daemon/front_upstream.h"
#include "daemon/http/exchange.h"
#include "daemon/policy/gate.h"

namespace hoard {

class DocumentRequest : public http::RequestContext {
 public:
  ~DocumentRequest() override;

 protected:
  DocumentRequest(DocumentCache& cache, http::Exchange& ex, FrontUpstream& upstream)
      : cache_(cache), ex_(ex), upstream_(upstream) {}

  // Starts the flow for the document under `keys`.
  void begin(DocumentKeys keys);
  // The allow-list and pins for this document (before begin()). Not on the
  // allow-list: a cached copy (even expired) is served, nothing is fetched.
  // Pinned: the stored copy is touched as pinned, so eviction keeps it.
  // The deny-list is the front end's, checked before begin().
  void setPolicy(policy::RequestPolicy policy, AccessTracker* access) {
    policy_ = std::move(policy);
    access_ = access;
  }

  // How to ask the upstream for the document and render it.
  virtual DocumentSource source() = 0;
  // Renders the stored upstream bytes again for keys.ref (npm: another mount URL).
  virtual RenderFn rebuildRender() { return {}; }
  // The entry to answer with; `cacheResult` is hit, miss, revalidated or stale.
  virtual void serve(const DocumentEntryPtr& entry, const char* cacheResult) = 0;
  virtual void respondError(int status, std::string_view message, http::Headers extra) = 0;
  // Runs before an upstream fetch is started (a cache miss or an expired
  // entry): call `proceed` to fetch, or answer the client instead (a Go
  // go.mod first needs its checksum-database record).
  virtual void prepareFetch(const std::function<void()>& proceed) { proceed(); }
  // What the document is, for messages ("lodash", "project acme-core").
  virtual std::string subject() const = 0;
  // The upstream answered 404 (or 410): passed on as such.
  virtual void respondNotFound(long upstreamStatus);
  // The upstream's document was refused by the render step (DocumentResult::rejected).
  virtual void respondRejected(const std::string& why);

  // Sends stored variant `name` of `entry` with `headers` plus ETag: 304 on
  // If-None-Match, from memory when small, else sendfile.
  void sendVariant(const DocumentEntryPtr& entry, const std::string& name, http::Headers headers,
                   const char* cacheResult);

  DocumentCache& cache_;
  http::Exchange& ex_;
  FrontUpstream& upstream_;
  DocumentKeys keys_;
  DocumentEntryPtr known_;

 private:
  void onEntry(const DocumentEntryPtr& entry);
  void refresh();
  void fetch();
  void onFetched(const DocumentResult& r);
  bool staleAllowed() const;

  CancelHandle pending_;
  int fd_ = -1;
  bool retried_ = false;
  policy::RequestPolicy policy_;
  AccessTracker* access_ = nullptr;
};

bool etagMatches(std::string_view ifNoneMatch, std::string_view etag);

}  // namespace hoard
