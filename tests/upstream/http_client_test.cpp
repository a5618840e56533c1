#include "upstream/http_client.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <set>

#include "upstream/upstream_fixture.h"

using namespace hoard;
using namespace hoard::test;

namespace {

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("HttpClient GET delivers head then the whole body, never synchronously") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  Recorded r;
  HttpRequest req;
  req.url = server.url("/bytes?n=100000");
  auto h = c.http.start(req, record(r));
  CHECK(r.completes == 0);  // not from inside start()
  CHECK(c.http.activeTransfers() == 1);
  REQUIRE(loop.runUntil([&] { return r.done(); }));
  CHECK(r.result->error == FetchError::None);
  CHECK(r.heads == 1);
  CHECK_FALSE(r.bodyBeforeHead);
  CHECK(r.head->status == 200);
  CHECK(r.head->contentLength == 100000u);
  CHECK(r.head->header("content-type") == "application/octet-stream");
  CHECK(r.head->effectiveUrl == req.url);
  CHECK(r.body.size() == 100000);
  CHECK(matchesPattern(r.body));
  CHECK(c.http.activeTransfers() == 0);
}

TEST_CASE("HttpClient HEAD reports the length without a body") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  HttpRequest req;
  req.method = "HEAD";
  req.url = server.url("/bytes?n=5000");
  auto r = fetchNow(loop, c.http, req);
  CHECK(r.result->error == FetchError::None);
  REQUIRE(r.heads == 1);
  CHECK(r.head->status == 200);
  CHECK(r.head->contentLength == 5000u);
  CHECK(r.body.empty());
  auto seen = seenRequests(loop, c.http, server, "/bytes");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0]["method"] == "HEAD");
}

TEST_CASE("HttpClient passes a 404 through as a response, not an error") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  HttpRequest req;
  req.url = server.url("/status?code=404");
  auto r = fetchNow(loop, c.http, req);
  CHECK(r.result->error == FetchError::None);
  CHECK(r.head->status == 404);
  CHECK(r.body == "status 404\n");
}

TEST_CASE("HttpClient sends request headers and lowercases response header names") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  HttpRequest req;
  req.url = server.url("/status?code=200");
  req.headers.push_back({"Accept", "application/vnd.oci.image.index.v1+json"});
  auto r = fetchNow(loop, c.http, req);
  REQUIRE(r.head);
  for (const auto& hd : r.head->headers) {
    for (char ch : hd.name) CHECK_FALSE((ch >= 'A' && ch <= 'Z'));
  }
  CHECK(r.head->header("content-length") == "11");
  auto seen = seenRequests(loop, c.http, server, "/status");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0]["headers"]["accept"] == "application/vnd.oci.image.index.v1+json");
}

TEST_CASE("HttpClient redirects: same host keeps Authorization, another host never gets it") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);

  // Control: a same-host redirect keeps the header, so the check below can fail.
  HttpRequest same;
  same.url = server.url("/redirect?to=" + server.url("/same-target"));
  same.followRedirects = true;
  same.headers.push_back({"Authorization", "Bearer secret-token"});
  auto r1 = fetchNow(loop, c.http, same);
  CHECK(r1.result->error == FetchError::None);
  CHECK(r1.head->status == 404);  // the fixture's answer for an unknown path
  auto seenSame = seenRequests(loop, c.http, server, "/same-target");
  REQUIRE(seenSame.size() == 1);
  CHECK(seenSame[0]["headers"]["authorization"] == "Bearer secret-token");

  // 127.0.0.1 -> localhost: a different host as far as credentials go.
  HttpRequest cross;
  cross.url = server.url("/redirect?to=" + server.url("/bytes?n=3000", "localhost"));
  cross.followRedirects = true;
  cross.headers.push_back({"Authorization", "Bearer secret-token"});
  cross.headers.push_back({"Accept", "x/y"});
  auto r2 = fetchNow(loop, c.http, cross);
  CHECK(r2.result->error == FetchError::None);
  REQUIRE(r2.heads == 1);
  // The head is the final response's: no trace of the 307.
  CHECK(r2.head->status == 200);
  CHECK(r2.head->header("location").empty());
  CHECK(r2.head->contentLength == 3000u);
  CHECK(r2.head->effectiveUrl == server.url("/bytes?n=3000", "localhost"));
  CHECK(r2.body.size() == 3000);
  CHECK(matchesPattern(r2.body));

  auto first = seenRequests(loop, c.http, server, "/redirect");
  REQUIRE(first.size() == 2);
  CHECK(first[1]["headers"]["authorization"] == "Bearer secret-token");
  auto target = seenRequests(loop, c.http, server, "/bytes");
  REQUIRE(target.size() == 1);
  CHECK(target[0]["headers"]["host"] == "localhost:" + std::to_string(server.port()));
  CHECK_FALSE(target[0]["headers"].contains("authorization"));
  CHECK(target[0]["headers"]["accept"] == "x/y");  // other headers do follow
}

