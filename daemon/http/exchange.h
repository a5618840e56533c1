#pragma once
// One request/response on a connection, handed to the Handler.
//
// Lifetime: the Exchange is owned by its Connection and stays valid until the
// handler's RequestContext (setContext) has been destroyed. The exchange ends
// after the response is fully flushed, or when the client goes away / the
// connection is closed; it then destroys the context (which must cancel
// everything it started) on a fresh loop turn, never inside a call made by the
// context. After `closed()` becomes true every response call is a no-op.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/http/output_queue.h"
#include "daemon/http/request.h"

namespace hoard::http {

class Connection;

class RequestContext {
 public:
  virtual ~RequestContext() = default;
};
using RequestContextPtr = std::unique_ptr<RequestContext>;

class Exchange {
 public:
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  const Request& request() const { return request_; }
  // Moves the request body out (it can be megabytes; see BodyPolicy).
  std::string takeRequestBody() { return std::exchange(request_.body, std::string()); }
  bool isHead() const { return isHead_; }
  void setContext(RequestContextPtr ctx) { context_ = std::move(ctx); }

  // Response head. contentLength nullopt => chunked (HTTP/1.1) or close-delimited
  // (HTTP/1.0). Adds Date (unless given), Content-Length / Transfer-Encoding and
  // Connection; drops any of those three passed in `headers`. Once only.
  void sendHead(int status, Headers headers, std::optional<std::uint64_t> contentLength);
  // Queued; bytes beyond a declared Content-Length are dropped (and the
  // connection closes after the response). Dropped for HEAD / 204 / 304.
  void sendBody(std::string data);
  // Zero-copy; the caller keeps fd open until the exchange ends.
  void sendFile(int fd, std::uint64_t offset, std::uint64_t length);
  // The body is complete. A body shorter than the declared Content-Length is
  // sent as it is and the connection closed, so the client sees a truncation.
  void finish();
  // Cuts the response off: drops the queue and closes the connection now, so
  // the client sees a short body / missing terminator, never a complete response.
  void abort();
  void respond(int status, Headers headers, std::string body);

  std::uint64_t queuedBytes() const { return out_.bytes(); }
  // Called on a fresh stack when the queue drains below the low watermark
  // after having been at or above it, and whenever it becomes empty.
  void setOnDrained(std::function<void()> fn) { onDrained_ = std::move(fn); }
  bool closed() const { return closed_; }
  void setLogField(std::string key, std::string value) {
    logFields_.emplace_back(std::move(key), std::move(value));
  }

  // Additions beyond the agreed API:
  void setLowWatermark(std::uint64_t bytes) { lowWatermark_ = bytes; }
  bool headSent() const { return headSent_; }

 private:
  friend class Connection;
  enum class Framing : std::uint8_t { None, Length, Chunked, Close };

  explicit Exchange(Connection& conn) : conn_(conn) {}
  ~Exchange() = default;

  // Connection side.
  void begin(bool keepAlive, bool isHead, std::uint64_t startNs);
  void noteEnqueued();
  void noteProgress();
  bool responseComplete() const { return finished_ && out_.empty(); }
  // Ends the exchange: destroys the context, writes the access log.
  void end(bool aborted);
  void reset();
  void queueChunkHeader(std::uint64_t size);

  Connection& conn_;
  Request request_;
  RequestContextPtr context_;
  std::function<void()> onDrained_;
  std::vector<std::pair<std::string, std::string>> logFields_;
  std::string head_;
  OutputQueue out_;
  std::uint64_t lowWatermark_ = 1 << 20;
  std::uint64_t declared_ = 0;
  std::uint64_t bodyQueued_ = 0;
  std::uint64_t bodyWritten_ = 0;
  std::uint64_t startNs_ = 0;
  int status_ = 0;
  Framing framing_ = Framing::None;
  bool active_ = false;
  bool isHead_ = false;
  bool keepAlive_ = false;
  bool headSent_ = false;
  bool finished_ = false;
  bool closed_ = false;
  bool aborted_ = false;
  bool aboveWatermark_ = false;
  bool nonEmpty_ = false;
  bool endScheduled_ = false;
};

// Installs a request context on the exchange (which then owns it) and starts
// it: `start()` may answer synchronously, so the context must be owned first.
template <class Context, class... Args>
void startContext(Exchange& ex, Args&&... args) {
  auto ctx = std::make_unique<Context>(std::forward<Args>(args)...);
  auto* raw = ctx.get();
  ex.setContext(std::move(ctx));
  raw->start();
}

}  // namespace hoard::http
