#pragma once
// Wires one running hoard: store, index, upstream client, front ends and the
// HTTP server, all on one libuv loop. Owns them and tears them down in order.
#include <uv.h>

#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cache/access_tracker.h"
#include "cache/async_store.h"
#include "cache/blob_store.h"
#include "cache/clock.h"
#include "conf/config.h"
#include "daemon/access_log.h"
#include "daemon/admin/admin_service.h"
#include "daemon/go/service.h"
#include "daemon/http/server.h"
#include "daemon/metrics.h"
#include "daemon/npm/service.h"
#include "daemon/oci/service.h"
#include "daemon/policy/policy.h"
#include "daemon/pypi/service.h"
#include "daemon/request_metrics.h"
#include "upstream/http_client.h"

namespace hoard {

class App {
 public:
  App(uv_loop_t* loop, conf::Config config, ClockPtr clock);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Opens and recovers the store (before the loop serves anything, so the
  // blocking startup work cannot delay a request), then listens.
  std::expected<void, std::string> start();
  std::string boundAddress() const;
  // Graceful: stop accepting, finish in-flight responses (bounded), stop
  // fills, flush access times and the access log, close every handle.
  void shutdown(std::function<void()> done);
  // SIGHUP: re-reads the config file (off the loop) and applies upstreams,
  // TTLs, store sizes and pins, policy paths and log level to new requests;
  // then re-reads the deny/allow-lists. A file that does not load, or a bad
  // pin, is refused and the running config stays. `done` (optional) runs on
  // the loop once the reload is in force or refused.
  // Must survive: SIGHUP while a reload runs (one more runs after it),
  // shutdown while the file is being read (the result is dropped), requests
  // and fills in flight on the old front ends (they finish on them).
  void reload(std::function<void()> done = {});

 private:
  void route(http::Exchange& ex);
  // Store upkeep (eviction checks, expired-ref purge): timers and metrics.
  void startStoreMaintenance();
  // Starts a background eviction pass to the low watermark if the store is
  // past the high one or a fill reported ENOSPC; at most one at a time.
  void maybeEvict();
  // Starts a background purge of expired refs; at most one at a time.
  void purgeRefs();
  // Gauges read at scrape time: store size, fills in progress.
  void registerStoreGauges();
  void buildServices();
  void applyConfig(conf::Config next);
  void finishReload();

  // Front ends replaced by a reload, kept for the requests still on them.
  struct RetiredServices {
    std::unique_ptr<oci::OciService> oci;
    std::unique_ptr<npm::NpmService> npm;
    std::unique_ptr<pypi::PypiService> pypi;
    std::unique_ptr<go::GoService> go;
  };

  uv_loop_t* loop_;
  conf::Config config_;
  ClockPtr clock_;
  Metrics metrics_;
  BlobStorePtr store_;
  std::unique_ptr<AsyncStore> asyncStore_;
  std::unique_ptr<AccessTracker> access_;
  std::unique_ptr<HttpClient> http_;
  FillRegistry fills_;
  std::unique_ptr<policy::Policy> policy_;  // before the services, which point at it
  std::unique_ptr<oci::OciService> oci_;
  std::unique_ptr<npm::NpmService> npm_;
  std::unique_ptr<pypi::PypiService> pypi_;
  std::unique_ptr<go::GoService> go_;
  std::vector<RetiredServices> retired_;
  CancelHandle reloading_;
  bool reloadRunning_ = false;
  bool reloadAgain_ = false;
  std::vector<std::function<void()>> reloadWaiters_;
  std::unique_ptr<AccessLog> accessLog_;
  int accessLogFd_ = -1;
  std::unique_ptr<admin::AdminService> admin_;  // /-/admin/*: verify, gc
  std::unique_ptr<http::Server> server_;
  static constexpr std::uint64_t kEvictCheckMs = 100;
  static constexpr std::uint64_t kPurgeFirstDelayMs = 60'000;
  static constexpr std::uint64_t kPurgeIntervalMs = 10 * 60'000;
  uv_timer_t* evictTimer_ = nullptr;  // freed in its uv_close callback
  CancelHandle eviction_;
  std::uint64_t fruitlessTotal_ = UINT64_MAX;  // store size after a pass that missed its target
  Millis fruitlessAtMs_ = 0;
  uv_timer_t* purgeTimer_ = nullptr;  // freed in its uv_close callback
  CancelHandle purge_;
  bool shuttingDown_ = false;
};

}  // namespace hoard
