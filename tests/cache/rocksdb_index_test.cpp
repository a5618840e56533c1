#include "cache/rocksdb_index.h"

#include <rocksdb/db.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "cache/store_test_util.h"

using hoard::BlobMeta;
using hoard::RefEntry;

namespace {
const std::string kDigest = "sha256:" + std::string(64, 'a');
}

TEST_CASE("RocksDbIndex: committed blobs, refs and touches survive reopen") {
  hoard::test::TempDir dir;
  const std::string path = dir.path() + "/nested/index";  // parents are created
  BlobMeta m{42, "application/json", 10, 20};
  RefEntry ref{kDigest, "application/json", 30, 40, "\"etag\""};
  {
    auto index = hoard::openRocksDbIndex(path);
    REQUIRE(index);
    REQUIRE((*index)->putBlob(kDigest, m));
    REQUIRE((*index)->putRef("npm/left-pad", ref));
    REQUIRE((*index)->touchBlobs({{kDigest, 99}}));
  }
  auto index = hoard::openRocksDbIndex(path);
  REQUIRE(index);
  auto blob = (*index)->getBlob(kDigest);
  REQUIRE(blob);
  REQUIRE(blob->has_value());
  m.lastAccessMs = 99;
  CHECK(**blob == m);
  auto got = (*index)->getRef("npm/left-pad");
  REQUIRE(got);
  REQUIRE(got->has_value());
  CHECK(**got == ref);
}

TEST_CASE("RocksDbIndex: opening a path that is a file fails with a message") {
  hoard::test::TempDir dir;
  const std::string path = dir.path() + "/file";
  std::ofstream(path) << "x";
  auto index = hoard::openRocksDbIndex(path);
  REQUIRE_FALSE(index);
  CHECK_FALSE(index.error().empty());
}

TEST_CASE("RocksDbIndex: an undecodable value reads as Corrupt and is skipped by scans") {
  hoard::test::TempDir dir;
  const std::string path = dir.path() + "/index";
  const std::string good = "sha256:" + std::string(64, 'b');
  {
    auto index = hoard::openRocksDbIndex(path);
    REQUIRE(index);
    REQUIRE((*index)->putBlob(good, BlobMeta{1, "t", 1, 1}));
  }
  {
    // Write garbage straight into the blobs family, as a bug or bit rot would.
    rocksdb::DBOptions options;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"blobs", {}}, {"refs", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(options, path, families, &handles, &db).ok());
    REQUIRE(db->Put(rocksdb::WriteOptions(), handles[1], kDigest, "\x01garbage").ok());
    REQUIRE(db->Put(rocksdb::WriteOptions(), handles[2], "ref", "").ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  auto index = hoard::openRocksDbIndex(path);
  REQUIRE(index);
  auto bad = (*index)->getBlob(kDigest);
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == hoard::IndexError::Corrupt);
  auto badRef = (*index)->getRef("ref");
  REQUIRE_FALSE(badRef);
  CHECK(badRef.error() == hoard::IndexError::Corrupt);

  std::vector<std::string> seen;
  REQUIRE((*index)->forEachBlob([&](std::string_view d, const BlobMeta&) {
    seen.emplace_back(d);
    return true;
  }));
  CHECK(seen == std::vector<std::string>{good});
  // A touch on the corrupt entry leaves it alone rather than failing the batch.
  CHECK((*index)->touchBlobs({{kDigest, 5}, {good, 7}}));
  CHECK((*(*index)->getBlob(good))->lastAccessMs == 7);
  REQUIRE((*index)->deleteBlob(kDigest));
  CHECK_FALSE((*(*index)->getBlob(kDigest)).has_value());
}