TEST_CASE("HttpClient does not follow redirects unless asked, and caps them") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  HttpRequest req;
  req.url = server.url("/redirect?to=" + server.url("/bytes?n=10"));
  auto r = fetchNow(loop, c.http, req);
  CHECK(r.result->error == FetchError::None);
  CHECK(r.head->status == 307);
  CHECK(r.head->header("location") == server.url("/bytes?n=10"));

  // A chain longer than allowed (relative Locations, each one level shorter).
  HttpRequest self;
  self.url = server.url("/redirect?to=/redirect?to=/redirect?to=/redirect?to=/redirect?to=/x");
  self.followRedirects = true;
  self.maxRedirects = 2;
  auto r2 = fetchNow(loop, c.http, self);
  CHECK(r2.result->error == FetchError::TooManyRedirects);
  CHECK(r2.heads == 0);
}

TEST_CASE("HttpClient pause/resume delivers a multi-MB body exactly once") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  constexpr std::size_t kSize = 8 * 1024 * 1024;
  HttpRequest req;
  req.url = server.url("/bytes?n=" + std::to_string(kSize));

  std::string body;
  int calls = 0;
  int pauses = 0;
  std::string lastRefused;
  bool redeliveredSame = true;
  std::optional<FetchResult> result;
  HttpClient::Handle h;
  uv_timer_t resumeTimer;
  uv_timer_init(loop.get(), &resumeTimer);
  resumeTimer.data = &h;

  HttpCallbacks cb;
  cb.onBody = [&](std::string_view chunk) {
    ++calls;
    if (!lastRefused.empty()) {
      // The refused chunk must come back first (possibly split differently).
      if (chunk.substr(0, std::min(chunk.size(), lastRefused.size())) !=
          std::string_view(lastRefused).substr(0, std::min(chunk.size(), lastRefused.size()))) {
        redeliveredSame = false;
      }
      lastRefused.clear();
    } else if (calls % 3 == 0) {
      ++pauses;
      lastRefused = std::string(chunk);
      // Resume from outside the callback a little later, as a disk write would.
      uv_timer_start(
          &resumeTimer, [](uv_timer_t* t) { static_cast<HttpClient::Handle*>(t->data)->resume(); },
          2, 0);
      return BodyAction::Pause;
    }
    body.append(chunk);
    return BodyAction::Continue;
  };
  cb.onComplete = [&](const FetchResult& r) { result = r; };
  h = c.http.start(req, cb);
  REQUIRE(loop.runUntil([&] { return result.has_value(); }, 60000));
  uv_close(reinterpret_cast<uv_handle_t*>(&resumeTimer), nullptr);
  CHECK(result->error == FetchError::None);
  CHECK(pauses > 5);
  CHECK(redeliveredSame);
  CHECK(body.size() == kSize);
  CHECK(matchesPattern(body));
}

TEST_CASE("HttpClient resume() called inside onBody does not re-enter onBody") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  HttpRequest req;
  req.url = server.url("/bytes?n=2000000");
  std::string body;
  int depth = 0;
  bool reentered = false;
  bool pausedOnce = false;
  std::optional<FetchResult> result;
  HttpClient::Handle h;
  HttpCallbacks cb;
  cb.onBody = [&](std::string_view chunk) {
    if (++depth > 1) reentered = true;
    BodyAction a = BodyAction::Continue;
    if (!pausedOnce) {
      pausedOnce = true;
      h.resume();  // before the Pause is even returned
      a = BodyAction::Pause;
    } else {
      body.append(chunk);
    }
    --depth;
    return a;
  };
  cb.onComplete = [&](const FetchResult& r) { result = r; };
  h = c.http.start(req, cb);
  REQUIRE(loop.runUntil([&] { return result.has_value(); }, 30000));
  CHECK_FALSE(reentered);
  CHECK(result->error == FetchError::None);
  CHECK(body.size() == 2000000);
  CHECK(matchesPattern(body));
}

