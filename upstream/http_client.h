#pragma once
// HTTP client for upstream fetches: libcurl's multi-socket interface driven by
// the caller's libuv loop. No threads; every callback runs on the loop thread.
//
// One curl multi handle per client, so connections (and TLS sessions) are
// reused across transfers to the same host.
//
// Must survive: the owner cancelling (or dropping the Handle) from inside any
// of its own callbacks, close() from inside a callback, a transfer paused for
// an arbitrary time, curl closing a socket and reopening the same fd number,
// redirects to another host (Authorization is dropped there; see tests).
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cache/cancel.h"

namespace hoard {

struct HttpHeader {
  std::string name;  // lowercased in responses
  std::string value;
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD (no body is read) or POST (sends `body`)
  std::string url;
  std::vector<HttpHeader> headers;  // e.g. Accept, Authorization, Content-Type for a POST
  // POST only: sent as it is with its length (the transfer keeps its own copy);
  // set Content-Type (and Content-Encoding) in `headers`. No Expect: 100-continue.
  std::string body;
  // Registries answer blob GETs with a 307 to a CDN. A custom Authorization
  // header is never sent to a host other than the original URL's.
  bool followRedirects = false;
  long maxRedirects = 5;
  std::uint64_t connectTimeoutMs = 10000;
  std::uint64_t idleTimeoutMs = 30000;  // no bytes for this long => Timeout; 0 = none.
                                        // Not counted while paused. ~100 ms granularity.
  std::uint64_t totalTimeoutMs = 0;     // 0 = none (blobs can be huge)
  // libcurl's receive buffer (CURLOPT_BUFFERSIZE); 0 = its 16 KiB default.
  // Large bodies want more: fewer reads, fewer callbacks per byte.
  long receiveBufferBytes = 0;
};

struct HttpResponseHead {
  long status = 0;
  std::vector<HttpHeader> headers;  // of the final response only
  std::optional<std::uint64_t> contentLength;
  std::string effectiveUrl;

  // First header with this (lowercase) name, or empty.
  std::string_view header(std::string_view lowercaseName) const;
};

// Pause => this chunk was NOT consumed; it is delivered again after resume().
enum class BodyAction { Continue, Pause };

enum class FetchError {
  None,
  ConnectFailed,
  Timeout,
  Aborted,  // cancelled, or onHead returned false
  TooManyRedirects,
  Protocol,
  Other,
};

std::string_view fetchErrorName(FetchError e);

struct FetchResult {
  FetchError error = FetchError::None;
  std::string message;
};

struct HttpCallbacks {
  // Once, for the final response (after redirects), before any body; return
  // false to abort (onComplete then reports Aborted; no body is delivered).
  std::function<bool(const HttpResponseHead&)> onHead;
  std::function<BodyAction(std::string_view chunk)> onBody;
  // Exactly once unless cancelled; never called synchronously from start().
  std::function<void(const FetchResult&)> onComplete;
};

// Timings of one finished upstream transfer (not reported for cancelled ones).
struct TransferTiming {
  double firstByteSeconds = 0;  // start to the first response byte (0 if none arrived)
  double totalSeconds = 0;      // start to the end, pauses for slow clients included
  bool ok = false;              // completed without a transport error
};

struct HttpClientOptions {
  long maxHostConnections = 16;  // CURLMOPT_MAX_HOST_CONNECTIONS; 0 = unlimited
  long maxTotalConnections = 0;  // CURLMOPT_MAX_TOTAL_CONNECTIONS; 0 = unlimited
  // Called on the loop as each transfer finishes (metrics). Must not call
  // back into the client.
  std::function<void(const TransferTiming&)> onTransferDone;
};

class Transfer;  // one in-flight request; internal to http_client.cpp

class HttpClient {
 public:
  // Owner's grip on one async fetch. Move-only; cancel() is idempotent and
  // suppresses every later callback; destroying the handle cancels. Safe to
  // call from inside the fetch's own callbacks. Other layers (OciClient)
  // build Handles from their own cancel/resume functions.
  class Handle {
   public:
    Handle() = default;
    Handle(CancelHandle cancel, std::function<void()> resume)
        : cancel_(std::move(cancel)), resume_(std::move(resume)) {}
    Handle(Handle&&) noexcept = default;
    Handle& operator=(Handle&&) noexcept = default;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() = default;  // cancel_ cancels

    void cancel() {
      resume_ = nullptr;
      cancel_.cancel();
    }
    // After onBody returned Pause: deliver the held chunk and continue. Takes
    // effect on a later loop iteration, never re-entering onBody from here.
    void resume() {
      if (resume_ && cancel_.active()) resume_();
    }
    // False once cancelled (or default-constructed). Stays true after completion.
    bool active() const { return cancel_.active(); }

   private:
    CancelHandle cancel_;
    std::function<void()> resume_;
  };

  explicit HttpClient(uv_loop_t* loop, HttpClientOptions options = {});
  ~HttpClient();  // must be close()d first (and the close finished)
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // After close(), returns an inactive handle and never calls back.
  Handle start(const HttpRequest& req, HttpCallbacks cb);

  // Cancels all transfers (no callbacks), frees uv handles in their uv_close
  // callbacks, then calls done on the loop. Idempotent: later calls' `done`
  // run when the close finishes (synchronously if it already has).
  void close(std::function<void()> done);

  // Transfers started and neither finished nor cancelled.
  std::size_t activeTransfers() const;

  uv_loop_t* loop() const { return loop_; }

 private:
  friend class Transfer;
  struct SocketCtx;
  using TransferPtr = std::shared_ptr<Transfer>;

  static int socketCallback(void* easy, int s, int what, void* userp, void* socketp);
  static int timerCallback(void* multi, long timeoutMs, void* userp);
  void socketAction(int fd, int flags);
  void drain();
  bool processDone();
  bool sweep();
  void finish(const TransferPtr& t, int curlCode);
  void removeFromMulti(Transfer& t);
  void cancelTransfer(Transfer& t);
  void resumeTransfer(Transfer& t);
  void deliverComplete(Transfer& t, const FetchResult& result);
  void armKick();
  void reportTiming(void* easy, bool ok);
  void onKick();
  void onIdleTick();
  void teardown();
  void closeUvHandle(uv_handle_t* h);
  void onUvHandleClosed();

  uv_loop_t* loop_;
  std::function<void(const TransferTiming&)> onTransferDone_;
  void* multi_ = nullptr;  // CURLM*
  uv_timer_t timer_{};     // curl's timeout
  uv_timer_t kick_{};      // deferred work: resumes, start failures
  uv_timer_t idle_{};      // stall detection, ticking while transfers exist
  bool idleRunning_ = false;
  std::unordered_map<Transfer*, TransferPtr> transfers_;
  std::unordered_set<SocketCtx*> sockets_;
  int busy_ = 0;         // >0 while curl or a user callback is on the stack
  bool inCurl_ = false;  // inside a curl_multi_* / curl_easy_pause call
  bool dirty_ = false;   // cancels/starts deferred while busy_
  bool draining_ = false;
  bool closeRequested_ = false;
  bool closing_ = false;  // teardown started
  bool closed_ = false;   // every uv handle closed
  int pendingCloses_ = 0;
  std::vector<std::function<void()>> closeDone_;
};

}  // namespace hoard
