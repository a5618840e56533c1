#include "daemon/http/range.h"

#include <limits>

namespace hoard::http {
namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Digits only, non-empty. Saturates instead of overflowing: a first-byte-pos
// beyond any size is simply unsatisfiable, a huge last-byte-pos is clamped.
bool parseNumber(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    auto d = static_cast<std::uint64_t>(c - '0');
    v = (v > (kMax - d) / 10) ? kMax : v * 10 + d;
  }
  out = v;
  return true;
}

bool iequalsBytes(std::string_view unit) {
  if (unit.size() != 5) return false;
  const char* want = "bytes";
  for (std::size_t i = 0; i < 5; ++i) {
    char c = unit[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != want[i]) return false;
  }
  return true;
}

}  // namespace

std::pair<RangeStatus, ByteRange> parseRange(std::string_view headerValue, std::uint64_t size) {
  constexpr std::pair<RangeStatus, ByteRange> kInvalid{RangeStatus::Invalid, {0, 0}};
  constexpr std::pair<RangeStatus, ByteRange> kUnsatisfiable{RangeStatus::Unsatisfiable, {0, 0}};
  std::string_view v = trim(headerValue);
  if (v.empty()) return {RangeStatus::None, {0, 0}};
  auto eq = v.find('=');
  if (eq == std::string_view::npos || !iequalsBytes(trim(v.substr(0, eq)))) return kInvalid;
  std::string_view spec = trim(v.substr(eq + 1));
  if (spec.find(',') != std::string_view::npos) return kInvalid;
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return kInvalid;
  std::string_view a = trim(spec.substr(0, dash));
  std::string_view b = trim(spec.substr(dash + 1));

  if (a.empty()) {  // suffix: bytes=-n
    std::uint64_t n = 0;
    if (!parseNumber(b, n)) return kInvalid;
    if (n == 0 || size == 0) return kUnsatisfiable;
    return {RangeStatus::Ok, {n >= size ? 0 : size - n, size - 1}};
  }
  std::uint64_t first = 0;
  if (!parseNumber(a, first)) return kInvalid;
  std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
  if (!b.empty()) {
    if (!parseNumber(b, last)) return kInvalid;
    if (last < first) return kInvalid;
  }
  if (first >= size) return kUnsatisfiable;
  return {RangeStatus::Ok, {first, last >= size ? size - 1 : last}};
}

std::string contentRange(ByteRange range, std::uint64_t size) {
  std::string out = "bytes ";
  out += std::to_string(range.first);
  out += '-';
  out += std::to_string(range.last);
  out += '/';
  out += std::to_string(size);
  return out;
}

std::string unsatisfiedContentRange(std::uint64_t size) {
  std::string out = "bytes */";
  out += std::to_string(size);
  return out;
}

}  // namespace hoard::http
