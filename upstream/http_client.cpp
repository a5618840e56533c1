#include "upstream/http_client.h"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <climits>
#include <mutex>
#include <string>
#include <utility>

namespace hoard {

namespace {

void globalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

FetchResult mapCurlError(CURLcode rc, const char* errbuf) {
  FetchResult r;
  r.message = (errbuf && errbuf[0]) ? errbuf : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      r.error = FetchError::ConnectFailed;
      break;
    case CURLE_OPERATION_TIMEDOUT:
      r.error = FetchError::Timeout;
      break;
    case CURLE_TOO_MANY_REDIRECTS:
      r.error = FetchError::TooManyRedirects;
      break;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_GOT_NOTHING:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      r.error = FetchError::Protocol;
      break;
    default:
      r.error = FetchError::Other;
      break;
  }
  return r;
}

}  // namespace

std::string_view fetchErrorName(FetchError e) {
  switch (e) {
    case FetchError::None:
      return "none";
    case FetchError::ConnectFailed:
      return "connect-failed";
    case FetchError::Timeout:
      return "timeout";
    case FetchError::Aborted:
      return "aborted";
    case FetchError::TooManyRedirects:
      return "too-many-redirects";
    case FetchError::Protocol:
      return "protocol";
    case FetchError::Other:
      return "other";
  }
  return "other";
}

std::string_view HttpResponseHead::header(std::string_view lowercaseName) const {
  for (const auto& h : headers) {
    if (h.name == lowercaseName) return h.value;
  }
  return {};
}

// One request. Owned by HttpClient::transfers_; Handles observe it weakly so
// a handle outliving its transfer (or the client) is harmless.
class Transfer {
 public:
  Transfer(HttpClient& client, HttpCallbacks cb) : client_(client), cb_(std::move(cb)) {}
  ~Transfer() {
    if (easy_) curl_easy_cleanup(easy_);
    if (headerList_) curl_slist_free_all(headerList_);
  }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  bool setup(const HttpRequest& req);
  static size_t onHeaderLine(char* data, size_t size, size_t n, void* ud);
  static size_t onData(char* data, size_t size, size_t n, void* ud);
  // Builds the head of the final response and hands it to onHead. Returns
  // false if the owner declined it (or cancelled from inside onHead).
  bool deliverHead();

  HttpClient& client_;
  HttpCallbacks cb_;
  CURL* easy_ = nullptr;
  curl_slist* headerList_ = nullptr;
  long status_ = 0;
  std::vector<HttpHeader> headers_;
  bool headDelivered_ = false;
  bool declined_ = false;                  // onHead returned false
  bool cancelled_ = false;                 // by the owner or close(); no more callbacks
  bool finished_ = false;                  // onComplete handed out
  bool added_ = false;                     // in the multi handle
  bool paused_ = false;                    // onBody returned Pause
  bool wantResume_ = false;                // resume() called; unpause on the next kick
  std::optional<FetchResult> startError_;  // reported from the kick, never from start()
  std::string postBody_;  // CURLOPT_POSTFIELDS points here for the transfer's whole life
  std::uint64_t idleMs_ = 0;
  std::uint64_t lastActivity_ = 0;  // uv_now() of the last byte received (or start/resume)
  char errbuf_[CURL_ERROR_SIZE] = {};
};

bool Transfer::setup(const HttpRequest& req) {
  easy_ = curl_easy_init();
  if (!easy_) return false;
  auto ms = [](std::uint64_t v) { return static_cast<long>(std::min<std::uint64_t>(v, LONG_MAX)); };
  curl_easy_setopt(easy_, CURLOPT_PRIVATE, this);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf_);
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_URL, req.url.c_str());
  // Only http(s), also for redirect targets: a registry must not be able to
  // point us at file:// or anything else libcurl speaks.
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy_, CURLOPT_USERAGENT, "hoard");
  if (req.receiveBufferBytes > 0) {
    curl_easy_setopt(easy_, CURLOPT_BUFFERSIZE, req.receiveBufferBytes);
  }
  bool expectGiven = false;
  if (req.method == "HEAD") {
    curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
  } else if (req.method == "POST") {
    postBody_ = req.body;
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(postBody_.size()));
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, postBody_.data());
  }
  curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, req.followRedirects ? 1L : 0L);
  curl_easy_setopt(easy_, CURLOPT_MAXREDIRS, req.maxRedirects);
  // Explicitly the default: custom Authorization is stripped on a redirect to
  // another host (or port/scheme). Never turn this on.
  curl_easy_setopt(easy_, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, ms(req.connectTimeoutMs));
  if (req.totalTimeoutMs > 0) curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, ms(req.totalTimeoutMs));
  // Idle (stall) detection is ours, not CURLOPT_LOW_SPEED_*: libcurl averages
  // speed over a ~5 s window, so a stall after a burst of data would only be
  // noticed seconds late, and its granularity is whole seconds.
  idleMs_ = req.idleTimeoutMs;
  for (const auto& h : req.headers) {
    std::string line = h.name + ": " + h.value;
    curl_slist* next = curl_slist_append(headerList_, line.c_str());
    if (!next) return false;
    headerList_ = next;
    expectGiven = expectGiven || strncasecmp(h.name.c_str(), "expect", 7) == 0;
  }
  if (req.method == "POST" && !expectGiven) {
    // libcurl would wait for a 100 (up to a second) before sending a body
    // over 1 MiB; an upstream API answers the whole request anyway.
    curl_slist* next = curl_slist_append(headerList_, "Expect:");
    if (!next) return false;
    headerList_ = next;
  }
  if (headerList_) curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headerList_);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &Transfer::onHeaderLine);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Transfer::onData);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  return true;
}

