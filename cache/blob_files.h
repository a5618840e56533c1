#pragma once
// Walks the blob files on disk (root/blobs/<alg>/<2 hex>/<hex>), independent
// of the index: verify and gc use it to find files the index does not know.
//
// Streaming: memory is one directory iterator per level, never a list of all
// files, so it works on stores with millions of blobs. Safe on a live store:
// files created or removed during the walk may or may not be visited, and a
// file that vanishes between listing and stat is skipped.
#include <sys/types.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>

#include "cache/clock.h"
#include "cache/digest.h"

namespace hoard {

struct BlobFile {
  std::string path;              // absolute (root-prefixed)
  std::optional<Digest> digest;  // nullopt: not a name hoard writes there (a stray file)
  std::uint64_t size = 0;
  Millis mtimeMs = 0;
  dev_t dev = 0;
  ino_t ino = 0;
};

// fn returns false to stop. Errors listing a directory end the walk with a message.
std::expected<void, std::string> forEachBlobFile(const std::string& storeRoot,
                                                 const std::function<bool(const BlobFile&)>& fn);

// The digest a blob file at blobs/<algDir>/<shard>/<name> stands for, if any.
std::optional<Digest> digestForBlobPath(std::string_view algDir, std::string_view shard,
                                        std::string_view name);

// A blob index key as BlobStore writes it (Digest::str(), sha1 included,
// which Digest::parse refuses from clients).
std::optional<Digest> parseBlobKey(std::string_view key);

}  // namespace hoard
