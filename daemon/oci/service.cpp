#include "daemon/oci/service.h"

#include <nlohmann/json.hpp>

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

policy::Subject OciTarget::subject() const {
  policy::Subject s;
  s.ecosystem = policy::Ecosystem::Oci;
  s.name = registry + "/" + repository;
  return s;
}

namespace {
void respondPolicy(http::Exchange& ex, int status, std::string_view message) {
  respondError(ex, status, ErrorCode::Denied, message);
}
}  // namespace

bool OciService::refuseIfDenied(http::Exchange& ex, const policy::Subject& s) {
  return policy::refuseIfDenied(policy(), metrics(), ex, s, respondPolicy);
}

bool OciService::refuseIfUnlisted(http::Exchange& ex, const policy::Subject& s) {
  return policy::refuseIfUnlisted(policy(), metrics(), ex, s, respondPolicy);
}

bool OciService::pinManifest(const policy::Subject& s, std::string_view manifest) {
  auto* p = policy();
  if (!p || !p->pinned(s)) return false;
  if (p->pinnedDigest(s.digest)) return true;  // its children are noted already
  // Only the first pinned serve of a manifest parses it (per process).
  std::vector<std::string> digests{s.digest};
  auto j = nlohmann::json::parse(manifest, nullptr, false);
  auto take = [&](const nlohmann::json& d) {
    if (d.is_object() && d.contains("digest") && d["digest"].is_string()) {
      if (auto parsed = Digest::parse(d["digest"].get<std::string>())) {
        digests.push_back(parsed->str());
      }
    }
  };
  if (j.is_object()) {
    if (j.contains("config")) take(j["config"]);
    for (const char* list : {"layers", "manifests", "blobs"}) {
      if (j.contains(list) && j[list].is_array()) {
        for (const auto& d : j[list]) take(d);
      }
    }
  }
  p->notePinnedDigests(digests);
  // Those already stored become pinned in the index now; the others when
  // their fill commits (BlobOrigin::pinned()).
  for (std::size_t i = 1; i < digests.size(); ++i) access().touch(digests[i], true);
  return true;
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
  {
    const auto& regs = target.upstream->config.registries;
    // The upstream's first registry name, not the client's ns: one registry
    // reached under an alias (registry-1.docker.io for docker.io) must match
    // the same deny, allow and pin entries.
    target.registry = !regs.empty() ? regs.front()
                      : !ns.empty() ? ns
                                    : target.upstream->config.name;
  }
  // The gate comes before any cache lookup: cached content is refused too.
  // A manifest by tag is checked again once its digest is known.
  auto subject = target.subject();
  if (path->endpoint == Endpoint::Manifest && !path->digest) subject.version = path->reference;
  if ((path->endpoint == Endpoint::Manifest || path->endpoint == Endpoint::Blob) && path->digest) {
    subject.digest = path->digest->str();
  }
  if (refuseIfDenied(ex, subject)) return;
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
