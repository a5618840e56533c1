#include "daemon/pypi/service.h"

namespace hoard::pypi {

void respondPypiError(http::Exchange& ex, int status, std::string_view message,
                      http::Headers extra) {
  extra.push_back({"Content-Type", "text/plain; charset=utf-8"});
  ex.respond(status, std::move(extra), std::string(message) + "\n");
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
      handlePage(*this, ex, normalized, *default_);
      return;
    }
    case PypiPath::Kind::File:
      handleFile(*this, ex, *path, *default_);
      return;
  }
}

}  // namespace hoard::pypi
