#include "daemon/cli/warm_semver.h"

#include <catch2/catch.hpp>

using namespace hoard::cli::semver;

namespace {

bool sat(const char* range, const char* version) {
  auto r = Range::parse(range);
  auto v = parseVersion(version);
  REQUIRE(r.has_value());
  REQUIRE(v.has_value());
  return r->satisfies(*v);
}

}  // namespace

TEST_CASE("semver versions parse and order like node-semver") {
  CHECK(parseVersion("1.2.3").has_value());
  CHECK(parseVersion("v1.2.3").has_value());
  CHECK(parseVersion("=1.2.3").has_value());
  CHECK(parseVersion("1.2.3-beta.1+build.5").has_value());
  CHECK_FALSE(parseVersion("1.2").has_value());
  CHECK_FALSE(parseVersion("1.2.x").has_value());
  CHECK_FALSE(parseVersion("01.2.3").has_value());
  CHECK_FALSE(parseVersion("1.2.3-").has_value());
  CHECK_FALSE(parseVersion("latest").has_value());

  auto v = [](const char* t) { return *parseVersion(t); };
  CHECK(v("1.0.0-alpha") < v("1.0.0-alpha.1"));
  CHECK(v("1.0.0-alpha.1") < v("1.0.0-alpha.beta"));
  CHECK(v("1.0.0-alpha.beta") < v("1.0.0-beta"));
  CHECK(v("1.0.0-beta.2") < v("1.0.0-beta.11"));
  CHECK(v("1.0.0-rc.1") < v("1.0.0"));
  CHECK(v("1.0.0") < v("1.0.1"));
  CHECK(v("1.9.0") < v("1.10.0"));
  CHECK(v("1.0.0+a") == v("1.0.0+b"));
}

TEST_CASE("semver exact and comparison ranges") {
  CHECK(sat("1.2.3", "1.2.3"));
  CHECK_FALSE(sat("1.2.3", "1.2.4"));
  CHECK(sat("=1.2.3", "1.2.3"));
  CHECK(sat(">=1.2.3", "1.2.3"));
  CHECK(sat(">=1.2.3", "2.0.0"));
  CHECK_FALSE(sat(">1.2.3", "1.2.3"));
  CHECK(sat("<2.0.0", "1.9.9"));
  CHECK_FALSE(sat("<2.0.0", "2.0.0"));
  CHECK(sat("<=2.0.0", "2.0.0"));
  CHECK(sat(">= 1.2.3 < 2", "1.5.0"));
  CHECK_FALSE(sat(">=1.2.3 <2", "2.0.0"));
  // partial versions with operators
  CHECK(sat(">1", "2.0.0"));
  CHECK_FALSE(sat(">1", "1.9.0"));
  CHECK(sat("<=1.2", "1.2.9"));
  CHECK_FALSE(sat("<=1.2", "1.3.0"));
  CHECK_FALSE(sat("<1.2", "1.2.0"));
}

TEST_CASE("semver caret, tilde and x-ranges") {
  CHECK(sat("^1.2.3", "1.9.0"));
  CHECK_FALSE(sat("^1.2.3", "2.0.0"));
  CHECK_FALSE(sat("^1.2.3", "1.2.2"));
  CHECK(sat("^0.2.3", "0.2.9"));
  CHECK_FALSE(sat("^0.2.3", "0.3.0"));
  CHECK(sat("^0.0.3", "0.0.3"));
  CHECK_FALSE(sat("^0.0.3", "0.0.4"));
  CHECK(sat("^0.x", "0.9.0"));
  CHECK(sat("^1.x", "1.4.0"));
  CHECK(sat("~1.2.3", "1.2.9"));
  CHECK_FALSE(sat("~1.2.3", "1.3.0"));
  CHECK(sat("~1", "1.9.0"));
  CHECK_FALSE(sat("~1", "2.0.0"));
  CHECK(sat("1.x", "1.5.5"));
  CHECK(sat("1.2.*", "1.2.7"));
  CHECK_FALSE(sat("1.2.*", "1.3.0"));
  CHECK(sat("*", "3.4.5"));
  CHECK(sat("", "0.0.1"));
  CHECK(sat("1", "1.0.5"));
  CHECK(sat("1.2 - 2.3.4", "2.3.4"));
  CHECK_FALSE(sat("1.2 - 2.3.4", "2.3.5"));
  CHECK(sat("1.2.3 - 2", "2.9.9"));
  CHECK_FALSE(sat("1.2.3 - 2", "3.0.0"));
  CHECK(sat("^1.0.0 || ^3.0.0", "3.1.0"));
  CHECK_FALSE(sat("^1.0.0 || ^3.0.0", "2.1.0"));
}

TEST_CASE("semver pre-releases match only ranges that opt into their line") {
  CHECK_FALSE(sat("^1.0.0", "1.1.0-beta.1"));
  CHECK_FALSE(sat("*", "1.0.0-rc.1"));
  CHECK(sat("^1.1.0-beta.1", "1.1.0-beta.2"));
  CHECK_FALSE(sat("^1.1.0-beta.1", "1.2.0-beta.1"));
  CHECK(sat("^1.1.0-beta.1", "1.2.0"));
  CHECK(sat(">=2.0.0-beta.1", "2.0.0-beta.1"));
  CHECK_FALSE(sat("<2.0.0", "2.0.0-beta.1"));
}

TEST_CASE("semver rejects what is not a range") {
  CHECK_FALSE(Range::parse("latest").has_value());
  CHECK_FALSE(Range::parse("next").has_value());
  CHECK_FALSE(Range::parse("1.x.3").has_value());
  CHECK_FALSE(Range::parse(">=").has_value());
  CHECK_FALSE(Range::parse("^1.2.3.4").has_value());
}

TEST_CASE("pickVersion chooses what npm would install") {
  std::vector<std::string> versions = {"1.0.0", "1.1.0", "1.2.0",     "2.0.0-beta.1",
                                       "2.0.0", "2.1.0", "3.0.0-rc.1"};
  std::map<std::string, std::string> tags = {{"latest", "1.2.0"}, {"next", "3.0.0-rc.1"}};
  CHECK(pickVersion(versions, tags, "latest") == "1.2.0");
  CHECK(pickVersion(versions, tags, "next") == "3.0.0-rc.1");
  CHECK(pickVersion(versions, tags, "*") == "1.2.0");  // latest wins when it satisfies
  CHECK(pickVersion(versions, tags, "^2") == "2.1.0");
  CHECK(pickVersion(versions, tags, "~1.1") == "1.1.0");
  CHECK(pickVersion(versions, tags, "2.0.0-beta.1") == "2.0.0-beta.1");
  CHECK(pickVersion(versions, tags, ">=2.0.0 <2.1.0") == "2.0.0");
  CHECK(pickVersion(versions, tags, "^1.0.0 || ^2.0.0") == "1.2.0");
  CHECK(pickVersion(versions, tags, ">1.2.0 <3") == "2.1.0");
  CHECK_FALSE(pickVersion(versions, tags, "^4").has_value());
  CHECK_FALSE(pickVersion(versions, tags, "beta").has_value());  // no such dist-tag
  CHECK(pickVersion(versions, {}, "*") == "2.1.0");              // no latest tag: highest release
}
