#include "daemon/pypi/accept.h"

#include <catch2/catch.hpp>
#include <optional>

using namespace hoard::pypi;

namespace {
using F = SimpleFormat;
std::optional<F> pick(std::string_view accept) {
  return negotiateSimpleFormat(accept);
}
}  // namespace

TEST_CASE("pypi accept: what pip, uv and PEP 691's example client send gets JSON") {
  CHECK(pick("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
             "text/html; q=0.01") == F::Json);
  CHECK(pick("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
             "text/html;q=0.01") == F::Json);
  // The same preferences listed in reverse order: order carries no meaning.
  CHECK(pick("text/html;q=0.01, application/vnd.pypi.simple.v1+html;q=0.2, "
             "application/vnd.pypi.simple.v1+json") == F::Json);
}

TEST_CASE("pypi accept: q decides, q=0 excludes") {
  CHECK(pick("application/vnd.pypi.simple.v1+json;q=0.1, application/vnd.pypi.simple.v1+html") ==
        F::Html);
  CHECK(pick("application/vnd.pypi.simple.v1+json;q=0, text/html;q=0.01") == F::LegacyHtml);
  CHECK(pick("application/vnd.pypi.simple.v1+json;q=0") == std::nullopt);
  CHECK(pick("text/html;q=0.001, application/vnd.pypi.simple.v1+html;q=0.002") == F::Html);
  CHECK(pick("text/html;Q=0.5, application/vnd.pypi.simple.v1+json;q=0.4") == F::LegacyHtml);
  CHECK(pick("text/html;q=1.000, application/vnd.pypi.simple.v1+json;q=0.999") == F::LegacyHtml);
  CHECK(pick("text/html;q=.5, application/vnd.pypi.simple.v1+json;q=0.4") == F::LegacyHtml);
  // A more specific range overrides a wildcard, including its exclusion.
  CHECK(pick("*/*, text/html;q=0") == F::Json);
  CHECK(pick("*/*;q=0.5, application/vnd.pypi.simple.v1+html") == F::Html);
  CHECK(pick("*/*;q=0, text/html") == F::LegacyHtml);
  CHECK(pick("application/*;q=0, */*") == F::LegacyHtml);
  CHECK(pick("application/*;q=0, text/*;q=0, */*") == std::nullopt);
  // Equal q: the format the client named beats one a wildcard let in.
  CHECK(pick("application/vnd.pypi.simple.v1+html, */*") == F::Html);
  CHECK(pick("text/html, application/vnd.pypi.simple.v1+json") == F::Json);
  CHECK(pick("text/html, application/vnd.pypi.simple.v1+html") == F::Html);
}

TEST_CASE("pypi accept: latest means v1") {
  CHECK(pick("application/vnd.pypi.simple.latest+json") == F::Json);
  CHECK(pick("application/vnd.pypi.simple.latest+html") == F::Html);
  CHECK(pick("application/vnd.pypi.simple.latest+json;q=0.5, "
             "application/vnd.pypi.simple.latest+html") == F::Html);
  CHECK(pick("Application/VND.pypi.simple.V1+JSON") == F::Json);
}

TEST_CASE("pypi accept: browsers, curl, old pip and no header get text/html") {
  CHECK(pick("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
             "*/*;q=0.8") == F::LegacyHtml);
  CHECK(pick("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8") == F::LegacyHtml);
  CHECK(pick("*/*") == F::LegacyHtml);
  CHECK(pick("text/html") == F::LegacyHtml);
  CHECK(pick("text/*") == F::LegacyHtml);
  CHECK(pick("") == F::LegacyHtml);
  CHECK(pick("  ") == F::LegacyHtml);
  CHECK(pick("text/html; charset=utf-8") == F::LegacyHtml);
  CHECK(pick("application/*") == F::Json);
}

TEST_CASE("pypi accept: nothing acceptable or junk is 406") {
  CHECK(pick("application/json") == std::nullopt);
  CHECK(pick("application/vnd.pypi.simple.v2+json") == std::nullopt);
  CHECK(pick("image/png, application/xml;q=0.9") == std::nullopt);
  CHECK(pick("garbage") == std::nullopt);
  CHECK(pick("*/json") == std::nullopt);
  CHECK(pick("/") == std::nullopt);
  CHECK(pick(";;;,,,") == std::nullopt);
  // An unreadable q drops that range only.
  CHECK(pick("text/html;q=abc") == std::nullopt);
  CHECK(pick("text/html;q=2, application/vnd.pypi.simple.v1+html;q=0.1") == F::Html);
  CHECK(pick("text/html;q=-1") == std::nullopt);
  CHECK(pick("text/html;q=") == std::nullopt);
}

TEST_CASE("pypi accept: content types") {
  CHECK(contentTypeOf(F::Json) == "application/vnd.pypi.simple.v1+json");
  CHECK(contentTypeOf(F::Html) == "application/vnd.pypi.simple.v1+html");
  CHECK(contentTypeOf(F::LegacyHtml) == "text/html");
}
