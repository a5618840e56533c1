#pragma once
// Runs blocking work (disk, RocksDB) on libuv's thread pool and delivers the
// result back on the loop thread. The loop thread never blocks on I/O.
//
// Must survive: the owner cancelling before the work starts (uv_cancel drops
// it), while it runs (the work finishes, the result is dropped), and after it
// finished (no-op). `done` runs on the loop thread, never inside `work`.
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "cache/cancel.h"

namespace hoard {

namespace detail {
struct OffLoopJob {
  uv_work_t req{};
  std::function<void()> work;
  std::function<void()> done;
  std::function<void()> dropped;  // the work ran but its owner had cancelled
  bool cancelled = false;
  std::shared_ptr<OffLoopJob*> alive;  // reset when the job is gone
};
CancelHandle submitOffLoop(uv_loop_t* loop, std::unique_ptr<OffLoopJob> job);
}  // namespace detail

template <class R>
CancelHandle runOffLoop(uv_loop_t* loop, std::function<R()> work, std::function<void(R)> done) {
  auto job = std::make_unique<detail::OffLoopJob>();
  auto result = std::make_shared<std::optional<R>>();
  job->work = [work = std::move(work), result] { result->emplace(work()); };
  job->done = [done = std::move(done), result] { done(std::move(**result)); };
  return detail::submitOffLoop(loop, std::move(job));
}

// As above, for work whose result owns a resource (an open fd): if the owner
// cancels after the work ran, `dropped` receives the result on the loop
// thread so the resource is released instead of leaked.
template <class R>
CancelHandle runOffLoop(uv_loop_t* loop, std::function<R()> work, std::function<void(R)> done,
                        std::function<void(R)> dropped) {
  auto job = std::make_unique<detail::OffLoopJob>();
  auto result = std::make_shared<std::optional<R>>();
  job->work = [work = std::move(work), result] { result->emplace(work()); };
  job->done = [done = std::move(done), result] { done(std::move(**result)); };
  job->dropped = [dropped = std::move(dropped), result] { dropped(std::move(**result)); };
  return detail::submitOffLoop(loop, std::move(job));
}

inline CancelHandle runOffLoop(uv_loop_t* loop, std::function<void()> work,
                               std::function<void()> done) {
  auto job = std::make_unique<detail::OffLoopJob>();
  job->work = std::move(work);
  job->done = std::move(done);
  return detail::submitOffLoop(loop, std::move(job));
}

}  // namespace hoard
