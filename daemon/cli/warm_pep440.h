#pragma once
// PEP 440 versions and version specifiers, for `hoard warm` choosing the
// release pip would install from a requirement ("requests>=2.28,<3").
//
// Rules followed (PEP 440 and the `packaging` library pip vendors):
// - ordering: epoch, release (trailing zeros ignored), dev < a < b < rc <
//   final < post, local versions after their public version;
// - "==1.2.*" prefix matching, "~=1.4.2" (>=1.4.2, ==1.4.*), "===" string
//   equality; "<V" excludes pre-releases of V and ">V" post-releases of V;
// - pre-releases only when a specifier names one, when asked (--pre), or
//   when nothing else matches; yanked releases only for "=="/"===" pins.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoard::cli::pep440 {

struct Version {
  unsigned long long epoch = 0;
  std::vector<unsigned long long> release;
  int preKind = -1;  // -1 none, 0 a, 1 b, 2 rc
  unsigned long long preNumber = 0;
  std::optional<unsigned long long> post, dev;
  std::vector<std::string> local;  // lower-case segments

  bool isPrerelease() const { return preKind >= 0 || dev.has_value(); }
  int compare(const Version& other) const;  // local segments included
  int comparePublic(const Version& other) const;
};

std::optional<Version> parseVersion(std::string_view text);

struct Specifier {
  enum class Op { Compatible, Equal, NotEqual, LessEqual, GreaterEqual, Less, Greater, Arbitrary };
  Op op = Op::Equal;
  std::string text;  // the version as written (for "===" and messages)
  Version version;
  bool wildcard = false;  // "==1.2.*" / "!=1.2.*"

  bool matches(const Version& v, std::string_view vText) const;
  bool pinsExactly() const { return (op == Op::Equal && !wildcard) || op == Op::Arbitrary; }
};

// One specifier ("==1.0", ">= 2.3", "~=1.4.2", "==1.*"); nullopt if malformed.
std::optional<Specifier> parseSpecifier(std::string_view text);

struct Candidate {
  std::string text;  // the version as the index spells it
  bool yanked = false;
};

// The highest candidate pip would accept for `specs` (all must match), or
// nullopt. `allowPre` is pip's --pre.
std::optional<std::string> pickVersion(const std::vector<Candidate>& candidates,
                                       const std::vector<Specifier>& specs, bool allowPre);

}  // namespace hoard::cli::pep440
