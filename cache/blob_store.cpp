#include "cache/blob_store.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <queue>
#include <system_error>
#include <tuple>
#include <vector>

#include "cache/rocksdb_index.h"

namespace hoard {

namespace {

constexpr std::size_t kHashChunk = 1 << 20;

bool fsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// mkdir that tolerates an existing directory; when it creates one, the parent
// is fsynced so the new directory entry survives a crash before the blob's.
bool ensureDir(const std::string& dir, const std::string& parent) {
  if (::mkdir(dir.c_str(), 0755) == 0) return fsyncDir(parent);
  return errno == EEXIST;
}

std::string randomHex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(buf.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // fall back to whatever we have; O_EXCL still guards collisions
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : buf) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

// Unlinks path only if it is still the inode we examined: a concurrent
// commit may have renamed a good copy over the bad file since.
void unlinkIfSameInode(const std::string& path, const struct stat& seen) {
  struct stat now {};
  if (::stat(path.c_str(), &now) == 0 && now.st_dev == seen.st_dev && now.st_ino == seen.st_ino) {
    ::unlink(path.c_str());
  }
}

}  // namespace

std::expected<BlobStorePtr, std::string> openBlobStore(const std::string& root, IndexPtr index,
                                                       ClockPtr clock) {
  if (!index) return std::unexpected("openBlobStore: no index");
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  for (const char* sub : {"blobs", "tmp"}) {
    std::error_code ec;
    std::filesystem::create_directories(r + "/" + sub, ec);
    if (ec) return std::unexpected("cannot create " + r + "/" + sub + ": " + ec.message());
  }
  if (!clock) clock = std::make_shared<SystemClock>();
  return BlobStorePtr(new BlobStore(std::move(r), std::move(index), std::move(clock)));
}

std::expected<BlobStorePtr, std::string> openDiskBlobStore(const std::string& root,
                                                           ClockPtr clock) {
  auto index = openRocksDbIndex(root + "/index");
  if (!index) return std::unexpected(std::move(index.error()));
  return openBlobStore(root, std::move(*index), std::move(clock));
}

BlobStore::BlobStore(std::string root, IndexPtr index, ClockPtr clock)
    : root_(std::move(root)),
      tmpDir_(root_ + "/tmp"),
      index_(std::move(index)),
      clock_(std::move(clock)) {}

std::string BlobStore::shardDir(const Digest& d) const {
  return root_ + "/blobs/" + std::string(d.algorithmName()) + "/" + d.hex.substr(0, 2);
}

std::string BlobStore::pathFor(const Digest& d) const {
  return shardDir(d) + "/" + d.hex;
}

std::expected<void, std::string> BlobStore::recover() {
  std::error_code ec;
  std::filesystem::directory_iterator it(tmpDir_, ec);
  if (ec) return std::unexpected("cannot list " + tmpDir_ + ": " + ec.message());
  for (const auto& entry : it) {
    std::error_code rmEc;
    std::filesystem::remove_all(entry.path(), rmEc);
    if (rmEc)
      return std::unexpected("cannot remove " + entry.path().string() + ": " + rmEc.message());
  }
  std::uint64_t total = 0;
  std::uint64_t objects = 0;
  auto r = index_->forEachBlob([&](std::string_view, const BlobMeta& meta) {
    total += meta.size;
    ++objects;
    return true;
  });
  if (!r)
    return std::unexpected("cannot scan index: " +
                           std::string(r.error() == IndexError::Io ? "I/O error" : "corrupt"));
  totalBytes_.store(total);
  totalObjects_.store(objects);
  return {};
}

void BlobStore::setMaxSize(std::uint64_t maxBytes, std::uint64_t lowBytes) {
  maxBytes_.store(maxBytes);
  lowBytes_.store(std::min(lowBytes, maxBytes));
}

std::expected<TempFile, StoreError> BlobStore::createTemp() {
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string path = tmpDir_ + "/fill-" + randomHex(12);
    int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
    if (fd >= 0) return TempFile{fd, std::move(path)};
    if (errno != EEXIST) return std::unexpected(StoreError::Io);
  }
  return std::unexpected(StoreError::Io);
}

void BlobStore::discard(TempFile tmp) {
  if (tmp.fd >= 0) ::close(tmp.fd);
  if (!tmp.path.empty()) ::unlink(tmp.path.c_str());
}

