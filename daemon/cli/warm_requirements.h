#pragma once
// pip requirements files for `hoard warm -r FILE`, read the way pip reads
// them as far as choosing releases goes:
// - "#" comments (at line start or after whitespace), "\" continuations,
//   blank lines;
// - "name", "name==1.0", "name[extra]>=1,<2", "name (>=1.0)", markers after
//   ";" (ignored: every named project is warmed whatever the marker says);
// - per-requirement options ("--hash=...") are dropped;
// - "-r/--requirement FILE" includes (relative to the including file),
//   "--pre" allows pre-releases; index/format options are ignored (noted);
// - constraints (-c), editables (-e), URLs, paths and "name @ url" direct
//   references are reported as unsupported, never guessed at.
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/cli/warm_pep440.h"

namespace hoard::cli {

struct Requirement {
  std::string name;     // as written
  std::string project;  // PEP 503 normalized
  std::vector<pep440::Specifier> specifiers;
  std::string where;  // "FILE:LINE" for messages ("" for a command-line target)
};

struct RequirementsFile {
  std::vector<Requirement> requirements;
  std::vector<std::string> unsupported;  // "FILE:LINE: why: text" -- counted as failures
  std::vector<std::string> ignored;      // options skipped on purpose (informational)
  bool pre = false;                      // --pre seen
};

// PEP 503: lower case, runs of "-", "_" and "." become one "-".
std::string normalizeProjectName(std::string_view name);

// One requirement specifier ("requests[socks]>=2.28,<3; python_version>'3.7'").
std::expected<Requirement, std::string> parseRequirement(std::string_view text);

// Reads an included file; nullopt if it cannot be read.
using RequirementsReader = std::function<std::optional<std::string>(const std::string& path)>;

// `path` names the text for messages and is the base for relative includes.
RequirementsFile parseRequirements(std::string_view text, const std::string& path,
                                   const RequirementsReader& read);

RequirementsFile readRequirementsFile(const std::string& path);

}  // namespace hoard::cli
