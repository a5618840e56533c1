#include "daemon/cli/hosts_toml.h"

#include <catch2/catch.hpp>

using Catch::Contains;
using hoard::cli::hostsToml;

namespace {

// Non-comment, non-blank lines: what containerd actually parses.
std::string tomlBody(const std::string& text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    auto first = line.find_first_not_of(' ');
    if (first == std::string::npos || line[first] == '#') continue;
    out += line + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("hostsToml for docker.io points the server at registry-1.docker.io") {
  std::string t = hostsToml("docker.io", "http://127.0.0.1:5050");
  CHECK(tomlBody(t) ==
        "server = \"https://registry-1.docker.io\"\n"
        "[host.\"http://127.0.0.1:5050\"]\n"
        "  capabilities = [\"pull\", \"resolve\"]\n");
  CHECK_THAT(t, Contains("/etc/containerd/certs.d/docker.io/hosts.toml"));
  CHECK_THAT(t, Contains("config_path = \"/etc/containerd/certs.d\""));
  CHECK_THAT(t, Contains("?ns=docker.io"));
  CHECK(t.find("override_path") == std::string::npos);
  CHECK(t.find("push") == std::string::npos);
}

TEST_CASE("hostsToml for other registries uses https://<registry>") {
  CHECK(tomlBody(hostsToml("ghcr.io", "http://10.0.0.5:5050")) ==
        "server = \"https://ghcr.io\"\n"
        "[host.\"http://10.0.0.5:5050\"]\n"
        "  capabilities = [\"pull\", \"resolve\"]\n");
  std::string t = hostsToml("registry.local:5000", "http://127.0.0.1:5050");
  CHECK_THAT(t, Contains("server = \"https://registry.local:5000\"\n"));
  CHECK_THAT(t, Contains("/etc/containerd/certs.d/registry.local:5000/hosts.toml"));
}

TEST_CASE("hostsToml _default has no server line") {
  CHECK(tomlBody(hostsToml("_default", "http://127.0.0.1:5050")) ==
        "[host.\"http://127.0.0.1:5050\"]\n"
        "  capabilities = [\"pull\", \"resolve\"]\n");
}

TEST_CASE("hostsToml normalises the hoard URL") {
  CHECK_THAT(hostsToml("docker.io", "127.0.0.1:5050"),
             Contains("[host.\"http://127.0.0.1:5050\"]"));
  CHECK_THAT(hostsToml("docker.io", "http://127.0.0.1:5050/"),
             Contains("[host.\"http://127.0.0.1:5050\"]"));
  CHECK_THAT(hostsToml("docker.io", "https://hoard.internal"),
             Contains("[host.\"https://hoard.internal\"]"));
}

TEST_CASE("hostsToml keeps a reverse-proxy mount path and drops /v2 and prefix paths") {
  std::string mount = hostsToml("docker.io", "http://proxy.internal/hoard/");
  CHECK_THAT(mount, Contains("[host.\"http://proxy.internal/hoard\"]"));
  CHECK(mount.find("was dropped") == std::string::npos);

  std::string v2 = hostsToml("docker.io", "http://127.0.0.1:5050/v2/");
  CHECK_THAT(v2, Contains("[host.\"http://127.0.0.1:5050\"]"));
  CHECK(v2.find("was dropped") == std::string::npos);

  std::string prefix = hostsToml("docker.io", "http://127.0.0.1:5050/v2/dockerhub");
  CHECK_THAT(prefix, Contains("[host.\"http://127.0.0.1:5050\"]"));
  CHECK_THAT(prefix, Contains("/v2/dockerhub of the hoard URL was dropped"));
  CHECK(prefix.find("override_path") == std::string::npos);

  CHECK_THAT(hostsToml("docker.io", "http://proxy/hoard/v2/ghcr"),
             Contains("[host.\"http://proxy/hoard\"]"));
  // "/v2x" is not the API root.
  CHECK_THAT(hostsToml("docker.io", "http://proxy/v2x"), Contains("[host.\"http://proxy/v2x\"]"));
}

TEST_CASE("hostsToml escapes TOML strings and keeps comments on one line") {
  std::string t = hostsToml("bad\"reg\nx", "http://h:1/a\"b");
  CHECK_THAT(t, Contains("server = \"https://bad\\\"reg\\u000ax\""));
  CHECK_THAT(t, Contains("[host.\"http://h:1/a\\\"b\"]"));
  // Every line is a comment, blank, or one of the three TOML lines.
  CHECK(tomlBody(t) ==
        "server = \"https://bad\\\"reg\\u000ax\"\n"
        "[host.\"http://h:1/a\\\"b\"]\n"
        "  capabilities = [\"pull\", \"resolve\"]\n");
}
