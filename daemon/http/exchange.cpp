#include "daemon/http/exchange.h"

#include <uv.h>

#include <charconv>

#include "daemon/http/connection.h"
#include "daemon/http/status_text.h"

namespace hoard::http {
namespace {

// Streamed bodies are flushed right away once this much is queued; below it,
// the flush waits for the end of the loop turn so that head and small bodies
// leave in one sendmsg().
constexpr std::uint64_t kEagerFlushBytes = 256UL * 1024;

bool iequals(std::string_view a, std::string_view lowercase) {
  if (a.size() != lowercase.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lowercase[i]) return false;
  }
  return true;
}

void appendNumber(std::string& out, std::uint64_t v, int base = 10) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v, base);
  out.append(buf, res.ptr);
}

bool hasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

}  // namespace

void Exchange::begin(bool keepAlive, bool isHead, std::uint64_t startNs) {
  active_ = true;
  keepAlive_ = keepAlive;
  isHead_ = isHead;
  startNs_ = startNs;
}

// `headers` by value is the agreed API (callers move in); only read here.
void Exchange::sendHead(int status, Headers headers,  // NOLINT(performance-unnecessary-value-param)
                        std::optional<std::uint64_t> contentLength) {
  if (!active_ || closed_ || headSent_) return;
  headSent_ = true;
  status_ = status;
  if (conn_.serverShuttingDown()) keepAlive_ = false;
  const bool bodyForbidden = status < 200 || status == 204 || status == 304;

  head_.clear();
  head_ += "HTTP/1.1 ";
  appendNumber(head_, static_cast<std::uint64_t>(status));
  head_ += ' ';
  head_ += reasonPhrase(status);
  head_ += "\r\n";
  bool haveDate = false;
  for (const Header& h : headers) {
    // Framing is ours: a handler's Content-Length or Connection could desync the client.
    if (iequals(h.name, "content-length") || iequals(h.name, "transfer-encoding") ||
        iequals(h.name, "connection") || h.name.empty()) {
      continue;
    }
    if (hasLineBreak(h.name) || hasLineBreak(h.value)) continue;  // no response splitting
    if (iequals(h.name, "date")) haveDate = true;
    head_ += h.name;
    head_ += ": ";
    head_ += h.value;
    head_ += "\r\n";
  }
  if (!haveDate) {
    head_ += "Date: ";
    head_ += conn_.date();
    head_ += "\r\n";
  }
  if (contentLength) {
    framing_ = Framing::Length;
    declared_ = *contentLength;
    if (status >= 200 && status != 204) {
      head_ += "Content-Length: ";
      appendNumber(head_, *contentLength);
      head_ += "\r\n";
    }
  } else if (bodyForbidden) {
    framing_ = Framing::None;
  } else if (request_.versionMinor >= 1) {
    framing_ = Framing::Chunked;
    head_ += "Transfer-Encoding: chunked\r\n";
  } else {
    framing_ = Framing::Close;
    if (!isHead_) keepAlive_ = false;  // the body ends where the connection does
  }
  if (isHead_ || bodyForbidden) framing_ = Framing::None;
  head_ += keepAlive_ ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  out_.pushBorrowed(&head_, false);
  noteEnqueued();
  conn_.scheduleFlush();
}

void Exchange::queueChunkHeader(std::uint64_t size) {
  std::string line;
  appendNumber(line, size, 16);
  line += "\r\n";
  out_.pushMemory(std::move(line), false);
}

