#pragma once
// PEP 691 content negotiation for the Simple API: which of the three
// serializations hoard answers a request with.
#include <optional>
#include <string_view>

namespace hoard::pypi {

enum class SimpleFormat {
  Json,        // application/vnd.pypi.simple.v1+json
  Html,        // application/vnd.pypi.simple.v1+html
  LegacyHtml,  // text/html (PEP 503 clients, browsers)
};

// `accept` is the request's Accept header ("" when absent). Each format gets
// the q of the most specific media range that matches it (exact type, then
// type/*, then */*; `latest` is v1); q=0 excludes. The highest q wins. PEP
// 691 says the order of the ranges carries no meaning, so ties go to the
// range that named the format explicitly, then to the server's preference:
// JSON, v1+html, text/html among explicit matches, but text/html when only a
// wildcard matched, so `*/*` and a missing header keep PEP 503 clients
// working. nullopt when nothing is acceptable (answer 406).
std::optional<SimpleFormat> negotiateSimpleFormat(std::string_view accept);

std::string_view contentTypeOf(SimpleFormat format);

}  // namespace hoard::pypi
