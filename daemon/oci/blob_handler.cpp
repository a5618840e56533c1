// GET|HEAD /v2/<name>/blobs/<digest>: the OCI face of serveBlob() -- registry
// headers, OCI error bodies, and the upstream's blob endpoint (redirects to a
// CDN followed; Authorization never forwarded to another host).
#include <memory>

#include "daemon/blob_response.h"
#include "daemon/oci/responses.h"
#include "daemon/oci/service.h"

namespace hoard::oci {

namespace {

class OciBlobOrigin final : public BlobOrigin {
 public:
  OciBlobOrigin(OciService& svc, OciTarget target, std::string digest)
      : svc_(svc), target_(std::move(target)), digest_(std::move(digest)) {}

  http::Headers headers() const override {
    auto h = target_.responseHeaders();
    h.push_back({"Content-Type", "application/octet-stream"});
    h.push_back({"Docker-Content-Digest", digest_});
    h.push_back({"ETag", "\"" + digest_ + "\""});
    return h;
  }

  void respondError(http::Exchange& ex, int status, std::string_view message,
                    http::Headers extra) override {
    ErrorCode code = status == 416 ? ErrorCode::BlobUnknown : ErrorCode::Unsupported;
    auto h = target_.responseHeaders();
    h.push_back({"Content-Type", "application/json"});
    for (auto& e : extra) h.push_back(std::move(e));
    ex.respond(status, std::move(h), errorBody(code, message));
  }

  void respondFillFailure(http::Exchange& ex, int upstreamStatus, std::string_view) override {
    respondUpstreamFailure(ex, upstreamStatus, FetchError::Other, ErrorCode::BlobUnknown,
                           "blob " + digest_);
  }

  bool admit(http::Exchange& ex) override {
    if (svc_.refuseIfUnlisted(ex, subject())) return false;
    auto& upstream = *target_.upstream;
    auto gate = svc_.admit(upstream);
    if (gate == UpstreamGate::Allow || gate == UpstreamGate::Probe) return true;
    respondGateClosed(ex, gate, upstream.config.name, upstream.health->retryAfterMs(),
                      ErrorCode::BlobUnknown, "blob " + digest_);
    return false;
  }

  HttpClient::Handle fetch(HttpCallbacks callbacks) override {
    OciRequest req;
    req.method = "GET";
    req.path = "/v2/" + target_.repository + "/blobs/" + digest_;
    req.accept = "*/*";
    req.scope = "repository:" + target_.repository + ":pull";
    req.followRedirects = true;
    req.isBlob = true;
    svc_.countUpstreamRequest(*target_.upstream, "blob");
    return target_.upstream->client->fetch(std::move(req), std::move(callbacks));
  }

  // A blob of a pinned repository, or named by a pinned manifest.
  bool pinned() const override {
    const auto* policy = svc_.policy();
    return policy && policy->pinned(subject());
  }

  OutcomeRecorder outcomeRecorder() const override {
    OciService* svc = &svc_;
    OciUpstream* upstream = target_.upstream;
    return [svc, upstream](long status, FetchError error, std::string_view retryAfter) {
      svc->recordOutcome(*upstream, status, error, retryAfter);
    };
  }

 private:
  policy::Subject subject() const {
    auto s = target_.subject();
    s.digest = digest_;
    return s;
  }

  OciService& svc_;
  OciTarget target_;
  std::string digest_;
};

}  // namespace

void handleBlob(OciService& svc, http::Exchange& ex, const OciPath& path, OciTarget target) {
  ex.setLogField("upstream", target.upstream->config.name);
  auto digest = path.digest->str();
  serveBlob(svc.blobServices(), ex, *path.digest,
            std::make_unique<OciBlobOrigin>(svc, std::move(target), std::move(digest)));
}

}  // namespace hoard::oci
