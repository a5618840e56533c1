#pragma once
// Every async operation hands its owner a CancelHandle. Cancelling is
// idempotent, and a cancelled operation never calls its completion callback,
// so an owner that is going away cancels and forgets: no callback can reach
// a destroyed object. Destroying a handle cancels; release() detaches instead
// (fire-and-forget work whose completion is harmless).
#include <functional>
#include <utility>

namespace hoard {

class CancelHandle {
 public:
  CancelHandle() = default;
  explicit CancelHandle(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  CancelHandle(const CancelHandle&) = delete;
  CancelHandle& operator=(const CancelHandle&) = delete;
  CancelHandle(CancelHandle&& other) noexcept : cancel_(std::exchange(other.cancel_, nullptr)) {}
  CancelHandle& operator=(CancelHandle&& other) noexcept {
    if (this != &other) {
      cancel();
      cancel_ = std::exchange(other.cancel_, nullptr);
    }
    return *this;
  }
  ~CancelHandle() { cancel(); }

  void cancel() {
    if (auto fn = std::exchange(cancel_, nullptr)) fn();
  }
  void release() { cancel_ = nullptr; }
  bool active() const { return static_cast<bool>(cancel_); }

 private:
  std::function<void()> cancel_;
};

}  // namespace hoard
