#include "daemon/http/connection.h"

#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "daemon/http/server.h"

namespace hoard::http {
namespace {

constexpr int kMaxIov = 64;
constexpr std::uint64_t kMaxLingerBytes = 1 << 20;

Connection* self(llhttp_t* p) {
  return static_cast<Connection*>(p->data);
}

}  // namespace

Connection::Connection(Server& server, int fd, std::string peer)
    : server_(server),
      fd_(fd),
      peer_(std::move(peer)),
      exchange_(*this),
      buf_(new char[server.limits_.readBufferBytes]),
      cap_(server.limits_.readBufferBytes) {
  llhttp_init(&parser_, HTTP_REQUEST, &parserSettings());
  parser_.data = this;
  poll_.data = this;
  timer_.data = this;
  work_.data = this;
}

Connection::~Connection() = default;

const llhttp_settings_t& Connection::parserSettings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = &Connection::onMessageBegin;
    s.on_url = &Connection::onUrl;
    s.on_url_complete = &Connection::onUrlComplete;
    s.on_header_field = &Connection::onHeaderField;
    s.on_header_field_complete = &Connection::onHeaderFieldComplete;
    s.on_header_value = &Connection::onHeaderValue;
    s.on_header_value_complete = &Connection::onHeaderValueComplete;
    s.on_headers_complete = &Connection::onHeadersComplete;
    s.on_body = &Connection::onBody;
    s.on_message_complete = &Connection::onMessageComplete;
    return s;
  }();
  return settings;
}

bool Connection::start() {
  if (uv_poll_init_socket(server_.loop_, &poll_, fd_) != 0) return false;
  uv_timer_init(server_.loop_, &timer_);
  handlesOpen_ = 2;
  setTimer(TimerMode::Idle);
  updatePoll();
  return true;
}

// ---- parsing ---------------------------------------------------------------

int Connection::fail(int status, const char* message) {
  errorStatus_ = status;
  errorMessage_ = message;
  return -1;
}

int Connection::onMessageBegin(llhttp_t* p) {
  Connection* c = self(p);
  c->messageBegun_ = true;
  c->headerBytes_ = 0;
  c->fieldOpen_ = false;
  c->exchange_.startNs_ = uv_hrtime();
  c->setTimer(TimerMode::Header);
  return 0;
}

int Connection::onUrl(llhttp_t* p, const char* at, std::size_t len) {
  Connection* c = self(p);
  std::string& target = c->exchange_.request_.target;
  if (target.size() + len > c->server_.limits_.maxRequestLineBytes) {
    c->fail(414, "request target too long");
    return HPE_USER;
  }
  target.append(at, len);
  return 0;
}

int Connection::onUrlComplete(llhttp_t* p) {
  Request& r = self(p)->exchange_.request_;
  std::string_view t = r.target;
  auto q = t.find('?');
  if (q == std::string_view::npos) {
    r.path.assign(t);
  } else {
    r.path.assign(t.substr(0, q));
    r.query.assign(t.substr(q + 1));
  }
  return 0;
}

int Connection::onHeaderField(llhttp_t* p, const char* at, std::size_t len) {
  Connection* c = self(p);
  const ServerLimits& limits = c->server_.limits_;
  Headers& headers = c->exchange_.request_.headers;
  c->headerBytes_ += len;
  if (c->headerBytes_ > limits.maxHeaderBytes) {
    c->fail(431, "request headers too large");
    return HPE_USER;
  }
  if (!c->fieldOpen_) {
    if (headers.size() >= limits.maxHeaderCount) {
      c->fail(431, "too many request headers");
      return HPE_USER;
    }
    headers.emplace_back();
    c->fieldOpen_ = true;
    c->headerBytes_ += 4;  // ": " and CRLF
  }
  std::string& name = headers.back().name;
  for (std::size_t i = 0; i < len; ++i) {
    char ch = at[i];
    name.push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch);
  }
  return 0;
}

int Connection::onHeaderFieldComplete(llhttp_t* p) {
  self(p)->fieldOpen_ = false;
  return 0;
}

int Connection::onHeaderValue(llhttp_t* p, const char* at, std::size_t len) {
  Connection* c = self(p);
  c->headerBytes_ += len;
  if (c->headerBytes_ > c->server_.limits_.maxHeaderBytes) {
    c->fail(431, "request headers too large");
    return HPE_USER;
  }
  c->exchange_.request_.headers.back().value.append(at, len);
  return 0;
}

