#pragma once
// The Go module proxy front end (mounted at /go/; GOPROXY=http://hoard:5050/go):
// the GOPROXY protocol and the checksum-database proxy (GOSUMDB through
// hoard). .mod, .zip and the .info of canonical versions are immutable;
// lists, @latest and queries are short-TTL documents served stale while the
// upstream fails. The .mod and .zip of public modules are checked against the
// checksum database's h1: hashes before they are cached. Modules under a
// private prefix go only to their own upstream, never to the public proxy or
// the checksum database.
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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
#include "daemon/go/paths.h"
#include "daemon/http/exchange.h"
#include "daemon/metrics.h"
#include "daemon/policy/gate.h"
#include "upstream/http_client.h"

namespace hoard::go {

// What the checksum database says about module@version.
struct ChecksumRecord {
  std::string zipH1;    // "h1:..." of the module zip's files
  std::string gomodH1;  // "h1:..." of its go.mod
};

class GoService {
 public:
  using Deps = FrontDeps;
  GoService(Deps deps, const std::vector<conf::UpstreamConfig>& upstreams, bool globalOffline);

  // Every request under /go/ (path without the mount).
  void handle(http::Exchange& ex, std::string_view rest);
  void cancelAll() { documents_.cancelAll(); }

  DocumentCache& documents() { return documents_; }
  HttpClient& http() { return *deps_.http; }
  Metrics& metrics() { return *deps_.metrics; }
  ClockPtr clock() const { return deps_.clock; }
  BlobServices blobServices() const { return deps_.blobServices(); }
  OutcomeRecorder outcomeRecorder(FrontUpstream& upstream) {
    return hoard::outcomeRecorder(upstream, *deps_.metrics);
  }

  // The policy subject of a GOPROXY request (go:<module>, go:<module>@<version>
  // for .info/.mod/.zip), refused in plain text.
  policy::RequestPolicy requestPolicy(const GoPath& path) const;
  AccessTracker* access() const { return deps_.access; }

  // The upstream for a module path: the one whose prefix matches, else the default.
  FrontUpstream* route(std::string_view modulePath, bool* isPrivate);
  // The public upstream that proxies checksum database `host`, or nullptr.
  FrontUpstream* sumdbUpstream(std::string_view host);

  // Brief negative caching of 404/410 (the go command falls back on those).
  struct Negative {
    int status;
    std::string body;
    Millis until;
  };
  const Negative* negative(const std::string& key) const;
  void rememberNegative(const std::string& key, int status, std::string body);

  // The checksum-database record of module@version (escaped forms), from the
  // cache or `upstream`'s database; `done` gets it or (status, message).
  using RecordResult = std::expected<ChecksumRecord, std::pair<int, std::string>>;
  CancelHandle checksumRecord(FrontUpstream& upstream, const GoPath& path,
                              std::function<void(RecordResult)> done);

 private:
  Deps deps_;
  std::vector<FrontUpstreamPtr> upstreams_;
  FrontUpstream* default_ = nullptr;
  DocumentCache documents_;
  std::unordered_map<std::string, Negative> negatives_;
};

// The go command shows error bodies as they are: plain text.
void respondGoError(http::Exchange& ex, int status, std::string_view message,
                    http::Headers extra = {});

// Immutable documents are kept "forever": a TTL far beyond any store's life,
// small enough that fetched + TTL never overflows.
inline constexpr Millis kImmutableTtlMs = Millis{100} * 365 * 24 * 3600 * 1000;

void handleDocument(GoService& svc, http::Exchange& ex, const GoPath& path, FrontUpstream& upstream,
                    bool isPrivate);
void handleZip(GoService& svc, http::Exchange& ex, const GoPath& path, FrontUpstream& upstream,
               bool isPrivate);

// Parses a lookup answer ("<id>\n<mod> <ver> h1:...\n<mod> <ver>/go.mod h1:...\n\n<note>").
std::optional<ChecksumRecord> parseLookup(std::string_view body, std::string_view modulePath,
                                          std::string_view version);

}  // namespace hoard::go
