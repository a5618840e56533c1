#include "conf/defaults.h"

#include "conf/validate.h"

namespace hoard::conf {

namespace {

UpstreamConfig dockerHub() {
  UpstreamConfig u;
  u.name = "dockerhub";
  u.kind = UpstreamKind::Oci;
  // registry-1 is Docker Hub's API endpoint; "docker.io" itself only redirects browsers.
  u.url = "https://registry-1.docker.io";
  u.registries = {"docker.io"};
  u.prefix = "dockerhub";
  u.isDefault = true;
  return u;
}

UpstreamConfig pypi() {
  UpstreamConfig u;
  u.name = "pypi";
  u.kind = UpstreamKind::Pypi;
  u.url = "https://pypi.org/simple";
  u.fileHosts = {"https://files.pythonhosted.org"};
  u.manifestTtlMs = kPypiPageTtlMs;
  u.isDefault = true;
  return u;
}

UpstreamConfig goProxy() {
  UpstreamConfig u;
  u.name = "goproxy";
  u.kind = UpstreamKind::Go;
  u.url = "https://proxy.golang.org";
  u.sumdbName = "sum.golang.org";
  u.sumdbUrl = "https://sum.golang.org";
  u.manifestTtlMs = kGoListTtlMs;
  u.isDefault = true;
  return u;
}

}  // namespace

std::string defaultStorePath(const EnvLookup& env) {
  if (auto xdg = env("XDG_CACHE_HOME"); xdg && !xdg->empty() && xdg->front() == '/') {
    return *xdg + "/hoard";
  }
  if (auto home = env("HOME"); home && !home->empty()) {
    return *home + "/.cache/hoard";
  }
  return "/var/cache/hoard";
}

std::vector<UpstreamConfig> defaultUpstreams(const EnvLookup& env) {
  std::vector<UpstreamConfig> ups;
  ups.push_back(dockerHub());
  // npm: the public npm registry's URL (what `npm config get registry` prints) comes from the
  // environment only, so this repository never names it.
  if (auto url = env("HOARD_NPM_UPSTREAM"); url && !url->empty()) {
    if (auto normalized = normalizeUpstreamUrl(*url)) {
      UpstreamConfig npm;
      npm.name = "npmjs";
      npm.kind = UpstreamKind::Npm;
      npm.url = *normalized;
      npm.isDefault = true;
      ups.push_back(std::move(npm));
    }
  }
  ups.push_back(pypi());
  ups.push_back(goProxy());
  // npm's URL comes ONLY from env("HOARD_NPM_UPSTREAM") (or the config file); never write the
  // npm registry's host name in this repository. No variable -> no default npm upstream.
  return ups;
}

Config defaultConfig(const EnvLookup& env) {
  Config c;
  c.store.path = defaultStorePath(env);
  c.upstreams = defaultUpstreams(env);
  return c;
}

Config defaultConfig() {
  return defaultConfig(processEnv());
}

}  // namespace hoard::conf
