#include "daemon/http/server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>

#include "daemon/http/test_server.h"

using namespace hoard::http;
using hoard::http::test::Client;
using hoard::http::test::eventually;
using hoard::http::test::FlagContext;
using hoard::http::test::get;
using hoard::http::test::Response;
using hoard::http::test::TestServer;
using hoard::http::test::TimerContext;

namespace {

ServerLimits fastLimits() {
  ServerLimits l;
  l.headerTimeoutMs = 2000;
  l.idleTimeoutMs = 5000;
  l.writeStallTimeoutMs = 2000;
  l.shutdownGraceMs = 3000;
  l.lingerTimeoutMs = 500;
  return l;
}

void echoPath(Exchange& ex) {
  ex.respond(200, {{"Content-Type", "text/plain"}},
             "path=" + ex.request().path + " query=" + ex.request().query);
}

std::string randomBytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// A temp file with known contents, removed at scope exit.
struct TempFile {
  explicit TempFile(const std::string& contents) {
    char tmpl[] = "/tmp/hoard_http_test_XXXXXX";
    fd = ::mkstemp(tmpl);
    path = tmpl;
    REQUIRE(fd >= 0);
    std::size_t off = 0;
    while (off < contents.size()) {
      ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
      REQUIRE(n > 0);
      off += static_cast<std::size_t>(n);
    }
  }
  ~TempFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }
  int fd = -1;
  std::string path;
};

std::uint64_t queryNumber(const std::string& query, const std::string& key) {
  auto p = query.find(key + "=");
  if (p == std::string::npos) return 0;
  return std::strtoull(query.c_str() + p + key.size() + 1, nullptr, 10);
}

}  // namespace

TEST_CASE("keep-alive serves two requests on one connection") {
  std::vector<std::string> peers;
  std::mutex mu;
  TestServer srv(fastLimits(), [&](Exchange& ex) {
    {
      std::lock_guard<std::mutex> lock(mu);
      peers.push_back(ex.request().peer);
    }
    echoPath(ex);
  });
  Client c(srv.port());
  REQUIRE(c.connected());
  REQUIRE(c.send(get("/a?x=1")));
  Response r1 = c.read();
  REQUIRE(r1.status == 200);
  CHECK(r1.body == "path=/a query=x=1");
  CHECK(r1.header("connection") == "keep-alive");
  CHECK(r1.has("date"));
  CHECK(r1.header("content-type") == "text/plain");
  REQUIRE(c.send(get("/b")));
  Response r2 = c.read();
  REQUIRE(r2.status == 200);
  CHECK(r2.body == "path=/b query=");
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(peers.size() == 2);
  CHECK(peers[0] == peers[1]);
  CHECK(peers[0].rfind("127.0.0.1:", 0) == 0);
  CHECK(srv.connectionCount() == 1);
}

TEST_CASE("pipelined requests are answered in order") {
  TestServer srv(fastLimits(), [&](Exchange& ex) {
    // The first response is delayed: the second must still come after it.
    if (ex.request().path == "/slow") {
      Exchange* e = &ex;
      ex.setContext(std::make_unique<TimerContext>(srv.loop(), 100, [e] { echoPath(*e); }));
    } else {
      echoPath(ex);
    }
  });
  Client c(srv.port());
  REQUIRE(c.send(get("/slow") + get("/fast") + get("/third")));
  CHECK(c.read().body == "path=/slow query=");
  CHECK(c.read().body == "path=/fast query=");
  CHECK(c.read().body == "path=/third query=");
}

TEST_CASE("HEAD gets Content-Length but no body") {
  TestServer srv(fastLimits(), [](Exchange& ex) {
    ex.respond(200, {{"content-type", "application/octet-stream"}}, std::string(1234, 'x'));
  });
  Client c(srv.port());
  REQUIRE(c.send(get("/blob", "", "HEAD")));
  Response h = c.read(/*headRequest=*/true);
  REQUIRE(h.status == 200);
  CHECK(h.header("content-length") == "1234");
  // If the HEAD response had carried body bytes, this response would be garbage.
  REQUIRE(c.send(get("/blob")));
  Response g = c.read();
  REQUIRE(g.status == 200);
  CHECK(g.body == std::string(1234, 'x'));
}

