#include "daemon/oci/manifest_fetch.h"

#include "daemon/oci/media_types.h"
#include "daemon/oci/service.h"
#include "daemon/oci/small_fetch.h"

namespace hoard::oci {

namespace {
// The distribution spec's limit on manifests hoard will buffer.
constexpr std::size_t kMaxManifestBytes = 4 * 1024 * 1024;
}  // namespace

CancelHandle ManifestFetch::join(OciService& svc, OciUpstream& upstream,
                                 const std::string& repository, const std::string& reference,
                                 const std::string& refKey, Waiter waiter) {
  std::string key = upstream.config.name + "\n" + repository + "\n" + reference;
  auto& table = svc.manifestFetches();
  ManifestFetchPtr fetch;
  if (auto it = table.find(key); it != table.end()) {
    fetch = it->second;
    svc.metrics().add("hoard_manifest_fetch_coalesced_total");
  } else {
    fetch = ManifestFetchPtr(new ManifestFetch(svc, key));
    fetch->refKey_ = refKey;
    fetch->ttlMs_ = upstream.config.manifestTtlMs;
    table.emplace(key, fetch);
    fetch->start(upstream, repository, reference);
  }
  auto id = fetch->nextId_++;
  fetch->waiters_.emplace(id, std::move(waiter));
  std::weak_ptr<ManifestFetch> weak = fetch;
  return CancelHandle([weak, id] {
    if (auto f = weak.lock()) f->waiters_.erase(id);
  });
}

void ManifestFetch::start(OciUpstream& upstream, const std::string& repository,
                          const std::string& reference) {
  wanted_ = Digest::parse(reference);
  OciRequest req;
  req.method = "GET";
  req.path = "/v2/" + repository + "/manifests/" + reference;
  req.accept = std::string(kManifestAcceptAll);
  req.scope = "repository:" + repository + ":pull";
  svc_.metrics().add("hoard_upstream_requests_total{upstream=\"" + upstream.config.name +
                     "\",kind=\"manifest\"}");
  std::weak_ptr<ManifestFetch> weak = shared_from_this();
  transfer_ =
      fetchSmall(*upstream.client, std::move(req), kMaxManifestBytes, [weak](SmallResponse r) {
        auto self = weak.lock();
        if (!self) return;
        ManifestResult result;
        result.upstreamStatus = static_cast<int>(r.status);
        result.error = r.error;
        if (r.error != FetchError::None || r.status != 200) {
          result.kind = ManifestResult::Kind::UpstreamFailed;
          result.message = r.message;
          result.retryAfter = std::string(r.head.header("retry-after"));
          self->complete(std::move(result));
          return;
        }
        Digest digest;
        if (self->wanted_) {
          digest = *self->wanted_;
        } else {
          auto announced = Digest::parse(r.head.header("docker-content-digest"));
          digest = announced ? *announced : Digest{DigestAlgorithm::Sha256, ""};
        }
        Hasher h(digest.algorithm);
        h.update(r.body.data(), r.body.size());
        auto actual = h.finishHex();
        if (!digest.hex.empty() && actual != digest.hex) {
          self->svc_.metrics().add("hoard_digest_mismatch_total");
          result.kind = ManifestResult::Kind::Invalid;
          result.message = "upstream manifest does not match digest " + digest.str();
          self->complete(std::move(result));
          return;
        }
        digest.hex = actual;
        std::string mediaType(r.head.header("content-type"));
        if (auto semi = mediaType.find(';'); semi != std::string::npos) mediaType.resize(semi);
        if (!isManifestMediaType(mediaType)) {
          auto sniffed = sniffManifestMediaType(r.body);
          if (!sniffed.empty()) mediaType = sniffed;
        }
        auto stored = std::make_shared<StoredBytes>();
        stored->meta.size = r.body.size();
        stored->meta.mediaType = mediaType;
        stored->meta.createdMs = self->svc_.clock()->nowMs();
        stored->bytes = std::move(r.body);
        auto bytes = std::make_shared<const std::string>(stored->bytes);
        result.kind = ManifestResult::Kind::Ok;
        result.digest = digest.str();
        result.manifest = stored;
        // Store first, answer second: a digest handed out must be servable.
        self->storing_ = self->svc_.store().putBytes(
            digest, bytes, stored->meta, [weak, result = std::move(result)](bool ok) mutable {
              auto s = weak.lock();
              if (!s) return;
              if (!ok) {
                s->svc_.metrics().add("hoard_store_errors_total");
                // Still answer from memory: the bytes are verified; they are just
                // not persisted (logged as a degraded mode).
              }
              s->svc_.manifests().putManifest(result.digest, result.manifest);
              if (s->refKey_.empty()) {
                s->complete(std::move(result));
                return;
              }
              RefEntry ref;
              ref.digest = result.digest;
              ref.mediaType = result.manifest->meta.mediaType;
              ref.fetchedMs = s->svc_.clock()->nowMs();
              ref.ttlMs = static_cast<Millis>(s->ttlMs_);
              s->svc_.manifests().putRef(s->refKey_, ref);
              s->storing_ = s->svc_.store().putRef(
                  s->refKey_, ref, [weak, result = std::move(result)](bool) mutable {
                    if (auto s2 = weak.lock()) s2->complete(std::move(result));
                  });
            });
      });
}

void ManifestFetch::complete(ManifestResult result) {
  auto self = shared_from_this();
  auto& table = svc_.manifestFetches();
  if (auto it = table.find(key_); it != table.end() && it->second.get() == this) table.erase(it);
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& [id, w] : waiters) w(result);
}

}  // namespace hoard::oci
