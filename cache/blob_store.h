#pragma once
// The content-addressed store on disk: directory layout, the fill commit
// protocol, self-healing lookups, size accounting and LRU eviction (which
// spares pinned blobs and blobs leased by a reader).
//
// Layout under root:
//   blobs/<alg>/<first 2 hex>/<full hex>   committed, verified blobs
//   tmp/<random>                           fills in progress (wiped by recover())
//   index/                                 RocksDB (openDiskBlobStore), or any Index
//
// Commit protocol (commit()): fsync(temp) -> rename into blobs/ -> fsync(shard
// dir) -> index.putBlob (synced). The index entry is the commit point, so a
// crash anywhere leaves one of:
//   - a temp file in tmp/            -> deleted by recover()
//   - a blob file with no entry      -> adoptOrphan() re-hashes and indexes it, or deletes it
//   - a whole verified, indexed blob
// and a blob is never served unless indexed with the file's exact size.
//
// All methods are synchronous and block on disk: call them off the loop
// (runOffLoop). They are safe to call from several threadpool workers at once.
#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cache/clock.h"
#include "cache/digest.h"
#include "cache/index.h"

namespace hoard {

struct TempFile {
  int fd = -1;
  std::string path;
};

// The caller owns fd and must close it.
struct OpenBlob {
  int fd = -1;
  BlobMeta meta;
};

enum class StoreError { NotFound, Io, Corrupt, SizeMismatch };

class BlobStore;
using BlobStorePtr = std::unique_ptr<BlobStore>;

// Creates root, blobs/ and tmp/ if missing. Call recover() before use.
// clock stamps createdMs/lastAccessMs of adopted orphans (SystemClock if null).
std::expected<BlobStorePtr, std::string> openBlobStore(const std::string& root, IndexPtr index,
                                                       ClockPtr clock = nullptr);
// The same, with a RocksDB index in root/index.
std::expected<BlobStorePtr, std::string> openDiskBlobStore(const std::string& root,
                                                           ClockPtr clock = nullptr);

class BlobStore {
 public:
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  // Startup: deletes everything in tmp/ (partial fills from a crash) and
  // loads totalBytes() from the index, O(index), without touching blob files.
  // Must run before any fill starts (it would delete that fill's temp file).
  std::expected<void, std::string> recover();

  // A new, empty file in tmp/ (O_CREAT|O_EXCL|O_RDWR|O_CLOEXEC, random name).
  std::expected<TempFile, StoreError> createTemp();

  // Commits a fully written, already-verified temp file as `digest`.
  // meta.size must equal the file's size (SizeMismatch otherwise, and the
  // temp file is discarded). lastAccessMs == 0 is taken as createdMs. The
  // temp fd is closed and the temp file is gone whatever the outcome.
  // Committing a digest that is already stored is harmless (same bytes; the
  // size is counted once; a pin on the stored entry is kept).
  // With a max size set (setMaxSize), a commit that would take totalBytes()
  // over it first evicts synchronously (never this digest, nor pinned or
  // leased blobs), so the store exceeds max size by at most one object, and
  // only if that object alone is larger than the max, or if every other blob is
  // pinned or leased. Concurrent commits are serialised on that check.
  std::expected<void, StoreError> commit(TempFile tmp, const Digest& digest, BlobMeta meta);

  // Closes and unlinks a temp file (abandoned or failed fill).
  void discard(TempFile tmp);

  // Looks up and opens a blob. Self-healing: an entry whose file is missing
  // or has the wrong size, or whose value is undecodable, is deleted and
  // NotFound returned (with the bad file, if any, removed). NotFound with no
  // entry may still be an orphan: see adoptOrphan. Does not update last
  // access (AccessTracker does).
  std::expected<OpenBlob, StoreError> open(const Digest& digest);

  // A file in blobs/ with no index entry (crash between rename and index
  // write): re-hashes it; if it matches, indexes it (mediaType as given) and
  // returns it opened; otherwise deletes it and returns NotFound. NotFound if
  // there is no file. If the digest is indexed meanwhile, behaves as open().
  std::expected<OpenBlob, StoreError> adoptOrphan(const Digest& digest, std::string_view mediaType);

  // Deletes the entry, then the file (a crash in between leaves an orphan,
  // which is adoptable or harmless). NotFound if neither exists.
  std::expected<void, StoreError> remove(const Digest& digest);

  std::uint64_t totalBytes() const { return totalBytes_.load(); }
  // Indexed blobs, maintained with totalBytes() (recover() counts them).
  std::uint64_t totalObjects() const { return totalObjects_.load(); }