void Exchange::sendBody(std::string data) {
  if (!active_ || closed_ || !headSent_ || finished_) return;
  if (framing_ == Framing::None || data.empty()) return;
  if (framing_ == Framing::Length) {
    std::uint64_t room = declared_ - bodyQueued_;
    if (data.size() > room) {
      data.resize(static_cast<std::size_t>(room));
      keepAlive_ = false;
      aborted_ = true;
    }
    if (data.empty()) return;
  }
  bodyQueued_ += data.size();
  if (framing_ == Framing::Chunked) {
    queueChunkHeader(data.size());
    out_.pushMemory(std::move(data), true);
    out_.pushMemory("\r\n", false);
  } else {
    out_.pushMemory(std::move(data), true);
  }
  noteEnqueued();
  if (out_.bytes() >= kEagerFlushBytes) {
    conn_.flushNow();
  } else {
    conn_.scheduleFlush();
  }
}

void Exchange::sendFile(int fd, std::uint64_t offset, std::uint64_t length) {
  if (!active_ || closed_ || !headSent_ || finished_) return;
  if (framing_ == Framing::None || length == 0 || fd < 0) return;
  if (framing_ == Framing::Length) {
    std::uint64_t room = declared_ - bodyQueued_;
    if (length > room) {
      length = room;
      keepAlive_ = false;
      aborted_ = true;
    }
    if (length == 0) return;
  }
  bodyQueued_ += length;
  if (framing_ == Framing::Chunked) {
    queueChunkHeader(length);
    out_.pushFile(fd, offset, length, true);
    out_.pushMemory("\r\n", false);
  } else {
    out_.pushFile(fd, offset, length, true);
  }
  noteEnqueued();
  conn_.flushNow();
}

void Exchange::finish() {
  if (!active_ || closed_ || finished_) return;
  if (!headSent_) {  // nothing valid to finish
    abort();
    return;
  }
  finished_ = true;
  if (framing_ == Framing::Length && bodyQueued_ < declared_) {
    keepAlive_ = false;  // the close after the short body tells the client it was cut
    aborted_ = true;
  }
  if (framing_ == Framing::Chunked) {
    out_.pushMemory("0\r\n\r\n", false);
    noteEnqueued();
  }
  conn_.flushNow();
}

void Exchange::abort() {
  if (!active_ || closed_) return;
  aborted_ = true;
  conn_.closeNow();
}

void Exchange::respond(int status, Headers headers, std::string body) {
  std::uint64_t size = body.size();
  sendHead(status, std::move(headers), size);
  sendBody(std::move(body));
  finish();
}

void Exchange::noteEnqueued() {
  nonEmpty_ = true;
  if (out_.bytes() >= lowWatermark_) aboveWatermark_ = true;
}

void Exchange::noteProgress() {
  std::uint64_t queued = out_.bytes();
  bool notify = false;
  if (aboveWatermark_ && queued < lowWatermark_) {
    aboveWatermark_ = false;
    notify = true;
  }
  if (queued == 0 && nonEmpty_) {
    nonEmpty_ = false;
    notify = true;
  }
  if (notify && onDrained_ && !finished_) conn_.deferOp(Connection::kDrained);
}

void Exchange::end(bool aborted) {
  if (!active_) return;
  active_ = false;
  aborted_ = aborted_ || aborted;
  // Destroying the context cancels whatever it started; the handler promised
  // not to touch the exchange after that.
  RequestContextPtr ctx = std::move(context_);
  ctx.reset();
  onDrained_ = nullptr;
}

void Exchange::reset() {
  request_.method.clear();
  request_.target.clear();
  request_.path.clear();
  request_.query.clear();
  request_.headers.clear();
  // Freed, not cleared: a rare request's megabytes should not stay with the connection.
  std::string().swap(request_.body);
  request_.versionMinor = 1;
  context_.reset();
  onDrained_ = nullptr;
  logFields_.clear();
  out_.clear();
  declared_ = bodyQueued_ = bodyWritten_ = 0;
  startNs_ = 0;
  status_ = 0;
  framing_ = Framing::None;
  active_ = isHead_ = keepAlive_ = headSent_ = finished_ = closed_ = aborted_ = false;
  aboveWatermark_ = nonEmpty_ = endScheduled_ = false;
  lowWatermark_ = 1 << 20;
}

}  // namespace hoard::http
