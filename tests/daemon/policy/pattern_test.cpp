#include "daemon/policy/pattern.h"

#include <catch2/catch.hpp>

using namespace hoard::policy;

namespace {

const std::string kSha = "sha256:" + std::string(64, 'a');
const std::string kOtherSha = "sha256:" + std::string(64, 'b');

Pattern pat(std::string_view text) {
  auto p = parsePattern(text);
  INFO(std::string(text) << ": " << (p ? std::string() : p.error()));
  REQUIRE(p);
  return *p;
}

Subject oci(std::string name, std::string tag = "", std::string digest = "") {
  return {Ecosystem::Oci, std::move(name), std::move(tag), "", std::move(digest)};
}
Subject npm(std::string name, std::string version = "", std::string digest = "") {
  return {Ecosystem::Npm, std::move(name), std::move(version), "", std::move(digest)};
}
Subject pypi(std::string project, std::string file = "", std::string digest = "") {
  return {Ecosystem::Pypi, std::move(project), "", std::move(file), std::move(digest)};
}
Subject go(std::string module, std::string version = "") {
  return {Ecosystem::Go, std::move(module), std::move(version), "", ""};
}

}  // namespace

TEST_CASE("globMatch: '*' spans any run, everything else is literal") {
  CHECK(globMatch("abc", "abc"));
  CHECK_FALSE(globMatch("abc", "abcd"));
  CHECK(globMatch("*", ""));
  CHECK(globMatch("a*", "a"));
  CHECK(globMatch("a*c", "abbbc"));
  CHECK(globMatch("docker.io/library/*", "docker.io/library/alpine"));
  CHECK(globMatch("docker.io/*", "docker.io/library/alpine"));  // '/' included
  CHECK_FALSE(globMatch("docker.io/library/*", "docker.io/other/alpine"));
  CHECK(globMatch("*a*b*", "xxaxxbxx"));
  CHECK_FALSE(globMatch("*a*b*", "xxbxxaxx"));
  CHECK(globMatch("1.*.3", "1.22.3"));
  CHECK_FALSE(globMatch("?", "a"));  // no '?' wildcard
  // Hostile input finishes quickly (no exponential backtracking).
  CHECK_FALSE(globMatch("*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST_CASE("parsePattern: digests") {
  auto p = pat(kSha);
  CHECK(p.kind == Pattern::Kind::Digest);
  CHECK(p.digest == kSha);
  CHECK(pat("SHA256:" + std::string(64, 'A')).digest == kSha);  // case-folded
  CHECK(pat("sha512:" + std::string(128, 'c')).kind == Pattern::Kind::Digest);
  CHECK_FALSE(parsePattern("sha256:abc"));
  CHECK_FALSE(parsePattern("sha256:" + std::string(64, 'g')));
  CHECK_FALSE(parsePattern("md5:" + std::string(32, 'a')));
}

TEST_CASE("parsePattern: oci names, tags and digests") {
  auto p = pat("oci:docker.io/library/alpine:3.19");
  CHECK(p.kind == Pattern::Kind::Oci);
  CHECK(p.name == "docker.io/library/alpine");
  CHECK(p.version == "3.19");
  CHECK(p.digest.empty());

  p = pat("oci:reg.example:5000/team/app");  // a port is not a tag
  CHECK(p.name == "reg.example:5000/team/app");
  CHECK(p.version.empty());

  p = pat("oci:reg.example:5000/team/app:v1");
  CHECK(p.name == "reg.example:5000/team/app");
  CHECK(p.version == "v1");

  p = pat("oci:docker.io/library/alpine@" + kSha);
  CHECK(p.name == "docker.io/library/alpine");
  CHECK(p.digest == kSha);

  CHECK(pat("oci:docker.io/library/*").name == "docker.io/library/*");
  CHECK_FALSE(parsePattern("oci:alpine"));  // no registry
  CHECK_FALSE(parsePattern("oci:docker.io/"));
  CHECK_FALSE(parsePattern("oci:docker.io/library/alpine:"));
  CHECK_FALSE(parsePattern("oci:docker.io/library/alpine@sha256:zz"));
  CHECK_FALSE(parsePattern("oci:docker.io/lib%rary/alpine"));
}

TEST_CASE("parsePattern: npm names (scoped and not) and versions") {
  auto p = pat("npm:lodash@4.17.21");
  CHECK(p.name == "lodash");
  CHECK(p.version == "4.17.21");
  p = pat("npm:@scope/pkg");
  CHECK(p.name == "@scope/pkg");
  CHECK(p.version.empty());
  p = pat("npm:@scope/pkg@1.0.0-beta.1");
  CHECK(p.name == "@scope/pkg");
  CHECK(p.version == "1.0.0-beta.1");
  CHECK(pat("npm:@corp/*").name == "@corp/*");
  CHECK_FALSE(parsePattern("npm:@scope"));  // a scope alone is not a name
  CHECK_FALSE(parsePattern("npm:a/b"));     // unscoped names have no '/'
  CHECK_FALSE(parsePattern("npm:@a/b/c"));
  CHECK_FALSE(parsePattern("npm:lodash@"));
  CHECK_FALSE(parsePattern("npm:"));
}

TEST_CASE("parsePattern: pypi projects are normalized, file names are not") {
  auto p = pat("pypi:Requests_Toolbelt");
  CHECK_FALSE(p.fileName);
  CHECK(p.name == "requests-toolbelt");
  p = pat("pypi:requests-2.31.0-py3-none-any.whl");
  CHECK(p.fileName);
  CHECK(p.name == "requests-2.31.0-py3-none-any.whl");
  CHECK(pat("pypi:acme_core-1.0.tar.gz").fileName);
  CHECK_FALSE(parsePattern("pypi:a/b"));
}

TEST_CASE("parsePattern: go modules and versions") {
  auto p = pat("go:golang.org/x/text@v0.3.8");
  CHECK(p.name == "golang.org/x/text");
  CHECK(p.version == "v0.3.8");
  CHECK(pat("go:github.com/BurntSushi/toml").name == "github.com/BurntSushi/toml");
  CHECK_FALSE(parsePattern("go:/abs"));
  CHECK_FALSE(parsePattern("go:golang.org/x/text@"));
}

TEST_CASE("parsePattern: bad entries say why") {
  for (std::string_view bad : {"", "lodash", "deb:foo", "npm:lo dash", "oci:docker.io/a b"}) {
    auto p = parsePattern(bad);
    INFO(bad);
    REQUIRE_FALSE(p);
    CHECK_FALSE(p.error().empty());
  }
  CHECK(parsePattern("  npm:lodash  "));  // surrounding blanks are trimmed
}

TEST_CASE("matches: oci tag, digest and repository-wide entries") {
  auto byTag = pat("oci:docker.io/library/alpine:3.19");
  CHECK(byTag.matches(oci("docker.io/library/alpine", "3.19")));
  CHECK(byTag.matches(oci("docker.io/library/alpine", "3.19", kSha)));
  CHECK_FALSE(byTag.matches(oci("docker.io/library/alpine", "3.20")));
  CHECK_FALSE(byTag.matches(oci("docker.io/library/alpine", "", kSha)));  // by digest
  CHECK_FALSE(byTag.matches(oci("ghcr.io/library/alpine", "3.19")));

  auto byDigest = pat("oci:docker.io/library/alpine@" + kSha);
  CHECK(byDigest.matches(oci("docker.io/library/alpine", "", kSha)));
  CHECK(byDigest.matches(oci("docker.io/library/alpine", "latest", kSha)));  // resolved tag
  CHECK_FALSE(byDigest.matches(oci("docker.io/library/alpine", "latest")));
  CHECK_FALSE(byDigest.matches(oci("docker.io/library/other", "", kSha)));

  auto repo = pat("oci:docker.io/library/*");
  CHECK(repo.matches(oci("docker.io/library/alpine")));
  CHECK(repo.matches(oci("docker.io/library/alpine", "3.19")));
  CHECK(repo.matches(oci("docker.io/library/busybox", "", kSha)));  // its blobs too
  CHECK_FALSE(repo.matches(oci("docker.io/bitnami/redis")));
  CHECK_FALSE(repo.matches(npm("docker.io/library/alpine")));  // another ecosystem
}

TEST_CASE("matches: digest entries name the object in every ecosystem") {
  auto d = pat(kSha);
  CHECK(d.matches(oci("docker.io/library/alpine", "", kSha)));
  CHECK(d.matches(npm("left-pad", "1.3.0", kSha)));
  CHECK(d.matches(pypi("acme-core", "acme_core-1.0-py3-none-any.whl", kSha)));
  CHECK_FALSE(d.matches(oci("docker.io/library/alpine", "", kOtherSha)));
  CHECK_FALSE(d.matches(oci("docker.io/library/alpine", "3.19")));  // digest not known yet
}

TEST_CASE("matches: npm versions, scoped names and whole packages") {
  auto v = pat("npm:lodash@4.17.21");
  CHECK(v.matches(npm("lodash", "4.17.21")));
  CHECK_FALSE(v.matches(npm("lodash", "4.17.20")));
  CHECK_FALSE(v.matches(npm("lodash")));  // the packument stays available
  auto all = pat("npm:lodash");
  CHECK(all.matches(npm("lodash")));
  CHECK(all.matches(npm("lodash", "1.0.0")));
  CHECK_FALSE(all.matches(npm("lodash-es")));
  auto scope = pat("npm:@corp/*");
  CHECK(scope.matches(npm("@corp/widget", "2.0.0")));
  CHECK_FALSE(scope.matches(npm("@corporate/widget")));
  CHECK(pat("npm:@acme/widget@1.*").matches(npm("@acme/widget", "1.4.0")));
  CHECK_FALSE(pat("npm:@acme/widget@1.*").matches(npm("@acme/widget", "2.0.0")));
}

TEST_CASE("matches: pypi project entries cover pages and files, file entries only the file") {
  const std::string wheel = "acme_core-1.0.0-py3-none-any.whl";
  auto project = pat("pypi:Acme.Core");
  CHECK(project.matches(pypi("acme-core")));
  CHECK(project.matches(pypi("acme-core", wheel)));
  CHECK_FALSE(project.matches(pypi("acme-core-extra")));
  auto file = pat("pypi:" + wheel);
  CHECK(file.matches(pypi("acme-core", wheel)));
  CHECK_FALSE(file.matches(pypi("acme-core")));  // the page stays available
  CHECK_FALSE(file.matches(pypi("acme-core", "acme_core-1.0.1-py3-none-any.whl")));
  CHECK(pat("pypi:acme_core-1.0.0-*.whl").matches(pypi("acme-core", wheel)));
}

TEST_CASE("matches: go modules and versions") {
  auto v = pat("go:golang.org/x/text@v0.3.8");
  CHECK(v.matches(go("golang.org/x/text", "v0.3.8")));
  CHECK_FALSE(v.matches(go("golang.org/x/text", "v0.3.9")));
  CHECK_FALSE(v.matches(go("golang.org/x/text")));  // the list stays available
  auto all = pat("go:golang.org/x/*");
  CHECK(all.matches(go("golang.org/x/text")));
  CHECK(all.matches(go("golang.org/x/net", "v0.1.0")));
  CHECK_FALSE(all.matches(go("golang.org/y/net")));
  CHECK(pat("go:github.com/BurntSushi/toml").matches(go("github.com/BurntSushi/toml", "v1.0.0")));
}

TEST_CASE("admits: the allow-list lets through what leads to an allowed version") {
  auto v = pat("npm:lodash@4.17.21");
  CHECK(v.admits(npm("lodash")));  // the packument, needed to find the tarball
  CHECK(v.admits(npm("lodash", "4.17.21")));
  CHECK_FALSE(v.admits(npm("lodash", "4.17.20")));
  CHECK_FALSE(v.admits(npm("underscore")));

  auto tag = pat("oci:docker.io/library/alpine:3.19");
  CHECK(tag.admits(oci("docker.io/library/alpine", "3.19")));
  CHECK(tag.admits(oci("docker.io/library/alpine", "", kSha)));  // its blobs, by digest
  CHECK_FALSE(tag.admits(oci("docker.io/library/alpine", "3.20")));
  CHECK_FALSE(tag.admits(oci("docker.io/library/busybox", "", kSha)));

  auto wheel = pat("pypi:acme_core-1.0.0-py3-none-any.whl");
  CHECK(wheel.admits(pypi("acme-core")));
  CHECK(wheel.admits(pypi("acme-core", "acme_core-1.0.0-py3-none-any.whl")));
  CHECK_FALSE(wheel.admits(pypi("acme-core", "acme_core-2.0.0-py3-none-any.whl")));
  CHECK_FALSE(wheel.admits(pypi("other")));
}

TEST_CASE("PatternList::parse: comments, blanks, CRLF, first match wins") {
  auto list = PatternList::parse(
      "# hoard deny-list\n"
      "\n"
      "npm:left-pad@1.3.0   # CVE-XXXX\r\n"
      "   oci:docker.io/library/alpine:3.19\n"
      "npm:left-pad\n"
      "go:golang.org/x/text@v0.3.8");  // no final newline
  REQUIRE(list);
  CHECK(list->size() == 4);
  const Pattern* m = list->match(npm("left-pad", "1.3.0"));
  REQUIRE(m != nullptr);
  CHECK(m->text == "npm:left-pad@1.3.0");
  m = list->match(npm("left-pad", "1.2.0"));
  REQUIRE(m != nullptr);
  CHECK(m->text == "npm:left-pad");
  CHECK(list->match(go("golang.org/x/text", "v0.3.8")) != nullptr);
  CHECK(list->match(npm("right-pad", "1.0.0")) == nullptr);

  auto empty = PatternList::parse("# nothing denied\n\n");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("PatternList::parse: one bad line rejects the file and names the line") {
  auto list = PatternList::parse("npm:lodash@4.17.21\n# ok\nlodash@4.17.21\nnpm:ok\n");
  REQUIRE_FALSE(list);
  CHECK(list.error().starts_with("line 3: "));
  auto list2 = PatternList::parse("npm:a\nsha256:1234\n");
  REQUIRE_FALSE(list2);
  CHECK(list2.error().starts_with("line 2: "));
}

TEST_CASE("PatternList::fromEntries: config values, the bad one named") {
  auto ok = PatternList::fromEntries({"oci:docker.io/library/alpine", "npm:@corp/*"});
  REQUIRE(ok);
  CHECK(ok->size() == 2);
  auto bad = PatternList::fromEntries({"npm:ok", "alpine"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("'alpine'") != std::string::npos);
}