  // The hard bound commit() enforces; 0 (the default) = unlimited. When a
  // commit has to evict, it evicts down to `lowBytes` (if set and lower than
  // what the commit needs) so that a burst of commits scans the index once,
  // not once per commit.
  void setMaxSize(std::uint64_t maxBytes, std::uint64_t lowBytes = 0);
  std::uint64_t maxSize() const { return maxBytes_.load(); }

  // Evicts least-recently-accessed blobs until totalBytes() <= targetBytes;
  // returns bytes freed. Pinned and leased blobs are never chosen, so the
  // target may be missed (the result says what was freed). Readers holding
  // an fd keep reading (Linux unlink semantics). Memory is bounded by the
  // number of blobs chosen, not the number stored.
  std::expected<std::uint64_t, StoreError> evictTo(std::uint64_t targetBytes);

  // In-use leases: a counted set of digest keys (Digest::str()) that eviction
  // skips while a reader serves them. Thread-safe; unlease of a key that is
  // not leased is a no-op. A lease taken before open() cannot race an
  // eviction: the lease check and the removal happen under one lock.
  void lease(const std::string& digestKey);
  void unlease(const std::string& digestKey);
  bool isLeased(const std::string& digestKey) const;

  // A fill hit ENOSPC/EDQUOT (any thread): the App's eviction check takes the
  // flag (takeNoSpace, which clears it) and runs a pass to the low watermark.
  void noteNoSpace() { noSpace_.store(true); }
  bool takeNoSpace() { return noSpace_.exchange(false); }

  // Cumulative, over background passes and commit()'s hard bound: the App
  // turns them into counters.
  std::uint64_t evictedObjects() const { return evictedObjects_.load(); }
  std::uint64_t evictedBytes() const { return evictedBytes_.load(); }

  std::string pathFor(const Digest& d) const;
  Index& index() { return *index_; }
  const std::string& root() const { return root_; }

 private:
  friend std::expected<BlobStorePtr, std::string> openBlobStore(const std::string&, IndexPtr,
                                                                ClockPtr);
  BlobStore(std::string root, IndexPtr index, ClockPtr clock);

  std::string shardDir(const Digest& d) const;
  // Removes the entry for `key` if present and uncounts its size; caller
  // holds accountMu_. Returns the bytes uncounted, nullopt if there was no entry.
  std::expected<std::optional<std::uint64_t>, StoreError> dropEntryLocked(const std::string& key);
  // remove(), returning the bytes uncounted.
  std::expected<std::uint64_t, StoreError> removeCounted(const Digest& digest);
  // The same with accountMu_ held; nullopt if neither entry nor file existed.
  std::expected<std::optional<std::uint64_t>, StoreError> removeCountedLocked(const Digest& digest);
  // evictTo(), never choosing `keep` (the digest being committed).
  std::expected<std::uint64_t, StoreError> evictExcept(std::uint64_t targetBytes,
                                                       std::string_view keep);
  // Removes one chosen victim unless it was leased or pinned since the scan;
  // returns the bytes freed (0 if spared or already gone).
  std::expected<std::uint64_t, StoreError> evictVictim(const std::string& key);

  std::string root_;
  std::string tmpDir_;
  IndexPtr index_;
  ClockPtr clock_;
  std::atomic<std::uint64_t> totalBytes_{0};
  std::atomic<std::uint64_t> totalObjects_{0};
  std::atomic<std::uint64_t> maxBytes_{0};
  std::atomic<std::uint64_t> lowBytes_{0};
  std::atomic<std::uint64_t> evictedObjects_{0};
  std::atomic<std::uint64_t> evictedBytes_{0};
  std::atomic<bool> noSpace_{false};
  // Held across "read entry -> write entry -> adjust totalBytes_" so
  // concurrent commits/removals of the same digest count its size once.
  // Never held across blob-file fsync or hashing, only index calls.
  Millis noRoomUntilMs_ = 0;  // guarded by roomMu_: see commit()
  std::mutex accountMu_;
  // Serialises commit()'s "make room -> index write" under a max size, so
  // concurrent commits cannot all see room for themselves. Taken before
  // leaseMu_ and accountMu_, never while holding either.
  std::mutex roomMu_;
  // Guards leases_. Held across an eviction's "is it leased -> remove" so a
  // lease taken meanwhile waits for it. Taken before accountMu_.
  mutable std::mutex leaseMu_;
  std::unordered_map<std::string, std::uint32_t> leases_;
};

}  // namespace hoard
