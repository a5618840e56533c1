#pragma once
// Test helpers: a libuv loop that runs until a condition holds, a spawned
// fixtures/upstream_server.py, and a callback set that records everything.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "upstream/http_client.h"

extern char** environ;

namespace hoard::test {

inline std::string fixtureDir() {
#ifdef HOARD_TEST_FIXTURES
  return HOARD_TEST_FIXTURES;
#else
  if (const char* env = std::getenv("HOARD_TEST_FIXTURES")) return env;
  return (std::filesystem::path(__FILE__).parent_path() / "fixtures").string();
#endif
}

class Loop {
 public:
  Loop() { uv_loop_init(&loop_); }
  ~Loop() {
    // Let pending closes finish; a leaked handle makes uv_loop_close fail.
    uv_run(&loop_, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop_) == 0);
  }
  uv_loop_t* get() { return &loop_; }

  // Runs the loop until pred() holds; false on timeout.
  bool runUntil(const std::function<bool()>& pred, int timeoutMs = 15000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    uv_timer_t guard;
    uv_timer_init(&loop_, &guard);
    uv_timer_start(
        &guard, [](uv_timer_t*) {}, 50, 50);  // wakes UV_RUN_ONCE regularly
    bool ok = true;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) {
        ok = false;
        break;
      }
      uv_run(&loop_, UV_RUN_ONCE);
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return ok;
  }

  // Runs for a while regardless (to observe that nothing else happens).
  void runFor(int ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    runUntil([&] { return std::chrono::steady_clock::now() > deadline; }, ms + 1000);
  }

 private:
  uv_loop_t loop_;
};

class FixtureServer {
 public:
  explicit FixtureServer(std::vector<std::string> args = {}) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    std::string script = fixtureDir() + "/upstream_server.py";
    std::vector<std::string> argv{"/usr/bin/python3", "-u", script};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    int rc = posix_spawn(&pid_, argv[0].c_str(), &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    REQUIRE(rc == 0);
    // Interpreter start-up can be slow on a loaded machine.
    std::string line;
    pollfd p{fds[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&p, 1, 30000) > 0) {
      char buf[64];
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    port_ = std::atoi(line.c_str());
    REQUIRE(port_ > 0);
  }
  ~FixtureServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int st = 0;
      waitpid(pid_, &st, 0);
    }
  }
  FixtureServer(const FixtureServer&) = delete;
  FixtureServer& operator=(const FixtureServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return "http://" + host + ":" + std::to_string(port_) + path;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// An HttpClient that is closed (and its handles freed) when the test ends,
// even when a REQUIRE bails out early.
struct TestClient {
  explicit TestClient(Loop& l, HttpClientOptions o = {}) : loop(l), http(l.get(), o) {}
  ~TestClient() {
    bool closed = false;
    http.close([&] { closed = true; });
    loop.runUntil([&] { return closed; });
  }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;
  Loop& loop;
  HttpClient http;
};

// Everything a transfer reported, in order.
struct Recorded {
  std::optional<HttpResponseHead> head;
  std::string body;
  std::optional<FetchResult> result;
  int heads = 0;
  int completes = 0;
  bool bodyBeforeHead = false;

  bool done() const { return completes > 0; }
};

inline HttpCallbacks record(Recorded& r) {
  HttpCallbacks cb;
  cb.onHead = [&r](const HttpResponseHead& h) {
    ++r.heads;
    r.head = h;
    return true;
  };
  cb.onBody = [&r](std::string_view chunk) {
    if (!r.head) r.bodyBeforeHead = true;
    r.body.append(chunk);
    return BodyAction::Continue;
  };
  cb.onComplete = [&r](const FetchResult& res) {
    ++r.completes;
    r.result = res;
  };
  return cb;
}

// Starts a request and runs the loop until it completes.
inline Recorded fetchNow(Loop& loop, HttpClient& client, HttpRequest req) {
  Recorded r;
  auto h = client.start(std::move(req), record(r));
  REQUIRE(loop.runUntil([&] { return r.done(); }));
  return r;
}

inline nlohmann::json fixtureJson(Loop& loop, HttpClient& client, const std::string& url) {
  HttpRequest req;
  req.url = url;
  auto r = fetchNow(loop, client, req);
  REQUIRE(r.result->error == FetchError::None);
  REQUIRE(r.head->status == 200);
  return nlohmann::json::parse(r.body);
}

// Requests the fixture saw for this path: [{method, port, headers{}}].
inline nlohmann::json seenRequests(Loop& loop, HttpClient& client, const FixtureServer& server,
                                   const std::string& path) {
  return fixtureJson(loop, client, server.url("/_log?path=" + path));
}

inline void closeClient(Loop& loop, HttpClient& client) {
  bool closed = false;
  client.close([&] { closed = true; });
  REQUIRE(loop.runUntil([&] { return closed; }));
}

inline bool matchesPattern(std::string_view body, std::size_t offset = 0) {
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (static_cast<unsigned char>(body[i]) != (offset + i) % 251) return false;
  }
  return true;
}

// A port nothing listens on: bound, then released.
inline int deadPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

}  // namespace hoard::test
