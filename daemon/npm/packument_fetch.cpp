#include "daemon/npm/packument_fetch.h"

#include <openssl/evp.h>

#include "cache/off_loop.h"
#include "daemon/npm/service.h"
#include "upstream/buffered_fetch.h"

namespace hoard::npm {

namespace {
// Popular packuments are 10-40 MB; a cap keeps a hostile upstream from
// filling memory.
constexpr std::size_t kMaxPackumentBytes = 128 * 1024 * 1024;

std::string basicAuth(const conf::UpstreamAuth& auth) {
  std::string raw = auth.username + ":" + auth.password;
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return "Basic " + out;
}
}  // namespace

std::string packumentKey(const NpmUpstream& upstream, const std::string& name,
                         const std::string& mountUrl) {
  return "npm/" + upstream.config.name + "/" + name + "@" + mountUrl;
}

std::string anyMountKey(const NpmUpstream& upstream, const std::string& name) {
  return "npm/" + upstream.config.name + "/" + name;
}

bool PackumentFetch::running(NpmService& svc, const std::string& refKey) {
  return svc.fetches().contains(refKey);
}

CancelHandle PackumentFetch::join(NpmService& svc, NpmUpstream& upstream, const std::string& name,
                                  const std::string& mountUrl, const std::string& refKey,
                                  PackumentEntryPtr known, Waiter waiter) {
  auto& table = svc.fetches();
  PackumentFetchPtr fetch;
  if (auto it = table.find(refKey); it != table.end()) {
    fetch = it->second;
  } else {
    fetch = PackumentFetchPtr(new PackumentFetch(svc, upstream, refKey));
    fetch->anyMountKey_ = anyMountKey(upstream, name);
    fetch->known_ = std::move(known);
    table.emplace(refKey, fetch);
    fetch->start(name, mountUrl);
  }
  auto id = fetch->nextId_++;
  fetch->waiters_.emplace(id, std::move(waiter));
  std::weak_ptr<PackumentFetch> weak = fetch;
  return CancelHandle([weak, id] {
    if (auto f = weak.lock()) f->waiters_.erase(id);
  });
}

void PackumentFetch::start(const std::string& name, const std::string& mountUrl) {
  HttpRequest req;
  std::string encoded = name;
  if (auto slash = encoded.find('/'); slash != std::string::npos) encoded.replace(slash, 1, "%2f");
  req.url = upstream_.config.url + "/" + encoded;
  req.headers.push_back({"Accept", "application/json"});
  if (known_ && !known_->upstreamEtag.empty()) {
    req.headers.push_back({"If-None-Match", known_->upstreamEtag});
  }
  if (upstream_.config.auth)
    req.headers.push_back({"Authorization", basicAuth(*upstream_.config.auth)});
  req.connectTimeoutMs = upstream_.config.connectTimeoutMs;
  req.idleTimeoutMs = upstream_.config.idleTimeoutMs;
  svc_.countUpstreamRequest(upstream_, "packument");
  std::weak_ptr<PackumentFetch> weak = shared_from_this();
  HttpClient* http = &svc_.http();
  transfer_ = fetchBuffered(
      [http, req](HttpCallbacks cb) { return http->start(req, std::move(cb)); }, kMaxPackumentBytes,
      [weak, name, mountUrl](BufferedResponse r) {
        auto self = weak.lock();
        if (!self) return;
        self->svc_.recordOutcome(self->upstream_, r.status, r.error, r.head.header("retry-after"));
        PackumentResult result;
        result.upstreamStatus = r.status;
        result.error = r.error;
        result.message = r.message;
        result.retryAfter = std::string(r.head.header("retry-after"));
        BlobStore* store = &self->svc_.store().store();
        const Millis now = self->svc_.clock()->nowMs();
        const Millis ttl = static_cast<Millis>(self->upstream_.config.manifestTtlMs);
        if (r.error == FetchError::None && r.status == 304 && self->known_) {
          auto renewed = std::make_shared<PackumentEntry>(*self->known_);
          renewed->fetchedMs = now;
          std::string key = self->refKey_;
          std::string anyKey = self->anyMountKey_;
          self->work_ = runOffLoop<bool>(
              self->svc_.loop(),
              [store, key, anyKey, now] {
                return touchPackument(*store, key, now) && touchPackument(*store, anyKey, now);
              },
              [weak, renewed, result](bool) mutable {
                auto s = weak.lock();
                if (!s) return;
                s->svc_.metrics().add("hoard_revalidations_total{result=\"unchanged\"}");
                result.entry = renewed;
                s->complete(std::move(result));
              });
          return;
        }
        if (r.error != FetchError::None || r.status != 200) {
          self->complete(std::move(result));
          return;
        }
        auto body = std::make_shared<std::string>(std::move(r.body));
        std::string etag(r.head.header("etag"));
        std::string key = self->refKey_;
        using R = std::expected<PackumentEntryPtr, std::string>;
        self->work_ = runOffLoop<R>(
            self->svc_.loop(),
            [store, key, anyKey = self->anyMountKey_, body, name, mountUrl, etag, now, ttl]() -> R {
              auto doc = rewritePackument(*body, name, mountUrl);
              if (!doc) return std::unexpected(doc.error());
              return storePackument(*store, key, anyKey, *body, *doc, etag, now, ttl);
            },
            [weak, result](R stored) mutable {
              auto s = weak.lock();
              if (!s) return;
              if (stored) {
                result.entry = *stored;
              } else {
                result.upstreamStatus = 502;
                result.message = stored.error();
              }
              s->complete(std::move(result));
            });
      });
}

void PackumentFetch::complete(PackumentResult result) {
  auto self = shared_from_this();
  auto& table = svc_.fetches();
  if (auto it = table.find(refKey_); it != table.end() && it->second.get() == this) {
    table.erase(it);
  }
  if (result.entry) {
    auto& entries = svc_.entries();
    // A crude bound (4096 entries, each holding at most 4 x 32 KiB in memory);
    // dropped entries reload from disk.
    if (entries.size() > 4096) entries.clear();
    entries[refKey_] = result.entry;
    entries[anyMountKey_] = result.entry;
  }
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& [id, w] : waiters) w(result);
}

}  // namespace hoard::npm
