#pragma once
// npm request paths under the /npm/ mount, validated before anything reaches
// a file path or an upstream URL.
//   <name>                          packument (unscoped)
//   @scope%2f<name> | %2F | /       packument (scoped; npm/yarn send %2f, pnpm %2F)
//   <name>/-/<file>.tgz             tarball
//   @scope/<name>/-/<file>.tgz      scoped tarball (also @scope%2f<name>/-/...)
//   @scope/<name>/-/@scope/<file>   the old scoped form some lockfiles carry
//   -/<anything>                    registry endpoints (ping, whoami, audit ...)
#include <optional>
#include <string>
#include <string_view>

namespace hoard::npm {

struct NpmPath {
  enum class Kind { Packument, Tarball, Endpoint } kind = Kind::Packument;
  std::string name;      // "left-pad", "@acme/widget"
  std::string scope;     // "@acme" or ""
  std::string file;      // tarball file name ("widget-1.0.0.tgz")
  std::string endpoint;  // after "-/" for Kind::Endpoint
};

// `rest` is the path after "/npm/", not percent-decoded.
std::optional<NpmPath> parseNpmPath(std::string_view rest);
bool isValidPackageName(std::string_view name);

}  // namespace hoard::npm
