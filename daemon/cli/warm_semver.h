#pragma once
// npm's semver (node-semver 7 semantics) as far as `hoard warm npm:NAME@RANGE`
// needs it: versions, ranges, and the version npm itself would install.
//
// Ranges: exact ("1.2.3", "=1.2.3", "v1.2.3"), comparisons (<, <=, >, >=),
// x-ranges ("1.x", "1.2.*", "*", "", partial "1" / "1.2"), tilde, caret,
// hyphen ranges ("1.2 - 2.3.4"), space-separated intersections and "||"
// unions. A pre-release version matches only a comparator set that names a
// pre-release of the same MAJOR.MINOR.PATCH (npm's default), so "^1.0.0"
// never picks "1.1.0-beta.1".
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoard::cli::semver {

struct Version {
  unsigned long long major = 0, minor = 0, patch = 0;
  std::vector<std::string> prerelease;  // dot-separated identifiers; empty = a release

  // <0, 0, >0 like strcmp (build metadata never takes part).
  int compare(const Version& other) const;
  bool operator==(const Version& o) const { return compare(o) == 0; }
  bool operator<(const Version& o) const { return compare(o) < 0; }
};

// Strict MAJOR.MINOR.PATCH[-pre][+build], with a leading "v" or "=" tolerated
// (npm's loose mode accepts both in packuments).
std::optional<Version> parseVersion(std::string_view text);

struct Comparator {
  enum class Op { Lt, Le, Gt, Ge, Eq, Any } op = Op::Any;
  Version version;
};

class Range {
 public:
  // nullopt when `text` is not a range (then npm treats it as a dist-tag).
  static std::optional<Range> parse(std::string_view text);
  bool satisfies(const Version& v) const;

 private:
  std::vector<std::vector<Comparator>> sets_;  // union of intersections
};

// What npm would install for `spec` (a range or a dist-tag) from a packument's
// version list and dist-tags: the "latest" tag if it satisfies the range,
// else the highest satisfying version. nullopt if nothing matches.
std::optional<std::string> pickVersion(const std::vector<std::string>& versions,
                                       const std::map<std::string, std::string>& distTags,
                                       std::string_view spec);

}  // namespace hoard::cli::semver
