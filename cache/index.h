#pragma once
// The store's index: what blobs we hold (digest -> BlobMeta) and the mutable
// references that point at them (opaque front-end key -> RefEntry).
//
// Synchronous and thread-safe: it is only ever called off the loop thread
// (runOffLoop), possibly from several threadpool workers at once.
//
// Blob keys are canonical digest strings (`Digest::str()`, e.g. "sha256:<hex>").
// putBlob is the commit point of a fill and is durable when it returns;
// everything else may be lost in a crash (last-access times are advisory).
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/clock.h"

namespace hoard {

struct BlobMeta {
  std::uint64_t size = 0;
  std::string mediaType;
  Millis createdMs = 0;
  Millis lastAccessMs = 0;
  // Never evicted (store.pin). Sticky: a commit or a hit under a pinned name
  // sets it; nothing but deleting the entry clears it.
  bool pinned = false;
  bool operator==(const BlobMeta&) const = default;
};

// One entry of a last-access batch (Index::touchBlobs).
struct BlobTouch {
  std::string digest;
  Millis accessMs = 0;
  bool pinned = false;  // the hit was under a pinned name: set BlobMeta::pinned
  bool operator==(const BlobTouch&) const = default;
};

// A mutable reference (tag -> digest, packument name -> digest of the stored
// document, ...). The key is an opaque string built by the front end, e.g.
// "oci/dockerhub/library/alpine:latest".
struct RefEntry {
  std::string digest;
  std::string mediaType;
  Millis fetchedMs = 0;
  Millis ttlMs = 0;
  std::string etag;
  bool operator==(const RefEntry&) const = default;
};

enum class IndexError { Io, Corrupt };

// What /metrics reports about the index's own storage.
struct IndexHealth {
  // The last write failed with a storage error (typically a full disk); the
  // next successful write clears it.
  bool writesFailing = false;
  // Times the index went back to accepting writes after a background error
  // (disk full) had stopped them.
  std::uint64_t recoveries = 0;
};

class Index {
 public:
  virtual ~Index() = default;

  // Corrupt: the stored value cannot be decoded (the caller may delete it).
  virtual std::expected<std::optional<BlobMeta>, IndexError> getBlob(std::string_view digest) = 0;
  // Durable (synced) when it returns: it is the commit point of a fill.
  virtual std::expected<void, IndexError> putBlob(std::string_view digest,
                                                  const BlobMeta& meta) = 0;
  // Deleting an absent key succeeds.
  virtual std::expected<void, IndexError> deleteBlob(std::string_view digest) = 0;

  virtual std::expected<std::optional<RefEntry>, IndexError> getRef(std::string_view key) = 0;
  virtual std::expected<void, IndexError> putRef(std::string_view key, const RefEntry& ref) = 0;
  virtual std::expected<void, IndexError> deleteRef(std::string_view key) = 0;

  // Batched last-access update: one write batch, not synced. Unknown digests
  // are skipped (the blob may have been evicted since the hit); a time older
  // than the stored one never moves lastAccessMs backwards, so concurrent or
  // reordered flushes are harmless. A touch with pinned set pins the blob; a
  // touch without it never unpins. Must not resurrect a blob deleted
  // concurrently.
  virtual std::expected<void, IndexError> touchBlobs(const std::vector<BlobTouch>& batch) = 0;

  // Visits every blob (startup size accounting, eviction) over a consistent
  // snapshot; stops early when fn returns false. fn may call back into the
  // index (e.g. deleteBlob) without deadlocking. Entries whose value cannot
  // be decoded are skipped (BlobStore::open heals them on access).
  virtual std::expected<void, IndexError> forEachBlob(
      const std::function<bool(std::string_view digest, const BlobMeta&)>& fn) = 0;

  // The same for refs (the expired-metadata purge): a consistent snapshot,
  // early stop, fn may call deleteRef/putRef, undecodable entries skipped.
  virtual std::expected<void, IndexError> forEachRef(
      const std::function<bool(std::string_view key, const RefEntry&)>& fn) = 0;

  // Cheap (atomic loads), callable from any thread. Indexes without a
  // storage layer of their own (MemoryIndex) are always healthy.
  virtual IndexHealth health() const { return {}; }
};
using IndexPtr = std::unique_ptr<Index>;

// RocksDB-backed index in `dir` (created if missing). See rocksdb_index.h.
std::expected<IndexPtr, std::string> openRocksDbIndex(const std::string& dir);
// In-process index for tests and ephemeral (memory-only) deployments.
IndexPtr makeMemoryIndex();

}  // namespace hoard
