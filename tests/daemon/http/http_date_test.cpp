#include "daemon/http/http_date.h"

#include <catch2/catch.hpp>
#include <ctime>

using hoard::http::formatHttpDate;
using hoard::http::HttpDate;

TEST_CASE("formatHttpDate produces IMF-fixdate") {
  CHECK(formatHttpDate(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(formatHttpDate(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(formatHttpDate(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
}

TEST_CASE("HttpDate caches within a second of loop time") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  HttpDate date(&loop);
  std::string first(date.now());
  CHECK(first.size() == 29);
  CHECK(first.substr(first.size() - 4) == " GMT");
  // Same loop time: the cached string is returned as is.
  CHECK(date.now().data() == date.now().data());
  std::string expected = formatHttpDate(static_cast<std::int64_t>(std::time(nullptr)));
  // Allow the second to have ticked between the two reads.
  CHECK((first == expected ||
         first == formatHttpDate(static_cast<std::int64_t>(std::time(nullptr)) - 1)));
  uv_loop_close(&loop);
}
