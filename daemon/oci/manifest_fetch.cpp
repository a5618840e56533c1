#include "daemon/oci/manifest_fetch.h"

#include "daemon/log.h"
#include "daemon/oci/media_types.h"
#include "daemon/oci/service.h"
#include "daemon/oci/small_fetch.h"

namespace hoard::oci {

namespace {
// The distribution spec's limit on manifests hoard will buffer.
constexpr std::size_t kMaxManifestBytes = 4 * 1024 * 1024;

std::string fetchKey(const OciUpstream& upstream, const std::string& repository,
                     const std::string& reference) {
  return upstream.config.name + "\n" + repository + "\n" + reference;
}

OciRequest manifestRequest(const char* method, const std::string& repository,
                           const std::string& reference) {
  OciRequest req;
  req.method = method;
  req.path = "/v2/" + repository + "/manifests/" + reference;
  req.accept = std::string(kManifestAcceptAll);
  req.scope = "repository:" + repository + ":pull";
  return req;
}

ManifestResult failure(const SmallResponse& r) {
  ManifestResult result;
  result.kind = ManifestResult::Kind::UpstreamFailed;
  result.upstreamStatus = static_cast<int>(r.status);
  result.error = r.error;
  result.message = r.message;
  result.retryAfter = std::string(r.head.header("retry-after"));
  return result;
}
}  // namespace

bool ManifestFetch::running(OciService& svc, const OciUpstream& upstream,
                            const std::string& repository, const std::string& reference) {
  return svc.manifestFetches().contains(fetchKey(upstream, repository, reference));
}

CancelHandle ManifestFetch::join(OciService& svc, OciUpstream& upstream,
                                 const std::string& repository, const std::string& reference,
                                 const std::string& refKey, std::optional<RefEntry> known,
                                 Waiter waiter) {
  std::string key = fetchKey(upstream, repository, reference);
  auto& table = svc.manifestFetches();
  ManifestFetchPtr fetch;
  if (auto it = table.find(key); it != table.end()) {
    fetch = it->second;
    svc.metrics().add("hoard_manifest_fetch_coalesced_total");
  } else {
    fetch = ManifestFetchPtr(new ManifestFetch(svc, upstream, key));
    fetch->refKey_ = refKey;
    fetch->known_ = std::move(known);
    fetch->wanted_ = Digest::parse(reference);
    table.emplace(key, fetch);
    if (fetch->known_ && !fetch->wanted_) {
      fetch->revalidate(repository, reference);
    } else {
      fetch->get(repository, reference);
    }
  }
  auto id = fetch->nextId_++;
  fetch->waiters_.emplace(id, std::move(waiter));
  std::weak_ptr<ManifestFetch> weak = fetch;
  return CancelHandle([weak, id] {
    if (auto f = weak.lock()) f->waiters_.erase(id);
  });
}

void ManifestFetch::revalidate(const std::string& repository, const std::string& tag) {
  auto req = manifestRequest("HEAD", repository, tag);
  svc_.countUpstreamRequest(upstream_, "manifest_head");
  std::weak_ptr<ManifestFetch> weak = shared_from_this();
  headTransfer_ = fetchSmall(
      *upstream_.client, std::move(req), kMaxManifestBytes, [weak, repository](SmallResponse r) {
        auto self = weak.lock();
        if (!self) return;
        self->svc_.recordOutcome(self->upstream_, r.status, r.error, r.head.header("retry-after"));
        if (r.error != FetchError::None || r.status != 200) {
          self->complete(failure(r));
          return;
        }
        auto announced = Digest::parse(r.head.header("docker-content-digest"));
        if (!announced) {  // the upstream does not say: ask for the bytes by tag
          self->get(repository, self->key_.substr(self->key_.rfind('\n') + 1));
          return;
        }
        if (announced->str() != self->known_->digest) {
          self->svc_.metrics().add("hoard_revalidations_total{result=\"changed\"}");
          // Fetch the new manifest by digest (verified) before moving the tag.
          self->wanted_ = announced;
          self->get(repository, announced->str());
          return;
        }
        self->svc_.metrics().add("hoard_revalidations_total{result=\"unchanged\"}");
        ManifestResult result;
        result.kind = ManifestResult::Kind::Ok;
        result.digest = announced->str();
        result.revalidated = true;
        if (auto m = self->svc_.manifests().manifest(result.digest)) {
          result.manifest = m;
          self->updateRefAndComplete(std::move(result));
          return;
        }
        self->storing_ = self->svc_.store().readAll(
            *announced, kMaxManifestBytes,
            [weak, repository, result](std::expected<StoredBytesPtr, StoreError> stored) mutable {
              auto s = weak.lock();
              if (!s) return;
              if (!stored) {  // evicted meanwhile: fetch it again, by digest
                s->wanted_ = Digest::parse(result.digest);
                s->get(repository, result.digest);
                return;
              }
              s->svc_.manifests().putManifest(result.digest, *stored);
              result.manifest = *stored;
              s->updateRefAndComplete(std::move(result));
            });
      });
}

void ManifestFetch::get(const std::string& repository, const std::string& reference) {
  auto req = manifestRequest("GET", repository, reference);
  svc_.countUpstreamRequest(upstream_, "manifest");
  std::weak_ptr<ManifestFetch> weak = shared_from_this();
  transfer_ =
      fetchSmall(*upstream_.client, std::move(req), kMaxManifestBytes, [weak](SmallResponse r) {
        auto self = weak.lock();
        if (!self) return;
        self->svc_.recordOutcome(self->upstream_, r.status, r.error, r.head.header("retry-after"));
        if (r.error != FetchError::None || r.status != 200) {
          self->complete(failure(r));
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
          ManifestResult result;
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
        if (!isManifestMediaType(mediaType)) {
          // A 200 that is not a manifest (a captive portal's HTML, a JSON error
          // sent with 200) must never become what a tag points at.
          ManifestResult result;
          result.kind = ManifestResult::Kind::Invalid;
          result.message = "upstream answered 200 with something that is not a manifest (" +
                           (mediaType.empty() ? std::string("no type") : mediaType) + ")";
          self->complete(std::move(result));
          return;
        }
        auto stored = std::make_shared<StoredBytes>();
        stored->meta.size = r.body.size();
        stored->meta.mediaType = mediaType;
        stored->meta.createdMs = self->svc_.clock()->nowMs();
        stored->bytes = std::move(r.body);
        ManifestResult result;
        result.kind = ManifestResult::Kind::Ok;
        result.digest = digest.str();
        result.manifest = stored;
        self->storeAndComplete(std::move(result));
      });
}

// Store first, answer second: a digest handed out must be servable.
void ManifestFetch::storeAndComplete(ManifestResult result) {
  auto digest = Digest::parse(result.digest);
  auto bytes = std::make_shared<const std::string>(result.manifest->bytes);
  BlobMeta meta = result.manifest->meta;  // before `result` moves into the callback
  std::weak_ptr<ManifestFetch> weak = shared_from_this();
  storing_ = svc_.store().putBytes(
      *digest, bytes, meta, [weak, result = std::move(result)](bool ok) mutable {
        auto s = weak.lock();
        if (!s) return;
        s->svc_.manifests().putManifest(result.digest, result.manifest);
        if (!ok) {
          // Answered from memory (the bytes are verified) but not persisted:
          // a degraded mode, counted. The tag is not recorded in the index
          // either, so no stored tag can point at bytes the store lacks.
          s->svc_.metrics().add("hoard_store_errors_total");
          logWarn("cannot store manifest " + result.digest);
          s->complete(std::move(result));
          return;
        }
        s->updateRefAndComplete(std::move(result));
      });
}

void ManifestFetch::updateRefAndComplete(ManifestResult result) {
  if (refKey_.empty()) {
    complete(std::move(result));
    return;
  }
  RefEntry ref;
  ref.digest = result.digest;
  ref.mediaType = result.manifest->meta.mediaType;
  ref.fetchedMs = svc_.clock()->nowMs();
  ref.ttlMs = static_cast<Millis>(upstream_.config.manifestTtlMs);
  svc_.manifests().putRef(refKey_, ref);
  std::weak_ptr<ManifestFetch> weak = shared_from_this();
  storing_ = svc_.store().putRef(refKey_, ref, [weak, result = std::move(result)](bool) mutable {
    if (auto s = weak.lock()) s->complete(std::move(result));
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
