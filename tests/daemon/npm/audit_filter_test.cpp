#include "daemon/npm/audit_filter.h"

#include <catch2/catch.hpp>

#include "daemon/npm/packument.h"

using namespace hoard::npm;
using nlohmann::json;

namespace {

const NamePredicate& acmePrivate() {
  static const NamePredicate p = scopeMatcher({"@acme", "@corp"});
  return p;
}

}  // namespace

TEST_CASE("audit endpoints are exactly the bulk and quick ones") {
  CHECK(auditKindOf("npm/v1/security/advisories/bulk") == AuditKind::Bulk);
  CHECK(auditKindOf("npm/v1/security/audits/quick") == AuditKind::Quick);
  CHECK_FALSE(auditKindOf("npm/v1/security/audits"));
  CHECK_FALSE(auditKindOf("npm/v1/security/advisories/bulk/"));
  CHECK_FALSE(auditKindOf("ping"));
  CHECK(auditUpstreamPath(AuditKind::Bulk) == "/-/npm/v1/security/advisories/bulk");
  CHECK(auditUpstreamPath(AuditKind::Quick) == "/-/npm/v1/security/audits/quick");
}

TEST_CASE("scopeMatcher matches whole scopes, case ignored, never unscoped names") {
  const auto& p = acmePrivate();
  CHECK(p("@acme/util"));
  CHECK(p("@ACME/util"));
  CHECK(p("@corp/x"));
  CHECK(p("@acme"));  // not a valid name, but certainly not public
  CHECK_FALSE(p("@acmex/util"));
  CHECK_FALSE(p("@other/acme"));
  CHECK_FALSE(p("acme"));
  CHECK_FALSE(p("left-pad"));
  CHECK_FALSE(p(""));
  CHECK_FALSE(scopeMatcher({})("@acme/util"));
}

TEST_CASE("bulk audit bodies lose their private top-level names, nothing else") {
  json in = {{"fixture-a", {"1.1.0"}},
             {"@acme/util", {"1.2.0", "1.0.0"}},
             {"@tools/fmt", {"1.2.0"}},
             {"@corp/secret", {"0.0.1"}},
             {"lodash", {"4.17.20", "4.17.21"}}};
  json out = in;
  CHECK(stripPrivateNames(out, AuditKind::Bulk, acmePrivate()) == 2);
  CHECK(out == json({{"fixture-a", {"1.1.0"}},
                     {"@tools/fmt", {"1.2.0"}},
                     {"lodash", {"4.17.20", "4.17.21"}}}));
  json none = in;
  CHECK(stripPrivateNames(none, AuditKind::Bulk, scopeMatcher({})) == 0);
  CHECK(none == in);
}

TEST_CASE("quick audit bodies lose private names at every level of the tree") {
  json in = json::parse(R"({
    "name": "@acme/app", "version": "1.0.0",
    "requires": {"fixture-a": "^1.0.0", "@acme/util": "^1.0.0", "alias": "npm:@acme/util@^1"},
    "dependencies": {
      "fixture-a": {"version": "1.1.0", "integrity": "sha512-x",
                    "requires": {"fixture-b": "^1.0.0", "@acme/deep": "1.0.0"},
                    "dependencies": {
                      "fixture-b": {"version": "1.0.0"},
                      "@acme/deep": {"version": "1.0.0", "requires": {"left-pad": "1.0.0"}}}},
      "@acme/util": {"version": "1.2.0", "requires": {"fixture-b": "^1.0.0"}},
      "alias": {"version": "npm:@acme/util@1.2.0"},
      "@tools/fmt": {"version": "1.2.0", "dev": true}
    },
    "install": ["fixture-a@1.1.0", "@acme/util@1.2.0", "@tools/fmt@1.2.0"],
    "remove": ["@corp/gone@1.0.0"],
    "metadata": {"npm_version": "6.14.18", "node_env": "production"}
  })");
  json out = in;
  const std::size_t dropped = stripPrivateNames(out, AuditKind::Quick, acmePrivate());
  json want = json::parse(R"({
    "version": "1.0.0",
    "requires": {"fixture-a": "^1.0.0"},
    "dependencies": {
      "fixture-a": {"version": "1.1.0", "integrity": "sha512-x",
                    "requires": {"fixture-b": "^1.0.0"},
                    "dependencies": {"fixture-b": {"version": "1.0.0"}}},
      "@tools/fmt": {"version": "1.2.0", "dev": true}
    },
    "install": ["fixture-a@1.1.0", "@tools/fmt@1.2.0"],
    "remove": [],
    "metadata": {"npm_version": "6.14.18", "node_env": "production"}
  })");
  CHECK(out == want);
  // root name, 2 top requires, 1 nested requires, 1 nested dependency, 2 top
  // dependencies, 1 install, 1 remove
  CHECK(dropped == 9);
  CHECK(out.dump().find("acme") == std::string::npos);
  CHECK(out.dump().find("corp") == std::string::npos);
}

