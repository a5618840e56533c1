// GET|HEAD /npm/<name> (and the scoped spellings)
//
// The shared document flow (daemon/document/document_request.h) with npm's
// choices: the full JSON by default, the abbreviated document when Accept
// prefers application/vnd.npm.install-v1+json, gzip copies to clients that
// accept gzip, npm-style JSON errors.
#include <memory>

#include "daemon/document/document_request.h"
#include "daemon/npm/packument_source.h"
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

class PackumentRequest final : public DocumentRequest {
 public:
  PackumentRequest(NpmService& svc, http::Exchange& ex, NpmPath path, FrontUpstream& upstream)
      : DocumentRequest(svc.documents(), ex, upstream), svc_(svc), path_(std::move(path)) {}

  void start() {
    mountUrl_ = svc_.mountUrl(ex_.request());
    if (mountUrl_.empty()) {
      respondNpmError(ex_, 400, "unusable Host header");
      return;
    }
    setPolicy(svc_.requestPolicy(path_), svc_.access());
    begin(packumentKeys(upstream_, path_.name, mountUrl_));
  }

 private:
  DocumentSource source() override {
    return packumentSource(upstream_, path_.name, mountUrl_, svc_.outcomeRecorder(upstream_));
  }
  RenderFn rebuildRender() override { return packumentRenderer(path_.name, mountUrl_); }
  std::string subject() const override { return path_.name; }
  void respondError(int status, std::string_view message, http::Headers extra) override {
    respondNpmError(ex_, status, message, std::move(extra));
  }

  void serve(const DocumentEntryPtr& entry, const char* result) override {
    const bool corgi = prefersCorgi(ex_.request().header("accept"));
    const bool gzip = acceptsGzip(ex_.request().header("accept-encoding"));
    http::Headers h;
    h.push_back({"Content-Type", corgi ? "application/vnd.npm.install-v1+json; charset=utf-8"
                                       : "application/json; charset=utf-8"});
    h.push_back({"Vary", "Accept, Accept-Encoding"});
    if (gzip) h.push_back({"Content-Encoding", "gzip"});
    sendVariant(entry, corgi ? (gzip ? kCorgiGzip : kCorgi) : (gzip ? kFullGzip : kFull),
                std::move(h), result);
  }

  NpmService& svc_;
  NpmPath path_;
  std::string mountUrl_;
};

}  // namespace

void handlePackument(NpmService& svc, http::Exchange& ex, const NpmPath& path,
                     FrontUpstream& upstream) {
  http::startContext<PackumentRequest>(ex, svc, ex, path, upstream);
}

}  // namespace hoard::npm
