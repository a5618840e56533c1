#include "cache/blob_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

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

namespace {

Digest putMeta(BlobStore& store, std::string_view bytes, BlobMeta meta) {
  auto tmp = store.createTemp();
  REQUIRE(tmp);
  REQUIRE(hoard::test::writeAll(tmp->fd, bytes));
  auto d = digestOf(bytes);
  meta.size = bytes.size();
  REQUIRE(store.commit(std::move(*tmp), d, meta));
  return d;
}

bool indexed(BlobStore& store, const Digest& d) {
  auto e = store.index().getBlob(d.str());
  return e && e->has_value();
}

}  // namespace

TEST_CASE("BlobStore: evictTo never evicts pinned or leased blobs, and they never block others") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  // Oldest first: p (pinned at commit), l (leased), q (pinned by a hit), then x, y, z.
  auto p = putMeta(*store, std::string(100, 'p'), BlobMeta{0, "", 1000, 1000, true});
  auto l = put(*store, std::string(100, 'l'), 2000);
  auto q = put(*store, std::string(100, 'q'), 3000);
  auto x = put(*store, std::string(100, 'x'), 4000);
  auto y = put(*store, std::string(100, 'y'), 5000);
  auto z = put(*store, std::string(100, 'z'), 6000);
  REQUIRE(store->index().touchBlobs({{q.str(), 3000, true}}));
  store->lease(l.str());
  store->lease(l.str());  // counted: two readers
  CHECK(store->isLeased(l.str()));
  REQUIRE(store->totalBytes() == 600);
  REQUIRE(store->totalObjects() == 6);

  // Needs 200: the oldest evictable are x and y, even though p, l, q are older.
  auto freed = store->evictTo(400);
  REQUIRE(freed);
  CHECK(*freed == 200);
  CHECK(store->totalBytes() == 400);
  CHECK(store->totalObjects() == 4);
  for (const auto& kept : {p, l, q, z}) CHECK(indexed(*store, kept));
  CHECK_FALSE(indexed(*store, x));
  CHECK_FALSE(indexed(*store, y));
  CHECK(store->evictedObjects() == 2);
  CHECK(store->evictedBytes() == 200);

  // Asking for everything frees only what is evictable: the target is missed.
  freed = store->evictTo(0);
  REQUIRE(freed);
  CHECK(*freed == 100);  // z
  CHECK(store->totalBytes() == 300);
  for (const auto& kept : {p, l, q}) CHECK(fs::exists(store->pathFor(kept)));

  // One reader done: still leased. Both done: evictable.
  store->unlease(l.str());
  CHECK(*store->evictTo(0) == 0);
  store->unlease(l.str());
  CHECK_FALSE(store->isLeased(l.str()));
  store->unlease(l.str());  // unbalanced unlease: harmless
  CHECK(*store->evictTo(0) == 100);
  CHECK_FALSE(fs::exists(store->pathFor(l)));
  CHECK(store->totalBytes() == 200);
  CHECK(store->totalObjects() == 2);
  CHECK(store->evictedObjects() == 4);
}

TEST_CASE("BlobStore: a re-commit keeps the pin and counts the object once") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  auto d = putMeta(*store, "pinned bytes", BlobMeta{0, "t", 10, 10, true});
  putMeta(*store, "pinned bytes", BlobMeta{0, "t", 20, 20, false});
  auto meta = **store->index().getBlob(d.str());
  CHECK(meta.pinned);
  CHECK(meta.createdMs == 20);
  CHECK(store->totalObjects() == 1);
  CHECK(store->totalBytes() == 12);
  CHECK(*store->evictTo(0) == 0);
  CHECK(indexed(*store, d));
}

TEST_CASE("BlobStore: totalObjects follows commits, removals, healing and reopen") {
  hoard::test::TempDir dir;
  Digest a, b, c;
  {
    auto store = openDisk(dir.path());
    CHECK(store->totalObjects() == 0);
    a = put(*store, "aaa");
    b = put(*store, "bbbb");
    c = put(*store, "cc");
    put(*store, "aaa");  // same digest again
    CHECK(store->totalObjects() == 3);
    REQUIRE(store->remove(b));
    CHECK(store->totalObjects() == 2);
    // Self-healing drops an entry whose file vanished.
    REQUIRE(fs::remove(store->pathFor(c)));
    CHECK_FALSE(store->open(c));
    CHECK(store->totalObjects() == 1);
    // An adopted orphan is counted.
    REQUIRE(hoard::test::writeFile(store->pathFor(digestOf("orphan!")), "orphan!"));
    auto adopted = store->adoptOrphan(digestOf("orphan!"), "t");
    REQUIRE(adopted);
    ::close(adopted->fd);
    CHECK(store->totalObjects() == 2);
  }
  auto store = openDisk(dir.path());
  CHECK(store->totalObjects() == 2);
  CHECK(store->totalBytes() == 3 + 7);
}

