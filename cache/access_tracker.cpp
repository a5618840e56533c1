#include "cache/access_tracker.h"

#include <algorithm>
#include <expected>
#include <utility>

#include "cache/off_loop.h"

namespace hoard {

AccessTracker::AccessTracker(uv_loop_t* loop, Index& index, ClockPtr clock, Options options)
    : loop_(loop), index_(index), clock_(std::move(clock)), options_(options) {
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  auto interval =
      static_cast<std::uint64_t>(std::max<std::int64_t>(1, options_.flushInterval.count()));
  uv_timer_start(
      timer_, [](uv_timer_t* t) { static_cast<AccessTracker*>(t->data)->startFlush(false); },
      interval, interval);
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
}

AccessTracker::~AccessTracker() {
  close();
}

void AccessTracker::close() {
  if (closed_) return;
  closed_ = true;
  inFlightHandle_.cancel();
  waiters_.clear();
  pending_.clear();
  uv_timer_stop(timer_);
  timer_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  timer_ = nullptr;
}

void AccessTracker::touch(std::string digest, bool pinned) {
  if (closed_) return;
  auto& hit = pending_[std::move(digest)];
  hit.accessMs = clock_->nowMs();
  hit.pinned = hit.pinned || pinned;
  if (pending_.size() >= options_.maxPending) startFlush(false);
}

void AccessTracker::flush(std::function<void()> done) {
  if (closed_) return;
  waiters_.push_back(std::move(done));
  // With a flush in flight, its completion starts the next one for us.
  if (!inFlight_) startFlush(true);
}

void AccessTracker::startFlush(bool force) {
  if (closed_ || inFlight_) return;
  if (pending_.empty() && !force) return;
  std::vector<BlobTouch> batch;
  batch.reserve(pending_.size());
  for (auto& [digest, hit] : pending_) {
    batch.push_back(BlobTouch{digest, hit.accessMs, hit.pinned});
  }
  pending_.clear();
  auto waiters = std::move(waiters_);
  waiters_.clear();
  inFlight_ = true;
  using Result = std::expected<void, IndexError>;
  Index* index = &index_;
  inFlightHandle_ = runOffLoop<Result>(
      loop_,
      [index, batch = std::move(batch)]() -> Result {
        if (batch.empty()) return {};  // flush() with nothing pending: completes asynchronously
        return index->touchBlobs(batch);
      },
      [this, waiters = std::move(waiters)](const Result& r) mutable {
        inFlight_ = false;
        ++flushes_;
        if (!r) ++failedFlushes_;
        // flush() calls made while this batch was in flight need a fresh one.
        if (!waiters_.empty() || pending_.size() >= options_.maxPending) startFlush(true);
        // Last: a waiter may destroy this tracker.
        for (auto& w : waiters) w();
      });
}

}  // namespace hoard
