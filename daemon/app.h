#pragma once
// Wires one running hoard: store, index, upstream client, front ends and the
// HTTP server, all on one libuv loop. Owns them and tears them down in order.
#include <uv.h>

#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "cache/access_tracker.h"
#include "cache/async_store.h"
#include "cache/blob_store.h"
#include "cache/clock.h"
#include "conf/config.h"
#include "daemon/access_log.h"
#include "daemon/go/service.h"
#include "daemon/http/server.h"
#include "daemon/metrics.h"
#include "daemon/npm/service.h"
#include "daemon/oci/service.h"
#include "daemon/pypi/service.h"
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

 private:
  void route(http::Exchange& ex);
  void maybeEvict();

  uv_loop_t* loop_;
  conf::Config config_;
  ClockPtr clock_;
  Metrics metrics_;
  BlobStorePtr store_;
  std::unique_ptr<AsyncStore> asyncStore_;
  std::unique_ptr<AccessTracker> access_;
  std::unique_ptr<HttpClient> http_;
  FillRegistry fills_;
  std::unique_ptr<oci::OciService> oci_;
  std::unique_ptr<npm::NpmService> npm_;
  std::unique_ptr<pypi::PypiService> pypi_;
  std::unique_ptr<go::GoService> go_;
  std::unique_ptr<AccessLog> accessLog_;
  int accessLogFd_ = -1;
  std::unique_ptr<http::Server> server_;
  uv_timer_t* evictTimer_ = nullptr;  // freed in its uv_close callback
  CancelHandle eviction_;
  bool shuttingDown_ = false;
};

}  // namespace hoard
