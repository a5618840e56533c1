// GET /v2/<name>/referrers/<digest>[?artifactType=]
//
// OCI 1.1 referrers. Passed through when the upstream offers the API; when it
// does not (404, as registries without OCI 1.1 answer), hoard answers the
// spec's "no referrers": an empty image index, never a 404, so clients that
// probe for signatures and SBOMs carry on.
#include <memory>

#include "daemon/oci/document_request.h"
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
std::string encodeMediaType(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '/') {
      out += "%2F";
    } else if (c == '+') {
      out += "%2B";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool validArtifactType(std::string_view v) {
  if (v.empty() || v.size() > 255 || v.find('/') == std::string_view::npos) return false;
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '+' || c == '-' || c == '_' || c == '/';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

void handleReferrers(OciService& svc, http::Exchange& ex, const OciPath& path, OciTarget target) {
  DocumentSpec spec;
  spec.request.path = "/v2/" + target.repository + "/referrers/" + path.digest->str();
  if (auto raw = queryParam(ex.request().query, "artifactType"); !raw.empty()) {
    // Go clients escape '/' and '+': validate the decoded media type, then
    // send upstream an encoding hoard produced itself.
    auto decoded = percentDecode(raw);
    if (!decoded || !validArtifactType(*decoded)) {
      respondError(ex, 400, ErrorCode::Unsupported, "invalid artifactType");
      return;
    }
    spec.request.query = "artifactType=" + encodeMediaType(*decoded);
  }
  spec.cacheKey = "referrers/" + target.upstream->config.name + "/" + target.repository + "@" +
                  path.digest->str() + "?" + spec.request.query;
  spec.request.accept = std::string(kOciIndex);
  spec.request.scope = "repository:" + target.repository + ":pull";
  spec.maxBytes = kMaxReferrersBytes;
  spec.kind = "referrers";
  spec.subject = "referrers of " + path.digest->str();
  spec.notFoundCode = ErrorCode::ManifestUnknown;
  spec.accept = [](const SmallResponse& r) -> std::optional<CachedDocument> {
    CachedDocument doc;
    doc.contentType = std::string(kOciIndex);
    if (r.status == 200) {
      doc.body = r.body;
      if (auto f = r.head.header("oci-filters-applied"); !f.empty()) {
        doc.headers.emplace_back("OCI-Filters-Applied", std::string(f));
      }
      return doc;
    }
    if (r.status == 404) {  // no referrers API upstream: the spec's "none"
      doc.body = std::string(kEmptyIndex);
      return doc;
    }
    return std::nullopt;
  };
  http::startContext<DocumentRequest>(ex, svc, ex, std::move(target), std::move(spec));
}

}  // namespace hoard::oci
