#include "daemon/document/document_request.h"

namespace hoard {

bool etagMatches(std::string_view ifNoneMatch, std::string_view etag) {
  return ifNoneMatch == "*" || ifNoneMatch.find(etag) != std::string_view::npos;
}

DocumentRequest::~DocumentRequest() {
  if (fd_ >= 0) cache_.store().closeFd(fd_);
}

void DocumentRequest::begin(DocumentKeys keys) {
  keys_ = std::move(keys);
  if (auto entry = cache_.remembered(keys_.ref)) {
    onEntry(entry);
    return;
  }
  pending_ = cache_.load(keys_, rebuildRender(), [this](const DocumentEntryPtr& loaded) {
    if (loaded) {
      onEntry(loaded);
    } else {
      refresh();
    }
  });
}

void DocumentRequest::onEntry(const DocumentEntryPtr& entry) {
  known_ = entry;
  if (entry->freshAt(cache_.clock()->nowMs())) {
    serve(entry, "hit");
  } else {
    refresh();
  }
}

bool DocumentRequest::staleAllowed() const {
  return staleServable(cache_.clock()->nowMs(), known_->fetchedMs, known_->ttlMs,
                       upstream_.config.maxStaleMs);
}

void DocumentRequest::refresh() {
  if (policy_.policy && !policy_.policy->allowed(policy_.subject)) {
    if (known_) {
      serve(known_, "stale");
      return;
    }
    policy::refuseIfUnlisted(policy_.policy, cache_.metrics(), ex_, policy_.subject,
                             policy_.refuse);
    return;
  }
  if (!cache_.fetching(keys_.ref)) {
    auto gate = upstream_.health->admit();
    if (gate != UpstreamGate::Allow && gate != UpstreamGate::Probe) {
      if (known_ && (gate == UpstreamGate::Offline || staleAllowed())) {
        serve(known_, "stale");
        return;
      }
      auto wait = std::to_string((upstream_.health->retryAfterMs() + 999) / 1000);
      const bool offline = gate == UpstreamGate::Offline;
      respondError(503,
                   subject() + " is not cached and upstream " + upstream_.config.name +
                       (offline ? " is offline" : " is unavailable; retry in " + wait + " s"),
                   offline ? http::Headers{} : http::Headers{{"Retry-After", wait}});
      return;
    }
  }
  if (cache_.fetching(keys_.ref)) {
    fetch();
    return;
  }
  prepareFetch([this] { fetch(); });
}

void DocumentRequest::fetch() {
  pending_ =
      cache_.fetch(keys_, known_, source(), [this](const DocumentResult& r) { onFetched(r); });
}

void DocumentRequest::onFetched(const DocumentResult& r) {
  if (r.entry) {
    serve(r.entry, r.upstreamStatus == 304 ? "revalidated" : "miss");
    return;
  }
  bool down = r.error != FetchError::None || r.upstreamStatus == 429 || r.upstreamStatus >= 500;
  if (known_ && down && staleAllowed()) {
    cache_.metrics().add("hoard_stale_served_total{upstream=\"" + upstream_.config.name + "\"}");
    serve(known_, "stale");
    return;
  }
  ex_.setLogField("cache", "miss");
  if (r.rejected) {
    respondRejected(r.message);
  } else if (r.error == FetchError::None && (r.upstreamStatus == 404 || r.upstreamStatus == 410)) {
    respondNotFound(r.upstreamStatus);
  } else if (r.error == FetchError::Timeout) {
    respondError(504, "upstream " + upstream_.config.name + " timed out", {});
  } else if (r.upstreamStatus == 429) {
    respondError(503, "upstream " + upstream_.config.name + " is rate-limiting",
                 {{"Retry-After", r.retryAfter.empty() ? "60" : r.retryAfter}});
  } else {
    std::string why = r.error != FetchError::None ? std::string(fetchErrorName(r.error))
                                                  : "status " + std::to_string(r.upstreamStatus);
    if (!r.message.empty()) why += ": " + r.message;
    respondError(502, "upstream " + upstream_.config.name + " failed (" + why + ")", {});
  }
}

void DocumentRequest::respondRejected(const std::string& why) {
  respondError(502, "upstream " + upstream_.config.name + " sent an unusable document: " + why, {});
}

void DocumentRequest::respondNotFound(long /*upstreamStatus*/) {
  respondError(404, "Not found: " + subject(), {});
}

void DocumentRequest::sendVariant(const DocumentEntryPtr& entry, const std::string& name,
                                  http::Headers headers, const char* cacheResult) {
  const StoredVariant* v = entry->variant(name);
  if (!v) {
    respondError(500, "stored document has no " + name + " form", {});
    return;
  }
  ex_.setLogField("cache", cacheResult);
  if (access_ && policy_.policy && policy_.policy->pinned(policy_.subject)) {
    access_->touch(entry->raw.str(), true);
    access_->touch(v->digest.str(), true);
  }
  const std::string etag = "\"" + v->digest.str() + "\"";
  headers.push_back({"ETag", etag});
  if (etagMatches(ex_.request().header("if-none-match"), etag)) {
    ex_.sendHead(304, std::move(headers), 0);
    ex_.finish();
    return;
  }
  if (v->bytes) {
    ex_.sendHead(200, std::move(headers), v->bytes->size());
    if (!ex_.isHead()) ex_.sendBody(*v->bytes);
    ex_.finish();
    return;
  }
  pending_ = cache_.store().open(
      v->digest, "application/octet-stream",
      [this, headers = std::move(headers), entry](std::expected<OpenBlob, StoreError> r) mutable {
        if (!r) {
          // Evicted underneath the entry: forget it and fetch afresh, once.
          cache_.forget(keys_.ref);
          cache_.forget(keys_.any);
          if (retried_) {
            respondError(500, "stored document is missing", {});
            return;
          }
          retried_ = true;
          known_.reset();
          refresh();
          return;
        }
        fd_ = r->fd;
        ex_.sendHead(200, std::move(headers), r->meta.size);
        if (!ex_.isHead()) ex_.sendFile(fd_, 0, r->meta.size);
        ex_.finish();
      });
}

}  // namespace hoard
