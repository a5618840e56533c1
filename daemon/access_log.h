#pragma once
// One JSON line per request (time, client, method, path, upstream, status,
// bytes, cache, duration_ms). Lines are buffered on the loop and written by
// the thread pool in order, one write in flight at a time, so a slow disk or a
// blocked stderr pipe never stalls request handling. If the buffer passes its
// cap while a write is stuck, lines are dropped and counted rather than
// growing memory.
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>

#include "daemon/http/exchange_log.h"

namespace hoard {

class AccessLog {
 public:
  // fd: where lines go (2 for stderr); -1 disables logging.
  AccessLog(uv_loop_t* loop, int fd);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void log(const http::ExchangeLog& entry, std::int64_t nowMs);
  // Writes everything buffered, then calls done (shutdown).
  void flush(std::function<void()> done);
  void close();
  std::uint64_t dropped() const { return dropped_; }

  static std::string formatLine(const http::ExchangeLog& entry, std::int64_t nowMs);

 private:
  void startWrite();

  uv_loop_t* loop_;
  int fd_;
  uv_timer_t* timer_ = nullptr;
  std::string buffer_;
  bool writing_ = false;
  std::uint64_t dropped_ = 0;
  std::function<void()> flushDone_;
};

}  // namespace hoard