size_t Transfer::onHeaderLine(char* data, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = size * n;
  t->lastActivity_ = uv_now(t->client_.loop_);
  // Trailers after the body belong to no head we deliver.
  if (t->headDelivered_) return len;
  std::string_view line(data, len);
  if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") {
    // A new response (after a redirect, 1xx, or auth round): forget the old one.
    t->headers_.clear();
    t->status_ = 0;
    auto sp = line.find(' ');
    if (sp != std::string_view::npos) {
      auto rest = trim(line.substr(sp + 1));
      long code = 0;
      auto [p, ec] =
          std::from_chars(rest.data(), rest.data() + std::min<size_t>(3, rest.size()), code);
      if (ec == std::errc()) t->status_ = code;
    }
    return len;
  }
  auto content = trim(line);
  if (content.empty()) return len;
  if (line.front() == ' ' || line.front() == '\t') {
    // Obsolete line folding: continuation of the previous value.
    if (!t->headers_.empty()) {
      t->headers_.back().value += ' ';
      t->headers_.back().value += content;
    }
    return len;
  }
  auto colon = content.find(':');
  if (colon == std::string_view::npos) return len;
  HttpHeader h;
  h.name.reserve(colon);
  for (char c : trim(content.substr(0, colon))) h.name.push_back(lower(c));
  h.value = std::string(trim(content.substr(colon + 1)));
  t->headers_.push_back(std::move(h));
  return len;
}

bool Transfer::deliverHead() {
  headDelivered_ = true;
  HttpResponseHead head;
  head.status = status_;
  if (head.status == 0) curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &head.status);
  head.headers = std::move(headers_);
  headers_.clear();
  if (auto cl = head.header("content-length"); !cl.empty()) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), v);
    if (ec == std::errc() && p == cl.data() + cl.size()) head.contentLength = v;
  }
  char* eff = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff) {
    head.effectiveUrl = eff;
  }
  bool ok = true;
  if (cb_.onHead) {
    ++client_.busy_;
    ok = cb_.onHead(head);
    --client_.busy_;
  }
  if (!ok) declined_ = true;
  return ok && !cancelled_;
}

size_t Transfer::onData(char* data, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = size * n;
  t->lastActivity_ = uv_now(t->client_.loop_);
  // Returning anything but len makes curl fail the transfer (WRITE_ERROR).
  if (t->cancelled_ || t->declined_) return len == 0 ? 1 : 0;
  if (!t->headDelivered_ && !t->deliverHead()) return len == 0 ? 1 : 0;
  if (!t->cb_.onBody) return len;
  ++t->client_.busy_;
  BodyAction a = t->cb_.onBody(std::string_view(data, len));
  --t->client_.busy_;
  if (t->cancelled_) return len == 0 ? 1 : 0;
  if (a == BodyAction::Pause) {
    t->paused_ = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  return len;
}

// ---------------------------------------------------------------------------

struct HttpClient::SocketCtx {
  HttpClient* client;
  curl_socket_t fd;
  uv_poll_t poll;
};

HttpClient::HttpClient(uv_loop_t* loop, HttpClientOptions options)
    : loop_(loop), onTransferDone_(std::move(options.onTransferDone)) {
  globalInitOnce();
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  uv_timer_init(loop_, &kick_);
  kick_.data = this;
  uv_timer_init(loop_, &idle_);
  idle_.data = this;
  CURLM* m = curl_multi_init();
  multi_ = m;
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &HttpClient::socketCallback);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &HttpClient::timerCallback);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, options.maxHostConnections);
  curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, options.maxTotalConnections);
}

