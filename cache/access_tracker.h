#pragma once
// Records blob hits on the loop thread and writes them to the index in
// batches: a hit costs one hash-map insert; every `flushInterval` the map is
// written as ONE Index::touchBlobs call on the threadpool. Never one write
// per hit. Last-access times are advisory (they order eviction), so a batch
// lost to a crash or an index error is dropped, not retried.
//
// Must survive: hits arriving while a flush runs (they go to the next batch;
// at most one flush is in flight), flush() while a flush runs (it waits for
// a fresh one covering every hit before the call), a flush() callback that
// destroys the tracker, close() with a flush in flight (its completion and
// flush() callbacks are dropped, as with any cancelled operation), and
// destruction before the loop has run the timer's close callback.
//
// The Index must outlive any in-flight flush work: a flush already running
// on the threadpool finishes even after close().
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/cancel.h"
#include "cache/clock.h"
#include "cache/index.h"

namespace hoard {

class AccessTracker {
 public:
  struct Options {
    std::chrono::milliseconds flushInterval{30'000};
    // Flush early when this many distinct digests are pending, bounding memory.
    std::size_t maxPending = 65'536;
  };

  // Starts the flush timer. The timer is unref'd: it never keeps the loop alive.
  AccessTracker(uv_loop_t* loop, Index& index, ClockPtr clock, Options options);
  AccessTracker(uv_loop_t* loop, Index& index, ClockPtr clock)
      : AccessTracker(loop, index, std::move(clock), Options{}) {}
  ~AccessTracker();
  AccessTracker(const AccessTracker&) = delete;
  AccessTracker& operator=(const AccessTracker&) = delete;

  // Records a hit at clock->nowMs(); digest is the index key (Digest::str()).
  // `pinned`: the hit was under a pinned name, so the blob becomes pinned
  // (sticky: a later unpinned hit in the same batch or after never unpins).
  // Ignored after close().
  void touch(std::string digest, bool pinned = false);
  // Writes every hit recorded so far; `done` runs on the loop thread once
  // they are written (or the write failed), always asynchronously. Never
  // called after close().
  void flush(std::function<void()> done);
  // Stops the timer and cancels pending work. Idempotent. Unflushed hits are
  // dropped: call flush() first on an orderly shutdown.
  void close();

  std::size_t pendingCount() const { return pending_.size(); }
  std::uint64_t flushCount() const { return flushes_; }
  std::uint64_t failedFlushCount() const { return failedFlushes_; }

 private:
  void startFlush(bool force);

  uv_loop_t* loop_;
  Index& index_;
  ClockPtr clock_;
  Options options_;
  uv_timer_t* timer_ = nullptr;  // freed in its uv_close callback, not by us
  struct PendingHit {
    Millis accessMs = 0;
    bool pinned = false;
  };
  std::unordered_map<std::string, PendingHit> pending_;
  std::vector<std::function<void()>> waiters_;  // flush() calls not yet covered by a flush
  bool inFlight_ = false;
  bool closed_ = false;
  CancelHandle inFlightHandle_;
  std::uint64_t flushes_ = 0;
  std::uint64_t failedFlushes_ = 0;
};
using AccessTrackerPtr = std::unique_ptr<AccessTracker>;

}  // namespace hoard
