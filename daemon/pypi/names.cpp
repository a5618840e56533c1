#include "daemon/pypi/names.h"

#include <array>

namespace hoard::pypi {

namespace {

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool isSeparator(char c) {
  return c == '-' || c == '_' || c == '.';
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool isFileChar(char c) {
  return isAlnum(c) || c == '.' || c == '_' || c == '-' || c == '+' || c == '!';
}

constexpr std::array<std::string_view, 6> kDistSuffixes = {".whl",     ".tar.gz", ".zip",
                                                           ".tar.bz2", ".egg",    ".tgz"};
constexpr std::string_view kMetadataSuffix = ".metadata";

// A decoded segment that could change what a path means once joined, or
// confuse a log line: separators, NUL, control characters, dot segments.
bool isSafeSegment(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\' || u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string normalizeProject(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool inRun = false;
  for (char c : name) {
    if (isSeparator(c)) {
      if (!inRun) out.push_back('-');
      inRun = true;
    } else {
      out.push_back(lower(c));
      inRun = false;
    }
  }
  return out;
}

bool isValidProjectName(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  if (!isAlnum(name.front()) || !isAlnum(name.back())) return false;
  for (char c : name) {
    if (!isAlnum(c) && !isSeparator(c)) return false;
  }
  return true;
}

bool isValidDistributionFileName(std::string_view file) {
  if (file.empty() || file.size() > 255 || file.front() == '.') return false;
  for (char c : file) {
    if (!isFileChar(c)) return false;
  }
  for (auto suffix : kDistSuffixes) {
    if (file.size() > suffix.size() && file.ends_with(suffix)) return true;
  }
  return false;
}

bool isValidFileRequest(std::string_view file) {
  if (file.ends_with(kMetadataSuffix)) file.remove_suffix(kMetadataSuffix.size());
  return isValidDistributionFileName(file);
}

std::optional<PypiPath> parsePypiPath(std::string_view rest) {
  // Split on the raw '/' first: an encoded %2F never becomes a separator.
  std::array<std::string, 3> seg;
  std::size_t count = 0;
  bool trailingSlash = false;
  std::size_t pos = 0;
  while (true) {
    auto slash = rest.find('/', pos);
    auto raw =
        rest.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (raw.empty() && slash == std::string_view::npos && count > 0) {
      trailingSlash = true;  // "simple/" -> ["simple"] + slash
      break;
    }
    if (count == seg.size()) return std::nullopt;
    auto decoded = percentDecode(raw);
    if (!decoded || !isSafeSegment(*decoded)) return std::nullopt;
    seg[count++] = std::move(*decoded);
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }

  PypiPath out;
  out.trailingSlash = trailingSlash;
  if (seg[0] == "simple") {
    if (count == 1) {
      out.kind = PypiPath::Kind::Root;
      return out;
    }
    if (count != 2 || !isValidProjectName(seg[1])) return std::nullopt;
    out.kind = PypiPath::Kind::Project;
    out.project = std::move(seg[1]);
    return out;
  }
  if (seg[0] == "files") {
    if (count != 3 || trailingSlash) return std::nullopt;
    if (!isValidProjectName(seg[1]) || !isValidFileRequest(seg[2])) return std::nullopt;
    out.kind = PypiPath::Kind::File;
    out.project = std::move(seg[1]);
    out.file = std::move(seg[2]);
    return out;
  }
  return std::nullopt;
}

}  // namespace hoard::pypi
