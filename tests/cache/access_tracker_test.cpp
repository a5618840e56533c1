#include "cache/access_tracker.h"

#include <uv.h>

#include <catch2/catch.hpp>
#include <map>
#include <mutex>

using hoard::AccessTracker;
using hoard::BlobMeta;
using hoard::IndexError;
using hoard::Millis;

namespace {

// A real (memory) index that records every touchBlobs batch. touchBlobs runs
// on the threadpool, hence the lock.
class CountingIndex final : public hoard::Index {
 public:
  std::expected<std::optional<BlobMeta>, IndexError> getBlob(std::string_view d) override {
    return inner_->getBlob(d);
  }
  std::expected<void, IndexError> putBlob(std::string_view d, const BlobMeta& m) override {
    return inner_->putBlob(d, m);
  }
  std::expected<void, IndexError> deleteBlob(std::string_view d) override {
    return inner_->deleteBlob(d);
  }
  std::expected<std::optional<hoard::RefEntry>, IndexError> getRef(std::string_view k) override {
    return inner_->getRef(k);
  }
  std::expected<void, IndexError> putRef(std::string_view k, const hoard::RefEntry& r) override {
    return inner_->putRef(k, r);
  }
  std::expected<void, IndexError> deleteRef(std::string_view k) override {
    return inner_->deleteRef(k);
  }
  std::expected<void, IndexError> touchBlobs(const std::vector<hoard::BlobTouch>& batch) override {
    {
      std::lock_guard lock(mu_);
      batches_.push_back(batch);
      if (fail_) return std::unexpected(IndexError::Io);
    }
    return inner_->touchBlobs(batch);
  }
  std::expected<void, IndexError> forEachBlob(
      const std::function<bool(std::string_view, const BlobMeta&)>& fn) override {
    return inner_->forEachBlob(fn);
  }
  std::expected<void, IndexError> forEachRef(
      const std::function<bool(std::string_view, const hoard::RefEntry&)>& fn) override {
    return inner_->forEachRef(fn);
  }

  std::vector<std::vector<hoard::BlobTouch>> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  void setFail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }

 private:
  hoard::IndexPtr inner_ = hoard::makeMemoryIndex();
  std::mutex mu_;
  bool fail_ = false;
  std::vector<std::vector<hoard::BlobTouch>> batches_;
};

struct Loop {
  uv_loop_t loop{};
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);  // lets close callbacks free their handles
    CHECK(uv_loop_close(&loop) == 0);
  }
  void run() { uv_run(&loop, UV_RUN_DEFAULT); }
};

std::string digestKey(int i) {
  std::string hex = std::to_string(i);
  return "sha256:" + std::string(64 - hex.size(), '0') + hex;
}

const AccessTracker::Options kNoTimer{std::chrono::hours(1), 65'536};

}  // namespace

TEST_CASE("AccessTracker: many touches become one batch with the latest time per blob") {
  Loop loop;
  CountingIndex index;
  for (int i = 0; i < 10; ++i) REQUIRE(index.putBlob(digestKey(i), BlobMeta{1, "", 0, 0}));
  auto clock = std::make_shared<hoard::ManualClock>(1'000);
  AccessTracker tracker(&loop.loop, index, clock, kNoTimer);

  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 10; ++i) tracker.touch(digestKey(i));
    clock->advance(1);
  }
  CHECK(tracker.pendingCount() == 10);
  CHECK(index.batches().empty());  // nothing written per hit

  bool flushed = false;
  tracker.flush([&] { flushed = true; });
  CHECK_FALSE(flushed);  // completion is always asynchronous
  loop.run();
  REQUIRE(flushed);
  auto batches = index.batches();
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].size() == 10);
  for (int i = 0; i < 10; ++i) {
    CHECK((*index.getBlob(digestKey(i)))->lastAccessMs == 1'099);
  }
  CHECK(tracker.pendingCount() == 0);
  CHECK(tracker.flushCount() == 1);
  tracker.close();
}

