#include "cache/store_gc.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "cache/store_fixture.h"
#include "cache/store_test_util.h"

using hoard::BlobMeta;
using hoard::BlobStore;
using hoard::BlobStorePtr;
using hoard::Digest;
using hoard::GcOptions;
using hoard::GcReport;
namespace fs = std::filesystem;
using hoard::test::digestOf;
using hoard::test::indexed;
using hoard::test::IndexKind;
using hoard::test::openStore;
using hoard::test::put;

namespace {

hoard::Millis mtimeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

const hoard::GcFinding* findingFor(const GcReport& r, const std::string& subject) {
  for (const auto& f : r.findings) {
    if (f.subject == subject) return &f;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("gc: entries without files are deleted, healthy blobs untouched", "[store_gc]") {
  auto kind = GENERATE(IndexKind::Memory, IndexKind::RocksDb);
  hoard::test::TempDir dir;
  auto store = openStore(dir.path(), kind);
  const Digest a = put(*store, "aaaa");
  const Digest b = put(*store, "bbbbbbbb");
  REQUIRE(::unlink(store->pathFor(b).c_str()) == 0);

  auto r = hoard::collectGarbage(*store, GcOptions{});
  CHECK(r.error.empty());
  CHECK(r.entriesChecked == 2);
  CHECK(r.entriesRemoved == 1);
  REQUIRE(findingFor(r, b.str()));
  CHECK(findingFor(r, b.str())->kind == "entry_without_file");
  CHECK(findingFor(r, b.str())->action == "removed");
  CHECK_FALSE(indexed(*store, b));
  CHECK(indexed(*store, a));
  CHECK(fs::exists(store->pathFor(a)));
  CHECK(store->totalBytes() == 4);

  r = hoard::collectGarbage(*store, GcOptions{});
  CHECK(r.entriesRemoved == 0);
  CHECK(r.findings.empty());
}

TEST_CASE("gc: orphan files are removed only after the grace period", "[store_gc]") {
  auto kind = GENERATE(IndexKind::Memory, IndexKind::RocksDb);
  hoard::test::TempDir dir;
  auto store = openStore(dir.path(), kind);
  const Digest kept = put(*store, "indexed");
  const Digest orphan = digestOf("orphan bytes");
  const std::string orphanPath = store->pathFor(orphan);
  REQUIRE(hoard::test::writeFile(orphanPath, "orphan bytes"));
  auto clock = std::make_shared<hoard::ManualClock>(mtimeOf(orphanPath) + 1000);

  GcOptions o;
  o.orphanGraceMs = 10 * 60 * 1000;
  o.clock = clock;
  auto r = hoard::collectGarbage(*store, o);
  CHECK(r.orphansRemoved == 0);
  CHECK(r.orphansInGrace == 1);
  CHECK(fs::exists(orphanPath));

  clock->advance(10 * 60 * 1000);
  r = hoard::collectGarbage(*store, o);
  CHECK(r.orphansRemoved == 1);
  CHECK(r.orphanBytes == std::string("orphan bytes").size());
  REQUIRE(findingFor(r, orphan.str()));
  CHECK(findingFor(r, orphan.str())->action == "removed");
  CHECK_FALSE(fs::exists(orphanPath));
  CHECK(fs::exists(store->pathFor(kept)));
  CHECK(indexed(*store, kept));
  // Orphans were never counted in the store's size.
  CHECK(store->totalBytes() == std::string("indexed").size());
}

TEST_CASE("gc: tmp/ is swept only when asked (offline)", "[store_gc]") {
  hoard::test::TempDir dir;
  auto store = openStore(dir.path(), IndexKind::Memory);
  auto tmp = store->createTemp();
  REQUIRE(tmp);
  REQUIRE(hoard::test::writeAll(tmp->fd, "a fill in progress"));
  ::close(tmp->fd);

  auto r = hoard::collectGarbage(*store, GcOptions{});
  CHECK(r.tmpRemoved == 0);
  CHECK(fs::exists(tmp->path));

  GcOptions offline;
  offline.sweepTmp = true;
  r = hoard::collectGarbage(*store, offline);
  CHECK(r.tmpRemoved == 1);
  CHECK(r.tmpBytes == std::string("a fill in progress").size());
  CHECK_FALSE(fs::exists(tmp->path));
}

TEST_CASE("gc: wrong-size files and strays are reported, not touched", "[store_gc]") {
  hoard::test::TempDir dir;
  auto store = openStore(dir.path(), IndexKind::RocksDb);
  const Digest d = put(*store, "will be truncated");
  REQUIRE(::truncate(store->pathFor(d).c_str(), 3) == 0);
  const std::string stray = dir.path() + "/blobs/sha256/zz";
  REQUIRE(hoard::test::writeFile(stray, "?"));

  GcOptions o;
  o.orphanGraceMs = 0;
  auto r = hoard::collectGarbage(*store, o);
  CHECK(r.sizeMismatch == 1);
  CHECK(r.stray == 1);
  CHECK(r.entriesRemoved == 0);
  CHECK(r.orphansRemoved == 0);
  CHECK(indexed(*store, d));
  CHECK(fs::exists(store->pathFor(d)));
  CHECK(fs::exists(stray));
}

TEST_CASE("gc: cancellation stops the run", "[store_gc]") {
  hoard::test::TempDir dir;
  auto store = openStore(dir.path(), IndexKind::Memory);
  const Digest d = put(*store, "x");
  REQUIRE(::unlink(store->pathFor(d).c_str()) == 0);
  std::atomic<bool> cancel{true};
  GcOptions o;
  o.cancel = &cancel;
  auto r = hoard::collectGarbage(*store, o);
  CHECK(r.cancelled);
  CHECK(r.entriesRemoved == 0);
  CHECK(indexed(*store, d));
}
