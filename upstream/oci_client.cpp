#include "upstream/oci_client.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string_view>
#include <utility>

#include "upstream/basic_auth.h"
#include "upstream/www_authenticate.h"

namespace hoard {

namespace {

constexpr std::size_t kMaxTokenResponse = 1 << 20;

std::string urlEncode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : in) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool isHttpUrl(std::string_view u) {
  return u.starts_with("http://") || u.starts_with("https://");
}

}  // namespace

// One fetch() call. Owned by the caller's Handle; transfer callbacks and
// token waiters hold it weakly and lock it for the duration of a call, so the
// caller may drop its handle from inside any callback.
struct OciClient::Op {
  enum class Next { None, Token, Basic };

  ~Op() {
    if (client) client->ops_.erase(this);
  }
  void cancel() {
    cancelled = true;
    inner.cancel();
  }
  bool onHead(const HttpResponseHead& h);
  void onComplete(const std::shared_ptr<Op>& self, const FetchResult& r);
  void tokenReady(const std::shared_ptr<Op>& self, const std::optional<std::string>& token,
                  const FetchResult& failure);
  void complete(const FetchResult& r) {
    done = true;
    auto c = std::move(cb.onComplete);
    if (c) c(r);
  }

  OciClient* client = nullptr;
  OciRequest req;
  HttpCallbacks cb;
  HttpClient::Handle inner;
  bool retried = false;
  bool sentBasic = false;
  std::string sentToken;
  Next next = Next::None;
  std::string realm, service, challengeScope;
  std::optional<HttpResponseHead> saved401;
  bool cancelled = false;
  bool done = false;
};

// State of one token request shared by every op waiting for it.
struct OciClient::TokenFetch {
  std::string cacheScope;
  long status = 0;
  std::string body;
  bool tooBig = false;
  std::vector<std::weak_ptr<Op>> waiters;
  HttpClient::Handle handle;
};

bool OciClient::Op::onHead(const HttpResponseHead& h) {
  if (cancelled || done || !client) return false;
  if (!retried && h.status == 401) {
    const AuthChallenge* bearer = nullptr;
    bool basicOffered = false;
    std::vector<AuthChallenge> all;
    for (const auto& hdr : h.headers) {
      if (hdr.name != "www-authenticate") continue;
      for (auto& c : parseWwwAuthenticate(hdr.value)) all.push_back(std::move(c));
    }
    for (const auto& c : all) {
      if (c.scheme == "bearer" && c.param("realm") && !bearer) bearer = &c;
      if (c.scheme == "basic") basicOffered = true;
    }
    if (bearer) {
      if (!sentToken.empty())
        client->tokens_.invalidate(client->settings_.name, req.scope, sentToken);
      realm = std::string(*bearer->param("realm"));
      service = std::string(bearer->param("service").value_or(""));
      challengeScope = std::string(bearer->param("scope").value_or(""));
      saved401 = h;
      next = Next::Token;
      return false;  // swallowed: the caller never sees this response
    }
    if (basicOffered && client->settings_.auth && !sentBasic) {
      client->basicWanted_ = true;
      next = Next::Basic;
      return false;
    }
  }
  return cb.onHead ? cb.onHead(h) : true;
}

void OciClient::Op::onComplete(const std::shared_ptr<Op>& self, const FetchResult& r) {
  if (cancelled || done) return;
  if (next != Next::None && r.error == FetchError::Aborted && client) {
    Next n = std::exchange(next, Next::None);
    retried = true;
    if (n == Next::Basic) {
      client->startAttempt(self, nullptr, true);
    } else {
      client->requestToken(self, realm, service,
                           challengeScope.empty() ? req.scope : challengeScope);
    }
    return;
  }
  complete(r);
}

