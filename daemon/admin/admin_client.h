#pragma once
// The CLI side of the maintenance commands (`hoard verify`, `hoard gc`):
// calling a running hoard's admin endpoint, or opening a store directly when
// no hoard runs on it. Blocking; CLI only, never inside the daemon.
#include <expected>
#include <string>

#include "cache/blob_store.h"

namespace hoard::admin {

struct AdminHttpResult {
  long status = 0;
  std::string body;
};

// POST <baseUrl><pathAndQuery> with an empty body. No overall timeout: a
// verify of a large store takes as long as it takes (connect timeout 10 s).
std::expected<AdminHttpResult, std::string> postAdmin(const std::string& baseUrl,
                                                      const std::string& pathAndQuery);

// Opens the store at dir (RocksDB index in dir/index) without recover():
// nothing is created or wiped. A store held by a running hoard (RocksDB's
// LOCK) is an error that says so and names the --url alternative.
std::expected<BlobStorePtr, std::string> openStoreOffline(const std::string& dir,
                                                          const std::string& command);

}  // namespace hoard::admin
