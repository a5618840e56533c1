#include "cache/memory_index.h"

#include <algorithm>

namespace hoard {

std::expected<std::optional<BlobMeta>, IndexError> MemoryIndex::getBlob(std::string_view digest) {
  std::lock_guard lock(mu_);
  auto it = blobs_.find(digest);
  if (it == blobs_.end()) return std::optional<BlobMeta>();
  return std::optional<BlobMeta>(it->second);
}

std::expected<void, IndexError> MemoryIndex::putBlob(std::string_view digest,
                                                     const BlobMeta& meta) {
  std::lock_guard lock(mu_);
  blobs_.insert_or_assign(std::string(digest), meta);
  return {};
}

std::expected<void, IndexError> MemoryIndex::deleteBlob(std::string_view digest) {
  std::lock_guard lock(mu_);
  if (auto it = blobs_.find(digest); it != blobs_.end()) blobs_.erase(it);
  return {};
}

std::expected<std::optional<RefEntry>, IndexError> MemoryIndex::getRef(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = refs_.find(key);
  if (it == refs_.end()) return std::optional<RefEntry>();
  return std::optional<RefEntry>(it->second);
}

std::expected<void, IndexError> MemoryIndex::putRef(std::string_view key, const RefEntry& ref) {
  std::lock_guard lock(mu_);
  refs_.insert_or_assign(std::string(key), ref);
  return {};
}

std::expected<void, IndexError> MemoryIndex::deleteRef(std::string_view key) {
  std::lock_guard lock(mu_);
  if (auto it = refs_.find(key); it != refs_.end()) refs_.erase(it);
  return {};
}

std::expected<void, IndexError> MemoryIndex::touchBlobs(const std::vector<BlobTouch>& batch) {
  std::lock_guard lock(mu_);
  for (const auto& t : batch) {
    auto it = blobs_.find(t.digest);
    if (it == blobs_.end()) continue;
    it->second.lastAccessMs = std::max(it->second.lastAccessMs, t.accessMs);
    it->second.pinned = it->second.pinned || t.pinned;
  }
  return {};
}

std::expected<void, IndexError> MemoryIndex::forEachBlob(
    const std::function<bool(std::string_view digest, const BlobMeta&)>& fn) {
  // Copy under the lock, visit without it: fn may call deleteBlob, and the
  // RocksDB index gives the same snapshot semantics.
  std::map<std::string, BlobMeta, std::less<>> snapshot;
  {
    std::lock_guard lock(mu_);
    snapshot = blobs_;
  }
  for (const auto& [digest, meta] : snapshot) {
    if (!fn(digest, meta)) break;
  }
  return {};
}

std::expected<void, IndexError> MemoryIndex::forEachRef(
    const std::function<bool(std::string_view key, const RefEntry&)>& fn) {
  std::map<std::string, RefEntry, std::less<>> snapshot;
  {
    std::lock_guard lock(mu_);
    snapshot = refs_;
  }
  for (const auto& [key, ref] : snapshot) {
    if (!fn(key, ref)) break;
  }
  return {};
}

IndexPtr makeMemoryIndex() {
  return std::make_unique<MemoryIndex>();
}

}  // namespace hoard
