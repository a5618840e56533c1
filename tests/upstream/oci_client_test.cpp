#include "upstream/oci_client.h"

#include <catch2/catch.hpp>
#include <memory>

#include "upstream/upstream_fixture.h"

using namespace hoard;
using namespace hoard::test;

namespace {

OciUpstreamSettings settingsFor(const FixtureServer& server) {
  OciUpstreamSettings s;
  s.name = "fixture";
  s.baseUrl = server.url("");
  return s;
}

OciRequest manifest(const std::string& repo, const std::string& ref = "latest") {
  OciRequest r;
  r.path = "/v2/" + repo + "/manifests/" + ref;
  r.accept = "application/vnd.oci.image.manifest.v1+json";
  r.scope = "repository:" + repo + ":pull";
  return r;
}

Recorded fetchNow(Loop& loop, OciClient& oci, OciRequest req) {
  Recorded r;
  auto h = oci.fetch(std::move(req), record(r));
  REQUIRE(loop.runUntil([&] { return r.done(); }));
  return r;
}

int tokenRequests(Loop& loop, HttpClient& http, const FixtureServer& server) {
  return fixtureJson(loop, http, server.url("/_stats"))["token_requests"].get<int>();
}

}  // namespace

TEST_CASE("OciClient: 401 -> token -> retry, and the token is reused") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  auto clock = std::make_shared<ManualClock>();
  OciClient oci(c.http, clock, settingsFor(server));

  auto r1 = fetchNow(loop, oci, manifest("library/alpine"));
  CHECK(r1.result->error == FetchError::None);
  CHECK(r1.heads == 1);  // the 401 was swallowed
  CHECK(r1.head->status == 200);
  std::string digest = "sha256:";
  for (int i = 0; i < 32; ++i) digest += "ab";
  CHECK(r1.head->header("docker-content-digest") == digest);
  CHECK(r1.body == R"({"repo": "library/alpine", "ref": "latest"})");
  CHECK(tokenRequests(loop, c.http, server) == 1);

  auto r2 = fetchNow(loop, oci, manifest("library/alpine", "3.19"));
  CHECK(r2.head->status == 200);
  CHECK(tokenRequests(loop, c.http, server) == 1);  // cached

  auto first = seenRequests(loop, c.http, server, "/v2/library/alpine/manifests/latest");
  REQUIRE(first.size() == 2);
  CHECK_FALSE(first[0]["headers"].contains("authorization"));
  CHECK(first[1]["headers"]["authorization"].get<std::string>().starts_with("Bearer tok-1-"));
  CHECK(first[1]["headers"]["accept"] == "application/vnd.oci.image.manifest.v1+json");
  auto second = seenRequests(loop, c.http, server, "/v2/library/alpine/manifests/3.19");
  REQUIRE(second.size() == 1);  // no 401 round trip
  CHECK(second[0]["headers"]["authorization"] == first[1]["headers"]["authorization"]);

  // The token request: anonymous, with service and scope from the challenge.
  auto tok = seenRequests(loop, c.http, server, "/token");
  REQUIRE(tok.size() == 1);
  CHECK_FALSE(tok[0]["headers"].contains("authorization"));
  CHECK(oci.tokens().get("fixture", "repository:library/alpine:pull"));

  // Another repository is another scope: another token.
  auto r3 = fetchNow(loop, oci, manifest("library/busybox"));
  CHECK(r3.head->status == 200);
  CHECK(tokenRequests(loop, c.http, server) == 2);

  // After expires_in (300 s, minus the margin), a new token is fetched.
  clock->advance(300'000);
  auto r4 = fetchNow(loop, oci, manifest("library/alpine"));
  CHECK(r4.head->status == 200);
  CHECK(r4.heads == 1);
  CHECK(tokenRequests(loop, c.http, server) == 3);
}

TEST_CASE("OciClient: Basic credentials go to the token endpoint only") {
  FixtureServer server({"--basic", "alice:s3cret"});
  Loop loop;
  TestClient c(loop);
  auto settings = settingsFor(server);
  settings.auth = UpstreamAuth{"alice", "s3cret"};
  OciClient oci(c.http, std::make_shared<ManualClock>(), settings);

  auto r = fetchNow(loop, oci, manifest("team/app"));
  CHECK(r.result->error == FetchError::None);
  CHECK(r.head->status == 200);
  auto tok = seenRequests(loop, c.http, server, "/token");
  REQUIRE(tok.size() == 1);
  CHECK(tok[0]["headers"]["authorization"] == "Basic YWxpY2U6czNjcmV0");  // alice:s3cret
  auto reg = seenRequests(loop, c.http, server, "/v2/team/app/manifests/latest");
  REQUIRE(reg.size() == 2);
  CHECK_FALSE(reg[0]["headers"].contains("authorization"));
  CHECK(reg[1]["headers"]["authorization"].get<std::string>().starts_with("Bearer "));
}