HttpClient::~HttpClient() {
  // Destroying an open client would leave uv handles pointing at freed memory.
  assert(closed_ && "HttpClient destroyed without a finished close()");
}

std::size_t HttpClient::activeTransfers() const {
  std::size_t n = 0;
  for (const auto& [raw, t] : transfers_) {
    if (!t->cancelled_ && !t->finished_) ++n;
  }
  return n;
}

HttpClient::Handle HttpClient::start(const HttpRequest& req, HttpCallbacks cb) {
  if (closeRequested_ || closed_) return Handle();
  auto t = std::make_shared<Transfer>(*this, std::move(cb));
  if (req.method != "GET" && req.method != "HEAD" && req.method != "POST") {
    t->startError_ = FetchResult{FetchError::Other, "unsupported method " + req.method};
  } else if (!t->setup(req)) {
    t->startError_ = FetchResult{FetchError::Other, "cannot set up transfer"};
  }
  transfers_.emplace(t.get(), t);
  t->lastActivity_ = uv_now(loop_);
  if (t->idleMs_ > 0 && !idleRunning_) {
    idleRunning_ = true;
    uv_timer_start(
        &idle_, [](uv_timer_t* h) { static_cast<HttpClient*>(h->data)->onIdleTick(); }, 100, 100);
  }
  if (t->startError_) {
    armKick();
  } else if (busy_ > 0) {
    // curl refuses recursive API calls; add once the stack unwinds.
    dirty_ = true;
  } else if (CURLMcode rc = curl_multi_add_handle(multi_, t->easy_); rc == CURLM_OK) {
    t->added_ = true;
  } else {
    t->startError_ = FetchResult{FetchError::Other, curl_multi_strerror(rc)};
    armKick();
  }
  std::weak_ptr<Transfer> weak = t;
  return Handle(CancelHandle([weak] {
                  if (auto s = weak.lock()) s->client_.cancelTransfer(*s);
                }),
                [weak] {
                  if (auto s = weak.lock()) s->client_.resumeTransfer(*s);
                });
}

void HttpClient::cancelTransfer(Transfer& t) {
  if (t.cancelled_ || t.finished_) return;
  t.cancelled_ = true;
  if (busy_ > 0) {
    // A callback of this (or another) transfer may be on the stack; free it
    // once everything unwinds.
    dirty_ = true;
    return;
  }
  auto keep = transfers_.find(&t);
  if (keep == transfers_.end()) return;
  TransferPtr owned = keep->second;
  transfers_.erase(keep);
  removeFromMulti(t);
}

void HttpClient::removeFromMulti(Transfer& t) {
  if (!t.added_) return;
  t.added_ = false;
  ++busy_;
  inCurl_ = true;
  curl_multi_remove_handle(multi_, t.easy_);
  inCurl_ = false;
  --busy_;
}

void HttpClient::resumeTransfer(Transfer& t) {
  if (t.cancelled_ || t.finished_) return;
  t.wantResume_ = true;
  armKick();
}

void HttpClient::armKick() {
  if (closing_ || closed_) return;
  uv_timer_start(
      &kick_, [](uv_timer_t* h) { static_cast<HttpClient*>(h->data)->onKick(); }, 0, 0);
}

void HttpClient::onKick() {
  std::vector<TransferPtr> resume;
  std::vector<TransferPtr> failed;
  for (const auto& [raw, t] : transfers_) {
    if (t->cancelled_ || t->finished_) continue;
    if (t->startError_) {
      failed.push_back(t);
    } else if (t->wantResume_) {
      t->wantResume_ = false;
      if (t->paused_) resume.push_back(t);
    }
  }
  for (const auto& t : failed) {
    if (t->cancelled_ || closeRequested_) continue;
    transfers_.erase(t.get());
    deliverComplete(*t, *t->startError_);
  }
  for (const auto& t : resume) {
    if (t->cancelled_ || t->finished_ || !t->added_ || closeRequested_) continue;
    t->paused_ = false;
    t->lastActivity_ = uv_now(loop_);
    ++busy_;
    inCurl_ = true;
    // May call onData right here with the held chunk.
    curl_easy_pause(t->easy_, CURLPAUSE_CONT);
    inCurl_ = false;
    --busy_;
  }
  drain();
}

