// The `policy:` section (deny_list, allow_list) of hoard.yaml.
#include <catch2/catch.hpp>

#include "conf/describe.h"
#include "conf/loader.h"

using namespace hoard::conf;
using Catch::Contains;

namespace {

std::expected<Config, std::string> load(std::string_view yaml) {
  return loadConfigString(yaml, "hoard.yaml",
                          [](const std::string& name) -> std::optional<std::string> {
                            if (name == "LISTS") return std::string("/etc/hoard");
                            return std::nullopt;
                          });
}

}  // namespace

TEST_CASE("policy: both lists are optional and default to none") {
  auto c = load("listen: 127.0.0.1:5050\n");
  REQUIRE(c);
  CHECK(c->policy.denyList.empty());
  CHECK(c->policy.allowList.empty());
  CHECK_THAT(describeConfig(*c), !Contains("policy:"));
}

TEST_CASE("policy: deny_list and allow_list are paths, ${VAR} expanded") {
  auto c = load("policy:\n  deny_list: ${LISTS}/deny.txt\n  allow_list: allow.txt\n");
  REQUIRE(c);
  CHECK(c->policy.denyList == "/etc/hoard/deny.txt");
  CHECK(c->policy.allowList == "allow.txt");
  CHECK_THAT(describeConfig(*c),
             Contains("policy: deny_list /etc/hoard/deny.txt, allow_list allow.txt"));
}

TEST_CASE("policy: bad values and unknown keys are errors with their position") {
  auto empty = load("policy:\n  deny_list: \"\"\n");
  REQUIRE_FALSE(empty);
  CHECK_THAT(empty.error(), Contains("hoard.yaml:2:3: policy.deny_list: must not be empty"));
  auto unknown = load("policy:\n  deny_lst: x\n");
  REQUIRE_FALSE(unknown);
  CHECK_THAT(unknown.error(), Contains("did you mean 'deny_list'?"));
  auto notMap = load("policy: deny.txt\n");
  REQUIRE_FALSE(notMap);
  CHECK_THAT(notMap.error(), Contains("expected a map"));
}
