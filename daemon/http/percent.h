#pragma once
// Percent-encoding (RFC 3986), one implementation for every front end's path
// and query parsing.
#include <optional>
#include <string>
#include <string_view>

namespace hoard::http {

// Decodes %XX escapes once; with `plusIsSpace` (query values, as
// url.Values.Encode writes them) '+' becomes ' '. nullopt on a malformed escape.
std::optional<std::string> percentDecode(std::string_view s, bool plusIsSpace = false);

// Percent-encodes everything but RFC 3986 unreserved characters, so the
// result is safe as one path segment ("torch-2.0+cpu.whl" -> "torch-2.0%2Bcpu.whl").
std::string percentEncodeSegment(std::string_view s);

}  // namespace hoard::http
