#include "daemon/http/range.h"

#include <catch2/catch.hpp>

using hoard::http::ByteRange;
using hoard::http::contentRange;
using hoard::http::parseRange;
using hoard::http::RangeStatus;
using hoard::http::unsatisfiedContentRange;

namespace {
void requireOk(std::string_view header, std::uint64_t size, std::uint64_t first,
               std::uint64_t last) {
  auto [status, range] = parseRange(header, size);
  INFO(header << " size " << size);
  REQUIRE(status == RangeStatus::Ok);
  CHECK(range.first == first);
  CHECK(range.last == last);
}
RangeStatus statusOf(std::string_view header, std::uint64_t size) {
  return parseRange(header, size).first;
}
}  // namespace

TEST_CASE("parseRange: closed, open and suffix ranges") {
  requireOk("bytes=0-0", 100, 0, 0);
  requireOk("bytes=0-99", 100, 0, 99);
  requireOk("bytes=10-19", 100, 10, 19);
  requireOk("bytes=10-", 100, 10, 99);
  requireOk("bytes=99-", 100, 99, 99);
  requireOk("bytes=-1", 100, 99, 99);
  requireOk("bytes=-10", 100, 90, 99);
  requireOk("BYTES = 5 - 6 ", 100, 5, 6);
}

TEST_CASE("parseRange: last beyond the size is clamped") {
  requireOk("bytes=50-1000", 100, 50, 99);
  requireOk("bytes=-1000", 100, 0, 99);
  requireOk("bytes=0-99999999999999999999999999", 100, 0, 99);
}

TEST_CASE("parseRange: unsatisfiable") {
  CHECK(statusOf("bytes=100-", 100) == RangeStatus::Unsatisfiable);
  CHECK(statusOf("bytes=100-200", 100) == RangeStatus::Unsatisfiable);
  CHECK(statusOf("bytes=-0", 100) == RangeStatus::Unsatisfiable);
  CHECK(statusOf("bytes=0-", 0) == RangeStatus::Unsatisfiable);
  CHECK(statusOf("bytes=-5", 0) == RangeStatus::Unsatisfiable);
  CHECK(statusOf("bytes=99999999999999999999999-", 100) == RangeStatus::Unsatisfiable);
}

TEST_CASE("parseRange: absent and invalid headers") {
  CHECK(statusOf("", 100) == RangeStatus::None);
  CHECK(statusOf("   ", 100) == RangeStatus::None);
  CHECK(statusOf("bytes=0-1,5-6", 100) == RangeStatus::Invalid);  // multiple ranges
  CHECK(statusOf("bytes=5-3", 100) == RangeStatus::Invalid);
  CHECK(statusOf("bytes=-", 100) == RangeStatus::Invalid);
  CHECK(statusOf("bytes=a-b", 100) == RangeStatus::Invalid);
  CHECK(statusOf("bytes=1", 100) == RangeStatus::Invalid);
  CHECK(statusOf("items=0-1", 100) == RangeStatus::Invalid);
  CHECK(statusOf("bytes 0-1", 100) == RangeStatus::Invalid);
  CHECK(statusOf("bytes=+1-2", 100) == RangeStatus::Invalid);
  CHECK(statusOf("bytes=1--2", 100) == RangeStatus::Invalid);
}

TEST_CASE("contentRange formatting") {
  CHECK(contentRange(ByteRange{0, 99}, 100) == "bytes 0-99/100");
  CHECK(contentRange(ByteRange{5, 5}, 6) == "bytes 5-5/6");
  CHECK(unsatisfiedContentRange(42) == "bytes */42");
}
