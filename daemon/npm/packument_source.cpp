#include "daemon/npm/packument_source.h"

#include "daemon/npm/packument.h"

namespace hoard::npm {

DocumentKeys packumentKeys(const FrontUpstream& upstream, const std::string& name,
                           const std::string& mountUrl) {
  std::string any = "npm/" + upstream.config.name + "/" + name;
  return {any + "@" + mountUrl, any};
}

RenderFn packumentRenderer(std::string name, std::string mountUrl) {
  return [name = std::move(name), mountUrl = std::move(mountUrl)](
             std::string_view raw) -> std::expected<RenderedDocument, std::string> {
    auto doc = rewritePackument(raw, name, mountUrl);
    if (!doc) return std::unexpected(doc.error());
    RenderedDocument out;
    out.variants.push_back({kFull, "application/json", std::move(doc->full)});
    out.variants.push_back({kFullGzip, "application/gzip", std::move(doc->fullGzip)});
    out.variants.push_back({kCorgi, "application/vnd.npm.install-v1+json", std::move(doc->corgi)});
    out.variants.push_back({kCorgiGzip, "application/gzip", std::move(doc->corgiGzip)});
    out.files = std::move(doc->tarballs);
    return out;
  };
}

DocumentSource packumentSource(const FrontUpstream& upstream, const std::string& name,
                               const std::string& mountUrl, OutcomeRecorder recordOutcome) {
  std::string encoded = name;
  if (auto slash = encoded.find('/'); slash != std::string::npos) encoded.replace(slash, 1, "%2f");
  DocumentSource src = upstreamDocument(upstream, upstream.config.url + "/" + encoded, "packument",
                                        std::move(recordOutcome));
  src.request.headers.push_back({"Accept", "application/json"});
  src.render = packumentRenderer(name, mountUrl);
  return src;
}

}  // namespace hoard::npm
