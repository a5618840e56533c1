#pragma once
// Store set-up shared by the maintenance tests (verify, gc): a recovered
// BlobStore over either index implementation, and committing test blobs.
// Header-only, like store_test_util.h; uses Catch2's REQUIRE.
#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "cache/blob_store.h"
#include "cache/digest.h"
#include "cache/index.h"
#include "cache/store_test_util.h"

namespace hoard::test {

enum class IndexKind { Memory, RocksDb };

inline BlobStorePtr openStore(const std::string& root, IndexKind kind) {
  auto store =
      kind == IndexKind::Memory ? openBlobStore(root, makeMemoryIndex()) : openDiskBlobStore(root);
  REQUIRE(store);
  REQUIRE((*store)->recover());
  return std::move(*store);
}

inline Digest digestOf(std::string_view bytes) {
  return *Digest::parse("sha256:" + sha256Hex(bytes));
}

// Commits `bytes` as a verified blob (created and last accessed at 5 ms).
inline Digest put(BlobStore& store, std::string_view bytes) {
  auto tmp = store.createTemp();
  REQUIRE(tmp);
  REQUIRE(writeAll(tmp->fd, bytes));
  auto d = digestOf(bytes);
  REQUIRE(store.commit(std::move(*tmp), d, BlobMeta{bytes.size(), "application/x-test", 5, 5}));
  return d;
}

inline bool indexed(BlobStore& store, const Digest& d) {
  auto e = store.index().getBlob(d.str());
  REQUIRE(e);
  return e->has_value();
}

}  // namespace hoard::test
