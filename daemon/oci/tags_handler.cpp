// GET /v2/<name>/tags/list[?n=&last=]
//
// Passed through to the upstream (with its pagination), kept in memory for the
// upstream's manifest TTL and served stale when the upstream fails
// (DocumentRequest). The
// upstream's Link header names the upstream's repository path, so it is
// rewritten to the name the client used (prefix and ns included) -- a client
// following it must come back to hoard, never go around it.
#include <memory>

#include "daemon/oci/document_request.h"
#include "daemon/oci/responses.h"
#include "daemon/oci/service.h"
#include "daemon/oci/small_fetch.h"

namespace hoard::oci {

namespace {

constexpr std::size_t kMaxTagsBytes = 4 * 1024 * 1024;

std::string stripParam(std::string_view query, std::string_view key) {
  std::string out;
  std::size_t pos = 0;
  while (pos <= query.size() && !query.empty()) {
    auto amp = query.find('&', pos);
    auto item =
        query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    auto name = item.substr(0, item.find('='));
    if (!item.empty() && name != key) {
      if (!out.empty()) out += '&';
      out += item;
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

// Accepts only what the spec defines for tags/list: n (digits) and last (a tag).
bool validTagsQuery(std::string_view query) {
  std::size_t pos = 0;
  while (pos < query.size()) {
    auto amp = query.find('&', pos);
    auto item =
        query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    auto eq = item.find('=');
    auto name = item.substr(0, eq);
    auto value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    if (name == "n") {
      if (value.empty() || value.size() > 6) return false;
      for (char c : value) {
        if (c < '0' || c > '9') return false;
      }
    } else if (name == "last") {
      if (!value.empty() && !isValidTag(value)) return false;
    } else {
      return false;
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return true;
}

}  // namespace

std::string rewriteTagsLink(std::string_view link, std::string_view upstreamRepo,
                            std::string_view clientName, std::string_view ns) {
  // Link: </v2/<repo>/tags/list?last=x&n=2>; rel="next"
  auto open = link.find('<');
  auto close = link.find('>', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return "";
  auto target = link.substr(open + 1, close - open - 1);
  auto q = target.find('?');
  auto query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  std::string cleaned = stripParam(query, "ns");
  if (!validTagsQuery(cleaned)) return "";
  (void)upstreamRepo;
  std::string out = "</v2/" + std::string(clientName) + "/tags/list";
  std::string params = cleaned;
  if (!ns.empty()) params += (params.empty() ? "" : "&") + std::string("ns=") + std::string(ns);
  if (!params.empty()) out += "?" + params;
  out += ">; rel=\"next\"";
  return out;
}

void handleTagsList(OciService& svc, http::Exchange& ex, const OciPath&, OciTarget target) {
  std::string query = stripParam(ex.request().query, "ns");
  if (!validTagsQuery(query)) {
    respondError(ex, 400, ErrorCode::Unsupported, "tags/list accepts only n and last");
    return;
  }
  DocumentSpec spec;
  spec.cacheKey = "tags/" + target.upstream->config.name + "/" + target.repository + "?" + query;
  spec.request.path = "/v2/" + target.repository + "/tags/list";
  spec.request.query = query;
  spec.request.accept = "application/json";
  spec.request.scope = "repository:" + target.repository + ":pull";
  spec.maxBytes = kMaxTagsBytes;
  spec.kind = "tags";
  spec.subject = "tags of " + target.repository;
  spec.notFoundCode = ErrorCode::NameUnknown;
  spec.accept = [repo = target.repository, clientName = target.clientName,
                 ns = target.ns](const SmallResponse& r) -> std::optional<CachedDocument> {
    if (r.status != 200) return std::nullopt;
    CachedDocument doc;
    doc.body = r.body;
    doc.contentType = "application/json";
    if (auto link = r.head.header("link"); !link.empty()) {
      auto rewritten = rewriteTagsLink(link, repo, clientName, ns);
      if (!rewritten.empty()) doc.headers.emplace_back("Link", rewritten);
    }
    return doc;
  };
  http::startContext<DocumentRequest>(ex, svc, ex, std::move(target), std::move(spec));
}

}  // namespace hoard::oci
