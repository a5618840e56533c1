#pragma once
// Test harness: a Server on its own uv loop in a background thread, and a
// plain blocking-socket HTTP client with a receive timeout (no test can hang).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "daemon/http/server.h"

namespace hoard::http::test {

class TestServer {
 public:
  TestServer(ServerLimits limits, Handler handler,
             std::function<void(Server&)> configure = nullptr) {
    uv_loop_init(&loop_);
    server_ = std::make_unique<Server>(&loop_, limits, std::move(handler));
    if (configure) configure(*server_);
    auto r = server_->listen("127.0.0.1:0");
    if (!r) throw std::runtime_error(r.error());
    address_ = server_->boundAddress();
    async_.data = this;
    uv_async_init(&loop_, &async_,
                  [](uv_async_t* a) { static_cast<TestServer*>(a->data)->drain(); });
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }

  ~TestServer() {
    shutdownAndWait();
    runOnLoop([this] { uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr); });
    thread_.join();
    server_.reset();
    uv_loop_close(&loop_);
  }

  const std::string& address() const { return address_; }
  int port() const { return std::stoi(address_.substr(address_.rfind(':') + 1)); }
  uv_loop_t* loop() { return &loop_; }

  // Runs fn on the loop thread (fire and forget).
  void runOnLoop(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(fn));
    }
    uv_async_send(&async_);
  }

  template <class F>
  auto onLoop(F fn) -> decltype(fn()) {
    auto task = std::make_shared<std::packaged_task<decltype(fn())()>>(std::move(fn));
    auto fut = task->get_future();
    runOnLoop([task] { (*task)(); });
    return fut.get();
  }

  std::size_t connectionCount() {
    return onLoop([this] { return server_->connectionCount(); });
  }

  // Starts a graceful shutdown; `done` flips when the server reports done.
  void startShutdown() {
    runOnLoop([this] { server_->shutdown([this] { shutdownDone_ = true; }); });
  }
  bool shutdownDone() const { return shutdownDone_; }
  void shutdownAndWait() {
    if (!shutdownDone_) startShutdown();
    while (!shutdownDone_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

 private:
  void drain() {
    std::vector<std::function<void()>> q;
    {
      std::lock_guard<std::mutex> lock(mu_);
      q.swap(queue_);
    }
    for (auto& f : q) f();
  }

  uv_loop_t loop_{};
  uv_async_t async_{};
  std::unique_ptr<Server> server_;
  std::string address_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;
  std::atomic<bool> shutdownDone_{false};
};

// A request-scoped uv timer owned by a RequestContext: destroying the
// context cancels it (uv_close, memory freed in the close callback).
class TimerContext : public RequestContext {
 public:
  TimerContext(uv_loop_t* loop, std::uint64_t ms, std::function<void()> fn,
               std::atomic<int>* destroyed = nullptr)
      : timer_(new Timer), destroyed_(destroyed) {
    timer_->fn = std::move(fn);
    timer_->handle.data = timer_;
    uv_timer_init(loop, &timer_->handle);
    uv_timer_start(
        &timer_->handle, [](uv_timer_t* h) { static_cast<Timer*>(h->data)->fn(); }, ms, 0);
  }
  ~TimerContext() override {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_->handle),
             [](uv_handle_t* h) { delete static_cast<Timer*>(h->data); });
    if (destroyed_) ++*destroyed_;
  }

 private:
  struct Timer {
    uv_timer_t handle{};
    std::function<void()> fn;
  };
  Timer* timer_;
  std::atomic<int>* destroyed_;
};

// Flips a counter on destruction.
class FlagContext : public RequestContext {
 public:
  explicit FlagContext(std::atomic<int>* destroyed) : destroyed_(destroyed) {}
  ~FlagContext() override { ++*destroyed_; }

 private:
  std::atomic<int>* destroyed_;
};

struct Response {
  int status = 0;
  std::string version;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  bool complete = false;  // the framing said the body ended (not cut by EOF)
  bool has(const std::string& name) const { return headers.count(name) != 0; }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class Client {
 public:
  explicit Client(int port, int rcvbuf = 0, int timeoutMs = 5000) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads one response. Returns status 0 if the connection ended (or timed
  // out) before a complete head.
  Response read(bool headRequest = false) {
    Response r;
    std::size_t headEnd;
    while ((headEnd = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return r;
    }
    std::string head = buf_.substr(0, headEnd);
    buf_.erase(0, headEnd + 4);
    std::size_t lineEnd = head.find("\r\n");
    std::string statusLine = head.substr(0, lineEnd);
    r.version = statusLine.substr(0, statusLine.find(' '));
    r.status = std::stoi(statusLine.substr(statusLine.find(' ') + 1, 3));
    std::size_t p = lineEnd == std::string::npos ? head.size() : lineEnd + 2;
    while (p < head.size()) {
      std::size_t e = head.find("\r\n", p);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(p, e - p);
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
      p = e + 2;
    }
    if (headRequest || r.status == 204 || r.status == 304) {
      r.complete = true;
      return r;
    }
    if (r.has("content-length")) {
      std::size_t len = std::stoull(r.header("content-length"));
      while (buf_.size() < len) {
        if (!fill()) break;
      }
      std::size_t take = std::min(len, buf_.size());
      r.body = buf_.substr(0, take);
      buf_.erase(0, take);
      r.complete = take == len;
    } else if (r.header("transfer-encoding") == "chunked") {
      for (;;) {
        std::size_t le;
        while ((le = buf_.find("\r\n")) == std::string::npos) {
          if (!fill()) return r;
        }
        std::size_t size = std::stoull(buf_.substr(0, le), nullptr, 16);
        buf_.erase(0, le + 2);
        while (buf_.size() < size + 2) {
          if (!fill()) return r;
        }
        if (buf_.compare(size, 2, "\r\n") != 0) return r;
        r.body += buf_.substr(0, size);
        buf_.erase(0, size + 2);
        if (size == 0) {
          r.complete = true;
          break;
        }
      }
    } else {  // close-delimited
      while (fill()) {
      }
      r.body = buf_;
      buf_.clear();
      r.complete = eof_;
    }
    return r;
  }

  // True if the server closed the connection (EOF or reset) with no further
  // bytes within the receive timeout.
  bool closedByPeer() {
    if (!buf_.empty()) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    if (n == 0) return true;
    if (n < 0 && (errno == ECONNRESET || errno == EPIPE)) return true;
    if (n > 0) buf_.push_back(c);
    return false;
  }

  // Everything until EOF / reset / timeout.
  std::string readAll() {
    while (fill()) {
    }
    std::string out;
    out.swap(buf_);
    return out;
  }

  bool eof() const { return eof_; }
  int fd() const { return fd_; }

 private:
  bool fill() {
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n > 0) {
      buf_.append(tmp, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0 || (n < 0 && errno == ECONNRESET)) eof_ = true;
    return false;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buf_;
};

inline std::string get(const std::string& target, const std::string& extra = "",
                       const std::string& method = "GET") {
  return method + " " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

// Polls `pred` for up to `ms`.
template <class Pred>
bool eventually(Pred pred, int ms = 5000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

}  // namespace hoard::http::test
