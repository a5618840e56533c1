#include "daemon/go/paths.h"

#include <catch2/catch.hpp>

using hoard::go::GoPath;
using hoard::go::isCanonicalVersion;
using hoard::go::isValidModulePath;
using hoard::go::parseGoPath;
using hoard::go::unescapeCase;

TEST_CASE("go paths: the GOPROXY protocol, with the case-encoding the go command sends") {
  auto p = parseGoPath("github.com/%21burnt%21sushi/toml/@v/v1.2.0.mod");
  REQUIRE(p);
  CHECK(p->kind == GoPath::Kind::Mod);
  CHECK(p->module == "github.com/!burnt!sushi/toml");  // the escaped form goes upstream
  CHECK(p->modulePath == "github.com/BurntSushi/toml");
  CHECK(p->version == "v1.2.0");
  CHECK(p->canonicalVersion);

  CHECK(parseGoPath("github.com/google/uuid/@v/list")->kind == GoPath::Kind::List);
  CHECK(parseGoPath("github.com/google/uuid/@latest")->kind == GoPath::Kind::Latest);
  CHECK(parseGoPath("github.com/google/uuid/@v/v1.3.0.zip")->kind == GoPath::Kind::Zip);
  auto info = parseGoPath("github.com/google/uuid/@v/master.info");
  REQUIRE(info);
  CHECK(info->kind == GoPath::Kind::Info);
  CHECK_FALSE(info->canonicalVersion);  // a query: short TTL
  CHECK(parseGoPath("github.com/google/uuid/@v/v1.3.0.info")->canonicalVersion);
  CHECK(parseGoPath("golang.org/x/sync/@v/v0.0.0-20220722155255-886fb9371eb4.zip"));
  CHECK(parseGoPath("github.com/a/b/@v/v2.0.0+incompatible.mod"));
}

TEST_CASE("go paths: bad module paths, versions and tricks are refused") {
  for (const char* bad : {
           "github.com/BurntSushi/toml/@v/v1.2.0.mod",  // upper case must be !-encoded
           "github.com/!!x/y/@v/list",
           "github.com/!/y/@v/list",
           "github.com/../etc/@v/list",
           "github.com/%2e%2e/etc/@v/list",
           "github.com//x/@v/list",
           "nodot/x/@v/list",
           "-bad.com/x/@v/list",
           "github.com/x/@v/master.zip",  // .zip only for canonical versions
           "github.com/x/@v/v1.2.zip",
           "github.com/x/@v/v1.2.3.tar",
           "github.com/x/@v/.mod",
           "github.com/x/@v/..%2f..%2fx.info",
           "github.com/x/@v/v1.0.0.info%00",
           "github.com/x",
           "github.com/x/@v/",
           "",
           "%zz",
       }) {
    INFO(bad);
    CHECK_FALSE(parseGoPath(bad));
  }
}

TEST_CASE("go paths: checksum-database routes") {
  auto s = parseGoPath("sumdb/sum.golang.org/supported");
  REQUIRE(s);
  CHECK(s->kind == GoPath::Kind::SumdbSupported);
  CHECK(s->sumdbHost == "sum.golang.org");
  auto l = parseGoPath("sumdb/sum.golang.org/lookup/github.com/%21burnt%21sushi/toml@v1.2.0");
  REQUIRE(l);
  CHECK(l->kind == GoPath::Kind::SumdbLookup);
  CHECK(l->modulePath == "github.com/BurntSushi/toml");
  CHECK(l->version == "v1.2.0");
  CHECK(l->sumdbRest == "lookup/github.com/!burnt!sushi/toml@v1.2.0");
  auto t = parseGoPath("sumdb/sum.golang.org/tile/8/0/x001/x234/567");
  REQUIRE(t);
  CHECK(t->kind == GoPath::Kind::SumdbTile);
  CHECK_FALSE(t->partialTile);
  auto pt = parseGoPath("sumdb/sum.golang.org/tile/8/data/005.p/13");
  REQUIRE(pt);
  CHECK(pt->partialTile);
  CHECK(parseGoPath("sumdb/sum.golang.org/latest")->kind == GoPath::Kind::SumdbLatest);
  CHECK_FALSE(parseGoPath("sumdb/sum.golang.org/tile/../../x"));
  CHECK_FALSE(parseGoPath("sumdb/sum.golang.org/other"));
  CHECK_FALSE(parseGoPath("sumdb/nodot/supported"));
  CHECK_FALSE(parseGoPath("sumdb/sum.golang.org/lookup/github.com/X/y@v1.0.0"));
}

TEST_CASE("go versions and module paths") {
  CHECK(isCanonicalVersion("v1.2.3"));
  CHECK(isCanonicalVersion("v0.0.0-20230101000000-abcdef123456"));
  CHECK(isCanonicalVersion("v1.2.3-rc.1"));
  CHECK(isCanonicalVersion("v2.0.0+incompatible"));
  CHECK_FALSE(isCanonicalVersion("v1.2"));
  CHECK_FALSE(isCanonicalVersion("1.2.3"));
  CHECK_FALSE(isCanonicalVersion("v01.2.3"));
  CHECK_FALSE(isCanonicalVersion("v1.2.3+build"));
  CHECK_FALSE(isCanonicalVersion("v1.2.3-01"));
  CHECK_FALSE(isCanonicalVersion("master"));
  CHECK(isValidModulePath("golang.org/x/mod"));
  CHECK(isValidModulePath("github.com/BurntSushi/toml"));
  CHECK_FALSE(isValidModulePath("Github.com/x"));
  CHECK_FALSE(isValidModulePath("github.com/x/"));
  CHECK_FALSE(isValidModulePath("github.com/.x"));
  CHECK(*unescapeCase("github.com/!burnt!sushi") == "github.com/BurntSushi");
  CHECK_FALSE(unescapeCase("github.com/!1"));
}
