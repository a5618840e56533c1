#include "conf/defaults.h"

#include <catch2/catch.hpp>
#include <map>

using namespace hoard::conf;

namespace {

EnvLookup fakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_CASE("defaultStorePath prefers XDG_CACHE_HOME, then HOME, then /var/cache") {
  CHECK(defaultStorePath(fakeEnv({{"XDG_CACHE_HOME", "/xdg"}, {"HOME", "/home/u"}})) ==
        "/xdg/hoard");
  CHECK(defaultStorePath(fakeEnv({{"HOME", "/home/u"}})) == "/home/u/.cache/hoard");
  // The XDG spec says relative values are invalid and must be ignored.
  CHECK(defaultStorePath(fakeEnv({{"XDG_CACHE_HOME", "rel"}, {"HOME", "/home/u"}})) ==
        "/home/u/.cache/hoard");
  CHECK(defaultStorePath(fakeEnv({{"XDG_CACHE_HOME", ""}, {"HOME", "/home/u"}})) ==
        "/home/u/.cache/hoard");
  CHECK(defaultStorePath(fakeEnv({})) == "/var/cache/hoard");
  CHECK(defaultStorePath(fakeEnv({{"HOME", ""}})) == "/var/cache/hoard");
}

TEST_CASE("defaultConfig: loopback listener, Docker Hub, PyPI and Go upstreams") {
  Config c = defaultConfig(fakeEnv({{"HOME", "/home/u"}}));
  CHECK(c.sourceFile.empty());
  CHECK(c.server.listen == "127.0.0.1:5050");
  CHECK(c.server.maxConnections == 4096);
  CHECK(c.server.headerTimeoutMs == 10'000);
  CHECK(c.server.idleTimeoutMs == 60'000);
  CHECK(c.server.maxHeaderBytes == 16384);
  CHECK(c.store.path == "/home/u/.cache/hoard");
  CHECK(c.store.maxSizeBytes == 0);
  CHECK(c.store.accessFlushMs == 30'000);
  CHECK(c.log.accessLog == "-");
  CHECK(c.log.level == "info");
  REQUIRE(c.upstreams.size() == 3);
  const UpstreamConfig& u = c.upstreams[0];
  CHECK(u.name == "dockerhub");
  CHECK(u.kind == UpstreamKind::Oci);
  CHECK(u.url == "https://registry-1.docker.io");
  CHECK(u.registries == std::vector<std::string>{"docker.io"});
  CHECK(u.prefix == "dockerhub");
  CHECK(u.isDefault);
  CHECK_FALSE(u.auth);
  CHECK(u.manifestTtlMs == 300'000);
  CHECK(defaultUpstream(c, UpstreamKind::Oci) == &c.upstreams[0]);
  CHECK(defaultUpstream(c, UpstreamKind::Npm) == nullptr);
  CHECK(findUpstream(c, "dockerhub") == &c.upstreams[0]);
  CHECK(findUpstream(c, "nope") == nullptr);
  const UpstreamConfig& py = c.upstreams[1];
  CHECK(py.kind == UpstreamKind::Pypi);
  CHECK(py.url == "https://pypi.org/simple");
  CHECK(py.fileHosts == std::vector<std::string>{"https://files.pythonhosted.org"});
  CHECK(py.manifestTtlMs == 600'000);
  CHECK(defaultUpstream(c, UpstreamKind::Pypi) == &c.upstreams[1]);
  const UpstreamConfig& go = c.upstreams[2];
  CHECK(go.kind == UpstreamKind::Go);
  CHECK(go.url == "https://proxy.golang.org");
  CHECK(go.sumdbName == "sum.golang.org");
  CHECK(go.sumdbUrl == "https://sum.golang.org");
  CHECK(go.manifestTtlMs == 60'000);
  CHECK(defaultUpstream(c, UpstreamKind::Go) == &c.upstreams[2]);
}

TEST_CASE("upstream kinds round-trip through their config spelling") {
  for (auto k : {UpstreamKind::Oci, UpstreamKind::Npm, UpstreamKind::Pypi, UpstreamKind::Go}) {
    CHECK(parseUpstreamKind(upstreamKindName(k)) == k);
  }
  CHECK_FALSE(parseUpstreamKind("docker"));
  CHECK_FALSE(parseUpstreamKind("OCI"));
}
