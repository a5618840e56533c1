#include "cache/blob_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "cache/store_test_util.h"

using hoard::BlobMeta;
using hoard::BlobStore;
using hoard::BlobStorePtr;
using hoard::Digest;
using hoard::StoreError;
namespace fs = std::filesystem;

namespace {

Digest digestOf(std::string_view bytes) {
  return *Digest::parse("sha256:" + hoard::sha256Hex(bytes));
}

BlobStorePtr openDisk(const std::string& root, hoard::ClockPtr clock = nullptr) {
  auto store = hoard::openDiskBlobStore(root, std::move(clock));
  REQUIRE(store);
  REQUIRE((*store)->recover());
  return std::move(*store);
}

// The fill path in miniature: write a temp file, commit it under its digest.
Digest put(BlobStore& store, std::string_view bytes, hoard::Millis accessMs = 1000,
           std::string type = "application/octet-stream") {
  auto tmp = store.createTemp();
  REQUIRE(tmp);
  REQUIRE(hoard::test::writeAll(tmp->fd, bytes));
  auto d = digestOf(bytes);
  REQUIRE(store.commit(std::move(*tmp), d, BlobMeta{bytes.size(), type, accessMs, accessMs}));
  return d;
}

std::size_t countFiles(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

std::string readBlob(BlobStore& store, const Digest& d) {
  auto blob = store.open(d);
  REQUIRE(blob);
  auto bytes = hoard::test::readFd(blob->fd);
  ::close(blob->fd);
  return bytes;
}

}  // namespace

TEST_CASE("BlobStore: commit then open returns the same bytes from the sharded layout") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  const std::string bytes(100'000, 'z');
  auto d = put(*store, bytes, 1234, "application/vnd.oci.image.layer.v1.tar");

  CHECK(store->pathFor(d) == dir.path() + "/blobs/sha256/" + d.hex.substr(0, 2) + "/" + d.hex);
  CHECK(fs::file_size(store->pathFor(d)) == bytes.size());
  CHECK(countFiles(dir.path() + "/tmp") == 0);

  auto blob = store->open(d);
  REQUIRE(blob);
  CHECK(hoard::test::readFd(blob->fd) == bytes);
  CHECK(blob->meta.size == bytes.size());
  CHECK(blob->meta.mediaType == "application/vnd.oci.image.layer.v1.tar");
  CHECK(blob->meta.createdMs == 1234);
  ::close(blob->fd);
  CHECK(store->totalBytes() == bytes.size());

  auto other = digestOf("never stored");
  auto missing = store->open(other);
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == StoreError::NotFound);
}

TEST_CASE("BlobStore: commit with the wrong size is refused and leaves nothing") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  auto tmp = store->createTemp();
  REQUIRE(tmp);
  REQUIRE(hoard::test::writeAll(tmp->fd, "abc"));
  auto d = digestOf("abc");
  auto r = store->commit(std::move(*tmp), d, BlobMeta{4, "", 1, 1});
  REQUIRE_FALSE(r);
  CHECK(r.error() == StoreError::SizeMismatch);
  CHECK(countFiles(dir.path() + "/tmp") == 0);
  CHECK_FALSE(fs::exists(store->pathFor(d)));
  CHECK_FALSE(store->index().getBlob(d.str())->has_value());
  CHECK(store->totalBytes() == 0);
}

TEST_CASE("BlobStore: committing the same digest twice counts its size once") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  auto d = put(*store, "same bytes");
  put(*store, "same bytes");
  CHECK(store->totalBytes() == 10);
  CHECK(readBlob(*store, d) == "same bytes");
}

TEST_CASE("BlobStore: discard and recover remove temp files, never blobs") {
  hoard::test::TempDir dir;
  Digest kept;
  {
    auto store = openDisk(dir.path());
    kept = put(*store, "kept");
    auto a = store->createTemp();
    auto b = store->createTemp();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->path != b->path);
    CHECK(fs::path(a->path).parent_path() == fs::path(dir.path() + "/tmp"));
    store->discard(std::move(*a));
    CHECK(countFiles(dir.path() + "/tmp") == 1);
    // Simulate a crash mid-fill: b is never committed or discarded.
    REQUIRE(hoard::test::writeAll(b->fd, "partial"));
    ::close(b->fd);
    REQUIRE(hoard::test::writeFile(dir.path() + "/tmp/stray-dir/x", "y"));
  }
  auto store = openDisk(dir.path());  // runs recover()
  CHECK(fs::is_empty(dir.path() + "/tmp"));
  CHECK(readBlob(*store, kept) == "kept");
}

