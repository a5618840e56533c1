#pragma once
// In-memory copies of hot manifests and tag references, so a warm
// manifest-by-tag request is answered from memory with no disk, index or
// upstream work. Both are bounded LRUs; the store and index remain the
// source of truth (a miss here falls back to them).
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "cache/async_store.h"
#include "cache/index.h"

namespace hoard::oci {

class ManifestCache {
 public:
  explicit ManifestCache(std::size_t maxBytes = 64 * 1024 * 1024, std::size_t maxRefs = 100000)
      : maxBytes_(maxBytes), maxRefs_(maxRefs) {}

  StoredBytesPtr manifest(const std::string& digest);
  void putManifest(const std::string& digest, StoredBytesPtr bytes);

  std::optional<RefEntry> ref(const std::string& key);
  void putRef(const std::string& key, const RefEntry& ref);

 private:
  template <class V>
  struct Lru {
    std::list<std::string> order;  // front = most recent
    std::unordered_map<std::string, std::pair<V, std::list<std::string>::iterator>> map;
  };
  std::size_t maxBytes_, maxRefs_, bytes_ = 0;
  Lru<StoredBytesPtr> manifests_;
  Lru<RefEntry> refs_;
};

}  // namespace hoard::oci
