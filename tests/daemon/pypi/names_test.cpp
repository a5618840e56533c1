#include "daemon/pypi/names.h"

#include <catch2/catch.hpp>
#include <string>

using namespace hoard::pypi;

TEST_CASE("pypi names: PEP 503 normalization") {
  CHECK(normalizeProject("Django") == "django");
  CHECK(normalizeProject("Silly_Walk") == "silly-walk");
  CHECK(normalizeProject("zope.interface") == "zope-interface");
  CHECK(normalizeProject("a-_.-b") == "a-b");
  CHECK(normalizeProject("A__B..C--D") == "a-b-c-d");
  CHECK(normalizeProject("x") == "x");
  CHECK(normalizeProject("") == "");
}

TEST_CASE("pypi names: PEP 508 project names") {
  for (auto ok : {"a", "A1", "django", "zope.interface", "Silly_Walk", "a-b_c.d", "9x"}) {
    INFO(ok);
    CHECK(isValidProjectName(ok));
  }
  for (auto bad : {"", "-a", "a-", ".a", "a.", "_a", "a b", "a/b", "a%2fb", "a\\b", "..", "ä",
                   "a\nb", "a:b"}) {
    INFO(bad);
    CHECK_FALSE(isValidProjectName(bad));
  }
  CHECK(isValidProjectName(std::string(200, 'a')));
  CHECK_FALSE(isValidProjectName(std::string(201, 'a')));
}

TEST_CASE("pypi names: distribution file names") {
  for (auto ok : {"requests-2.31.0-py3-none-any.whl", "requests-2.31.0.tar.gz", "foo-1.0.zip",
                  "foo-1.0.tar.bz2", "foo-1.0-py2.7.egg", "foo-1.0.tgz",
                  "torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl", "foo-1!2.0.tar.gz"}) {
    INFO(ok);
    CHECK(isValidDistributionFileName(ok));
    CHECK(isValidFileRequest(ok));
    CHECK(isValidFileRequest(std::string(ok) + ".metadata"));
  }
  for (auto bad : {"", ".whl", ".hidden.whl", "foo.exe", "foo.whl.asc", "foo.tar", "a/b.whl",
                   "a\\b.whl", "a b.whl", "a%20b.whl", "a;b.whl", "foo.whl.metadata.metadata"}) {
    INFO(bad);
    CHECK_FALSE(isValidDistributionFileName(bad));
    CHECK_FALSE(isValidFileRequest(bad));
  }
  // A distribution file itself never ends in .metadata: that name belongs to
  // the PEP 658 metadata of the file without it.
  CHECK_FALSE(isValidDistributionFileName("foo-1.0.whl.metadata"));
  CHECK_FALSE(isValidFileRequest(".metadata"));
  CHECK_FALSE(isValidFileRequest("x.metadata"));
  std::string longest = std::string(251, 'a') + ".whl";
  CHECK(isValidDistributionFileName(longest));
  CHECK_FALSE(isValidDistributionFileName("a" + longest));
  CHECK(isValidFileRequest(longest + ".metadata"));  // the metadata of any servable file
  CHECK_FALSE(isValidFileRequest("a" + longest + ".metadata"));
}

TEST_CASE("pypi names: percent coding") {
  CHECK(percentDecode("a%2Fb%2fc") == std::optional<std::string>("a/b/c"));
  CHECK(percentDecode("a+b") == std::optional<std::string>("a+b"));
  CHECK(percentDecode("%252e") == std::optional<std::string>("%2e"));
  CHECK_FALSE(percentDecode("%"));
  CHECK_FALSE(percentDecode("%2"));
  CHECK_FALSE(percentDecode("a%zz"));
  CHECK_FALSE(percentDecode("%g0"));
  CHECK(percentEncodeSegment("torch-2.1.0+cpu.whl") == "torch-2.1.0%2Bcpu.whl");
  CHECK(percentEncodeSegment("a!b_c~d") == "a%21b_c~d");
  CHECK(percentEncodeSegment("a/b c") == "a%2Fb%20c");
  CHECK(percentEncodeSegment("\xff") == "%FF");
  CHECK(percentDecode(percentEncodeSegment("x+y!z/ \x01")) ==
        std::optional<std::string>("x+y!z/ \x01"));
}