int Connection::onHeaderValueComplete(llhttp_t* p) {
  Headers& headers = self(p)->exchange_.request_.headers;
  if (headers.empty()) return 0;
  std::string& v = headers.back().value;
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  return 0;
}

int Connection::onHeadersComplete(llhttp_t* p) {
  Connection* c = self(p);
  Request& r = c->exchange_.request_;
  r.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  r.versionMinor = p->http_minor;
  c->keepAliveHint_ = llhttp_should_keep_alive(p) != 0;
  if (p->http_major != 1) return c->fail(505, "HTTP version not supported");
  // hoard is a mirror: GET and HEAD, bodiless POST to the maintenance
  // endpoints, and whatever the server's BodyPolicy admits (npm audit).
  const bool admitted = c->server_.admitsBody(r);
  const bool adminPost = p->method == HTTP_POST && r.path.starts_with("/-/admin/");
  if (p->method != HTTP_GET && p->method != HTTP_HEAD && !adminPost && !admitted) {
    return c->fail(405, "method not allowed");
  }
  if ((p->flags & F_CONTENT_LENGTH) && (p->flags & (F_TRANSFER_ENCODING | F_CHUNKED))) {
    return c->fail(400, "both Content-Length and Transfer-Encoding");
  }
  // Elsewhere a body has no meaning and would have to be drained to keep the
  // connection; refuse it instead.
  const bool hasBody = (p->flags & (F_TRANSFER_ENCODING | F_CHUNKED)) || p->content_length > 0;
  if (hasBody && !admitted) return c->fail(400, "request body not allowed");
  if (p->http_minor >= 1) {  // RFC 9112 3.2: a 1.1 request without Host is a 400
    bool present = false;
    for (const Header& h : r.headers) present = present || h.name == "host";
    if (!present) return c->fail(400, "missing Host header");
  }
  return hasBody ? c->beginBody(p) : 0;
}

int Connection::beginBody(const llhttp_t* p) {
  const ServerLimits& limits = server_.limits_;
  const bool chunked = (p->flags & (F_TRANSFER_ENCODING | F_CHUNKED)) != 0;
  if (!chunked && p->content_length > limits.maxRequestBodyBytes) {
    return fail(413, "request body too large");
  }
  // A declared length is only a claim: reserve a little, grow as bytes come.
  constexpr std::uint64_t kReserveCap = 256UL * 1024;
  if (!chunked) {
    exchange_.request_.body.reserve(
        static_cast<std::size_t>(std::min<std::uint64_t>(p->content_length, kReserveCap)));
  }
  setTimer(TimerMode::Body);
  auto expect = exchange_.request_.header("expect");
  if (p->http_minor >= 1 && expect.size() == 12 &&
      strncasecmp(expect.data(), "100-continue", 12) == 0 && !sendContinue()) {
    return -1;  // closed: the interim response could not be written whole
  }
  return 0;
}

// Best effort, never blocks: in ReadingHead the previous response has been
// flushed, so an empty socket buffer takes these 25 bytes whole. A client that
// gets no 100 (EAGAIN) sends its body after its own short wait anyway.
bool Connection::sendContinue() {
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  ssize_t n = ::send(fd_, kContinue.data(), kContinue.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0 || static_cast<std::size_t>(n) == kContinue.size()) return true;
  closeNow();  // half an interim response: the connection is unusable
  return false;
}

int Connection::onBody(llhttp_t* p, const char* at, std::size_t len) {
  Connection* c = self(p);
  std::string& body = c->exchange_.request_.body;
  if (body.size() + len > c->server_.limits_.maxRequestBodyBytes) {
    c->fail(413, "request body too large");
    return HPE_USER;
  }
  body.append(at, len);
  return 0;
}

int Connection::onMessageComplete(llhttp_t*) {
  // Pause so that llhttp_execute returns right after this request; the rest
  // of the buffer (pipelined requests) is parsed only after the response.
  return HPE_PAUSED;
}

void Connection::parseBuffered() {
  const char* start = buf_.get() + pos_;
  llhttp_errno_t err = llhttp_execute(&parser_, start, end_ - pos_);
  if (err == HPE_OK) {
    pos_ = end_ = 0;  // everything consumed into the request; wait for more
    return;
  }
  if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
    pos_ += static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - start);
    dispatch();
    return;
  }
  pos_ = end_ = 0;
  if (errorStatus_ != 0) {
    respondError(errorStatus_, errorMessage_);
  } else {
    respondError(400, "malformed request");
  }
}

