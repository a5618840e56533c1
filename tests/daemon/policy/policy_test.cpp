#include "daemon/policy/policy.h"

#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace hoard;
using namespace hoard::policy;

namespace {

struct Loop {
  uv_loop_t loop{};
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);  // close callbacks free their handles
    uv_loop_close(&loop);
  }
  // Runs until `pred` or `ms` elapsed (the policy's handles are unref'd, so a
  // keep-alive timer drives the loop).
  template <class Pred>
  bool runUntil(Pred pred, int ms) {
    uv_timer_t timer;
    uv_timer_init(&loop, &timer);
    uv_timer_start(
        &timer, [](uv_timer_t*) {}, 5, 5);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!pred() && std::chrono::steady_clock::now() < deadline) uv_run(&loop, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
    uv_run(&loop, UV_RUN_NOWAIT);
    return pred();
  }
};

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/hoard-policy-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    auto p = path / name;
    std::ofstream(p, std::ios::trunc) << text;
    return p.string();
  }
};

Subject npmSubject(std::string name, std::string version = "") {
  return {Ecosystem::Npm, std::move(name), std::move(version), "", ""};
}

}  // namespace

TEST_CASE("Policy: no lists, no pins: nothing denied, everything allowed") {
  Policy p;
  CHECK(p.denied(npmSubject("lodash")) == nullptr);
  CHECK(p.allowed(npmSubject("lodash")));
  CHECK_FALSE(p.pinned(npmSubject("lodash")));
  CHECK_FALSE(p.hasAllowList());
}

TEST_CASE("Policy: start reads the lists; reload swaps them; a bad file keeps the old one") {
  Loop l;
  TempDir dir;
  Metrics metrics;
  auto deny = dir.write("deny", "npm:left-pad@1.3.0\n");
  Policy::Options o;
  o.denyList = deny;
  o.pollIntervalMs = 60'000;  // this test drives reloads itself
  Policy p(&l.loop, &metrics, o);
  REQUIRE(p.start());
  CHECK(p.generation() == 1);
  REQUIRE(p.denied(npmSubject("left-pad", "1.3.0")) != nullptr);
  CHECK(p.denied(npmSubject("left-pad", "1.2.0")) == nullptr);

  dir.write("deny", "npm:left-pad\n");
  bool done = false;
  p.reload([&] { done = true; });
  REQUIRE(l.runUntil([&] { return done; }, 5000));
  CHECK(p.generation() == 2);
  CHECK(p.denied(npmSubject("left-pad", "1.2.0")) != nullptr);
  CHECK(metrics.get("hoard_policy_reloads_total") == 1);

  dir.write("deny", "npm:left-pad\nnot a pattern\n");
  done = false;
  p.reload([&] { done = true; });
  REQUIRE(l.runUntil([&] { return done; }, 5000));
  CHECK(p.generation() == 2);
  CHECK(p.denied(npmSubject("left-pad", "1.2.0")) != nullptr);  // old list in force
  CHECK(metrics.get("hoard_policy_reload_errors_total") == 1);

  std::filesystem::remove(deny);  // a missing file also keeps the old list
  done = false;
  p.reload([&] { done = true; });
  REQUIRE(l.runUntil([&] { return done; }, 5000));
  CHECK(p.denied(npmSubject("left-pad", "1.2.0")) != nullptr);
  CHECK(metrics.get("hoard_policy_reload_errors_total") == 2);
  p.close();
}

TEST_CASE("Policy: a changed file is picked up without a reload call") {
  Loop l;
  TempDir dir;
  Metrics metrics;
  Policy::Options o;
  o.denyList = dir.write("deny", "# empty\n");
  o.pollIntervalMs = 100;
  Policy p(&l.loop, &metrics, o);
  REQUIRE(p.start());
  CHECK(p.denyCount() == 0);
  // Let the poll take its first stat, then change the file (size and mtime).
  l.runUntil([] { return false; }, 250);
  dir.write("deny", "npm:lodash@4.17.21\n");
  CHECK(l.runUntil([&] { return p.denied(npmSubject("lodash", "4.17.21")) != nullptr; }, 3000));
  p.close();
}

TEST_CASE("Policy: start fails on a bad or missing list and on a bad pin") {
  Loop l;
  TempDir dir;
  Metrics metrics;
  {
    Policy::Options o;
    o.denyList = dir.write("deny", "npm:ok\nbad line\n");
    Policy p(&l.loop, &metrics, o);
    auto r = p.start();
    REQUIRE_FALSE(r);
    CHECK(r.error().find("line 2") != std::string::npos);
  }
  {
    Policy::Options o;
    o.allowList = (dir.path / "missing").string();
    Policy p(&l.loop, &metrics, o);
    CHECK_FALSE(p.start());
  }
  {
    Policy::Options o;
    o.pins = {"oci:docker.io/library/alpine", "alpine"};
    Policy p(&l.loop, &metrics, o);
    auto r = p.start();
    REQUIRE_FALSE(r);
    CHECK(r.error().find("store.pin") != std::string::npos);
  }
}

TEST_CASE("Policy: allow-list and pins") {
  Loop l;
  TempDir dir;
  Metrics metrics;
  Policy::Options o;
  o.allowList = dir.write("allow", "npm:lodash@4.*\n");
  o.pins = {"npm:@corp/*", "oci:docker.io/library/alpine:3.19"};
  Policy p(&l.loop, &metrics, o);
  REQUIRE(p.start());
  CHECK(p.hasAllowList());
  CHECK(p.allowed(npmSubject("lodash")));
  CHECK(p.allowed(npmSubject("lodash", "4.17.21")));
  CHECK_FALSE(p.allowed(npmSubject("lodash", "3.0.0")));
  CHECK_FALSE(p.allowed(npmSubject("underscore")));

  CHECK(p.pinned(npmSubject("@corp/widget", "1.0.0")));
  CHECK_FALSE(p.pinned(npmSubject("widget", "1.0.0")));
  const std::string layer = "sha256:" + std::string(64, 'c');
  Subject blob{Ecosystem::Oci, "docker.io/library/alpine", "", "", layer};
  CHECK_FALSE(p.pinned(blob));  // the tag is pinned, its blobs only once noted
  p.notePinnedDigests({layer});
  CHECK(p.pinned(blob));
  CHECK(p.pinnedDigest(layer));
  p.close();
}
