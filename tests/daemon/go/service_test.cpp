#include "daemon/go/service.h"

#include <catch2/catch.hpp>

using hoard::go::parseLookup;

namespace {
constexpr const char* kLookup =
    "1234\n"
    "github.com/BurntSushi/toml v1.2.0 h1:EYV7N5rB0mPYpkPviF6S1rrC+Binwuy0Dh1W9uiBClc=\n"
    "github.com/BurntSushi/toml v1.2.0/go.mod h1:CxXYINrC8qIiEnFrOxCa7Jy5BFHlXnUU2pbicEuybxQ=\n"
    "\n"
    "go.sum database tree\n"
    "5678\n"
    "github.com/evil/x v1.2.0 h1:AAAA\n";
}

TEST_CASE("checksum-database lookups: the record of exactly that module and version") {
  auto r = parseLookup(kLookup, "github.com/BurntSushi/toml", "v1.2.0");
  REQUIRE(r);
  CHECK(r->zipH1 == "h1:EYV7N5rB0mPYpkPviF6S1rrC+Binwuy0Dh1W9uiBClc=");
  CHECK(r->gomodH1 == "h1:CxXYINrC8qIiEnFrOxCa7Jy5BFHlXnUU2pbicEuybxQ=");
  // Another version, another module, or a prefix of the path is not this record.
  CHECK_FALSE(parseLookup(kLookup, "github.com/BurntSushi/toml", "v1.2.1"));
  CHECK_FALSE(parseLookup(kLookup, "github.com/BurntSushi/tom", "v1.2.0"));
  CHECK_FALSE(parseLookup(kLookup, "github.com/BurntSushi", "toml"));
  // Lines after the blank line belong to the signed note, never to the record.
  CHECK_FALSE(parseLookup(kLookup, "github.com/evil/x", "v1.2.0"));
  CHECK_FALSE(parseLookup("", "a.io/b", "v1.0.0"));
  CHECK_FALSE(parseLookup("1\na.io/b v1.0.0 h1:x\n", "a.io/b", "v1.0.0"));  // no go.mod line
}
