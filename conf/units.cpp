#include "conf/units.h"

#include <array>
#include <cctype>
#include <limits>
#include <utility>

namespace hoard::conf {

namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Consumes leading digits of `s` into `out`; false on no digits or overflow.
bool takeNumber(std::string_view& s, std::uint64_t& out) {
  std::size_t i = 0;
  out = 0;
  while (i < s.size() && isDigit(s[i])) {
    auto digit = static_cast<std::uint64_t>(s[i] - '0');
    if (out > (kMax - digit) / 10) return false;
    out = out * 10 + digit;
    ++i;
  }
  if (i == 0) return false;
  s.remove_prefix(i);
  return true;
}

bool mulAdd(std::uint64_t& acc, std::uint64_t n, std::uint64_t scale) {
  if (scale != 0 && n > kMax / scale) return false;
  std::uint64_t v = n * scale;
  if (acc > kMax - v) return false;
  acc += v;
  return true;
}

struct Unit {
  std::string_view name;
  std::uint64_t scale;
};

// Longest names first where one is a prefix of another ("ms" before "m").
constexpr std::array<Unit, 5> kDurationUnits{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
}};

constexpr std::uint64_t kKi = 1024;
constexpr std::array<Unit, 9> kSizeUnits{{
    {"b", 1},
    {"kib", kKi},
    {"mib", kKi* kKi},
    {"gib", kKi* kKi* kKi},
    {"tib", kKi* kKi* kKi* kKi},
    {"kb", 1000},
    {"mb", 1000 * 1000},
    {"gb", 1000 * 1000 * 1000},
    {"tb", 1000ull * 1000 * 1000 * 1000},
}};

std::string squote(std::string_view text) {
  return "'" + std::string(text) + "'";
}

}  // namespace

std::expected<std::uint64_t, std::string> parseDurationMs(std::string_view text) {
  const std::string_view original = text;
  auto bad = [&](std::string_view why) {
    return std::unexpected("invalid duration " + squote(original) + ": " + std::string(why) +
                           " (use e.g. 250ms, 30s, 5m, 1h, 7d, 1h30m; a bare number is seconds)");
  };
  text = trim(text);
  if (text.empty()) return bad("empty");
  if (text.front() == '-') return bad("negative");

  std::uint64_t first = 0;
  std::string_view rest = text;
  if (!takeNumber(rest, first)) return bad(isDigit(text.front()) ? "too large" : "no number");
  if (rest.empty()) {
    std::uint64_t ms = 0;
    if (!mulAdd(ms, first, 1000)) return bad("too large");
    return ms;
  }

  std::uint64_t total = 0;
  std::string_view s = text;
  while (!s.empty()) {
    std::uint64_t n = 0;
    if (!takeNumber(s, n)) {
      if (!s.empty() && isDigit(s.front())) return bad("too large");
      return bad(s.front() == '.' ? "fractions are not supported" : "expected a number");
    }
    const Unit* unit = nullptr;
    for (const auto& u : kDurationUnits) {
      if (s.starts_with(u.name)) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      if (!s.empty() && s.front() == '.') return bad("fractions are not supported");
      return bad("unknown or missing unit");
    }
    s.remove_prefix(unit->name.size());
    if (!mulAdd(total, n, unit->scale)) return bad("too large");
  }
  return total;
}

std::expected<std::uint64_t, std::string> parseSizeBytes(std::string_view text) {
  const std::string_view original = text;
  auto bad = [&](std::string_view why) {
    return std::unexpected("invalid size " + squote(original) + ": " + std::string(why) +
                           " (use e.g. 1024, 512MiB, 50GiB, 10GB; units B, KiB/MiB/GiB/TiB, "
                           "KB/MB/GB/TB)");
  };
  text = trim(text);
  if (text.empty()) return bad("empty");
  if (text.front() == '-') return bad("negative");
  std::uint64_t n = 0;
  std::string_view s = text;
  if (!takeNumber(s, n)) return bad(isDigit(text.front()) ? "too large" : "no number");
  if (!s.empty() && s.front() == '.') return bad("fractions are not supported");
  s = trim(s);
  std::string unit;
  for (char c : s) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::uint64_t scale = 0;
  if (unit.empty()) {
    scale = 1;
  } else {
    for (const auto& u : kSizeUnits) {
      if (unit == u.name) scale = u.scale;
    }
  }
  if (scale == 0) return bad("unknown unit " + squote(s));
  std::uint64_t bytes = 0;
  if (!mulAdd(bytes, n, scale)) return bad("too large");
  return bytes;
}

std::string formatDuration(std::uint64_t ms) {
  if (ms == 0) return "0s";
  static constexpr std::array<std::pair<std::uint64_t, std::string_view>, 5> kParts{{
      {24 * 60 * 60 * 1000, "d"},
      {60 * 60 * 1000, "h"},
      {60 * 1000, "m"},
      {1000, "s"},
      {1, "ms"},
  }};
  std::string out;
  for (const auto& [scale, name] : kParts) {
    if (ms >= scale) {
      out += std::to_string(ms / scale);
      out += name;
      ms %= scale;
    }
  }
  return out;
}

std::string formatSize(std::uint64_t bytes) {
  if (bytes == 0) return "0B";
  static constexpr std::array<std::pair<std::uint64_t, std::string_view>, 8> kUnits{{
      {kKi * kKi * kKi * kKi, "TiB"},
      {kKi * kKi * kKi, "GiB"},
      {kKi * kKi, "MiB"},
      {kKi, "KiB"},
      {1000ull * 1000 * 1000 * 1000, "TB"},
      {1000 * 1000 * 1000, "GB"},
      {1000 * 1000, "MB"},
      {1000, "KB"},
  }};
  // The exact spelling with the smallest number: 10^10 is "10GB", not "9765625KiB".
  std::uint64_t best = bytes;
  std::string_view bestName = "B";
  for (const auto& [scale, name] : kUnits) {
    if (bytes % scale == 0 && bytes / scale < best) {
      best = bytes / scale;
      bestName = name;
    }
  }
  return std::to_string(best) + std::string(bestName);
}

}  // namespace hoard::conf