std::expected<void, StoreError> BlobStore::commit(TempFile tmp, const Digest& digest,
                                                  BlobMeta meta) {
  struct stat st {};
  if (::fstat(tmp.fd, &st) != 0) {
    discard(std::move(tmp));
    return std::unexpected(StoreError::Io);
  }
  if (static_cast<std::uint64_t>(st.st_size) != meta.size) {
    discard(std::move(tmp));
    return std::unexpected(StoreError::SizeMismatch);
  }
  if (::fsync(tmp.fd) != 0) {
    discard(std::move(tmp));
    return std::unexpected(StoreError::Io);
  }
  ::close(tmp.fd);
  tmp.fd = -1;

  const std::string algDir = root_ + "/blobs/" + std::string(digest.algorithmName());
  const std::string shard = shardDir(digest);
  if (!ensureDir(algDir, root_ + "/blobs") || !ensureDir(shard, algDir)) {
    discard(std::move(tmp));
    return std::unexpected(StoreError::Io);
  }
  const std::string finalPath = pathFor(digest);
  // rename() atomically replaces a copy committed concurrently; both copies
  // were verified against the same digest, so readers see identical bytes.
  if (::rename(tmp.path.c_str(), finalPath.c_str()) != 0) {
    discard(std::move(tmp));
    return std::unexpected(StoreError::Io);
  }
  // From here on a failure leaves an unindexed blob file: an orphan that
  // adoptOrphan() can verify and index later, never a served partial blob.
  if (!fsyncDir(shard)) return std::unexpected(StoreError::Io);

  if (meta.lastAccessMs == 0) meta.lastAccessMs = meta.createdMs;
  const std::string key = digest.str();
  std::unique_lock room(roomMu_, std::defer_lock);
  if (const std::uint64_t max = maxBytes_.load(); max > 0) {
    room.lock();
    auto existing = index_->getBlob(key);
    const bool stored = existing && *existing;  // re-commit: no new bytes
    // An object larger than max alone is stored without emptying the store
    // for it (the one-object allowance); the background pass deals with it.
    // After a scan that could not make room (everything left is pinned or
    // being served), commits skip the scan for a second instead of each
    // running a whole-index scan under roomMu_ for nothing.
    if (!stored && meta.size <= max && totalBytes_.load() + meta.size > max &&
        clock_->nowMs() >= noRoomUntilMs_) {
      std::uint64_t target = max - meta.size;
      if (const std::uint64_t low = lowBytes_.load(); low > 0) target = std::min(target, low);
      // A failed eviction does not fail the commit: the bytes are verified
      // and on disk; the next pass retries the eviction.
      (void)evictExcept(target, key);
      if (totalBytes_.load() + meta.size > max) noRoomUntilMs_ = clock_->nowMs() + 1000;
    }
  }
  std::lock_guard lock(accountMu_);
  auto existing = index_->getBlob(key);
  std::uint64_t counted = 0;
  const bool stored = existing && *existing;
  if (stored) {
    counted = (*existing)->size;
    meta.pinned = meta.pinned || (*existing)->pinned;  // pins are sticky
  }
  if (!index_->putBlob(key, meta)) return std::unexpected(StoreError::Io);
  // Down before up: a concurrent reader never sees both sizes counted.
  totalBytes_ -= counted;
  totalBytes_ += meta.size;
  if (!stored) ++totalObjects_;
  return {};
}

std::expected<std::optional<std::uint64_t>, StoreError> BlobStore::dropEntryLocked(
    const std::string& key) {
  auto existing = index_->getBlob(key);
  if (!existing && existing.error() == IndexError::Io) return std::unexpected(StoreError::Io);
  if (existing && !*existing) return std::optional<std::uint64_t>();
  // A Corrupt (undecodable) entry was never counted: recover() skips it.
  const bool decoded = existing.has_value();
  const std::uint64_t counted = decoded ? (*existing)->size : 0;
  if (!index_->deleteBlob(key)) return std::unexpected(StoreError::Io);
  totalBytes_ -= counted;
  if (decoded) --totalObjects_;
  return std::optional<std::uint64_t>(counted);
}

