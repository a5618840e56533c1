#pragma once
// The supply-chain gate: the deny-list, the optional allow-list and the pin
// patterns (store.pin), shared by every front end on the loop thread.
//
// The deny-list refuses a request before any cache lookup (cached content
// included); the allow-list, when configured, limits only what may be fetched
// from upstreams; pins mark what eviction must keep.
//
// The list files are re-read on reload() (SIGHUP) and whenever they change
// (uv_fs_poll every pollIntervalMs), off the loop. A file that cannot be read
// or parsed keeps the list in force (logged at warn, counted in
// hoard_policy_reload_errors_total): a typo must not lift every denial.
//
// Must survive: reloads requested while one runs (one more runs after it);
// close() while a reload is on the thread pool (its result is dropped); a file
// deleted and re-created (an editor's rename; the poll sees both); the lists
// swapped while requests are in flight (each check reads the current list).
#include <uv.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "cache/cancel.h"
#include "daemon/metrics.h"
#include "daemon/policy/pattern.h"

namespace hoard::policy {

class Policy {
 public:
  struct Options {
    std::string denyList;   // path; "" = none
    std::string allowList;  // path; "" = no allow-list (everything may be fetched)
    std::vector<std::string> pins;
    std::uint64_t pollIntervalMs = 250;
  };

  // A policy with no lists and no pins (tests, or nothing configured).
  Policy() = default;
  Policy(uv_loop_t* loop, Metrics* metrics, Options options);
  ~Policy();
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

  // Parses the pins and reads the list files (blocking: call before the loop
  // serves anything), then starts watching the files. A bad file or pin here
  // is an error: hoard does not start with a gate it cannot read.
  std::expected<void, std::string> start();
  // Re-reads the list files off the loop; `done` (optional) runs on the loop
  // once the new lists are in force or rejected.
  void reload(std::function<void()> done = {});
  // A config reload: new list paths and pins. Bad pins are refused (the
  // current policy stays, nothing changes, `done` is not called); otherwise the pins take effect
  // at once, the watchers follow the new paths and the lists are re-read as
  // by reload(done). Dropping the allow-list path lifts the allow-list.
  std::expected<void, std::string> reconfigure(Options options, std::function<void()> done = {});
  // Stops watching and drops a running reload. Idempotent.
  void close();

  // The deny entry naming `s`, or nullptr.
  const Pattern* denied(const Subject& s) const;
  // Whether `s` may be fetched from an upstream (true without an allow-list).
  bool allowed(const Subject& s) const;
  bool hasAllowList() const { return static_cast<bool>(allow_); }
  // Whether `s` is pinned (store.pin), or its digest was named by a pinned
  // manifest (notePinnedDigests).
  bool pinned(const Subject& s) const;
  bool pinnedDigest(const std::string& digest) const;
  // The blobs and child manifests of a pinned OCI manifest: requested later
  // by digest only, they are pinned through this set. Bounded; best effort
  // (the index keeps the flag for what is already stored).
  void notePinnedDigests(const std::vector<std::string>& digests);
  bool hasPins() const { return !pins_.empty(); }

  // Successful loads of the list files (start counts as one).
  std::uint64_t generation() const { return generation_; }
  std::size_t denyCount() const { return deny_ ? deny_->size() : 0; }

 private:
  struct Loaded {
    std::expected<PatternList, std::string> deny;
    std::optional<std::expected<PatternList, std::string>> allow;
  };
  static Loaded readLists(const std::string& denyPath, const std::string& allowPath);
  void apply(Loaded loaded, bool initial);
  void watch(const std::string& path);
  void unwatchAll();

  uv_loop_t* loop_ = nullptr;
  Metrics* metrics_ = nullptr;
  Options options_;
  std::shared_ptr<const PatternList> deny_;
  std::shared_ptr<const PatternList> allow_;
  PatternList pins_;
  std::unordered_set<std::string> pinnedDigests_;
  bool pinnedDigestsFull_ = false;
  std::vector<uv_fs_poll_t*> polls_;  // freed in their uv_close callbacks
  CancelHandle reloading_;
  bool reloadAgain_ = false;
  std::vector<std::function<void()>> waiters_;
  std::uint64_t generation_ = 0;
  bool closed_ = false;
};

}  // namespace hoard::policy