TEST_CASE("OciClient: a refused token request surfaces the registry's 401, no secrets") {
  FixtureServer server({"--basic", "alice:s3cret"});
  Loop loop;
  TestClient c(loop);
  auto settings = settingsFor(server);
  settings.auth = UpstreamAuth{"alice", "wrong-password"};
  OciClient oci(c.http, std::make_shared<ManualClock>(), settings);

  auto r = fetchNow(loop, oci, manifest("team/app"));
  CHECK(r.result->error == FetchError::None);
  REQUIRE(r.heads == 1);
  CHECK(r.head->status == 401);
  CHECK(r.head->header("www-authenticate").starts_with("Bearer "));
  CHECK(r.result->message.find("wrong-password") == std::string::npos);
  CHECK(tokenRequests(loop, c.http, server) == 1);
  CHECK_FALSE(oci.tokens().get("fixture", "repository:team/app:pull"));
}

TEST_CASE("OciClient: a second 401 is passed to the caller") {
  FixtureServer server({"--reject-tokens"});
  Loop loop;
  TestClient c(loop);
  OciClient oci(c.http, std::make_shared<ManualClock>(), settingsFor(server));
  auto r = fetchNow(loop, oci, manifest("library/alpine"));
  CHECK(r.result->error == FetchError::None);
  CHECK(r.heads == 1);
  CHECK(r.head->status == 401);
  CHECK(r.body == R"({"errors":[{"code":"UNAUTHORIZED"}]})");
  CHECK(tokenRequests(loop, c.http, server) == 1);
  CHECK(seenRequests(loop, c.http, server, "/v2/library/alpine/manifests/latest").size() == 2);
}

TEST_CASE("OciClient: blob redirect to another host drops the bearer token") {
  FixtureServer server({"--blob-size", "300000"});
  Loop loop;
  TestClient c(loop);
  OciClient oci(c.http, std::make_shared<ManualClock>(), settingsFor(server));
  OciRequest req;
  req.path = "/v2/library/alpine/blobs/sha256:" + std::string(64, 'c');
  req.scope = "repository:library/alpine:pull";
  req.followRedirects = true;
  req.isBlob = true;
  auto r = fetchNow(loop, oci, req);
  CHECK(r.result->error == FetchError::None);
  CHECK(r.head->status == 200);
  CHECK(r.body.size() == 300000);
  CHECK(matchesPattern(r.body));
  CHECK(r.head->effectiveUrl.starts_with(server.url("/cdn/", "localhost")));
  auto reg = seenRequests(loop, c.http, server, req.path);
  REQUIRE(reg.size() == 2);
  CHECK(reg[1]["headers"]["authorization"].get<std::string>().starts_with("Bearer "));
  auto cdn = seenRequests(loop, c.http, server, "/cdn/sha256:" + std::string(64, 'c'));
  REQUIRE(cdn.size() == 1);
  CHECK_FALSE(cdn[0]["headers"].contains("authorization"));
}

TEST_CASE("OciClient: concurrent fetches share one token request") {
  FixtureServer server({"--token-delay-ms", "700"});
  Loop loop;
  TestClient c(loop);
  OciClient oci(c.http, std::make_shared<ManualClock>(), settingsFor(server));
  std::vector<Recorded> rs(6);
  std::vector<HttpClient::Handle> hs;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    hs.push_back(oci.fetch(manifest("library/alpine", "t" + std::to_string(i)), record(rs[i])));
  }
  REQUIRE(loop.runUntil([&] {
    for (auto& r : rs) {
      if (!r.done()) return false;
    }
    return true;
  }));
  for (auto& r : rs) {
    CHECK(r.result->error == FetchError::None);
    CHECK(r.head->status == 200);
    CHECK(r.heads == 1);
  }
  CHECK(tokenRequests(loop, c.http, server) == 1);
}

TEST_CASE("OciClient: access_token field, HEAD requests") {
  FixtureServer server({"--token-field", "access_token"});
  Loop loop;
  TestClient c(loop);
  OciClient oci(c.http, std::make_shared<ManualClock>(), settingsFor(server));
  auto req = manifest("library/alpine");
  req.method = "HEAD";
  auto r = fetchNow(loop, oci, req);
  CHECK(r.result->error == FetchError::None);
  CHECK(r.heads == 1);
  CHECK(r.head->status == 200);
  CHECK(r.head->contentLength > 0u);
  CHECK(r.body.empty());
  CHECK(tokenRequests(loop, c.http, server) == 1);
}