void Connection::dispatch() {
  state_ = State::Handling;
  setTimer(TimerMode::None);
  messageBegun_ = false;
  exchange_.request_.peer = peer_;
  exchange_.begin(keepAliveHint_ && !server_.shuttingDown(), exchange_.request_.method == "HEAD",
                  exchange_.startNs_);
  updatePoll();
  try {
    server_.handler_(exchange_);
  } catch (...) {
    // No exceptions on the request path, but a throwing handler must not take
    // the loop down.
    if (exchange_.closed_) return;
    if (!exchange_.headSent_) {
      exchange_.respond(500, {{"content-type", "application/json"}},
                        server_.formatError(500, "internal error"));
    } else {
      exchange_.abort();
    }
  }
}

void Connection::respondError(int status, std::string_view message) {
  if (closing_) return;
  state_ = State::Handling;
  setTimer(TimerMode::None);
  messageBegun_ = false;
  if (exchange_.startNs_ == 0) exchange_.startNs_ = uv_hrtime();
  exchange_.request_.peer = peer_;
  exchange_.begin(false, false, exchange_.startNs_);
  Headers headers{{"content-type", "application/json"}};
  if (status == 405) headers.push_back({"allow", "GET, HEAD"});
  exchange_.respond(status, std::move(headers),
                    server_.formatError(status, message, exchange_.request_.target));
  updatePoll();
}

// ---- socket events ---------------------------------------------------------

void Connection::onPoll(uv_poll_t* handle, int status, int events) {
  auto* c = static_cast<Connection*>(handle->data);
  if (c->closing_) return;
  if (status < 0) {
    c->closeNow();
    return;
  }
  if (events & UV_WRITABLE) c->onWritable();
  if (!c->closing_ && (events & UV_READABLE)) c->onReadable();
}

void Connection::onReadable() {
  if (state_ == State::Lingering) {
    for (;;) {
      ssize_t n = ::read(fd_, buf_.get(), cap_);
      if (n > 0) {
        lingerBytes_ += static_cast<std::uint64_t>(n);
        if (lingerBytes_ > kMaxLingerBytes) break;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      break;  // EOF or error: the client is done
    }
    closeNow();
    return;
  }
  if (end_ == cap_ && pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == cap_) {  // pipelined input waits for the current response
    updatePoll();
    return;
  }
  ssize_t n = ::read(fd_, buf_.get() + end_, cap_ - end_);
  if (n > 0) {
    end_ += static_cast<std::size_t>(n);
    if (state_ == State::ReadingHead) {
      parseBuffered();
    } else {
      updatePoll();
    }
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  // EOF or reset. Between requests this is the normal end of a keep-alive
  // connection; during an exchange it means the client gave up (half-closing
  // HTTP clients are not supported, like nginx in front of an upstream).
  closeNow();
}

void Connection::onWritable() {
  wantWrite_ = false;
  flush();
  updatePoll();
}

// ---- writing ---------------------------------------------------------------

void Connection::scheduleFlush() {
  deferOp(kFlush);
}

void Connection::flushNow() {
  flush();
  updatePoll();
}

void Connection::flush() {
  if (closing_ || jobInFlight_ || state_ != State::Handling) return;
  OutputQueue& q = exchange_.out_;
  bool progressed = false;
  while (!q.empty()) {
    if (q.front().isFile()) {
      if (progressed) exchange_.noteProgress();
      startJob();
      return;
    }
    iovec iov[kMaxIov];
    std::size_t total = 0;
    bool fileFollows = false;
    int n = q.gather(iov, kMaxIov, &total, &fileFollows);
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(n);
    // MSG_MORE keeps the head in the socket until sendfile adds the body to it.
    ssize_t w = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | (fileFollows ? MSG_MORE : 0));
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (progressed) exchange_.noteProgress();
        waitWritable(progressed);
        return;
      }
      closeNow();  // EPIPE / ECONNRESET: the client went away
      return;
    }
    exchange_.bodyWritten_ += q.consumeMemory(static_cast<std::size_t>(w));
    progressed = true;
    if (static_cast<std::size_t>(w) < total) {  // socket buffer full
      exchange_.noteProgress();
      waitWritable(true);
      return;
    }
  }
  if (progressed) exchange_.noteProgress();
  afterQueueEmpty();
}

