#include "cache/verifier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "cache/read_pacer.h"
#include "cache/store_fixture.h"
#include "cache/store_test_util.h"

using hoard::BlobMeta;
using hoard::BlobStore;
using hoard::BlobStorePtr;
using hoard::Digest;
using hoard::StoreError;
using hoard::VerifyOptions;
using hoard::VerifyOutcome;
using hoard::VerifyReport;
namespace fs = std::filesystem;
using hoard::test::digestOf;
using hoard::test::indexed;
using hoard::test::IndexKind;
using hoard::test::openStore;
using hoard::test::put;

namespace {

std::string readFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  auto bytes = hoard::test::readFd(fd);
  ::close(fd);
  return bytes;
}

// Overwrites the file in place (same inode, same size): bit rot.
void flipFirstByte(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  char c = 0;
  REQUIRE(::pread(fd, &c, 1, 0) == 1);
  c = static_cast<char>(c ^ 0x55);
  REQUIRE(::pwrite(fd, &c, 1, 0) == 1);
  ::close(fd);
}

std::vector<std::string> quarantined(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root + "/quarantine", ec)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

const hoard::VerifyFinding* findingFor(const VerifyReport& r, const std::string& subject) {
  for (const auto& f : r.findings) {
    if (f.subject == subject) return &f;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("verify: a healthy store is clean and every byte is hashed", "[verifier]") {
  auto kind = GENERATE(IndexKind::Memory, IndexKind::RocksDb);
  hoard::test::TempDir dir;
  auto store = openStore(dir.path(), kind);
  put(*store, "alpha");
  put(*store, std::string(3 << 20, 'x'));  // several read chunks
  put(*store, "");

  auto r = hoard::verifyStore(*store, VerifyOptions{});
  CHECK(r.ok == 3);
  CHECK(r.bad() == 0);
  CHECK(r.clean());
  CHECK(r.bytesHashed == 5 + (3u << 20));
  CHECK(r.findings.empty());
}

TEST_CASE("verify: corruption is reported, and only repair quarantines it", "[verifier]") {
  auto kind = GENERATE(IndexKind::Memory, IndexKind::RocksDb);
  hoard::test::TempDir dir;
  auto store = openStore(dir.path(), kind);
  const Digest good = put(*store, "good bytes");
  const Digest rotten = put(*store, "bytes that will rot");
  const Digest truncated = put(*store, "bytes that will be truncated");
  const std::string rottenPath = store->pathFor(rotten);
  flipFirstByte(rottenPath);
  const std::string rottenBytes = readFile(rottenPath);
  REQUIRE(::truncate(store->pathFor(truncated).c_str(), 5) == 0);
  const auto before = store->totalBytes();

  auto report = hoard::verifyStore(*store, VerifyOptions{});
  CHECK(report.ok == 1);
  CHECK(report.mismatch == 1);
  CHECK(report.sizeMismatch == 1);
  CHECK_FALSE(report.clean());
  auto* f = findingFor(report, rotten.str());
  REQUIRE(f);
  CHECK(f->outcome == VerifyOutcome::Mismatch);
  CHECK(f->action.empty());
  REQUIRE(findingFor(report, truncated.str()));
  CHECK(findingFor(report, truncated.str())->outcome == VerifyOutcome::SizeMismatch);
  // Report-only: nothing moved, nothing unindexed.
  CHECK(fs::exists(rottenPath));
  CHECK(indexed(*store, rotten));
  CHECK(quarantined(dir.path()).empty());
  CHECK(store->totalBytes() == before);

  VerifyOptions repair;
  repair.repair = true;
  report = hoard::verifyStore(*store, repair);
  CHECK(report.mismatch == 1);
  CHECK(report.sizeMismatch == 1);
  CHECK(report.quarantined == 2);
  CHECK(findingFor(report, rotten.str())->action == "quarantined");
  CHECK_FALSE(fs::exists(rottenPath));
  CHECK_FALSE(indexed(*store, rotten));
  CHECK_FALSE(indexed(*store, truncated));
  CHECK(indexed(*store, good));
  CHECK(store->totalBytes() == std::string("good bytes").size());
  const auto q = quarantined(dir.path());
  REQUIRE(q.size() == 2);
  CHECK(readFile(dir.path() + "/quarantine/sha256-" + rotten.hex) == rottenBytes);
  auto open = store->open(rotten);
  REQUIRE_FALSE(open);
  CHECK(open.error() == StoreError::NotFound);

  // Repaired: the next run is clean, and a refetch commits into place again.
  CHECK(hoard::verifyStore(*store, repair).clean());
  put(*store, "bytes that will rot");
  CHECK(hoard::verifyStore(*store, VerifyOptions{}).ok == 2);

  // A second corruption of the same digest never overwrites the first quarantined copy.
  flipFirstByte(rottenPath);
  report = hoard::verifyStore(*store, repair);
  CHECK(report.quarantined == 1);
  CHECK(quarantined(dir.path()).size() == 3);
}

TEST_CASE("verify: entries without files, orphans and strays", "[verifier]") {
  auto kind = GENERATE(IndexKind::Memory, IndexKind::RocksDb);
  hoard::test::TempDir dir;
  auto store = openStore(dir.path(), kind);
  const Digest kept = put(*store, "kept");
  const Digest lost = put(*store, "file deleted behind hoard's back");
  REQUIRE(::unlink(store->pathFor(lost).c_str()) == 0);
  // Orphans: files in blobs/ the index never heard of (a crash between rename and index write).
  const std::string goodOrphan = "an orphan with the right bytes";
  const Digest goodOrphanDigest = digestOf(goodOrphan);
  REQUIRE(hoard::test::writeFile(store->pathFor(goodOrphanDigest), goodOrphan));
  const Digest badOrphanDigest = digestOf("what the orphan should hold");
  REQUIRE(hoard::test::writeFile(store->pathFor(badOrphanDigest), "something else"));
  const std::string strayPath = dir.path() + "/blobs/sha256/ab/not-a-digest";
  REQUIRE(hoard::test::writeFile(strayPath, "junk"));

  auto report = hoard::verifyStore(*store, VerifyOptions{});
  CHECK(report.ok == 1);
  CHECK(report.missing == 1);
  CHECK(report.orphans == 2);
  CHECK(report.stray == 1);
  REQUIRE(findingFor(report, lost.str()));
  CHECK(findingFor(report, lost.str())->outcome == VerifyOutcome::Missing);
  REQUIRE(findingFor(report, goodOrphanDigest.str()));
  CHECK(findingFor(report, goodOrphanDigest.str())->outcome == VerifyOutcome::Orphan);
  REQUIRE(findingFor(report, strayPath));
  CHECK(indexed(*store, lost));
  CHECK_FALSE(indexed(*store, goodOrphanDigest));

  VerifyOptions repair;
  repair.repair = true;
  report = hoard::verifyStore(*store, repair);
  CHECK(report.indexDeleted == 1);
  CHECK(report.adopted == 1);
  CHECK(report.quarantined == 2);  // the bad orphan and the stray
  CHECK(findingFor(report, lost.str())->action == "index_deleted");
  CHECK(findingFor(report, goodOrphanDigest.str())->action == "adopted");
  CHECK(findingFor(report, badOrphanDigest.str())->action == "quarantined");
  CHECK_FALSE(indexed(*store, lost));
  CHECK(indexed(*store, goodOrphanDigest));
  CHECK(indexed(*store, kept));
  CHECK_FALSE(fs::exists(store->pathFor(badOrphanDigest)));
  CHECK_FALSE(fs::exists(strayPath));
  CHECK(store->totalBytes() == std::string("kept").size() + goodOrphan.size());
  auto adopted = store->open(goodOrphanDigest);
  REQUIRE(adopted);
  CHECK(hoard::test::readFd(adopted->fd) == goodOrphan);
  ::close(adopted->fd);

  auto again = hoard::verifyStore(*store, VerifyOptions{});
  CHECK(again.clean());
  CHECK(again.ok == 2);
}

TEST_CASE("verify: orphans younger than the grace period are left to their commit", "[verifier]") {
  hoard::test::TempDir dir;
  auto store = openStore(dir.path(), IndexKind::Memory);
  const Digest d = digestOf("mid-commit");
  REQUIRE(hoard::test::writeFile(store->pathFor(d), "mid-commit"));
  struct stat st {};
  REQUIRE(::stat(store->pathFor(d).c_str(), &st) == 0);
  const hoard::Millis mtime = st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1'000'000;
  auto clock = std::make_shared<hoard::ManualClock>(mtime + 1000);

  VerifyOptions o;
  o.repair = true;
  o.orphanGraceMs = 60'000;
  o.clock = clock;
  auto r = hoard::verifyStore(*store, o);
  CHECK(r.orphans == 0);
  CHECK(r.clean());
  CHECK_FALSE(indexed(*store, d));

  clock->advance(60'000);
  r = hoard::verifyStore(*store, o);
  CHECK(r.orphans == 1);
  CHECK(r.adopted == 1);
  CHECK(indexed(*store, d));
}

TEST_CASE("verify: cancellation stops the scan and is not clean", "[verifier]") {
  hoard::test::TempDir dir;
  auto store = openStore(dir.path(), IndexKind::Memory);
  put(*store, "one");
  put(*store, "two");
  std::atomic<bool> cancel{true};
  VerifyOptions o;
  o.cancel = &cancel;
  auto r = hoard::verifyStore(*store, o);
  CHECK(r.cancelled);
  CHECK(r.ok == 0);
  CHECK_FALSE(r.clean());
}

TEST_CASE("verify: the findings list is capped, the counts are not", "[verifier]") {
  hoard::test::TempDir dir;
  auto store = openStore(dir.path(), IndexKind::Memory);
  for (int i = 0; i < 5; ++i) {
    auto d = put(*store, "blob " + std::to_string(i));
    flipFirstByte(store->pathFor(d));
  }
  VerifyOptions o;
  o.maxFindings = 2;
  auto r = hoard::verifyStore(*store, o);
  CHECK(r.mismatch == 5);
  CHECK(r.findings.size() == 2);
  CHECK(r.findingsOmitted == 3);
}

TEST_CASE("read pacer: sleeps to the byte rate, grants no burst after idling", "[verifier]") {
  using Clock = hoard::ReadPacer::Clock;
  Clock::time_point now{};
  Clock::duration slept{};
  hoard::ReadPacer::Hooks hooks;
  hooks.now = [&] { return now; };
  hooks.sleep = [&](Clock::duration d) {
    slept += d;
    now += d;
  };
  hoard::ReadPacer pacer(1'000'000, hooks);
  for (int i = 0; i < 4; ++i) pacer.consumed(500'000);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(slept).count() == 2000);

  now += std::chrono::seconds(30);  // idle: this chunk goes through, the next is paced again
  slept = {};
  pacer.consumed(1'000'000);
  CHECK(slept == Clock::duration{});
  pacer.consumed(1'000'000);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(slept).count() == 1000);

  hoard::ReadPacer unlimited(0, hooks);
  slept = {};
  unlimited.consumed(1ull << 40);
  CHECK(slept == Clock::duration{});
}
