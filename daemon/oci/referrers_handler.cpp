// GET /v2/<name>/referrers/<digest>[?artifactType=]
//
// OCI 1.1 referrers. Passed through when the upstream offers the API; when it
// does not (404, as registries without OCI 1.1 answer), hoard answers the
// spec's "no referrers": an empty image index, never a 404, so clients that
// probe for signatures and SBOMs carry on.
#include <memory>

#include "daemon/oci/media_types.h"
#include "daemon/oci/responses.h"
#include "daemon/oci/service.h"
#include "daemon/oci/small_fetch.h"

namespace hoard::oci {

namespace {

constexpr std::size_t kMaxReferrersBytes = 4 * 1024 * 1024;
constexpr std::string_view kEmptyIndex =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})";

// artifactType is a media type: type "/" subtype, from a conservative charset.
bool validArtifactType(std::string_view v) {
  if (v.empty() || v.size() > 255 || v.find('/') == std::string_view::npos) return false;
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '+' || c == '-' || c == '_' || c == '/' || c == '%';
    if (!ok) return false;
  }
  return true;
}

class ReferrersRequest final : public http::RequestContext {
 public:
  ReferrersRequest(OciService& svc, http::Exchange& ex, OciPath path, OciTarget target)
      : svc_(svc), ex_(ex), path_(std::move(path)), target_(std::move(target)) {}

  void start() {
    ex_.setLogField("upstream", target_.upstream->config.name);
    OciRequest req;
    req.path = "/v2/" + target_.repository + "/referrers/" + path_.digest->str();
    auto artifactType = queryParam(ex_.request().query, "artifactType");
    if (!artifactType.empty()) {
      if (!validArtifactType(artifactType)) {
        respondError(ex_, 400, ErrorCode::Unsupported, "invalid artifactType");
        return;
      }
      req.query = "artifactType=" + std::string(artifactType);
    }
    req.accept = std::string(kOciIndex);
    req.scope = "repository:" + target_.repository + ":pull";
    svc_.metrics().add("hoard_upstream_requests_total{upstream=\"" + target_.upstream->config.name +
                       "\",kind=\"referrers\"}");
    transfer_ = fetchSmall(*target_.upstream->client, std::move(req), kMaxReferrersBytes,
                           [this](SmallResponse r) { onResponse(std::move(r)); });
  }

 private:
  void onResponse(SmallResponse r) {
    ex_.setLogField("cache", "miss");
    auto headers = target_.responseHeaders();
    headers.push_back({"Content-Type", std::string(kOciIndex)});
    if (r.error == FetchError::None && r.status == 200) {
      if (auto filtered = r.head.header("oci-filters-applied"); !filtered.empty()) {
        headers.push_back({"OCI-Filters-Applied", std::string(filtered)});
      }
      ex_.respond(200, std::move(headers), std::move(r.body));
      return;
    }
    if (r.error == FetchError::None && r.status == 404) {
      ex_.respond(200, std::move(headers), std::string(kEmptyIndex));
      return;
    }
    respondUpstreamFailure(ex_, static_cast<int>(r.status), r.error, ErrorCode::ManifestUnknown,
                           "referrers of " + path_.digest->str(), r.head.header("retry-after"));
  }

  OciService& svc_;
  http::Exchange& ex_;
  OciPath path_;
  OciTarget target_;
  HttpClient::Handle transfer_;
};

}  // namespace

void handleReferrers(OciService& svc, http::Exchange& ex, const OciPath& path, OciTarget target) {
  auto ctx = std::make_unique<ReferrersRequest>(svc, ex, path, std::move(target));
  auto* raw = ctx.get();
  ex.setContext(std::move(ctx));
  raw->start();
}

}  // namespace hoard::oci
