// One behavioural contract, two implementations: every case runs over the
// in-memory index and the RocksDB index.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cache/index.h"
#include "cache/store_test_util.h"

using hoard::BlobMeta;
using hoard::IndexPtr;
using hoard::RefEntry;

namespace {

struct MemoryBackend {
  static constexpr const char* kName = "memory";
  IndexPtr make() { return hoard::makeMemoryIndex(); }
};

struct RocksDbBackend {
  static constexpr const char* kName = "rocksdb";
  hoard::test::TempDir dir;
  IndexPtr make() {
    auto index = hoard::openRocksDbIndex(dir.path() + "/index");
    REQUIRE(index);
    return std::move(*index);
  }
};

std::string digestKey(int i) {
  std::string hex = std::to_string(i);
  return "sha256:" + std::string(64 - hex.size(), '0') + hex;
}

BlobMeta meta(std::uint64_t size, hoard::Millis access, std::string type = "application/octet") {
  return BlobMeta{size, std::move(type), 1000, access};
}

}  // namespace

TEMPLATE_TEST_CASE("Index blob entries round-trip, overwrite and delete", "[index]", MemoryBackend,
                   RocksDbBackend) {
  TestType backend;
  auto index = backend.make();
  const auto key = digestKey(1);

  auto missing = index->getBlob(key);
  REQUIRE(missing);
  CHECK_FALSE(missing->has_value());

  BlobMeta m{123456789012ULL, "application/vnd.oci.image.layer.v1.tar+gzip", -5, 1'700'000'000'123};
  REQUIRE(index->putBlob(key, m));
  auto got = index->getBlob(key);
  REQUIRE(got);
  REQUIRE(got->has_value());
  CHECK(**got == m);

  BlobMeta m2{7, "", 1, 2};  // empty media type must survive too
  REQUIRE(index->putBlob(key, m2));
  CHECK(**index->getBlob(key) == m2);

  REQUIRE(index->deleteBlob(key));
  CHECK_FALSE(index->getBlob(key)->has_value());
  CHECK(index->deleteBlob(key));  // deleting an absent key is fine
}

TEMPLATE_TEST_CASE("Index refs round-trip and live in their own keyspace", "[index]", MemoryBackend,
                   RocksDbBackend) {
  TestType backend;
  auto index = backend.make();
  const std::string key = "oci/dockerhub/library/alpine:latest";

  CHECK_FALSE(index->getRef(key)->has_value());
  RefEntry ref{digestKey(9), "application/vnd.oci.image.index.v1+json", 1'700'000'000'000, 300'000,
               "W/\"abc\""};
  REQUIRE(index->putRef(key, ref));
  REQUIRE(index->getRef(key)->has_value());
  CHECK(**index->getRef(key) == ref);

  // Same string as a blob key and a ref key: independent entries.
  REQUIRE(index->putBlob(key, meta(5, 1)));
  REQUIRE(index->deleteRef(key));
  CHECK_FALSE(index->getRef(key)->has_value());
  REQUIRE(index->getBlob(key)->has_value());
  CHECK((*index->getBlob(key))->size == 5);

  int visited = 0;
  REQUIRE(index->putRef("npm/left-pad", ref));
  REQUIRE(index->forEachBlob([&](std::string_view, const BlobMeta&) {
    ++visited;
    return true;
  }));
  CHECK(visited == 1);  // refs are not blobs
}

TEMPLATE_TEST_CASE("Index touchBlobs updates known blobs only, never backwards", "[index]",
                   MemoryBackend, RocksDbBackend) {
  TestType backend;
  auto index = backend.make();
  REQUIRE(index->putBlob(digestKey(1), meta(10, 100, "a")));
  REQUIRE(index->putBlob(digestKey(2), meta(20, 500, "b")));

  REQUIRE(index->touchBlobs({{digestKey(1), 300},
                             {digestKey(2), 400},     // older than stored: ignored
                             {digestKey(3), 999},     // unknown: skipped, not created
                             {digestKey(1), 250}}));  // duplicate: the newest wins

  auto one = **index->getBlob(digestKey(1));
  CHECK(one.lastAccessMs == 300);
  CHECK(one.size == 10);
  CHECK(one.mediaType == "a");
  CHECK(one.createdMs == 1000);
  CHECK((*index->getBlob(digestKey(2)))->lastAccessMs == 500);
  CHECK_FALSE(index->getBlob(digestKey(3))->has_value());
  CHECK(index->touchBlobs({}));
}

TEMPLATE_TEST_CASE("Index forEachBlob visits all, stops early, tolerates deletes", "[index]",
                   MemoryBackend, RocksDbBackend) {
  TestType backend;
  auto index = backend.make();
  std::set<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    REQUIRE(index->putBlob(digestKey(i), meta(static_cast<std::uint64_t>(i), i)));
    expected.insert(digestKey(i));
  }

  std::set<std::string> seen;
  std::uint64_t sizes = 0;
  REQUIRE(index->forEachBlob([&](std::string_view d, const BlobMeta& m) {
    seen.emplace(d);
    sizes += m.size;
    return true;
  }));
  CHECK(seen == expected);
  CHECK(sizes == 49 * 50 / 2);

  int calls = 0;
  REQUIRE(index->forEachBlob([&](std::string_view, const BlobMeta&) { return ++calls < 3; }));
  CHECK(calls == 3);

  // The visitor deletes what it sees (eviction does): no deadlock, all gone.
  int deleted = 0;
  REQUIRE(index->forEachBlob([&](std::string_view d, const BlobMeta&) {
    REQUIRE(index->deleteBlob(d));
    ++deleted;
    return true;
  }));
  CHECK(deleted == 50);
  int left = 0;
  REQUIRE(index->forEachBlob([&](std::string_view, const BlobMeta&) {
    ++left;
    return true;
  }));
  CHECK(left == 0);
}

