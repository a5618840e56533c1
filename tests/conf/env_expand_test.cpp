#include "conf/env_expand.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>

using hoard::conf::EnvLookup;
using hoard::conf::expandEnv;

namespace {

EnvLookup fakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_CASE("expandEnv substitutes set variables") {
  auto env = fakeEnv({{"USER_NAME", "alice"}, {"PORT", "5050"}});
  CHECK(expandEnv("${USER_NAME}", env).value() == "alice");
  CHECK(expandEnv("127.0.0.1:${PORT}", env).value() == "127.0.0.1:5050");
  CHECK(expandEnv("${USER_NAME}-${PORT}-${USER_NAME}", env).value() == "alice-5050-alice");
  CHECK(expandEnv("no variables here", env).value() == "no variables here");
  CHECK(expandEnv("", env).value() == "");
}

TEST_CASE("expandEnv fails on an unset variable and names it") {
  auto env = fakeEnv({});
  auto r = expandEnv("token=${GHCR_TOKEN}", env);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::Contains("'GHCR_TOKEN'"));
  CHECK_THAT(r.error(), Catch::Contains("not set"));
}

TEST_CASE("expandEnv uses the default when unset or empty") {
  auto env = fakeEnv({{"EMPTY", ""}, {"SET", "value"}});
  CHECK(expandEnv("${MISSING:-fallback}", env).value() == "fallback");
  CHECK(expandEnv("${EMPTY:-fallback}", env).value() == "fallback");
  CHECK(expandEnv("${SET:-fallback}", env).value() == "value");
  CHECK(expandEnv("${MISSING:-}", env).value() == "");
  CHECK(expandEnv("${MISSING:-127.0.0.1:5050}", env).value() == "127.0.0.1:5050");
  // An empty set variable without a default is used as is (only unset is an error).
  CHECK(expandEnv("[${EMPTY}]", env).value() == "[]");
}

TEST_CASE("expandEnv: $$ escapes a dollar, lone $ is literal") {
  auto env = fakeEnv({{"X", "y"}});
  CHECK(expandEnv("$$", env).value() == "$");
  CHECK(expandEnv("$${X}", env).value() == "${X}");
  CHECK(expandEnv("$$$${X}", env).value() == "$${X}");
  CHECK(expandEnv("$$${X}", env).value() == "$y");
  CHECK(expandEnv("pa$word", env).value() == "pa$word");
  CHECK(expandEnv("cost: 5$", env).value() == "cost: 5$");
}

TEST_CASE("expandEnv does not expand text that came out of a variable") {
  auto env = fakeEnv({{"A", "${B}"}, {"B", "secret"}});
  CHECK(expandEnv("${A}", env).value() == "${B}");
}

TEST_CASE("expandEnv rejects malformed references") {
  auto env = fakeEnv({{"X", "y"}});
  for (const char* bad : {"${X", "${}", "${1X}", "${X-y}", "${ X }", "${X:default}"}) {
    INFO(bad);
    CHECK_FALSE(expandEnv(bad, env));
  }
  CHECK_THAT(expandEnv("abc ${X", env).error(), Catch::Contains("unterminated"));
}

TEST_CASE("processEnv reads the real environment") {
  ::setenv("HOARD_CONF_TEST_VAR", "from-process", 1);
  ::unsetenv("HOARD_CONF_TEST_UNSET");
  auto env = hoard::conf::processEnv();
  CHECK(expandEnv("${HOARD_CONF_TEST_VAR}", env).value() == "from-process");
  CHECK_FALSE(expandEnv("${HOARD_CONF_TEST_UNSET}", env));
  ::unsetenv("HOARD_CONF_TEST_VAR");
}
