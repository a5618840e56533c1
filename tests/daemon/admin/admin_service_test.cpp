#include "daemon/admin/admin_service.h"

#include <catch2/catch.hpp>

#include "daemon/admin/report_json.h"

using hoard::admin::isLoopbackPeer;

TEST_CASE("admin: only loopback peers are admitted", "[admin]") {
  CHECK(isLoopbackPeer("127.0.0.1:5000"));
  CHECK(isLoopbackPeer("127.8.9.10:1"));
  CHECK(isLoopbackPeer("[::1]:5000"));
  CHECK(isLoopbackPeer("[::ffff:127.0.0.1]:5000"));
  CHECK_FALSE(isLoopbackPeer("10.0.0.1:5000"));
  CHECK_FALSE(isLoopbackPeer("128.0.0.1:5000"));
  CHECK_FALSE(isLoopbackPeer("[::2]:5000"));
  CHECK_FALSE(isLoopbackPeer("[::ffff:10.0.0.1]:5000"));
  CHECK_FALSE(isLoopbackPeer("[fe80::1]:5000"));
  CHECK_FALSE(isLoopbackPeer("unix"));
  CHECK_FALSE(isLoopbackPeer(""));
  CHECK_FALSE(isLoopbackPeer("[::1"));
}

TEST_CASE("admin: reports survive the JSON round trip the CLI makes", "[admin]") {
  hoard::VerifyReport v;
  v.repair = true;
  v.ok = 7;
  v.mismatch = 1;
  v.sizeMismatch = 2;
  v.missing = 3;
  v.orphans = 4;
  v.quarantined = 3;
  v.indexDeleted = 3;
  v.adopted = 1;
  v.bytesHashed = 123456789;
  v.findingsOmitted = 5;
  v.findings.push_back({hoard::VerifyOutcome::Mismatch, "sha256:ab", "quarantined"});
  v.findings.push_back({hoard::VerifyOutcome::Orphan, "sha256:cd", ""});
  auto j = hoard::admin::verifyReportJson(v);
  CHECK(j["clean"] == false);
  auto back = hoard::admin::verifyReportFromJson(nlohmann::json::parse(j.dump()));
  REQUIRE(back);
  CHECK(hoard::admin::verifyReportJson(*back) == j);
  CHECK(hoard::admin::verifyReportText(*back) == hoard::admin::verifyReportText(v));
  CHECK(hoard::admin::verifyReportText(v).find("mismatch sha256:ab (quarantined)") !=
        std::string::npos);
  CHECK_FALSE(hoard::admin::verifyReportFromJson(nlohmann::json{{"kind", "gc"}}));

  hoard::GcReport g;
  g.entriesChecked = 9;
  g.entriesRemoved = 1;
  g.orphansRemoved = 2;
  g.orphanBytes = 4096;
  g.tmpRemoved = 1;
  g.findings.push_back({"orphan", "sha256:ef", "removed"});
  auto gj = hoard::admin::gcReportJson(g);
  auto gback = hoard::admin::gcReportFromJson(nlohmann::json::parse(gj.dump()));
  REQUIRE(gback);
  CHECK(hoard::admin::gcReportJson(*gback) == gj);
  CHECK(hoard::admin::gcReportText(g).find("orphan sha256:ef (removed)") != std::string::npos);
}