TEST_CASE("AccessTracker: the timer flushes on its own, and skips empty intervals") {
  Loop loop;
  CountingIndex index;
  REQUIRE(index.putBlob(digestKey(1), BlobMeta{1, "", 0, 0}));
  auto clock = std::make_shared<hoard::ManualClock>(777);
  AccessTracker tracker(&loop.loop, index, clock, {std::chrono::milliseconds(2), 65'536});
  tracker.touch(digestKey(1));
  tracker.touch(digestKey(1));

  // The tracker's timer is unref'd; a ref'd watchdog keeps the loop running
  // until the flush lands (or 5 s pass, which fails the test).
  struct Watch {
    uv_timer_t timer{};
    CountingIndex* index = nullptr;
    int ticks = 0;
    int ticksAfterFlush = 0;
  } watch;
  watch.index = &index;
  uv_timer_init(&loop.loop, &watch.timer);
  watch.timer.data = &watch;
  uv_timer_start(
      &watch.timer,
      [](uv_timer_t* t) {
        auto* w = static_cast<Watch*>(t->data);
        // Keep going a few more ticks after the flush: empty intervals must not write.
        ++w->ticks;
        if (!w->index->batches().empty()) ++w->ticksAfterFlush;
        if (w->ticksAfterFlush > 10 || w->ticks > 5000) {
          uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
        }
      },
      1, 1);
  loop.run();

  auto batches = index.batches();
  REQUIRE(batches.size() == 1);
  REQUIRE(batches[0].size() == 1);
  CHECK(batches[0][0] == hoard::BlobTouch{digestKey(1), 777, false});
  CHECK((*index.getBlob(digestKey(1)))->lastAccessMs == 777);
}

TEST_CASE("AccessTracker: flush during a flush waits for a batch covering later touches") {
  Loop loop;
  CountingIndex index;
  for (int i = 0; i < 3; ++i) REQUIRE(index.putBlob(digestKey(i), BlobMeta{1, "", 0, 0}));
  auto clock = std::make_shared<hoard::ManualClock>(100);
  AccessTracker tracker(&loop.loop, index, clock, kNoTimer);

  std::vector<std::string> order;
  tracker.touch(digestKey(0));
  tracker.flush([&] { order.push_back("first"); });  // now in flight
  clock->advance(5);
  tracker.touch(digestKey(1));
  tracker.touch(digestKey(2));
  tracker.flush([&] {
    order.push_back("second");
    // Everything touched before this flush() call is in the index by now.
    CHECK((*index.getBlob(digestKey(1)))->lastAccessMs == 105);
    CHECK((*index.getBlob(digestKey(2)))->lastAccessMs == 105);
  });
  loop.run();

  CHECK(order == std::vector<std::string>{"first", "second"});
  auto batches = index.batches();
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].size() == 1);
  CHECK(batches[1].size() == 2);
}

TEST_CASE("AccessTracker: flush with nothing pending completes without writing") {
  Loop loop;
  CountingIndex index;
  AccessTracker tracker(&loop.loop, index, std::make_shared<hoard::ManualClock>(), kNoTimer);
  int done = 0;
  tracker.flush([&] { ++done; });
  tracker.flush([&] { ++done; });
  loop.run();
  CHECK(done == 2);
  CHECK(index.batches().empty());
}

TEST_CASE("AccessTracker: a failed batch is counted and dropped, later batches proceed") {
  Loop loop;
  CountingIndex index;
  REQUIRE(index.putBlob(digestKey(1), BlobMeta{1, "", 0, 0}));
  auto clock = std::make_shared<hoard::ManualClock>(50);
  AccessTracker tracker(&loop.loop, index, clock, kNoTimer);
  index.setFail(true);
  tracker.touch(digestKey(1));
  bool done = false;
  tracker.flush([&] { done = true; });
  loop.run();
  CHECK(done);
  CHECK(tracker.failedFlushCount() == 1);
  CHECK(tracker.pendingCount() == 0);

  index.setFail(false);
  clock->advance(1);
  tracker.touch(digestKey(1));
  tracker.flush([] {});
  loop.run();
  CHECK((*index.getBlob(digestKey(1)))->lastAccessMs == 51);
  CHECK(tracker.failedFlushCount() == 1);
  CHECK(tracker.flushCount() == 2);
}

