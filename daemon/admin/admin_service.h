#pragma once
// Maintenance endpoints of a running hoard, for `hoard verify --url` and
// `hoard gc --url`:
//   POST /-/admin/verify[?repair=1][&rate_mb=N]   JSON verify report
//   POST /-/admin/gc[?grace_s=N]                   JSON gc report
//
// Loopback clients only (127.0.0.0/8, ::1): anyone else gets 403, since these
// read the whole disk and delete files. One job at a time: a second verify or
// gc while one runs gets 409.
//
// The job runs on the threadpool (never the loop), one object at a time,
// reads paced to rate_mb MB/s (default kDefaultVerifyMBps) so serving keeps
// its disk bandwidth. The response is sent when the job ends; a client that
// goes away cancels the job (it stops at the next object or read chunk).
// Metrics (loop thread, when the job ends): hoard_verify_objects_total{result},
// hoard_gc_removed_total{kind}.
//
// Must survive: the client vanishing mid-job, shutdown mid-job (cancel()),
// the App (and this service) going away while the job still runs on the pool
// (the job result is then dropped; it only touches the store, which the App
// never destroys before the process exits).
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "cache/blob_store.h"
#include "cache/clock.h"
#include "daemon/http/exchange.h"
#include "daemon/metrics.h"

namespace hoard::admin {

inline constexpr std::string_view kAdminPrefix = "/-/admin/";
inline constexpr std::uint64_t kDefaultVerifyMBps = 64;
inline constexpr Millis kDefaultOrphanGraceMs = 10 * 60 * 1000;

struct AdminDeps {
  uv_loop_t* loop = nullptr;
  BlobStore* store = nullptr;
  Metrics* metrics = nullptr;
  ClockPtr clock;
};

// "127.0.0.1:5000", "[::1]:5000", "[::ffff:127.0.0.1]:5000" -> true.
bool isLoopbackPeer(std::string_view peer);

class AdminService {
 public:
  explicit AdminService(AdminDeps deps);
  ~AdminService();
  AdminService(const AdminService&) = delete;
  AdminService& operator=(const AdminService&) = delete;

  // Answers a request whose path starts with kAdminPrefix.
  void handle(http::Exchange& ex);
  // Shutdown: a running job stops at its next object. Idempotent.
  void cancel();

  struct Core;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace hoard::admin
