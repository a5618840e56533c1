#include "daemon/npm/service.h"

#include <nlohmann/json.hpp>

#include "daemon/log.h"

namespace hoard::npm {

namespace {
bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == ':' || c == '[' || c == ']';
}
}  // namespace

void respondNpmError(http::Exchange& ex, int status, std::string_view message,
                     http::Headers extra) {
  nlohmann::json j;
  j["error"] = std::string(message);
  extra.push_back({"Content-Type", "application/json"});
  ex.respond(status, std::move(extra), j.dump() + "\n");
}

std::string tarballVersion(std::string_view name, std::string_view file) {
  auto slash = name.find('/');
  auto base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  if (!file.ends_with(".tgz") || !file.starts_with(base) || file.size() <= base.size() + 5 ||
      file[base.size()] != '-') {
    return "";
  }
  return std::string(file.substr(base.size() + 1, file.size() - base.size() - 5));
}

policy::RequestPolicy NpmService::requestPolicy(const NpmPath& path) const {
  policy::RequestPolicy p;
  p.policy = deps_.policy;
  p.subject.ecosystem = policy::Ecosystem::Npm;
  p.subject.name = path.name;
  if (path.kind == NpmPath::Kind::Tarball) p.subject.version = tarballVersion(path.name, path.file);
  p.refuse = [](http::Exchange& e, int status, std::string_view message) {
    respondNpmError(e, status, message);
  };
  return p;
}

NpmService::NpmService(Deps deps, const std::vector<conf::UpstreamConfig>& upstreams,
                       bool globalOffline, std::string publicUrl)
    : deps_(std::move(deps)),
      publicUrl_(std::move(publicUrl)),
      documents_({deps_.loop, deps_.store, deps_.http, deps_.clock, deps_.metrics}) {
  for (const auto& u : upstreams) {
    if (u.kind != conf::UpstreamKind::Npm) continue;
    auto up = makeFrontUpstream(u, deps_.clock, globalOffline);
    if (u.isDefault) default_ = up.get();
    upstreams_.push_back(std::move(up));
  }
}

FrontUpstream* NpmService::route(const NpmPath& path) {
  if (!path.scope.empty()) {
    for (auto& u : upstreams_) {
      for (const auto& s : u->config.scopes) {
        // A scope routed to a private upstream never falls back to the
        // default one, whatever that upstream answers.
        if (s == path.scope) return u.get();
      }
    }
  }
  return default_;
}

std::string NpmService::mountUrl(const http::Request& req) const {
  if (!publicUrl_.empty()) return publicUrl_ + "/npm";
  auto host = req.header("host");
  if (host.empty() || host.size() > 255) return "";
  for (char c : host) {
    if (!isHostChar(c)) return "";
  }
  auto proto = req.header("x-forwarded-proto");
  std::string scheme = proto == "https" ? "https" : "http";
  return scheme + "://" + std::string(host) + "/npm";
}

std::vector<std::string> NpmService::privateScopes() {
  std::vector<std::string> out;
  for (const auto& u : upstreams_) {
    for (const auto& s : u->config.scopes) {
      NpmPath probe;
      probe.scope = s;
      if (route(probe) != default_) out.push_back(s);
    }
  }
  return out;
}

void NpmService::countUpstreamRequest(const FrontUpstream& upstream, std::string_view kind) {
  deps_.metrics->add("hoard_upstream_requests_total{upstream=\"" + upstream.config.name +
                     "\",kind=\"" + std::string(kind) + "\"}");
}

void NpmService::handle(http::Exchange& ex, std::string_view rest) {
  auto path = parseNpmPath(rest);
  if (!path) {
    respondNpmError(ex, 400, "invalid package name or path");
    return;
  }
  if (path->kind == NpmPath::Kind::Endpoint) {
    const auto& e = path->endpoint;
    if (isAuditRequest(ex.request().method, rest)) {
      handleAudit(*this, ex, e);  // before the policy: an audit fetches no package
    } else if (e == "ping" || e.starts_with("ping?")) {
      ex.respond(200, {{"Content-Type", "application/json"}}, "{}\n");
    } else if (e == "whoami") {
      respondNpmError(ex, 401, "hoard is a read-only mirror: there is no login");
    } else if (e.starts_with("user/") || e.starts_with("v1/login")) {
      respondNpmError(ex, 405, "hoard is a read-only mirror: login and publish are not supported");
    } else {
      respondNpmError(ex, 404, "endpoint not supported by hoard: /-/" + e);
    }
    return;
  }
  auto* upstream = route(*path);
  if (!upstream) {
    respondNpmError(ex, 404,
                    "no npm upstream configured (set HOARD_NPM_UPSTREAM or add a kind: npm "
                    "upstream)");
    return;
  }
  ex.setLogField("upstream", upstream->config.name);
  // Before any cache lookup: cached packuments and tarballs are refused too.
  const auto pol = requestPolicy(*path);
  if (policy::refuseIfDenied(pol.policy, *deps_.metrics, ex, pol.subject, pol.refuse)) return;
  if (path->kind == NpmPath::Kind::Tarball) {
    handleTarball(*this, ex, *path, *upstream);
  } else {
    handlePackument(*this, ex, *path, *upstream);
  }
}

}  // namespace hoard::npm
