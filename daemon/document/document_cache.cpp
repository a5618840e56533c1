#include "daemon/document/document_cache.h"

#include "cache/off_loop.h"
#include "upstream/basic_auth.h"
#include "upstream/buffered_fetch.h"

namespace hoard {

class DocumentCache::Fetch : public std::enable_shared_from_this<DocumentCache::Fetch> {
 public:
  Fetch(DocumentCache& cache, DocumentKeys keys, DocumentEntryPtr known, DocumentSource source)
      : cache_(cache),
        keys_(std::move(keys)),
        known_(std::move(known)),
        source_(std::move(source)) {}

  CancelHandle join(Waiter waiter) {
    auto id = nextId_++;
    waiters_.emplace(id, std::move(waiter));
    std::weak_ptr<Fetch> weak = shared_from_this();
    return CancelHandle([weak, id] {
      if (auto f = weak.lock()) f->waiters_.erase(id);
    });
  }

  void start() {
    HttpRequest req = source_.request;
    if (known_ && !known_->upstreamEtag.empty()) {
      req.headers.push_back({"If-None-Match", known_->upstreamEtag});
    } else if (known_ && !known_->upstreamLastModified.empty()) {
      req.headers.push_back({"If-Modified-Since", known_->upstreamLastModified});
    }
    cache_.metrics().add("hoard_upstream_requests_total{upstream=\"" + source_.upstreamName +
                         "\",kind=\"" + source_.kind + "\"}");
    std::weak_ptr<Fetch> weak = shared_from_this();
    HttpClient* http = cache_.deps_.http;
    transfer_ = fetchBuffered(
        [http, req](HttpCallbacks cb) { return http->start(req, std::move(cb)); }, source_.maxBytes,
        [weak](BufferedResponse r) {
          if (auto self = weak.lock()) self->onResponse(std::move(r));
        });
  }

  void cancel() {
    transfer_ = {};
    work_.cancel();
    waiters_.clear();
  }

 private:
  void onResponse(BufferedResponse r) {
    if (source_.recordOutcome)
      source_.recordOutcome(r.status, r.error, r.head.header("retry-after"));
    DocumentResult result;
    result.upstreamStatus = r.status;
    result.error = r.error;
    result.message = r.tooLarge
                         ? "document larger than " + std::to_string(source_.maxBytes) + " bytes"
                         : r.message;
    result.retryAfter = std::string(r.head.header("retry-after"));
    BlobStore* store = &cache_.store().store();
    const Millis now = cache_.clock()->nowMs();
    std::weak_ptr<Fetch> weak = shared_from_this();
    if (r.error == FetchError::None && r.status == 304 && known_) {
      auto renewed = std::make_shared<DocumentEntry>(*known_);
      renewed->fetchedMs = now;
      work_ = runOffLoop<bool>(
          cache_.loop(), [store, keys = keys_, now] { return touchDocument(*store, keys, now); },
          [weak, renewed, result](bool) mutable {
            auto self = weak.lock();
            if (!self) return;
            self->cache_.metrics().add("hoard_revalidations_total{result=\"unchanged\"}");
            result.entry = renewed;
            self->complete(result);
          });
      return;
    }
    if (r.error != FetchError::None || r.status != 200 || r.tooLarge) {
      if (r.tooLarge) result.upstreamStatus = 502;
      complete(result);
      return;
    }
    auto body = std::make_shared<std::string>(std::move(r.body));
    UpstreamValidators validators{std::string(r.head.header("etag")),
                                  std::string(r.head.header("last-modified"))};
    // Rendering refuses what the upstream sent (bad JSON, a go.mod whose
    // hash the checksum database contradicts); storing can fail on I/O.
    struct Outcome {
      DocumentEntryPtr entry;
      bool rejected = false;
      std::string error;
    };
    work_ = runOffLoop<Outcome>(
        cache_.loop(),
        [store, keys = keys_, body, render = source_.render, validators, now,
         ttl = source_.ttlMs]() -> Outcome {
          auto rendered = render(*body);
          if (!rendered) return {nullptr, true, rendered.error()};
          auto stored = storeDocument(*store, keys, *body, *rendered, validators, now, ttl);
          if (!stored) return {nullptr, false, stored.error()};
          return {*stored, false, {}};
        },
        [weak, result](const Outcome& outcome) mutable {
          auto self = weak.lock();
          if (!self) return;
          if (outcome.entry) {
            result.entry = outcome.entry;
          } else {
            result.upstreamStatus = 502;
            result.rejected = outcome.rejected;
            result.message = outcome.error;
          }
          self->complete(result);
        });
  }