void OciClient::Op::tokenReady(const std::shared_ptr<Op>& self,
                               const std::optional<std::string>& token,
                               const FetchResult& failure) {
  if (cancelled || done) return;
  if (token && client) {
    client->startAttempt(self, &*token, false);
    return;
  }
  if (failure.error != FetchError::None) {
    complete(failure);
    return;
  }
  // The token endpoint refused: the registry's own 401 is the answer.
  bool ok = !cb.onHead || cb.onHead(*saved401);
  if (cancelled) return;
  complete(ok ? FetchResult{} : FetchResult{FetchError::Aborted, "response declined"});
}

OciClient::OciClient(HttpClient& http, ClockPtr clock, OciUpstreamSettings settings)
    : http_(http), tokens_(std::move(clock)), settings_(std::move(settings)) {
  while (!settings_.baseUrl.empty() && settings_.baseUrl.back() == '/')
    settings_.baseUrl.pop_back();
}

OciClient::~OciClient() {
  tokenFetches_.clear();
  auto ops = std::move(ops_);
  ops_.clear();
  for (auto& [raw, weak] : ops) {
    // An op that cannot be locked has already left ops_ in its destructor.
    if (auto op = weak.lock()) {
      op->client = nullptr;
      op->cancel();
    }
  }
}

std::string OciClient::basicHeader() const {
  return basicAuthorization(settings_.auth->username, settings_.auth->password);
}

HttpClient::Handle OciClient::fetch(OciRequest req, HttpCallbacks cb) {
  auto op = std::make_shared<Op>();
  op->client = this;
  op->req = std::move(req);
  op->cb = std::move(cb);
  ops_.emplace(op.get(), op);
  startAttempt(op, nullptr, false);
  std::weak_ptr<Op> weak = op;
  return HttpClient::Handle(CancelHandle([op] { op->cancel(); }), [weak] {
    if (auto o = weak.lock()) o->inner.resume();
  });
}

void OciClient::startAttempt(const std::shared_ptr<Op>& op, const std::string* bearer,
                             bool forceBasic) {
  const OciRequest& r = op->req;
  HttpRequest hr;
  hr.method = r.method;
  hr.url = settings_.baseUrl + r.path;
  if (!r.query.empty()) hr.url += "?" + r.query;
  if (!r.accept.empty()) hr.headers.push_back({"Accept", r.accept});
  op->sentToken.clear();
  op->sentBasic = false;
  std::optional<std::string> cached;
  if (!bearer && !forceBasic) {
    cached = tokens_.get(settings_.name, r.scope);
    if (cached) bearer = &*cached;
  }
  if (bearer) {
    hr.headers.push_back({"Authorization", "Bearer " + *bearer});
    op->sentToken = *bearer;
  } else if (settings_.auth && (forceBasic || basicWanted_)) {
    hr.headers.push_back({"Authorization", basicHeader()});
    op->sentBasic = true;
  }
  hr.followRedirects = r.followRedirects;
  hr.connectTimeoutMs = settings_.connectTimeoutMs;
  hr.idleTimeoutMs = settings_.idleTimeoutMs;
  hr.totalTimeoutMs = r.isBlob ? 0 : settings_.manifestTimeoutMs;
  if (r.isBlob) hr.receiveBufferBytes = 512 * 1024;

  std::weak_ptr<Op> weak = op;
  HttpCallbacks cb;
  cb.onHead = [weak](const HttpResponseHead& h) {
    auto o = weak.lock();
    return o && o->onHead(h);
  };
  cb.onBody = [weak](std::string_view chunk) {
    auto o = weak.lock();
    if (!o || o->cancelled || !o->cb.onBody) return BodyAction::Continue;
    return o->cb.onBody(chunk);
  };
  cb.onComplete = [weak](const FetchResult& res) {
    if (auto o = weak.lock()) o->onComplete(o, res);
  };
  op->inner = http_.start(hr, std::move(cb));
}

