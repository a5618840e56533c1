#include "daemon/npm/audit_filter.h"

#include <zlib.h>

#include <array>
#include <climits>
#include <utility>

namespace hoard::npm {

namespace {

using nlohmann::json;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr std::array<std::string_view, 5> kNameMaps = {
    "requires", "dependencies", "devDependencies", "optionalDependencies", "peerDependencies"};

bool isNameMap(std::string_view key) {
  for (auto k : kNameMaps) {
    if (k == key) return true;
  }
  return false;
}

// "<name>@<spec>" (and "npm:<name>@<spec>" after its prefix) -> "<name>".
std::string_view nameOfSpec(std::string_view spec) {
  return spec.substr(0, spec.find('@', 1));
}

// "node_modules/a/node_modules/@acme/x" -> "@acme/x"; "" (the root) stays "".
std::string_view nameOfPackagePath(std::string_view path) {
  constexpr std::string_view kDir = "node_modules/";
  auto at = path.rfind(kDir);
  return at == std::string_view::npos ? path : path.substr(at + kDir.size());
}

class Stripper {
 public:
  explicit Stripper(const NamePredicate& isPrivate) : isPrivate_(isPrivate) {}

  std::size_t dropped() const { return dropped_; }

  // Erases the private members of `obj`; `nameOf` maps a key to a package name.
  template <class NameOf>
  void eraseMembers(json& obj, NameOf nameOf) {
    for (auto it = obj.begin(); it != obj.end();) {
      if (isPrivate_(nameOf(it.key())) || aliasesPrivate(it.value())) {
        it = obj.erase(it);
        ++dropped_;
      } else {
        ++it;
      }
    }
  }

  void eraseItems(json& array) {
    for (auto it = array.begin(); it != array.end();) {
      if (it->is_string() && isPrivate_(nameOfSpec(it->get_ref<const std::string&>()))) {
        it = array.erase(it);
        ++dropped_;
      } else {
        ++it;
      }
    }
  }

  // Every level of the tree: depth is bounded by the caller (prepareAuditBody).
  void walk(json& node) {
    if (node.is_array()) {
      for (auto& item : node) walk(item);
      return;
    }
    if (!node.is_object()) return;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string& key = it.key();
      json& value = it.value();
      if (value.is_object() && isNameMap(key)) {
        eraseMembers(value, [](std::string_view k) { return k; });
      } else if (value.is_object() && key == "packages") {
        eraseMembers(value, nameOfPackagePath);
      } else if (value.is_array() && (key == "install" || key == "remove")) {
        eraseItems(value);
      }
      walk(value);
    }
  }

 private:
  // A range or node that installs a private package under another name:
  // "npm:@acme/x@^1", {"version": "npm:@acme/x@1.0.0"}, {"name": "@acme/x"}.
  bool aliasesPrivate(const json& v) const {
    if (v.is_string()) return aliasPrivate(v.get_ref<const std::string&>());
    if (!v.is_object()) return false;
    if (auto n = v.find("name");
        n != v.end() && n->is_string() && isPrivate_(n->get_ref<const std::string&>())) {
      return true;
    }
    auto ver = v.find("version");
    return ver != v.end() && ver->is_string() && aliasPrivate(ver->get_ref<const std::string&>());
  }

  bool aliasPrivate(std::string_view spec) const {
    if (!spec.starts_with("npm:")) return false;
    return isPrivate_(nameOfSpec(spec.substr(4)));
  }

