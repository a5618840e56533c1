#include "daemon/document/document_store.h"

#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

namespace hoard {

namespace {

// Most project pages and packuments, and the gzip copies of popular ones
// (a 300-release PyPI page is ~46 KiB gzipped), are answered from memory:
// opening the stored file per request costs more than the copy.
constexpr std::size_t kInMemoryVariantBytes = 64 * 1024;
constexpr std::size_t kMaxIndexBytes = 256 * 1024 * 1024;
constexpr std::size_t kMaxRawBytes = 512 * 1024 * 1024;
constexpr const char* kIndexType = "application/vnd.hoard.document-index+json";

std::shared_ptr<const std::string> keepIfSmall(std::string bytes) {
  if (bytes.empty() || bytes.size() > kInMemoryVariantBytes) return nullptr;
  return std::make_shared<const std::string>(std::move(bytes));
}

std::expected<Digest, std::string> putBytes(BlobStore& store, const std::string& bytes,
                                            const std::string& mediaType, Millis nowMs) {
  Digest d{DigestAlgorithm::Sha256, sha256Hex(bytes)};
  if (auto existing = store.open(d)) {  // same bytes already stored
    ::close(existing->fd);
    return d;
  }
  auto tmp = store.createTemp();
  if (!tmp) return std::unexpected("cannot create temp file");
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(tmp->fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      store.discard(std::move(*tmp));
      return std::unexpected("cannot write temp file");
    }
    off += static_cast<std::size_t>(n);
  }
  BlobMeta meta;
  meta.size = bytes.size();
  meta.mediaType = mediaType;
  meta.createdMs = nowMs;
  if (!store.commit(std::move(*tmp), d, meta)) return std::unexpected("cannot commit");
  return d;
}

std::optional<Digest> digestFromPair(const nlohmann::json& v) {
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_string()) return std::nullopt;
  auto alg = v[0].get<std::string>();
  auto algorithm = alg == "sha512" ? DigestAlgorithm::Sha512
                   : alg == "sha1" ? DigestAlgorithm::Sha1
                                   : DigestAlgorithm::Sha256;
  return Digest::fromHex(algorithm, v[1].get<std::string>());
}

}  // namespace

std::string readStoredBytes(BlobStore& store, const Digest& digest, std::size_t max) {
  auto opened = store.open(digest);
  if (!opened) return {};
  std::string out;
  if (opened->meta.size <= max) {
    out.resize(opened->meta.size);
    std::size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::pread(opened->fd, out.data() + off, out.size() - off, static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        out.clear();
        break;
      }
      off += static_cast<std::size_t>(n);
    }
  }
  ::close(opened->fd);
  return out;
}

std::expected<DocumentEntryPtr, std::string> storeDocument(BlobStore& store,
                                                           const DocumentKeys& keys,
                                                           const std::string& raw,
                                                           const RenderedDocument& rendered,
                                                           UpstreamValidators validators,
                                                           Millis fetchedMs, Millis ttlMs) {
  auto entry = std::make_shared<DocumentEntry>();
  auto rawDigest = putBytes(store, raw, "application/octet-stream", fetchedMs);
  if (!rawDigest) return std::unexpected(rawDigest.error());
  entry->raw = *rawDigest;
  nlohmann::json index;
  index["raw"] = entry->raw.str();
  auto& variants = index["variants"] = nlohmann::json::object();
  for (const auto& v : rendered.variants) {
    auto d = putBytes(store, v.bytes, v.mediaType, fetchedMs);
    if (!d) return std::unexpected("cannot store document variant " + v.name + ": " + d.error());
    entry->variants[v.name] = StoredVariant{*d, v.bytes.size(), keepIfSmall(v.bytes)};
    variants[v.name] = {d->str(), v.bytes.size()};
  }
  entry->files = rendered.files;
  auto& files = index["files"] = nlohmann::json::object();
  for (const auto& [name, src] : entry->files) {
    files[name] = {src.url, {std::string(src.digest.algorithmName()), src.digest.hex}};
  }
  entry->upstreamEtag = std::move(validators.etag);
  entry->upstreamLastModified = std::move(validators.lastModified);
  index["etag"] = entry->upstreamEtag;
  index["lastModified"] = entry->upstreamLastModified;
  entry->fetchedMs = fetchedMs;
  entry->ttlMs = ttlMs;

  auto indexDigest = putBytes(store, index.dump(), kIndexType, fetchedMs);
  if (!indexDigest) return std::unexpected(indexDigest.error());
  RefEntry ref;
  ref.digest = indexDigest->str();
  ref.mediaType = kIndexType;
  ref.fetchedMs = fetchedMs;
  ref.ttlMs = ttlMs;
  ref.etag = entry->upstreamEtag;
  if (!store.index().putRef(keys.ref, ref)) return std::unexpected("cannot write document ref");
  if (keys.any != keys.ref && !store.index().putRef(keys.any, ref)) {
    return std::unexpected("cannot write document ref");
  }
  return entry;
}

