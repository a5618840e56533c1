#include "daemon/http/percent.h"

#include <catch2/catch.hpp>

using hoard::http::percentDecode;
using hoard::http::percentEncodeSegment;

TEST_CASE("percent-decoding: once, strict, '+' only in query values") {
  CHECK(percentDecode("a%2Fb%2fc") == std::optional<std::string>("a/b/c"));
  CHECK(percentDecode("%252e") == std::optional<std::string>("%2e"));  // once only
  CHECK(percentDecode("a+b") == std::optional<std::string>("a+b"));
  CHECK(percentDecode("a+b", true) == std::optional<std::string>("a b"));
  CHECK(percentDecode("%21x") == std::optional<std::string>("!x"));
  for (const char* bad : {"%", "%2", "a%zz", "%g0", "ab%"}) {
    INFO(bad);
    CHECK_FALSE(percentDecode(bad));
  }
  CHECK(percentEncodeSegment("torch-2.1.0+cpu.whl") == "torch-2.1.0%2Bcpu.whl");
  CHECK(percentEncodeSegment("a/b c~_.-") == "a%2Fb%20c~_.-");
  CHECK(percentDecode(percentEncodeSegment("x+y!z/ \x01\xff")) ==
        std::optional<std::string>("x+y!z/ \x01\xff"));
}