TEST_CASE("BlobStore: an orphan file that matches its digest is adopted") {
  hoard::test::TempDir dir;
  auto clock = std::make_shared<hoard::ManualClock>(5000);
  auto store = openDisk(dir.path(), clock);
  put(*store, "unrelated");
  const std::string bytes = "crash between rename and index write";
  auto d = digestOf(bytes);
  // The state a crash after rename() but before putBlob() leaves behind.
  REQUIRE(hoard::test::writeFile(store->pathFor(d), bytes));

  auto before = store->open(d);
  REQUIRE_FALSE(before);
  CHECK(before.error() == StoreError::NotFound);

  clock->advance(10);
  auto adopted = store->adoptOrphan(d, "application/json");
  REQUIRE(adopted);
  CHECK(hoard::test::readFd(adopted->fd) == bytes);
  char first = 0;
  CHECK(::read(adopted->fd, &first, 1) == 1);  // handed back rewound
  CHECK(first == 'c');
  ::close(adopted->fd);
  CHECK(adopted->meta.size == bytes.size());
  CHECK(adopted->meta.mediaType == "application/json");
  CHECK(adopted->meta.createdMs == 5010);
  CHECK(store->totalBytes() == bytes.size() + 9);
  CHECK(readBlob(*store, d) == bytes);

  // Adopting again (e.g. a concurrent request) returns the indexed blob, counted once.
  auto again = store->adoptOrphan(d, "other/type");
  REQUIRE(again);
  ::close(again->fd);
  CHECK(again->meta.mediaType == "application/json");
  CHECK(store->totalBytes() == bytes.size() + 9);
}

TEST_CASE("BlobStore: an orphan file that does not match its digest is deleted") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  auto d = digestOf("the real content");
  REQUIRE(hoard::test::writeFile(store->pathFor(d), "torn or tampered"));
  auto r = store->adoptOrphan(d, "");
  REQUIRE_FALSE(r);
  CHECK(r.error() == StoreError::NotFound);
  CHECK_FALSE(fs::exists(store->pathFor(d)));
  CHECK_FALSE(store->index().getBlob(d.str())->has_value());
  CHECK(store->totalBytes() == 0);

  auto none = store->adoptOrphan(digestOf("no file at all"), "");
  REQUIRE_FALSE(none);
  CHECK(none.error() == StoreError::NotFound);
}

TEST_CASE("BlobStore: an index entry without its file heals to NotFound") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  put(*store, "stays");
  auto d = put(*store, "vanishes");
  REQUIRE(store->totalBytes() == 13);
  REQUIRE(fs::remove(store->pathFor(d)));

  auto r = store->open(d);
  REQUIRE_FALSE(r);
  CHECK(r.error() == StoreError::NotFound);
  CHECK_FALSE(store->index().getBlob(d.str())->has_value());
  CHECK(store->totalBytes() == 5);
}

TEST_CASE("BlobStore: a file of the wrong size heals to NotFound and is removed") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  auto d = put(*store, "exactly this");
  REQUIRE(fs::file_size(store->pathFor(d)) == 12);
  fs::resize_file(store->pathFor(d), 5);  // truncated behind our back

  auto r = store->open(d);
  REQUIRE_FALSE(r);
  CHECK(r.error() == StoreError::NotFound);
  CHECK_FALSE(store->index().getBlob(d.str())->has_value());
  CHECK_FALSE(fs::exists(store->pathFor(d)));
  CHECK(store->totalBytes() == 0);
}

TEST_CASE("BlobStore: remove deletes entry and file") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  auto d = put(*store, "bye");
  REQUIRE(store->remove(d));
  CHECK_FALSE(fs::exists(store->pathFor(d)));
  CHECK_FALSE(store->index().getBlob(d.str())->has_value());
  CHECK(store->totalBytes() == 0);
  auto again = store->remove(d);
  REQUIRE_FALSE(again);
  CHECK(again.error() == StoreError::NotFound);
}

