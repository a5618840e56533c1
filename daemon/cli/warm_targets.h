#pragma once
// The four kinds of `hoard warm` targets: parsing what the user wrote, and
// posting the downloads that fill hoard's cache through its front ends.
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/cli/warm_requirements.h"
#include "daemon/cli/warm_run.h"

namespace hoard::cli {

// ---- OCI (daemon/cli/warm_oci.cpp) -----------------------------------------
struct ImageRef {
  std::string registry;    // "docker.io", "ghcr.io", "localhost:5000"
  std::string repository;  // "library/alpine"
  std::string reference;   // tag, or digest when pinned ("sha256:...")
  bool byDigest = false;
};

// Docker's reference rules: the first component is a registry when it has a
// '.' or ':' or is "localhost"; docker.io names without '/' get "library/";
// no tag means "latest"; "name:tag@digest" uses the digest.
std::expected<ImageRef, std::string> parseImageRef(std::string_view text);

struct Platform {
  std::string os, architecture, variant;  // variant may be empty
};
std::expected<Platform, std::string> parsePlatform(std::string_view text);
// An index entry's platform against the requested ones (empty = every entry).
bool platformMatches(const std::vector<Platform>& wanted, const std::string& os,
                     const std::string& architecture, const std::string& variant);

void warmImage(WarmRun& run, const TargetPtr& target, const ImageRef& ref,
               const std::vector<Platform>& platforms);

// ---- npm (daemon/cli/warm_npm.cpp) -------------------------------------------
struct NpmSpec {
  std::string name;   // "lodash", "@scope/pkg"
  std::string range;  // "^4", "latest" ("latest" when omitted)
};
std::expected<NpmSpec, std::string> parseNpmSpec(std::string_view text);
void warmNpm(WarmRun& run, const TargetPtr& target, const NpmSpec& spec);

// ---- PyPI (daemon/cli/warm_pypi.cpp) -----------------------------------------
// Version of a distribution file for `project` (normalized), from its name:
// wheels "name-ver-...", sdists "name-ver.tar.gz|.zip|...". nullopt if the
// name does not belong to the project or has an unknown form.
std::optional<std::string> distributionVersion(std::string_view filename, std::string_view project);
void warmPypi(WarmRun& run, const TargetPtr& target, const Requirement& req, bool allowPre);

// ---- Go (daemon/cli/warm_go.cpp) -----------------------------------------------
// The go command's case encoding: "!" + lower case for each upper-case letter.
std::string goCaseEncode(std::string_view path);
struct GoSpec {
  std::string module;   // "golang.org/x/text"
  std::string version;  // "v0.3.8", or "latest"
};
std::expected<GoSpec, std::string> parseGoSpec(std::string_view text);
void warmGo(WarmRun& run, const TargetPtr& target, const GoSpec& spec);

}  // namespace hoard::cli