TEMPLATE_TEST_CASE("Index touch racing delete never resurrects a blob", "[index]", MemoryBackend,
                   RocksDbBackend) {
  TestType backend;
  auto index = backend.make();
  constexpr int kBlobs = 300;
  for (int i = 0; i < kBlobs; ++i) REQUIRE(index->putBlob(digestKey(i), meta(1, 1)));

  std::atomic<bool> failed{false};
  std::thread toucher([&] {
    for (int round = 0; round < 20; ++round) {
      std::vector<hoard::BlobTouch> batch;
      for (int i = 0; i < kBlobs; ++i) batch.push_back({digestKey(i), 10 + round, round % 2 == 0});
      if (!index->touchBlobs(batch)) failed = true;
    }
  });
  std::thread deleter([&] {
    for (int i = 0; i < kBlobs; ++i) {
      if (!index->deleteBlob(digestKey(i))) failed = true;
    }
  });
  toucher.join();
  deleter.join();
  CHECK_FALSE(failed);
  for (int i = 0; i < kBlobs; ++i) {
    INFO(digestKey(i));
    CHECK_FALSE(index->getBlob(digestKey(i))->has_value());
  }
}

TEMPLATE_TEST_CASE("Index pinned flag round-trips and touchBlobs only ever sets it", "[index]",
                   MemoryBackend, RocksDbBackend) {
  TestType backend;
  auto index = backend.make();
  BlobMeta pinned = meta(10, 100, "p");
  pinned.pinned = true;
  REQUIRE(index->putBlob(digestKey(1), pinned));
  REQUIRE(index->putBlob(digestKey(2), meta(20, 100, "u")));
  CHECK(**index->getBlob(digestKey(1)) == pinned);
  CHECK_FALSE((*index->getBlob(digestKey(2)))->pinned);

  // A pinning touch with an older time still pins (and leaves the time alone);
  // an unpinned touch never unpins.
  REQUIRE(index->touchBlobs({{digestKey(1), 200, false},
                             {digestKey(2), 50, true},
                             {digestKey(3), 300, true}}));  // unknown: not created
  auto one = **index->getBlob(digestKey(1));
  CHECK(one.pinned);
  CHECK(one.lastAccessMs == 200);
  auto two = **index->getBlob(digestKey(2));
  CHECK(two.pinned);
  CHECK(two.lastAccessMs == 100);
  CHECK_FALSE(index->getBlob(digestKey(3))->has_value());

  // Duplicates in one batch: the newest time and any pin win.
  REQUIRE(index->putBlob(digestKey(4), meta(1, 100)));
  REQUIRE(index->touchBlobs({{digestKey(4), 400, true}, {digestKey(4), 500, false}}));
  auto four = **index->getBlob(digestKey(4));
  CHECK(four.pinned);
  CHECK(four.lastAccessMs == 500);

  int pinnedSeen = 0;
  REQUIRE(index->forEachBlob([&](std::string_view, const BlobMeta& m) {
    pinnedSeen += m.pinned ? 1 : 0;
    return true;
  }));
  CHECK(pinnedSeen == 3);
}

TEMPLATE_TEST_CASE("Index forEachRef visits every ref only, stops early, tolerates deletes",
                   "[index]", MemoryBackend, RocksDbBackend) {
  TestType backend;
  auto index = backend.make();
  std::map<std::string, RefEntry> expected;
  for (int i = 0; i < 40; ++i) {
    RefEntry ref{digestKey(i), "application/json", 1000 + i, 60'000,
                 "\"e" + std::to_string(i) + "\""};
    std::string key = "npm/pkg-" + std::to_string(i);
    REQUIRE(index->putRef(key, ref));
    expected.emplace(key, ref);
  }
  REQUIRE(index->putBlob(digestKey(1), meta(1, 1)));  // blobs are not refs

  std::map<std::string, RefEntry> seen;
  REQUIRE(index->forEachRef([&](std::string_view k, const RefEntry& r) {
    seen.emplace(std::string(k), r);
    return true;
  }));
  CHECK(seen == expected);

  int calls = 0;
  REQUIRE(index->forEachRef([&](std::string_view, const RefEntry&) { return ++calls < 5; }));
  CHECK(calls == 5);

  // A snapshot: refs written during the walk are not required to appear, and
  // deleting from the visitor (the purge does) neither deadlocks nor skips.
  int deleted = 0;
  REQUIRE(index->forEachRef([&](std::string_view k, const RefEntry&) {
    REQUIRE(index->deleteRef(k));
    if (deleted == 0) REQUIRE(index->putRef("zzz/added-during-walk", RefEntry{}));
    ++deleted;
    return true;
  }));
  CHECK(deleted >= 40);
  CHECK(deleted <= 41);
  int left = 0;
  REQUIRE(index->forEachRef([&](std::string_view, const RefEntry&) {
    ++left;
    return true;
  }));
  CHECK(left == 41 - deleted);
  CHECK(index->getBlob(digestKey(1))->has_value());
}
