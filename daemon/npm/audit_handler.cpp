// POST /npm/-/npm/v1/security/advisories/bulk and .../audits/quick (npm audit)
//
// Passed through to the default (public) npm upstream, never cached: the body
// is gunzipped, parsed and stripped of every package name hoard routes to a
// private upstream on the thread pool (daemon/npm/audit_filter.h), gzipped
// again and POSTed with the upstream's own credentials (never the client's);
// the upstream's status, Content-Type and body go back to npm. Not subject to
// the deny/allow-lists: an audit fetches no package.
//
// Must survive: the client leaving while the body is processed or the
// upstream answers (the context's destruction cancels both); the upstream
// down, offline or behind an open breaker (a 503 npm error naming audit, so
// `npm audit` says why); an answer over the cap (502).
#include <memory>
#include <optional>
#include <string>

#include "cache/off_loop.h"
#include "daemon/document/document_cache.h"
#include "daemon/npm/audit_filter.h"
#include "daemon/npm/packument.h"
#include "daemon/npm/service.h"
#include "upstream/buffered_fetch.h"

namespace hoard::npm {

namespace {

constexpr std::size_t kMaxAnswerBytes = 16UL * 1024 * 1024;

struct Prepared {
  std::optional<AuditBodyError> error;
  std::string gzipped;
  std::size_t dropped = 0;
};

class AuditRequest final : public http::RequestContext {
 public:
  AuditRequest(NpmService& svc, http::Exchange& ex, AuditKind kind, FrontUpstream& upstream)
      : svc_(svc), ex_(ex), kind_(kind), upstream_(upstream) {}

  void start() {
    ex_.setLogField("upstream", upstream_.config.name);
    ex_.setLogField("audit", std::string(auditKindName(kind_)));
    std::string body = ex_.takeRequestBody();
    std::string encoding(ex_.request().header("content-encoding"));
    NamePredicate isPrivate = scopeMatcher(svc_.privateScopes());
    work_ = runOffLoop<Prepared>(
        svc_.loop(),
        [body = std::move(body), encoding = std::move(encoding), kind = kind_,
         isPrivate = std::move(isPrivate)]() -> Prepared {
          Prepared out;
          try {
            auto r = prepareAuditBody(body, encoding, kind, isPrivate);
            if (!r) {
              out.error = r.error();
              return out;
            }
            out.dropped = r->dropped;
            out.gzipped = gzipCompress(r->json);
            if (out.gzipped.empty()) {
              out.error = AuditBodyError{500, "audit: cannot compress the body"};
            }
          } catch (...) {  // a thread-pool job must not throw (bad_alloc)
            out.error = AuditBodyError{500, "audit: cannot process the body"};
          }
          return out;
        },
        [this](Prepared p) { onPrepared(std::move(p)); });
  }

 private:
  void onPrepared(Prepared p) {
    if (p.error) {
      respondNpmError(ex_, p.error->status, p.error->message);
      return;
    }
    if (p.dropped > 0) ex_.setLogField("audit_private_dropped", std::to_string(p.dropped));
    const auto gate = upstream_.health->admit();
    if (gate != UpstreamGate::Allow && gate != UpstreamGate::Probe) {
      if (gate == UpstreamGate::Offline) {
        respondNpmError(ex_, 503,
                        "audit: upstream " + upstream_.config.name +
                            " unavailable (hoard is offline); npm audit needs the registry");
        return;
      }
      auto wait = std::to_string((upstream_.health->retryAfterMs() + 999) / 1000);
      respondNpmError(
          ex_, 503,
          "audit: upstream " + upstream_.config.name + " unavailable; retry in " + wait + " s",
          {{"Retry-After", wait}});
      return;
    }
    HttpRequest req =
        upstreamDocument(upstream_, upstream_.config.url + std::string(auditUpstreamPath(kind_)),
                         "audit", {})
            .request;
    req.method = "POST";
    req.body = std::move(p.gzipped);
    req.headers.push_back({"Content-Type", "application/json"});
    req.headers.push_back({"Content-Encoding", "gzip"});
    req.headers.push_back({"Accept", "application/json"});
    svc_.countUpstreamRequest(upstream_, "audit");
    HttpClient* http = &svc_.http();
    transfer_ = fetchBuffered(
        [http, req = std::move(req)](HttpCallbacks cb) { return http->start(req, std::move(cb)); },
        kMaxAnswerBytes, [this](BufferedResponse r) { onAnswer(std::move(r)); });
  }

  void onAnswer(BufferedResponse r) {
    svc_.outcomeRecorder(upstream_)(r.status, r.error, r.head.header("retry-after"));
    const std::string& name = upstream_.config.name;
    if (r.tooLarge) {
      respondNpmError(ex_, 502,
                      "audit: upstream " + name + " answered more than " +
                          std::to_string(kMaxAnswerBytes) + " bytes");
      return;
    }
    if (r.error == FetchError::Timeout) {
      respondNpmError(ex_, 504, "audit: upstream " + name + " timed out");
      return;
    }
    if (r.error != FetchError::None) {
      std::string why(fetchErrorName(r.error));
      if (!r.message.empty()) why += ": " + r.message;
      respondNpmError(ex_, r.error == FetchError::ConnectFailed ? 503 : 502,
                      "audit: upstream " + name + " unavailable (" + why + ")");
      return;
    }
    http::Headers h;
    auto type = r.head.header("content-type");
    h.push_back({"Content-Type", type.empty() ? "application/json" : std::string(type)});
    for (const char* relayed : {"content-encoding", "retry-after"}) {
      if (auto v = r.head.header(relayed); !v.empty()) h.push_back({relayed, std::string(v)});
    }
    h.push_back({"Cache-Control", "no-store"});
    ex_.respond(static_cast<int>(r.status), std::move(h), std::move(r.body));
  }

  NpmService& svc_;
  http::Exchange& ex_;
  AuditKind kind_;
  FrontUpstream& upstream_;
  CancelHandle work_;
  HttpClient::Handle transfer_;
};

}  // namespace

bool isAuditRequest(std::string_view method, std::string_view rest) {
  return method == "POST" && rest.starts_with("-/") && auditKindOf(rest.substr(2)).has_value();
}

void handleAudit(NpmService& svc, http::Exchange& ex, std::string_view endpoint) {
  auto kind = auditKindOf(endpoint);
  auto* upstream = svc.defaultUpstream();
  if (!kind || !upstream) {
    respondNpmError(ex, 404, "audit: no default npm upstream configured to send audits to");
    return;
  }
  http::startContext<AuditRequest>(ex, svc, ex, *kind, *upstream);
}

}  // namespace hoard::npm
