#pragma once
// HTTP/1.1 server on raw non-blocking sockets polled with uv_poll_t, so that
// file ranges can be sent zero-copy with sendfile() on the threadpool (see
// connection.h). Everything here runs on the loop thread.
//
// Lifetime: after listen() succeeded, call shutdown() and wait for `done`
// before destroying the Server or closing its loop.
//
// The process must ignore SIGPIPE (sendfile has no MSG_NOSIGNAL); the Server
// constructor does so once for the whole process.
#include <uv.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/http/exchange.h"
#include "daemon/http/exchange_log.h"
#include "daemon/http/http_date.h"
#include "daemon/http/request.h"
#include "daemon/http/server_limits.h"

namespace hoard::http {

// Called on the loop thread once a request head is complete.
using Handler = std::function<void(Exchange&)>;
// Body of a server-generated error; `target` is the request-target when it was
// read before the error (empty otherwise), so front ends can answer in their
// own protocol's format.
using ErrorFormatter =
    std::function<std::string(int status, std::string_view message, std::string_view target)>;
using AccessLogger = std::function<void(const ExchangeLog&)>;
// Whether a request may carry a body, asked when its head is complete (method,
// path and headers set). Only admitted requests are read past their head (up
// to ServerLimits::maxRequestBodyBytes) and may use a method other than GET and
// HEAD; any other request with a body is refused (405 for such a method, else
// 400), as before. Keep it a short, explicit list: everything it admits is
// buffered in memory before the handler runs.
using BodyPolicy = std::function<bool(const Request&)>;

class Server {
 public:
  Server(uv_loop_t* loop, ServerLimits limits, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // "127.0.0.1:0", "[::1]:5000", ":5000". Port 0 picks a free port.
  std::expected<void, std::string> listen(const std::string& hostPort);
  // The real address, e.g. "127.0.0.1:41234"; empty before listen().
  std::string boundAddress() const { return boundAddress_; }
  // Body (application/json) of server-generated errors; default {"error":"..."}.
  void setErrorFormatter(ErrorFormatter f) { errorFormatter_ = std::move(f); }
  void setAccessLogger(AccessLogger f) { accessLogger_ = std::move(f); }
  void setBodyPolicy(BodyPolicy f) { bodyPolicy_ = std::move(f); }
  // Stop accepting, close idle connections, let in-flight exchanges finish,
  // force-close after shutdownGraceMs, then call done (after every handle of
  // the server is closed, so done may destroy the Server). Idempotent: later
  // calls' callbacks run too.
  void shutdown(std::function<void()> done);
  std::size_t connectionCount() const { return connectionCount_; }

 private:
  friend class Connection;

  // Connection side.
  void defer(Connection* c, std::uint8_t ops);
  void connectionClosed(Connection* c);
  std::string formatError(int status, std::string_view message, std::string_view target = {}) const;
  bool shuttingDown() const { return shutdownStarted_; }
  bool admitsBody(const Request& r) const { return bodyPolicy_ && bodyPolicy_(r); }

  void onAcceptable();
  void acceptOne(int fd, const sockaddr* peer);
  void rejectOverCapacity(int fd);
  void runDeferred();
  void forceCloseAll();
  void maybeFinishShutdown();
  void onServerHandleClosed();

  uv_loop_t* loop_;
  ServerLimits limits_;
  Handler handler_;
  ErrorFormatter errorFormatter_;
  AccessLogger accessLogger_;
  BodyPolicy bodyPolicy_;
  HttpDate date_;

  int listenFd_ = -1;
  int reserveFd_ = -1;  // spare descriptor to shed connections when out of fds
  std::string boundAddress_;
  uv_poll_t listenPoll_{};
  uv_idle_t idle_{};
  uv_timer_t graceTimer_{};
  bool handlesInited_ = false;
  bool idleActive_ = false;
  int handlesOpen_ = 0;

  Connection* head_ = nullptr;  // intrusive list of live connections
  std::size_t connectionCount_ = 0;
  std::vector<Connection*> pending_;  // connections with deferred work
  std::vector<Connection*> running_;

  bool shutdownStarted_ = false;
  bool shutdownDone_ = false;
  bool listenerClosed_ = false;
  bool closingHandles_ = false;
  std::vector<std::function<void()>> shutdownCallbacks_;
};

}  // namespace hoard::http
