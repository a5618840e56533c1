#include "daemon/oci/document_request.h"

#include "daemon/oci/responses.h"

namespace hoard::oci {

void DocumentRequest::start() {
  ex_.setLogField("upstream", target_.upstream->config.name);
  cached_ = svc_.manifests().document(spec_.cacheKey);
  const Millis now = svc_.clock()->nowMs();
  if (cached_ && now - cached_->fetchedMs < cached_->ttlMs) {
    serve(*cached_, "hit");
    return;
  }
  auto& upstream = *target_.upstream;
  auto gate = svc_.admit(upstream);
  if (gate != UpstreamGate::Allow && gate != UpstreamGate::Probe) {
    if (cached_ && (gate == UpstreamGate::Offline || staleAllowed())) {
      serve(*cached_, "stale");
      return;
    }
    respondGateClosed(ex_, gate, upstream.config.name, upstream.health->retryAfterMs(),
                      spec_.notFoundCode, spec_.subject);
    return;
  }
  svc_.countUpstreamRequest(upstream, spec_.kind);
  transfer_ = fetchSmall(*upstream.client, spec_.request, spec_.maxBytes,
                         [this](const SmallResponse& r) { onResponse(r); });
}

void DocumentRequest::onResponse(const SmallResponse& r) {
  svc_.recordOutcome(*target_.upstream, r.status, r.error, r.head.header("retry-after"));
  if (r.error == FetchError::None) {
    if (auto doc = spec_.accept(r)) {
      doc->fetchedMs = svc_.clock()->nowMs();
      doc->ttlMs = static_cast<Millis>(target_.upstream->config.manifestTtlMs);
      auto shared = std::make_shared<const CachedDocument>(std::move(*doc));
      svc_.manifests().putDocument(spec_.cacheKey, shared);
      serve(*shared, "miss");
      return;
    }
  }
  bool upstreamDown = r.error != FetchError::None || r.status == 429 || r.status >= 500;
  if (cached_ && upstreamDown && staleAllowed()) {
    serve(*cached_, "stale");
    return;
  }
  respondUpstreamFailure(ex_, static_cast<int>(r.status), r.error, spec_.notFoundCode,
                         spec_.subject, r.head.header("retry-after"));
}

bool DocumentRequest::staleAllowed() const {
  return staleServable(svc_.clock()->nowMs(), cached_->fetchedMs, cached_->ttlMs,
                       target_.upstream->config.maxStaleMs);
}

void DocumentRequest::serve(const CachedDocument& doc, const char* result) {
  ex_.setLogField("cache", result);
  if (std::string_view(result) == "stale") {
    svc_.metrics().add("hoard_stale_served_total{upstream=\"" + target_.upstream->config.name +
                       "\"}");
  }
  auto headers = target_.responseHeaders();
  headers.push_back({"Content-Type", doc.contentType});
  for (const auto& [k, v] : doc.headers) headers.push_back({k, v});
  ex_.respond(200, std::move(headers), doc.body);
}

}  // namespace hoard::oci
