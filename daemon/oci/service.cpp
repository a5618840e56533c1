#include "daemon/oci/service.h"

#include "daemon/log.h"
#include "daemon/oci/responses.h"
#include "daemon/upstream_outcome.h"

namespace hoard::oci {

OciService::OciService(Deps deps, const std::vector<conf::UpstreamConfig>& upstreams,
                       bool globalOffline)
    : deps_(std::move(deps)), router_([&] {
        std::vector<conf::UpstreamConfig> oci;
        for (const auto& u : upstreams) {
          if (u.kind == conf::UpstreamKind::Oci) oci.push_back(u);
        }
        return oci;
      }()) {
  for (const auto& u : router_.upstreams()) {
    auto up = std::make_unique<OciUpstream>();
    up->config = u;
    OciUpstreamSettings s;
    s.name = u.name;
    s.baseUrl = u.url;
    if (u.auth) s.auth = UpstreamAuth{u.auth->username, u.auth->password};
    s.connectTimeoutMs = u.connectTimeoutMs;
    s.idleTimeoutMs = u.idleTimeoutMs;
    up->client = std::make_unique<OciClient>(*deps_.http, deps_.clock, std::move(s));
    up->health = std::make_unique<UpstreamHealth>(deps_.clock, u.breakerFailures,
                                                  static_cast<Millis>(u.breakerCooldownMs),
                                                  globalOffline || u.offline);
    upstreams_.push_back(std::move(up));
  }
}

http::Headers OciTarget::responseHeaders() const {
  auto h = registryHeaders();
  if (!ns.empty()) h.push_back({"OCI-Namespace", ns});
  return h;
}

UpstreamGate OciService::admit(OciUpstream& upstream) {
  auto gate = upstream.health->admit();
  if (gate == UpstreamGate::Open || gate == UpstreamGate::RateLimited) {
    metrics().add("hoard_upstream_rejected_total{upstream=\"" + upstream.config.name +
                  "\",reason=\"" + (gate == UpstreamGate::Open ? "breaker" : "rate_limited") +
                  "\"}");
  }
  return gate;
}

void OciService::recordOutcome(OciUpstream& upstream, long status, FetchError error,
                               std::string_view retryAfter) {
  recordUpstreamOutcome(*upstream.health, metrics(), upstream.config.name, status, error,
                        retryAfter);
}

void OciService::countUpstreamRequest(const OciUpstream& upstream, std::string_view kind) {
  metrics().add("hoard_upstream_requests_total{upstream=\"" + upstream.config.name + "\",kind=\"" +
                std::string(kind) + "\"}");
}

void OciService::cancelAll() {
  deps_.fills->cancelAll();
  manifestFetches_.clear();
}

void OciService::handle(http::Exchange& ex) {
  const auto& req = ex.request();
  PathError perr{};
  auto path = parseOciPath(req.path, perr);
  if (!path) {
    switch (perr) {
      case PathError::NameInvalid:
        respondError(ex, 400, ErrorCode::NameInvalid, "invalid repository name");
        return;
      case PathError::TagInvalid:
        respondError(ex, 400, ErrorCode::ManifestInvalid, "invalid tag");
        return;
      case PathError::DigestInvalid:
        respondError(ex, 400, ErrorCode::DigestInvalid, "invalid digest");
        return;
      case PathError::NotFound:
        respondError(ex, 404, ErrorCode::NameUnknown, "no such endpoint");
        return;
    }
  }
  if (path->endpoint == Endpoint::Base) {
    auto headers = registryHeaders();
    headers.push_back({"Content-Type", "application/json"});
    ex.respond(200, std::move(headers), "{}");
    return;
  }
  std::string ns;
  if (auto raw = queryParam(req.query, "ns"); !raw.empty()) {
    auto decoded = decodeNamespace(raw);
    if (!decoded) {
      respondError(ex, 404, ErrorCode::NameUnknown, "ns is not a registry host name");
      return;
    }
    ns = std::move(*decoded);
  }
  RouteError rerr{};
  auto routed = router_.route(ns, path->name, rerr);
  if (!routed) {
    respondError(ex, 404, ErrorCode::NameUnknown,
                 rerr == RouteError::UnknownRegistry
                     ? "registry " + ns + " is not configured in hoard"
                     : std::string("no default upstream configured"));
    return;
  }
  OciTarget target;
  target.upstream = upstreams_[routed->upstream].get();
  target.clientName = path->name;
  target.repository = std::move(routed->repository);
  target.ns = ns;
  switch (path->endpoint) {
    case Endpoint::Manifest:
      handleManifest(*this, ex, *path, std::move(target));
      return;
    case Endpoint::Blob:
      handleBlob(*this, ex, *path, std::move(target));
      return;
    case Endpoint::TagsList:
      handleTagsList(*this, ex, *path, std::move(target));
      return;
    case Endpoint::Referrers:
      handleReferrers(*this, ex, *path, std::move(target));
      return;
    case Endpoint::Base:
      return;
  }
}

}  // namespace hoard::oci
