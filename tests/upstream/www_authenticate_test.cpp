#include "upstream/www_authenticate.h"

#include <catch2/catch.hpp>

using hoard::parseWwwAuthenticate;

TEST_CASE("WWW-Authenticate: Docker Hub style Bearer challenge") {
  auto cs = parseWwwAuthenticate(
      R"(Bearer realm="https://auth.example.io/token",service="registry.example.io",scope="repository:library/alpine:pull")");
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].scheme == "bearer");
  CHECK(cs[0].param("realm") == "https://auth.example.io/token");
  CHECK(cs[0].param("service") == "registry.example.io");
  CHECK(cs[0].param("scope") == "repository:library/alpine:pull");
  CHECK_FALSE(cs[0].param("error"));
}

TEST_CASE(
    "WWW-Authenticate: case-insensitive scheme and names, spaces, escapes, commas in quotes") {
  auto cs = parseWwwAuthenticate(
      R"(  bEaReR   Realm = "https://a/t?x=1,y=2" ,  SCOPE="repository:a/b:pull,push",error="insufficient_scope", desc="say \"hi\" \\ ok")");
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].scheme == "bearer");
  CHECK(cs[0].param("realm") == "https://a/t?x=1,y=2");
  CHECK(cs[0].param("scope") == "repository:a/b:pull,push");
  CHECK(cs[0].param("error") == "insufficient_scope");
  CHECK(cs[0].param("desc") == R"(say "hi" \ ok)");
}

TEST_CASE("WWW-Authenticate: Basic with quoted and unquoted realm") {
  auto a = parseWwwAuthenticate(R"(Basic realm="Registry Realm")");
  REQUIRE(a.size() == 1);
  CHECK(a[0].scheme == "basic");
  CHECK(a[0].param("realm") == "Registry Realm");
  auto b = parseWwwAuthenticate("Basic realm=registry");
  REQUIRE(b.size() == 1);
  CHECK(b[0].param("realm") == "registry");
}

TEST_CASE("WWW-Authenticate: several challenges in one value") {
  auto cs = parseWwwAuthenticate(
      R"(Basic realm="r1", Bearer realm="https://t/token",service="s", Negotiate abc+/==, Digest)");
  REQUIRE(cs.size() == 4);
  CHECK(cs[0].scheme == "basic");
  CHECK(cs[0].param("realm") == "r1");
  CHECK(cs[0].params.size() == 1);
  CHECK(cs[1].scheme == "bearer");
  CHECK(cs[1].param("realm") == "https://t/token");
  CHECK(cs[1].param("service") == "s");
  CHECK(cs[2].scheme == "negotiate");
  CHECK(cs[2].token68 == "abc+/==");
  CHECK(cs[3].scheme == "digest");
  CHECK(cs[3].params.empty());
}

TEST_CASE("WWW-Authenticate: junk never crashes and yields what it can") {
  CHECK(parseWwwAuthenticate("").empty());
  CHECK(parseWwwAuthenticate(" , ,, ").empty());
  auto unterminated = parseWwwAuthenticate(R"(Bearer realm="https://x)");
  REQUIRE(unterminated.size() == 1);
  CHECK(unterminated[0].param("realm") == "https://x");
  auto trailingEscape = parseWwwAuthenticate("Bearer realm=\"a\\");
  REQUIRE(trailingEscape.size() == 1);
  CHECK(trailingEscape[0].param("realm") == "a");
  // "realm=" followed by a comma is a token68 by the grammar (an auth-param
  // value cannot be empty); either way nothing after it may be lost.
  auto noValue = parseWwwAuthenticate("Bearer realm=,service=\"s\"");
  REQUIRE(!noValue.empty());
  CHECK(noValue[0].scheme == "bearer");
  for (std::string s : {"=", "\"", "Bearer =", "Bearer ==,\"", "Bearer a=\"b\" junk c=d", "@@@",
                        "Bearer realm=\"x\"\"y\""}) {
    (void)parseWwwAuthenticate(s);
  }
  auto bad = parseWwwAuthenticate("Bearer realm=\"x\" junk, service=\"s\"");
  REQUIRE(!bad.empty());
  CHECK(bad[0].param("realm") == "x");
}
