#include "cache/rocksdb_index.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

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

namespace {

// A file system whose disk can be "full": while it is, every append to a
// writable file (WAL, SST, MANIFEST) fails with ENOSPC's status, as the Posix
// file system reports it (NoSpace, retryable). Creating files still works.
class FullDiskFs final : public rocksdb::FileSystemWrapper {
 public:
  FullDiskFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FullDiskFs"; }
  void setFull(bool full) { full_->store(full); }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    return wrap(target()->NewWritableFile(f, o, r, dbg), r);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    return wrap(target()->ReopenWritableFile(f, o, r, dbg), r);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    return wrap(target()->ReuseWritableFile(f, old, o, r, dbg), r);
  }

 private:
  using Flag = std::shared_ptr<std::atomic<bool>>;

  class File final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> f, Flag full)
        : FSWritableFileOwnerWrapper(std::move(f)), full_(std::move(full)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return noSpace();
      return FSWritableFileOwnerWrapper::Append(d, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return noSpace();
      return FSWritableFileOwnerWrapper::Append(d, o, v, dbg);
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& d, std::uint64_t off,
                                       const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return noSpace();
      return FSWritableFileOwnerWrapper::PositionedAppend(d, off, o, dbg);
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& d, std::uint64_t off,
                                       const rocksdb::IOOptions& o,
                                       const rocksdb::DataVerificationInfo& v,
                                       rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return noSpace();
      return FSWritableFileOwnerWrapper::PositionedAppend(d, off, o, v, dbg);
    }

   private:
    static rocksdb::IOStatus noSpace() {
      auto s = rocksdb::IOStatus::NoSpace("test", "No space left on device");
      s.SetRetryable(true);
      return s;
    }
    Flag full_;
  };

  rocksdb::IOStatus wrap(rocksdb::IOStatus s, std::unique_ptr<rocksdb::FSWritableFile>* r) {
    if (s.ok()) *r = std::make_unique<File>(std::move(*r), full_);
    return s;
  }

  Flag full_ = std::make_shared<std::atomic<bool>>(false);
};

struct FullDiskIndex {
  explicit FullDiskIndex(const std::string& path, std::chrono::milliseconds resumeInterval) {
    hoard::RocksDbIndexOptions options;
    options.resumeInterval = resumeInterval;
    options.env = std::shared_ptr<rocksdb::Env>(rocksdb::NewCompositeEnv(fs));
    auto opened = hoard::RocksDbIndex::open(path, options);
    REQUIRE(opened);
    index = std::move(*opened);
  }
  std::shared_ptr<FullDiskFs> fs = std::make_shared<FullDiskFs>();
  std::unique_ptr<hoard::RocksDbIndex> index;
};

std::string digestOf(char c) {
  return "sha256:" + std::string(64, c);
}

}  // namespace

TEST_CASE("RocksDbIndex: after a full disk, writes work again without a reopen") {
  hoard::test::TempDir dir;
  const std::string path = dir.path() + "/index";
  const BlobMeta before{10, "t", 1, 1};
  const BlobMeta after{20, "t", 2, 2};
  const RefEntry ref{digestOf('b'), "t", 3, 4, ""};
  {
    FullDiskIndex db(path, std::chrono::milliseconds(0));
    auto& index = *db.index;
    REQUIRE(index.putBlob(digestOf('a'), before));
    CHECK_FALSE(index.health().writesFailing);

    db.fs->setFull(true);
    // Every kind of write fails, repeatedly: each failure's Resume() fails
    // too while there is no room for its memtable flush.
    for (int round = 0; round < 2; ++round) {
      auto put = index.putBlob(digestOf('b'), after);
      REQUIRE_FALSE(put);
      CHECK(put.error() == hoard::IndexError::Io);
      CHECK_FALSE(index.putRef("npm/x", ref));
      CHECK_FALSE(index.deleteRef("npm/x"));
      CHECK_FALSE(index.touchBlobs({{digestOf('a'), 5}}));
      CHECK_FALSE(index.deleteBlob(digestOf('a')));
    }
    CHECK(index.health().writesFailing);
    CHECK(index.health().recoveries == 0);
    // Reads keep working meanwhile.
    auto got = index.getBlob(digestOf('a'));
    REQUIRE(got);
    REQUIRE(got->has_value());
    CHECK(**got == before);

    db.fs->setFull(false);
    REQUIRE(index.putBlob(digestOf('b'), after));
    CHECK_FALSE(index.health().writesFailing);
    CHECK(index.health().recoveries == 1);
    REQUIRE(index.putRef("npm/x", ref));
    REQUIRE(index.touchBlobs({{digestOf('a'), 7}}));
    CHECK((*index.getBlob(digestOf('a')))->lastAccessMs == 7);
    CHECK(index.health().recoveries == 1);
  }
  // Everything acknowledged, before and after the full disk, is durable.
  auto index = hoard::openRocksDbIndex(path);
  REQUIRE(index);
  CHECK((*(*index)->getBlob(digestOf('a')))->size == before.size);
  CHECK(**(*index)->getBlob(digestOf('b')) == after);
  CHECK(**(*index)->getRef("npm/x") == ref);
}

