// GET|HEAD /v2/<name>/manifests/<tag|digest>
//
// By digest: immutable, so memory -> store -> upstream (verified), and a cached
// manifest never touches the upstream again.
// By tag: a reference with a TTL. Fresh -> answered from memory (or index +
// store after a restart) with no upstream call. Expired or unknown -> one
// coalesced upstream fetch; if that fails and a previous answer exists, the
// previous answer is served stale (counted and logged as "stale").
//
// Must survive: the client leaving while any step is in flight (the context
// dies, its CancelHandles stop every callback); a tag whose manifest was
// evicted (refetched); an Accept header that excludes the cached type.
#include <memory>

#include "daemon/oci/manifest_fetch.h"
#include "daemon/oci/media_types.h"
#include "daemon/oci/responses.h"
#include "daemon/oci/service.h"

namespace hoard::oci {

namespace {

constexpr std::size_t kMaxManifestBytes = 4 * 1024 * 1024;

class ManifestRequest final : public http::RequestContext {
 public:
  ManifestRequest(OciService& svc, http::Exchange& ex, OciPath path, OciTarget target)
      : svc_(svc), ex_(ex), path_(std::move(path)), target_(std::move(target)) {}

  void start() {
    ex_.setLogField("upstream", target_.upstream->config.name);
    if (path_.digest) {
      serveDigest(path_.digest->str(), "hit");
      return;
    }
    refKey_ =
        "oci/" + target_.upstream->config.name + "/" + target_.repository + ":" + path_.reference;
    if (auto ref = svc_.manifests().ref(refKey_)) {
      onRef(*ref);
      return;
    }
    pending_ = svc_.store().getRef(refKey_, [this](std::optional<RefEntry> ref) {
      if (!ref) {
        refresh();
        return;
      }
      svc_.manifests().putRef(refKey_, *ref);
      onRef(*ref);
    });
  }

 private:
  void onRef(const RefEntry& ref) {
    stale_ = ref;
    auto now = svc_.clock()->nowMs();
    if (now - ref.fetchedMs < ref.ttlMs) {
      serveDigest(ref.digest, "hit");
    } else {
      refresh();
    }
  }

  // Serves a manifest known by digest: memory, then store, then upstream.
  void serveDigest(const std::string& digest, const char* result) {
    if (auto m = svc_.manifests().manifest(digest)) {
      send(digest, m, result);
      return;
    }
    auto parsed = Digest::parse(digest);
    if (!parsed) {  // a corrupt ref entry: treat as unknown
      refresh();
      return;
    }
    pending_ =
        svc_.store().readAll(*parsed, kMaxManifestBytes,
                             [this, digest, result](std::expected<StoredBytesPtr, StoreError> r) {
                               if (r && isManifestMediaType((*r)->meta.mediaType)) {
                                 svc_.manifests().putManifest(digest, *r);
                                 send(digest, *r, result);
                                 return;
                               }
                               refresh();
                             });
  }

  void refresh() {
    std::string reference = path_.digest ? path_.digest->str() : path_.reference;
    auto& upstream = *target_.upstream;
    if (svc_.policy() && !svc_.policy()->allowed(subject())) {
      // Not to be fetched: what is cached (even expired) is still served.
      if (stale_) {
        staleDigest_ = stale_->digest;
        stale_.reset();
        serveDigest(staleDigest_, "stale");
        return;
      }
      if (svc_.refuseIfUnlisted(ex_, subject())) return;
    }
    if (!ManifestFetch::running(svc_, upstream, target_.repository, reference)) {
      auto gate = svc_.admit(upstream);
      if (gate != UpstreamGate::Allow && gate != UpstreamGate::Probe) {
        onGateClosed(gate);
        return;
      }
    }
    std::optional<RefEntry> known;
    if (!path_.digest) known = stale_;
    pending_ = ManifestFetch::join(svc_, upstream, target_.repository, reference,
                                   path_.digest ? std::string() : refKey_, std::move(known),
                                   [this](const ManifestResult& r) { onFetched(r); });
  }

  // The upstream will not be called (offline, breaker open, rate limited).
  void onGateClosed(UpstreamGate gate) {
    bool offline = gate == UpstreamGate::Offline;
    if (stale_ && (offline || staleAllowed(*stale_))) {
      serveStale();
      return;
    }
    respondGateClosed(ex_, gate, target_.upstream->config.name,
                      target_.upstream->health->retryAfterMs(), ErrorCode::ManifestUnknown,
                      "manifest " + target_.repository + ":" + path_.reference);
  }

