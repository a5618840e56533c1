#include "daemon/app.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "cache/off_loop.h"
#include "cache/ref_purge.h"
#include "conf/loader.h"
#include "daemon/log.h"
#include "daemon/oci/errors.h"

namespace hoard {

App::App(uv_loop_t* loop, conf::Config config, ClockPtr clock)
    : loop_(loop), config_(std::move(config)), clock_(std::move(clock)) {}

App::~App() {
  if (accessLogFd_ > 2) ::close(accessLogFd_);
}

std::expected<void, std::string> App::start() {
  auto store = openDiskBlobStore(config_.store.path, clock_);
  if (!store) return std::unexpected("store " + config_.store.path + ": " + store.error());
  store_ = std::move(*store);
  if (auto r = store_->recover(); !r) return std::unexpected("store recovery: " + r.error());
  store_->setMaxSize(config_.store.maxSizeBytes, config_.store.lowWatermarkBytes());
  asyncStore_ = std::make_unique<AsyncStore>(loop_, *store_);
  AccessTracker::Options trackerOptions;
  trackerOptions.flushInterval = std::chrono::milliseconds(config_.store.accessFlushMs);
  access_ = std::make_unique<AccessTracker>(loop_, store_->index(), clock_, trackerOptions);
  HttpClientOptions httpOptions;
  httpOptions.onTransferDone = [this](const TransferTiming& t) {
    metrics_.observe("hoard_upstream_transfer_seconds", t.totalSeconds);
    if (t.firstByteSeconds > 0) {
      metrics_.observe("hoard_upstream_first_byte_seconds", t.firstByteSeconds);
    }
  };
  http_ = std::make_unique<HttpClient>(loop_, std::move(httpOptions));
  policy::Policy::Options policyOptions;
  policyOptions.denyList = config_.policy.denyList;
  policyOptions.allowList = config_.policy.allowList;
  policyOptions.pins = config_.store.pins;
  policy_ = std::make_unique<policy::Policy>(loop_, &metrics_, std::move(policyOptions));
  if (auto r = policy_->start(); !r) return std::unexpected(r.error());
  buildServices();

  const auto& logPath = config_.log.accessLog;
  if (logPath == "-") {
    accessLogFd_ = 2;
  } else if (!logPath.empty()) {
    accessLogFd_ = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (accessLogFd_ < 0) return std::unexpected("cannot open access log " + logPath);
  }
  accessLog_ = std::make_unique<AccessLog>(loop_, accessLogFd_);

  http::ServerLimits limits;
  limits.maxConnections = config_.server.maxConnections;
  limits.headerTimeoutMs = config_.server.headerTimeoutMs;
  limits.idleTimeoutMs = config_.server.idleTimeoutMs;
  limits.maxHeaderBytes = config_.server.maxHeaderBytes;
  server_ =
      std::make_unique<http::Server>(loop_, limits, [this](http::Exchange& ex) { route(ex); });
  server_->setErrorFormatter(
      [](int status, std::string_view message, std::string_view target) -> std::string {
        if (target.starts_with("/go/")) return std::string(message) + "\n";
        if (target.starts_with("/npm/") || target.starts_with("/pypi/")) {
          nlohmann::json j;
          if (target.find("/-/npm/v1/security/") != std::string_view::npos) {
            // npm prints this after the status line: say it was the audit that failed.
            j["error"] = "audit: " + std::string(message);
          } else {
            j["error"] = status == 405 ? "hoard is a read-only mirror: " + std::string(message)
                                       : std::string(message);
          }
          return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        }
        return oci::errorBodyForStatus(status, message);
      });
  // The only requests read past their head: npm audit's POSTs (a few MB of JSON at most).
  server_->setBodyPolicy([](const http::Request& r) {
    return r.path.starts_with("/npm/") &&
           npm::isAuditRequest(r.method, std::string_view(r.path).substr(5));
  });
  server_->setAccessLogger([this](const http::ExchangeLog& entry) {
    accessLog_->log(entry, clock_->nowMs());
    countRequest(metrics_, entry);
  });
  registerStoreGauges();
  if (auto r = server_->listen(config_.server.listen); !r) {
    return std::unexpected("listen " + config_.server.listen + ": " + r.error());
  }
  startStoreMaintenance();
  logInfo("hoard listening on " + server_->boundAddress() + ", store " + config_.store.path);
  return {};
}

std::string App::boundAddress() const {
  return server_ ? server_->boundAddress() : "";
}

void App::route(http::Exchange& ex) {
  const auto& path = ex.request().path;
  if (path == "/v2" || path.starts_with("/v2/")) {
    oci_->handle(ex);
    return;
  }
  if (path.starts_with("/npm/")) {
    npm_->handle(ex, std::string_view(path).substr(5));
    return;
  }
  if (path.starts_with("/pypi/")) {
    pypi_->handle(ex, std::string_view(path).substr(6));
    return;
  }
  if (path.starts_with("/go/")) {
    go_->handle(ex, std::string_view(path).substr(4));
    return;
  }
  if (path.starts_with(admin::kAdminPrefix)) {
    if (!admin_) {
      admin_ = std::make_unique<admin::AdminService>(
          admin::AdminDeps{loop_, store_.get(), &metrics_, clock_});
    }
    admin_->handle(ex);
    return;
  }
  if (path == "/metrics" || path == "/-/metrics") {
    ex.respond(200, {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}},
               metrics_.render());
    return;
  }
  if (path == "/-/healthz") {
    // Liveness: the loop answers. Nothing else is checked, so a busy or
    // degraded hoard is not restarted for it.
    ex.respond(200, {{"Content-Type", "application/json"}}, "{\"status\":\"alive\"}\n");
    return;
  }
  if (path == "/-/readyz" || path == "/-/health") {
    // Readiness: the store is open (App::start fails otherwise) and the
    // listener is up, since this request came through it. A draining hoard
    // (SIGTERM) has stopped accepting, so it is never asked.
    ex.respond(200, {{"Content-Type", "application/json"}}, "{\"status\":\"ready\"}\n");
    return;
  }
  ex.respond(404, {{"Content-Type", "application/json"}},
             oci::errorBody(oci::ErrorCode::NameUnknown, "no such endpoint"));
}

