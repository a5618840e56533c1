#pragma once
// `hoard warm`: pre-fetches images, npm packages, PyPI releases and Go
// modules into a RUNNING hoard through its own HTTP front ends, so every
// object takes the normal path (routing, policy, verification, fill) and the
// next client's pull is a cache hit. A separate process with its own threads;
// nothing here runs on the daemon's loop.
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoard::cli {

extern const char* const kWarmUsage;

struct WarmOptions {
  std::string url;                            // hoard's base URL
  std::vector<std::string> platforms;         // --platform (repeatable)
  unsigned jobs = 4;                          // parallel downloads
  std::vector<std::string> requirementFiles;  // -r FILE (repeatable)
  std::vector<std::string> targets;           // image:REF npm:SPEC pypi:REQ go:MOD@VER
  bool pre = false;                           // --pre (PyPI pre-releases)
  std::optional<bool> progress;               // --progress / --no-progress; default isatty(2)
};

// `args` are the words after "warm". The error is a usage message line.
std::expected<WarmOptions, std::string> parseWarmArgs(const std::vector<std::string_view>& args);

// 0 when everything was warmed, 1 when anything failed (listed on stderr),
// 2 when a target cannot be understood (nothing fetched).
int warm(const WarmOptions& options);

}  // namespace hoard::cli
