#include "daemon/policy/pattern.h"

#include <algorithm>

#include "cache/digest.h"

namespace hoard::policy {

namespace {

constexpr std::size_t kMaxEntry = 1024;

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool allOf(std::string_view s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [extra](char c) {
    return isAlnum(c) || extra.find(c) != std::string_view::npos;
  });
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::expected<std::string, std::string> parseDigest(std::string_view text) {
  auto d = Digest::parse(lower(text));
  if (!d) return std::unexpected("not a digest (sha256:<64 hex> or sha512:<128 hex>)");
  return d->str();
}

bool isPypiFileName(std::string_view name) {
  for (std::string_view suffix :
       {".whl", ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".egg"}) {
    if (name.size() > suffix.size() && lower(name).ends_with(suffix)) return true;
  }
  return false;
}

std::expected<void, std::string> checkVersion(std::string_view v, std::string_view what) {
  if (v.empty()) return std::unexpected("empty " + std::string(what) + " after '@'");
  if (v.size() > 256 || !allOf(v, ".+_-*~")) {
    return std::unexpected("invalid " + std::string(what) + " '" + std::string(v) + "'");
  }
  return {};
}

std::expected<void, std::string> parseOci(std::string_view rest, Pattern& p) {
  std::string_view name = rest;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    auto d = parseDigest(rest.substr(at + 1));
    if (!d) return std::unexpected(d.error());
    p.digest = *d;
    name = rest.substr(0, at);
  } else {
    auto slash = rest.rfind('/');
    auto colon = rest.find(':', slash == std::string_view::npos ? 0 : slash);
    if (slash != std::string_view::npos && colon != std::string_view::npos) {
      p.version = std::string(rest.substr(colon + 1));
      name = rest.substr(0, colon);
      if (p.version.empty() || p.version.size() > 128 || !allOf(p.version, "._-*")) {
        return std::unexpected("invalid tag '" + p.version + "'");
      }
    }
  }
  auto slash = name.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == name.size()) {
    return std::unexpected("expected oci:<registry>/<repository>[:<tag>|@<digest>]");
  }
  if (!allOf(name.substr(0, slash), ".-:*[]") || !allOf(name.substr(slash + 1), "._-/*")) {
    return std::unexpected("invalid image name '" + std::string(name) + "'");
  }
  p.name = std::string(name);
  return {};
}

std::expected<void, std::string> parseNpm(std::string_view rest, Pattern& p) {
  std::string_view name = rest;
  auto at = rest.find('@', rest.starts_with('@') ? 1 : 0);
  if (at != std::string_view::npos) {
    if (auto r = checkVersion(rest.substr(at + 1), "version"); !r) return r;
    p.version = std::string(rest.substr(at + 1));
    name = rest.substr(0, at);
  }
  bool scoped = name.starts_with('@');
  std::string_view body = scoped ? name.substr(1) : name;
  auto slash = body.find('/');
  bool shapeOk = scoped ? (slash != std::string_view::npos && slash > 0 &&
                           slash + 1 < body.size() && body.find('/', slash + 1) == body.npos)
                        : slash == std::string_view::npos;
  if (body.empty() || !shapeOk || name.size() > 214 || !allOf(body, "._~-*/")) {
    return std::unexpected(
        "invalid package name '" + std::string(name) +
        "' (expected npm:<name>[@<version>] or npm:@<scope>/<name>[@<version>])");
  }
  p.name = std::string(name);
  return {};
}

std::expected<void, std::string> parsePypi(std::string_view rest, Pattern& p) {
  if (rest.empty() || rest.size() > 255 || !allOf(rest, "._+!-*")) {
    return std::unexpected("invalid project or file name '" + std::string(rest) + "'");
  }
  p.fileName = isPypiFileName(rest);
  p.name = p.fileName ? std::string(rest) : normalizePypiName(rest);
  return {};
}

std::expected<void, std::string> parseGo(std::string_view rest, Pattern& p) {
  std::string_view name = rest;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    if (auto r = checkVersion(rest.substr(at + 1), "version"); !r) return r;
    p.version = std::string(rest.substr(at + 1));
    name = rest.substr(0, at);
  }
  if (name.empty() || name.size() > 512 || name.starts_with('/') || name.ends_with('/') ||
      !allOf(name, "._~/+-*")) {
    return std::unexpected("invalid module path '" + std::string(name) + "'");
  }
  p.name = std::string(name);
  return {};
}

bool versionMatches(const Pattern& p, const Subject& s) {
  return p.version.empty() || (!s.version.empty() && globMatch(p.version, s.version));
}

bool versionAdmits(const Pattern& p, const Subject& s) {
  return p.version.empty() || s.version.empty() || globMatch(p.version, s.version);
}