TEST_CASE("HttpClient cancel from inside onBody is safe and silent") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  HttpRequest req;
  req.url = server.url("/bytes?n=4000000");

  SECTION("cancel()") {
    int chunks = 0;
    int completes = 0;
    HttpClient::Handle h;
    HttpCallbacks cb;
    cb.onBody = [&](std::string_view) {
      ++chunks;
      h.cancel();
      h.cancel();  // idempotent
      return BodyAction::Continue;
    };
    cb.onComplete = [&](const FetchResult&) { ++completes; };
    h = c.http.start(req, cb);
    REQUIRE(loop.runUntil([&] { return chunks > 0; }));
    loop.runFor(300);
    CHECK(chunks == 1);
    CHECK(completes == 0);
    CHECK_FALSE(h.active());
  }
  SECTION("destroying the handle, which owns state the callback uses") {
    struct Owner {
      std::optional<HttpClient::Handle> h;
      std::unique_ptr<std::string> scratch = std::make_unique<std::string>();
    };
    auto owner = std::make_unique<Owner>();
    int chunks = 0;
    int completes = 0;
    HttpCallbacks cb;
    // The callback's captures stay valid while it runs even though the
    // handle is gone: the transfer is freed only after the stack unwinds.
    auto state = std::make_shared<int>(0);
    cb.onBody = [&, state](std::string_view chunk) {
      ++chunks;
      owner->scratch->append(chunk);
      owner->h.reset();
      ++*state;  // capture still alive
      return BodyAction::Continue;
    };
    cb.onComplete = [&](const FetchResult&) { ++completes; };
    owner->h = c.http.start(req, cb);
    REQUIRE(loop.runUntil([&] { return chunks > 0; }));
    loop.runFor(300);
    CHECK(chunks == 1);
    CHECK(*state == 1);
    CHECK(completes == 0);
  }
  SECTION("cancel from onHead") {
    int heads = 0;
    int chunks = 0;
    int completes = 0;
    HttpClient::Handle h;
    HttpCallbacks cb;
    cb.onHead = [&](const HttpResponseHead&) {
      ++heads;
      h.cancel();
      return true;
    };
    cb.onBody = [&](std::string_view) {
      ++chunks;
      return BodyAction::Continue;
    };
    cb.onComplete = [&](const FetchResult&) { ++completes; };
    h = c.http.start(req, cb);
    REQUIRE(loop.runUntil([&] { return heads > 0; }));
    loop.runFor(300);
    CHECK(chunks == 0);
    CHECK(completes == 0);
  }
  CHECK(c.http.activeTransfers() == 0);
  // The client is still usable.
  HttpRequest again;
  again.url = server.url("/bytes?n=1000");
  auto r = fetchNow(loop, c.http, again);
  CHECK(r.result->error == FetchError::None);
  CHECK(r.body.size() == 1000);
}

TEST_CASE("HttpClient onHead returning false aborts without delivering body") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  HttpRequest req;
  req.url = server.url("/bytes?n=1000000");
  Recorded r;
  auto cb = record(r);
  cb.onHead = [&](const HttpResponseHead& h) {
    ++r.heads;
    r.head = h;
    return false;
  };
  auto h = c.http.start(req, cb);
  REQUIRE(loop.runUntil([&] { return r.done(); }));
  CHECK(r.heads == 1);
  CHECK(r.body.empty());
  CHECK(r.result->error == FetchError::Aborted);

  // Bodiless response: onHead runs at completion; declining still aborts.
  Recorded r2;
  auto cb2 = record(r2);
  cb2.onHead = [&](const HttpResponseHead&) {
    ++r2.heads;
    return false;
  };
  HttpRequest head;
  head.method = "HEAD";
  head.url = server.url("/bytes?n=10");
  auto h2 = c.http.start(head, cb2);
  REQUIRE(loop.runUntil([&] { return r2.done(); }));
  CHECK(r2.heads == 1);
  CHECK(r2.result->error == FetchError::Aborted);
}

TEST_CASE("HttpClient reports ConnectFailed quickly for a dead port") {
  Loop loop;
  TestClient c(loop);
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(deadPort()) + "/x";
  auto t0 = std::chrono::steady_clock::now();
  auto r = fetchNow(loop, c.http, req);
  CHECK(r.result->error == FetchError::ConnectFailed);
  CHECK(r.heads == 0);
  CHECK(secondsSince(t0) < 3.0);
}