TEST_CASE("pypi paths: root and project pages") {
  auto root = parsePypiPath("simple/");
  REQUIRE(root);
  CHECK(root->kind == PypiPath::Kind::Root);
  CHECK(root->trailingSlash);
  auto rootNoSlash = parsePypiPath("simple");
  REQUIRE(rootNoSlash);
  CHECK(rootNoSlash->kind == PypiPath::Kind::Root);
  CHECK_FALSE(rootNoSlash->trailingSlash);

  auto p = parsePypiPath("simple/Django/");
  REQUIRE(p);
  CHECK(p->kind == PypiPath::Kind::Project);
  CHECK(p->project == "Django");  // as given: the caller redirects to the normalized URL
  CHECK(p->trailingSlash);
  auto noSlash = parsePypiPath("simple/zope.interface");
  REQUIRE(noSlash);
  CHECK(noSlash->kind == PypiPath::Kind::Project);
  CHECK(noSlash->project == "zope.interface");
  CHECK_FALSE(noSlash->trailingSlash);
  auto encoded = parsePypiPath("simple/%44jango/");  // %44 = 'D'
  REQUIRE(encoded);
  CHECK(encoded->project == "Django");
}

TEST_CASE("pypi paths: files and their metadata") {
  auto f = parsePypiPath("files/requests/requests-2.31.0-py3-none-any.whl");
  REQUIRE(f);
  CHECK(f->kind == PypiPath::Kind::File);
  CHECK(f->project == "requests");
  CHECK(f->file == "requests-2.31.0-py3-none-any.whl");
  CHECK_FALSE(f->trailingSlash);
  auto m = parsePypiPath("files/requests/requests-2.31.0-py3-none-any.whl.metadata");
  REQUIRE(m);
  CHECK(m->file == "requests-2.31.0-py3-none-any.whl.metadata");
  // pip quotes '+' and '!' in file URLs; they arrive encoded and are decoded once.
  auto plus = parsePypiPath("files/torch/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl");
  REQUIRE(plus);
  CHECK(plus->file == "torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl");
  auto raw = parsePypiPath("files/torch/torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl");
  REQUIRE(raw);
  CHECK(raw->file == plus->file);
}

TEST_CASE("pypi paths: traversal and junk are refused") {
  for (auto bad : {"",
                   "/",
                   "simple//",
                   "simple/%2e%2e/",
                   "simple/../",
                   "simple/./",
                   "simple/..",
                   "simple/a%2fb/",
                   "simple/a%2Fb/",
                   "simple/a%5cb/",
                   "simple/a%00/",
                   "simple/a%0ab/",
                   "simple/-a/",
                   "simple/a/b/",
                   "simple/a%/",
                   "simple/%252e%252e/",  // decoded once: "%2e%2e", which is no name
                   "files/requests/",
                   "files/requests",
                   "files/requests/x.whl/",
                   "files/requests/../x.whl",
                   "files/../requests/x.whl",
                   "files/requests/%2e%2e%2fx.whl",
                   "files/requests/..%2fx.whl",
                   "files/requests/a%2fb.whl",
                   "files/requests/a%5cb.whl",
                   "files/requests/x%00.whl",
                   "files/requests/x.whl%00",
                   "files/requests/x.exe",
                   "files/requests/.x.whl",
                   "files/requests/x%252ewhl",
                   "files/a%2fb/x.whl",
                   "files/requests/sub/x.whl",
                   "packages/x.whl",
                   "SIMPLE/",
                   "simple%2f",
                   "simple/a b/",
                   "simple/a%20b/",
                   "simple/\x7f/",
                   "files/r/x.whl\r\n"}) {
    INFO(bad);
    CHECK_FALSE(parsePypiPath(bad));
  }
  CHECK_FALSE(parsePypiPath("simple/" + std::string(201, 'a') + "/"));
  CHECK(parsePypiPath("simple/" + std::string(200, 'a') + "/"));
}
