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
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "cache/index.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace hoard {

std::string encodeBlobMeta(const BlobMeta& meta);
std::optional<BlobMeta> decodeBlobMeta(std::string_view value);
std::string encodeRefEntry(const RefEntry& ref);
std::optional<RefEntry> decodeRefEntry(std::string_view value);

class RocksDbIndex final : public Index {
 public:
  // Creates `dir` (and parents) if missing.
  static std::expected<std::unique_ptr<RocksDbIndex>, std::string> open(const std::string& dir);
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

 private:
  RocksDbIndex() = default;

  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* blobs_ = nullptr;
  rocksdb::ColumnFamilyHandle* refs_ = nullptr;
  // Serialises writes to the blobs family: touchBlobs is read-modify-write,
  // and without this a touch racing an eviction's deleteBlob would write the
  // deleted entry back (resurrecting a blob whose file is gone).
  std::mutex blobWriteMu_;
};

}  // namespace hoard