TEST_CASE("HttpClient idle timeout fires when the upstream goes silent") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);

  SECTION("mid-body") {
    HttpRequest req;
    req.url = server.url("/stall?bytes=10&total=1000");
    req.idleTimeoutMs = 1000;
    auto t0 = std::chrono::steady_clock::now();
    auto r = fetchNow(loop, c.http, req);
    CHECK(r.result->error == FetchError::Timeout);
    CHECK(r.heads == 1);
    CHECK(r.body.size() == 10);
    double s = secondsSince(t0);
    CHECK(s >= 0.9);
    CHECK(s < 4.0);
  }
  SECTION("a paused transfer is not idle") {
    HttpRequest req;
    req.url = server.url("/bytes?n=300000");
    req.idleTimeoutMs = 500;
    std::string body;
    bool paused = false;
    std::optional<FetchResult> result;
    HttpClient::Handle h;
    HttpCallbacks cb;
    cb.onBody = [&](std::string_view chunk) {
      if (!paused) {
        paused = true;
        return BodyAction::Pause;
      }
      body.append(chunk);
      return BodyAction::Continue;
    };
    cb.onComplete = [&](const FetchResult& r) { result = r; };
    h = c.http.start(req, cb);
    REQUIRE(loop.runUntil([&] { return paused; }));
    loop.runFor(1500);  // three idle periods
    CHECK_FALSE(result);
    h.resume();
    REQUIRE(loop.runUntil([&] { return result.has_value(); }));
    CHECK(result->error == FetchError::None);
    CHECK(body.size() == 300000);
    CHECK(matchesPattern(body));
  }
  SECTION("before any header") {
    HttpRequest req;
    req.url = server.url("/silent");
    req.idleTimeoutMs = 1000;
    auto r = fetchNow(loop, c.http, req);
    CHECK(r.result->error == FetchError::Timeout);
    CHECK(r.heads == 0);
  }
  SECTION("total timeout") {
    HttpRequest req;
    req.url = server.url("/silent");
    req.totalTimeoutMs = 300;
    auto t0 = std::chrono::steady_clock::now();
    auto r = fetchNow(loop, c.http, req);
    CHECK(r.result->error == FetchError::Timeout);
    CHECK(secondsSince(t0) < 3.0);
  }
}

TEST_CASE("HttpClient runs many transfers concurrently over a few reused connections") {
  FixtureServer server;
  Loop loop;
  HttpClientOptions opts;
  opts.maxHostConnections = 4;
  TestClient c(loop, opts);
  constexpr int kCount = 40;
  std::vector<Recorded> rs(kCount);
  std::vector<HttpClient::Handle> hs;
  for (int i = 0; i < kCount; ++i) {
    HttpRequest req;
    req.url = server.url("/bytes?n=" + std::to_string(10000 + i * 997));
    hs.push_back(c.http.start(req, record(rs[i])));
  }
  CHECK(c.http.activeTransfers() == kCount);
  REQUIRE(loop.runUntil(
      [&] {
        for (auto& r : rs) {
          if (!r.done()) return false;
        }
        return true;
      },
      60000));
  for (int i = 0; i < kCount; ++i) {
    INFO("transfer " << i);
    CHECK(rs[i].result->error == FetchError::None);
    CHECK(rs[i].body.size() == static_cast<std::size_t>(10000 + i * 997));
    CHECK(matchesPattern(rs[i].body));
  }
  auto seen = seenRequests(loop, c.http, server, "/bytes");
  REQUIRE(seen.size() == kCount);
  std::set<int> ports;
  for (auto& s : seen) ports.insert(s["port"].get<int>());
  CHECK(ports.size() <= 4);
}

TEST_CASE("HttpClient reuses the connection for sequential requests") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  for (int i = 0; i < 3; ++i) {
    HttpRequest req;
    req.url = server.url("/bytes?n=100");
    auto r = fetchNow(loop, c.http, req);
    REQUIRE(r.result->error == FetchError::None);
  }
  auto seen = seenRequests(loop, c.http, server, "/bytes");
  REQUIRE(seen.size() == 3);
  CHECK(seen[0]["port"] == seen[1]["port"]);
  CHECK(seen[1]["port"] == seen[2]["port"]);
}

