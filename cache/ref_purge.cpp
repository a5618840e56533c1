#include "cache/ref_purge.h"

#include <limits>
#include <string>
#include <vector>

namespace hoard {

bool refPurgeable(const RefEntry& ref, Millis nowMs, std::uint64_t retentionMs) {
  if (retentionMs == kRetainForever || ref.ttlMs < 0) return false;
  if (retentionMs > static_cast<std::uint64_t>(std::numeric_limits<Millis>::max())) return false;
  Millis deadline = 0;
  if (__builtin_add_overflow(ref.fetchedMs, ref.ttlMs, &deadline) ||
      __builtin_add_overflow(deadline, static_cast<Millis>(retentionMs), &deadline)) {
    return false;  // further away than any clock reading
  }
  return nowMs > deadline;
}

std::expected<RefPurgeStats, IndexError> purgeExpiredRefs(Index& index, const Clock& clock,
                                                          std::uint64_t retentionMs) {
  RefPurgeStats stats;
  if (retentionMs == kRetainForever) return stats;
  const Millis now = clock.nowMs();
  // Collect first, delete after: the scan stays a read-only snapshot walk,
  // and the memory held is the expired keys only.
  std::vector<std::string> expired;
  auto scan = index.forEachRef([&](std::string_view key, const RefEntry& ref) {
    ++stats.scanned;
    if (refPurgeable(ref, now, retentionMs)) expired.emplace_back(key);
    return true;
  });
  if (!scan) return std::unexpected(scan.error());
  for (const auto& key : expired) {
    auto current = index.getRef(key);
    if (!current && current.error() == IndexError::Io) return std::unexpected(IndexError::Io);
    // Gone meanwhile, or refreshed since the snapshot: keep. An entry that
    // became undecodable is deleted too: nothing can serve it.
    const bool keep = current && (!*current || !refPurgeable(**current, now, retentionMs));
    if (keep) continue;
    if (auto r = index.deleteRef(key); !r) return std::unexpected(r.error());
    ++stats.purged;
  }
  return stats;
}

}  // namespace hoard
