#pragma once
// Parses WWW-Authenticate challenges (RFC 7235), e.g.
//   Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"
//   Basic realm="Registry"
// Several challenges may share one header value; scheme and parameter names
// are case-insensitive (returned lowercased), values keep their case.
//
// Must survive: quoted strings with backslash escapes and commas inside,
// unquoted token values, spaces around '=' and ',', empty list elements,
// token68 credentials ("Negotiate abc=="), garbage (never reads out of range).
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hoard {

struct AuthChallenge {
  std::string scheme;                                       // lowercased: "bearer", "basic"
  std::vector<std::pair<std::string, std::string>> params;  // names lowercased
  std::string token68;                                      // rarely used

  // Value of the first parameter with this (lowercase) name.
  std::optional<std::string_view> param(std::string_view lowercaseName) const;
};

std::vector<AuthChallenge> parseWwwAuthenticate(std::string_view headerValue);

}  // namespace hoard
