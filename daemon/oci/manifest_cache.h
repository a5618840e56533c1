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
#include <utility>
#include <vector>

#include "cache/async_store.h"
#include "cache/index.h"

namespace hoard::oci {

// A small upstream answer kept as-is (tags/list, referrers), with the
// response headers worth replaying.
struct CachedDocument {
  std::string body;
  std::string contentType;
  std::vector<std::pair<std::string, std::string>> headers;
  Millis fetchedMs = 0;
  Millis ttlMs = 0;
};
using CachedDocumentPtr = std::shared_ptr<const CachedDocument>;

class ManifestCache {
 public:
  explicit ManifestCache(std::size_t maxBytes = 64 * 1024 * 1024, std::size_t maxRefs = 100000)
      : maxBytes_(maxBytes), maxRefs_(maxRefs) {}

  StoredBytesPtr manifest(const std::string& digest);
  void putManifest(const std::string& digest, StoredBytesPtr bytes);

  std::optional<RefEntry> ref(const std::string& key);
  void putRef(const std::string& key, const RefEntry& ref);

  // tags/list and referrers answers: memory only (bounded by maxDocBytes);
  // after a restart they are refetched, and only manifests survive an outage.
  CachedDocumentPtr document(const std::string& key);
  void putDocument(const std::string& key, CachedDocumentPtr doc);

 private:
  template <class V>
  struct Lru {
    std::list<std::string> order;  // front = most recent
    std::unordered_map<std::string, std::pair<V, std::list<std::string>::iterator>> map;
  };
  std::size_t maxBytes_, maxRefs_, bytes_ = 0;
  std::size_t maxDocBytes_ = 32 * 1024 * 1024, docBytes_ = 0;
  Lru<CachedDocumentPtr> documents_;
  Lru<StoredBytesPtr> manifests_;
  Lru<RefEntry> refs_;
};

}  // namespace hoard::oci
