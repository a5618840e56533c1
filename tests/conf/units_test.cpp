#include "conf/units.h"

#include <catch2/catch.hpp>

using hoard::conf::formatDuration;
using hoard::conf::formatSize;
using hoard::conf::parseDurationMs;
using hoard::conf::parseSizeBytes;

TEST_CASE("parseDurationMs accepts every documented unit") {
  CHECK(parseDurationMs("250ms").value() == 250);
  CHECK(parseDurationMs("30s").value() == 30'000);
  CHECK(parseDurationMs("5m").value() == 300'000);
  CHECK(parseDurationMs("1h").value() == 3'600'000);
  CHECK(parseDurationMs("7d").value() == 7ull * 24 * 3'600'000);
  CHECK(parseDurationMs("1h30m").value() == 5'400'000);
  CHECK(parseDurationMs("1m500ms").value() == 60'500);
  CHECK(parseDurationMs(" 10s ").value() == 10'000);
  CHECK(parseDurationMs("0").value() == 0);
}

TEST_CASE("parseDurationMs treats a bare integer as seconds") {
  CHECK(parseDurationMs("45").value() == 45'000);
  CHECK(parseDurationMs("1").value() == 1'000);
}

TEST_CASE("parseDurationMs rejects malformed durations with a helpful message") {
  for (const char* bad : {"", "   ", "s", "5x", "-5s", "1.5h", "5 m", "m5", "10sec", "5M", "ms",
                          "99999999999999999999s", "18446744073709551615d"}) {
    INFO(bad);
    auto r = parseDurationMs(bad);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error(), Catch::Contains("invalid duration"));
  }
  CHECK_THAT(parseDurationMs("1.5h").error(), Catch::Contains("fractions"));
  CHECK_THAT(parseDurationMs("5x").error(), Catch::Contains("'5x'"));
  CHECK_THAT(parseDurationMs("18446744073709551615d").error(), Catch::Contains("too large"));
}

TEST_CASE("parseSizeBytes accepts binary and decimal units") {
  CHECK(parseSizeBytes("1024").value() == 1024);
  CHECK(parseSizeBytes("0").value() == 0);
  CHECK(parseSizeBytes("100B").value() == 100);
  CHECK(parseSizeBytes("1KiB").value() == 1024);
  CHECK(parseSizeBytes("512MiB").value() == 512ull << 20);
  CHECK(parseSizeBytes("50GiB").value() == 50ull << 30);
  CHECK(parseSizeBytes("2TiB").value() == 2ull << 40);
  CHECK(parseSizeBytes("1KB").value() == 1000);
  CHECK(parseSizeBytes("3MB").value() == 3'000'000);
  CHECK(parseSizeBytes("10GB").value() == 10'000'000'000ull);
  CHECK(parseSizeBytes("1TB").value() == 1'000'000'000'000ull);
  CHECK(parseSizeBytes("50gib").value() == 50ull << 30);
  CHECK(parseSizeBytes("50 GiB").value() == 50ull << 30);
}

TEST_CASE("parseSizeBytes rejects ambiguous or malformed sizes") {
  for (const char* bad : {"", "GiB", "-1", "1.5GiB", "10G", "10M", "10 bytes", "1PiB",
                          "99999999999999999999", "16777216TiB"}) {
    INFO(bad);
    auto r = parseSizeBytes(bad);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error(), Catch::Contains("invalid size"));
  }
  CHECK_THAT(parseSizeBytes("16777216TiB").error(), Catch::Contains("too large"));
}

TEST_CASE("formatDuration and formatSize round-trip through the parsers") {
  CHECK(formatDuration(0) == "0s");
  CHECK(formatDuration(250) == "250ms");
  CHECK(formatDuration(300'000) == "5m");
  CHECK(formatDuration(5'400'000) == "1h30m");
  CHECK(formatDuration(7ull * 24 * 3'600'000) == "7d");
  CHECK(formatSize(0) == "0B");
  CHECK(formatSize(1023) == "1023B");
  CHECK(formatSize(50ull << 30) == "50GiB");
  CHECK(formatSize(10'000'000'000ull) == "10GB");
  CHECK(formatSize(16384) == "16KiB");
  for (std::uint64_t ms : {1ull, 999ull, 61'001ull, 90'061'001ull, 123'456'789'012ull}) {
    CHECK(parseDurationMs(formatDuration(ms)).value() == ms);
  }
  for (std::uint64_t b : {1ull, 1000ull, 1536ull, 1ull << 40, 123'456'789ull}) {
    CHECK(parseSizeBytes(formatSize(b)).value() == b);
  }
}
