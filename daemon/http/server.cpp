#include "daemon/http/server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>

#include "daemon/http/connection.h"
#include "daemon/http/socket_address.h"

namespace hoard::http {
namespace {

std::string jsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          (void)std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace

Server::Server(uv_loop_t* loop, ServerLimits limits, Handler handler)
    : loop_(loop), limits_(limits), handler_(std::move(handler)), date_(loop) {
  // sendfile() cannot be told MSG_NOSIGNAL; a client resetting mid-file must
  // give EPIPE, not kill the daemon.
  static std::once_flag ignoreSigpipe;
  std::call_once(ignoreSigpipe, [] { (void)std::signal(SIGPIPE, SIG_IGN); });
  if (limits_.readBufferBytes < 1024) limits_.readBufferBytes = 1024;
}

Server::~Server() {
  // Handles still open here would be freed memory inside the loop; the owner
  // must wait for shutdown()'s callback. Fail loudly rather than corrupt.
  if (handlesOpen_ != 0 || connectionCount_ != 0) {
    (void)std::fprintf(stderr, "hoard::http::Server destroyed before shutdown completed\n");
    std::abort();
  }
  if (listenFd_ >= 0) ::close(listenFd_);
  if (reserveFd_ >= 0) ::close(reserveFd_);
}

std::expected<void, std::string> Server::listen(const std::string& hostPort) {
  if (handlesInited_) return std::unexpected(std::string("already listening"));
  auto hp = splitHostPort(hostPort);
  if (!hp) return std::unexpected(std::string(hp.error()) + ": " + hostPort);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  // Blocking resolution is fine here: listen() runs at startup, before traffic.
  int gai =
      getaddrinfo(hp->host.empty() ? nullptr : hp->host.c_str(), hp->port.c_str(), &hints, &res);
  if (gai != 0)
    return std::unexpected(std::string("cannot resolve ") + hostPort + ": " + gai_strerror(gai));

  std::string lastError = "no usable address";
  int fd = -1;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      lastError = std::strerror(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) break;
    lastError = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    return std::unexpected(std::string("cannot listen on ") + hostPort + ": " + lastError);

  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (int rc = uv_poll_init_socket(loop_, &listenPoll_, fd); rc != 0) {
    ::close(fd);
    return std::unexpected(std::string("cannot poll listener: ") + uv_strerror(rc));
  }
  listenFd_ = fd;
  boundAddress_ = formatSockaddr(reinterpret_cast<sockaddr*>(&ss));
  reserveFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

  listenPoll_.data = this;
  idle_.data = this;
  graceTimer_.data = this;
  uv_idle_init(loop_, &idle_);
  uv_timer_init(loop_, &graceTimer_);
  handlesInited_ = true;
  handlesOpen_ = 3;
  uv_poll_start(&listenPoll_, UV_READABLE, [](uv_poll_t* h, int status, int) {
    if (status == 0) static_cast<Server*>(h->data)->onAcceptable();
  });
  return {};
}

void Server::onAcceptable() {
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd =
        ::accept4(listenFd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      acceptOne(fd, reinterpret_cast<sockaddr*>(&ss));
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if ((errno == EMFILE || errno == ENFILE) && reserveFd_ >= 0) {
      // Out of descriptors: the pending connection would keep the listener
      // readable forever. Free the spare, accept and drop it, take the spare back.
      ::close(reserveFd_);
      int victim = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (victim >= 0) ::close(victim);
      reserveFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      continue;
    }
    return;  // EAGAIN, or an error we cannot act on
  }
}

void Server::acceptOne(int fd, const sockaddr* peer) {
  if (shutdownStarted_) {
    ::close(fd);
    return;
  }
  if (connectionCount_ >= limits_.maxConnections) {
    rejectOverCapacity(fd);
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto* c = new Connection(*this, fd, formatSockaddr(peer));
  if (!c->start()) {
    delete c;
    ::close(fd);
    return;
  }
  c->next = head_;
  if (head_) head_->prev = c;
  head_ = c;
  ++connectionCount_;
}

void Server::rejectOverCapacity(int fd) {
  // Best effort, never blocks: a fresh socket's send buffer takes this whole.
  std::string body = formatError(503, "too many connections");
  std::string resp =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ";
  resp += std::to_string(body.size());
  resp += "\r\nConnection: close\r\n\r\n";
  resp += body;
  (void)!::send(fd, resp.data(), resp.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

std::string Server::formatError(int status, std::string_view message,
                                std::string_view target) const {
  if (errorFormatter_) return errorFormatter_(status, message, target);
  std::string out = "{\"error\":\"";
  out += jsonEscape(message);
  out += "\"}";
  return out;
}

void Server::defer(Connection* c, std::uint8_t ops) {
  if (c->pendingOps == 0) pending_.push_back(c);
  c->pendingOps |= ops;
  if (!idleActive_) {
    idleActive_ = true;
    // An active idle handle also keeps the loop from blocking in poll, so the
    // deferred work runs on the very next turn.
    uv_idle_start(&idle_, [](uv_idle_t* h) { static_cast<Server*>(h->data)->runDeferred(); });
  }
}

void Server::runDeferred() {
  running_.swap(pending_);
  for (Connection* c : running_) {
    if (!c) continue;  // closed meanwhile
    std::uint8_t ops = std::exchange(c->pendingOps, 0);
    if (ops) c->runDeferred(ops);
  }
  running_.clear();
  if (pending_.empty() && idleActive_) {
    idleActive_ = false;
    uv_idle_stop(&idle_);
  }
}

void Server::connectionClosed(Connection* c) {
  if (c->pendingOps != 0) {
    for (Connection*& p : pending_) {
      if (p == c) p = nullptr;
    }
  }
  if (c->prev) c->prev->next = c->next;
  if (c->next) c->next->prev = c->prev;
  if (head_ == c) head_ = c->next;
  --connectionCount_;
  ::close(c->fd());
  delete c;
  maybeFinishShutdown();
}

void Server::shutdown(std::function<void()> done) {
  if (shutdownDone_) {
    if (done) done();
    return;
  }
  if (done) shutdownCallbacks_.push_back(std::move(done));
  if (shutdownStarted_) return;
  shutdownStarted_ = true;
  if (!handlesInited_) {
    shutdownDone_ = true;
    auto callbacks = std::move(shutdownCallbacks_);
    for (auto& cb : callbacks) cb();
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&listenPoll_), [](uv_handle_t* h) {
    auto* s = static_cast<Server*>(h->data);
    ::close(s->listenFd_);
    s->listenFd_ = -1;
    s->listenerClosed_ = true;
    s->onServerHandleClosed();
  });
  for (Connection* c = head_; c; c = c->next) c->onServerShutdown();
  uv_timer_start(
      &graceTimer_, [](uv_timer_t* h) { static_cast<Server*>(h->data)->forceCloseAll(); },
      limits_.shutdownGraceMs, 0);
}

void Server::forceCloseAll() {
  for (Connection* c = head_; c; c = c->next) c->closeNow();
}

void Server::maybeFinishShutdown() {
  if (!shutdownStarted_ || closingHandles_ || !listenerClosed_ || connectionCount_ != 0) return;
  // The idle handle ran the connections' deferred work; none is left now.
  closingHandles_ = true;
  uv_timer_stop(&graceTimer_);
  auto onClosed = [](uv_handle_t* h) { static_cast<Server*>(h->data)->onServerHandleClosed(); };
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), onClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&graceTimer_), onClosed);
}

void Server::onServerHandleClosed() {
  --handlesOpen_;
  if (!closingHandles_) {
    maybeFinishShutdown();  // the listener just closed
    return;
  }
  if (handlesOpen_ != 0) return;
  shutdownDone_ = true;
  // The callbacks may destroy this Server: touch nothing after them.
  auto callbacks = std::move(shutdownCallbacks_);
  for (auto& cb : callbacks) cb();
}

}  // namespace hoard::http
