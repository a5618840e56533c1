#include "cache/async_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "cache/off_loop.h"

namespace hoard {

namespace {
bool writeAll(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool readAllFd(int fd, std::string& out, std::size_t size) {
  out.resize(size);
  std::size_t off = 0;
  while (off < size) {
    ssize_t n = ::pread(fd, out.data() + off, size - off, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}
}  // namespace

CancelHandle AsyncStore::open(const Digest& digest, std::string mediaType, OpenCallback done) {
  using R = std::expected<OpenBlob, StoreError>;
  BlobStore* store = &store_;
  AsyncStore* self = this;
  return runOffLoop<R>(
      loop_,
      [self, store, digest, mediaType = std::move(mediaType)]() -> R {
        // Leased before the lookup: an eviction either sees the lease or
        // completes before the open, which then reports NotFound.
        std::string key = digest.str();
        store->lease(key);
        auto r = store->open(digest);
        if (!r && r.error() == StoreError::NotFound) r = store->adoptOrphan(digest, mediaType);
        if (!r) {
          store->unlease(key);
          return r;
        }
        std::lock_guard lock(self->leasedMu_);
        self->leased_.insert_or_assign(r->fd, std::move(key));
        return r;
      },
      std::move(done),
      [self](R r) {
        if (r) self->closeFd(r->fd);
      });
}

CancelHandle AsyncStore::readAll(const Digest& digest, std::size_t maxBytes, ReadCallback done) {
  using R = std::expected<StoredBytesPtr, StoreError>;
  BlobStore* store = &store_;
  return runOffLoop<R>(
      loop_,
      [store, digest, maxBytes]() -> R {
        auto r = store->open(digest);
        if (!r) return std::unexpected(r.error());
        auto out = std::make_shared<StoredBytes>();
        out->meta = r->meta;
        bool ok = r->meta.size <= maxBytes && readAllFd(r->fd, out->bytes, r->meta.size);
        ::close(r->fd);
        if (r->meta.size > maxBytes) return std::unexpected(StoreError::SizeMismatch);
        if (!ok) return std::unexpected(StoreError::Io);
        return out;
      },
      std::move(done));
}

CancelHandle AsyncStore::putBytes(const Digest& digest, std::shared_ptr<const std::string> bytes,
                                  BlobMeta meta, std::function<void(bool ok)> done) {
  BlobStore* store = &store_;
  return runOffLoop<bool>(
      loop_,
      [store, digest, bytes, meta]() {
        auto tmp = store->createTemp();
        if (!tmp) return false;
        if (!writeAll(tmp->fd, *bytes)) {
          store->discard(std::move(*tmp));
          return false;
        }
        BlobMeta m = meta;
        m.size = bytes->size();
        return store->commit(std::move(*tmp), digest, m).has_value();
      },
      std::move(done));
}

CancelHandle AsyncStore::getRef(std::string key,
                                std::function<void(std::optional<RefEntry>)> done) {
  BlobStore* store = &store_;
  return runOffLoop<std::optional<RefEntry>>(
      loop_,
      [store, key = std::move(key)]() -> std::optional<RefEntry> {
        auto r = store->index().getRef(key);
        if (!r) return std::nullopt;
        return *r;
      },
      std::move(done));
}

CancelHandle AsyncStore::putRef(std::string key, RefEntry ref, std::function<void(bool ok)> done) {
  BlobStore* store = &store_;
  return runOffLoop<bool>(
      loop_,
      [store, key = std::move(key), ref = std::move(ref)]() {
        return store->index().putRef(key, ref).has_value();
      },
      std::move(done));
}

void AsyncStore::closeFd(int fd) {
  if (fd < 0) return;
  std::string key;
  {
    std::lock_guard lock(leasedMu_);
    if (auto it = leased_.find(fd); it != leased_.end()) {
      key = std::move(it->second);
      leased_.erase(it);
    }
  }
  BlobStore* store = &store_;
  runOffLoop(
      loop_,
      [fd, store, key = std::move(key)] {
        ::close(fd);
        if (!key.empty()) store->unlease(key);
      },
      [] {})
      .release();
}

std::size_t AsyncStore::openCount() const {
  std::lock_guard lock(leasedMu_);
  return leased_.size();
}

}  // namespace hoard