TEST_CASE("BlobStore: evictTo removes least-recently-accessed blobs first") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  // Access order differs from insertion order and from size order.
  auto c = put(*store, std::string(300, 'c'), 3000);
  auto a = put(*store, std::string(100, 'a'), 1000);
  auto e = put(*store, std::string(500, 'e'), 5000);
  auto b = put(*store, std::string(200, 'b'), 2000);
  auto d = put(*store, std::string(400, 'd'), 4000);
  // A later hit makes `a` the most recent.
  REQUIRE(store->index().touchBlobs({{a.str(), 9000}}));
  REQUIRE(store->totalBytes() == 1500);

  CHECK(*store->evictTo(5000) == 0);  // already under target

  auto freed = store->evictTo(1000);  // needs 500: b (200) then c (300)
  REQUIRE(freed);
  CHECK(*freed == 500);
  CHECK(store->totalBytes() == 1000);
  CHECK_FALSE(fs::exists(store->pathFor(b)));
  CHECK_FALSE(fs::exists(store->pathFor(c)));
  CHECK_FALSE(store->open(b));
  for (const auto& kept : {a, d, e}) {
    auto blob = store->open(kept);
    REQUIRE(blob);
    ::close(blob->fd);
  }

  // An fd opened before eviction keeps reading the unlinked file.
  auto held = store->open(d);
  REQUIRE(held);
  CHECK(*store->evictTo(600) == 400);  // d (4000) goes, e (5000) and a (9000) stay
  CHECK(hoard::test::readFd(held->fd) == std::string(400, 'd'));
  ::close(held->fd);
  CHECK(store->open(e));
  CHECK(store->totalBytes() == 600);
}

TEST_CASE("BlobStore: evictTo picks exactly the oldest prefix that reaches the target") {
  // Many entries, random sizes and access times, checked against sorting
  // everything. Entries go straight into the index (no files needed: removing
  // an entry whose file is gone is still an eviction).
  std::mt19937 rng(42);
  for (int trial = 0; trial < 20; ++trial) {
    hoard::test::TempDir dir;
    auto opened = hoard::openBlobStore(dir.path(), hoard::makeMemoryIndex());
    REQUIRE(opened);
    auto& store = **opened;
    std::vector<std::tuple<hoard::Millis, std::string, std::uint64_t>> all;
    for (int i = 0; i < 200; ++i) {
      auto d = digestOf("blob" + std::to_string(trial) + "/" + std::to_string(i));
      hoard::Millis access = static_cast<hoard::Millis>(rng() % 100'000);
      std::uint64_t size = 1 + rng() % 10'000;
      REQUIRE(store.index().putBlob(d.str(), BlobMeta{size, "", 0, access}));
      all.emplace_back(access, d.str(), size);
    }
    REQUIRE(store.recover());
    std::uint64_t total = 0;
    for (auto& [t, k, s] : all) total += s;
    REQUIRE(store.totalBytes() == total);

    std::uint64_t target = rng() % total;
    std::sort(all.begin(), all.end());
    std::set<std::string> expectGone;
    std::uint64_t remaining = total;
    for (auto& [t, k, s] : all) {
      if (remaining <= target) break;
      expectGone.insert(k);
      remaining -= s;
    }

    auto freed = store.evictTo(target);
    REQUIRE(freed);
    CHECK(*freed == total - remaining);
    CHECK(store.totalBytes() == remaining);
    std::set<std::string> gone;
    for (auto& [t, k, s] : all) {
      if (!store.index().getBlob(k)->has_value()) gone.insert(k);
    }
    CHECK(gone == expectGone);
  }
}

TEST_CASE("BlobStore: totalBytes survives reopen, computed from the index") {
  hoard::test::TempDir dir;
  Digest a, b;
  {
    auto store = openDisk(dir.path());
    a = put(*store, std::string(1000, 'x'));
    b = put(*store, std::string(24, 'y'));
    REQUIRE(store->remove(b));
    put(*store, std::string(10, 'z'));
    CHECK(store->totalBytes() == 1010);
  }
  auto store = openDisk(dir.path());
  CHECK(store->totalBytes() == 1010);
  CHECK(readBlob(*store, a) == std::string(1000, 'x'));
  // O(index), not a scan of blobs/: a blob file the index never knew of is not counted.
  REQUIRE(hoard::test::writeFile(store->pathFor(digestOf("orphan")), "orphan"));
  REQUIRE(store->recover());
  CHECK(store->totalBytes() == 1010);
}
