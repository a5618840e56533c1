#include "daemon/cli/warm_requirements.h"

#include <catch2/catch.hpp>
#include <map>

using namespace hoard::cli;

namespace {

std::optional<std::string> pick(const char* requirement, std::vector<pep440::Candidate> c,
                                bool pre = false) {
  auto r = parseRequirement(requirement);
  REQUIRE(r.has_value());
  return pep440::pickVersion(c, r->specifiers, pre);
}

bool matches(const char* spec, const char* version) {
  auto s = pep440::parseSpecifier(spec);
  auto v = pep440::parseVersion(version);
  REQUIRE(s.has_value());
  REQUIRE(v.has_value());
  return s->matches(*v, version);
}

RequirementsFile parse(const std::string& text, std::map<std::string, std::string> others = {}) {
  return parseRequirements(text, "req/requirements.txt",
                           [others](const std::string& p) -> std::optional<std::string> {
                             auto it = others.find(p);
                             if (it == others.end()) return std::nullopt;
                             return it->second;
                           });
}

}  // namespace

TEST_CASE("PEP 440 versions order as pip orders them") {
  auto v = [](const char* t) {
    auto p = pep440::parseVersion(t);
    REQUIRE(p.has_value());
    return *p;
  };
  std::vector<const char*> ordered = {"1.0.dev1",  "1.0a1",     "1.0a2.dev1", "1.0a2",
                                      "1.0b1",     "1.0rc1",    "1.0",        "1.0+local",
                                      "1.0.post1", "1.0.post2", "1.1",        "1!0.5"};
  for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
    INFO(ordered[i] << " < " << ordered[i + 1]);
    CHECK(v(ordered[i]).compare(v(ordered[i + 1])) < 0);
  }
  CHECK(v("1.0").compare(v("1.0.0")) == 0);
  CHECK(v("1.0-1").compare(v("1.0.post1")) == 0);
  CHECK(v("1.0.0RC1").compare(v("1.0rc1")) == 0);
  CHECK(v("v2.0").compare(v("2.0")) == 0);
  CHECK_FALSE(pep440::parseVersion("1.0-foo").has_value());
  CHECK_FALSE(pep440::parseVersion("latest").has_value());
}

TEST_CASE("PEP 440 specifiers") {
  CHECK(matches("==1.0", "1.0.0"));
  CHECK(matches("==1.0", "1.0+local"));
  CHECK_FALSE(matches("==1.0+a", "1.0+b"));
  CHECK(matches("==1.2.*", "1.2.9"));
  CHECK(matches("==1.2.*", "1.2"));
  CHECK_FALSE(matches("==1.2.*", "1.3.0"));
  CHECK(matches("!=1.2.*", "1.3.0"));
  CHECK(matches("~=1.4.2", "1.4.9"));
  CHECK_FALSE(matches("~=1.4.2", "1.5.0"));
  CHECK(matches("~=1.4", "1.9"));
  CHECK_FALSE(matches("~=1.4", "2.0"));
  CHECK(matches(">=2.0", "2.0"));
  CHECK_FALSE(matches(">2.0", "2.0.post1"));  // > excludes post-releases of V
  CHECK(matches(">2.0", "2.0.1"));
  CHECK_FALSE(matches("<2.0", "2.0rc1"));  // < excludes pre-releases of V
  CHECK(matches("<2.0rc2", "2.0rc1"));
  CHECK(matches("<=2.0", "2.0"));
  CHECK(matches("===1.0", "1.0"));
  CHECK_FALSE(matches("===1.0", "1.0.0"));
  CHECK_FALSE(pep440::parseSpecifier("~=1").has_value());
  CHECK_FALSE(pep440::parseSpecifier(">=1.*").has_value());
  CHECK_FALSE(pep440::parseSpecifier("1.0").has_value());
}

