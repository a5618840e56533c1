#include "daemon/cli/warm_requirements.h"

#include <cctype>
#include <fstream>
#include <sstream>

namespace hoard::cli {

namespace {

bool isSpace(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}
bool isNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// pip strips "#" comments that start the line or follow whitespace.
std::string_view stripComment(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || isSpace(line[i - 1]))) return line.substr(0, i);
  }
  return line;
}

// Per-requirement options ("--hash=sha256:...") start at a whitespace-preceded "--".
std::string_view stripOptions(std::string_view line, bool& stripped) {
  for (std::size_t i = 1; i + 1 < line.size(); ++i) {
    if (line[i] == '-' && line[i + 1] == '-' && isSpace(line[i - 1])) {
      stripped = true;
      return line.substr(0, i);
    }
  }
  return line;
}

std::string dirOf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// "-r file", "-rfile", "--requirement=file", "--requirement file".
std::optional<std::string> optionValue(std::string_view line, std::string_view shortName,
                                       std::string_view longName) {
  auto take = [](std::string_view rest) -> std::optional<std::string> {
    rest = trim(rest);
    if (!rest.empty() && rest.front() == '=') rest = trim(rest.substr(1));
    if (rest.empty()) return std::nullopt;
    return std::string(rest);
  };
  if (line.starts_with(longName) &&
      (line.size() == longName.size() || line[longName.size()] == '=' ||
       isSpace(line[longName.size()]))) {
    return take(line.substr(longName.size()));
  }
  if (!shortName.empty() && line.starts_with(shortName)) return take(line.substr(shortName.size()));
  return std::nullopt;
}

constexpr std::string_view kIgnoredOptions[] = {
    "-i",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "-f",
    "--find-links",
    "--trusted-host",
    "--prefer-binary",
    "--only-binary",
    "--no-binary",
    "--require-hashes",
    "--use-feature",
    "--no-deps",
    "--config-settings",
    "--global-option",
    "-Z",
};

void parseInto(RequirementsFile& out, std::string_view text, const std::string& path,
               const RequirementsReader& read, int depth) {
  std::istringstream in{std::string(text)};
  std::string physical;
  std::string logical;
  int lineNo = 0, startLine = 0;
  auto handle = [&](std::string_view raw, int line) {
    std::string where = path + ":" + std::to_string(line);
    auto content = trim(stripComment(raw));
    if (content.empty()) return;
    if (content.front() == '-') {
      if (auto file = optionValue(content, "-r", "--requirement")) {
        std::string included = file->starts_with('/') ? *file : dirOf(path) + *file;
        if (depth >= 8) {
          out.unsupported.push_back(where +
                                    ": includes nested too deeply: " + std::string(content));
          return;
        }
        auto body = read(included);
        if (!body) {
          out.unsupported.push_back(where + ": cannot read included file " + included);
          return;
        }
        parseInto(out, *body, included, read, depth + 1);
        return;
      }
      if (content == "--pre") {
        out.pre = true;
        return;
      }
      if (optionValue(content, "-c", "--constraint")) {
        out.unsupported.push_back(where +
                                  ": constraints files are not supported: " + std::string(content));
        return;
      }
      if (optionValue(content, "-e", "--editable")) {
        out.unsupported.push_back(
            where + ": editable requirements are not supported: " + std::string(content));
        return;
      }
      for (auto opt : kIgnoredOptions) {
        if (content.starts_with(opt)) {
          out.ignored.push_back(
              where + ": option ignored (hoard decides the index): " + std::string(content));
          return;
        }
      }
      out.ignored.push_back(where + ": unknown option ignored: " + std::string(content));
      return;
    }
    bool stripped = false;
    auto req = parseRequirement(trim(stripOptions(content, stripped)));
    if (!req) {
      out.unsupported.push_back(where + ": " + req.error() + ": " + std::string(content));
      return;
    }
    req->where = where;
    out.requirements.push_back(std::move(*req));
  };
  while (std::getline(in, physical)) {
    ++lineNo;
    if (!physical.empty() && physical.back() == '\r') physical.pop_back();
    if (logical.empty()) startLine = lineNo;
    // A trailing backslash joins the next line (pip does this before comments).
    if (!physical.empty() && physical.back() == '\\') {
      physical.pop_back();
      logical += physical;
      continue;
    }
    logical += physical;
    handle(logical, startLine);
    logical.clear();
  }
  if (!logical.empty()) handle(logical, startLine);
}

}  // namespace

std::string normalizeProjectName(std::string_view name) {
  std::string out;
  bool sep = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      sep = true;
      continue;
    }
    if (sep && !out.empty()) out += '-';
    sep = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::expected<Requirement, std::string> parseRequirement(std::string_view text) {
  text = trim(text);
  if (text.find("://") != std::string_view::npos || text.starts_with('.') ||
      text.starts_with('/')) {
    return std::unexpected("URLs and paths are not supported");
  }
  if (auto semi = text.find(';'); semi != std::string_view::npos) text = trim(text.substr(0, semi));
  std::size_t i = 0;
  while (i < text.size() && isNameChar(text[i])) ++i;
  Requirement req;
  req.name = std::string(text.substr(0, i));
  if (req.name.empty() || !std::isalnum(static_cast<unsigned char>(req.name.front())) ||
      !std::isalnum(static_cast<unsigned char>(req.name.back()))) {
    return std::unexpected("not a project name");
  }
  req.project = normalizeProjectName(req.name);
  auto rest = trim(text.substr(i));
  if (rest.starts_with('[')) {  // extras only add dependencies: warm names what was named
    auto close = rest.find(']');
    if (close == std::string_view::npos) return std::unexpected("unclosed extras");
    rest = trim(rest.substr(close + 1));
  }
  if (rest.starts_with('@'))
    return std::unexpected("direct references (name @ url) are not supported");
  if (rest.starts_with('(')) {
    if (!rest.ends_with(')')) return std::unexpected("unclosed parenthesis");
    rest = trim(rest.substr(1, rest.size() - 2));
  }
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = trim(rest.substr(0, comma));
    auto spec = pep440::parseSpecifier(item);
    if (!spec) return std::unexpected("bad version specifier \"" + std::string(item) + "\"");
    req.specifiers.push_back(std::move(*spec));
    if (comma == std::string_view::npos) break;
    rest = trim(rest.substr(comma + 1));
    if (rest.empty()) return std::unexpected("trailing comma");
  }
  return req;
}

RequirementsFile parseRequirements(std::string_view text, const std::string& path,
                                   const RequirementsReader& read) {
  RequirementsFile out;
  parseInto(out, text, path, read, 0);
  return out;
}

RequirementsFile readRequirementsFile(const std::string& path) {
  auto reader = [](const std::string& p) -> std::optional<std::string> {
    std::ifstream f(p, std::ios::binary);
    if (!f) return std::nullopt;
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
  };
  auto body = reader(path);
  if (!body) {
    RequirementsFile out;
    out.unsupported.push_back(path + ": cannot read the file");
    return out;
  }
  return parseRequirements(*body, path, reader);
}

}  // namespace hoard::cli