TEST_CASE("Index value codec rejects truncated, extended and unknown-version values") {
  BlobMeta m{5, "text/plain", 1, 2};
  auto enc = hoard::encodeBlobMeta(m);
  REQUIRE(hoard::decodeBlobMeta(enc));
  CHECK(*hoard::decodeBlobMeta(enc) == m);
  CHECK_FALSE(hoard::decodeBlobMeta(enc.substr(0, enc.size() - 1)));
  CHECK_FALSE(hoard::decodeBlobMeta(enc + "x"));
  auto wrongVersion = enc;
  wrongVersion[0] = 3;
  CHECK_FALSE(hoard::decodeBlobMeta(wrongVersion));
  wrongVersion[0] = 0;
  CHECK_FALSE(hoard::decodeBlobMeta(wrongVersion));
  CHECK_FALSE(hoard::decodeBlobMeta(""));

  RefEntry r{kDigest, "m", -1, 0, ""};
  auto renc = hoard::encodeRefEntry(r);
  REQUIRE(hoard::decodeRefEntry(renc));
  CHECK(*hoard::decodeRefEntry(renc) == r);
  CHECK_FALSE(hoard::decodeRefEntry(renc.substr(0, renc.size() - 1)));
  CHECK_FALSE(hoard::decodeRefEntry(renc + std::string(1, '\0')));
}

namespace {

// A BlobMeta value exactly as the previous version (v1, no flags) wrote it.
std::string v1Value(std::uint64_t size, std::int64_t created, std::int64_t access,
                    const std::string& type) {
  std::string out(1, '\x01');
  auto u64 = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  u64(size);
  u64(static_cast<std::uint64_t>(created));
  u64(static_cast<std::uint64_t>(access));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((type.size() >> (8 * i)) & 0xff));
  out += type;
  return out;
}

}  // namespace

TEST_CASE("Index value codec: v2 carries pinned; v1 values still decode, unpinned") {
  BlobMeta pinned{7, "application/x-tar", 11, 12, true};
  auto enc = hoard::encodeBlobMeta(pinned);
  CHECK(enc[0] == 2);
  REQUIRE(hoard::decodeBlobMeta(enc));
  CHECK(*hoard::decodeBlobMeta(enc) == pinned);
  // The flags byte sits right after the three u64 fields; unknown bits are garbage.
  auto badFlags = enc;
  badFlags[25] = 2;
  CHECK_FALSE(hoard::decodeBlobMeta(badFlags));

  auto v1 = v1Value(123, 5, 6, "text/plain");
  auto decoded = hoard::decodeBlobMeta(v1);
  REQUIRE(decoded);
  CHECK(*decoded == BlobMeta{123, "text/plain", 5, 6, false});
  CHECK_FALSE(hoard::decodeBlobMeta(v1.substr(0, v1.size() - 1)));
  CHECK_FALSE(hoard::decodeBlobMeta(v1 + "x"));
  // Same bytes relabelled v2 lack the flags byte: the lengths no longer add up.
  auto relabelled = v1;
  relabelled[0] = 2;
  CHECK_FALSE(hoard::decodeBlobMeta(relabelled));
}

TEST_CASE("RocksDbIndex: a store written by the previous version (v1 values) still reads") {
  hoard::test::TempDir dir;
  const std::string path = dir.path() + "/index";
  const std::string other = "sha256:" + std::string(64, 'c');
  {
    auto index = hoard::openRocksDbIndex(path);  // creates the families
    REQUIRE(index);
  }
  {
    rocksdb::DBOptions options;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"blobs", {}}, {"refs", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(options, path, families, &handles, &db).ok());
    REQUIRE(db->Put(rocksdb::WriteOptions(), handles[1], kDigest, v1Value(42, 10, 20, "a/b")).ok());
    REQUIRE(db->Put(rocksdb::WriteOptions(), handles[1], other, v1Value(8, 1, 2, "")).ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  auto index = hoard::openRocksDbIndex(path);
  REQUIRE(index);
  CHECK(**(*index)->getBlob(kDigest) == BlobMeta{42, "a/b", 10, 20, false});
  std::uint64_t sizes = 0;
  REQUIRE((*index)->forEachBlob([&](std::string_view, const BlobMeta& m) {
    sizes += m.size;
    return true;
  }));
  CHECK(sizes == 50);
  // Rewritten by a touch: now v2, pin and all, other fields kept.
  REQUIRE((*index)->touchBlobs({{kDigest, 30, true}}));
  CHECK(**(*index)->getBlob(kDigest) == BlobMeta{42, "a/b", 10, 30, true});
  CHECK(**(*index)->getBlob(other) == BlobMeta{8, "", 1, 2, false});
}
