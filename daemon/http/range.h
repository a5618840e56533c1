#pragma once
// Single-range `Range: bytes=...` parsing (RFC 9110 14.2). Multiple ranges are
// reported as Invalid: the caller then serves the full 200, which the RFC
// allows and which spares us multipart/byteranges.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace hoard::http {

struct ByteRange {
  std::uint64_t first;
  std::uint64_t last;  // inclusive
};

enum class RangeStatus {
  None,           // no Range header (empty value)
  Ok,             // serve 206 with the returned range (clamped to the size)
  Unsatisfiable,  // serve 416 with `Content-Range: bytes */size`
  Invalid,        // ignore the header and serve 200
};

std::pair<RangeStatus, ByteRange> parseRange(std::string_view headerValue, std::uint64_t size);

// "bytes first-last/size"
std::string contentRange(ByteRange range, std::uint64_t size);
// "bytes */size", for 416 responses.
std::string unsatisfiedContentRange(std::uint64_t size);

}  // namespace hoard::http
