#include "daemon/oci/reference.h"

#include <catch2/catch.hpp>

using namespace hoard::oci;

namespace {
std::optional<OciPath> parse(std::string_view p, PathError& e) {
  return parseOciPath(p, e);
}
const std::string kDigest = "sha256:" + std::string(64, 'b');
}  // namespace

TEST_CASE("parseOciPath recognises every read endpoint") {
  PathError e;
  auto base = parse("/v2/", e);
  REQUIRE(base);
  CHECK(base->endpoint == Endpoint::Base);

  auto m = parse("/v2/library/alpine/manifests/3.19", e);
  REQUIRE(m);
  CHECK(m->endpoint == Endpoint::Manifest);
  CHECK(m->name == "library/alpine");
  CHECK(m->reference == "3.19");
  CHECK_FALSE(m->digest);

  auto b = parse("/v2/a/b/c/blobs/" + kDigest, e);
  REQUIRE(b);
  CHECK(b->endpoint == Endpoint::Blob);
  CHECK(b->name == "a/b/c");
  REQUIRE(b->digest);

  auto t = parse("/v2/team/app/tags/list", e);
  REQUIRE(t);
  CHECK(t->endpoint == Endpoint::TagsList);
  CHECK(t->name == "team/app");

  auto r = parse("/v2/team/app/referrers/" + kDigest, e);
  REQUIRE(r);
  CHECK(r->endpoint == Endpoint::Referrers);
}

TEST_CASE("a name may contain an endpoint word as a component") {
  PathError e;
  auto m = parse("/v2/blobs/manifests/manifests/latest", e);
  REQUIRE(m);
  CHECK(m->name == "blobs/manifests");
  CHECK(m->reference == "latest");
}

TEST_CASE("parseOciPath rejects traversal and bad grammar with the right error") {
  PathError e;
  CHECK_FALSE(parse("/v2/../etc/passwd/manifests/latest", e));
  CHECK(e == PathError::NameInvalid);
  CHECK_FALSE(parse("/v2/%2e%2e/x/manifests/latest", e));
  CHECK(e == PathError::NameInvalid);
  CHECK_FALSE(parse("/v2/Library/alpine/manifests/latest", e));
  CHECK(e == PathError::NameInvalid);
  CHECK_FALSE(parse("/v2/a//b/manifests/latest", e));
  CHECK(e == PathError::NameInvalid);
  CHECK_FALSE(parse("/v2/a-/manifests/latest", e));
  CHECK(e == PathError::NameInvalid);
  CHECK_FALSE(parse("/v2/alpine/manifests/..", e));
  CHECK(e == PathError::TagInvalid);
  CHECK_FALSE(parse("/v2/alpine/manifests/" + std::string(129, 'a'), e));
  CHECK(e == PathError::TagInvalid);
  CHECK_FALSE(parse("/v2/alpine/blobs/sha256:abc", e));
  CHECK(e == PathError::DigestInvalid);
  CHECK_FALSE(parse("/v2/alpine/blobs/latest", e));
  CHECK(e == PathError::DigestInvalid);
  CHECK_FALSE(parse("/v2/alpine/manifests/sha256:../../x", e));
  CHECK(e == PathError::DigestInvalid);
  CHECK_FALSE(parse("/v2/alpine/nothing", e));
  CHECK(e == PathError::NotFound);
  CHECK_FALSE(parse("/etc/passwd", e));
  CHECK(e == PathError::NotFound);
}

TEST_CASE("name and tag grammar") {
  CHECK(isValidName("a"));
  CHECK(isValidName("a.b_c__d---e/f"));
  CHECK_FALSE(isValidName("a___b"));
  CHECK_FALSE(isValidName("a..b"));
  CHECK_FALSE(isValidName(std::string(256, 'a')));
  CHECK(isValidTag("v1.2.3-rc_1"));
  CHECK(isValidTag("_x"));
  CHECK_FALSE(isValidTag(".x"));
  CHECK_FALSE(isValidTag("-x"));
  CHECK_FALSE(isValidTag("a/b"));
}