std::expected<OpenBlob, StoreError> BlobStore::open(const Digest& digest) {
  const std::string key = digest.str();
  auto entry = index_->getBlob(key);
  if (!entry) {
    if (entry.error() == IndexError::Io) return std::unexpected(StoreError::Io);
    std::lock_guard lock(accountMu_);
    if (auto r = dropEntryLocked(key); !r) return std::unexpected(r.error());
    return std::unexpected(StoreError::NotFound);
  }
  if (!*entry) return std::unexpected(StoreError::NotFound);
  const BlobMeta& meta = **entry;
  const std::string path = pathFor(digest);

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) return std::unexpected(StoreError::Io);
    std::lock_guard lock(accountMu_);
    // A file that appeared meanwhile is a concurrent commit; leave its entry.
    struct stat now {};
    if (::stat(path.c_str(), &now) != 0) {
      if (auto r = dropEntryLocked(key); !r) return std::unexpected(r.error());
    }
    return std::unexpected(StoreError::NotFound);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return std::unexpected(StoreError::Io);
  }
  if (static_cast<std::uint64_t>(st.st_size) != meta.size) {
    ::close(fd);
    std::lock_guard lock(accountMu_);
    unlinkIfSameInode(path, st);
    if (auto r = dropEntryLocked(key); !r) return std::unexpected(r.error());
    return std::unexpected(StoreError::NotFound);
  }
  return OpenBlob{fd, meta};
}

std::expected<OpenBlob, StoreError> BlobStore::adoptOrphan(const Digest& digest,
                                                           std::string_view mediaType) {
  const std::string key = digest.str();
  if (auto entry = index_->getBlob(key); entry && *entry) return open(digest);

  const std::string path = pathFor(digest);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected(errno == ENOENT ? StoreError::NotFound : StoreError::Io);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return std::unexpected(StoreError::Io);
  }
  Hasher hasher(digest.algorithm);
  std::vector<char> buf(kHashChunk);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return std::unexpected(StoreError::Io);
    }
    if (n == 0) break;
    hasher.update(buf.data(), static_cast<std::size_t>(n));
  }
  if (hasher.finishHex() != digest.hex) {
    ::close(fd);
    unlinkIfSameInode(path, st);
    return std::unexpected(StoreError::NotFound);
  }
  if (::lseek(fd, 0, SEEK_SET) != 0) {
    ::close(fd);
    return std::unexpected(StoreError::Io);
  }

  std::lock_guard lock(accountMu_);
  auto entry = index_->getBlob(key);
  if (entry && *entry && (*entry)->size == static_cast<std::uint64_t>(st.st_size)) {
    return OpenBlob{fd, **entry};  // adopted or committed concurrently
  }
  BlobMeta meta;
  meta.size = static_cast<std::uint64_t>(st.st_size);
  meta.mediaType = std::string(mediaType);
  meta.createdMs = clock_->nowMs();
  meta.lastAccessMs = meta.createdMs;
  const bool stored = entry && *entry;
  const std::uint64_t counted = stored ? (*entry)->size : 0;
  if (!index_->putBlob(key, meta)) {
    ::close(fd);
    return std::unexpected(StoreError::Io);
  }
  totalBytes_ += meta.size;
  totalBytes_ -= counted;
  if (!stored) ++totalObjects_;
  return OpenBlob{fd, std::move(meta)};
}

std::expected<void, StoreError> BlobStore::remove(const Digest& digest) {
  auto r = removeCounted(digest);
  if (!r) return std::unexpected(r.error());
  return {};
}

std::expected<std::uint64_t, StoreError> BlobStore::removeCounted(const Digest& digest) {
  std::lock_guard lock(accountMu_);
  auto r = removeCountedLocked(digest);
  if (!r) return std::unexpected(r.error());
  if (!*r) return std::unexpected(StoreError::NotFound);
  return **r;
}

std::expected<std::optional<std::uint64_t>, StoreError> BlobStore::removeCountedLocked(
    const Digest& digest) {
  const std::string path = pathFor(digest);
  auto dropped = dropEntryLocked(digest.str());
  if (!dropped) return std::unexpected(dropped.error());
  if (::unlink(path.c_str()) != 0) {
    if (errno != ENOENT) return std::unexpected(StoreError::Io);
    if (!*dropped) return std::optional<std::uint64_t>();
  }
  return std::optional<std::uint64_t>(dropped->value_or(0));
}

