// GET|HEAD /pypi/simple/ and /pypi/simple/<project>/
//
// The shared document flow (daemon/document/document_request.h) with PyPI's
// choices: PEP 691 negotiation between JSON, v1+html and text/html (406 when
// none is acceptable), gzip copies to clients that accept gzip, plain-text
// errors. Serving stale matters most here: pip turns any error on a project
// page into "No matching distribution".
#include "daemon/document/document_request.h"
#include "daemon/pypi/accept.h"
#include "daemon/pypi/service.h"

namespace hoard::pypi {

namespace {

class PageRequest final : public DocumentRequest {
 public:
  PageRequest(PypiService& svc, http::Exchange& ex, std::string project, FrontUpstream& upstream)
      : DocumentRequest(svc.documents(), ex, upstream), svc_(svc), project_(std::move(project)) {}

  void start() {
    auto format = negotiateSimpleFormat(ex_.request().header("accept"));
    if (!format) {
      respondPypiError(ex_, 406,
                       "none of the Simple API formats (application/vnd.pypi.simple.v1+json, "
                       "application/vnd.pypi.simple.v1+html, text/html) is acceptable");
      return;
    }
    format_ = *format;
    if (!project_.empty()) setPolicy(svc_.requestPolicy(project_), svc_.access());
    begin(pageKeys(upstream_, project_));
  }

 private:
  DocumentSource source() override {
    return pageSource(upstream_, project_, svc_.outcomeRecorder(upstream_));
  }
  std::string subject() const override {
    return project_.empty() ? "the project list" : "project " + project_;
  }
  void respondError(int status, std::string_view message, http::Headers extra) override {
    respondPypiError(ex_, status, message, std::move(extra));
  }

  void serve(const DocumentEntryPtr& entry, const char* result) override {
    const bool gzip =
        ex_.request().header("accept-encoding").find("gzip") != std::string_view::npos;
    const bool json = format_ == SimpleFormat::Json;
    http::Headers h;
    h.push_back({"Content-Type", std::string(contentTypeOf(format_))});
    h.push_back({"Vary", "Accept, Accept-Encoding"});
    if (gzip) h.push_back({"Content-Encoding", "gzip"});
    sendVariant(entry, json ? (gzip ? "json-gzip" : "json") : (gzip ? "html-gzip" : "html"),
                std::move(h), result);
  }

  PypiService& svc_;
  std::string project_;
  SimpleFormat format_ = SimpleFormat::Json;
};

}  // namespace

void handlePage(PypiService& svc, http::Exchange& ex, const std::string& project,
                FrontUpstream& upstream) {
  http::startContext<PageRequest>(ex, svc, ex, project, upstream);
}

}  // namespace hoard::pypi
