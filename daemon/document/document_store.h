#pragma once
// Mutable upstream documents (npm packuments, PyPI project pages, Go version
// lists) as hoard keeps them: the upstream's bytes as received, the variants
// rendered from them once per fill (JSON, HTML, gzip copies ...) stored as
// content-addressed blobs and served like blobs, the table of immutable files
// the document names, and a small index blob tying these together. A ref in
// the index (key chosen by the front end) points at the index blob and
// carries fetch time, TTL and the upstream's ETag.
//
// Rendering happens here, once, never per request: popular packuments are
// tens of MB. Small variants are also kept in memory so the common case is
// answered with no file open at all.
//
// Blocking: everything here runs on the thread pool (runOffLoop), never on
// the loop.
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/blob_store.h"
#include "cache/clock.h"
#include "daemon/document/file_source.h"

namespace hoard {

struct DocumentVariant {
  std::string name;       // the front end's name for it: "full", "corgi-gzip", "html" ...
  std::string mediaType;  // recorded with the blob
  std::string bytes;
};

struct RenderedDocument {
  std::vector<DocumentVariant> variants;
  std::map<std::string, FileSource> files;  // file name -> where it is and its digest
};

// Turns the upstream's bytes into what is served. Pure; runs on the thread pool.
using RenderFn = std::function<std::expected<RenderedDocument, std::string>(std::string_view raw)>;

struct StoredVariant {
  Digest digest;
  std::uint64_t size = 0;
  std::shared_ptr<const std::string> bytes;  // set when small enough to keep in memory
};

struct DocumentEntry {
  Digest raw;  // the upstream's document as received: rendered again for another mount URL
  std::map<std::string, StoredVariant> variants;
  std::map<std::string, FileSource> files;
  std::string upstreamEtag;
  std::string upstreamLastModified;
  Millis fetchedMs = 0;
  Millis ttlMs = 0;

  const StoredVariant* variant(const std::string& name) const {
    auto it = variants.find(name);
    return it == variants.end() ? nullptr : &it->second;
  }
  bool freshAt(Millis nowMs) const { return nowMs - fetchedMs < ttlMs; }
};
using DocumentEntryPtr = std::shared_ptr<const DocumentEntry>;

// `ref`: the key for this rendering (npm renders per mount URL); `any`: the
// key for the document whatever it was rendered for (file lookups, rendering
// again). Front ends whose rendering does not depend on the request use the
// same key for both.
struct DocumentKeys {
  std::string ref;
  std::string any;
};

struct UpstreamValidators {
  std::string etag, lastModified;
};

// Stores raw + rendered variants + index, then points both keys at it.
std::expected<DocumentEntryPtr, std::string> storeDocument(BlobStore& store,
                                                           const DocumentKeys& keys,
                                                           const std::string& raw,
                                                           const RenderedDocument& rendered,
                                                           UpstreamValidators validators,
                                                           Millis fetchedMs, Millis ttlMs);

// The entry `refKey` points at; nullopt if none (or it is damaged or partly evicted).
std::optional<DocumentEntryPtr> loadDocument(BlobStore& store, const std::string& refKey);

// For a rendering not seen before (npm reached under another host name):
// renders the stored upstream bytes of `keys.any` again, without asking the
// upstream, keeping their fetch time.
std::optional<DocumentEntryPtr> rebuildDocument(BlobStore& store, const DocumentKeys& keys,
                                                const RenderFn& render);

// Renews the fetch time of both keys (an upstream 304).
bool touchDocument(BlobStore& store, const DocumentKeys& keys, Millis nowMs);

// Bytes of a stored blob up to `max` (empty if missing, unreadable or larger).
std::string readStoredBytes(BlobStore& store, const Digest& digest, std::size_t max);

}  // namespace hoard