TEST_CASE("HTTP/1.0 without and with keep-alive") {
  TestServer srv(fastLimits(), echoPath);
  {
    Client c(srv.port());
    REQUIRE(c.send("GET /old HTTP/1.0\r\n\r\n"));
    Response r = c.read();
    REQUIRE(r.status == 200);
    CHECK(r.body == "path=/old query=");
    CHECK(r.header("connection") == "close");
    CHECK(c.closedByPeer());
  }
  {
    Client c(srv.port());
    REQUIRE(c.send("GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    Response r = c.read();
    REQUIRE(r.status == 200);
    CHECK(r.header("connection") == "keep-alive");
    REQUIRE(c.send("GET /two HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    CHECK(c.read().body == "path=/two query=");
  }
}

TEST_CASE("HTTP/1.0 streamed body is close-delimited") {
  TestServer srv(fastLimits(), [](Exchange& ex) {
    ex.sendHead(200, {}, std::nullopt);
    ex.sendBody("hello ");
    ex.sendBody("world");
    ex.finish();
  });
  Client c(srv.port());
  REQUIRE(c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  Response r = c.read();
  REQUIRE(r.status == 200);
  CHECK_FALSE(r.has("transfer-encoding"));
  CHECK_FALSE(r.has("content-length"));
  CHECK(r.header("connection") == "close");
  CHECK(r.body == "hello world");
  CHECK(r.complete);
}

TEST_CASE("sendFile serves exact byte ranges of a multi-MB file") {
  const std::string contents = randomBytes(8 * 1024 * 1024 + 123, 7);
  TempFile file(contents);
  std::vector<ExchangeLog> logs;
  std::mutex mu;
  TestServer srv(
      fastLimits(),
      [&](Exchange& ex) {
        std::uint64_t off = queryNumber(ex.request().query, "off");
        std::uint64_t len = queryNumber(ex.request().query, "len");
        if (ex.request().path == "/chunked") {
          ex.sendHead(200, {}, std::nullopt);
          ex.sendBody("<");
          ex.sendFile(file.fd, off, len);
          ex.sendBody(">");
        } else {
          ex.sendHead(200, {}, len);
          ex.sendFile(file.fd, off, len);
        }
        ex.finish();
      },
      [&](Server& s) {
        s.setAccessLogger([&](const ExchangeLog& log) {
          std::lock_guard<std::mutex> lock(mu);
          logs.push_back(log);
        });
      });

  Client c(srv.port());
  struct Case {
    std::uint64_t off, len;
  };
  for (Case k : {Case{0, contents.size()}, Case{1, 1}, Case{4096 + 17, 5 * 1024 * 1024},
                 Case{contents.size() - 10, 10}}) {
    INFO("off " << k.off << " len " << k.len);
    REQUIRE(c.send(get("/f?off=" + std::to_string(k.off) + "&len=" + std::to_string(k.len))));
    Response r = c.read();
    REQUIRE(r.status == 200);
    REQUIRE(r.complete);
    REQUIRE(r.body.size() == k.len);
    CHECK(r.body == contents.substr(k.off, k.len));
  }
  REQUIRE(c.send(get("/chunked?off=100&len=3000000")));
  Response r = c.read();
  REQUIRE(r.header("transfer-encoding") == "chunked");
  REQUIRE(r.complete);
  CHECK(r.body == "<" + contents.substr(100, 3000000) + ">");

  REQUIRE(c.send(get("/f?off=0&len=1000", "", "HEAD")));
  Response h = c.read(true);
  CHECK(h.header("content-length") == "1000");
  REQUIRE(c.send(get("/f?off=5&len=5")));
  CHECK(c.read().body == contents.substr(5, 5));

  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return logs.size() == 7;
  }));
  std::lock_guard<std::mutex> lock(mu);
  CHECK(logs[0].bodyBytes == contents.size());
  CHECK(logs[0].status == 200);
  CHECK_FALSE(logs[0].aborted);
  CHECK(logs[4].bodyBytes == 3000002);
  CHECK(logs[5].bodyBytes == 0);  // HEAD
}

TEST_CASE("a file shorter than the promised range aborts the response") {
  TempFile file("only twenty bytes!!!");
  TestServer srv(fastLimits(), [&](Exchange& ex) {
    ex.sendHead(200, {}, 100);
    ex.sendFile(file.fd, 0, 100);
    ex.finish();
  });
  Client c(srv.port());
  REQUIRE(c.send(get("/")));
  Response r = c.read();
  REQUIRE(r.status == 200);
  CHECK_FALSE(r.complete);
  CHECK(r.body == "only twenty bytes!!!");
}

TEST_CASE("chunked body via sendHead(nullopt) + sendBody + finish") {
  const std::string big = randomBytes(300 * 1024, 3);
  TestServer srv(fastLimits(), [&](Exchange& ex) {
    ex.sendHead(200, {{"content-type", "text/plain"}}, std::nullopt);
    ex.sendBody("abc");
    ex.sendBody("");  // must not terminate the chunked body early
    ex.sendBody(big);
    ex.finish();
  });
  Client c(srv.port());
  REQUIRE(c.send(get("/")));
  Response r = c.read();
  REQUIRE(r.status == 200);
  CHECK(r.header("transfer-encoding") == "chunked");
  CHECK_FALSE(r.has("content-length"));
  REQUIRE(r.complete);
  CHECK(r.body == "abc" + big);
  // Still usable afterwards.
  REQUIRE(c.send(get("/")));
  CHECK(c.read().complete);
}

TEST_CASE("streamed body driven by onDrained backpressure") {
  constexpr std::uint64_t kTotal = 24 * 1024 * 1024;
  constexpr std::size_t kPiece = 256 * 1024;
  std::atomic<std::uint64_t> maxQueued{0};
  std::atomic<int> drainedCalls{0};
  struct Producer : RequestContext {
    std::uint64_t sent = 0;
  };
  TestServer srv(fastLimits(), [&](Exchange& ex) {
    auto producer = std::make_unique<Producer>();
    Producer* p = producer.get();
    ex.setContext(std::move(producer));
    Exchange* e = &ex;
    auto pump = [e, p, &maxQueued, &drainedCalls] {
      ++drainedCalls;
      while (p->sent < kTotal && e->queuedBytes() < 2 * 1024 * 1024) {
        std::string piece(kPiece, static_cast<char>('a' + (p->sent / kPiece) % 26));
        p->sent += kPiece;
        e->sendBody(std::move(piece));
        maxQueued = std::max<std::uint64_t>(maxQueued, e->queuedBytes());
      }
      if (p->sent == kTotal) e->finish();
    };
    ex.sendHead(200, {}, kTotal);
    ex.setOnDrained(pump);
    pump();
  });
  Client c(srv.port(), 64 * 1024);
  REQUIRE(c.send(get("/")));
  Response r = c.read();
  REQUIRE(r.complete);
  REQUIRE(r.body.size() == kTotal);
  for (std::uint64_t i = 0; i < kTotal; i += kPiece) {
    REQUIRE(r.body[i] == static_cast<char>('a' + (i / kPiece) % 26));
  }
  CHECK(drainedCalls > 2);
  CHECK(maxQueued < 4 * 1024 * 1024);
}

TEST_CASE("onDrained fires when a queue of file ranges alone drains") {
  // A handler that queued only sendFile ranges and waits in onDrained for
  // more (the ENOSPC pass-through reader) must be woken when they are sent.
  const std::string contents = randomBytes(3 * 1024 * 1024, 11);
  TempFile file(contents);
  std::atomic<int> drainedCalls{0};
  TestServer srv(fastLimits(), [&](Exchange& ex) {
    ex.sendHead(200, {}, contents.size() + 5);
    ex.sendFile(file.fd, 0, contents.size());
    Exchange* e = &ex;
    ex.setOnDrained([e, &drainedCalls, done = false]() mutable {
      ++drainedCalls;
      if (done || e->queuedBytes() > 0) return;
      done = true;
      e->sendBody("tail!");
      e->finish();
    });
  });
  Client c(srv.port(), 64 * 1024);  // a slow-ish reader, so the file goes out in several jobs
  REQUIRE(c.send(get("/")));
  Response r = c.read();
  REQUIRE(r.complete);
  REQUIRE(r.body.size() == contents.size() + 5);
  CHECK(r.body.substr(contents.size()) == "tail!");
  CHECK(r.body.compare(0, contents.size(), contents) == 0);
  CHECK(drainedCalls > 0);
}

TEST_CASE("abort mid-body: the client sees EOF before Content-Length is satisfied") {
  std::atomic<int> destroyed{0};
  std::vector<ExchangeLog> logs;
  std::mutex mu;
  TestServer srv(
      fastLimits(),
      [&](Exchange& ex) {
        ex.sendHead(200, {}, 1000000);
        ex.sendBody(std::string(1000, 'x'));
        Exchange* e = &ex;
        ex.setContext(std::make_unique<TimerContext>(
            srv.loop(), 50, [e] { e->abort(); }, &destroyed));
      },
      [&](Server& s) {
        s.setAccessLogger([&](const ExchangeLog& log) {
          std::lock_guard<std::mutex> lock(mu);
          logs.push_back(log);
        });
      });
  Client c(srv.port());
  REQUIRE(c.send(get("/")));
  Response r = c.read();
  REQUIRE(r.status == 200);
  CHECK_FALSE(r.complete);
  CHECK(r.body == std::string(1000, 'x'));
  CHECK(c.eof());
  REQUIRE(eventually([&] { return destroyed == 1; }));
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return logs.size() == 1;
  }));
  std::lock_guard<std::mutex> lock(mu);
  CHECK(logs[0].aborted);
  CHECK(logs[0].bodyBytes == 1000);
}

