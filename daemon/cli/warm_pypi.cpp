// `hoard warm pypi:SPEC` and `-r requirements.txt`: the project's Simple API
// page through /pypi/simple/<project>/ (PEP 691 JSON), the highest release
// the specifiers allow (as pip would choose), and every file of that release
// the page lists -- all wheels and the sdist, plus their PEP 658 metadata
// (pip fetches it first) -- each checked against the page's sha256 and size.
// Yanked files only when the requirement pins the version (PEP 592).
#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "daemon/cli/warm_pep440.h"
#include "daemon/cli/warm_targets.h"

namespace hoard::cli {

namespace {

constexpr std::size_t kMaxPage = 64 * 1024 * 1024;

// RFC 3986 reference resolution for the links of one page.
std::string resolve(const std::string& base, std::string_view ref) {
  if (auto hash = ref.find('#'); hash != std::string_view::npos) ref = ref.substr(0, hash);
  if (ref.find("://") != std::string_view::npos) return std::string(ref);
  auto schemeEnd = base.find("://");
  std::string scheme = base.substr(0, schemeEnd);
  auto pathStart = base.find('/', schemeEnd + 3);
  std::string origin = base.substr(0, pathStart);
  if (ref.starts_with("//")) return scheme + ":" + std::string(ref);
  std::string path;
  if (ref.starts_with('/')) {
    path = std::string(ref);
  } else {
    std::string basePath = pathStart == std::string::npos ? "/" : base.substr(pathStart);
    if (auto q = basePath.find('?'); q != std::string::npos) basePath.resize(q);
    path = basePath.substr(0, basePath.rfind('/') + 1) + std::string(ref);
  }
  std::string query;
  if (auto q = path.find('?'); q != std::string::npos) {
    query = path.substr(q);
    path.resize(q);
  }
  std::vector<std::string> out;
  std::size_t pos = 1;
  bool trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
  while (pos <= path.size()) {
    auto slash = path.find('/', pos);
    std::string seg = path.substr(pos, slash == std::string::npos ? slash : slash - pos);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (seg != "." && !seg.empty()) {
      out.push_back(seg);
    }
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  std::string joined;
  for (const auto& s : out) joined += "/" + s;
  if (joined.empty() || trailing) joined += "/";
  return origin + joined + query;
}

struct PageFile {
  std::string filename, url, sha256, metadataSha256, versionText;
  std::optional<std::uint64_t> size;
  bool yanked = false, metadata = false;
  pep440::Version version;
};

}  // namespace

std::optional<std::string> distributionVersion(std::string_view filename,
                                               std::string_view project) {
  auto splitDash = [](std::string_view s) {
    std::vector<std::string_view> parts;
    std::size_t pos = 0;
    while (true) {
      auto d = s.find('-', pos);
      parts.push_back(s.substr(pos, d == std::string_view::npos ? d : d - pos));
      if (d == std::string_view::npos) return parts;
      pos = d + 1;
    }
  };
  if (filename.ends_with(".whl") || filename.ends_with(".egg")) {
    auto parts = splitDash(filename.substr(0, filename.size() - 4));
    if (parts.size() < 2 || normalizeProjectName(parts[0]) != project) return std::nullopt;
    return std::string(parts[1]);
  }
  std::string_view stem;
  for (std::string_view ext : {".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"}) {
    if (filename.ends_with(ext)) {
      stem = filename.substr(0, filename.size() - ext.size());
      break;
    }
  }
  for (std::size_t d = stem.find('-'); d != std::string_view::npos; d = stem.find('-', d + 1)) {
    if (normalizeProjectName(stem.substr(0, d)) == project && d + 1 < stem.size()) {
      return std::string(stem.substr(d + 1));
    }
  }
  return std::nullopt;
}

void warmPypi(WarmRun& run, const TargetPtr& target, const Requirement& req, bool allowPre) {
  run.post([&run, target, req, allowPre](Fetcher& f) {
    const std::string pageUrl = run.base() + "/pypi/simple/" + req.project + "/";
    auto r = run.document(f, *target, "page " + req.project,
                          FetchRequest{pageUrl, {"Accept: application/vnd.pypi.simple.v1+json"}},
                          kMaxPage);
    if (!r) return;
    auto doc = nlohmann::json::parse(r->body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("files") ||
        !doc["files"].is_array()) {
      target->fail("page " + req.project + ": not a PEP 691 JSON page");
      return;
    }
    std::vector<PageFile> files;
    std::map<std::string, bool> allYanked;  // version text -> every file yanked
    for (const auto& e : doc["files"]) {
      if (!e.is_object()) continue;
      PageFile pf;
      pf.filename = e.value("filename", std::string());
      pf.url = e.value("url", std::string());
      auto vt = distributionVersion(pf.filename, req.project);
      if (pf.url.empty() || !vt) continue;
      auto v = pep440::parseVersion(*vt);
      if (!v) continue;
      pf.versionText = *vt;
      pf.version = std::move(*v);
      if (auto h = e.find("hashes"); h != e.end() && h->is_object()) {
        pf.sha256 = h->value("sha256", std::string());
      }
      if (auto s = e.find("size"); s != e.end() && s->is_number_unsigned()) {
        pf.size = s->get<std::uint64_t>();
      }
      if (auto y = e.find("yanked"); y != e.end()) {
        pf.yanked = (y->is_boolean() && y->get<bool>()) || y->is_string();
      }
      if (auto m = e.find("core-metadata"); m != e.end()) {
        if (m->is_object()) {
          pf.metadata = true;
          pf.metadataSha256 = m->value("sha256", std::string());
        } else if (m->is_boolean()) {
          pf.metadata = m->get<bool>();
        }
      }
      auto [it, fresh] = allYanked.try_emplace(pf.versionText, pf.yanked);
      if (!fresh) it->second = it->second && pf.yanked;
      files.push_back(std::move(pf));
    }
    std::vector<pep440::Candidate> candidates;
    candidates.reserve(allYanked.size());
    for (const auto& [text, yanked] : allYanked) candidates.push_back({text, yanked});
    auto chosen = pep440::pickVersion(candidates, req.specifiers, allowPre);
    if (!chosen) {
      target->fail(req.project + ": no release matches (" + std::to_string(candidates.size()) +
                   " releases on hoard's page)");
      return;
    }
    target->resolved(*chosen);
    auto chosenVersion = pep440::parseVersion(*chosen);
    bool pinned = std::any_of(req.specifiers.begin(), req.specifiers.end(),
                              [](const pep440::Specifier& s) { return s.pinsExactly(); });
    std::size_t posted = 0;
    for (const auto& pf : files) {
      if (pf.version.compare(*chosenVersion) != 0 || (pf.yanked && !pinned)) continue;
      auto url = resolve(pageUrl, pf.url);
      if (run.claim("pypi " + url)) {
        Expect expect;
        expect.sha256Hex = pf.sha256;
        expect.size = pf.size;
        run.post([&run, target, url, expect, name = pf.filename](Fetcher& g) {
          run.download(g, *target, name, FetchRequest{url, {}}, expect);
        });
      }
      ++posted;
      if (pf.metadata && run.claim("pypi " + url + ".metadata")) {
        Expect expect;
        expect.sha256Hex = pf.metadataSha256;
        run.post([&run, target, url, expect, name = pf.filename + ".metadata"](Fetcher& g) {
          run.download(g, *target, name, FetchRequest{url + ".metadata", {}}, expect);
        });
      }
    }
    if (posted == 0) target->fail(req.project + " " + *chosen + ": no downloadable files");
  });
}

}  // namespace hoard::cli