// The front ends for the current config_. A reload builds a new set while
// requests in flight keep using the one they started on (see reload()).
void App::buildServices() {
  oci_ = std::make_unique<oci::OciService>(
      oci::OciService::Deps{loop_, asyncStore_.get(), access_.get(), http_.get(), clock_, &metrics_,
                            &fills_, policy_.get()},
      config_.upstreams, config_.offline);
  npm_ = std::make_unique<npm::NpmService>(
      npm::NpmService::Deps{loop_, asyncStore_.get(), access_.get(), http_.get(), clock_, &metrics_,
                            &fills_, policy_.get()},
      config_.upstreams, config_.offline, config_.publicUrl);
  pypi_ = std::make_unique<pypi::PypiService>(
      pypi::PypiService::Deps{loop_, asyncStore_.get(), access_.get(), http_.get(), clock_,
                              &metrics_, &fills_, policy_.get()},
      config_.upstreams, config_.offline);
  go_ = std::make_unique<go::GoService>(
      go::GoService::Deps{loop_, asyncStore_.get(), access_.get(), http_.get(), clock_, &metrics_,
                          &fills_, policy_.get()},
      config_.upstreams, config_.offline);
}

void App::registerStoreGauges() {
  metrics_.setGaugeReader("hoard_store_bytes",
                          [this] { return static_cast<double>(store_->totalBytes()); });
  metrics_.setGaugeReader("hoard_store_max_bytes",
                          [this] { return static_cast<double>(config_.store.maxSizeBytes); });
  metrics_.setGaugeReader("hoard_index_writes_failing",
                          [this] { return store_->index().health().writesFailing ? 1.0 : 0.0; });
  metrics_.setCounterReader("hoard_index_recoveries_total", [this] {
    return static_cast<double>(store_->index().health().recoveries);
  });
  metrics_.setGaugeReader("hoard_active_fills",
                          [this] { return static_cast<double>(fills_.size()); });
  metrics_.setCounterReader("hoard_access_log_dropped_total",
                            [this] { return static_cast<double>(accessLog_->dropped()); });
}