TEST_CASE("HttpClient start from inside callbacks, close from inside onBody") {
  FixtureServer server;
  Loop loop;
  auto client = std::make_unique<HttpClient>(loop.get());
  Recorded second;
  HttpClient::Handle h1, h2;
  bool closed = false;
  int completes = 0;

  HttpCallbacks cb;
  cb.onComplete = [&](const FetchResult& r) {
    ++completes;
    CHECK(r.error == FetchError::None);
    HttpRequest req;
    req.url = server.url("/bytes?n=500000");
    HttpCallbacks cb2 = record(second);
    cb2.onBody = [&](std::string_view chunk) {
      second.body.append(chunk);
      // Tear the whole client down from inside curl's write callback.
      client->close([&] { closed = true; });
      return BodyAction::Continue;
    };
    h2 = client->start(req, cb2);
  };
  HttpRequest req;
  req.url = server.url("/bytes?n=10");
  h1 = client->start(req, cb);
  REQUIRE(loop.runUntil([&] { return closed; }));
  CHECK(completes == 1);
  CHECK(second.completes == 0);  // closing cancels: no callbacks
  CHECK_FALSE(second.body.empty());
  CHECK(client->activeTransfers() == 0);
  // After close: start() is inert, close() is idempotent.
  Recorded late;
  auto h3 = client->start(req, record(late));
  CHECK_FALSE(h3.active());
  bool again = false;
  client->close([&] { again = true; });
  CHECK(again);
  h1 = {};
  h2 = {};
  client.reset();
  loop.runFor(100);
  CHECK(late.completes == 0);
}

TEST_CASE("HttpClient close with transfers in flight calls nothing but done") {
  FixtureServer server;
  Loop loop;
  HttpClient client(loop.get());
  std::vector<Recorded> rs(5);
  std::vector<HttpClient::Handle> hs;
  for (auto& r : rs) {
    HttpRequest req;
    req.url = server.url("/stall?bytes=10&total=100");
    hs.push_back(client.start(req, record(r)));
  }
  REQUIRE(loop.runUntil([&] {
    for (auto& r : rs) {
      if (r.heads == 0) return false;
    }
    return true;
  }));
  bool closed = false;
  client.close([&] { closed = true; });
  CHECK_FALSE(closed);  // uv handles close asynchronously
  REQUIRE(loop.runUntil([&] { return closed; }));
  for (auto& r : rs) CHECK(r.completes == 0);
  hs.clear();  // handles outliving their transfers are harmless
}

TEST_CASE("HttpClient POST sends the whole body, owned by the transfer, without Expect") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  // Over 1 MiB: libcurl would otherwise send Expect: 100-continue and wait for the 100.
  std::string payload(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 7) % 251);
  Recorded r;
  HttpClient::Handle h;
  {
    HttpRequest req;
    req.method = "POST";
    req.url = server.url("/echo");
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = payload;
    h = c.http.start(req, record(r));
    req.body.assign(payload.size(), 'x');  // the transfer must have its own copy
  }
  REQUIRE(loop.runUntil([&] { return r.done(); }));
  CHECK(r.result->error == FetchError::None);
  REQUIRE(r.head);
  CHECK(r.head->status == 200);
  CHECK(r.head->header("x-seen-length") == std::to_string(payload.size()));
  CHECK(r.head->header("content-type") == "application/json");
  CHECK(r.body.size() == payload.size());
  CHECK(r.body == payload);
  auto seen = seenRequests(loop, c.http, server, "/echo");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0]["method"] == "POST");
  CHECK_FALSE(seen[0]["headers"].contains("expect"));
}

TEST_CASE("HttpClient POST with an empty body sends Content-Length: 0") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  HttpRequest req;
  req.method = "POST";
  req.url = server.url("/echo");
  auto r = fetchNow(loop, c.http, req);
  CHECK(r.result->error == FetchError::None);
  REQUIRE(r.head);
  CHECK(r.head->status == 200);
  CHECK(r.body.empty());
  auto seen = seenRequests(loop, c.http, server, "/echo");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0]["headers"]["content-length"] == "0");
}

TEST_CASE("HttpClient rejects unsupported methods asynchronously") {
  Loop loop;
  TestClient c(loop);
  HttpRequest req;
  req.method = "PUT";
  req.url = "http://127.0.0.1:1/";
  Recorded r;
  auto h = c.http.start(req, record(r));
  CHECK(r.completes == 0);
  REQUIRE(loop.runUntil([&] { return r.done(); }));
  CHECK(r.result->error == FetchError::Other);
}
