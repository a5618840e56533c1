#include "daemon/npm/names.h"

namespace hoard::npm {

namespace {

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// One component of a package name: no leading '.' or '_', URL-safe chars only.
bool isValidComponent(std::string_view s) {
  if (s.empty() || s.size() > 214 || s.front() == '.' || s.front() == '_') return false;
  for (char c : s) {
    if (!isNameChar(c)) return false;
  }
  return true;
}

bool isValidFile(std::string_view f) {
  if (f.size() < 5 || f.size() > 255 || !f.ends_with(".tgz") || f.front() == '.') return false;
  for (char c : f) {
    if (!isNameChar(c)) return false;
  }
  return true;
}

}  // namespace

bool isValidPackageName(std::string_view name) {
  if (name.size() > 214) return false;
  if (name.starts_with("@")) {
    auto slash = name.find('/');
    if (slash == std::string_view::npos) return false;
    return isValidComponent(name.substr(1, slash - 1)) && isValidComponent(name.substr(slash + 1));
  }
  return isValidComponent(name);
}

std::optional<NpmPath> parseNpmPath(std::string_view rest) {
  NpmPath out;
  if (rest.starts_with("-/")) {
    out.kind = NpmPath::Kind::Endpoint;
    out.endpoint = std::string(rest.substr(2));
    return out;
  }
  std::string path(rest);
  // The scope separator may come encoded; nothing else may.
  if (path.starts_with("@")) {
    for (std::string_view enc : {"%2f", "%2F"}) {
      if (auto at = path.find(enc); at != std::string::npos) path.replace(at, 3, "/");
    }
  }
  if (path.find('%') != std::string::npos) return std::nullopt;

  std::string_view p = path;
  std::string_view name = p;
  std::string_view tail;
  if (auto dash = p.find("/-/"); dash != std::string_view::npos) {
    name = p.substr(0, dash);
    tail = p.substr(dash + 3);
  }
  if (!isValidPackageName(name)) return std::nullopt;
  out.name = std::string(name);
  if (name.starts_with("@")) out.scope = std::string(name.substr(0, name.find('/')));
  if (p.size() > name.size() && tail.empty()) return std::nullopt;  // "<name>/..." not a tarball
  if (tail.empty()) {
    if (p.size() != name.size()) return std::nullopt;
    return out;
  }
  // Old scoped form: "@scope/name-1.0.0.tgz" after "/-/".
  if (!out.scope.empty() && tail.starts_with(out.scope + "/"))
    tail.remove_prefix(out.scope.size() + 1);
  if (!isValidFile(tail)) return std::nullopt;
  out.kind = NpmPath::Kind::Tarball;
  out.file = std::string(tail);
  return out;
}

}  // namespace hoard::npm