void OciClient::requestToken(const std::shared_ptr<Op>& op, const std::string& realm,
                             const std::string& service, const std::string& scope) {
  // A realm that is not http(s), or that would downgrade an https registry to
  // plain http (credentials in clear text), is treated as a refusal.
  bool downgrade = settings_.baseUrl.starts_with("https://") && !realm.starts_with("https://");
  if (!isHttpUrl(realm) || downgrade) {
    op->tokenReady(op, std::nullopt, FetchResult{});
    return;
  }
  std::string key = realm + '\n' + service + '\n' + scope + '\n' + op->req.scope;
  if (auto it = tokenFetches_.find(key); it != tokenFetches_.end()) {
    it->second->waiters.push_back(op);
    return;
  }
  auto tf = std::make_unique<TokenFetch>();
  TokenFetch* raw = tf.get();
  tf->cacheScope = op->req.scope;
  tf->waiters.push_back(op);

  HttpRequest hr;
  hr.url = realm;
  char sep = realm.find('?') == std::string::npos ? '?' : '&';
  if (!service.empty()) {
    hr.url += sep + std::string("service=") + urlEncode(service);
    sep = '&';
  }
  if (!scope.empty()) hr.url += sep + std::string("scope=") + urlEncode(scope);
  if (settings_.auth) hr.headers.push_back({"Authorization", basicHeader()});
  // Token services may redirect; libcurl drops our Authorization on a
  // cross-host redirect.
  hr.followRedirects = true;
  hr.connectTimeoutMs = settings_.connectTimeoutMs;
  hr.idleTimeoutMs = settings_.idleTimeoutMs;
  hr.totalTimeoutMs = settings_.manifestTimeoutMs;

  HttpCallbacks cb;
  cb.onHead = [raw](const HttpResponseHead& h) {
    raw->status = h.status;
    return true;
  };
  cb.onBody = [raw](std::string_view chunk) {
    if (raw->body.size() + chunk.size() > kMaxTokenResponse) {
      raw->tooBig = true;
    } else {
      raw->body.append(chunk);
    }
    return BodyAction::Continue;
  };
  cb.onComplete = [this, key](const FetchResult& r) { tokenDone(key, r); };
  auto& slot = tokenFetches_[key];
  slot = std::move(tf);
  // start() never completes synchronously, so slot is in place before tokenDone.
  slot->handle = http_.start(hr, std::move(cb));
}

void OciClient::tokenDone(const std::string& key, const FetchResult& r) {
  auto it = tokenFetches_.find(key);
  if (it == tokenFetches_.end()) return;
  std::unique_ptr<TokenFetch> tf = std::move(it->second);
  tokenFetches_.erase(it);

  std::optional<std::string> token;
  FetchResult failure;  // None + no token => the endpoint refused (HTTP error)
  if (r.error != FetchError::None) {
    failure = {r.error, "token endpoint: " + r.message};
  } else if (tf->status == 200 && tf->tooBig) {
    failure = {FetchError::Protocol, "token endpoint: response too large"};
  } else if (tf->status == 200) {
    auto j = nlohmann::json::parse(tf->body, nullptr, false);
    std::optional<std::int64_t> expiresIn;
    if (j.is_object()) {
      for (const char* field : {"token", "access_token"}) {
        auto f = j.find(field);
        if (f != j.end() && f->is_string() && !f->get_ref<const std::string&>().empty()) {
          token = f->get<std::string>();
          break;
        }
      }
      if (auto e = j.find("expires_in"); e != j.end() && e->is_number()) {
        double secs = e->get<double>();
        // Clamped before the cast: out-of-range double -> int64 is undefined.
        if (secs > 0) expiresIn = static_cast<std::int64_t>(std::min(secs, 1e9));
      }
    }
    if (token) {
      tokens_.put(settings_.name, tf->cacheScope, *token, expiresIn);
    } else {
      failure = {FetchError::Protocol, "token endpoint: response has no token"};
    }
  }
  // Waiters' callbacks may destroy this client; touch only locals from here.
  auto waiters = std::move(tf->waiters);
  tf.reset();
  for (auto& w : waiters) {
    if (auto op = w.lock()) op->tokenReady(op, token, failure);
  }
}

}  // namespace hoard
