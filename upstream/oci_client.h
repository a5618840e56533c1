#pragma once
// Client for one OCI distribution registry (Docker Hub, ghcr.io, ...): adds
// the registry's auth to requests and hides the bearer-token dance.
//
// fetch() sends the request with a cached bearer token for its scope (or
// Basic credentials once the registry asked for Basic). A 401 carrying a
// Bearer challenge is swallowed: the token is fetched from the challenge's
// realm (with Basic credentials if configured, anonymously otherwise),
// cached, and the request retried once. The caller sees only the retry; a
// second 401 reaches it. Concurrent fetches waiting for the same scope share
// one token request.
//
// Must survive: the caller cancelling at any stage (first try, token fetch,
// retry), including from inside its own callbacks; the OciClient being
// destroyed with fetches in flight (they are cancelled silently); token
// endpoints that fail, redirect, or return junk. Credentials never appear in
// error messages, and are never sent to the redirect target of a request.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/clock.h"
#include "upstream/http_client.h"
#include "upstream/token_cache.h"

namespace hoard {

struct UpstreamAuth {  // never logged
  std::string username;
  std::string password;
};

struct OciUpstreamSettings {
  std::string name;
  std::string baseUrl;  // "https://registry-1.docker.io", no trailing slash needed
  std::optional<UpstreamAuth> auth;
  std::uint64_t connectTimeoutMs = 10000;
  std::uint64_t idleTimeoutMs = 30000;
  std::uint64_t manifestTimeoutMs = 30000;  // total, for manifests and token requests
};

struct OciRequest {
  std::string method = "GET";
  std::string path;   // "/v2/library/alpine/manifests/latest"; validated by the caller
  std::string query;  // without '?'
  std::string accept;
  std::string scope;  // "repository:library/alpine:pull"
  bool followRedirects = false;
  bool isBlob = false;  // no total timeout
};

class OciClient {
 public:
  OciClient(HttpClient& http, ClockPtr clock, OciUpstreamSettings settings);
  ~OciClient();  // cancels fetches still in flight (no callbacks)
  OciClient(const OciClient&) = delete;
  OciClient& operator=(const OciClient&) = delete;

  HttpClient::Handle fetch(OciRequest req, HttpCallbacks cb);

  const OciUpstreamSettings& settings() const { return settings_; }
  TokenCache& tokens() { return tokens_; }

 private:
  struct Op;
  struct TokenFetch;
  friend struct Op;

  // bearer: send this token; forceBasic: send Basic credentials; neither:
  // whatever the cache and earlier challenges suggest.
  void startAttempt(const std::shared_ptr<Op>& op, const std::string* bearer, bool forceBasic);
  void requestToken(const std::shared_ptr<Op>& op, const std::string& realm,
                    const std::string& service, const std::string& scope);
  void tokenDone(const std::string& key, const FetchResult& r);
  std::string basicHeader() const;

  HttpClient& http_;
  TokenCache tokens_;
  OciUpstreamSettings settings_;
  bool basicWanted_ = false;  // the registry answered a 401 with a Basic challenge
  std::unordered_map<Op*, std::weak_ptr<Op>> ops_;
  std::map<std::string, std::unique_ptr<TokenFetch>> tokenFetches_;
};

}  // namespace hoard