  void complete(const DocumentResult& result) {
    auto self = shared_from_this();  // the table entry may be the last owner
    auto& table = cache_.fetches_;
    if (auto it = table.find(keys_.ref); it != table.end() && it->second.get() == this) {
      table.erase(it);
    }
    if (result.entry) cache_.remember(keys_, result.entry);
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& [id, w] : waiters) w(result);
  }

  DocumentCache& cache_;
  DocumentKeys keys_;
  DocumentEntryPtr known_;
  DocumentSource source_;
  HttpClient::Handle transfer_;
  CancelHandle work_;
  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, Waiter> waiters_;
};

DocumentSource upstreamDocument(const FrontUpstream& upstream, std::string url, std::string kind,
                                OutcomeRecorder recordOutcome, bool withCredentials) {
  DocumentSource src;
  src.request.url = std::move(url);
  if (withCredentials && upstream.config.auth) {
    src.request.headers.push_back(
        {"Authorization",
         basicAuthorization(upstream.config.auth->username, upstream.config.auth->password)});
  }
  src.request.connectTimeoutMs = upstream.config.connectTimeoutMs;
  src.request.idleTimeoutMs = upstream.config.idleTimeoutMs;
  src.ttlMs = static_cast<Millis>(upstream.config.manifestTtlMs);
  src.recordOutcome = std::move(recordOutcome);
  src.upstreamName = upstream.config.name;
  src.kind = std::move(kind);
  return src;
}

DocumentCache::~DocumentCache() {
  cancelAll();
}

DocumentEntryPtr DocumentCache::remembered(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second;
}

void DocumentCache::remember(const DocumentKeys& keys, const DocumentEntryPtr& entry) {
  // A crude bound: each entry holds at most a few small variants in memory;
  // dropped entries reload from disk.
  if (entries_.size() >= maxEntries_) entries_.clear();
  entries_[keys.ref] = entry;
  entries_[keys.any] = entry;
}

CancelHandle DocumentCache::load(const DocumentKeys& keys, RenderFn rebuild,
                                 std::function<void(DocumentEntryPtr)> done) {
  BlobStore* store = &deps_.store->store();
  return runOffLoop<std::optional<DocumentEntryPtr>>(
      deps_.loop,
      [store, keys, rebuild = std::move(rebuild)] {
        if (auto entry = loadDocument(*store, keys.ref)) return entry;
        return rebuildDocument(*store, keys, rebuild);
      },
      [this, keys, done = std::move(done)](std::optional<DocumentEntryPtr> loaded) {
        if (loaded) remember(keys, *loaded);
        done(loaded ? *loaded : nullptr);
      });
}

CancelHandle DocumentCache::fetch(const DocumentKeys& keys, DocumentEntryPtr known,
                                  DocumentSource source, Waiter waiter) {
  if (auto it = fetches_.find(keys.ref); it != fetches_.end()) {
    return it->second->join(std::move(waiter));
  }
  auto f = std::make_shared<Fetch>(*this, keys, std::move(known), std::move(source));
  fetches_.emplace(keys.ref, f);
  auto handle = f->join(std::move(waiter));
  f->start();
  return handle;
}

void DocumentCache::cancelAll() {
  auto fetches = std::move(fetches_);
  fetches_.clear();
  for (auto& [key, f] : fetches) f->cancel();
}

}  // namespace hoard
