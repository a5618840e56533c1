// GET|HEAD /npm/<name>/-/<file>.tgz (and the scoped forms)
//
// The packument names the tarball and its digest (dist.integrity sha512, or
// the sha1 shasum when that is all there is); the shared named-file path
// (daemon/document/named_file.h) does the rest. Tarballs are small and npm
// reports a cut-off body as a network problem, so they are held until
// verified: a mismatch reaches npm as a clear integrity error.
#include <cstdint>

#include "daemon/document/named_file.h"
#include "daemon/npm/packument_source.h"
#include "daemon/npm/service.h"

namespace hoard::npm {

void handleTarball(NpmService& svc, http::Exchange& ex, const NpmPath& path,
                   FrontUpstream& upstream) {
  std::string mountUrl = svc.mountUrl(ex.request());
  if (mountUrl.empty()) {
    respondNpmError(ex, 400, "unusable Host header");
    return;
  }
  NamedFileStyle style;
  style.respondError = [](http::Exchange& e, int status, std::string_view message,
                          http::Headers extra) {
    respondNpmError(e, status, message, std::move(extra));
  };
  style.fileNoun = "tarball";
  style.documentNoun = "packument";
  style.holdBelowBytes = UINT64_MAX;
  NamedFileServices services{svc.blobServices(), &svc.http(), &svc.documents(),
                             svc.outcomeRecorder(upstream), svc.requestPolicy(path)};
  auto source = [&svc, &upstream, name = path.name, mountUrl] {
    return packumentSource(upstream, name, mountUrl, svc.outcomeRecorder(upstream));
  };
  http::startContext<NamedFileRequest>(ex, std::move(services), ex, upstream, std::move(style),
                                       packumentKeys(upstream, path.name, mountUrl), path.file,
                                       std::move(source), path.name);
}

}  // namespace hoard::npm
