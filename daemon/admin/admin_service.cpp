#include "daemon/admin/admin_service.h"

#include <algorithm>

#include <arpa/inet.h>

#include <atomic>
#include <charconv>
#include <expected>
#include <optional>
#include <string>
#include <variant>

#include "cache/off_loop.h"
#include "cache/store_gc.h"
#include "cache/verifier.h"
#include "daemon/admin/report_json.h"
#include "daemon/log.h"

namespace hoard::admin {

struct AdminService::Core {
  AdminDeps deps;
  struct Job {
    std::uint64_t id = 0;
    std::string kind;
    std::shared_ptr<std::atomic<bool>> cancel;
    CancelHandle work;
    http::Exchange* ex = nullptr;  // null once the client went away
  };
  std::optional<Job> job;
  std::uint64_t nextId = 1;
};

namespace {

using Result = std::variant<VerifyReport, GcReport>;

void respondJson(http::Exchange& ex, int status, const nlohmann::json& body) {
  ex.respond(status, {{"Content-Type", "application/json"}},
             body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void respondError(http::Exchange& ex, int status, const std::string& message,
                  http::Headers extra = {}) {
  extra.push_back({"Content-Type", "application/json"});
  ex.respond(status, std::move(extra),
             nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                     nlohmann::json::error_handler_t::replace) +
                 "\n");
}

std::optional<std::string_view> queryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parseU64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

bool truthy(std::optional<std::string_view> v) {
  return v && (v->empty() || *v == "1" || *v == "true" || *v == "yes");
}

// Ends with the exchange: a client gone mid-job cancels the job.
class Waiter final : public http::RequestContext {
 public:
  Waiter(std::weak_ptr<AdminService::Core> core, std::uint64_t id)
      : core_(std::move(core)), id_(id) {}
  ~Waiter() override {
    auto core = core_.lock();
    if (!core || !core->job || core->job->id != id_) return;
    core->job->ex = nullptr;
    core->job->cancel->store(true);
  }
  void start() {}

 private:
  std::weak_ptr<AdminService::Core> core_;
  std::uint64_t id_;
};

void recordMetrics(Metrics& metrics, const Result& result) {
  if (const auto* v = std::get_if<VerifyReport>(&result)) {
    metrics.add("hoard_verify_objects_total{result=\"ok\"}", v->ok);
    metrics.add("hoard_verify_objects_total{result=\"mismatch\"}", v->mismatch + v->sizeMismatch);
    metrics.add("hoard_verify_objects_total{result=\"missing\"}", v->missing);
    std::string summary = "verify" + std::string(v->repair ? " --repair" : "") + ": " +
                          std::to_string(v->ok) + " ok, " + std::to_string(v->bad()) + " bad" +
                          (v->cancelled ? " (cancelled)" : "");
    if (v->clean()) {
      logInfo(summary);
    } else {
      logWarn(summary);
    }
    return;
  }
  const auto& g = std::get<GcReport>(result);
  metrics.add("hoard_gc_removed_total{kind=\"entry\"}", g.entriesRemoved);
  metrics.add("hoard_gc_removed_total{kind=\"orphan\"}", g.orphansRemoved);
  logInfo("gc: " + std::to_string(g.entriesRemoved) + " entries without file, " +
          std::to_string(g.orphansRemoved) + " orphan files removed" +
          (g.cancelled ? " (cancelled)" : ""));
}

}  // namespace

bool isLoopbackPeer(std::string_view peer) {
  std::string_view host = peer;
  if (host.starts_with("[")) {
    auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    host = host.substr(1, close - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  const std::string h(host);
  in_addr v4{};
  if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, h.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

AdminService::AdminService(AdminDeps deps) : core_(std::make_shared<Core>()) {
  if (!deps.clock) deps.clock = std::make_shared<SystemClock>();
  core_->deps = std::move(deps);
}

AdminService::~AdminService() {
  cancel();
  if (core_->job) core_->job->work.cancel();
}

void AdminService::cancel() {
  if (core_->job) core_->job->cancel->store(true);
}

void AdminService::handle(http::Exchange& ex) {
  const auto& req = ex.request();
  if (!isLoopbackPeer(req.peer)) {
    respondError(ex, 403, "admin endpoints answer loopback clients only");
    return;
  }
  const std::string_view op = std::string_view(req.path).substr(kAdminPrefix.size());
  if (op != "verify" && op != "gc") {
    respondError(ex, 404, "no such admin endpoint (POST /-/admin/verify or /-/admin/gc)");
    return;
  }
  if (req.method != "POST") {
    respondError(ex, 405, "use POST", {{"Allow", "POST"}});
    return;
  }
  Core& core = *core_;
  if (core.job) {
    respondError(ex, 409, "a " + core.job->kind + " is already running");
    return;
  }

  auto cancelFlag = std::make_shared<std::atomic<bool>>(false);
  BlobStore* store = core.deps.store;
  std::function<Result()> work;
  if (op == "verify") {
    VerifyOptions o;
    o.repair = truthy(queryParam(req.query, "repair"));
    std::uint64_t mbps = kDefaultVerifyMBps;
    if (auto rate = queryParam(req.query, "rate_mb")) {
      auto v = parseU64(*rate);
      if (!v) {
        respondError(ex, 400, "rate_mb must be a whole number of MB/s (0 = no cap)");
        return;
      }
      mbps = std::min<std::uint64_t>(*v, 1'000'000);  // no overflow below
    }
    o.maxBytesPerSecond = mbps * 1'000'000;
    o.orphanGraceMs = kDefaultOrphanGraceMs;
    o.clock = core.deps.clock;
    work = [store, o, cancelFlag]() mutable -> Result {
      o.cancel = cancelFlag.get();
      return verifyStore(*store, o);
    };
  } else {
    GcOptions o;
    o.orphanGraceMs = kDefaultOrphanGraceMs;
    if (auto grace = queryParam(req.query, "grace_s")) {
      auto v = parseU64(*grace);
      if (!v) {
        respondError(ex, 400, "grace_s must be a whole number of seconds");
        return;
      }
      // At least a minute while hoard runs: a file renamed into blobs/ is
      // unindexed until its commit's index write, which may wait behind an
      // eviction scan. At most ten years (no overflow).
      o.orphanGraceMs = static_cast<Millis>(std::clamp<std::uint64_t>(*v, 60, 315'360'000)) * 1000;
    }
    o.sweepTmp = false;  // fills in progress live there
    o.clock = core.deps.clock;
    work = [store, o, cancelFlag]() mutable -> Result {
      o.cancel = cancelFlag.get();
      return collectGarbage(*store, o);
    };
  }

  const std::uint64_t id = core.nextId++;
  core.job.emplace();
  core.job->id = id;
  core.job->kind = std::string(op);
  core.job->cancel = cancelFlag;
  core.job->ex = &ex;
  http::startContext<Waiter>(ex, std::weak_ptr<Core>(core_), id);

  std::weak_ptr<Core> weak = core_;
  auto finished = [weak, id](Result result) {
    auto c = weak.lock();
    if (!c || !c->job || c->job->id != id) return;
    http::Exchange* waiting = c->job->ex;
    c->job.reset();
    recordMetrics(*c->deps.metrics, result);
    if (!waiting || waiting->closed()) return;
    if (const auto* v = std::get_if<VerifyReport>(&result)) {
      respondJson(*waiting, 200, verifyReportJson(*v));
    } else {
      respondJson(*waiting, 200, gcReportJson(std::get<GcReport>(result)));
    }
  };
  core.job->work = runOffLoop<Result>(core.deps.loop, std::move(work), finished, finished);
}

}  // namespace hoard::admin
