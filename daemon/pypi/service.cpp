#include "daemon/pypi/service.h"

#include <nlohmann/json.hpp>

namespace hoard::pypi {

void respondPypiError(http::Exchange& ex, int status, std::string_view message,
                      http::Headers extra) {
  extra.push_back({"Content-Type", "text/plain; charset=utf-8"});
  ex.respond(status, std::move(extra), std::string(message) + "\n");
}

policy::RequestPolicy PypiService::requestPolicy(const std::string& normalizedProject,
                                                 std::string_view file) const {
  policy::RequestPolicy p;
  p.policy = deps_.policy;
  p.subject.ecosystem = policy::Ecosystem::Pypi;
  p.subject.name = normalizedProject;
  if (file.ends_with(".metadata")) file.remove_suffix(9);
  p.subject.file = std::string(file);
  p.refuse = [](http::Exchange& e, int status, std::string_view message) {
    nlohmann::json j;
    j["error"] = std::string(message);
    e.respond(status, {{"Content-Type", "application/json"}}, j.dump() + "\n");
  };
  return p;
}

PypiService::PypiService(Deps deps, const std::vector<conf::UpstreamConfig>& upstreams,
                         bool globalOffline)
    : deps_(std::move(deps)),
      documents_({deps_.loop, deps_.store, deps_.http, deps_.clock, deps_.metrics}) {
  for (const auto& u : upstreams) {
    if (u.kind != conf::UpstreamKind::Pypi) continue;
    auto up = makeFrontUpstream(u, deps_.clock, globalOffline);
    if (u.isDefault) default_ = up.get();
    upstreams_.push_back(std::move(up));
  }
}

void PypiService::handle(http::Exchange& ex, std::string_view rest) {
  auto path = parsePypiPath(rest);
  if (!path) {
    respondPypiError(ex, 400, "invalid project name or path");
    return;
  }
  if (!default_) {
    respondPypiError(ex, 404, "no pypi upstream configured (add a kind: pypi upstream)");
    return;
  }
  ex.setLogField("upstream", default_->config.name);
  switch (path->kind) {
    case PypiPath::Kind::Root:
      if (!path->trailingSlash) {
        ex.respond(301, {{"Location", "/pypi/simple/"}, {"Content-Type", "text/plain"}},
                   "/pypi/simple/\n");
        return;
      }
      handlePage(*this, ex, "", *default_);
      return;
    case PypiPath::Kind::Project: {
      // PEP 503: one URL per project, the normalized name with a slash; its
      // relative file links depend on it.
      std::string normalized = normalizeProject(path->project);
      if (normalized != path->project || !path->trailingSlash) {
        std::string to = "/pypi/simple/" + normalized + "/";
        ex.respond(301, {{"Location", to}, {"Content-Type", "text/plain"}}, to + "\n");
        return;
      }
      // Before any cache lookup: a cached page is refused too.
      const auto pol = requestPolicy(normalized);
      if (policy::refuseIfDenied(pol.policy, *deps_.metrics, ex, pol.subject, pol.refuse)) return;
      handlePage(*this, ex, normalized, *default_);
      return;
    }
    case PypiPath::Kind::File: {
      const auto pol = requestPolicy(normalizeProject(path->project), path->file);
      if (policy::refuseIfDenied(pol.policy, *deps_.metrics, ex, pol.subject, pol.refuse)) return;
      handleFile(*this, ex, *path, *default_);
      return;
    }
  }
}

}  // namespace hoard::pypi