int HttpClient::socketCallback(void* /*easy*/, int s, int what, void* userp, void* socketp) {
  auto* self = static_cast<HttpClient*>(userp);
  auto* ctx = static_cast<SocketCtx*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    if (ctx) {
      uv_poll_stop(&ctx->poll);
      // During curl_multi_cleanup (closing_) curl must not be called back into.
      if (self->multi_ && !self->closing_) curl_multi_assign(self->multi_, s, nullptr);
      self->sockets_.erase(ctx);
      self->closeUvHandle(reinterpret_cast<uv_handle_t*>(&ctx->poll));
    }
    return 0;
  }
  if (!ctx) {
    ctx = new SocketCtx{self, s, {}};
    if (uv_poll_init_socket(self->loop_, &ctx->poll, s) != 0) {
      delete ctx;
      return -1;
    }
    ctx->poll.data = ctx;
    self->sockets_.insert(ctx);
    curl_multi_assign(self->multi_, s, ctx);
  }
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
  uv_poll_start(&ctx->poll, events, [](uv_poll_t* h, int status, int ev) {
    auto* c = static_cast<SocketCtx*>(h->data);
    int flags = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    if (ev & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (ev & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    c->client->socketAction(c->fd, flags);
  });
  return 0;
}

int HttpClient::timerCallback(void* /*multi*/, long timeoutMs, void* userp) {
  auto* self = static_cast<HttpClient*>(userp);
  if (self->closing_) return 0;
  if (timeoutMs < 0) {
    uv_timer_stop(&self->timer_);
  } else {
    // Never call curl back from inside this callback; a 0 ms timer runs on
    // the next loop iteration.
    uv_timer_start(
        &self->timer_,
        [](uv_timer_t* h) {
          static_cast<HttpClient*>(h->data)->socketAction(CURL_SOCKET_TIMEOUT, 0);
        },
        static_cast<std::uint64_t>(timeoutMs), 0);
  }
  return 0;
}

void HttpClient::socketAction(int fd, int flags) {
  if (closing_ || !multi_) return;
  int running = 0;
  ++busy_;
  inCurl_ = true;
  curl_multi_socket_action(multi_, fd, flags, &running);
  inCurl_ = false;
  --busy_;
  drain();
}

// Runs whatever was deferred while callbacks were on the stack, then
// completions. Loops because completions may start or cancel transfers.
void HttpClient::drain() {
  if (busy_ > 0 || draining_) return;
  draining_ = true;
  for (;;) {
    if (closeRequested_) break;
    bool progress = sweep();
    progress = processDone() || progress;
    if (!progress && !dirty_) break;
  }
  draining_ = false;
  if (closeRequested_ && !closing_) teardown();
}

// Frees cancelled transfers and adds ones started while busy.
bool HttpClient::sweep() {
  if (!dirty_) return false;
  dirty_ = false;
  std::vector<TransferPtr> gone;
  std::vector<TransferPtr> add;
  for (const auto& [raw, t] : transfers_) {
    if (t->cancelled_) {
      gone.push_back(t);
    } else if (!t->added_ && !t->finished_ && !t->startError_) {
      add.push_back(t);
    }
  }
  for (const auto& t : gone) {
    transfers_.erase(t.get());
    removeFromMulti(*t);
  }
  for (const auto& t : add) {
    if (t->cancelled_) continue;
    if (CURLMcode rc = curl_multi_add_handle(multi_, t->easy_); rc == CURLM_OK) {
      t->added_ = true;
    } else {
      t->startError_ = FetchResult{FetchError::Other, curl_multi_strerror(rc)};
      armKick();
    }
  }
  return !gone.empty() || !add.empty();
}

bool HttpClient::processDone() {
  bool any = false;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode rc = msg->data.result;  // msg is invalid after remove_handle
    Transfer* raw = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
    auto it = transfers_.find(raw);
    if (it == transfers_.end()) continue;
    TransferPtr t = it->second;
    finish(t, rc);
    any = true;
    if (closeRequested_) break;
  }
  return any;
}

void HttpClient::finish(const TransferPtr& t, int curlCode) {
  transfers_.erase(t.get());
  if (!t->cancelled_) reportTiming(t->easy_, curlCode == CURLE_OK);
  removeFromMulti(*t);
  if (t->cancelled_) return;
  auto rc = static_cast<CURLcode>(curlCode);
  FetchResult result;
  if (rc == CURLE_OK) {
    // Bodiless responses (HEAD, 204, 304, empty 200) get their head now.
    if (!t->headDelivered_ && !t->deliverHead()) {
      if (t->cancelled_) return;
      result = {FetchError::Aborted, "response declined"};
    }
  } else if (t->declined_) {
    result = {FetchError::Aborted, "response declined"};
  } else {
    result = mapCurlError(rc, t->errbuf_);
  }
  deliverComplete(*t, result);
}