  const NamePredicate& isPrivate_;
  std::size_t dropped_ = 0;
};

// Nesting deeper than `max`? A linear scan, so that nothing recursive (the
// filter, dump, the json destructor) ever sees a hostile depth.
bool nestedDeeperThan(std::string_view text, std::size_t max) {
  bool inString = false;
  bool escaped = false;
  std::size_t depth = 0;
  for (char c : text) {
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// gzip or zlib (windowBits 15 + 32 detects either), at most `cap` bytes out.
std::expected<std::string, AuditBodyError> inflateBody(std::string_view in, std::size_t cap) {
  if (in.size() > UINT_MAX) return std::unexpected(AuditBodyError{413, "audit: body too large"});
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) {
    return std::unexpected(AuditBodyError{500, "audit: cannot decompress the body"});
  }
  struct Guard {
    z_stream* zs;
    ~Guard() { inflateEnd(zs); }
  } guard{&zs};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  std::array<char, 64 * 1024> chunk{};
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_out = static_cast<uInt>(chunk.size());
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const std::size_t got = chunk.size() - zs.avail_out;
    if (out.size() + got > cap) {
      return std::unexpected(AuditBodyError{
          413, "audit: decompressed body larger than " + std::to_string(cap) + " bytes"});
    }
    out.append(chunk.data(), got);
    if (rc == Z_STREAM_END) return out;
    if (rc != Z_OK) {
      return std::unexpected(AuditBodyError{
          400, rc == Z_BUF_ERROR ? "audit: truncated gzip body" : "audit: corrupt gzip body"});
    }
  }
}

}  // namespace

std::optional<AuditKind> auditKindOf(std::string_view endpoint) {
  if (endpoint == "npm/v1/security/advisories/bulk") return AuditKind::Bulk;
  if (endpoint == "npm/v1/security/audits/quick") return AuditKind::Quick;
  return std::nullopt;
}

std::string_view auditUpstreamPath(AuditKind kind) {
  return kind == AuditKind::Bulk ? "/-/npm/v1/security/advisories/bulk"
                                 : "/-/npm/v1/security/audits/quick";
}

std::string_view auditKindName(AuditKind kind) {
  return kind == AuditKind::Bulk ? "bulk" : "quick";
}

NamePredicate scopeMatcher(std::vector<std::string> scopes) {
  return [scopes = std::move(scopes)](std::string_view name) {
    if (!name.starts_with('@')) return false;
    const auto scope = name.substr(0, name.find('/'));
    for (const auto& s : scopes) {
      if (iequals(scope, s)) return true;
    }
    return false;
  };
}

std::size_t stripPrivateNames(json& body, AuditKind kind, const NamePredicate& isPrivate) {
  if (!body.is_object()) return 0;
  Stripper stripper(isPrivate);
  if (kind == AuditKind::Bulk) {
    stripper.eraseMembers(body, [](std::string_view k) { return k; });
    return stripper.dropped();
  }
  std::size_t rootName = 0;
  if (auto n = body.find("name");
      n != body.end() && n->is_string() && isPrivate(n->get_ref<const std::string&>())) {
    body.erase(n);
    rootName = 1;
  }
  stripper.walk(body);
  return stripper.dropped() + rootName;
}

std::expected<PreparedAudit, AuditBodyError> prepareAuditBody(std::string_view body,
                                                              std::string_view contentEncoding,
                                                              AuditKind kind,
                                                              const NamePredicate& isPrivate,
                                                              const AuditBodyLimits& limits) {
  const auto encoding = trim(contentEncoding);
  std::string inflated;
  std::string_view text = body;
  if (iequals(encoding, "gzip") || iequals(encoding, "x-gzip") || iequals(encoding, "deflate")) {
    auto r = inflateBody(body, limits.maxInflatedBytes);
    if (!r) return std::unexpected(r.error());
    inflated = std::move(*r);
    text = inflated;
  } else if (!encoding.empty() && !iequals(encoding, "identity")) {
    return std::unexpected(
        AuditBodyError{415, "audit: unsupported Content-Encoding " + std::string(encoding)});
  } else if (body.size() > limits.maxInflatedBytes) {
    return std::unexpected(AuditBodyError{413, "audit: body too large"});
  }
  if (nestedDeeperThan(text, limits.maxDepth)) {
    return std::unexpected(AuditBodyError{400, "audit: request body nested too deeply"});
  }
  auto doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::unexpected(AuditBodyError{400, "audit: body is not JSON"});
  if (!doc.is_object()) {
    return std::unexpected(AuditBodyError{400, "audit: body is not a JSON object"});
  }
  PreparedAudit out;
  out.dropped = stripPrivateNames(doc, kind, isPrivate);
  out.json = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  return out;
}

}  // namespace hoard::npm
