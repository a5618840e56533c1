#pragma once
// One client socket: reads and parses requests with llhttp, runs them one at a
// time (pipelined requests wait in the read buffer), writes responses with
// sendmsg() on the loop and file ranges with sendfile() on the threadpool.
// A request the BodyPolicy admits is read whole (Content-Length or chunked,
// capped) before its handler runs, under its own deadline.
//
// Must survive: the client vanishing at any point (mid-head, mid-request-body, while a handler
// waits, mid-body, while a sendfile job runs: the connection is freed only
// after the job returned and both uv handles closed); a handler calling any
// Exchange method, abort() included, from inside the handler call or later;
// slow or stalled clients (one uv_timer per connection: idle, header, stall,
// linger); the server shutting down underneath.
#include <llhttp.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/http/exchange.h"
#include "daemon/http/send_range.h"

namespace hoard::http {

class Server;

class Connection {
 public:
  enum DeferredOp : std::uint8_t { kFlush = 1, kDrained = 2, kEndExchange = 4, kFinalize = 8 };

  Connection(Server& server, int fd, std::string peer);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // False if the socket cannot be polled; the caller then closes fd and deletes.
  bool start();
  void runDeferred(std::uint8_t ops);
  void onServerShutdown();
  // Hard close: drops the queue, ends the exchange (deferred), frees later.
  void closeNow();
  int fd() const { return fd_; }

  // For Exchange.
  void scheduleFlush();
  void flushNow();
  void deferOp(std::uint8_t op);
  std::string_view date();
  bool serverShuttingDown() const;

  // Server's intrusive list and deferred-work bookkeeping.
  Connection* prev = nullptr;
  Connection* next = nullptr;
  std::uint8_t pendingOps = 0;

 private:
  enum class State : std::uint8_t { ReadingHead, Handling, Lingering };
  enum class TimerMode : std::uint8_t { None, Idle, Header, Body, Stall, Linger };

  static void onPoll(uv_poll_t* handle, int status, int events);
  static void onTimer(uv_timer_t* handle);
  static void onHandleClosed(uv_handle_t* handle);
  static void onWork(uv_work_t* req);
  static void onWorkDone(uv_work_t* req, int status);

  // llhttp callbacks.
  static int onMessageBegin(llhttp_t* p);
  static int onUrl(llhttp_t* p, const char* at, std::size_t len);
  static int onUrlComplete(llhttp_t* p);
  static int onHeaderField(llhttp_t* p, const char* at, std::size_t len);
  static int onHeaderFieldComplete(llhttp_t* p);
  static int onHeaderValue(llhttp_t* p, const char* at, std::size_t len);
  static int onHeaderValueComplete(llhttp_t* p);
  static int onHeadersComplete(llhttp_t* p);
  static int onBody(llhttp_t* p, const char* at, std::size_t len);
  static int onMessageComplete(llhttp_t* p);
  static const llhttp_settings_t& parserSettings();

  int fail(int status, const char* message);
  // Checks and starts reading an admitted request's body; 0 or a fail() result.
  int beginBody(const llhttp_t* p);
  bool sendContinue();
  void onReadable();
  void onWritable();
  void parseBuffered();
  void dispatch();
  void respondError(int status, std::string_view message);
  void flush();
  void startJob();
  void onJobDone(int status);
  void waitWritable(bool progressed);
  void afterQueueEmpty();
  void endExchange();
  void writeAccessLog();
  void startLinger();
  void finalize();
  void setTimer(TimerMode mode);
  void updatePoll();

  Server& server_;
  int fd_;
  std::string peer_;
  Exchange exchange_;
  llhttp_t parser_{};
  uv_poll_t poll_{};
  uv_timer_t timer_{};
  uv_work_t work_{};

  std::unique_ptr<char[]> buf_;
  std::size_t cap_;
  std::size_t pos_ = 0;  // parsed up to here
  std::size_t end_ = 0;  // read up to here

  // Request-head accounting (reset per request).
  std::size_t headerBytes_ = 0;
  int errorStatus_ = 0;
  const char* errorMessage_ = nullptr;
  bool fieldOpen_ = false;
  bool keepAliveHint_ = false;
  bool messageBegun_ = false;

  // The sendfile job in flight (only one per connection).
  int jobFile_ = -1;
  std::uint64_t jobOffset_ = 0;
  std::uint64_t jobLength_ = 0;
  bool jobBody_ = false;  // the job's item is response body (counted in the access log)
  SendRangeResult jobResult_;
  bool jobInFlight_ = false;

  std::uint64_t lingerBytes_ = 0;
  int pollMask_ = 0;
  int handlesOpen_ = 0;
  State state_ = State::ReadingHead;
  TimerMode timerMode_ = TimerMode::None;
  bool wantWrite_ = false;
  bool closing_ = false;
  bool finalized_ = false;
};

}  // namespace hoard::http
