#include "daemon/oci/reference.h"

namespace hoard::oci {

namespace {

bool isAlnumLower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool isValidComponent(std::string_view c) {
  if (c.empty() || !isAlnumLower(c.front()) || !isAlnumLower(c.back())) return false;
  std::size_t i = 0;
  while (i < c.size()) {
    if (isAlnumLower(c[i])) {
      ++i;
      continue;
    }
    // a separator run: ".", "_", "__", or one or more "-"
    std::size_t start = i;
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (i == start || i >= c.size() || !isAlnumLower(c[i])) return false;
  }
  return true;
}

}  // namespace

bool isValidName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  std::size_t pos = 0;
  while (true) {
    auto slash = name.find('/', pos);
    auto comp =
        name.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (!isValidComponent(comp)) return false;
    if (slash == std::string_view::npos) return true;
    pos = slash + 1;
  }
}

// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool isValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(tag[0])) return false;
  for (char c : tag.substr(1)) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

std::optional<OciPath> parseOciPath(std::string_view path, PathError& error) {
  error = PathError::NotFound;
  if (path == "/v2" || path == "/v2/") return OciPath{};
  constexpr std::string_view kPrefix = "/v2/";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  auto rest = path.substr(kPrefix.size());

  struct Suffix {
    std::string_view marker;
    Endpoint endpoint;
    bool hasReference;
  };
  // The name may itself contain "manifests" etc. as a component, so the
  // endpoint marker is searched from the right.
  static constexpr Suffix kSuffixes[] = {
      {"/manifests/", Endpoint::Manifest, true},
      {"/blobs/", Endpoint::Blob, true},
      {"/referrers/", Endpoint::Referrers, true},
  };
  OciPath out;
  bool matched = false;
  if (rest.ends_with("/tags/list")) {
    out.endpoint = Endpoint::TagsList;
    out.name = std::string(rest.substr(0, rest.size() - std::string_view("/tags/list").size()));
    matched = true;
  } else {
    std::size_t best = std::string_view::npos;
    const Suffix* which = nullptr;
    for (const auto& s : kSuffixes) {
      auto at = rest.rfind(s.marker);
      if (at != std::string_view::npos && (best == std::string_view::npos || at > best)) {
        best = at;
        which = &s;
      }
    }
    if (which != nullptr) {
      out.endpoint = which->endpoint;
      out.name = std::string(rest.substr(0, best));
      out.reference = std::string(rest.substr(best + which->marker.size()));
      matched = true;
    }
  }
  if (!matched) return std::nullopt;
  if (!isValidName(out.name)) {
    error = PathError::NameInvalid;
    return std::nullopt;
  }
  if (out.endpoint == Endpoint::TagsList) return out;

  if (out.reference.find(':') != std::string::npos) {
    out.digest = Digest::parse(out.reference);
    if (!out.digest) {
      error = PathError::DigestInvalid;
      return std::nullopt;
    }
    return out;
  }
  if (out.endpoint != Endpoint::Manifest) {
    error = PathError::DigestInvalid;
    return std::nullopt;
  }
  if (!isValidTag(out.reference)) {
    error = PathError::TagInvalid;
    return std::nullopt;
  }
  return out;
}

}  // namespace hoard::oci
