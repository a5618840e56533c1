#include "conf/loader.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "conf/units.h"

using namespace hoard::conf;
using Catch::Contains;
using Catch::StartsWith;

namespace {

EnvLookup fakeEnv(std::map<std::string, std::string> vars = {{"HOME", "/home/t"}}) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::expected<Config, std::string> load(std::string_view yaml, EnvLookup env = fakeEnv()) {
  return loadConfigString(yaml, "hoard.yaml", env);
}

// The error text for `yaml`, failing the test if it loads.
std::string loadError(std::string_view yaml, EnvLookup env = fakeEnv()) {
  auto r = load(yaml, std::move(env));
  if (r) FAIL("expected an error for:\n" << yaml);
  return r.error();
}

std::filesystem::path sourceRoot() {
  if (const char* dir = std::getenv("HOARD_SOURCE_DIR")) return dir;
  // tests/conf/loader_test.cpp -> repository root
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(std::string_view text) {
    static int counter = 0;
    path =
        std::filesystem::temp_directory_path() / ("hoard_conf_test_" + std::to_string(::getpid()) +
                                                  "_" + std::to_string(counter++) + ".yaml");
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("the documented YAML shape loads to the right values") {
  auto r = load(R"(
listen: 127.0.0.1:6060
max_connections: 100
header_timeout: 5s
idle_timeout: 2m
max_header_bytes: 32KiB
store: { path: /var/lib/hoard, max_size: 50GiB, access_flush: 1m }
log: { access: -, level: debug }
upstreams:
  - name: dockerhub
    kind: oci
    url: https://registry-1.docker.io/
    registries: [docker.io]
    prefix: dockerhub
    auth: { username: u, password: p }
    manifest_ttl: 5m
    connect_timeout: 3s
    idle_timeout: 45s
  - name: ghcr
    url: https://ghcr.io
    registries: [ghcr.io, ghcr.example.com:5000]
    default: true
  - name: pypi
    kind: pypi
    url: https://pypi.example.com/simple
)");
  REQUIRE(r);
  const Config& c = *r;
  CHECK(c.sourceFile == "hoard.yaml");
  CHECK(c.server.listen == "127.0.0.1:6060");
  CHECK(c.server.maxConnections == 100);
  CHECK(c.server.headerTimeoutMs == 5'000);
  CHECK(c.server.idleTimeoutMs == 120'000);
  CHECK(c.server.maxHeaderBytes == 32 * 1024);
  CHECK(c.store.path == "/var/lib/hoard");
  CHECK(c.store.maxSizeBytes == 50ull << 30);
  CHECK(c.store.accessFlushMs == 60'000);
  CHECK(c.log.accessLog == "-");
  CHECK(c.log.level == "debug");
  REQUIRE(c.upstreams.size() == 3);

  const UpstreamConfig& hub = c.upstreams[0];
  CHECK(hub.name == "dockerhub");
  CHECK(hub.kind == UpstreamKind::Oci);
  CHECK(hub.url == "https://registry-1.docker.io");  // trailing slash dropped
  CHECK(hub.registries == std::vector<std::string>{"docker.io"});
  CHECK(hub.prefix == "dockerhub");
  REQUIRE(hub.auth);
  CHECK(hub.auth->username == "u");
  CHECK(hub.auth->password == "p");
  CHECK(hub.manifestTtlMs == 300'000);
  CHECK(hub.connectTimeoutMs == 3'000);
  CHECK(hub.idleTimeoutMs == 45'000);
  CHECK_FALSE(hub.isDefault);  // ghcr is marked default explicitly

  const UpstreamConfig& ghcr = c.upstreams[1];
  CHECK(ghcr.kind == UpstreamKind::Oci);  // kind defaults to oci
  CHECK(ghcr.registries == std::vector<std::string>{"ghcr.io", "ghcr.example.com:5000"});
  CHECK(ghcr.prefix.empty());
  CHECK_FALSE(ghcr.auth);
  CHECK(ghcr.isDefault);
  CHECK(ghcr.manifestTtlMs == 300'000);  // per-upstream defaults
  CHECK(ghcr.connectTimeoutMs == 10'000);
  CHECK(ghcr.idleTimeoutMs == 30'000);
  CHECK(defaultUpstream(c, UpstreamKind::Oci) == &ghcr);

  CHECK(c.upstreams[2].kind == UpstreamKind::Pypi);
  CHECK(c.upstreams[2].url == "https://pypi.example.com/simple");
}

TEST_CASE("conf/examples/hoard.yaml loads and sets every section") {
  std::string path = (sourceRoot() / "conf/examples/hoard.yaml").string();
  REQUIRE(std::filesystem::exists(path));
  auto r = loadConfigFile(path, fakeEnv({{"GHCR_USER", "bot"}, {"GHCR_TOKEN", "tok"}}));
  INFO((r ? "" : r.error()));
  REQUIRE(r);
  CHECK(r->sourceFile == path);
  CHECK(r->server.listen == "127.0.0.1:5050");
  CHECK(r->server.maxConnections == 4096);
  CHECK(r->server.maxHeaderBytes == 16384);
  CHECK(r->store.path == "/var/lib/hoard");
  CHECK(r->store.maxSizeBytes == 50ull << 30);
  CHECK(r->store.highWatermarkPercent == 90);
  CHECK(r->store.lowWatermarkPercent == 80);
  CHECK(r->store.metadataRetentionMs == 7ull * 24 * 3600 * 1000);
  CHECK(r->log.accessLog == "-");
  CHECK(r->log.level == "info");
  REQUIRE(r->upstreams.size() == 5);
  CHECK(r->upstreams[0].isDefault);
  CHECK(r->upstreams[0].prefix == "dockerhub");
  REQUIRE(r->upstreams[1].auth);
  CHECK(r->upstreams[1].auth->username == "bot");
  CHECK(r->upstreams[1].auth->password == "tok");
  CHECK(r->upstreams[1].manifestTtlMs == 600'000);
  CHECK_FALSE(r->upstreams[2].isDefault);
  CHECK(r->upstreams[2].kind == UpstreamKind::Oci);
  CHECK(r->upstreams[3].kind == UpstreamKind::Pypi);
  CHECK(r->upstreams[3].isDefault);
  CHECK(r->upstreams[3].fileHosts.size() == 1);
  CHECK(r->upstreams[4].kind == UpstreamKind::Go);
  CHECK(r->upstreams[4].sumdbName == "sum.golang.org");

  // Without the variables the example still loads (hoard check-config works out of the box),
  // pulling from ghcr anonymously; HOARD_LISTEN overrides the listener.
  auto plain = loadConfigFile(path, fakeEnv({{"HOARD_LISTEN", "0.0.0.0:6000"}}));
  INFO((plain ? "" : plain.error()));
  REQUIRE(plain);
  CHECK_FALSE(plain->upstreams[1].auth);
  CHECK(plain->server.listen == "0.0.0.0:6000");
}

TEST_CASE("auth: both empty means anonymous, a password without username is an error") {
  auto anon = load(
      "upstreams:\n  - {name: a, url: 'https://a.io', default: true, auth: "
      "{username: '', password: ''}}\n");
  REQUIRE(anon);
  CHECK_FALSE(anon->upstreams[0].auth);
  CHECK_THAT(loadError("upstreams:\n  - {name: a, url: 'https://a.io', default: true, auth: "
                       "{username: '${U:-}', password: p}}\n"),
             StartsWith("hoard.yaml:2:58: upstreams[0].auth.username: must not be empty when a "
                        "password is set"));
}

TEST_CASE("no file content means built-in defaults") {
  for (const char* empty : {"", "\n", "# just a comment\n", "---\n"}) {
    INFO(empty);
    auto r = load(empty);
    REQUIRE(r);
    CHECK(r->server.listen == "127.0.0.1:5050");
    CHECK(r->store.path == "/home/t/.cache/hoard");
    REQUIRE(r->upstreams.size() == 3);
    CHECK(r->upstreams[0].name == "dockerhub");
    CHECK(r->upstreams[0].isDefault);
    CHECK(r->upstreams[1].name == "pypi");
  }
}

TEST_CASE("a partial file is merged over the defaults") {
  auto r = load("store:\n  max_size: 1GiB\nlog:\n  level: warn\n");
  REQUIRE(r);
  CHECK(r->store.maxSizeBytes == 1ull << 30);
  CHECK(r->store.path == "/home/t/.cache/hoard");  // kept from defaults
  CHECK(r->store.accessFlushMs == 30'000);
  CHECK(r->store.highWatermarkPercent == 90);  // defaults
  CHECK(r->store.lowWatermarkPercent == 80);
  CHECK(r->store.pins.empty());
  CHECK(r->store.metadataRetentionMs == 7ull * 24 * 3600 * 1000);
  CHECK(r->log.level == "warn");
  CHECK(r->log.accessLog == "-");
  CHECK(r->server.listen == "127.0.0.1:5050");
  REQUIRE(r->upstreams.size() == 3);
  CHECK(r->upstreams[0].name == "dockerhub");

  auto listenOnly = load("listen: 0.0.0.0:7000\n");
  REQUIRE(listenOnly);
  CHECK(listenOnly->server.listen == "0.0.0.0:7000");
  CHECK(listenOnly->server.maxConnections == 4096);
}

TEST_CASE("an upstreams list replaces the default upstreams") {
  auto r = load(R"(
upstreams:
  - name: mirror
    url: http://127.0.0.1:9000
    registries: [docker.io, quay.io]
)");
  REQUIRE(r);
  REQUIRE(r->upstreams.size() == 1);
  CHECK(r->upstreams[0].name == "mirror");
  CHECK(r->upstreams[0].prefix.empty());
  CHECK(findUpstream(*r, "dockerhub") == nullptr);
  // Nothing marked default: whoever serves docker.io takes requests without ns.
  CHECK(r->upstreams[0].isDefault);
}

TEST_CASE("without docker.io or an explicit default there is no default OCI upstream") {
  auto r = load(R"(
upstreams:
  - {name: a, url: "https://a.example", registries: [a.example]}
  - {name: b, url: "https://b.example", prefix: b}
)");
  REQUIRE(r);
  CHECK(defaultUpstream(*r, UpstreamKind::Oci) == nullptr);
}

TEST_CASE("environment variables expand in values, not keys") {
  auto env = fakeEnv({{"PORT", "7070"}, {"PW", "hunter2"}, {"HOME", "/h"}});
  auto r = load(R"(
listen: 127.0.0.1:${PORT}
store: { path: "${CACHE_DIR:-/tmp/hoard}", max_size: "${SIZE:-2GiB}" }
upstreams:
  - name: hub
    url: https://registry-1.docker.io
    registries: [docker.io]
    auth: { username: bot, password: "${PW}$$" }
)",
                env);
  REQUIRE(r);
  CHECK(r->server.listen == "127.0.0.1:7070");
  CHECK(r->store.path == "/tmp/hoard");
  CHECK(r->store.maxSizeBytes == 2ull << 30);
  CHECK(r->upstreams[0].auth->password == "hunter2$");

  CHECK_THAT(loadError("${KEY}: 1\n", env), Contains("unknown key '${KEY}'"));
}

TEST_CASE("errors: bad url gives FILE:LINE:COL and the key path") {
  std::string err = loadError(
      "listen: 127.0.0.1:5050\n"
      "store: { path: /var/lib/hoard }\n"
      "upstreams:\n"
      "  - name: dockerhub\n"
      "    kind: oci\n"
      "    registries: [docker.io]\n"
      "    url: ftp://registry-1.docker.io\n");
  CHECK_THAT(err, StartsWith("hoard.yaml:7:5: upstreams[0].url: must start with http:// or "
                             "https://"));
  CHECK_THAT(loadError("upstreams:\n  - {name: a, url: 'https://u:p@x.io', default: true}\n"),
             StartsWith("hoard.yaml:2:15: upstreams[0].url: must not contain credentials"));
}

TEST_CASE("errors: unknown keys are named, with a suggestion when close") {
  CHECK(loadError("listen: 127.0.0.1:5050\nlisen: 1\n") ==
        "hoard.yaml:2:1: unknown key 'lisen' (did you mean 'listen'?)");
  CHECK_THAT(loadError("store:\n  path: /x\n  colour: blue\n"),
             StartsWith("hoard.yaml:3:3: store: unknown key 'colour' (expected one of: path, "
                        "max_size, access_flush, high_watermark, low_watermark, pin, "
                        "metadata_retention)"));
  CHECK_THAT(loadError("upstreams:\n  - name: a\n    url: https://a.io\n    default: true\n"
                       "    manifest_tll: 5m\n"),
             StartsWith("hoard.yaml:5:5: upstreams[0]: unknown key 'manifest_tll' (did you mean "
                        "'manifest_ttl'?)"));
  CHECK_THAT(loadError("upstreams:\n  - name: a\n    url: https://a.io\n    default: true\n"
                       "    auth: {username: u, password: p, token: t}\n"),
             StartsWith("hoard.yaml:5:38: upstreams[0].auth: unknown key 'token'"));
  CHECK_THAT(loadError("server:\n  listen: 127.0.0.1:1\n"),
             StartsWith("hoard.yaml:1:1: unknown key 'server' (server settings listen"));
}

TEST_CASE("errors: duplicate keys") {
  CHECK_THAT(loadError("listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n"),
             StartsWith("hoard.yaml:2:1: listen: duplicate key (first set on line 1)"));
}

TEST_CASE("errors: bad durations, sizes and numbers") {
  CHECK_THAT(loadError("header_timeout: 10 seconds\n"),
             StartsWith("hoard.yaml:1:1: header_timeout: invalid duration '10 seconds'"));
  CHECK_THAT(loadError("upstreams:\n  - name: a\n    url: https://a.io\n    default: true\n"
                       "    manifest_ttl: 5mins\n"),
             StartsWith("hoard.yaml:5:5: upstreams[0].manifest_ttl: invalid duration '5mins'"));
  CHECK_THAT(loadError("idle_timeout: 0s\n"),
             StartsWith("hoard.yaml:1:1: idle_timeout: must be greater than zero"));
  CHECK_THAT(loadError("store: { max_size: 10G }\n"),
             StartsWith("hoard.yaml:1:10: store.max_size: invalid size '10G'"));
  CHECK_THAT(loadError("max_connections: many\n"),
             StartsWith("hoard.yaml:1:1: max_connections: expected a whole number, got 'many'"));
  CHECK_THAT(loadError("max_connections: 0\n"),
             StartsWith("hoard.yaml:1:1: max_connections: must be between 1 and"));
  CHECK_THAT(loadError("max_header_bytes: 10\n"),
             StartsWith("hoard.yaml:1:1: max_header_bytes: must be between 1KiB and 16MiB"));
  CHECK_THAT(loadError("upstreams:\n  - {name: a, url: 'https://a.io', default: yes}\n"),
             StartsWith("hoard.yaml:2:36: upstreams[0].default: expected true or false, got "
                        "'yes'"));
  // manifest_ttl may be zero (always revalidate); timeouts may not.
  auto zeroTtl =
      load("upstreams:\n  - {name: a, url: 'https://a.io', default: true, manifest_ttl: 0}\n");
  REQUIRE(zeroTtl);
  CHECK(zeroTtl->upstreams[0].manifestTtlMs == 0);
}

TEST_CASE("errors: duplicate upstream names, registries and prefixes") {
  const char* dupName = R"(upstreams:
  - name: hub
    url: https://a.io
    registries: [docker.io]
  - name: hub
    url: https://b.io
    registries: [quay.io]
)";
  CHECK(loadError(dupName) ==
        "hoard.yaml:5:5: upstreams[1].name: duplicate upstream name 'hub' (also upstreams[0], "
        "line 2)");

  const char* dupRegistry = R"(upstreams:
  - name: a
    url: https://a.io
    registries: [docker.io]
  - name: b
    url: https://b.io
    registries: [quay.io, docker.io]
)";
  CHECK_THAT(loadError(dupRegistry),
             StartsWith("hoard.yaml:7:27: upstreams[1].registries[1]: registry 'docker.io' is "
                        "already served by upstream 'a'"));

  CHECK_THAT(loadError("upstreams:\n  - {name: a, url: 'https://a.io', registries: [x.io, "
                       "x.io]}\n"),
             StartsWith("hoard.yaml:2:55: upstreams[0].registries[1]: registry 'x.io' listed "
                        "twice"));

  const char* dupPrefix = R"(upstreams:
  - {name: a, url: "https://a.io", prefix: mirror, default: true}
  - {name: b, url: "https://b.io", prefix: mirror}
)";
  CHECK_THAT(loadError(dupPrefix),
             StartsWith("hoard.yaml:3:36: upstreams[1].prefix: duplicate prefix 'mirror' "
                        "(already used by upstream 'a'"));

  const char* twoDefaults = R"(upstreams:
  - {name: a, url: "https://a.io", prefix: a, default: true}
  - {name: b, url: "https://b.io", prefix: b, default: true}
)";
  CHECK_THAT(loadError(twoDefaults),
             StartsWith("hoard.yaml:3:47: upstreams[1].default: upstream 'a' is already the "
                        "default oci upstream"));
}

TEST_CASE("errors: missing required keys point at the entry") {
  CHECK(loadError("upstreams:\n  - name: a\n    registries: [docker.io]\n") ==
        "hoard.yaml:2:5: upstreams[0]: missing required key 'url'");
  CHECK(loadError("upstreams:\n  - url: https://a.io\n") ==
        "hoard.yaml:2:5: upstreams[0]: missing required key 'name'");
  CHECK_THAT(loadError("upstreams:\n  - {name: a, url: 'https://a.io', default: true, auth: "
                       "{username: u}}\n"),
             StartsWith("hoard.yaml:2:51: upstreams[0].auth: missing required key 'password'"));
}

TEST_CASE("errors: wrong types") {
  CHECK(loadError("store: [a, b]\n") == "hoard.yaml:1:1: store: expected a map, got a list");
  CHECK(loadError("log: info\n") == "hoard.yaml:1:1: log: expected a map, got a single value");
  CHECK(loadError("upstreams:\n  name: a\n") ==
        "hoard.yaml:1:1: upstreams: expected a list, got a map");
  CHECK(loadError("upstreams:\n  - just-a-name\n") ==
        "hoard.yaml:2:5: upstreams[0]: expected a map (name:, url:, ...), got a single value");
  CHECK_THAT(loadError("upstreams:\n  - {name: a, url: 'https://a.io', registries: docker.io}\n"),
             StartsWith("hoard.yaml:2:36: upstreams[0].registries: expected a list, got a single "
                        "value"));
  CHECK(loadError("listen: [127.0.0.1, 5050]\n") ==
        "hoard.yaml:1:1: listen: expected a single value, got a list");
  CHECK(loadError("listen:\n") == "hoard.yaml:1:1: listen: expected a single value, got nothing");
  CHECK(loadError("- a\n- b\n") ==
        "hoard.yaml:1:1: expected a map of settings at the top level, got a list");
  CHECK(loadError("upstreams: []\n") ==
        "hoard.yaml:1:1: upstreams: must list at least one upstream");
}

TEST_CASE("errors: values that make no sense for the upstream") {
  CHECK_THAT(loadError("upstreams:\n  - {name: Hub, url: 'https://a.io'}\n"),
             StartsWith("hoard.yaml:2:6: upstreams[0].name: must match [a-z0-9_-]+"));
  CHECK_THAT(loadError("upstreams:\n  - {name: a, kind: docker, url: 'https://a.io'}\n"),
             StartsWith("hoard.yaml:2:15: upstreams[0].kind: must be one of oci, npm, pypi, go"));
  CHECK_THAT(
      loadError("upstreams:\n  - {name: p, kind: pypi, url: 'https://p.io', prefix: p}\n"),
      StartsWith("hoard.yaml:2:48: upstreams[0].prefix: only valid for kind oci (this upstream "
                 "is pypi)"));
  CHECK_THAT(loadError("upstreams:\n  - {name: a, url: 'https://a.io', registries: "
                       "['https://docker.io']}\n"),
             StartsWith("hoard.yaml:2:49: upstreams[0].registries[0]: must be a registry host"));
  CHECK_THAT(loadError("upstreams:\n  - {name: a, url: 'https://a.io', prefix: '../x'}\n"),
             StartsWith("hoard.yaml:2:36: upstreams[0].prefix: must match"));
  CHECK(loadError("upstreams:\n  - {name: lost, url: 'https://a.io'}\n") ==
        "hoard.yaml:2:5: upstreams[0]: upstream 'lost' is unreachable: give it registries:, a "
        "prefix:, or default: true");
  CHECK_THAT(loadError("listen: 5050\n"), StartsWith("hoard.yaml:1:1: listen: "));
  CHECK_THAT(loadError("log: {level: loud}\n"),
             StartsWith("hoard.yaml:1:7: log.level: must be one of"));
  CHECK_THAT(loadError("store: {path: ''}\n"),
             StartsWith("hoard.yaml:1:9: store.path: must not be empty"));
}

TEST_CASE("errors: unset environment variable is named at its key") {
  CHECK(loadError("store:\n  path: ${HOARD_TEST_NOPE}/x\n") ==
        "hoard.yaml:2:3: store.path: environment variable 'HOARD_TEST_NOPE' is not set (use "
        "${HOARD_TEST_NOPE:-default} to allow that)");
}

TEST_CASE("errors: broken YAML reports the parser's position") {
  CHECK_THAT(loadError("store: { path: /x\nlisten: a\n"), StartsWith("hoard.yaml:"));
  CHECK_THAT(loadError("upstreams: [a, b\n"), StartsWith("hoard.yaml:2:1: invalid YAML: "));
  // A bare '-' starts a list in block style; tell the user to quote it.
  CHECK_THAT(
      loadError("log:\n  access: -\n"),
      StartsWith("hoard.yaml:2:11: invalid YAML: illegal block entry") && Contains("quoted"));
  CHECK_THAT(loadError("listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n"),
             Contains("only one YAML document"));
}

TEST_CASE("loadConfigFile reads a file and names it in errors") {
  TempFile good("listen: 127.0.0.1:5151\n");
  auto r = loadConfigFile(good.path.string(), fakeEnv());
  REQUIRE(r);
  CHECK(r->server.listen == "127.0.0.1:5151");
  CHECK(r->sourceFile == good.path.string());

  TempFile bad("# comment\nlisten: nope\n");
  auto e = loadConfigFile(bad.path.string(), fakeEnv());
  REQUIRE_FALSE(e);
  CHECK_THAT(e.error(), StartsWith(bad.path.string() + ":2:1: listen: "));

  auto missing = loadConfigFile("/nonexistent/hoard.yaml");
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error(),
             StartsWith("/nonexistent/hoard.yaml: cannot read: No such file or directory"));

  auto dir = loadConfigFile(std::filesystem::temp_directory_path().string());
  REQUIRE_FALSE(dir);
  CHECK_THAT(dir.error(), Contains("is a directory"));
}

TEST_CASE("loadConfigString without an env uses the process environment") {
  ::setenv("HOARD_CONF_LOADER_TEST", "127.0.0.1:5252", 1);
  auto r = loadConfigString("listen: ${HOARD_CONF_LOADER_TEST}\n", "inline");
  ::unsetenv("HOARD_CONF_LOADER_TEST");
  REQUIRE(r);
  CHECK(r->server.listen == "127.0.0.1:5252");
  CHECK(r->sourceFile == "inline");
}

TEST_CASE("pypi upstreams: file hosts, a 10 minute page TTL by default, the only one is default") {
  auto r = load(
      "upstreams:\n"
      "  - {name: idx, kind: pypi, url: 'http://127.0.0.1:9/simple/',\n"
      "     file_hosts: ['http://127.0.0.1:10/', 'https://files.example']}\n");
  REQUIRE(r);
  REQUIRE(r->upstreams.size() == 1);
  const auto& u = r->upstreams[0];
  CHECK(u.url == "http://127.0.0.1:9/simple");
  CHECK(u.fileHosts == std::vector<std::string>{"http://127.0.0.1:10", "https://files.example"});
  CHECK(u.manifestTtlMs == 600'000);
  CHECK(u.isDefault);

  auto ttl =
      load("upstreams:\n  - {name: idx, kind: pypi, url: 'http://a.io', manifest_ttl: 1m}\n");
  REQUIRE(ttl);
  CHECK(ttl->upstreams[0].manifestTtlMs == 60'000);

  CHECK_THAT(
      loadError("upstreams:\n  - {name: a, url: 'https://a.io', file_hosts: ['https://b.io']}\n"),
      Contains("file_hosts: only valid for kind pypi"));
  CHECK_THAT(
      loadError("upstreams:\n  - {name: a, kind: pypi, url: 'https://a.io', file_hosts: [nope]}\n"),
      Contains("invalid URL 'nope'"));
}

TEST_CASE("go upstreams: checksum database, private module prefixes, a 1 minute TTL by default") {
  auto r = load(
      "upstreams:\n"
      "  - {name: pub, kind: go, url: 'http://127.0.0.1:9', sumdb: {name: sum.fixture.test, url: "
      "'http://127.0.0.1:9/sumdb/sum.fixture.test'}}\n"
      "  - {name: corp, kind: go, url: 'http://127.0.0.1:10', modules: ['corp.example/', "
      "'github.com/Corp/']}\n");
  REQUIRE(r);
  REQUIRE(r->upstreams.size() == 2);
  const auto& pub = r->upstreams[0];
  CHECK(pub.sumdbName == "sum.fixture.test");
  CHECK(pub.sumdbUrl == "http://127.0.0.1:9/sumdb/sum.fixture.test");
  CHECK(pub.manifestTtlMs == 60'000);
  CHECK(pub.isDefault);
  const auto& corp = r->upstreams[1];
  CHECK(corp.modulePrefixes == std::vector<std::string>{"corp.example/", "github.com/Corp/"});
  CHECK_FALSE(corp.isDefault);
  CHECK_THAT(
      loadError("upstreams:\n  - {name: a, kind: pypi, url: 'https://a.io', modules: [x.io/]}\n"),
      Contains("modules: only valid for kind go"));
  CHECK_THAT(
      loadError("upstreams:\n  - {name: a, kind: go, url: 'https://a.io', modules: ['../x']}\n"),
      Contains("invalid module path prefix"));
  CHECK_THAT(
      loadError("upstreams:\n  - {name: a, kind: go, url: 'https://a.io', sumdb: {name: s.io}}\n"),
      Contains("url"));
}

TEST_CASE("store: watermarks, pins and metadata retention") {
  auto r = load(
      "store:\n  max_size: 1000\n  high_watermark: 95%\n  low_watermark: 50\n"
      "  pin: [npm:lodash, 'oci:docker.io/library/*', \"sha256:${PINNED:-abc}\"]\n"
      "  metadata_retention: 36h\n");
  INFO((r ? "" : r.error()));
  REQUIRE(r);
  CHECK(r->store.highWatermarkPercent == 95);
  CHECK(r->store.lowWatermarkPercent == 50);
  CHECK(r->store.highWatermarkBytes() == 950);
  CHECK(r->store.lowWatermarkBytes() == 500);
  CHECK(r->store.pins ==
        std::vector<std::string>{"npm:lodash", "oci:docker.io/library/*", "sha256:abc"});
  CHECK(r->store.metadataRetentionMs == 36ull * 3600 * 1000);

  CHECK(load("store: { metadata_retention: forever }\n")->store.metadataRetentionMs == kForever);
  CHECK(load("store: { metadata_retention: 0s }\n")->store.metadataRetentionMs == 0);
  CHECK(load("store: { high_watermark: 100, low_watermark: 99 }\n"));
  // Percentages of a huge max_size do not overflow.
  auto big = load("store: { max_size: 16EiB, high_watermark: 90 }\n");
  if (big) CHECK(big->store.highWatermarkBytes() > big->store.lowWatermarkBytes());
  Config c;
  c.store.maxSizeBytes = UINT64_MAX;
  CHECK(c.store.highWatermarkBytes() == UINT64_MAX / 100 * 90 + UINT64_MAX % 100 * 90 / 100);
  CHECK(c.store.lowWatermarkBytes() < c.store.highWatermarkBytes());
}

TEST_CASE("store: bad watermarks, pins and retention are errors with their place") {
  CHECK(loadError("store:\n  high_watermark: 80\n  low_watermark: 80\n") ==
        "hoard.yaml:1:1: store: low_watermark (80%) must be at least 1 and below high_watermark "
        "(80%)");
  // Only low given, above the default high mark.
  CHECK_THAT(loadError("store: { low_watermark: 95 }\n"),
             StartsWith("hoard.yaml:1:1: store: low_watermark (95%) must be at least 1 and below "
                        "high_watermark (90%)"));
  CHECK_THAT(loadError("store: { high_watermark: 101 }\n"),
             StartsWith("hoard.yaml:1:10: store.high_watermark: must be between 1 and 100"));
  CHECK_THAT(loadError("store: { low_watermark: 0 }\n"),
             StartsWith("hoard.yaml:1:10: store.low_watermark: must be between 1 and 100"));
  CHECK_THAT(loadError("store: { high_watermark: ninety }\n"),
             StartsWith("hoard.yaml:1:10: store.high_watermark: expected a percentage such as 90 "
                        "or 90%, got 'ninety'"));
  CHECK_THAT(loadError("store: { high_watermark: 9.5% }\n"),
             StartsWith("hoard.yaml:1:10: store.high_watermark: expected a percentage"));
  CHECK_THAT(loadError("store: { pin: npm:lodash }\n"),
             StartsWith("hoard.yaml:1:10: store.pin: expected a list of patterns"));
  CHECK_THAT(loadError("store:\n  pin: [a, '']\n"),
             StartsWith("hoard.yaml:2:12: store.pin[1]: must not be empty"));
  CHECK_THAT(loadError("store:\n  pin: [[a]]\n"),
             StartsWith("hoard.yaml:2:9: store.pin[0]: expected a pattern, got a list"));
  CHECK_THAT(loadError("store: { metadata_retention: soon }\n"),
             StartsWith("hoard.yaml:1:10: store.metadata_retention: "));
}