Pattern::Kind kindOf(Ecosystem e) {
  switch (e) {
    case Ecosystem::Oci:
      return Pattern::Kind::Oci;
    case Ecosystem::Npm:
      return Pattern::Kind::Npm;
    case Ecosystem::Pypi:
      return Pattern::Kind::Pypi;
    case Ecosystem::Go:
      return Pattern::Kind::Go;
  }
  return Pattern::Kind::Digest;
}

}  // namespace

std::string_view ecosystemName(Ecosystem e) {
  switch (e) {
    case Ecosystem::Oci:
      return "oci";
    case Ecosystem::Npm:
      return "npm";
    case Ecosystem::Pypi:
      return "pypi";
    case Ecosystem::Go:
      return "go";
  }
  return "other";
}

bool globMatch(std::string_view glob, std::string_view text) {
  // Iterative matching with one backtrack point (the last '*'): linear in
  // practice, never exponential on hostile patterns.
  std::size_t g = 0, t = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      resume = t;
    } else if (g < glob.size() && glob[g] == text[t]) {
      ++g;
      ++t;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

std::string normalizePypiName(std::string_view name) {
  std::string out;
  bool sep = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      sep = true;
      continue;
    }
    if (sep) out += '-';
    sep = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (sep) out += '-';
  return out;
}

std::expected<Pattern, std::string> parsePattern(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::unexpected("empty pattern");
  if (text.size() > kMaxEntry) return std::unexpected("pattern longer than 1024 characters");
  if (std::any_of(text.begin(), text.end(), [](char c) {
        return isSpace(c) || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      })) {
    return std::unexpected("a pattern may not contain spaces or control characters");
  }
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return std::unexpected(
        "expected <kind>:<subject> with kind sha256, sha512, oci, npm, pypi or "
        "go");
  }
  const std::string kind = lower(text.substr(0, colon));
  const std::string_view rest = text.substr(colon + 1);
  Pattern p;
  p.text = std::string(text);
  std::expected<void, std::string> r;
  if (kind == "sha256" || kind == "sha512") {
    auto d = parseDigest(text);
    if (!d) return std::unexpected(d.error());
    p.kind = Pattern::Kind::Digest;
    p.digest = *d;
    return p;
  }
  if (kind == "oci") {
    p.kind = Pattern::Kind::Oci;
    r = parseOci(rest, p);
  } else if (kind == "npm") {
    p.kind = Pattern::Kind::Npm;
    r = parseNpm(rest, p);
  } else if (kind == "pypi") {
    p.kind = Pattern::Kind::Pypi;
    r = parsePypi(rest, p);
  } else if (kind == "go") {
    p.kind = Pattern::Kind::Go;
    r = parseGo(rest, p);
  } else {
    return std::unexpected("unknown kind '" + kind +
                           "' (expected sha256, sha512, oci, npm, pypi or go)");
  }
  if (!r) return std::unexpected(r.error());
  return p;
}

bool Pattern::matches(const Subject& s) const {
  if (kind == Kind::Digest) return !s.digest.empty() && s.digest == digest;
  if (kind != kindOf(s.ecosystem)) return false;
  if (kind == Kind::Pypi) {
    return fileName ? !s.file.empty() && globMatch(name, s.file) : globMatch(name, s.name);
  }
  if (!globMatch(name, s.name) || !versionMatches(*this, s)) return false;
  return digest.empty() || s.digest == digest;
}

bool Pattern::admits(const Subject& s) const {
  if (kind == Kind::Digest) return !s.digest.empty() && s.digest == digest;
  if (kind != kindOf(s.ecosystem)) return false;
  if (kind == Kind::Pypi) {
    if (!fileName) return globMatch(name, s.name);
    if (!s.file.empty()) return globMatch(name, s.file);
    // A project page: needed to reach the allowed file.
    return normalizePypiName(name).starts_with(s.name + "-");
  }
  if (!globMatch(name, s.name) || !versionAdmits(*this, s)) return false;
  return digest.empty() || s.digest.empty() || s.digest == digest;
}

std::expected<PatternList, std::string> PatternList::parse(std::string_view text) {
  PatternList list;
  std::size_t lineNo = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    ++lineNo;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (!line.empty()) {
      auto p = parsePattern(line);
      if (!p) return std::unexpected("line " + std::to_string(lineNo) + ": " + p.error());
      list.patterns_.push_back(std::move(*p));
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return list;
}

std::expected<PatternList, std::string> PatternList::fromEntries(
    const std::vector<std::string>& entries) {
  PatternList list;
  for (const auto& e : entries) {
    auto p = parsePattern(e);
    if (!p) return std::unexpected("'" + e + "': " + p.error());
    list.patterns_.push_back(std::move(*p));
  }
  return list;
}

const Pattern* PatternList::match(const Subject& s) const {
  for (const auto& p : patterns_) {
    if (p.matches(s)) return &p;
  }
  return nullptr;
}

const Pattern* PatternList::admit(const Subject& s) const {
  for (const auto& p : patterns_) {
    if (p.admits(s)) return &p;
  }
  return nullptr;
}

}  // namespace hoard::policy
