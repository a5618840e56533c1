#include "daemon/access_log.h"

#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "cache/off_loop.h"

namespace hoard {

namespace {
constexpr std::size_t kMaxBuffered = 8 * 1024 * 1024;
constexpr std::size_t kWriteAt = 64 * 1024;

std::string isoTime(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}
}  // namespace

AccessLog::AccessLog(uv_loop_t* loop, int fd) : loop_(loop), fd_(fd) {
  if (fd_ < 0) return;
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  uv_timer_start(
      timer_, [](uv_timer_t* t) { static_cast<AccessLog*>(t->data)->startWrite(); }, 200, 200);
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
}

AccessLog::~AccessLog() {
  close();
}

void AccessLog::close() {
  if (!timer_) return;
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  timer_ = nullptr;
}

std::string AccessLog::formatLine(const http::ExchangeLog& e, std::int64_t nowMs) {
  nlohmann::json j;
  j["time"] = isoTime(nowMs);
  j["client"] = e.client;
  j["method"] = e.method;
  j["path"] = e.target;
  j["status"] = e.status;
  j["bytes"] = e.bodyBytes;
  j["duration_ms"] = static_cast<double>(static_cast<std::int64_t>(e.durationMs * 1000)) / 1000;
  for (const auto& [k, v] : e.fields) j[k] = v;
  if (!j.contains("upstream")) j["upstream"] = nullptr;
  if (!j.contains("cache")) j["cache"] = nullptr;
  if (e.aborted) j["aborted"] = true;
  // Replace, not throw, on invalid UTF-8 in a client-supplied path.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void AccessLog::log(const http::ExchangeLog& entry, std::int64_t nowMs) {
  if (fd_ < 0) return;
  if (buffer_.size() > kMaxBuffered) {
    ++dropped_;
    return;
  }
  buffer_ += formatLine(entry, nowMs);
  if (buffer_.size() >= kWriteAt) startWrite();
}

void AccessLog::flush(std::function<void()> done) {
  flushDone_ = std::move(done);
  if (!writing_ && buffer_.empty()) {
    if (auto fn = std::exchange(flushDone_, nullptr)) fn();
    return;
  }
  startWrite();
}

void AccessLog::startWrite() {
  if (writing_ || buffer_.empty()) return;
  writing_ = true;
  auto data = std::make_shared<std::string>();
  data->swap(buffer_);
  int fd = fd_;
  runOffLoop(
      loop_,
      [fd, data] {
        std::size_t off = 0;
        while (off < data->size()) {
          ssize_t n = ::write(fd, data->data() + off, data->size() - off);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          off += static_cast<std::size_t>(n);
        }
      },
      [this] {
        writing_ = false;
        if (!buffer_.empty()) {
          startWrite();
        } else if (auto fn = std::exchange(flushDone_, nullptr)) {
          fn();
        }
      })
      .release();
}

}  // namespace hoard
