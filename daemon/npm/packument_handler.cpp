// GET|HEAD /npm/<name> (and the scoped spellings)
//
// Fresh entry -> the stored variant is sent with sendfile: full JSON by
// default, the abbreviated document when Accept prefers
// application/vnd.npm.install-v1+json, gzip copies to clients that accept
// gzip. ETag is the variant's digest; If-None-Match -> 304. Expired -> one
// conditional upstream GET for everyone (304 renews). Upstream failing ->
// stale within max_stale. Never turns a transient failure into a 404 (npm
// treats 404 as final): those get 502/503/504.
#include <memory>

#include "cache/off_loop.h"
#include "daemon/npm/packument_fetch.h"
#include "daemon/npm/service.h"

namespace hoard::npm {

namespace {

bool prefersCorgi(std::string_view accept) {
  auto at = accept.find("application/vnd.npm.install-v1+json");
  if (at == std::string_view::npos) return false;
  auto item = accept.substr(at, accept.find(',', at) - at);
  return item.find("q=0,") == std::string_view::npos && !item.ends_with("q=0") &&
         !item.ends_with("q=0.0");
}

bool acceptsGzip(std::string_view acceptEncoding) {
  return acceptEncoding.find("gzip") != std::string_view::npos;
}

bool etagMatches(std::string_view ifNoneMatch, const std::string& etag) {
  return ifNoneMatch == "*" || ifNoneMatch.find(etag) != std::string_view::npos;
}

class PackumentRequest final : public http::RequestContext {
 public:
  PackumentRequest(NpmService& svc, http::Exchange& ex, NpmPath path, NpmUpstream& upstream)
      : svc_(svc), ex_(ex), path_(std::move(path)), upstream_(upstream) {}

  ~PackumentRequest() override {
    if (fd_ >= 0) svc_.store().closeFd(fd_);
  }

  void start() {
    mountUrl_ = svc_.mountUrl(ex_.request());
    if (mountUrl_.empty()) {
      respondNpmError(ex_, 400, "unusable Host header");
      return;
    }
    refKey_ = packumentKey(upstream_, path_.name, mountUrl_);
    if (auto it = svc_.entries().find(refKey_); it != svc_.entries().end()) {
      onEntry(it->second);
      return;
    }
    BlobStore* store = &svc_.store().store();
    std::string key = refKey_;
    std::string anyKey = anyMountKey(upstream_, path_.name);
    std::string name = path_.name;
    std::string mount = mountUrl_;
    pending_ = runOffLoop<std::optional<PackumentEntryPtr>>(
        svc_.loop(),
        [store, key, anyKey, name, mount] {
          if (auto entry = loadPackument(*store, key)) return entry;
          return rebuildPackument(*store, key, anyKey, name, mount);
        },
        [this](std::optional<PackumentEntryPtr> loaded) {
          if (!loaded) {
            refresh();
            return;
          }
          svc_.entries()[refKey_] = *loaded;
          onEntry(*loaded);
        });
  }

 private:
  void onEntry(const PackumentEntryPtr& entry) {
    known_ = entry;
    if (svc_.clock()->nowMs() - entry->fetchedMs < entry->ttlMs) {
      serve(entry, "hit");
    } else {
      refresh();
    }
  }

  bool staleAllowed() const {
    return staleServable(svc_.clock()->nowMs(), known_->fetchedMs, known_->ttlMs,
                         upstream_.config.maxStaleMs);
  }

  void refresh() {
    if (!PackumentFetch::running(svc_, refKey_)) {
      auto gate = svc_.admit(upstream_);
      if (gate != UpstreamGate::Allow && gate != UpstreamGate::Probe) {
        if (known_ && (gate == UpstreamGate::Offline || staleAllowed())) {
          serve(known_, "stale");
          return;
        }
        auto wait = std::to_string((upstream_.health->retryAfterMs() + 999) / 1000);
        respondNpmError(
            ex_, 503,
            path_.name + " is not cached and upstream " + upstream_.config.name +
                (gate == UpstreamGate::Offline ? " is offline"
                                               : " is unavailable; retry in " + wait + " s"),
            gate == UpstreamGate::Offline ? http::Headers{} : http::Headers{{"Retry-After", wait}});
        return;
      }
    }
    pending_ = PackumentFetch::join(svc_, upstream_, path_.name, mountUrl_, refKey_, known_,
                                    [this](const PackumentResult& r) { onFetched(r); });
  }

