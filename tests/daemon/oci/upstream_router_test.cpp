#include "daemon/oci/upstream_router.h"

#include <catch2/catch.hpp>

using namespace hoard;
using namespace hoard::oci;

namespace {
conf::UpstreamConfig upstream(std::string name, std::vector<std::string> regs, std::string prefix,
                              bool isDefault = false) {
  conf::UpstreamConfig u;
  u.name = std::move(name);
  u.url = "http://127.0.0.1:1";
  u.registries = std::move(regs);
  u.prefix = std::move(prefix);
  u.isDefault = isDefault;
  return u;
}
UpstreamRouter router() {
  return UpstreamRouter({upstream("dockerhub", {"docker.io"}, "dockerhub", true),
                         upstream("ghcr", {"ghcr.io"}, "ghcr")});
}
}  // namespace

TEST_CASE("ns selects the upstream and unknown registries are refused") {
  auto r = router();
  RouteError e{};
  auto a = r.route("ghcr.io", "owner/app", e);
  REQUIRE(a);
  CHECK(a->upstream == 1);
  CHECK(a->repository == "owner/app");
  CHECK_FALSE(r.route("evil.example", "owner/app", e));
  CHECK(e == RouteError::UnknownRegistry);
}

TEST_CASE("prefix routing strips the prefix; the default takes the rest") {
  auto r = router();
  RouteError e{};
  auto a = r.route("", "ghcr/owner/app", e);
  REQUIRE(a);
  CHECK(a->upstream == 1);
  CHECK(a->repository == "owner/app");
  auto b = r.route("", "team/app", e);
  REQUIRE(b);
  CHECK(b->upstream == 0);
  CHECK(b->repository == "team/app");
}

TEST_CASE("Docker Hub single-component names get library/") {
  auto r = router();
  RouteError e{};
  CHECK(r.route("docker.io", "alpine", e)->repository == "library/alpine");
  CHECK(r.route("", "dockerhub/alpine", e)->repository == "library/alpine");
  CHECK(r.route("ghcr.io", "alpine", e)->repository == "alpine");
}

TEST_CASE("queryParam finds raw values") {
  CHECK(queryParam("ns=docker.io", "ns") == "docker.io");
  CHECK(queryParam("n=10&ns=ghcr.io&last=x", "ns") == "ghcr.io");
  CHECK(queryParam("nsx=1", "ns").empty());
  CHECK(queryParam("", "ns").empty());
}

TEST_CASE("ns values are percent-decoded as containerd's Go client encodes them") {
  CHECK(decodeNamespace("reg.example%3A5000") == std::optional<std::string>("reg.example:5000"));
  CHECK(decodeNamespace("docker.io") == std::optional<std::string>("docker.io"));
  CHECK_FALSE(decodeNamespace("a%2Fb"));  // '/' is no host character
  CHECK_FALSE(decodeNamespace("bad%3"));
  CHECK_FALSE(decodeNamespace("bad%zz"));
  CHECK(percentDecode("a%2Bb+c") == std::optional<std::string>("a+b c"));
}