TEST_CASE("pickVersion picks the highest allowed release like pip") {
  std::vector<pep440::Candidate> c = {{"1.0", false}, {"1.5", false},   {"2.0", false},
                                      {"2.1", true},  {"3.0b1", false}, {"2.0.1", false}};
  CHECK(pick("pkg", c) == "2.0.1");  // 2.1 is yanked, 3.0b1 a pre-release
  CHECK(pick("pkg>=1,<2", c) == "1.5");
  CHECK(pick("pkg==2.1", c) == "2.1");  // yanked, but pinned
  CHECK(pick("pkg~=1.0", c) == "1.5");
  CHECK(pick("pkg>=3.0b1", c) == "3.0b1");  // the specifier names a pre-release
  CHECK(pick("pkg", c, true) == "3.0b1");   // --pre
  CHECK(pick("pkg>2.5", c) == "3.0b1");     // only a pre-release matches
  CHECK_FALSE(pick("pkg>=4", c).has_value());
  CHECK(pick("pkg (>=1.0, <1.2)", c) == "1.0");
}

TEST_CASE("parseRequirement reads names, extras, specifiers and markers") {
  auto r = parseRequirement("Requests[socks,security] >= 2.28 , <3 ; python_version > '3.7'");
  REQUIRE(r.has_value());
  CHECK(r->name == "Requests");
  CHECK(r->project == "requests");
  REQUIRE(r->specifiers.size() == 2);
  CHECK(r->specifiers[0].op == pep440::Specifier::Op::GreaterEqual);
  CHECK(r->specifiers[1].op == pep440::Specifier::Op::Less);
  CHECK(normalizeProjectName("Foo.Bar__baz-QUX") == "foo-bar-baz-qux");
  CHECK_FALSE(parseRequirement("pkg @ https://example.invalid/pkg.whl").has_value());
  CHECK_FALSE(parseRequirement("./local/dir").has_value());
  CHECK_FALSE(parseRequirement("pkg >= ").has_value());
  CHECK_FALSE(parseRequirement("pkg 1.0").has_value());
  CHECK_FALSE(parseRequirement("-pkg").has_value());
}

TEST_CASE("parseRequirements handles comments, continuations, options and includes") {
  auto f = parse(
      "# a comment\n"
      "\n"
      "requests==2.31.0  # pinned\n"
      "urllib3>=2,\\\n"
      "   <3\n"
      "--index-url http://mirror.invalid/simple\n"
      "--pre\n"
      "six==1.16.0 --hash=sha256:1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926\n"
      "-r more.txt\n"
      "-c constraints.txt\n"
      "-e git+https://example.invalid/repo.git#egg=x\n"
      "https://example.invalid/pkg.whl\n"
      "attrs ; python_version < '3.8'\n"
      "url#fragment-is-not-a-comment==1.0\n",
      {{"req/more.txt", "idna~=3.4\n-r missing.txt\n"}});
  std::vector<std::string> names;
  for (const auto& r : f.requirements) names.push_back(r.project);
  CHECK(names == std::vector<std::string>{"requests", "urllib3", "six", "idna", "attrs"});
  CHECK(f.requirements[1].specifiers.size() == 2);
  CHECK(f.requirements[1].where == "req/requirements.txt:4");
  CHECK(f.requirements[3].where == "req/more.txt:1");
  CHECK(f.pre);
  REQUIRE(f.unsupported.size() == 5);
  CHECK_THAT(f.unsupported[0], Catch::Contains("req/missing.txt"));
  CHECK_THAT(f.unsupported[1], Catch::Contains("constraints"));
  CHECK_THAT(f.unsupported[2], Catch::Contains("editable"));
  CHECK_THAT(f.unsupported[3], Catch::Contains(":12:"));
  CHECK_THAT(f.unsupported[4], Catch::Contains(":14:"));
  REQUIRE(f.ignored.size() == 1);
  CHECK_THAT(f.ignored[0], Catch::Contains("--index-url"));
}

TEST_CASE("parseRequirements stops include cycles") {
  auto f = parse("-r requirements.txt\n", {{"req/requirements.txt", "-r requirements.txt\nsix\n"}});
  CHECK_FALSE(f.unsupported.empty());
  CHECK_THAT(f.unsupported.back(), Catch::Contains("nested too deeply"));
}