void BlobStore::lease(const std::string& digestKey) {
  std::lock_guard lock(leaseMu_);
  ++leases_[digestKey];
}

void BlobStore::unlease(const std::string& digestKey) {
  std::lock_guard lock(leaseMu_);
  auto it = leases_.find(digestKey);
  if (it == leases_.end()) return;
  if (--it->second == 0) leases_.erase(it);
}

bool BlobStore::isLeased(const std::string& digestKey) const {
  std::lock_guard lock(leaseMu_);
  return leases_.contains(digestKey);
}

std::expected<std::uint64_t, StoreError> BlobStore::evictTo(std::uint64_t targetBytes) {
  return evictExcept(targetBytes, {});
}

std::expected<std::uint64_t, StoreError> BlobStore::evictExcept(std::uint64_t targetBytes,
                                                                std::string_view keep) {
  const std::uint64_t total = totalBytes_.load();
  if (total <= targetBytes) return 0;
  const std::uint64_t need = total - targetBytes;

  // Pick the oldest evictable blobs whose sizes cover `need` in one pass,
  // keeping only that set (a max-heap on last access) rather than every
  // entry in memory. Pinned and leased blobs are not candidates at all, so
  // they never displace an evictable one from the heap.
  struct Candidate {
    Millis lastAccessMs;
    std::string digest;
    std::uint64_t size;
    bool operator<(const Candidate& o) const {
      return std::tie(lastAccessMs, digest) < std::tie(o.lastAccessMs, o.digest);
    }
  };
  std::priority_queue<Candidate> heap;
  std::uint64_t heapBytes = 0;
  auto scan = index_->forEachBlob([&](std::string_view digest, const BlobMeta& meta) {
    if (meta.pinned || digest == keep) return true;
    Candidate c{meta.lastAccessMs, std::string(digest), meta.size};
    if (heapBytes < need || c < heap.top()) {
      if (isLeased(c.digest)) return true;
      heapBytes += c.size;
      heap.push(std::move(c));
      while (heap.size() > 1 && heapBytes - heap.top().size >= need) {
        heapBytes -= heap.top().size;
        heap.pop();
      }
    }
    return true;
  });
  if (!scan) return std::unexpected(StoreError::Io);

  std::vector<Candidate> victims;
  victims.reserve(heap.size());
  while (!heap.empty()) {
    victims.push_back(heap.top());
    heap.pop();
  }
  std::reverse(victims.begin(), victims.end());  // oldest first

  // One victim that cannot be removed (an index write failing on a full
  // disk) does not stop the pass: the others may still free space.
  std::uint64_t freed = 0;
  std::optional<StoreError> failure;
  for (const auto& v : victims) {
    if (totalBytes_.load() <= targetBytes) break;
    auto r = evictVictim(v.digest);
    if (!r) {
      failure = r.error();
      continue;
    }
    freed += *r;
  }
  if (failure && freed == 0) return std::unexpected(*failure);
  return freed;
}

std::expected<std::uint64_t, StoreError> BlobStore::evictVictim(const std::string& key) {
  // Lease check and removal under one lock: a reader leasing this digest
  // now either waits and then finds it gone (NotFound, refetch), or got its
  // lease in first and the blob is spared.
  std::lock_guard leaseLock(leaseMu_);
  if (leases_.contains(key)) return 0;
  std::lock_guard lock(accountMu_);
  auto digest = Digest::parse(key);
  if (!digest) {
    // Not a key BlobStore writes; drop the entry so it stops being counted.
    if (auto r = dropEntryLocked(key); !r) return std::unexpected(r.error());
    return 0;
  }
  // Pinned since the scan (a hit under a pinned name was flushed meanwhile).
  // An undecodable entry falls through and is dropped like any victim.
  auto entry = index_->getBlob(key);
  if (entry && !*entry) return 0;  // removed concurrently (entries change under accountMu_)
  if (entry && (*entry)->pinned) return 0;
  auto removed = removeCountedLocked(*digest);
  if (!removed) return std::unexpected(removed.error());
  if (!*removed) return 0;
  ++evictedObjects_;
  evictedBytes_ += **removed;
  return **removed;
}

}  // namespace hoard