TEST_CASE("OciClient: registry that wants Basic gets it after its first 401") {
  FixtureServer server({"--registry", "basic", "--basic", "bob:pw"});
  Loop loop;
  TestClient c(loop);
  auto settings = settingsFor(server);
  settings.auth = UpstreamAuth{"bob", "pw"};
  OciClient oci(c.http, std::make_shared<ManualClock>(), settings);
  auto r1 = fetchNow(loop, oci, manifest("x/y"));
  CHECK(r1.head->status == 200);
  CHECK(r1.heads == 1);
  auto r2 = fetchNow(loop, oci, manifest("x/y", "v2"));
  CHECK(r2.head->status == 200);
  CHECK(seenRequests(loop, c.http, server, "/v2/x/y/manifests/latest").size() == 2);
  auto second = seenRequests(loop, c.http, server, "/v2/x/y/manifests/v2");
  REQUIRE(second.size() == 1);
  CHECK(second[0]["headers"]["authorization"] == "Basic Ym9iOnB3");
  CHECK(tokenRequests(loop, c.http, server) == 0);

  // Without credentials a Basic 401 simply reaches the caller.
  OciClient anon(c.http, std::make_shared<ManualClock>(), settingsFor(server));
  auto r3 = fetchNow(loop, anon, manifest("x/y"));
  CHECK(r3.head->status == 401);
}

TEST_CASE("OciClient: cancelling while the token is being fetched, and destroying the client") {
  FixtureServer server({"--token-delay-ms", "500"});
  Loop loop;
  TestClient c(loop);
  auto oci =
      std::make_unique<OciClient>(c.http, std::make_shared<ManualClock>(), settingsFor(server));
  Recorded a, b, d;
  auto ha = oci->fetch(manifest("library/alpine"), record(a));
  auto hb = oci->fetch(manifest("library/alpine", "b"), record(b));
  auto hd = oci->fetch(manifest("library/alpine", "d"), record(d));
  // Wait until the token request is in flight (the fixture logs it at once).
  REQUIRE(loop.runUntil([&] { return seenRequests(loop, c.http, server, "/token").size() >= 1; }));
  ha.cancel();
  {
    auto dropped = std::move(hb);  // destroying cancels
  }
  REQUIRE(loop.runUntil([&] { return d.done(); }));
  CHECK(d.head->status == 200);
  CHECK(a.completes == 0);
  CHECK(b.completes == 0);

  // Destroy the client with a fetch waiting on a token: no callbacks after.
  Recorded e;
  auto he = oci->fetch(manifest("library/other"), record(e));
  REQUIRE(loop.runUntil([&] { return seenRequests(loop, c.http, server, "/token").size() >= 2; }));
  oci.reset();
  loop.runFor(800);
  CHECK(e.completes == 0);
  he.cancel();  // harmless after the client is gone
  CHECK(c.http.activeTransfers() == 0);
}

TEST_CASE("OciClient: the caller may drop its handle from inside onBody") {
  FixtureServer server({"--blob-size", "2000000"});
  Loop loop;
  TestClient c(loop);
  OciClient oci(c.http, std::make_shared<ManualClock>(), settingsFor(server));
  OciRequest req;
  req.path = "/v2/library/alpine/blobs/sha256:" + std::string(64, 'd');
  req.scope = "repository:library/alpine:pull";
  req.followRedirects = true;
  req.isBlob = true;
  std::optional<HttpClient::Handle> h;
  int chunks = 0;
  int completes = 0;
  HttpCallbacks cb;
  cb.onBody = [&](std::string_view) {
    ++chunks;
    h.reset();
    return BodyAction::Continue;
  };
  cb.onComplete = [&](const FetchResult&) { ++completes; };
  h = oci.fetch(req, cb);
  REQUIRE(loop.runUntil([&] { return chunks > 0; }));
  loop.runFor(300);
  CHECK(chunks == 1);
  CHECK(completes == 0);
  CHECK(c.http.activeTransfers() == 0);
}

TEST_CASE("OciClient: a cached token the registry rejects is replaced once") {
  FixtureServer server;
  Loop loop;
  TestClient c(loop);
  OciClient oci(c.http, std::make_shared<ManualClock>(), settingsFor(server));
  auto r1 = fetchNow(loop, oci, manifest("library/alpine"));
  REQUIRE(r1.head->status == 200);
  auto old = oci.tokens().get("fixture", "repository:library/alpine:pull");
  REQUIRE(old);
  fixtureJson(loop, c.http, server.url("/_revoke"));
  auto r2 = fetchNow(loop, oci, manifest("library/alpine", "again"));
  CHECK(r2.result->error == FetchError::None);
  CHECK(r2.heads == 1);
  CHECK(r2.head->status == 200);
  CHECK(tokenRequests(loop, c.http, server) == 2);
  auto fresh = oci.tokens().get("fixture", "repository:library/alpine:pull");
  REQUIRE(fresh);
  CHECK(*fresh != *old);
  auto seen = seenRequests(loop, c.http, server, "/v2/library/alpine/manifests/again");
  REQUIRE(seen.size() == 2);
  CHECK(seen[0]["headers"]["authorization"] == "Bearer " + *old);
  CHECK(seen[1]["headers"]["authorization"] == "Bearer " + *fresh);
}
