#pragma once
// The Date header value (IMF-fixdate), formatted at most once per second of
// loop time so that a busy server does not format it per response.
#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace hoard::http {

// "Sun, 06 Nov 1994 08:49:37 GMT"; usable for Last-Modified too.
std::string formatHttpDate(std::int64_t unixSeconds);

class HttpDate {
 public:
  explicit HttpDate(uv_loop_t* loop) : loop_(loop) {}
  // Valid until the next call.
  std::string_view now();

 private:
  uv_loop_t* loop_;
  std::uint64_t refreshedAtMs_ = 0;
  bool valid_ = false;
  std::string value_;
};

}  // namespace hoard::http
