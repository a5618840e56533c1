// GET|HEAD /pypi/files/<project>/<filename> (wheels, sdists) and
// /pypi/files/<project>/<filename>.metadata (PEP 658 core metadata)
//
// The project page names each file, its upstream URL and its sha256; the
// shared named-file path does the rest (coalesced fill, verification before
// completion, Range and HEAD, sendfile on hits). Files up to 64 MiB are held
// until verified so a mismatch is a clear 502 rather than a cut connection;
// bigger wheels stream (pip gives up on a silent connection after 15 s).
#include "daemon/document/named_file.h"
#include "daemon/pypi/service.h"

namespace hoard::pypi {

namespace {
constexpr std::uint64_t kHoldBelowBytes = 64 * 1024 * 1024;
}

void handleFile(PypiService& svc, http::Exchange& ex, const PypiPath& path,
                FrontUpstream& upstream) {
  const std::string project = normalizeProject(path.project);
  NamedFileStyle style;
  style.respondError = [](http::Exchange& e, int status, std::string_view message,
                          http::Headers extra) {
    respondPypiError(e, status, message, std::move(extra));
  };
  style.fileNoun = "file";
  style.documentNoun = "project page";
  style.contentType =
      path.file.ends_with(".metadata") ? "text/plain; charset=utf-8" : "application/octet-stream";
  style.holdBelowBytes = kHoldBelowBytes;
  NamedFileServices services{svc.blobServices(), &svc.http(), &svc.documents(),
                             svc.outcomeRecorder(upstream), svc.requestPolicy(project, path.file)};
  auto source = [&svc, &upstream, project] {
    return pageSource(upstream, project, svc.outcomeRecorder(upstream));
  };
  http::startContext<NamedFileRequest>(ex, std::move(services), ex, upstream, std::move(style),
                                       pageKeys(upstream, project), path.file, std::move(source),
                                       project);
}

}  // namespace hoard::pypi