TEST_CASE("RocksDbIndex: Resume() is rate-limited, and without it the index stays stopped") {
  hoard::test::TempDir dir;
  FullDiskIndex db(dir.path() + "/index", std::chrono::hours(1));
  auto& index = *db.index;
  REQUIRE(index.putBlob(digestOf('a'), BlobMeta{1, "t", 1, 1}));

  db.fs->setFull(true);
  REQUIRE_FALSE(index.putBlob(digestOf('b'), BlobMeta{2, "t", 2, 2}));  // uses the one attempt
  db.fs->setFull(false);
  // Space is back, but the DB stays stopped until something calls Resume()
  // (RocksDB's own NoSpace recovery is off, see rocksdb_index.h), and the
  // index's next attempt is an hour away.
  for (int i = 0; i < 3; ++i) {
    auto put = index.putBlob(digestOf('b'), BlobMeta{2, "t", 2, 2});
    REQUIRE_FALSE(put);
    CHECK(put.error() == hoard::IndexError::Io);
  }
  CHECK(index.health().writesFailing);
  CHECK(index.health().recoveries == 0);
  CHECK_FALSE(*index.getBlob(digestOf('b')));
}

TEST_CASE("RocksDbIndex: writers racing through a full disk all get through afterwards") {
  hoard::test::TempDir dir;
  FullDiskIndex db(dir.path() + "/index", std::chrono::milliseconds(0));
  auto& index = *db.index;
  REQUIRE(index.putBlob(digestOf('a'), BlobMeta{1, "t", 1, 1}));

  constexpr int kThreads = 4;
  // A bound so that a wedged index fails the test instead of hanging it.
  constexpr int kMaxAttempts = 1'000'000;
  std::atomic<bool> full{true};
  std::vector<std::atomic<int>> failures(kThreads);
  std::vector<int> attempts(kThreads, 0);  // each written by its thread only
  std::atomic<int> finished{0};
  db.fs->setFull(true);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = digestOf(static_cast<char>('c' + t));
      const std::string ref = "ref/" + std::to_string(t);
      // Until a write lands after the disk was freed: one that fails after
      // that may have lost the race for Resume() to another thread.
      while (attempts[t]++ < kMaxAttempts) {
        const bool wasFull = full.load();
        const bool ok =
            t % 2 == 0
                ? index.putBlob(key, BlobMeta{static_cast<std::uint64_t>(t), "t", 1, 1}).has_value()
                : index.putRef(ref, RefEntry{key, "t", 1, 1, ""}).has_value();
        if (ok && !wasFull) break;
        if (!ok && wasFull) failures[t].fetch_add(1);
      }
      finished.fetch_add(1);
    });
  }
  auto allFailedTwice = [&] {
    for (const auto& f : failures) {
      if (f.load() < 2) return false;
    }
    return true;
  };
  while (!allFailedTwice() && finished.load() == 0) std::this_thread::yield();
  full.store(false);
  db.fs->setFull(false);
  for (auto& th : threads) th.join();

  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    CHECK(failures[t].load() >= 2);
    CHECK(attempts[t] <= kMaxAttempts);
  }
  CHECK(index.health().recoveries >= 1);
  CHECK_FALSE(index.health().writesFailing);
  for (int t = 0; t < kThreads; t += 2) {
    CHECK(index.getBlob(digestOf(static_cast<char>('c' + t)))->has_value());
  }
  for (int t = 1; t < kThreads; t += 2) {
    CHECK(index.getRef("ref/" + std::to_string(t))->has_value());
  }
}
