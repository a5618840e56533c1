#pragma once
// What hoard keeps per packument: the four served variants (full, corgi, and
// gzip copies) as content-addressed blobs, plus a small index document that
// names them and carries the tarball table and the upstream's ETag. A ref
// (per upstream, package and tarball base URL) points at the index document.
//
// Blocking: these run on the thread pool (runOffLoop), never on the loop.
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cache/blob_store.h"
#include "cache/clock.h"
#include "daemon/npm/packument.h"

namespace hoard::npm {

struct PackumentEntry {
  Digest full, fullGzip, corgi, corgiGzip;
  std::map<std::string, TarballSource> tarballs;
  std::string upstreamEtag;
  Millis fetchedMs = 0;
  Millis ttlMs = 0;
};
using PackumentEntryPtr = std::shared_ptr<const PackumentEntry>;

// Stores the rewritten variants and the index, then points `refKey` at it.
std::expected<PackumentEntryPtr, std::string> storePackument(BlobStore& store,
                                                             const std::string& refKey,
                                                             const RewrittenPackument& doc,
                                                             std::string upstreamEtag, Millis nowMs,
                                                             Millis ttlMs);

// Loads the entry `refKey` points at; nullopt if there is none (or it is damaged).
std::optional<PackumentEntryPtr> loadPackument(BlobStore& store, const std::string& refKey);

// Renews the entry's fetch time (an upstream 304).
bool touchPackument(BlobStore& store, const std::string& refKey, Millis nowMs);

}  // namespace hoard::npm
