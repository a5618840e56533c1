#include "daemon/cli/warm_targets.h"

#include <catch2/catch.hpp>

using namespace hoard::cli;

TEST_CASE("parseImageRef follows docker's reference rules") {
  auto r = parseImageRef("alpine:3.19");
  REQUIRE(r.has_value());
  CHECK(r->registry == "docker.io");
  CHECK(r->repository == "library/alpine");
  CHECK(r->reference == "3.19");
  CHECK_FALSE(r->byDigest);

  r = parseImageRef("docker.io/library/alpine");
  REQUIRE(r.has_value());
  CHECK(r->repository == "library/alpine");
  CHECK(r->reference == "latest");

  r = parseImageRef("localhost:5000/team/app:v2");
  REQUIRE(r.has_value());
  CHECK(r->registry == "localhost:5000");
  CHECK(r->repository == "team/app");
  CHECK(r->reference == "v2");

  r = parseImageRef("ghcr.io/org/app:1@sha256:abcd");
  REQUIRE(r.has_value());
  CHECK(r->registry == "ghcr.io");
  CHECK(r->repository == "org/app");
  CHECK(r->reference == "sha256:abcd");
  CHECK(r->byDigest);

  r = parseImageRef("team/app");  // no registry component: docker.io, no library/
  REQUIRE(r.has_value());
  CHECK(r->registry == "docker.io");
  CHECK(r->repository == "team/app");

  CHECK_FALSE(parseImageRef("").has_value());
  CHECK_FALSE(parseImageRef("Alpine:3").has_value());
  CHECK_FALSE(parseImageRef("alpine:").has_value());
  CHECK_FALSE(parseImageRef("alpine@sha256").has_value());
}

TEST_CASE("platforms parse and match index entries") {
  auto p = parsePlatform("linux/arm64/v8");
  REQUIRE(p.has_value());
  CHECK(p->variant == "v8");
  CHECK_FALSE(parsePlatform("linux").has_value());
  CHECK_FALSE(parsePlatform("linux/").has_value());
  CHECK_FALSE(parsePlatform("a/b/c/d").has_value());
  std::vector<Platform> want = {*parsePlatform("linux/amd64"), *p};
  CHECK(platformMatches({}, "windows", "amd64", ""));
  CHECK(platformMatches(want, "linux", "amd64", ""));
  CHECK(platformMatches(want, "linux", "arm64", ""));  // v8 is arm64's default
  CHECK(platformMatches(want, "linux", "arm64", "v8"));
  CHECK_FALSE(platformMatches(want, "linux", "arm", "v7"));
  CHECK_FALSE(platformMatches(want, "unknown", "unknown", ""));
}

TEST_CASE("npm specs split name and range, scoped names too") {
  auto s = parseNpmSpec("lodash@^4.17.0");
  REQUIRE(s.has_value());
  CHECK(s->name == "lodash");
  CHECK(s->range == "^4.17.0");
  s = parseNpmSpec("@acme/util@>=1 <2");
  REQUIRE(s.has_value());
  CHECK(s->name == "@acme/util");
  CHECK(s->range == ">=1 <2");
  s = parseNpmSpec("@acme/util");
  REQUIRE(s.has_value());
  CHECK(s->range == "latest");
  CHECK_FALSE(parseNpmSpec("@acme").has_value());
  CHECK_FALSE(parseNpmSpec("bad name@1").has_value());
  CHECK_FALSE(parseNpmSpec("@/x@1").has_value());
}

TEST_CASE("Go module specs and case encoding") {
  CHECK(goCaseEncode("github.com/BurntSushi/toml") == "github.com/!burnt!sushi/toml");
  auto g = parseGoSpec("golang.org/x/text@v0.3.8");
  REQUIRE(g.has_value());
  CHECK(g->module == "golang.org/x/text");
  CHECK(g->version == "v0.3.8");
  CHECK(parseGoSpec("golang.org/x/text")->version == "latest");
  CHECK_FALSE(parseGoSpec("golang.org/x/text@0.3.8").has_value());
  CHECK_FALSE(parseGoSpec("../etc@v1.0.0").has_value());
  CHECK_FALSE(parseGoSpec("golang.org/x/text@v1/../x").has_value());
}

TEST_CASE("distribution file names give their version") {
  CHECK(distributionVersion("requests-2.31.0-py3-none-any.whl", "requests") == "2.31.0");
  CHECK(distributionVersion("zope.interface-6.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                            "zope-interface") == "6.0");
  CHECK(distributionVersion("foo_bar-1.0.tar.gz", "foo-bar") == "1.0");
  CHECK(distributionVersion("foo-bar-1.0.post1.zip", "foo-bar") == "1.0.post1");
  CHECK_FALSE(distributionVersion("other-1.0.tar.gz", "foo").has_value());
  CHECK_FALSE(distributionVersion("foo-1.0.exe", "foo").has_value());
}
