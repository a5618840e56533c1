#include "daemon/npm/packument_store.h"

#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

namespace hoard::npm {

namespace {

constexpr std::size_t kInMemoryVariantBytes = 32 * 1024;

std::shared_ptr<const std::string> keepIfSmall(const std::string& bytes) {
  if (bytes.empty() || bytes.size() > kInMemoryVariantBytes) return nullptr;
  return std::make_shared<const std::string>(bytes);
}

constexpr const char* kIndexType = "application/vnd.hoard.npm-packument-index+json";

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

std::string readAll(BlobStore& store, const Digest& d, std::size_t max) {
  auto opened = store.open(d);
  if (!opened) return {};
  std::string out;
  if (opened->meta.size <= max) {
    out.resize(opened->meta.size);
    std::size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::pread(opened->fd, out.data() + off, out.size() - off, static_cast<off_t>(off));
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

}  // namespace

std::expected<PackumentEntryPtr, std::string> storePackument(
    BlobStore& store, const std::string& refKey, const std::string& anyMountKey,
    const std::string& rawBody, const RewrittenPackument& doc, std::string upstreamEtag,
    Millis nowMs, Millis ttlMs) {
  auto entry = std::make_shared<PackumentEntry>();
  auto raw = putBytes(store, rawBody, "application/json", nowMs);
  if (!raw) return std::unexpected(raw.error());
  entry->raw = *raw;
  auto full = putBytes(store, doc.full, "application/json", nowMs);
  auto fullGz = putBytes(store, doc.fullGzip, "application/gzip", nowMs);
  auto corgi = putBytes(store, doc.corgi, "application/vnd.npm.install-v1+json", nowMs);
  auto corgiGz = putBytes(store, doc.corgiGzip, "application/gzip", nowMs);
  if (!full || !fullGz || !corgi || !corgiGz) return std::unexpected("cannot store packument");
  entry->full = *full;
  entry->fullGzip = *fullGz;
  entry->corgi = *corgi;
  entry->corgiGzip = *corgiGz;
  entry->tarballs = doc.tarballs;
  entry->fullBytes = keepIfSmall(doc.full);
  entry->fullGzipBytes = keepIfSmall(doc.fullGzip);
  entry->corgiBytes = keepIfSmall(doc.corgi);
  entry->corgiGzipBytes = keepIfSmall(doc.corgiGzip);
  entry->upstreamEtag = std::move(upstreamEtag);
  entry->fetchedMs = nowMs;
  entry->ttlMs = ttlMs;

  nlohmann::json index;
  index["raw"] = entry->raw.str();
  index["full"] = entry->full.str();
  index["fullGzip"] = entry->fullGzip.str();
  index["corgi"] = entry->corgi.str();
  index["corgiGzip"] = entry->corgiGzip.str();
  index["etag"] = entry->upstreamEtag;
  auto& tarballs = index["tarballs"] = nlohmann::json::object();
  for (const auto& [file, src] : entry->tarballs) {
    tarballs[file] = {src.url, std::string(src.digest.algorithmName()), src.digest.hex};
  }
  auto indexDigest = putBytes(store, index.dump(), kIndexType, nowMs);
  if (!indexDigest) return std::unexpected(indexDigest.error());
  RefEntry ref;
  ref.digest = indexDigest->str();
  ref.mediaType = kIndexType;
  ref.fetchedMs = nowMs;
  ref.ttlMs = ttlMs;
  ref.etag = entry->upstreamEtag;
  if (!store.index().putRef(refKey, ref) || !store.index().putRef(anyMountKey, ref)) {
    return std::unexpected("cannot write packument ref");
  }
  return entry;
}

std::optional<PackumentEntryPtr> loadPackument(BlobStore& store, const std::string& refKey) {
  auto ref = store.index().getRef(refKey);
  if (!ref || !*ref) return std::nullopt;
  auto indexDigest = Digest::parse((*ref)->digest);
  if (!indexDigest) return std::nullopt;
  auto text = readAll(store, *indexDigest, 256 * 1024 * 1024);
  auto index = nlohmann::json::parse(text, nullptr, false);
  if (index.is_discarded() || !index.is_object()) return std::nullopt;
  auto entry = std::make_shared<PackumentEntry>();
  auto digestAt = [&](const char* key) {
    auto it = index.find(key);
    return it != index.end() && it->is_string() ? Digest::parse(it->get<std::string>())
                                                : std::nullopt;
  };
  auto raw = digestAt("raw");
  auto full = digestAt("full"), fullGz = digestAt("fullGzip"), corgi = digestAt("corgi"),
       corgiGz = digestAt("corgiGzip");
  if (!raw || !full || !fullGz || !corgi || !corgiGz) return std::nullopt;
  entry->raw = *raw;
  entry->full = *full;
  entry->fullGzip = *fullGz;
  entry->corgi = *corgi;
  entry->corgiGzip = *corgiGz;
  entry->upstreamEtag = index.value("etag", std::string());
  entry->fullBytes = keepIfSmall(readAll(store, entry->full, kInMemoryVariantBytes));
  entry->fullGzipBytes = keepIfSmall(readAll(store, entry->fullGzip, kInMemoryVariantBytes));
  entry->corgiBytes = keepIfSmall(readAll(store, entry->corgi, kInMemoryVariantBytes));
  entry->corgiGzipBytes = keepIfSmall(readAll(store, entry->corgiGzip, kInMemoryVariantBytes));
  if (auto t = index.find("tarballs"); t != index.end() && t->is_object()) {
    for (auto& [file, v] : t->items()) {
      if (!v.is_array() || v.size() != 3) continue;
      auto alg = v[1].get<std::string>();
      auto algorithm = alg == "sha512" ? DigestAlgorithm::Sha512
                       : alg == "sha1" ? DigestAlgorithm::Sha1
                                       : DigestAlgorithm::Sha256;
      auto d = Digest::fromHex(algorithm, v[2].get<std::string>());
      if (d) entry->tarballs[file] = TarballSource{v[0].get<std::string>(), *d};
    }
  }
  entry->fetchedMs = (*ref)->fetchedMs;
  entry->ttlMs = (*ref)->ttlMs;
  return entry;
}

std::optional<PackumentEntryPtr> rebuildPackument(BlobStore& store, const std::string& refKey,
                                                  const std::string& anyMountKey,
                                                  const std::string& packageName,
                                                  const std::string& mountUrl) {
  auto any = loadPackument(store, anyMountKey);
  if (!any) return std::nullopt;
  auto body = readAll(store, (*any)->raw, 512 * 1024 * 1024);
  if (body.empty()) return std::nullopt;
  auto doc = rewritePackument(body, packageName, mountUrl);
  if (!doc) return std::nullopt;
  auto stored = storePackument(store, refKey, anyMountKey, body, *doc, (*any)->upstreamEtag,
                               (*any)->fetchedMs, (*any)->ttlMs);
  if (!stored) return std::nullopt;
  return *stored;
}

bool touchPackument(BlobStore& store, const std::string& refKey, Millis nowMs) {
  auto ref = store.index().getRef(refKey);
  if (!ref || !*ref) return false;
  RefEntry r = **ref;
  r.fetchedMs = nowMs;
  return store.index().putRef(refKey, r).has_value();
}

}  // namespace hoard::npm