void Connection::afterQueueEmpty() {
  wantWrite_ = false;
  if (timerMode_ == TimerMode::Stall) setTimer(TimerMode::None);
  if (exchange_.active_ && exchange_.finished_ && !exchange_.endScheduled_) {
    exchange_.endScheduled_ = true;
    deferOp(kEndExchange);
  }
}

void Connection::waitWritable(bool progressed) {
  wantWrite_ = true;
  if (progressed || timerMode_ != TimerMode::Stall) setTimer(TimerMode::Stall);
  updatePoll();
}

void Connection::startJob() {
  const OutputQueue::Item& item = exchange_.out_.front();
  jobFile_ = item.fd;
  jobOffset_ = item.fileOffset;
  jobLength_ = item.fileRemaining;
  jobBody_ = item.body;
  jobResult_ = {};
  jobInFlight_ = true;
  wantWrite_ = false;
  // A job blocked on the disk is not a stalled client.
  if (timerMode_ == TimerMode::Stall) setTimer(TimerMode::None);
  updatePoll();
  if (uv_queue_work(server_.loop_, &work_, &Connection::onWork, &Connection::onWorkDone) != 0) {
    jobInFlight_ = false;
    closeNow();
  }
}

void Connection::onWork(uv_work_t* req) {
  // Threadpool: touches only the job fields, which the loop thread leaves alone
  // while jobInFlight_ is set.
  auto* c = static_cast<Connection*>(req->data);
  c->jobResult_ = sendRange(c->fd_, c->jobFile_, c->jobOffset_, c->jobLength_);
}

void Connection::onWorkDone(uv_work_t* req, int status) {
  static_cast<Connection*>(req->data)->onJobDone(status);
}

void Connection::onJobDone(int status) {
  jobInFlight_ = false;
  if (closing_) {
    // The queue was cleared when the connection began closing (the client
    // may close as soon as it has the last byte); what the job sent still
    // counts for the access log.
    if (status == 0 && jobBody_) exchange_.bodyWritten_ += jobResult_.sent;
    deferOp(kFinalize);  // finalize was waiting for the job
    return;
  }
  if (status != 0) {
    closeNow();
    return;
  }
  const SendRangeResult r = jobResult_;
  exchange_.bodyWritten_ += exchange_.out_.consumeFile(r.sent);
  // A queue of file ranges alone drains here, not in flush(): the handler
  // waiting in onDrained must hear of it, or it waits forever.
  if (r.sent > 0) exchange_.noteProgress();
  if (r.error == 0) {
    flush();
    updatePoll();
  } else if (r.error == EAGAIN) {
    exchange_.noteProgress();
    waitWritable(r.sent > 0);
  } else {
    // File shorter than promised, read error or the client went away: the
    // response cannot be completed, so cut it.
    exchange_.aborted_ = true;
    closeNow();
  }
}

// ---- exchange end, closing -------------------------------------------------

void Connection::deferOp(std::uint8_t op) {
  server_.defer(this, op);
}

std::string_view Connection::date() {
  return server_.date_.now();
}

bool Connection::serverShuttingDown() const {
  return server_.shuttingDown();
}

void Connection::runDeferred(std::uint8_t ops) {
  if (!closing_) {
    if (ops & kFlush) flushNow();
    if ((ops & kDrained) && !closing_ && exchange_.active_ && exchange_.onDrained_) {
      // Moved out so that the callback may replace (or clear) itself.
      std::function<void()> fn = std::move(exchange_.onDrained_);
      exchange_.onDrained_ = nullptr;
      fn();
      if (!exchange_.onDrained_ && exchange_.active_) exchange_.onDrained_ = std::move(fn);
    }
    if ((ops & kEndExchange) && !closing_) endExchange();
  }
  if (ops & kFinalize) finalize();
}

void Connection::endExchange() {
  if (!exchange_.active_ || !exchange_.responseComplete()) return;
  const bool closeAfter = !exchange_.keepAlive_ || server_.shuttingDown();
  exchange_.end(false);
  writeAccessLog();
  if (closing_) return;
  if (closeAfter) {
    startLinger();
    return;
  }
  exchange_.reset();
  state_ = State::ReadingHead;
  errorStatus_ = 0;
  setTimer(TimerMode::Idle);
  // Reset rather than resume: we paused exactly at the end of a message, and a
  // resumed parser would still act on an Upgrade header we chose to ignore.
  llhttp_reset(&parser_);
  if (pos_ < end_) {
    parseBuffered();
  } else {
    pos_ = end_ = 0;
  }
  updatePoll();
}

