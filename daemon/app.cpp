#include "daemon/app.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cache/off_loop.h"
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
  asyncStore_ = std::make_unique<AsyncStore>(loop_, *store_);
  AccessTracker::Options trackerOptions;
  trackerOptions.flushInterval = std::chrono::milliseconds(config_.store.accessFlushMs);
  access_ = std::make_unique<AccessTracker>(loop_, store_->index(), clock_, trackerOptions);
  http_ = std::make_unique<HttpClient>(loop_);
  oci_ = std::make_unique<oci::OciService>(
      oci::OciService::Deps{loop_, asyncStore_.get(), access_.get(), http_.get(), clock_, &metrics_,
                            &fills_},
      config_.upstreams, config_.offline);
  npm_ = std::make_unique<npm::NpmService>(
      npm::NpmService::Deps{loop_, asyncStore_.get(), access_.get(), http_.get(), clock_, &metrics_,
                            &fills_},
      config_.upstreams, config_.offline, config_.publicUrl);
  pypi_ = std::make_unique<pypi::PypiService>(
      pypi::PypiService::Deps{loop_, asyncStore_.get(), access_.get(), http_.get(), clock_,
                              &metrics_, &fills_},
      config_.upstreams, config_.offline);
  go_ =
      std::make_unique<go::GoService>(go::GoService::Deps{loop_, asyncStore_.get(), access_.get(),
                                                          http_.get(), clock_, &metrics_, &fills_},
                                      config_.upstreams, config_.offline);

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
            // npm audit POSTs its dependency list; hoard does not forward request bodies.
            j["error"] = "npm audit is not supported through hoard (a read-only mirror)";
          } else {
            j["error"] = status == 405 ? "hoard is a read-only mirror: " + std::string(message)
                                       : std::string(message);
          }
          return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        }
        return oci::errorBodyForStatus(status, message);
      });
  server_->setAccessLogger([this](const http::ExchangeLog& entry) {
    accessLog_->log(entry, clock_->nowMs());
    metrics_.add("hoard_http_requests_total{status=\"" + std::to_string(entry.status) + "\"}");
  });
  if (auto r = server_->listen(config_.server.listen); !r) {
    return std::unexpected("listen " + config_.server.listen + ": " + r.error());
  }
  if (config_.store.maxSizeBytes > 0) {
    // Size is checked on a timer rather than per commit: eviction is a scan
    // of the index, and a burst of fills should trigger it once.
    evictTimer_ = new uv_timer_t;
    uv_timer_init(loop_, evictTimer_);
    evictTimer_->data = this;
    uv_timer_start(
        evictTimer_, [](uv_timer_t* t) { static_cast<App*>(t->data)->maybeEvict(); }, 2000, 2000);
    uv_unref(reinterpret_cast<uv_handle_t*>(evictTimer_));
  }
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
  if (path == "/metrics" || path == "/-/metrics") {
    auto body = metrics_.render();
    body += "# TYPE hoard_store_bytes gauge\nhoard_store_bytes " +
            std::to_string(store_->totalBytes()) + "\n";
    body += "# TYPE hoard_active_fills gauge\nhoard_active_fills " +
            std::to_string(oci_->blobFills().size()) + "\n";
    ex.respond(200, {{"Content-Type", "text/plain; version=0.0.4"}}, std::move(body));
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

void App::maybeEvict() {
  const auto max = config_.store.maxSizeBytes;
  if (eviction_.active() || store_->totalBytes() <= max) return;
  // Evict to 90% so the next few fills do not immediately trigger another scan.
  const std::uint64_t target = max - max / 10;
  BlobStore* store = store_.get();
  eviction_ = runOffLoop<std::expected<std::uint64_t, StoreError>>(
      loop_, [store, target] { return store->evictTo(target); },
      [this](std::expected<std::uint64_t, StoreError> r) {
        eviction_.release();
        if (r) {
          metrics_.add("hoard_evicted_bytes_total", *r);
        } else {
          metrics_.add("hoard_store_errors_total");
          logWarn("eviction failed");
        }
      });
}

void App::shutdown(std::function<void()> done) {
  if (shuttingDown_) return;
  shuttingDown_ = true;
  eviction_.cancel();
  if (evictTimer_) {
    uv_close(reinterpret_cast<uv_handle_t*>(evictTimer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    evictTimer_ = nullptr;
  }
  logInfo("shutting down: finishing in-flight responses");
  auto finish = [this, done = std::move(done)]() mutable {
    oci_->cancelAll();
    npm_->cancelAll();
    pypi_->cancelAll();
    go_->cancelAll();
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
