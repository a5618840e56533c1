#pragma once
// hoard gc: removes what the index and blobs/ disagree about, safely while
// hoard serves from the store.
//   - an index entry whose file is gone: the entry is deleted (through
//     BlobStore::open's self-healing, under the store's accounting lock, so a
//     file committed meanwhile keeps its entry);
//   - a file in blobs/ without an entry whose mtime is older than the grace
//     period: deleted. Not adopted: adopting means hashing (gc stays cheap),
//     the media type is unknown, and a request adopts an orphan by itself
//     (AsyncStore::open). `hoard verify --repair` adopts instead, which is
//     the tool after losing the index. The grace period covers a commit
//     between its rename into blobs/ and its index write;
//   - tmp/: left alone online (fills in progress; recover() wipes it at
//     startup), emptied when sweepTmp is set (offline, no hoard running).
// Entries whose file has the wrong size and stray names in blobs/ are
// reported, not touched: `hoard verify --repair` quarantines them.
//
// Blocking, bounded memory (streaming index scan and directory walk).
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "cache/blob_store.h"
#include "cache/clock.h"

namespace hoard {

struct GcOptions {
  Millis orphanGraceMs = 10 * 60 * 1000;
  bool sweepTmp = false;  // only when no hoard runs on the store
  ClockPtr clock;         // compared against file mtimes; SystemClock if null
  const std::atomic<bool>* cancel = nullptr;
  std::size_t maxFindings = 10000;
};

struct GcFinding {
  std::string kind;     // "entry_without_file", "orphan", "size_mismatch", "stray", "tmp"
  std::string subject;  // digest, or path for stray/tmp files
  std::string action;   // "removed", "" (reported only), "failed"
};

struct GcReport {
  bool cancelled = false;
  std::uint64_t entriesChecked = 0;
  std::uint64_t entriesRemoved = 0;  // entries without a file, deleted
  std::uint64_t orphansRemoved = 0;
  std::uint64_t orphanBytes = 0;
  std::uint64_t orphansInGrace = 0;  // too young to judge, kept
  std::uint64_t sizeMismatch = 0;    // reported only
  std::uint64_t stray = 0;           // reported only
  std::uint64_t tmpRemoved = 0;
  std::uint64_t tmpBytes = 0;
  std::uint64_t errors = 0;
  std::vector<GcFinding> findings;
  std::uint64_t findingsOmitted = 0;
  std::string error;  // the scan itself failed
};

GcReport collectGarbage(BlobStore& store, const GcOptions& options);

}  // namespace hoard
