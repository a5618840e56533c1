// How a Simple API page is keyed, fetched and rendered for the shared
// document engine. Pages do not depend on how hoard was reached (their file
// links are relative), so one rendering serves every client.
#include "daemon/npm/packument.h"  // gzipCompress
#include "daemon/pypi/service.h"
#include "daemon/pypi/simple_page.h"

namespace hoard::pypi {

namespace {

// The project list is large (hundreds of thousands of names) and only
// browsers read it; it is fetched rarely.
constexpr Millis kProjectListTtlMs = 60 * 60 * 1000;

// Upstream answers either form; JSON is preferred because only it carries
// PEP 700's upload-time (uv --exclude-newer) and size.
constexpr const char* kUpstreamAccept =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01";

bool looksLikeJson(std::string_view raw) {
  for (char c : raw) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    return c == '{';
  }
  return false;
}

RenderedDocument withVariants(std::string json, std::string html) {
  RenderedDocument out;
  std::string jsonGz = npm::gzipCompress(json);
  std::string htmlGz = npm::gzipCompress(html);
  out.variants.push_back({"json", "application/vnd.pypi.simple.v1+json", std::move(json)});
  out.variants.push_back({"json-gzip", "application/gzip", std::move(jsonGz)});
  out.variants.push_back({"html", "text/html", std::move(html)});
  out.variants.push_back({"html-gzip", "application/gzip", std::move(htmlGz)});
  return out;
}

}  // namespace

DocumentKeys pageKeys(const FrontUpstream& upstream, const std::string& project) {
  std::string key = "pypi/" + upstream.config.name + "/" + project;
  return {key, key};
}

DocumentSource pageSource(const FrontUpstream& upstream, const std::string& project,
                          OutcomeRecorder recordOutcome) {
  const std::string pageUrl =
      upstream.config.url + "/" + (project.empty() ? "" : percentEncodeSegment(project) + "/");
  DocumentSource src =
      upstreamDocument(upstream, pageUrl, project.empty() ? "project-list" : "project-page",
                       std::move(recordOutcome));
  src.request.headers.push_back({"Accept", kUpstreamAccept});
  if (project.empty()) src.ttlMs = kProjectListTtlMs;
  src.maxBytes = project.empty() ? 256 * 1024 * 1024 : 64 * 1024 * 1024;
  src.render = [project,
                pageUrl](std::string_view raw) -> std::expected<RenderedDocument, std::string> {
    if (project.empty()) {
      if (!looksLikeJson(raw)) {
        return std::unexpected("the upstream's project list is not PEP 691 JSON");
      }
      auto list = renderProjectList(raw);
      if (!list) return std::unexpected(list.error());
      return withVariants(std::move(list->json), std::move(list->html));
    }
    auto page = looksLikeJson(raw) ? renderProjectPage(raw, pageUrl, project)
                                   : parseSimpleHtml(raw, pageUrl, project);
    if (!page) return std::unexpected(page.error());
    RenderedDocument out = withVariants(std::move(page->json), std::move(page->html));
    out.files = std::move(page->files);
    return out;
  };
  return src;
}

}  // namespace hoard::pypi