void Connection::writeAccessLog() {
  if (!server_.accessLogger_) return;
  const Exchange& ex = exchange_;
  ExchangeLog log;
  log.client = peer_;
  log.method = ex.request_.method;
  log.target = ex.request_.target;
  log.status = ex.status_;
  log.bodyBytes = ex.bodyWritten_;
  log.durationMs = static_cast<double>(uv_hrtime() - ex.startNs_) / 1e6;
  log.fields = std::move(exchange_.logFields_);
  log.aborted = ex.aborted_;
  server_.accessLogger_(log);
}

void Connection::startLinger() {
  state_ = State::Lingering;
  ::shutdown(fd_, SHUT_WR);
  pos_ = end_ = 0;
  setTimer(TimerMode::Linger);
  updatePoll();
}

void Connection::onServerShutdown() {
  if (closing_) return;
  if (state_ == State::ReadingHead && !messageBegun_ && pos_ == end_) closeNow();
}

void Connection::closeNow() {
  if (closing_) return;
  closing_ = true;
  exchange_.closed_ = true;
  // Decided before the queue is dropped: an emptied queue looks "flushed".
  if (exchange_.active_ && !exchange_.responseComplete()) exchange_.aborted_ = true;
  wantWrite_ = false;
  uv_timer_stop(&timer_);
  timerMode_ = TimerMode::None;
  if (pollMask_ != 0) {
    uv_poll_stop(&poll_);
    pollMask_ = 0;
  }
  // The client sees the end now, even while a sendfile job still runs (it
  // fails fast with EPIPE); the descriptor itself is closed once the job is back.
  ::shutdown(fd_, SHUT_RDWR);
  exchange_.out_.clear();
  deferOp(kFinalize);
}

void Connection::finalize() {
  if (jobInFlight_ || finalized_) return;
  finalized_ = true;
  if (exchange_.active_) {
    exchange_.end(exchange_.aborted_);
    writeAccessLog();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), &Connection::onHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Connection::onHandleClosed);
}

void Connection::onHandleClosed(uv_handle_t* handle) {
  auto* c = static_cast<Connection*>(handle->data);
  if (--c->handlesOpen_ == 0) c->server_.connectionClosed(c);
}

// ---- timer and poll bookkeeping --------------------------------------------

void Connection::setTimer(TimerMode mode) {
  timerMode_ = mode;
  const ServerLimits& l = server_.limits_;
  std::uint64_t ms = 0;
  switch (mode) {
    case TimerMode::None:
      uv_timer_stop(&timer_);
      return;
    case TimerMode::Idle:
      ms = l.idleTimeoutMs;
      break;
    case TimerMode::Header:
      ms = l.headerTimeoutMs;
      break;
    case TimerMode::Body:
      ms = l.bodyTimeoutMs;
      break;
    case TimerMode::Stall:
      ms = l.writeStallTimeoutMs;
      break;
    case TimerMode::Linger:
      ms = l.lingerTimeoutMs;
      break;
  }
  uv_timer_start(&timer_, &Connection::onTimer, ms, 0);
}

void Connection::onTimer(uv_timer_t* handle) {
  auto* c = static_cast<Connection*>(handle->data);
  TimerMode mode = std::exchange(c->timerMode_, TimerMode::None);
  if (c->closing_) return;
  if (mode == TimerMode::Header && c->state_ == State::ReadingHead) {
    c->respondError(408, "timed out reading the request head");
    return;
  }
  if (mode == TimerMode::Body && c->state_ == State::ReadingHead) {
    c->respondError(408, "timed out reading the request body");
    return;
  }
  c->closeNow();  // idle keep-alive, stalled writer, lingering client
}

void Connection::updatePoll() {
  if (closing_) return;
  int mask = 0;
  switch (state_) {
    case State::ReadingHead:
    case State::Lingering:
      mask = UV_READABLE;
      break;
    case State::Handling:
      // Keep reading while a handler works so that a vanished client is
      // noticed; stop when the buffer is full of pipelined requests.
      if (end_ < cap_ || pos_ > 0) mask = UV_READABLE;
      break;
  }
  if (wantWrite_) mask |= UV_WRITABLE;
  if (mask == pollMask_) return;
  pollMask_ = mask;
  if (mask == 0) {
    uv_poll_stop(&poll_);
  } else {
    uv_poll_start(&poll_, mask, &Connection::onPoll);
  }
}

}  // namespace hoard::http