void App::startStoreMaintenance() {
  // Eviction counts come from the store itself: commit() evicts too (the
  // hard bound), on the thread pool, where Metrics cannot be touched.
  metrics_.setCounterReader("hoard_evictions_total",
                            [this] { return static_cast<double>(store_->evictedObjects()); });
  metrics_.setCounterReader("hoard_evicted_bytes_total",
                            [this] { return static_cast<double>(store_->evictedBytes()); });
  metrics_.setGaugeReader("hoard_store_objects",
                          [this] { return static_cast<double>(store_->totalObjects()); });
  metrics_.add("hoard_refs_purged_total", 0);
  // The size check is two atomic loads, so it runs often: a pass starts well
  // under a second after the commit that crossed the high mark, or after a
  // fill reported ENOSPC, and a burst of commits still triggers one scan.
  evictTimer_ = new uv_timer_t;
  uv_timer_init(loop_, evictTimer_);
  evictTimer_->data = this;
  uv_timer_start(
      evictTimer_, [](uv_timer_t* t) { static_cast<App*>(t->data)->maybeEvict(); }, kEvictCheckMs,
      kEvictCheckMs);
  uv_unref(reinterpret_cast<uv_handle_t*>(evictTimer_));
  // Expired refs: once soon after startup (not during it), then periodically.
  purgeTimer_ = new uv_timer_t;
  uv_timer_init(loop_, purgeTimer_);
  purgeTimer_->data = this;
  uv_timer_start(
      purgeTimer_, [](uv_timer_t* t) { static_cast<App*>(t->data)->purgeRefs(); },
      kPurgeFirstDelayMs, kPurgeIntervalMs);
  uv_unref(reinterpret_cast<uv_handle_t*>(purgeTimer_));
}