TEST_CASE("quick audit bodies: lockfile v2/v3 packages keys are stripped too") {
  json in = json::parse(R"({
    "packages": {
      "": {"name": "app", "dependencies": {"@acme/util": "^1", "fixture-a": "^1"}},
      "node_modules/fixture-a": {"version": "1.1.0"},
      "node_modules/@acme/util": {"version": "1.2.0"},
      "node_modules/fixture-a/node_modules/@acme/deep": {"version": "1.0.0"},
      "node_modules/renamed": {"name": "@acme/util", "version": "1.2.0"}
    }
  })");
  json out = in;
  const std::size_t dropped = stripPrivateNames(out, AuditKind::Quick, acmePrivate());
  json want = json::parse(R"({
    "packages": {
      "": {"name": "app", "dependencies": {"fixture-a": "^1"}},
      "node_modules/fixture-a": {"version": "1.1.0"}
    }
  })");
  CHECK(out == want);
  CHECK(dropped == 4);
}

TEST_CASE("prepareAuditBody: gzip in, filtered JSON out") {
  json in = {{"fixture-a", {"1.1.0"}}, {"@acme/util", {"1.2.0"}}};
  const std::string gz = gzipCompress(in.dump());
  REQUIRE_FALSE(gz.empty());
  for (const char* encoding : {"gzip", "GZIP", " x-gzip "}) {
    auto r = prepareAuditBody(gz, encoding, AuditKind::Bulk, acmePrivate());
    REQUIRE(r);
    CHECK(json::parse(r->json) == json({{"fixture-a", {"1.1.0"}}}));
    CHECK(r->dropped == 1);
  }
  auto plain = prepareAuditBody(in.dump(), "", AuditKind::Bulk, acmePrivate());
  REQUIRE(plain);
  CHECK(json::parse(plain->json) == json({{"fixture-a", {"1.1.0"}}}));
  auto identity = prepareAuditBody("{}", "identity", AuditKind::Quick, acmePrivate());
  REQUIRE(identity);
  CHECK(identity->json == "{}");
}

TEST_CASE("prepareAuditBody refuses bad bodies with the right status") {
  const auto& p = acmePrivate();
  auto status = [](const std::expected<PreparedAudit, AuditBodyError>& r) {
    return r ? 0 : r.error().status;
  };
  CHECK(status(prepareAuditBody("{not json", "", AuditKind::Bulk, p)) == 400);
  CHECK(status(prepareAuditBody("[1,2]", "", AuditKind::Bulk, p)) == 400);
  CHECK(status(prepareAuditBody("", "", AuditKind::Bulk, p)) == 400);
  CHECK(status(prepareAuditBody("{}", "br", AuditKind::Bulk, p)) == 415);
  CHECK(status(prepareAuditBody("not gzip at all", "gzip", AuditKind::Bulk, p)) == 400);
  const std::string gz = gzipCompress(R"({"fixture-a":["1.0.0"]})");
  CHECK(status(prepareAuditBody(gz.substr(0, gz.size() - 10), "gzip", AuditKind::Bulk, p)) == 400);
  auto r = prepareAuditBody(std::string(3000, '['), "", AuditKind::Quick, p);
  REQUIRE_FALSE(r);
  CHECK(r.error().status == 400);
  CHECK(r.error().message.find("nested") != std::string::npos);
  // Brackets inside strings are not nesting.
  CHECK(status(prepareAuditBody(R"({"a":")" + std::string(3000, '[') + R"("})", "",
                                AuditKind::Quick, p)) == 0);
  for (const auto& e : {prepareAuditBody("{x", "", AuditKind::Bulk, p),
                        prepareAuditBody("{}", "br", AuditKind::Bulk, p)}) {
    REQUIRE_FALSE(e);
    CHECK(e.error().message.starts_with("audit: "));
  }
}

TEST_CASE("prepareAuditBody caps the inflated size (a gzip bomb gets 413)") {
  AuditBodyLimits limits;
  limits.maxInflatedBytes = 1 << 20;
  // ~2 MiB of JSON that compresses to a few KiB.
  std::string big = R"({"fixture-a":[")" + std::string(2 << 20, '1') + R"("]})";
  const std::string gz = gzipCompress(big);
  REQUIRE(gz.size() < 64 * 1024);
  auto r = prepareAuditBody(gz, "gzip", AuditKind::Bulk, acmePrivate(), limits);
  REQUIRE_FALSE(r);
  CHECK(r.error().status == 413);
  auto plain = prepareAuditBody(big, "", AuditKind::Bulk, acmePrivate(), limits);
  REQUIRE_FALSE(plain);
  CHECK(plain.error().status == 413);
  limits.maxInflatedBytes = 4 << 20;
  CHECK(prepareAuditBody(gz, "gzip", AuditKind::Bulk, acmePrivate(), limits));
}