TEST_CASE("BlobStore: commit enforces max size by evicting first, oldest first, down to low") {
  hoard::test::TempDir dir;
  auto clock = std::make_shared<hoard::ManualClock>(1'000);
  auto store = openDisk(dir.path(), clock);
  store->setMaxSize(1000, 600);
  CHECK(store->maxSize() == 1000);

  // Ten 100-byte blobs fill the store to exactly max: no eviction yet.
  std::vector<Digest> ds;
  for (int i = 0; i < 10; ++i) {
    ds.push_back(put(*store, std::string(100, static_cast<char>('a' + i)), 1000 + i));
  }
  CHECK(store->totalBytes() == 1000);
  CHECK(store->evictedObjects() == 0);

  // The next commit would exceed: evict down to min(low, max - size) = 600,
  // then add: 700. The four oldest went.
  auto k = put(*store, std::string(100, 'k'), 2000);
  CHECK(store->totalBytes() == 700);
  CHECK(store->evictedObjects() == 4);
  for (int i = 0; i < 4; ++i) CHECK_FALSE(indexed(*store, ds[static_cast<std::size_t>(i)]));
  for (int i = 4; i < 10; ++i) CHECK(indexed(*store, ds[static_cast<std::size_t>(i)]));
  CHECK(indexed(*store, k));

  // A commit larger than max - low needs more than the low mark gives.
  auto big = put(*store, std::string(550, 'B'), 3000);
  CHECK(store->totalBytes() <= 1000);
  CHECK(indexed(*store, big));
  CHECK(indexed(*store, k));  // newest survive

  // An object larger than max on its own is stored without emptying the store.
  const auto before = store->totalObjects();
  auto huge = put(*store, std::string(1500, 'H'), 4000);
  CHECK(indexed(*store, huge));
  CHECK(store->totalObjects() == before + 1);

  // Unlimited again: no eviction on commit.
  store->setMaxSize(0);
  const auto evicted = store->evictedObjects();
  put(*store, std::string(10, 'u'), 5000);
  CHECK(store->evictedObjects() == evicted);
}

TEST_CASE("BlobStore: commit's hard bound never evicts the digest being committed") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  store->setMaxSize(300);
  auto old = put(*store, std::string(100, 'o'), 100);
  auto mid = put(*store, std::string(100, 'm'), 200);
  auto again = put(*store, std::string(100, 'a'), 300);
  REQUIRE(store->totalBytes() == 300);
  // Re-committing `old` (the LRU one) adds no bytes: nothing is evicted, and
  // the file renamed into place is not unlinked under its new entry.
  put(*store, std::string(100, 'o'), 400);
  CHECK(store->evictedObjects() == 0);
  CHECK(readBlob(*store, old) == std::string(100, 'o'));
  // A new blob now evicts `mid`, the least recently used.
  put(*store, std::string(100, 'n'), 500);
  CHECK_FALSE(indexed(*store, mid));
  CHECK(indexed(*store, again));
  CHECK(readBlob(*store, old) == std::string(100, 'o'));
  CHECK(store->totalBytes() == 300);
}

TEST_CASE("BlobStore: concurrent commits under a max size never take the store over it") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  constexpr std::uint64_t kMax = 20'000;
  store->setMaxSize(kMax, kMax * 8 / 10);
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> peak{0};
  std::thread sampler([&] {
    while (!done) {
      auto t = store->totalBytes();
      auto p = peak.load();
      while (t > p && !peak.compare_exchange_weak(p, t)) {
      }
    }
  });
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 60; ++i) {
        std::string bytes(500 + static_cast<std::size_t>((w * 60 + i) % 7) * 100,
                          static_cast<char>('a' + w));
        bytes += std::to_string(i);
        auto tmp = store->createTemp();
        if (!tmp || !hoard::test::writeAll(tmp->fd, bytes)) {
          ++failures;
          continue;
        }
        BlobMeta meta{bytes.size(), "", 1000 + i, 1000 + i};
        if (!store->commit(std::move(*tmp), digestOf(bytes), meta)) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  sampler.join();
  CHECK(failures == 0);
  CHECK(peak.load() <= kMax);
  CHECK(store->totalBytes() <= kMax);
  CHECK(store->evictedObjects() > 0);
  // The accounting matches the index.
  std::uint64_t sum = 0, count = 0;
  REQUIRE(store->index().forEachBlob([&](std::string_view, const BlobMeta& m) {
    sum += m.size;
    ++count;
    return true;
  }));
  CHECK(sum == store->totalBytes());
  CHECK(count == store->totalObjects());
}

TEST_CASE("BlobStore: noteNoSpace is a flag taken once") {
  hoard::test::TempDir dir;
  auto store = openDisk(dir.path());
  CHECK_FALSE(store->takeNoSpace());
  store->noteNoSpace();
  store->noteNoSpace();
  CHECK(store->takeNoSpace());
  CHECK_FALSE(store->takeNoSpace());
}