TEST_CASE("AccessTracker: reaching maxPending flushes early") {
  Loop loop;
  CountingIndex index;
  AccessTracker tracker(&loop.loop, index, std::make_shared<hoard::ManualClock>(),
                        {std::chrono::hours(1), 4});
  for (int i = 0; i < 4; ++i) tracker.touch(digestKey(i));
  CHECK(tracker.pendingCount() == 0);
  loop.run();
  auto batches = index.batches();
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].size() == 4);
}

TEST_CASE("AccessTracker: close is idempotent and drops callbacks of cancelled flushes") {
  Loop loop;
  CountingIndex index;
  bool called = false;
  {
    AccessTracker tracker(&loop.loop, index, std::make_shared<hoard::ManualClock>(), kNoTimer);
    tracker.touch(digestKey(1));
    tracker.flush([&] { called = true; });
    tracker.close();
    tracker.close();
    tracker.touch(digestKey(2));  // ignored after close
    CHECK(tracker.pendingCount() == 0);
  }  // destroyed before the loop ran the timer's close callback
  loop.run();
  CHECK_FALSE(called);
}

TEST_CASE("AccessTracker: a flush callback may destroy the tracker") {
  Loop loop;
  CountingIndex index;
  auto tracker = std::make_unique<AccessTracker>(&loop.loop, index,
                                                 std::make_shared<hoard::ManualClock>(), kNoTimer);
  tracker->touch(digestKey(1));
  bool second = false;
  tracker->flush([&] { tracker.reset(); });
  loop.run();
  CHECK_FALSE(tracker);

  // Also with another flush queued behind it: that one is cancelled, not run.
  tracker = std::make_unique<AccessTracker>(&loop.loop, index,
                                            std::make_shared<hoard::ManualClock>(), kNoTimer);
  tracker->flush([&] { tracker.reset(); });
  tracker->flush([&] { second = true; });
  loop.run();
  CHECK_FALSE(tracker);
  CHECK_FALSE(second);
}

TEST_CASE("AccessTracker: a hit under a pinned name pins the blob, and pins are sticky") {
  Loop loop;
  CountingIndex index;
  for (int i = 0; i < 3; ++i) REQUIRE(index.putBlob(digestKey(i), BlobMeta{1, "", 0, 0}));
  auto clock = std::make_shared<hoard::ManualClock>(5'000);
  AccessTracker tracker(&loop.loop, index, clock, kNoTimer);

  tracker.touch(digestKey(0), true);
  tracker.touch(digestKey(0));  // a later unpinned hit in the same batch keeps the pin
  tracker.touch(digestKey(1));  // existing callers: digest only, not pinned
  bool flushed = false;
  tracker.flush([&] { flushed = true; });
  loop.run();
  REQUIRE(flushed);
  auto batches = index.batches();
  REQUIRE(batches.size() == 1);
  std::map<std::string, hoard::BlobTouch> byDigest;
  for (const auto& t : batches[0]) byDigest[t.digest] = t;
  CHECK(byDigest[digestKey(0)] == hoard::BlobTouch{digestKey(0), 5'000, true});
  CHECK(byDigest[digestKey(1)] == hoard::BlobTouch{digestKey(1), 5'000, false});
  CHECK((*index.getBlob(digestKey(0)))->pinned);
  CHECK_FALSE((*index.getBlob(digestKey(1)))->pinned);

  // Next batch: an unpinned hit never unpins what the index already pinned.
  clock->advance(10);
  tracker.touch(digestKey(0));
  flushed = false;
  tracker.flush([&] { flushed = true; });
  loop.run();
  REQUIRE(flushed);
  auto zero = **index.getBlob(digestKey(0));
  CHECK(zero.pinned);
  CHECK(zero.lastAccessMs == 5'010);
  CHECK_FALSE((*index.getBlob(digestKey(2)))->pinned);
  tracker.close();
}