  void onFetched(const PackumentResult& r) {
    if (r.entry) {
      serve(r.entry, r.upstreamStatus == 304 ? "revalidated" : "miss");
      return;
    }
    bool down = r.error != FetchError::None || r.upstreamStatus == 429 || r.upstreamStatus >= 500;
    if (known_ && down && staleAllowed()) {
      svc_.metrics().add("hoard_stale_served_total{upstream=\"" + upstream_.config.name + "\"}");
      serve(known_, "stale");
      return;
    }
    ex_.setLogField("cache", "miss");
    if (r.error == FetchError::None && r.upstreamStatus == 404) {
      respondNpmError(ex_, 404, "Not found: " + path_.name);
    } else if (r.error == FetchError::Timeout) {
      respondNpmError(ex_, 504, "upstream " + upstream_.config.name + " timed out");
    } else if (r.upstreamStatus == 429) {
      respondNpmError(ex_, 503, "upstream " + upstream_.config.name + " is rate-limiting",
                      {{"Retry-After", r.retryAfter.empty() ? "60" : r.retryAfter}});
    } else {
      std::string why = r.error != FetchError::None ? std::string(fetchErrorName(r.error))
                                                    : "status " + std::to_string(r.upstreamStatus);
      if (!r.message.empty()) why += ": " + r.message;
      respondNpmError(ex_, 502, "upstream " + upstream_.config.name + " failed (" + why + ")");
    }
  }

  void serve(const PackumentEntryPtr& entry, const char* result) {
    const bool corgi = prefersCorgi(ex_.request().header("accept"));
    const bool gzip = acceptsGzip(ex_.request().header("accept-encoding"));
    const Digest& d =
        corgi ? (gzip ? entry->corgiGzip : entry->corgi) : (gzip ? entry->fullGzip : entry->full);
    ex_.setLogField("cache", result);
    http::Headers h;
    h.push_back({"Content-Type", corgi ? "application/vnd.npm.install-v1+json; charset=utf-8"
                                       : "application/json; charset=utf-8"});
    h.push_back({"Vary", "Accept, Accept-Encoding"});
    h.push_back({"ETag", "\"" + d.str() + "\""});
    if (gzip) h.push_back({"Content-Encoding", "gzip"});
    if (etagMatches(ex_.request().header("if-none-match"), "\"" + d.str() + "\"")) {
      ex_.sendHead(304, std::move(h), 0);
      ex_.finish();
      return;
    }
    const auto& inMemory = corgi ? (gzip ? entry->corgiGzipBytes : entry->corgiBytes)
                                 : (gzip ? entry->fullGzipBytes : entry->fullBytes);
    if (inMemory) {
      ex_.sendHead(200, std::move(h), inMemory->size());
      if (!ex_.isHead()) ex_.sendBody(*inMemory);
      ex_.finish();
      return;
    }
    pending_ = svc_.store().open(
        d, "application/json",
        [this, h = std::move(h), entry, result](std::expected<OpenBlob, StoreError> r) mutable {
          if (!r) {
            // Evicted underneath the entry: forget it and fetch afresh, once.
            svc_.entries().erase(refKey_);
            if (retried_) {
              respondNpmError(ex_, 500, "stored packument is missing");
              return;
            }
            retried_ = true;
            known_.reset();
            refresh();
            return;
          }
          fd_ = r->fd;
          ex_.sendHead(200, std::move(h), r->meta.size);
          if (!ex_.isHead()) ex_.sendFile(fd_, 0, r->meta.size);
          ex_.finish();
        });
  }

  NpmService& svc_;
  http::Exchange& ex_;
  NpmPath path_;
  NpmUpstream& upstream_;
  std::string mountUrl_;
  std::string refKey_;
  PackumentEntryPtr known_;
  CancelHandle pending_;
  int fd_ = -1;
  bool retried_ = false;
};

}  // namespace

void handlePackument(NpmService& svc, http::Exchange& ex, const NpmPath& path,
                     NpmUpstream& upstream) {
  http::startContext<PackumentRequest>(ex, svc, ex, path, upstream);
}

}  // namespace hoard::npm
