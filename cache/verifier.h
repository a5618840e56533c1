#pragma once
// hoard verify: re-hashes every indexed blob against its digest and
// reconciles the index with the files in blobs/.
//
// Report-only by default (nothing on disk or in the index changes). With
// repair:
//   - a file whose bytes or size do not match its digest is moved to
//     <root>/quarantine/ (kept for inspection, never served) and its entry is
//     deleted, so the next request refetches it from upstream;
//   - an entry without a file is deleted;
//   - a file in blobs/ without an entry (an orphan) is adopted if it hashes
//     right, quarantined otherwise.
//
// Blocking, one object at a time, memory bounded by one read buffer plus the
// findings list (capped). Runs on a store a hoard is serving from (online,
// from the threadpool) as well as on a closed one (offline). Must survive,
// online: eviction removing an object mid-check (not reported), a concurrent
// commit replacing a file (the new inode is left alone), a commit between its
// rename and its index write (orphans younger than orphanGraceMs are skipped),
// readers holding the file open (they keep their fd), cancellation.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "cache/blob_store.h"
#include "cache/clock.h"

namespace hoard {

enum class VerifyOutcome : std::uint8_t {
  Ok,
  Mismatch,      // bytes hash to another digest
  SizeMismatch,  // file size differs from the indexed size
  Missing,       // indexed, no file
  IoError,       // the file could not be read
  Orphan,        // file in blobs/ without an index entry
  Stray,         // file in blobs/ whose name is not a digest hoard writes
};
std::string_view verifyOutcomeName(VerifyOutcome outcome);

struct VerifyFinding {
  VerifyOutcome outcome = VerifyOutcome::Ok;
  std::string subject;  // canonical digest; for Stray the file's path
  std::string action;   // "" (reported only), "quarantined", "index_deleted", "adopted", "failed"
};

struct VerifyReport {
  bool repair = false;
  bool cancelled = false;
  std::uint64_t ok = 0;
  std::uint64_t mismatch = 0;
  std::uint64_t sizeMismatch = 0;
  std::uint64_t missing = 0;
  std::uint64_t ioErrors = 0;
  std::uint64_t orphans = 0;
  std::uint64_t stray = 0;
  std::uint64_t quarantined = 0;
  std::uint64_t indexDeleted = 0;
  std::uint64_t adopted = 0;
  std::uint64_t bytesHashed = 0;
  std::vector<VerifyFinding> findings;  // at most VerifyOptions::maxFindings
  std::uint64_t findingsOmitted = 0;
  std::string error;  // the scan itself failed (index or directory unreadable)

  std::uint64_t bad() const {
    return mismatch + sizeMismatch + missing + ioErrors + orphans + stray;
  }
  // Nothing bad found and the whole store was scanned.
  bool clean() const { return bad() == 0 && !cancelled && error.empty(); }
};

struct VerifyOptions {
  bool repair = false;
  std::uint64_t maxBytesPerSecond = 0;  // 0: as fast as the disk reads
  std::size_t maxFindings = 10000;
  // Orphans whose mtime is younger than this are skipped: online, a commit
  // renames the file into blobs/ before it writes the index entry.
  Millis orphanGraceMs = 0;
  ClockPtr clock;                             // for orphanGraceMs; SystemClock if null
  const std::atomic<bool>* cancel = nullptr;  // checked between objects and read chunks
  std::string orphanMediaType = "application/octet-stream";  // for adopted orphans
};

VerifyReport verifyStore(BlobStore& store, const VerifyOptions& options);

// Moves `path` to <root>/quarantine/<alg>-<hex>[.<n>] if it is still the
// inode (dev, ino) that was examined. Returns the new path, or "" if the file
// was replaced or removed meanwhile (nothing to quarantine); a message on error.
std::expected<std::string, std::string> quarantineBlobFile(const std::string& root,
                                                           const std::string& path,
                                                           const std::string& name, dev_t dev,
                                                           ino_t ino);

}  // namespace hoard
