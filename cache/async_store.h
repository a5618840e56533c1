#pragma once
// The loop thread's view of the store: every BlobStore / Index call runs on
// the thread pool and reports back on the loop. Front ends (OCI, npm, PyPI,
// Go) use this; none of them touches the disk or RocksDB directly.
//
// Must survive: the caller cancelling at any point (an fd opened for a
// cancelled request is closed, never leaked), the blob being evicted between
// lookup and send (the open fd keeps the bytes readable), and an index entry
// whose file vanished (the store heals it and reports NotFound).
//
// A blob opened for serving is leased in the BlobStore (eviction skips it)
// from before the open until closeFd() of its fd, so a blob being sent is
// never evicted under its reader.
#include <uv.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "cache/blob_store.h"
#include "cache/cancel.h"

namespace hoard {

struct StoredBytes {
  BlobMeta meta;
  std::string bytes;
};
using StoredBytesPtr = std::shared_ptr<const StoredBytes>;

class AsyncStore {
 public:
  AsyncStore(uv_loop_t* loop, BlobStore& store) : loop_(loop), store_(store) {}

  using OpenCallback = std::function<void(std::expected<OpenBlob, StoreError>)>;
  // Opens a blob for serving; an unindexed file left by a crash is re-verified
  // and adopted (mediaType is recorded for it). The returned fd must be
  // released with closeFd(), which also ends the blob's lease.
  CancelHandle open(const Digest& digest, std::string mediaType, OpenCallback done);

  using ReadCallback = std::function<void(std::expected<StoredBytesPtr, StoreError>)>;
  // Reads a small blob (a manifest, a metadata document) whole. Larger than
  // maxBytes -> SizeMismatch.
  CancelHandle readAll(const Digest& digest, std::size_t maxBytes, ReadCallback done);

  // Stores bytes the caller has already verified against `digest`.
  CancelHandle putBytes(const Digest& digest, std::shared_ptr<const std::string> bytes,
                        BlobMeta meta, std::function<void(bool ok)> done);

  CancelHandle getRef(std::string key, std::function<void(std::optional<RefEntry>)> done);
  CancelHandle putRef(std::string key, RefEntry ref, std::function<void(bool ok)> done);

  // Closes an fd on the thread pool: the last close of an evicted (unlinked)
  // file frees its blocks, which must not happen on the loop. An fd from
  // open() loses its lease once closed.
  void closeFd(int fd);
  // Blobs currently open for serving through open() (leased fds).
  std::size_t openCount() const;

  uv_loop_t* loop() const { return loop_; }
  BlobStore& store() { return store_; }

 private:
  uv_loop_t* loop_;
  BlobStore& store_;
  // fd -> leased digest key, for fds handed out by open(). Written on the
  // thread pool (open) and the loop (closeFd). An entry is erased before its
  // fd is closed, so a reused fd number never meets a stale entry.
  mutable std::mutex leasedMu_;
  std::unordered_map<int, std::string> leased_;
};

}  // namespace hoard
