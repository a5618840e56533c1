#pragma once
// Index kept in process memory: the reference semantics the RocksDB index is
// tested against (tests/cache/index_conformance_test.cpp), and a backend for
// deployments that do not need the cache to survive a restart.
#include <map>
#include <mutex>
#include <string>

#include "cache/index.h"

namespace hoard {

class MemoryIndex final : public Index {
 public:
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
  std::mutex mu_;
  std::map<std::string, BlobMeta, std::less<>> blobs_;
  std::map<std::string, RefEntry, std::less<>> refs_;
};

}  // namespace hoard
