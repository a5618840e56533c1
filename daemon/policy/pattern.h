#pragma once
// Subject patterns: the one syntax of the deny-list, the allow-list and the
// `store.pin` config (issue 7 design, "Subject patterns"):
//
//   sha256:<hex> | sha512:<hex>            any object with that digest
//   oci:<registry>/<repo>[:<tag>|@<digest>]  oci:docker.io/library/alpine:3.19
//   npm:<name>[@<version>]                 npm:lodash@4.17.21, npm:@scope/pkg
//   pypi:<project> | pypi:<file name>      pypi:requests, pypi:requests-2.31.0-py3-none-any.whl
//   go:<module>[@<version>]                go:golang.org/x/text@v0.3.8
//
// `*` matches any run of characters (slashes included) within a name, tag or
// version: oci:docker.io/library/*, npm:@corp/*, go:golang.org/x/*@v0.1.*.
// A pattern without a version names every version and the name's own
// documents (packument, project page, version list, tags).
//
// A file is one pattern per line; `#` starts a comment (to the end of the
// line); blank lines are ignored. A bad line rejects the whole file: a deny
// entry silently dropped would let through what its author meant to refuse.
#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace hoard::policy {

enum class Ecosystem { Oci, Npm, Pypi, Go };
std::string_view ecosystemName(Ecosystem e);

// What a request is about, as far as it is known at the point of the check.
// Fields not known (yet) stay empty.
struct Subject {
  Ecosystem ecosystem = Ecosystem::Oci;
  // oci: <registry>/<repo> (docker.io/library/alpine); npm: the package name
  // (@scope/pkg); pypi: the normalized project (PEP 503); go: the module path
  // (unescaped: github.com/BurntSushi/toml).
  std::string name;
  // oci: the tag; npm, go: the version (go unescaped). Empty for a request
  // about the name itself (a packument, a project page, a version list) or,
  // for OCI, a request by digest.
  std::string version;
  std::string file;    // pypi: the distribution file name
  std::string digest;  // "sha256:<hex>" / "sha512:<hex>" of the object, when known
};

struct Pattern {
  enum class Kind { Digest, Oci, Npm, Pypi, Go };
  Kind kind = Kind::Digest;
  std::string text;       // the entry as written (comment and blanks removed)
  std::string name;       // glob; pypi project patterns are normalized
  std::string version;    // glob; "" = every version
  std::string digest;     // Digest: the digest; oci: the @digest, if any
  bool fileName = false;  // pypi: a distribution file name, not a project

  // Deny-list and pin semantics: the pattern names this subject.
  bool matches(const Subject& s) const;
  // Allow-list semantics: like matches(), but a subject without a version
  // (a packument, page, list, an OCI request by digest) is admitted when its
  // name is allowed at all, since reaching an allowed version goes through
  // it.
  bool admits(const Subject& s) const;
};

std::expected<Pattern, std::string> parsePattern(std::string_view text);

// `*` matches any (possibly empty) run of characters; everything else literally.
bool globMatch(std::string_view glob, std::string_view text);

// PEP 503 normalization, keeping `*` (so a project glob normalizes too).
std::string normalizePypiName(std::string_view name);

class PatternList {
 public:
  PatternList() = default;
  // A file's text; on error, "line N: why".
  static std::expected<PatternList, std::string> parse(std::string_view text);
  // Config values (store.pin), one pattern each; on error, "'entry': why".
  static std::expected<PatternList, std::string> fromEntries(
      const std::vector<std::string>& entries);

  // The first pattern that matches / admits `s`, or nullptr.
  const Pattern* match(const Subject& s) const;
  const Pattern* admit(const Subject& s) const;

  std::size_t size() const { return patterns_.size(); }
  bool empty() const { return patterns_.empty(); }
  const std::vector<Pattern>& patterns() const { return patterns_; }

 private:
  std::vector<Pattern> patterns_;
};

}  // namespace hoard::policy
