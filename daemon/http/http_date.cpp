#include "daemon/http/http_date.h"

#include <cstdio>
#include <ctime>

namespace hoard::http {

std::string formatHttpDate(std::int64_t unixSeconds) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(unixSeconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  // Formatted by hand: strftime's %a/%b follow the locale.
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                        tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                        tm.tm_sec);
  return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

std::string_view HttpDate::now() {
  std::uint64_t nowMs = uv_now(loop_);
  if (!valid_ || nowMs - refreshedAtMs_ >= 1000) {
    value_ = formatHttpDate(static_cast<std::int64_t>(std::time(nullptr)));
    refreshedAtMs_ = nowMs;
    valid_ = true;
  }
  return value_;
}

}  // namespace hoard::http