void HttpClient::reportTiming(void* easy, bool ok) {
  if (!onTransferDone_) return;
  curl_off_t firstByteUs = 0;
  curl_off_t totalUs = 0;
  curl_easy_getinfo(static_cast<CURL*>(easy), CURLINFO_STARTTRANSFER_TIME_T, &firstByteUs);
  curl_easy_getinfo(static_cast<CURL*>(easy), CURLINFO_TOTAL_TIME_T, &totalUs);
  TransferTiming timing;
  timing.firstByteSeconds = static_cast<double>(firstByteUs) / 1e6;
  timing.totalSeconds = static_cast<double>(totalUs) / 1e6;
  timing.ok = ok;
  onTransferDone_(timing);
}

void HttpClient::deliverComplete(Transfer& t, const FetchResult& result) {
  t.finished_ = true;
  // Moved out so the owner may drop its handle (or everything) from inside.
  auto done = std::move(t.cb_.onComplete);
  if (done) {
    ++busy_;
    done(result);
    --busy_;
  }
}

void HttpClient::onIdleTick() {
  if (transfers_.empty()) {
    uv_timer_stop(&idle_);
    idleRunning_ = false;
    return;
  }
  std::uint64_t now = uv_now(loop_);
  std::vector<TransferPtr> stalled;
  for (const auto& [raw, t] : transfers_) {
    if (t->added_ && !t->paused_ && !t->cancelled_ && !t->finished_ && t->idleMs_ > 0 &&
        now - t->lastActivity_ >= t->idleMs_) {
      stalled.push_back(t);
    }
  }
  for (const auto& t : stalled) {
    if (t->cancelled_ || t->finished_ || closeRequested_) continue;
    transfers_.erase(t.get());
    removeFromMulti(*t);
    deliverComplete(
        *t, {FetchError::Timeout, "no data received for " + std::to_string(t->idleMs_) + " ms"});
  }
  drain();
}

void HttpClient::close(std::function<void()> done) {
  if (closed_) {
    if (done) done();
    return;
  }
  if (done) closeDone_.push_back(std::move(done));
  if (closeRequested_) return;
  closeRequested_ = true;
  // No callback of any transfer may run from now on.
  for (const auto& [raw, t] : transfers_) t->cancelled_ = true;
  if (busy_ == 0 && !draining_) teardown();
  // Otherwise drain() tears down once the stack unwinds.
}

void HttpClient::teardown() {
  closing_ = true;
  auto all = std::move(transfers_);
  transfers_.clear();
  for (auto& [raw, t] : all) removeFromMulti(*t);
  all.clear();
  if (multi_) {
    // May report sockets through socketCallback; those close their polls.
    CURLM* m = static_cast<CURLM*>(multi_);
    curl_multi_cleanup(m);
    multi_ = nullptr;
  }
  uv_timer_stop(&timer_);
  uv_timer_stop(&kick_);
  uv_timer_stop(&idle_);
  for (SocketCtx* ctx : sockets_) {
    uv_poll_stop(&ctx->poll);
    closeUvHandle(reinterpret_cast<uv_handle_t*>(&ctx->poll));
  }
  sockets_.clear();
  closeUvHandle(reinterpret_cast<uv_handle_t*>(&timer_));
  closeUvHandle(reinterpret_cast<uv_handle_t*>(&kick_));
  closeUvHandle(reinterpret_cast<uv_handle_t*>(&idle_));
}

void HttpClient::closeUvHandle(uv_handle_t* h) {
  ++pendingCloses_;
  uv_close(h, [](uv_handle_t* handle) {
    HttpClient* self = nullptr;
    if (handle->type == UV_POLL) {
      auto* ctx = static_cast<SocketCtx*>(handle->data);
      self = ctx->client;
      delete ctx;
    } else {
      self = static_cast<HttpClient*>(handle->data);
    }
    self->onUvHandleClosed();
  });
}

void HttpClient::onUvHandleClosed() {
  if (--pendingCloses_ > 0 || !closing_) return;
  closed_ = true;
  auto dones = std::move(closeDone_);
  closeDone_.clear();
  // The last thing we touch: a done callback may destroy this client.
  for (auto& d : dones) d();
}

}  // namespace hoard
