#pragma once
// The expired-metadata purge: deletes mutable refs (tags, packuments, simple
// pages, module lists) that expired long enough ago that they will not be
// served stale any more. The documents they pointed at stay until LRU
// eviction takes them, like any other unreferenced blob.
//
// Synchronous and blocking (an index scan): run it off the loop.
//
// Must survive: refs refreshed while the scan runs (each candidate is
// re-read just before deletion, so a ref fetched again since the snapshot is
// kept), refs deleted meanwhile (deleting an absent key succeeds), TTLs that
// mean "never" (negative, i.e. kForever stored as Millis, or large enough to
// overflow the deadline), and a clock that jumped backwards (nothing is old).
#include <cstdint>
#include <expected>

#include "cache/clock.h"
#include "cache/index.h"

namespace hoard {

// Never purge (store.metadata_retention: forever).
inline constexpr std::uint64_t kRetainForever = UINT64_MAX;

// True once now is past fetchedMs + ttlMs + retentionMs.
bool refPurgeable(const RefEntry& ref, Millis nowMs, std::uint64_t retentionMs);

struct RefPurgeStats {
  std::uint64_t scanned = 0;
  std::uint64_t purged = 0;
};

// One pass over every ref, at clock.nowMs().
std::expected<RefPurgeStats, IndexError> purgeExpiredRefs(Index& index, const Clock& clock,
                                                          std::uint64_t retentionMs);

}  // namespace hoard
