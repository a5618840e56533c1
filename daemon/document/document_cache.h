#pragma once
// A front end's mutable documents: the entries it has in memory, and the
// upstream fetches in flight, one per document however many requests need it
// (coalesced). A known entry makes the fetch conditional (If-None-Match /
// If-Modified-Since): a 304 renews the TTL and is not an error. A 200 is
// rendered and stored on the thread pool before anyone is answered, so every
// waiter gets the same, committed entry.
//
// Must survive: every waiter leaving (the fetch finishes and is stored for
// the next request); cancelAll() at shutdown while a render runs on the pool
// (its result is dropped); the upstream answering 304 to a request hoard did
// not make conditional (treated as a failure, nothing stored).
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "cache/async_store.h"
#include "cache/cancel.h"
#include "daemon/blob_response.h"
#include "daemon/document/document_store.h"
#include "daemon/front_upstream.h"
#include "daemon/metrics.h"
#include "upstream/http_client.h"

namespace hoard {

// How one document is asked for and turned into what is served.
struct DocumentSource {
  HttpRequest request;  // url, Accept, Authorization, timeouts; validators are added here
  RenderFn render;
  Millis ttlMs = 0;
  std::size_t maxBytes = 128 * 1024 * 1024;  // popular packuments are 10-40 MB
  OutcomeRecorder recordOutcome;
  std::string upstreamName, kind;  // for hoard_upstream_requests_total
};

// A DocumentSource asking `url` on behalf of `upstream`: its timeouts, its
// health (recordOutcome), its name and `kind` in the request metrics, its
// Basic credentials when `withCredentials` (never for a third party such as a
// checksum database), and the upstream's metadata TTL.
DocumentSource upstreamDocument(const FrontUpstream& upstream, std::string url, std::string kind,
                                OutcomeRecorder recordOutcome, bool withCredentials = true);

struct DocumentResult {
  DocumentEntryPtr entry;  // set on success
  long upstreamStatus = 0;
  FetchError error = FetchError::None;
  std::string message;
  std::string retryAfter;
  // The upstream answered 200 but rendering refused the document (message
  // says why); nothing was stored.
  bool rejected = false;
};

class DocumentCache {
 public:
  struct Deps {
    uv_loop_t* loop = nullptr;
    AsyncStore* store = nullptr;
    HttpClient* http = nullptr;
    ClockPtr clock;
    Metrics* metrics = nullptr;
  };
  using Waiter = std::function<void(const DocumentResult&)>;

  // maxEntries bounds memory: each entry keeps at most a few variants of
  // <= 64 KiB in memory (2048 entries: well under 512 MiB, typically far less).
  explicit DocumentCache(Deps deps, std::size_t maxEntries = 2048)
      : deps_(std::move(deps)), maxEntries_(maxEntries) {}
  ~DocumentCache();
  DocumentCache(const DocumentCache&) = delete;
  DocumentCache& operator=(const DocumentCache&) = delete;

  // In memory only (no I/O); null if not there.
  DocumentEntryPtr remembered(const std::string& key) const;
  void remember(const DocumentKeys& keys, const DocumentEntryPtr& entry);
  void forget(const std::string& key) { entries_.erase(key); }

  // From the store (thread pool): the entry of keys.ref, else one rendered
  // again from keys.any with `rebuild` (may be empty). `done(nullptr)` if none.
  CancelHandle load(const DocumentKeys& keys, RenderFn rebuild,
                    std::function<void(DocumentEntryPtr)> done);

  bool fetching(const std::string& refKey) const { return fetches_.contains(refKey); }
  // Joins the fetch of keys.ref, starting it (from `source`) if none runs.
  CancelHandle fetch(const DocumentKeys& keys, DocumentEntryPtr known, DocumentSource source,
                     Waiter waiter);

  void cancelAll();

  uv_loop_t* loop() const { return deps_.loop; }
  AsyncStore& store() { return *deps_.store; }
  ClockPtr clock() const { return deps_.clock; }
  Metrics& metrics() { return *deps_.metrics; }

 private:
  class Fetch;
  using FetchPtr = std::shared_ptr<Fetch>;
  friend class Fetch;

  Deps deps_;
  std::size_t maxEntries_;
  std::unordered_map<std::string, DocumentEntryPtr> entries_;
  std::unordered_map<std::string, FetchPtr> fetches_;
};

}  // namespace hoard
