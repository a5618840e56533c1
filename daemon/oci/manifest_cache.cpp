#include "daemon/oci/manifest_cache.h"

namespace hoard::oci {

StoredBytesPtr ManifestCache::manifest(const std::string& digest) {
  auto it = manifests_.map.find(digest);
  if (it == manifests_.map.end()) return nullptr;
  manifests_.order.splice(manifests_.order.begin(), manifests_.order, it->second.second);
  return it->second.first;
}

void ManifestCache::putManifest(const std::string& digest, StoredBytesPtr bytes) {
  if (!bytes || bytes->bytes.size() > maxBytes_) return;
  if (auto it = manifests_.map.find(digest); it != manifests_.map.end()) {
    manifests_.order.splice(manifests_.order.begin(), manifests_.order, it->second.second);
    return;  // same digest, same bytes
  }
  bytes_ += bytes->bytes.size();
  manifests_.order.push_front(digest);
  manifests_.map.emplace(digest, std::make_pair(std::move(bytes), manifests_.order.begin()));
  while (bytes_ > maxBytes_ && !manifests_.order.empty()) {
    auto victim = manifests_.map.find(manifests_.order.back());
    bytes_ -= victim->second.first->bytes.size();
    manifests_.map.erase(victim);
    manifests_.order.pop_back();
  }
}

std::optional<RefEntry> ManifestCache::ref(const std::string& key) {
  auto it = refs_.map.find(key);
  if (it == refs_.map.end()) return std::nullopt;
  refs_.order.splice(refs_.order.begin(), refs_.order, it->second.second);
  return it->second.first;
}

void ManifestCache::putRef(const std::string& key, const RefEntry& ref) {
  if (auto it = refs_.map.find(key); it != refs_.map.end()) {
    it->second.first = ref;
    refs_.order.splice(refs_.order.begin(), refs_.order, it->second.second);
    return;
  }
  refs_.order.push_front(key);
  refs_.map.emplace(key, std::make_pair(ref, refs_.order.begin()));
  while (refs_.map.size() > maxRefs_) {
    refs_.map.erase(refs_.order.back());
    refs_.order.pop_back();
  }
}

CachedDocumentPtr ManifestCache::document(const std::string& key) {
  auto it = documents_.map.find(key);
  if (it == documents_.map.end()) return nullptr;
  documents_.order.splice(documents_.order.begin(), documents_.order, it->second.second);
  return it->second.first;
}

void ManifestCache::putDocument(const std::string& key, CachedDocumentPtr doc) {
  if (!doc || doc->body.size() > maxDocBytes_) return;
  if (auto it = documents_.map.find(key); it != documents_.map.end()) {
    docBytes_ -= it->second.first->body.size();
    documents_.order.erase(it->second.second);
    documents_.map.erase(it);
  }
  docBytes_ += doc->body.size();
  documents_.order.push_front(key);
  documents_.map.emplace(key, std::make_pair(std::move(doc), documents_.order.begin()));
  while (docBytes_ > maxDocBytes_ && !documents_.order.empty()) {
    auto victim = documents_.map.find(documents_.order.back());
    docBytes_ -= victim->second.first->body.size();
    documents_.map.erase(victim);
    documents_.order.pop_back();
  }
}

}  // namespace hoard::oci
