#include "daemon/npm/names.h"

#include <catch2/catch.hpp>

using namespace hoard::npm;

TEST_CASE("npm paths: packuments in every scoped spelling") {
  for (auto p : {"@acme%2fwidget", "@acme%2Fwidget", "@acme/widget"}) {
    auto r = parseNpmPath(p);
    REQUIRE(r);
    CHECK(r->kind == NpmPath::Kind::Packument);
    CHECK(r->name == "@acme/widget");
    CHECK(r->scope == "@acme");
  }
  auto u = parseNpmPath("left-pad");
  REQUIRE(u);
  CHECK(u->name == "left-pad");
  CHECK(u->scope.empty());
}

TEST_CASE("npm paths: tarballs, including the old scoped form") {
  auto t = parseNpmPath("left-pad/-/left-pad-1.3.0.tgz");
  REQUIRE(t);
  CHECK(t->kind == NpmPath::Kind::Tarball);
  CHECK(t->file == "left-pad-1.3.0.tgz");
  auto s = parseNpmPath("@acme/widget/-/widget-1.0.0.tgz");
  REQUIRE(s);
  CHECK(s->name == "@acme/widget");
  CHECK(s->file == "widget-1.0.0.tgz");
  auto old = parseNpmPath("@acme/widget/-/@acme/widget-1.0.0.tgz");
  REQUIRE(old);
  CHECK(old->file == "widget-1.0.0.tgz");
  auto enc = parseNpmPath("@acme%2fwidget/-/widget-1.0.0.tgz");
  REQUIRE(enc);
  CHECK(enc->name == "@acme/widget");
}

TEST_CASE("npm paths: traversal and junk are refused") {
  for (auto p : {"..", "../etc/passwd", "%2e%2e", ".hidden", "_x", "a/b", "left-pad/-/../../x.tgz",
                 "left-pad/-/x.txt", "@acme", "@acme/", "@/x", "left-pad/1.0.0", "a%20b"}) {
    INFO(p);
    CHECK_FALSE(parseNpmPath(p));
  }
  auto e = parseNpmPath("-/ping");
  REQUIRE(e);
  CHECK(e->kind == NpmPath::Kind::Endpoint);
  CHECK(e->endpoint == "ping");
}