TEST_CASE("abort of a chunked response leaves the terminator out") {
  TestServer srv(fastLimits(), [&](Exchange& ex) {
    ex.sendHead(200, {}, std::nullopt);
    ex.sendBody("partial");
    Exchange* e = &ex;
    ex.setContext(std::make_unique<TimerContext>(srv.loop(), 30, [e] { e->abort(); }));
  });
  Client c(srv.port());
  REQUIRE(c.send(get("/")));
  Response r = c.read();
  REQUIRE(r.status == 200);
  CHECK_FALSE(r.complete);
  CHECK(r.body == "partial");
}

TEST_CASE("protocol errors get JSON answers and close the connection") {
  std::atomic<int> handled{0};
  ServerLimits limits = fastLimits();
  TestServer srv(
      limits,
      [&](Exchange& ex) {
        ++handled;
        echoPath(ex);
      },
      [](Server& s) {
        s.setErrorFormatter([](int status, std::string_view msg, std::string_view) {
          return "{\"errors\":[{\"code\":\"E" + std::to_string(status) + "\",\"message\":\"" +
                 std::string(msg) + "\"}]}";
        });
      });

  auto expectError = [&](const std::string& request, int status) {
    Client c(srv.port());
    REQUIRE(c.send(request));
    Response r = c.read();
    INFO(request.substr(0, 80));
    REQUIRE(r.status == status);
    CHECK(r.header("connection") == "close");
    CHECK(r.header("content-type") == "application/json");
    CHECK(r.body.rfind("{\"errors\":[{\"code\":\"E" + std::to_string(status), 0) == 0);
    CHECK(c.closedByPeer());
    return r;
  };

  SECTION("431 for an oversized header") {
    expectError(get("/", "X-Big: " + std::string(20 * 1024, 'a') + "\r\n"), 431);
  }
  SECTION("431 for too many headers") {
    std::string many;
    for (int i = 0; i < 150; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    expectError(get("/", many), 431);
  }
  SECTION("100 headers are fine") {
    std::string many;
    for (int i = 0; i < 99; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    Client c(srv.port());
    REQUIRE(c.send(get("/", many)));  // + Host = 100
    CHECK(c.read().status == 200);
  }
  SECTION("414 for a long URL") {
    expectError(get("/" + std::string(10 * 1024, 'u')), 414);
  }
  SECTION("400 for Content-Length with Transfer-Encoding") {
    expectError(get("/", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n", 400);
  }
  SECTION("400 for a GET body") {
    expectError(get("/", "Content-Length: 3\r\n") + "abc", 400);
  }
  SECTION("Content-Length: 0 on GET is fine") {
    Client c(srv.port());
    REQUIRE(c.send(get("/zero", "Content-Length: 0\r\n")));
    CHECK(c.read().status == 200);
  }
  SECTION("405 for POST, with Allow") {
    Response r =
        expectError("POST /v2/x HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody", 405);
    CHECK(r.header("allow") == "GET, HEAD");
  }
  SECTION("400 for a missing Host on HTTP/1.1") {
    expectError("GET / HTTP/1.1\r\n\r\n", 400);
  }
  SECTION("505 for HTTP/2.0 request line") {
    expectError("GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505);
  }
  SECTION("malformed request line -> 400, next connection still served") {
    expectError("GARBAGE\r\n\r\n", 400);
    expectError("GET /\x01 HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    Client c(srv.port());
    REQUIRE(c.send(get("/after")));
    CHECK(c.read().body == "path=/after query=");
  }
  SECTION("malformed second request on a keep-alive connection") {
    Client c(srv.port());
    REQUIRE(c.send(get("/ok") + "BAD LINE\r\n\r\n"));
    CHECK(c.read().status == 200);
    Response r = c.read();
    CHECK(r.status == 400);
    CHECK(c.closedByPeer());
  }
  CHECK(handled <= 2);
}

TEST_CASE("default error body is plain JSON") {
  TestServer srv(fastLimits(), echoPath);
  Client c(srv.port());
  REQUIRE(c.send("DELETE / HTTP/1.1\r\nHost: t\r\n\r\n"));
  Response r = c.read();
  REQUIRE(r.status == 405);
  CHECK(r.body == "{\"error\":\"method not allowed\"}");
}

TEST_CASE("slowloris: header timeout answers 408 and closes") {
  ServerLimits limits = fastLimits();
  limits.headerTimeoutMs = 200;
  std::atomic<int> handled{0};
  TestServer srv(limits, [&](Exchange& ex) {
    ++handled;
    echoPath(ex);
  });
  Client c(srv.port());
  auto start = std::chrono::steady_clock::now();
  REQUIRE(c.send("GET / HTTP/1.1\r\nHost: t\r\n"));
  // Trickling bytes must not extend the deadline.
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    c.send("X-Slow: 1\r\n");
  }
  Response r = c.read();
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.status == 408);
  CHECK(c.closedByPeer());
  CHECK(elapsed < std::chrono::milliseconds(1500));
  CHECK(handled == 0);
}

TEST_CASE("idle keep-alive connections are closed silently") {
  ServerLimits limits = fastLimits();
  limits.idleTimeoutMs = 150;
  TestServer srv(limits, echoPath);
  Client c(srv.port());
  REQUIRE(c.send(get("/")));
  REQUIRE(c.read().status == 200);
  auto start = std::chrono::steady_clock::now();
  CHECK(c.closedByPeer());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));
  REQUIRE(eventually([&] { return srv.connectionCount() == 0; }));
}

TEST_CASE("connection cap rejects the surplus connection") {
  ServerLimits limits = fastLimits();
  limits.maxConnections = 2;
  TestServer srv(limits, echoPath);
  Client a(srv.port());
  Client b(srv.port());
  REQUIRE(a.send(get("/a")));
  REQUIRE(b.send(get("/b")));
  REQUIRE(a.read().status == 200);
  REQUIRE(b.read().status == 200);
  REQUIRE(srv.connectionCount() == 2);

  Client over(srv.port());
  over.send(get("/over"));
  Response r = over.read();
  CHECK(r.status != 200);  // 503 or just closed
  if (r.status != 0) CHECK(r.status == 503);
  CHECK(srv.connectionCount() == 2);

  a.close();
  REQUIRE(eventually([&] { return srv.connectionCount() == 1; }));
  Client d(srv.port());
  REQUIRE(d.send(get("/d")));
  CHECK(d.read().body == "path=/d query=");
}

TEST_CASE("graceful shutdown finishes an in-flight slow response") {
  std::atomic<int> destroyed{0};
  TestServer srv(fastLimits(), [&](Exchange& ex) {
    if (ex.request().path != "/slow") return echoPath(ex);
    ex.sendHead(200, {}, 10);
    ex.sendBody("01234");
    Exchange* e = &ex;
    ex.setContext(std::make_unique<TimerContext>(
        srv.loop(), 300,
        [e] {
          e->sendBody("56789");
          e->finish();
        },
        &destroyed));
  });
  Client idle(srv.port());
  REQUIRE(idle.send(get("/warm")));
  REQUIRE(idle.read().status == 200);
  Client slow(srv.port());
  REQUIRE(slow.send(get("/slow")));
  REQUIRE(eventually([&] { return srv.connectionCount() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the head is out

  srv.startShutdown();
  CHECK(idle.closedByPeer());  // idle keep-alive connection closed right away
  Response r = slow.read();
  REQUIRE(r.status == 200);
  CHECK(r.complete);
  CHECK(r.body == "0123456789");
  CHECK(slow.closedByPeer());
  REQUIRE(eventually([&] { return srv.shutdownDone(); }));
  CHECK(destroyed == 1);
  Client late(srv.port());
  CHECK_FALSE(late.connected());
}

TEST_CASE("shutdown force-closes exchanges that outlive the grace period") {
  ServerLimits limits = fastLimits();
  limits.shutdownGraceMs = 200;
  std::atomic<int> destroyed{0};
  TestServer srv(limits, [&](Exchange& ex) {
    ex.setContext(std::make_unique<FlagContext>(&destroyed));  // never answers
  });
  Client c(srv.port());
  REQUIRE(c.send(get("/hang")));
  REQUIRE(eventually([&] { return srv.connectionCount() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto start = std::chrono::steady_clock::now();
  srv.startShutdown();
  REQUIRE(eventually([&] { return srv.shutdownDone(); }));
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed >= std::chrono::milliseconds(150));
  CHECK(elapsed < std::chrono::milliseconds(2000));
  CHECK(destroyed == 1);
  CHECK(c.closedByPeer());
}

TEST_CASE("a client going away destroys the context and marks the exchange closed") {
  std::atomic<int> destroyed{0};
  std::atomic<bool> closedAtDestruction{false};
  std::vector<ExchangeLog> logs;
  std::mutex mu;
  struct Ctx : RequestContext {
    Exchange* e = nullptr;
    std::atomic<int>* destroyed = nullptr;
    std::atomic<bool>* closed = nullptr;
    ~Ctx() override {
      *closed = e->closed();  // the exchange is still valid while its context dies
      ++*destroyed;
    }
  };
  TestServer srv(
      fastLimits(),
      [&](Exchange& ex) {
        ex.setLogField("cache", "miss");
        auto ctx = std::make_unique<Ctx>();
        ctx->e = &ex;
        ctx->destroyed = &destroyed;
        ctx->closed = &closedAtDestruction;
        ex.setContext(std::move(ctx));  // never answers
      },
      [&](Server& s) {
        s.setAccessLogger([&](const ExchangeLog& log) {
          std::lock_guard<std::mutex> lock(mu);
          logs.push_back(log);
        });
      });
  {
    Client c(srv.port());
    REQUIRE(c.send(get("/wait")));
    REQUIRE(eventually([&] { return srv.connectionCount() == 1; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  REQUIRE(eventually([&] { return destroyed == 1; }));
  CHECK(closedAtDestruction);
  REQUIRE(eventually([&] { return srv.connectionCount() == 0; }));
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(logs.size() == 1);
  CHECK(logs[0].aborted);
  CHECK(logs[0].status == 0);
  CHECK(logs[0].method == "GET");
  CHECK(logs[0].target == "/wait");
  REQUIRE(logs[0].fields.size() == 1);
  CHECK(logs[0].fields[0].first == "cache");
  CHECK(logs[0].fields[0].second == "miss");
}

TEST_CASE("a stalled reader is cut off after the write stall timeout") {
  const std::string contents = randomBytes(8 * 1024 * 1024, 11);
  TempFile file(contents);
  ServerLimits limits = fastLimits();
  limits.writeStallTimeoutMs = 200;
  std::vector<ExchangeLog> logs;
  std::mutex mu;
  TestServer srv(
      limits,
      [&](Exchange& ex) {
        ex.sendHead(200, {}, 4 * contents.size());
        for (int i = 0; i < 4; ++i) ex.sendFile(file.fd, 0, contents.size());
        ex.finish();
      },
      [&](Server& s) {
        s.setAccessLogger([&](const ExchangeLog& log) {
          std::lock_guard<std::mutex> lock(mu);
          logs.push_back(log);
        });
      });
  Client c(srv.port(), 16 * 1024);
  REQUIRE(c.send(get("/")));
  // Never read: the server must give up on its own.
  auto start = std::chrono::steady_clock::now();
  REQUIRE(eventually(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return logs.size() == 1;
      },
      10000));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3000));
  REQUIRE(eventually([&] { return srv.connectionCount() == 0; }));
  CHECK(c.readAll().size() < 4 * contents.size());
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(logs.size() == 1);
  CHECK(logs[0].aborted);
  CHECK(logs[0].bodyBytes < 4 * contents.size());
}

TEST_CASE("the context is destroyed after a normal response, before the next request") {
  std::atomic<int> destroyed{0};
  std::atomic<int> destroyedSeenBySecond{-1};
  TestServer srv(fastLimits(), [&](Exchange& ex) {
    if (ex.request().path == "/second") destroyedSeenBySecond = destroyed.load();
    ex.setContext(std::make_unique<FlagContext>(&destroyed));
    echoPath(ex);
  });
  Client c(srv.port());
  REQUIRE(c.send(get("/first") + get("/second")));
  CHECK(c.read().status == 200);
  CHECK(c.read().status == 200);
  REQUIRE(eventually([&] { return destroyed == 2; }));
  CHECK(destroyedSeenBySecond == 1);
}

TEST_CASE("response framing headers from the handler are replaced") {
  TestServer srv(fastLimits(), [](Exchange& ex) {
    ex.respond(200,
               {{"Content-Length", "999"},
                {"Connection", "close"},
                {"X-Bad", "a\r\nInjected: yes"},
                {"X-Good", "1"}},
               "abc");
  });
  Client c(srv.port());
  REQUIRE(c.send(get("/")));
  Response r = c.read();
  CHECK(r.header("content-length") == "3");
  CHECK(r.header("connection") == "keep-alive");
  CHECK_FALSE(r.has("injected"));
  CHECK_FALSE(r.has("x-bad"));
  CHECK(r.header("x-good") == "1");
  CHECK(r.body == "abc");
}

TEST_CASE("Upgrade requests (curl --http2 on http://) are served as plain HTTP/1.1") {
  TestServer srv(fastLimits(), echoPath);
  Client c(srv.port());
  const std::string upgrade =
      "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: "
      "AAMAAABkAAQAoAAAAAIAAAAA\r\n";
  REQUIRE(c.send(get("/one", upgrade)));
  Response r1 = c.read();
  REQUIRE(r1.status == 200);
  CHECK(r1.body == "path=/one query=");
  REQUIRE(c.send(get("/two", upgrade) + get("/three")));
  Response r2 = c.read();
  Response r3 = c.read();
  CHECK(r1.header("connection") == "keep-alive");
  CHECK(r2.body == "path=/two query=");
  CHECK(r3.body == "path=/three query=");
}

// ---- request bodies (only where the BodyPolicy admits them) ----------------

namespace {

// Admits POST /upload; the handler answers with what it was given, so a body
// delivered in pieces (or before it was complete) shows.
struct BodyServer {
  explicit BodyServer(ServerLimits limits = fastLimits())
      : srv(
            limits,
            [this](Exchange& ex) {
              ++handled;
              std::string answer = ex.request().method + " " + ex.request().path + " " +
                                   std::to_string(ex.request().body.size()) + ":";
              answer += ex.takeRequestBody();
              ex.respond(200, {{"Content-Type", "text/plain"}}, std::move(answer));
            },
            [](Server& s) {
              s.setBodyPolicy(
                  [](const Request& r) { return r.method == "POST" && r.path == "/upload"; });
            }) {}
  std::atomic<int> handled{0};
  TestServer srv;
};

std::string post(const std::string& target, const std::string& body,
                 const std::string& extra = "") {
  return "POST " + target +
         " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra +
         "\r\n" + body;
}

}  // namespace

TEST_CASE("an admitted POST body is delivered whole: Content-Length, in pieces") {
  BodyServer b;
  Client c(b.srv.port());
  // Larger than the read buffer, sent in slices with pauses: the handler
  // must run once, with all of it.
  const std::string body = randomBytes(200 * 1024 + 7, 3);
  const std::string req = post("/upload", body);
  for (std::size_t off = 0; off < req.size(); off += 50 * 1024) {
    REQUIRE(c.send(req.substr(off, 50 * 1024)));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Response r = c.read();
  REQUIRE(r.status == 200);
  CHECK(r.body == "POST /upload " + std::to_string(body.size()) + ":" + body);
  CHECK(b.handled == 1);
}

TEST_CASE("an admitted POST body is delivered whole: chunked") {
  BodyServer b;
  Client c(b.srv.port());
  REQUIRE(c.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(b.handled == 0);  // not before the message is complete
  REQUIRE(c.send("lo\r\n6\r\n world\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(b.handled == 0);
  REQUIRE(c.send("0\r\n\r\n"));
  Response r = c.read();
  REQUIRE(r.status == 200);
  CHECK(r.body == "POST /upload 11:hello world");
  CHECK(r.header("connection") == "keep-alive");
}

TEST_CASE("keep-alive and pipelining go on after a POST with a body") {
  BodyServer b;
  Client c(b.srv.port());
  REQUIRE(c.send(post("/upload", "first") + get("/after") + post("/upload", "")));
  Response r1 = c.read();
  Response r2 = c.read();
  Response r3 = c.read();
  CHECK(r1.body == "POST /upload 5:first");
  CHECK(r1.header("connection") == "keep-alive");
  CHECK(r2.body == "GET /after 0:");  // the previous body is not carried over
  CHECK(r3.body == "POST /upload 0:");
  REQUIRE(c.send(post("/upload", "again")));
  CHECK(c.read().body == "POST /upload 5:again");
  CHECK(b.srv.connectionCount() == 1);
}

TEST_CASE("a request body over the cap gets 413 and the connection closes") {
  ServerLimits limits = fastLimits();
  limits.maxRequestBodyBytes = 1000;
  BodyServer b(limits);
  SECTION("declared by Content-Length") {
    Client c(b.srv.port());
    REQUIRE(c.send(post("/upload", std::string(1001, 'x'))));
    Response r = c.read();
    CHECK(r.status == 413);
    CHECK(r.header("connection") == "close");
    CHECK(c.closedByPeer());
  }
  SECTION("chunked, found out while reading") {
    Client c(b.srv.port());
    std::string chunk = "258\r\n" + std::string(600, 'y') + "\r\n";  // 0x258 = 600
    REQUIRE(c.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
                   chunk + chunk));
    Response r = c.read();
    CHECK(r.status == 413);
    CHECK(c.closedByPeer());
  }
  SECTION("exactly at the cap is fine") {
    Client c(b.srv.port());
    REQUIRE(c.send(post("/upload", std::string(1000, 'z'))));
    Response r = c.read();
    CHECK(r.status == 200);
    CHECK(r.body == "POST /upload 1000:" + std::string(1000, 'z'));
  }
  CHECK(b.handled <= 1);
}

TEST_CASE("bodies stay refused where the BodyPolicy does not admit them") {
  BodyServer b;
  {
    Client c(b.srv.port());
    REQUIRE(c.send(post("/elsewhere", "body")));
    Response r = c.read();
    CHECK(r.status == 405);
    CHECK(r.header("allow") == "GET, HEAD");
    CHECK(c.closedByPeer());
  }
  {
    Client c(b.srv.port());
    REQUIRE(c.send("PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"));
    CHECK(c.read().status == 405);
  }
  {
    Client c(b.srv.port());
    REQUIRE(c.send(get("/upload", "Content-Length: 3\r\n") + "abc"));
    CHECK(c.read().status == 400);
  }
  CHECK(b.handled == 0);
}

TEST_CASE("a request body that does not arrive in time gets 408") {
  ServerLimits limits = fastLimits();
  limits.bodyTimeoutMs = 200;
  BodyServer b(limits);
  Client c(b.srv.port());
  auto start = std::chrono::steady_clock::now();
  REQUIRE(c.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc"));
  // Trickling bytes must not extend the deadline.
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    c.send("d");
  }
  Response r = c.read();
  CHECK(r.status == 408);
  CHECK(c.closedByPeer());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));
  CHECK(b.handled == 0);
}

TEST_CASE("Expect: 100-continue on an admitted request gets the interim response") {
  BodyServer b;
  Client c(b.srv.port());
  REQUIRE(c.send(
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  std::string got;
  while (got.size() < interim.size()) {
    char buf[64];
    ssize_t n = ::recv(c.fd(), buf, interim.size() - got.size(), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  REQUIRE(got == interim);
  REQUIRE(c.send("data"));
  Response r = c.read();
  CHECK(r.status == 200);
  CHECK(r.body == "POST /upload 4:data");
}
