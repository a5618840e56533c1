#pragma once
// RocksDB-backed Index. Layout: one DB directory (the store's `index/`), with
// column families "blobs" (digest string -> encoded BlobMeta) and "refs"
// (opaque front-end key -> encoded RefEntry).
//
// Value encoding (compact binary, little-endian, chosen over JSON so decoding
// never throws and a torn/garbage value is detected by exact length):
//   BlobMeta v2: u8 version=2 | u64 size | i64 createdMs | i64 lastAccessMs
//                | u8 flags (bit 0: pinned; other bits must be 0)
//                | u32 len | mediaType bytes
//   BlobMeta v1: as v2 without the flags byte (written before pins existed;
//                still decoded, as unpinned; never written any more)
//   RefEntry v1: u8 version=1 | i64 fetchedMs | i64 ttlMs
//                | u32 len | digest | u32 len | mediaType | u32 len | etag
// A value must be consumed exactly; anything else decodes as Corrupt. A new
// field means a new version byte, and decoders keep accepting old versions.
//
// Durability: putBlob is a synced write (the fill commit point). Refs,
// deletes and touches are WAL-logged but not synced: losing them in a power
// cut costs a refetch, a self-healed dangling entry, or a slightly stale
// last-access time, never a wrong byte served.
//
// A full disk: a failed WAL append, flush or compaction puts RocksDB in a
// background-error state in which it refuses every later write, even once
// space is free again, until DB::Resume() succeeds. Every write therefore
// goes through writeResuming(): after a failure that a background error can
// explain it calls Resume() (at most once per resumeInterval, never two at
// once) and, if that worked, retries the write once. RocksDB's own recovery
// from NoSpace (an SstFileManager thread that waits for write_buffer_size
// free bytes and polls every 5 s) is switched off for these errors: while it
// is pending, Resume() only answers Busy, and eviction - which must delete
// index entries before it can unlink blob files and free the space - would
// stay blocked behind it. Other recoverable errors keep RocksDB's automatic
// retries.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "cache/index.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Env;
class Status;
}  // namespace rocksdb

namespace hoard {

std::string encodeBlobMeta(const BlobMeta& meta);
std::optional<BlobMeta> decodeBlobMeta(std::string_view value);
std::string encodeRefEntry(const RefEntry& ref);
std::optional<RefEntry> decodeRefEntry(std::string_view value);

struct RocksDbIndexOptions {
  // Least time between two DB::Resume() attempts: while the disk stays full
  // each attempt is a failing memtable flush, so a burst of failing writes
  // must not turn into a burst of flushes.
  std::chrono::milliseconds resumeInterval{1000};
  // The Env (and through it the FileSystem) RocksDB uses; null: the default.
  // A test seam: a FileSystem that fails writes stands in for a full disk.
  std::shared_ptr<rocksdb::Env> env;
};

class RocksDbIndex final : public Index {
 public:
  // Creates `dir` (and parents) if missing.
  static std::expected<std::unique_ptr<RocksDbIndex>, std::string> open(
      const std::string& dir, RocksDbIndexOptions options = {});
  ~RocksDbIndex() override;
  RocksDbIndex(const RocksDbIndex&) = delete;
  RocksDbIndex& operator=(const RocksDbIndex&) = delete;

  std::expected<std::optional<BlobMeta>, IndexError> getBlob(std::string_view digest) override;
  std::expected<void, IndexError> putBlob(std::string_view digest, const BlobMeta& meta) override;
  std::expected<void, IndexError> deleteBlob(std::string_view digest) override;
  std::expected<std::optional<RefEntry>, IndexError> getRef(std::string_view key) override;
  std::expected<void, IndexError> putRef(std::string_view key, const RefEntry& ref) override;
  std::expected<void, IndexError> deleteRef(std::string_view key) override;
  std::expected<void, IndexError> touchBlobs(const std::vector<BlobTouch>& batch) override;
  std::expected<void, IndexError> forEachBlob(
      const std::function<bool(std::string_view digest, const BlobMeta&)>& fn) override;
  std::expected<void, IndexError> forEachRef(
      const std::function<bool(std::string_view key, const RefEntry&)>& fn) override;
  IndexHealth health() const override;

 private:
  class ErrorListener;

  RocksDbIndex() = default;
  // Runs `write`; on a failure a background error may explain, resumes the
  // DB (rate-limited) and runs it once more. `write` must be idempotent.
  rocksdb::Status writeResuming(const std::function<rocksdb::Status()>& write);
  // DB::Resume() unless another thread is already at it or the last attempt
  // was under resumeInterval ago. True when the failed write is worth
  // retrying: this call, or another thread since `epochBefore`, resumed.
  bool tryResume(std::uint64_t epochBefore);

  // Outlives db_ (declared first, destroyed last): the DB writes through it.
  std::shared_ptr<rocksdb::Env> env_;
  std::shared_ptr<ErrorListener> listener_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* blobs_ = nullptr;
  rocksdb::ColumnFamilyHandle* refs_ = nullptr;
  // Serialises writes to the blobs family: touchBlobs is read-modify-write,
  // and without this a touch racing an eviction's deleteBlob would write the
  // deleted entry back (resurrecting a blob whose file is gone).
  std::mutex blobWriteMu_;

  std::chrono::milliseconds resumeInterval_{0};
  // Serialises Resume() attempts (try_lock: a writer never queues behind a
  // recovery) and guards lastResume_. Taken with or without blobWriteMu_
  // held, never the other way round.
  std::mutex resumeMu_;
  std::optional<std::chrono::steady_clock::time_point> lastResume_;
  // Bumped by every successful Resume(): a writer that failed before it
  // retries instead of resuming again.
  std::atomic<std::uint64_t> resumeEpoch_{0};
  std::atomic<bool> writesFailing_{false};
};

}  // namespace hoard