  // max_stale bounds how long past its TTL a tag may stand in for the upstream.
  bool staleAllowed(const RefEntry& ref) const {
    return staleServable(svc_.clock()->nowMs(), ref.fetchedMs, ref.ttlMs,
                         target_.upstream->config.maxStaleMs);
  }

  void serveStale() {
    svc_.metrics().add("hoard_stale_served_total{upstream=\"" + target_.upstream->config.name +
                       "\"}");
    staleDigest_ = stale_->digest;
    stale_.reset();
    serveDigest(staleDigest_, "stale");
  }

  void onFetched(const ManifestResult& r) {
    if (r.kind == ManifestResult::Kind::Ok) {
      send(r.digest, r.manifest, r.revalidated ? "revalidated" : "miss");
      return;
    }
    if (r.kind == ManifestResult::Kind::Invalid) {
      respondError(ex_, 502, ErrorCode::ManifestInvalid, r.message);
      return;
    }
    // A transport failure (reset, idle timeout mid-body) may follow a 200 head.
    bool upstreamDown = r.error != FetchError::None || r.upstreamStatus == 0 ||
                        r.upstreamStatus == 429 || r.upstreamStatus >= 500;
    if (stale_ && upstreamDown && staleAllowed(*stale_)) {
      serveStale();
      return;
    }
    respondUpstreamFailure(ex_, r.error != FetchError::None ? 0 : r.upstreamStatus, r.error,
                           ErrorCode::ManifestUnknown,
                           "manifest " + target_.repository + ":" + path_.reference, r.retryAfter);
  }

  // Clients split Accept over several header lines (skopeo sends one per
  // type); RFC 9110 5.3 makes them one comma-separated list.
  std::string joinedAccept() const {
    std::string out;
    for (const auto& h : ex_.request().headers) {
      if (h.name != "accept") continue;
      if (!out.empty()) out += ", ";
      out += h.value;
    }
    return out;
  }

  void send(const std::string& digest, const StoredBytesPtr& m, const char* result) {
    ex_.setLogField("digest", digest);
    auto s = subject();
    s.digest = digest;
    // By tag, the digest is known only now: sha256:/@digest deny entries apply.
    if (!path_.digest && svc_.refuseIfDenied(ex_, s)) return;
    ex_.setLogField("cache", result);
    svc_.metrics().add(std::string("hoard_cache_requests_total{kind=\"manifest\",result=\"") +
                       result + "\"}");
    svc_.access().touch(digest, svc_.pinManifest(s, m->bytes));
    const auto& mediaType = m->meta.mediaType;
    if (!acceptAdmits(joinedAccept(), mediaType)) {
      // hoard stores what the tag really points at; it does not convert.
      // Distribution answers MANIFEST_UNKNOWN when it cannot satisfy Accept.
      respondError(ex_, 404, ErrorCode::ManifestUnknown,
                   "manifest is " + mediaType + ", which the request's Accept header excludes");
      return;
    }
    auto headers = target_.responseHeaders();
    headers.push_back({"Content-Type", mediaType.empty() ? std::string(kOciManifest) : mediaType});
    headers.push_back({"Docker-Content-Digest", digest});
    headers.push_back({"ETag", "\"" + digest + "\""});
    ex_.sendHead(200, std::move(headers), m->bytes.size());
    if (!ex_.isHead()) ex_.sendBody(m->bytes);
    ex_.finish();
  }

  // The request's subject before resolution: by tag, or by digest.
  policy::Subject subject() const {
    auto s = target_.subject();
    if (path_.digest) {
      s.digest = path_.digest->str();
    } else {
      s.version = path_.reference;
    }
    return s;
  }

  OciService& svc_;
  http::Exchange& ex_;
  OciPath path_;
  OciTarget target_;
  std::string refKey_;
  std::optional<RefEntry> stale_;
  std::string staleDigest_;
  CancelHandle pending_;
};

}  // namespace

void handleManifest(OciService& svc, http::Exchange& ex, const OciPath& path, OciTarget target) {
  http::startContext<ManifestRequest>(ex, svc, ex, path, std::move(target));
}

}  // namespace hoard::oci