void App::maybeEvict() {
  const auto& sc = config_.store;
  // Re-applied every tick so a config reload takes effect without a restart.
  store_->setMaxSize(sc.maxSizeBytes, sc.lowWatermarkBytes());
  if (eviction_.active()) return;  // an ENOSPC flag waits for the next tick
  const std::uint64_t total = store_->totalBytes();
  const bool overHigh = sc.maxSizeBytes > 0 && total > sc.highWatermarkBytes();
  const bool noSpace = store_->takeNoSpace();
  if (!overHigh && !noSpace) return;
  // After a pass that could not reach its target (the rest is pinned or
  // being served), scanning the whole index again every tick would find the
  // same: wait until the store changes, or 30 s for leases to end.
  if (!noSpace && fruitlessTotal_ == total && clock_->nowMs() - fruitlessAtMs_ < 30'000) return;
  std::uint64_t target = sc.maxSizeBytes > 0 ? sc.lowWatermarkBytes() : total;
  if (noSpace) {
    // The disk filled before max_size did (or max_size is unlimited): free
    // (100 - low)% of what is stored now, whichever target is lower.
    target = std::min(
        target, total / 100 * sc.lowWatermarkPercent + total % 100 * sc.lowWatermarkPercent / 100);
  }
  BlobStore* store = store_.get();
  eviction_ = runOffLoop<std::expected<std::uint64_t, StoreError>>(
      loop_, [store, target] { return store->evictTo(target); },
      [this, target, noSpace](std::expected<std::uint64_t, StoreError> r) {
        eviction_.release();
        if (!r) {
          metrics_.add("hoard_store_errors_total");
          logWarn("eviction failed");
          return;
        }
        if (store_->totalBytes() > target) {
          fruitlessTotal_ = store_->totalBytes();
          fruitlessAtMs_ = clock_->nowMs();
          logWarn("eviction freed " + std::to_string(*r) + " bytes but the store is still at " +
                  std::to_string(store_->totalBytes()) + " bytes (target " +
                  std::to_string(target) + "): the rest is pinned or being served");
        } else if (noSpace) {
          logInfo("disk full: evicted " + std::to_string(*r) + " bytes");
        }
      });
}

void App::purgeRefs() {
  if (purge_.active() || config_.store.metadataRetentionMs == conf::kForever) return;
  Index* index = &store_->index();
  ClockPtr clock = clock_;
  const std::uint64_t retention = config_.store.metadataRetentionMs;
  using Result = std::expected<RefPurgeStats, IndexError>;
  purge_ = runOffLoop<Result>(
      loop_, [index, clock, retention] { return purgeExpiredRefs(*index, *clock, retention); },
      [this](const Result& r) {
        purge_.release();
        if (!r) {
          metrics_.add("hoard_store_errors_total");
          logWarn("expired metadata purge failed");
          return;
        }
        metrics_.add("hoard_refs_purged_total", r->purged);
        if (r->purged > 0) {
          logInfo("purged " + std::to_string(r->purged) + " expired metadata entries of " +
                  std::to_string(r->scanned));
        }
      });
}

void App::reload(std::function<void()> done) {
  if (shuttingDown_ || !policy_) {
    if (done) done();
    return;
  }
  if (done) reloadWaiters_.push_back(std::move(done));
  if (reloadRunning_) {
    reloadAgain_ = true;  // the file may have changed again since the read began
    return;
  }
  reloadRunning_ = true;  // until finishReload(): the lists are re-read after the file
  if (config_.sourceFile.empty()) {
    // Built-in defaults: there is no file to re-read, only the lists.
    logInfo("reload requested: re-reading the deny/allow-lists");
    policy_->reload([this] { finishReload(); });
    return;
  }
  logInfo("reload requested: re-reading " + config_.sourceFile);
  // Reading and parsing the file is disk work: off the loop.
  reloading_ = runOffLoop<std::expected<conf::Config, std::string>>(
      loop_, [path = config_.sourceFile] { return conf::loadConfigFile(path); },
      [this](std::expected<conf::Config, std::string> loaded) {
        reloading_.release();
        if (!loaded) {
          logWarn("config reload failed, the running config stays: " + loaded.error());
          metrics_.add("hoard_config_reloads_total{result=\"error\"}");
          policy_->reload([this] { finishReload(); });
          return;
        }
        applyConfig(std::move(*loaded));
      });
}

void App::applyConfig(conf::Config next) {
  // What a running server cannot change: kept, with a warning, until a restart.
  auto keep = [](const char* what, bool changed) {
    if (changed) logWarn(std::string("config reload: ") + what + " changes need a restart");
  };
  keep("listen", next.server.listen != config_.server.listen);
  keep("server", next.server.maxConnections != config_.server.maxConnections ||
                     next.server.headerTimeoutMs != config_.server.headerTimeoutMs ||
                     next.server.idleTimeoutMs != config_.server.idleTimeoutMs ||
                     next.server.maxHeaderBytes != config_.server.maxHeaderBytes);
  keep("store.path", next.store.path != config_.store.path);
  keep("store.access_flush", next.store.accessFlushMs != config_.store.accessFlushMs);
  keep("log.access_log", next.log.accessLog != config_.log.accessLog);
  next.server = config_.server;
  next.store.path = config_.store.path;
  next.store.accessFlushMs = config_.store.accessFlushMs;
  next.log.accessLog = config_.log.accessLog;

  policy::Policy::Options policyOptions;
  policyOptions.denyList = next.policy.denyList;
  policyOptions.allowList = next.policy.allowList;
  policyOptions.pins = next.store.pins;
  if (auto r = policy_->reconfigure(std::move(policyOptions), [this] { finishReload(); }); !r) {
    logWarn("config reload refused, the running config stays: " + r.error());
    metrics_.add("hoard_config_reloads_total{result=\"error\"}");
    finishReload();
    return;
  }

  applyLogLevel(next.log.level);
  config_ = std::move(next);
  // Sizes and watermarks are read from config_ by the eviction tick.
  store_->setMaxSize(config_.store.maxSizeBytes, config_.store.lowWatermarkBytes());
  // New front ends for new requests; the old ones stay alive for the
  // requests (and fills) they are serving. They hold no timers of their own
  // and a few KiB each, so they are kept until shutdown rather than tracked.
  retired_.push_back(
      RetiredServices{std::move(oci_), std::move(npm_), std::move(pypi_), std::move(go_)});
  buildServices();
  metrics_.add("hoard_config_reloads_total{result=\"ok\"}");
  logInfo("config reloaded: " + std::to_string(config_.upstreams.size()) + " upstreams");
}

void App::finishReload() {
  reloadRunning_ = false;
  if (std::exchange(reloadAgain_, false)) {
    reload();
    return;
  }
  auto waiters = std::exchange(reloadWaiters_, {});
  for (auto& w : waiters) w();
}

void App::shutdown(std::function<void()> done) {
  if (shuttingDown_) return;
  shuttingDown_ = true;
  reloading_.cancel();
  reloadWaiters_.clear();
  if (policy_) policy_->close();
  if (admin_) admin_->cancel();
  eviction_.cancel();
  purge_.cancel();
  for (uv_timer_t** timer : {&evictTimer_, &purgeTimer_}) {
    if (!*timer) continue;
    uv_close(reinterpret_cast<uv_handle_t*>(*timer),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    *timer = nullptr;
  }
  logInfo("shutting down: finishing in-flight responses");
  auto finish = [this, done = std::move(done)]() mutable {
    oci_->cancelAll();
    npm_->cancelAll();
    pypi_->cancelAll();
    go_->cancelAll();
    for (auto& old : retired_) {
      old.oci->cancelAll();
      old.npm->cancelAll();
      old.pypi->cancelAll();
      old.go->cancelAll();
    }
    access_->flush([this, done = std::move(done)]() mutable {
      access_->close();
      accessLog_->flush([this, done = std::move(done)]() mutable {
        accessLog_->close();
        http_->close([done = std::move(done)] { done(); });
      });
    });
  };
  if (server_) {
    server_->shutdown(std::move(finish));
  } else {
    finish();
  }
}

}  // namespace hoard
