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
  Digest raw;  // the upstream's document as received: rewritten again for another mount URL
  Digest full, fullGzip, corgi, corgiGzip;
  std::map<std::string, TarballSource> tarballs;
  // The served variants' bytes when small (most packuments): answered from
  // memory on the loop, with no file open per request. Null when large.
  std::shared_ptr<const std::string> fullBytes, fullGzipBytes, corgiBytes, corgiGzipBytes;
  std::string upstreamEtag;
  Millis fetchedMs = 0;
  Millis ttlMs = 0;
};
using PackumentEntryPtr = std::shared_ptr<const PackumentEntry>;

// Stores the upstream document and its rewritten variants and the index,
// then points `refKey` (this mount URL) and `anyMountKey` (the package, for
// tarball lookups and rebuilding for other mount URLs) at it.
std::expected<PackumentEntryPtr, std::string> storePackument(
    BlobStore& store, const std::string& refKey, const std::string& anyMountKey,
    const std::string& rawBody, const RewrittenPackument& doc, std::string upstreamEtag,
    Millis fetchedMs, Millis ttlMs);

// For a mount URL not seen before (hoard reached under another name, or a
// restart on another port): rewrites the stored upstream document again,
// without asking the upstream, keeping its fetch time.
std::optional<PackumentEntryPtr> rebuildPackument(BlobStore& store, const std::string& refKey,
                                                  const std::string& anyMountKey,
                                                  const std::string& packageName,
                                                  const std::string& mountUrl);

// Loads the entry `refKey` points at; nullopt if there is none (or it is damaged).
std::optional<PackumentEntryPtr> loadPackument(BlobStore& store, const std::string& refKey);

// Renews the entry's fetch time (an upstream 304).
bool touchPackument(BlobStore& store, const std::string& refKey, Millis nowMs);

}  // namespace hoard::npm
