#include "daemon/go/paths.h"

#include "daemon/http/percent.h"

namespace hoard::go {

namespace {

bool isLower(char c) {
  return c >= 'a' && c <= 'z';
}
bool isUpper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// One path element of a module path (module.CheckPath's checkElem, import-path flavour).
bool elementOk(std::string_view e) {
  if (e.empty() || e == "." || e == ".." || e.front() == '.' || e.back() == '.') return false;
  for (char c : e) {
    if (!(isLower(c) || isUpper(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~')) {
      return false;
    }
  }
  return true;
}

bool numeric(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s) {
    if (!isDigit(c)) return false;
  }
  return true;
}

bool identifiers(std::string_view s, bool noLeadingZeros) {
  // dot-separated [0-9A-Za-z-]+; numeric ones without leading zeros (pre-release)
  if (s.empty()) return false;
  std::size_t start = 0;
  while (true) {
    auto dot = s.find('.', start);
    auto id = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (id.empty()) return false;
    bool allDigits = true;
    for (char c : id) {
      if (!(isLower(c) || isUpper(c) || isDigit(c) || c == '-')) return false;
      allDigits = allDigits && isDigit(c);
    }
    if (noLeadingZeros && allDigits && id.size() > 1 && id[0] == '0') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool versionCharsOk(std::string_view v) {
  if (v.empty() || v.size() > 256 || v == "." || v == "..") return false;
  for (char c : v) {
    if (!(isLower(c) || isUpper(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
          c == '+' || c == '!')) {
      return false;
    }
  }
  return true;
}

bool tileRestOk(std::string_view rest) {
  // tile/<H>/<L or data>/<K path>[.p/<W>]; K is x-grouped ("x001/x234/567").
  if (!rest.starts_with("tile/")) return false;
  for (char c : rest) {
    if (!(isDigit(c) || c == '/' || c == 'x' || c == '.' || c == 'p' || c == 'd' || c == 'a' ||
          c == 't' || c == 'i' || c == 'l' || c == 'e')) {
      return false;
    }
  }
  return rest.find("..") == std::string_view::npos && rest.find("//") == std::string_view::npos &&
         !rest.ends_with("/") && rest.size() < 128;
}

}  // namespace

std::optional<std::string> unescapeCase(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    char c = escaped[i];
    if (isUpper(c)) return std::nullopt;
    if (c == '!') {
      if (i + 1 >= escaped.size() || !isLower(escaped[i + 1])) return std::nullopt;
      out.push_back(static_cast<char>(escaped[++i] - 'a' + 'A'));
      continue;
    }
    out.push_back(c);
  }
  return out;
}

bool isValidModulePath(std::string_view path) {
  if (path.empty() || path.size() > 512 || path.front() == '/' || path.back() == '/') return false;
  auto slash = path.find('/');
  auto first = path.substr(0, slash);
  // The first element is a host name: lower case, with a dot, not starting with '-' or '.'.
  if (first.find('.') == std::string_view::npos || first.front() == '-' || first.front() == '.') {
    return false;
  }
  for (char c : first) {
    if (!(isLower(c) || isDigit(c) || c == '-' || c == '.')) return false;
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    auto e =
        path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!elementOk(e)) return false;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return true;
}

bool isCanonicalVersion(std::string_view v) {
  if (v.size() < 6 || v[0] != 'v') return false;
  v.remove_prefix(1);
  if (v.ends_with("+incompatible")) v.remove_suffix(13);
  if (v.find('+') != std::string_view::npos) return false;  // other build metadata is not canonical
  auto dash = v.find('-');
  auto core = v.substr(0, dash);
  auto d1 = core.find('.');
  if (d1 == std::string_view::npos) return false;
  auto d2 = core.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return false;
  if (!numeric(core.substr(0, d1)) || !numeric(core.substr(d1 + 1, d2 - d1 - 1)) ||
      !numeric(core.substr(d2 + 1))) {
    return false;
  }
  return dash == std::string_view::npos || identifiers(v.substr(dash + 1), true);
}

std::optional<GoPath> parseGoPath(std::string_view rest) {
  auto decoded = http::percentDecode(rest);
  if (!decoded) return std::nullopt;
  std::string_view p = *decoded;
  for (char c : p) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e || c == '\\' ||
        c == '%' || c == '?' || c == '#') {
      return std::nullopt;
    }
  }
  GoPath out;
  if (p.starts_with("sumdb/")) {
    auto afterHost = p.find('/', 6);
    if (afterHost == std::string_view::npos) return std::nullopt;
    out.sumdbHost = std::string(p.substr(6, afterHost - 6));
    if (!isValidModulePath(out.sumdbHost) || out.sumdbHost.find('/') != std::string::npos) {
      return std::nullopt;
    }
    std::string_view r = p.substr(afterHost + 1);
    out.sumdbRest = std::string(r);
    if (r == "supported") {
      out.kind = GoPath::Kind::SumdbSupported;
    } else if (r == "latest") {
      out.kind = GoPath::Kind::SumdbLatest;
    } else if (r.starts_with("lookup/")) {
      auto at = r.rfind('@');
      if (at == std::string_view::npos || at <= 7) return std::nullopt;
      out.module = std::string(r.substr(7, at - 7));
      out.version = std::string(r.substr(at + 1));
      auto unescaped = unescapeCase(out.module);
      auto version = unescapeCase(out.version);
      if (!unescaped || !isValidModulePath(*unescaped) || !version ||
          !versionCharsOk(out.version)) {
        return std::nullopt;
      }
      out.modulePath = *unescaped;
      out.canonicalVersion = isCanonicalVersion(*version);
      out.kind = GoPath::Kind::SumdbLookup;
    } else if (tileRestOk(r)) {
      out.kind = GoPath::Kind::SumdbTile;
      out.partialTile = r.find(".p/") != std::string_view::npos;
    } else {
      return std::nullopt;
    }
    return out;
  }
  std::string_view file;
  if (auto at = p.rfind("/@v/"); at != std::string_view::npos) {
    out.module = std::string(p.substr(0, at));
    file = p.substr(at + 4);
    if (file == "list") {
      out.kind = GoPath::Kind::List;
    } else {
      for (auto [suffix, kind] :
           {std::pair{".info", GoPath::Kind::Info}, std::pair{".mod", GoPath::Kind::Mod},
            std::pair{".zip", GoPath::Kind::Zip}}) {
        if (file.ends_with(suffix)) {
          out.kind = kind;
          out.version = std::string(file.substr(0, file.size() - std::string_view(suffix).size()));
          break;
        }
      }
      if (out.version.empty() || !versionCharsOk(out.version)) return std::nullopt;
      auto version = unescapeCase(out.version);
      if (!version) return std::nullopt;
      out.canonicalVersion = isCanonicalVersion(*version);
      // .mod and .zip exist only for canonical versions; a query (branch,
      // commit) is resolved through .info first.
      if (out.kind != GoPath::Kind::Info && !out.canonicalVersion) return std::nullopt;
    }
  } else if (p.ends_with("/@latest")) {
    out.module = std::string(p.substr(0, p.size() - 8));
    out.kind = GoPath::Kind::Latest;
  } else {
    return std::nullopt;
  }
  auto unescaped = unescapeCase(out.module);
  if (!unescaped || !isValidModulePath(*unescaped)) return std::nullopt;
  out.modulePath = *unescaped;
  return out;
}

}  // namespace hoard::go
