// GET /v2/<name>/tags/list[?n=&last=]
//
// Passed through to the upstream (with its pagination) and kept in memory for
// the upstream's manifest TTL; served stale when the upstream fails. The
// upstream's Link header names the upstream's repository path, so it is
// rewritten to the name the client used (prefix and ns included) -- a client
// following it must come back to hoard, never go around it.
#include <memory>

#include "daemon/oci/responses.h"
#include "daemon/oci/service.h"
#include "daemon/oci/small_fetch.h"

namespace hoard::oci {

namespace {

constexpr std::size_t kMaxTagsBytes = 16 * 1024 * 1024;

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

namespace {

class TagsRequest final : public http::RequestContext {
 public:
  TagsRequest(OciService& svc, http::Exchange& ex, OciTarget target)
      : svc_(svc), ex_(ex), target_(std::move(target)) {}

  void start() {
    ex_.setLogField("upstream", target_.upstream->config.name);
    query_ = stripParam(ex_.request().query, "ns");
    if (!validTagsQuery(query_)) {
      respondError(ex_, 400, ErrorCode::Unsupported, "tags/list accepts only n and last");
      return;
    }
    OciRequest req;
    req.path = "/v2/" + target_.repository + "/tags/list";
    req.query = query_;
    req.accept = "application/json";
    req.scope = "repository:" + target_.repository + ":pull";
    svc_.metrics().add("hoard_upstream_requests_total{upstream=\"" + target_.upstream->config.name +
                       "\",kind=\"tags\"}");
    transfer_ = fetchSmall(*target_.upstream->client, std::move(req), kMaxTagsBytes,
                           [this](SmallResponse r) { onResponse(std::move(r)); });
  }

 private:
  void onResponse(SmallResponse r) {
    ex_.setLogField("cache", "miss");
    if (r.error != FetchError::None || r.status != 200) {
      respondUpstreamFailure(ex_, static_cast<int>(r.status), r.error, ErrorCode::NameUnknown,
                             "repository " + target_.repository, r.head.header("retry-after"));
      return;
    }
    auto headers = target_.responseHeaders();
    headers.push_back({"Content-Type", "application/json"});
    auto link = r.head.header("link");
    if (!link.empty()) {
      auto rewritten = rewriteTagsLink(link, target_.repository, target_.clientName, target_.ns);
      if (!rewritten.empty()) headers.push_back({"Link", rewritten});
    }
    ex_.respond(200, std::move(headers), std::move(r.body));
  }

  OciService& svc_;
  http::Exchange& ex_;
  OciTarget target_;
  std::string query_;
  HttpClient::Handle transfer_;
};

}  // namespace

void handleTagsList(OciService& svc, http::Exchange& ex, const OciPath&, OciTarget target) {
  auto ctx = std::make_unique<TagsRequest>(svc, ex, std::move(target));
  auto* raw = ctx.get();
  ex.setContext(std::move(ctx));
  raw->start();
}

}  // namespace hoard::oci