std::optional<DocumentEntryPtr> loadDocument(BlobStore& store, const std::string& refKey) {
  auto ref = store.index().getRef(refKey);
  if (!ref || !*ref) return std::nullopt;
  auto indexDigest = Digest::parse((*ref)->digest);
  if (!indexDigest) return std::nullopt;
  auto index =
      nlohmann::json::parse(readStoredBytes(store, *indexDigest, kMaxIndexBytes), nullptr, false);
  if (index.is_discarded() || !index.is_object()) return std::nullopt;
  auto entry = std::make_shared<DocumentEntry>();
  auto raw = index.find("raw");
  if (raw == index.end() || !raw->is_string()) return std::nullopt;
  auto rawDigest = Digest::parse(raw->get<std::string>());
  if (!rawDigest) return std::nullopt;
  entry->raw = *rawDigest;
  auto variants = index.find("variants");
  if (variants == index.end() || !variants->is_object()) return std::nullopt;
  for (const auto& [name, v] : variants->items()) {
    if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_unsigned()) {
      return std::nullopt;
    }
    auto d = Digest::parse(v[0].get<std::string>());
    if (!d) return std::nullopt;
    StoredVariant sv{*d, v[1].get<std::uint64_t>(), nullptr};
    if (sv.size <= kInMemoryVariantBytes) {
      std::string bytes = readStoredBytes(store, *d, kInMemoryVariantBytes);
      // A variant evicted underneath its index: the document is incomplete.
      if (bytes.size() != sv.size) return std::nullopt;
      sv.bytes = keepIfSmall(std::move(bytes));
    }
    entry->variants[name] = std::move(sv);
  }
  if (auto files = index.find("files"); files != index.end() && files->is_object()) {
    for (const auto& [name, v] : files->items()) {
      if (!v.is_array() || v.size() != 2 || !v[0].is_string()) continue;
      if (auto d = digestFromPair(v[1]))
        entry->files[name] = FileSource{v[0].get<std::string>(), *d};
    }
  }
  entry->upstreamEtag = index.value("etag", std::string());
  entry->upstreamLastModified = index.value("lastModified", std::string());
  entry->fetchedMs = (*ref)->fetchedMs;
  entry->ttlMs = (*ref)->ttlMs;
  return entry;
}

std::optional<DocumentEntryPtr> rebuildDocument(BlobStore& store, const DocumentKeys& keys,
                                                const RenderFn& render) {
  if (keys.any == keys.ref || !render) return std::nullopt;
  auto any = loadDocument(store, keys.any);
  if (!any) return std::nullopt;
  auto raw = readStoredBytes(store, (*any)->raw, kMaxRawBytes);
  if (raw.empty()) return std::nullopt;
  auto rendered = render(raw);
  if (!rendered) return std::nullopt;
  auto stored = storeDocument(store, keys, raw, *rendered,
                              {(*any)->upstreamEtag, (*any)->upstreamLastModified},
                              (*any)->fetchedMs, (*any)->ttlMs);
  if (!stored) return std::nullopt;
  return *stored;
}

bool touchDocument(BlobStore& store, const DocumentKeys& keys, Millis nowMs) {
  auto touch = [&](const std::string& key) {
    auto ref = store.index().getRef(key);
    if (!ref || !*ref) return false;
    RefEntry r = **ref;
    r.fetchedMs = nowMs;
    return store.index().putRef(key, r).has_value();
  };
  bool ok = touch(keys.ref);
  if (keys.any != keys.ref) ok = touch(keys.any) && ok;
  return ok;
}

}  // namespace hoard
