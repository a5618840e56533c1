#include "daemon/pypi/simple_page.h"

#include <catch2/catch.hpp>
#include <cctype>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "cache/digest.h"
#include "daemon/pypi/names.h"

using namespace hoard;
using namespace hoard::pypi;
using Json = nlohmann::json;

namespace {

std::size_t count(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string_view::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// The <a ...> element of `file` in rendered HTML.
std::string anchorOf(const std::string& html, std::string_view file) {
  auto text = html.find(">" + std::string(file) + "</a>");
  if (text == std::string::npos) return {};
  auto open = html.rfind("<a ", text);
  return html.substr(open, text + 1 - open);
}

const Json* fileNamed(const Json& doc, std::string_view name) {
  for (const auto& f : doc["files"]) {
    if (f["filename"] == name) return &f;
  }
  return nullptr;
}

const std::string kPage = "https://up.example/simple/holy-grail/";

}  // namespace

TEST_CASE("pypi resolveUrl: RFC 3986 section 5.4 examples, fragments dropped") {
  const std::string base = "http://a/b/c/d;p?q";
  const std::pair<const char*, const char*> cases[] = {
      {"g:h", "g:h"},
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q"},
      {"g#s", "http://a/b/c/g"},
      {"g?y#s", "http://a/b/c/g?y"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g#s/../x", "http://a/b/c/g"},
      {"http:g", "http:g"},
  };
  for (auto [ref, want] : cases) {
    INFO(ref);
    CHECK(resolveUrl(base, ref) == want);
  }
}

TEST_CASE("pypi resolveUrl: the shapes index pages use") {
  CHECK(resolveUrl(kPage, "../../packages/ab/cd/holy_grail-1.0.whl#sha256=00") ==
        "https://up.example/packages/ab/cd/holy_grail-1.0.whl");
  CHECK(resolveUrl(kPage, "https://files.example/p/x.whl#sha256=00") ==
        "https://files.example/p/x.whl");
  CHECK(resolveUrl(kPage, "//cdn.example/p/x.whl") == "https://cdn.example/p/x.whl");
  CHECK(resolveUrl(kPage, "/packages/x.whl?token=a%2Fb") ==
        "https://up.example/packages/x.whl?token=a%2Fb");
  CHECK(resolveUrl(kPage, "x.whl") == "https://up.example/simple/holy-grail/x.whl");
  CHECK(resolveUrl("http://up.example:8080", "x.whl") == "http://up.example:8080/x.whl");
  CHECK(resolveUrl("http://up.example:8080/simple/p", "x.whl") ==
        "http://up.example:8080/simple/x.whl");
  CHECK(resolveUrl(kPage, "HTTP://Other.example/a/./b/../c") == "HTTP://Other.example/a/c");
}

TEST_CASE("pypi project page: files point at hoard, every field survives, sources are recorded") {
  std::string wheelSha = sha256Hex("wheel bytes");
  std::string metaSha = sha256Hex("wheel metadata");
  std::string sdistSha = sha256Hex("sdist bytes");
  std::string legacyMetaSha = sha256Hex("sdist metadata");
  Json doc = {
      {"meta", {{"api-version", "1.1"}, {"_last-serial", 42}}},
      {"name", "Holy_Grail"},
      {"versions", {"1.0", "1.1"}},
      {"x-top-level", {{"kept", true}}},
      {"files",
       {{{"filename", "holy_grail-1.1-py3-none-any.whl"},
         {"url", "https://files.example/p/holy_grail-1.1-py3-none-any.whl#sha256=" + wheelSha},
         {"hashes", {{"sha256", wheelSha}, {"blake2b_256", "abcd"}}},
         {"requires-python", ">=3.7, <4"},
         {"core-metadata", {{"sha256", metaSha}}},
         {"data-dist-info-metadata", {{"sha256", metaSha}}},  // PyPI's legacy spelling
         {"size", 12345},
         {"upload-time", "2024-01-02T03:04:05.123456Z"},
         {"gpg-sig", false},
         {"provenance", nullptr},
         {"x-unknown", {{"nested", {1, 2}}}}},
        {{"filename", "holy_grail-1.1.tar.gz"},
         {"url", "../../packages/ab/holy_grail-1.1.tar.gz"},
         {"hashes", {{"sha256", sdistSha}}},
         {"yanked", "Had a <vulnerability> & \"more\""},
         {"dist-info-metadata", {{"sha256", legacyMetaSha}}},
         {"gpg-sig", true}},
        {{"filename", "holy_grail-1.0.tar.gz"},
         {"url", "https://files.example/p/holy_grail-1.0.tar.gz#md5=0123"},
         {"hashes", {{"md5", "0123456789abcdef0123456789abcdef"}}}},
        {{"filename", "holy_grail-1.1-py3-none-any.whl"},  // duplicate: the first one stays
         {"url", "https://elsewhere.example/holy_grail-1.1-py3-none-any.whl"},
         {"hashes", {{"sha256", sdistSha}}}}}}};

  auto r = renderProjectPage(doc.dump(), kPage, "holy-grail");
  REQUIRE(r);
  CHECK(r->droppedFiles == 2);

  auto out = Json::parse(r->json);
  CHECK(out["meta"]["api-version"] == "1.1");
  CHECK(out["meta"]["_last-serial"] == 42);
  CHECK(out["name"] == "Holy_Grail");
  CHECK(out["versions"] == Json({"1.0", "1.1"}));
  CHECK(out["x-top-level"]["kept"] == true);
  REQUIRE(out["files"].size() == 2);

  const Json* wheel = fileNamed(out, "holy_grail-1.1-py3-none-any.whl");
  REQUIRE(wheel);
  CHECK((*wheel)["url"] == "../../files/holy-grail/holy_grail-1.1-py3-none-any.whl");
  CHECK((*wheel)["hashes"]["sha256"] == wheelSha);
  CHECK((*wheel)["hashes"]["blake2b_256"] == "abcd");
  CHECK((*wheel)["requires-python"] == ">=3.7, <4");
  CHECK((*wheel)["core-metadata"] == Json({{"sha256", metaSha}}));
  CHECK_FALSE(wheel->contains("dist-info-metadata"));
  CHECK_FALSE(wheel->contains("data-dist-info-metadata"));
  CHECK((*wheel)["size"] == 12345);
  CHECK((*wheel)["upload-time"] == "2024-01-02T03:04:05.123456Z");
  CHECK((*wheel)["gpg-sig"] == false);
  CHECK((*wheel)["provenance"].is_null());
  CHECK((*wheel)["x-unknown"]["nested"] == Json({1, 2}));
  CHECK_FALSE(wheel->contains("yanked"));

  const Json* sdist = fileNamed(out, "holy_grail-1.1.tar.gz");
  REQUIRE(sdist);
  CHECK((*sdist)["url"] == "../../files/holy-grail/holy_grail-1.1.tar.gz");
  CHECK((*sdist)["yanked"] == "Had a <vulnerability> & \"more\"");
  // The legacy key is read, and written back only under the PEP 714 name.
  CHECK((*sdist)["core-metadata"] == Json({{"sha256", legacyMetaSha}}));
  CHECK_FALSE(sdist->contains("dist-info-metadata"));
  CHECK((*sdist)["gpg-sig"] == true);

  REQUIRE(r->files.size() == 4);
  const auto& w = r->files.at("holy_grail-1.1-py3-none-any.whl");
  CHECK(w.url == "https://files.example/p/holy_grail-1.1-py3-none-any.whl");
  CHECK(w.digest == *Digest::fromHex(DigestAlgorithm::Sha256, wheelSha));
  const auto& wm = r->files.at("holy_grail-1.1-py3-none-any.whl.metadata");
  CHECK(wm.url == "https://files.example/p/holy_grail-1.1-py3-none-any.whl.metadata");
  CHECK(wm.digest == *Digest::fromHex(DigestAlgorithm::Sha256, metaSha));
  const auto& s = r->files.at("holy_grail-1.1.tar.gz");
  CHECK(s.url == "https://up.example/packages/ab/holy_grail-1.1.tar.gz");
  CHECK(s.digest.hex == sdistSha);
  CHECK(r->files.at("holy_grail-1.1.tar.gz.metadata").url ==
        "https://up.example/packages/ab/holy_grail-1.1.tar.gz.metadata");
  CHECK(r->files.at("holy_grail-1.1.tar.gz.metadata").digest.hex == legacyMetaSha);
  CHECK_FALSE(r->files.contains("holy_grail-1.0.tar.gz"));

  const std::string& html = r->html;
  CHECK(html.starts_with("<!DOCTYPE html>"));
  CHECK(html.find("<meta name=\"pypi:repository-version\" content=\"1.1\">") != std::string::npos);
  CHECK(count(html, "<a ") == 2);
  CHECK(count(html, "<br/>") == 2);
  std::string wa = anchorOf(html, "holy_grail-1.1-py3-none-any.whl");
  CHECK(wa.find(" href=\"../../files/holy-grail/holy_grail-1.1-py3-none-any.whl#sha256=" +
                wheelSha + "\"") != std::string::npos);
  CHECK(wa.find(" data-requires-python=\"&gt;=3.7, &lt;4\"") != std::string::npos);
  CHECK(wa.find(" data-core-metadata=\"sha256=" + metaSha + "\"") != std::string::npos);
  CHECK(wa.find(" data-dist-info-metadata=\"sha256=" + metaSha + "\"") != std::string::npos);
  CHECK(wa.find(" data-gpg-sig=\"false\"") != std::string::npos);
  CHECK(wa.find("data-yanked") == std::string::npos);
  CHECK(wa.find("data-provenance") == std::string::npos);
  std::string sa = anchorOf(html, "holy_grail-1.1.tar.gz");
  CHECK(sa.find(" href=\"../../files/holy-grail/holy_grail-1.1.tar.gz#sha256=" + sdistSha + "\"") !=
        std::string::npos);
  CHECK(sa.find(" data-yanked=\"Had a &lt;vulnerability&gt; &amp; &quot;more&quot;\"") !=
        std::string::npos);
  CHECK(sa.find(" data-core-metadata=\"sha256=" + legacyMetaSha + "\"") != std::string::npos);
  CHECK(sa.find(" data-dist-info-metadata=\"sha256=" + legacyMetaSha + "\"") != std::string::npos);
  CHECK(sa.find(" data-gpg-sig=\"true\"") != std::string::npos);
  CHECK(sa.find("data-requires-python") == std::string::npos);
  // Nothing of the upstream's locations reaches the client.
  CHECK(html.find("files.example") == std::string::npos);
  CHECK(r->json.find("files.example") == std::string::npos);
  CHECK(r->json.find("packages/ab") == std::string::npos);
}

TEST_CASE("pypi project page: unverifiable core metadata and yanked forms") {
  std::string sha = sha256Hex("x");
  auto file = [&](std::string name) {
    return Json{{"filename", name}, {"url", "/p/" + name}, {"hashes", {{"sha256", sha}}}};
  };
  Json a = file("p-1.0-py3-none-any.whl");
  a["core-metadata"] = true;
  a["yanked"] = true;
  Json b = file("p-1.1-py3-none-any.whl");
  b["core-metadata"] = {{"md5", "0123"}};
  b["yanked"] = false;
  Json c = file("p-1.2-py3-none-any.whl");
  c["dist-info-metadata"] = true;
  c["yanked"] = "";
  Json d = file("p-1.3-py3-none-any.whl");
  d["core-metadata"] = {{"sha256", "not-hex"}};
  Json e = file("p-1.4-py3-none-any.whl");
  e["core-metadata"] = false;  // PEP 714: wins over the legacy key
  e["dist-info-metadata"] = {{"sha256", sha}};
  Json f = file("p-1.5-py3-none-any.whl");  // says nothing about metadata
  Json doc = {{"meta", {{"api-version", "1.0"}}}, {"name", "p"}, {"files", {a, b, c, d, e, f}}};

  auto r = renderProjectPage(doc.dump(), "http://up.example/simple/p/", "p");
  REQUIRE(r);
  CHECK(r->droppedFiles == 0);
  auto out = Json::parse(r->json);
  for (auto name : {"p-1.0-py3-none-any.whl", "p-1.1-py3-none-any.whl", "p-1.2-py3-none-any.whl",
                    "p-1.3-py3-none-any.whl", "p-1.4-py3-none-any.whl"}) {
    INFO(name);
    const Json* j = fileNamed(out, name);
    REQUIRE(j);
    CHECK((*j)["core-metadata"] == false);
    CHECK_FALSE(j->contains("dist-info-metadata"));
    CHECK_FALSE(r->files.contains(std::string(name) + ".metadata"));
    CHECK(r->files.contains(name));
    CHECK(anchorOf(r->html, name).find("metadata") == std::string::npos);
  }
  const Json* plain = fileNamed(out, "p-1.5-py3-none-any.whl");
  REQUIRE(plain);
  CHECK_FALSE(plain->contains("core-metadata"));

  CHECK((*fileNamed(out, "p-1.0-py3-none-any.whl"))["yanked"] == true);
  CHECK((*fileNamed(out, "p-1.1-py3-none-any.whl"))["yanked"] == false);
  CHECK((*fileNamed(out, "p-1.2-py3-none-any.whl"))["yanked"] == "");
  CHECK(anchorOf(r->html, "p-1.0-py3-none-any.whl").find(" data-yanked=\"\"") != std::string::npos);
  CHECK(anchorOf(r->html, "p-1.1-py3-none-any.whl").find("data-yanked") == std::string::npos);
  CHECK(anchorOf(r->html, "p-1.2-py3-none-any.whl").find("data-yanked") == std::string::npos);
  CHECK(r->files.at("p-1.0-py3-none-any.whl").url == "http://up.example/p/p-1.0-py3-none-any.whl");
}

TEST_CASE("pypi project page: files hoard cannot serve are dropped") {
  std::string sha = sha256Hex("y");
  auto file = [&](std::string name, Json hashes) {
    return Json{{"filename", name}, {"url", "https://f.example/" + name}, {"hashes", hashes}};
  };
  Json files = {
      file("ok-1.0.tar.gz", {{"sha256", sha}}),
      file("nohash-1.0.tar.gz", Json::object()),
      file("md5only-1.0.tar.gz", {{"md5", "0123456789abcdef0123456789abcdef"}}),
      file("short-1.0.tar.gz", {{"sha256", sha.substr(1)}}),
      file("number-1.0.tar.gz", {{"sha256", 5}}),
      file("../evil-1.0.tar.gz", {{"sha256", sha}}),
      file("dir/evil-1.0.tar.gz", {{"sha256", sha}}),
      file("evil-1.0.exe", {{"sha256", sha}}),
      file(".hidden-1.0.tar.gz", {{"sha256", sha}}),
      file("meta-1.0.whl.metadata", {{"sha256", sha}}),
      file("sp ace-1.0.tar.gz", {{"sha256", sha}}),
      Json{{"filename", "nourl-1.0.tar.gz"}, {"hashes", {{"sha256", sha}}}},
      Json{{"url", "https://f.example/x.tar.gz"}, {"hashes", {{"sha256", sha}}}},
      Json{{"filename", "hashes-not-object-1.0.tar.gz"}, {"url", "x"}, {"hashes", "sha256"}},
      Json("not an object"),
      Json{{"filename", "local-1.0.tar.gz"},
           {"url", "file:///etc/passwd"},
           {"hashes", {{"sha256", sha}}}},
      Json{{"filename", "ftp-1.0.tar.gz"},
           {"url", "ftp://f.example/ftp-1.0.tar.gz"},
           {"hashes", {{"sha256", sha}}}},
      Json{{"filename", "nohost-1.0.tar.gz"},
           {"url", "http:g.tar.gz"},
           {"hashes", {{"sha256", sha}}}},
      Json{{"filename", "emptyhost-1.0.tar.gz"},
           {"url", "https:///x.tar.gz"},
           {"hashes", {{"sha256", sha}}}},
      Json{{"filename", "crlf-1.0.tar.gz"},
           {"url", "https://f.example/a\r\nHost: x/crlf-1.0.tar.gz"},
           {"hashes", {{"sha256", sha}}}},
      Json{{"filename", "js-1.0.tar.gz"},
           {"url", "javascript:alert(1)"},
           {"hashes", {{"sha256", sha}}}},
      Json{{"filename", 7}, {"url", "x"}, {"hashes", {{"sha256", sha}}}},
  };
  Json doc = {{"meta", {{"api-version", "1.0"}}}, {"name", "ok"}, {"files", files}};
  auto r = renderProjectPage(doc.dump(), "https://up.example/simple/ok/", "ok");
  REQUIRE(r);
  CHECK(r->droppedFiles == files.size() - 1);
  REQUIRE(r->files.size() == 1);
  CHECK(r->files.contains("ok-1.0.tar.gz"));
  auto out = Json::parse(r->json);
  REQUIRE(out["files"].size() == 1);
  CHECK(out["files"][0]["filename"] == "ok-1.0.tar.gz");
  CHECK(count(r->html, "<a ") == 1);
}

TEST_CASE("pypi project page: hashes from the URL fragment, case, and encoded names") {
  std::string sha = sha256Hex("torch");
  std::string upper = sha;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string name = "torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl";
  Json doc = {{"meta", {{"api-version", "1.0"}}},
              {"name", "torch"},
              {"files",
               {{{"filename", name},
                 {"url",
                  "https://d.example/whl/cpu/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64"
                  ".whl#sha256=" +
                      sha},
                 {"hashes", Json::object()}},
                {{"filename", "torch-2.0.0.tar.gz"},
                 {"url", "t.tar.gz"},
                 {"hashes", {{"sha256", upper}}},
                 {"provenance", "../../prov/torch-2.0.0.tar.gz.provenance"}},
                {{"filename", "torch-1.0.0.tar.gz"},
                 {"url", "/a dir/t\u00e9.tar.gz"},
                 {"hashes", {{"sha256", sha}}},
                 {"provenance", "file:///etc/passwd"}}}}};
  auto r = renderProjectPage(doc.dump(), "https://d.example/simple/torch/", "torch");
  REQUIRE(r);
  CHECK(r->droppedFiles == 0);
  auto out = Json::parse(r->json);
  const Json* whl = fileNamed(out, name);
  REQUIRE(whl);
  CHECK((*whl)["url"] == "../../files/torch/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl");
  CHECK((*whl)["hashes"]["sha256"] == sha);  // filled in from the fragment
  CHECK(r->files.at(name).url ==
        "https://d.example/whl/cpu/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl");
  CHECK(r->files.at(name).digest.hex == sha);
  const Json* sdist = fileNamed(out, "torch-2.0.0.tar.gz");
  REQUIRE(sdist);
  CHECK((*sdist)["hashes"]["sha256"] == sha);  // lowercased
  CHECK(r->files.at("torch-2.0.0.tar.gz").url == "https://d.example/simple/torch/t.tar.gz");
  // Relative provenance would resolve against hoard; it is made absolute.
  CHECK((*sdist)["provenance"] == "https://d.example/prov/torch-2.0.0.tar.gz.provenance");
  CHECK((*fileNamed(out, "torch-1.0.0.tar.gz"))["provenance"].is_null());  // was file://
  CHECK(r->files.at("torch-1.0.0.tar.gz").url == "https://d.example/a%20dir/t%C3%A9.tar.gz");
  CHECK(anchorOf(r->html, "torch-2.0.0.tar.gz")
            .find(" data-provenance=\"https://d.example/prov/torch-2.0.0.tar.gz.provenance\"") !=
        std::string::npos);
  CHECK(
      anchorOf(r->html, name)
          .find(" href=\"../../files/torch/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl#sha256=" +
                sha + "\"") != std::string::npos);
  // The names a client asks for parse back to the keys of `files`.
  for (const auto& f : out["files"]) {
    std::string rel = f["url"].get<std::string>();
    auto path = parsePypiPath(rel.substr(std::string("../../").size()));
    REQUIRE(path);
    CHECK(path->kind == PypiPath::Kind::File);
    CHECK(path->project == "torch");
    CHECK(r->files.contains(path->file));
  }
}

TEST_CASE("pypi project page: input that is not a v1 project page is refused") {
  std::string sha = sha256Hex("z");
  Json good = {{"meta", {{"api-version", "1.0"}}}, {"name", "p"}, {"files", Json::array()}};
  REQUIRE(renderProjectPage(good.dump(), kPage, "p"));
  CHECK_FALSE(renderProjectPage("not json", kPage, "p"));
  CHECK_FALSE(renderProjectPage("", kPage, "p"));
  CHECK_FALSE(renderProjectPage("[]", kPage, "p"));
  CHECK_FALSE(renderProjectPage("{\"files\": {}}", kPage, "p"));
  CHECK_FALSE(renderProjectPage("{\"name\": \"p\"}", kPage, "p"));
  CHECK_FALSE(renderProjectPage("{\"files\": []", kPage, "p"));
  for (auto v : {Json("2.0"), Json("1"), Json("1."), Json("1.x"), Json(1.0), Json("11.0")}) {
    Json bad = good;
    bad["meta"]["api-version"] = v;
    INFO(v.dump());
    CHECK_FALSE(renderProjectPage(bad.dump(), kPage, "p"));
  }
  Json badMeta = good;
  badMeta["meta"] = "1.0";
  CHECK_FALSE(renderProjectPage(badMeta.dump(), kPage, "p"));
  Json other = good;
  other["name"] = "q";
  CHECK_FALSE(renderProjectPage(other.dump(), kPage, "p"));
  // The project hoard serves the page as must be normalized and valid.
  CHECK_FALSE(renderProjectPage(good.dump(), kPage, "P"));
  CHECK_FALSE(renderProjectPage(good.dump(), kPage, "../p"));

  Json minimal = {{"files", Json::array()}};  // tolerated: meta and name filled in
  auto r = renderProjectPage(minimal.dump(), kPage, "p");
  REQUIRE(r);
  auto out = Json::parse(r->json);
  CHECK(out["meta"]["api-version"] == "1.0");
  CHECK(out["name"] == "p");
  CHECK(r->html.find("content=\"1.0\"") != std::string::npos);
  Json unnormalized = good;
  unnormalized["name"] = "P";
  CHECK(renderProjectPage(unnormalized.dump(), kPage, "p"));
}

TEST_CASE("pypi HTML upstream: anchors become the same page") {
  std::string s1 = sha256Hex("one"), s2 = sha256Hex("two"), s3 = sha256Hex("three");
  std::string m1 = sha256Hex("meta one"), m2 = sha256Hex("meta two");
  std::string page =
      "<!DOCTYPE html>\n<html><head>\n"
      "<meta name=\"pypi:repository-version\" content=\"1.1\">\n"
      "<title>Links for holy-grail</title></head><body>\n"
      "<h1>Links for holy-grail</h1>\n"
      "<a href=\"/\">home</a>\n"
      "<!-- <a href=\"../../gone/holy_grail-0.1.tar.gz#sha256=" +
      s1 +
      "\">holy_grail-0.1.tar.gz</a> -->\n"
      "<a href=\"../../packages/holy_grail-1.0-py3-none-any.whl#sha256=" +
      s1 + "\" data-requires-python=\"&gt;=3.8\" data-dist-info-metadata=\"sha256=" + m1 +
      "\">holy_grail-1.0-py3-none-any.whl</a><br/>\n"
      "<A HREF='https://cdn.example/holy_grail-1.0.tar.gz#sha256=" +
      s2 +
      "' DATA-YANKED data-core-metadata=true data-gpg-sig=\"true\">holy_grail-1.0.tar.gz</A>\n"
      "<a data-yanked=\"broken &amp; &#60;bad&#x3E; &lt;\" href=\"holy_grail-1.1.tar.gz#sha256=" +
      s3 + "\" data-core-metadata=\"sha256=" + m2 +
      "\" data-dist-info-metadata=\"sha256=0000\">holy_grail-1.1.tar.gz</a>\n"
      "<a href=\"holy_grail-0.9.tar.gz#md5=0123456789abcdef0123456789abcdef\">"
      "holy_grail-0.9.tar.gz</a>\n"
      "<a href=\"../../packages/holy_grail-0.8.tar.gz\">holy_grail-0.8.tar.gz</a>\n"
      "</body></html>\n";
  auto r = parseSimpleHtml(page, kPage, "holy-grail");
  REQUIRE(r);
  CHECK(r->droppedFiles == 2);  // md5 only, no hash; the home link is not a file
  auto out = Json::parse(r->json);
  CHECK(out["meta"]["api-version"] == "1.1");
  CHECK(out["name"] == "holy-grail");
  REQUIRE(out["files"].size() == 3);

  const Json* w = fileNamed(out, "holy_grail-1.0-py3-none-any.whl");
  REQUIRE(w);
  CHECK((*w)["url"] == "../../files/holy-grail/holy_grail-1.0-py3-none-any.whl");
  CHECK((*w)["hashes"] == Json({{"sha256", s1}}));
  CHECK((*w)["requires-python"] == ">=3.8");
  CHECK((*w)["core-metadata"] == Json({{"sha256", m1}}));
  CHECK_FALSE(w->contains("yanked"));
  CHECK(r->files.at("holy_grail-1.0-py3-none-any.whl").url ==
        "https://up.example/packages/holy_grail-1.0-py3-none-any.whl");
  CHECK(r->files.at("holy_grail-1.0-py3-none-any.whl.metadata").url ==
        "https://up.example/packages/holy_grail-1.0-py3-none-any.whl.metadata");
  CHECK(r->files.at("holy_grail-1.0-py3-none-any.whl.metadata").digest.hex == m1);

  const Json* sd = fileNamed(out, "holy_grail-1.0.tar.gz");
  REQUIRE(sd);
  CHECK((*sd)["yanked"] == true);
  CHECK((*sd)["core-metadata"] == false);
  CHECK((*sd)["gpg-sig"] == true);
  CHECK(r->files.at("holy_grail-1.0.tar.gz").url == "https://cdn.example/holy_grail-1.0.tar.gz");
  CHECK_FALSE(r->files.contains("holy_grail-1.0.tar.gz.metadata"));

  const Json* y = fileNamed(out, "holy_grail-1.1.tar.gz");
  REQUIRE(y);
  CHECK((*y)["yanked"] == "broken & <bad> <");
  CHECK((*y)["core-metadata"] == Json({{"sha256", m2}}));  // data-core-metadata wins
  CHECK(r->files.at("holy_grail-1.1.tar.gz").url ==
        "https://up.example/simple/holy-grail/holy_grail-1.1.tar.gz");
  CHECK(r->files.at("holy_grail-1.1.tar.gz.metadata").digest.hex == m2);
  CHECK_FALSE(r->files.contains("holy_grail-0.1.tar.gz"));

  std::string ya = anchorOf(r->html, "holy_grail-1.1.tar.gz");
  CHECK(ya.find(" data-yanked=\"broken &amp; &lt;bad&gt; &lt;\"") != std::string::npos);
  CHECK(ya.find(" data-core-metadata=\"sha256=" + m2 + "\"") != std::string::npos);
  CHECK(ya.find(" data-dist-info-metadata=\"sha256=" + m2 + "\"") != std::string::npos);
  CHECK(anchorOf(r->html, "holy_grail-1.0.tar.gz").find(" data-yanked=\"\"") != std::string::npos);
  CHECK(r->html.find("content=\"1.1\"") != std::string::npos);
}

TEST_CASE("pypi HTML upstream: <base href>, unquoted values, names from the URL") {
  std::string sha = sha256Hex("b");
  std::string page =
      "<html><head><base href=\"https://mirror.example/pkgs/\"></head><body>"
      "<a href=sub/x-1.0.tar.gz#sha256=" +
      sha +
      " data-requires-python=&gt;=3>x-1.0.tar.gz</a>"
      "<a href=\"dl?id=7#sha256=" +
      sha +
      "\">  x-1.1.tar.gz </a>"
      "<a href=\"x-1.2%2Blocal.tar.gz#sha256=" +
      sha + "\">whatever</a>";  // unclosed anchor, no </body>
  auto r = parseSimpleHtml(page, "https://up.example/simple/x/", "x");
  REQUIRE(r);
  CHECK(r->droppedFiles == 0);
  CHECK(r->files.at("x-1.0.tar.gz").url == "https://mirror.example/pkgs/sub/x-1.0.tar.gz");
  CHECK(r->files.at("x-1.1.tar.gz").url == "https://mirror.example/pkgs/dl?id=7");
  CHECK(r->files.at("x-1.2+local.tar.gz").url ==
        "https://mirror.example/pkgs/x-1.2%2Blocal.tar.gz");
  auto out = Json::parse(r->json);
  CHECK((*fileNamed(out, "x-1.0.tar.gz"))["requires-python"] == ">=3");
  CHECK(out["meta"]["api-version"] == "1.0");
}

TEST_CASE("pypi HTML upstream: any input is survived, and what comes out is servable") {
  std::string sha = sha256Hex("f");
  std::string seed =
      "<!DOCTYPE html><html><head><meta name=\"pypi:repository-version\" content=\"1.0\">"
      "<base href=\"../x/\"></head><body><!-- c --><a href=\"../../p/f-1.0.tar.gz#sha256=" +
      sha +
      "\" data-requires-python=\"&gt;=3&#x41;&#0;&#99999999;\" data-yanked='r&amp;'>"
      "f-1.0.tar.gz</a><br/><a href=f-1.1.whl#sha256=" +
      sha + " data-core-metadata=\"sha256=" + sha + "\">f-1.1.whl</a></body></html>";
  std::mt19937 rng(12345);
  const std::string alphabet = "<>\"'=&#;/ !-abcdef0123456789ahrefx.:%\n";
  std::size_t rendered = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string page = seed;
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits && !page.empty(); ++e) {
      std::size_t at = rng() % page.size();
      switch (rng() % 4) {
        case 0:
          page[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          page.erase(at, 1 + rng() % 16);
          break;
        case 2:
          page.insert(at, 1, static_cast<char>(rng() % 256));
          break;
        default:
          page.resize(at);  // truncated mid-tag, mid-entity, mid-quote
      }
    }
    auto r = parseSimpleHtml(page, "https://up.example/simple/f/", "f");
    if (!r) continue;  // a mangled repository-version is refused, not guessed at
    ++rendered;
    INFO(page);
    auto out = Json::parse(r->json);
    for (const auto& f : out["files"]) {
      std::string name = f["filename"].get<std::string>();
      CHECK(f["url"] == "../../files/f/" + percentEncodeSegment(name));
      CHECK(r->files.contains(name));
    }
    for (const auto& [name, source] : r->files) {
      CHECK(isValidFileRequest(name));
      CHECK(source.digest.hex.size() == 64);
    }
  }
  CHECK(rendered > 2500);
  auto clean = parseSimpleHtml(seed, "https://up.example/simple/f/", "f");
  REQUIRE(clean);
  CHECK(clean->files.size() == 3);
  CHECK(clean->files.at("f-1.0.tar.gz").url == "https://up.example/p/f-1.0.tar.gz");
  CHECK(clean->files.at("f-1.1.whl").url == "https://up.example/simple/x/f-1.1.whl");
}

TEST_CASE("pypi project list: JSON kept, HTML links to normalized names") {
  Json doc = {{"meta", {{"api-version", "1.1"}, {"_last-serial", 9}}},
              {"projects",
               {{{"name", "Frob"}, {"_last-serial", 3}},
                {{"name", "spam_Spam.spam"}},
                {{"name", "../evil"}},
                {{"name", "<script>"}},
                {{"name", 5}},
                Json("bare string"),
                {{"name", "a"}}}}};
  auto r = renderProjectList(doc.dump());
  REQUIRE(r);
  auto out = Json::parse(r->json);
  CHECK(out["meta"]["_last-serial"] == 9);
  REQUIRE(out["projects"].size() == 3);
  CHECK(out["projects"][0] == Json({{"name", "Frob"}, {"_last-serial", 3}}));
  CHECK(out["projects"][1]["name"] == "spam_Spam.spam");
  CHECK(out["projects"][2]["name"] == "a");
  CHECK(r->html.starts_with("<!DOCTYPE html>"));
  CHECK(r->html.find("content=\"1.1\"") != std::string::npos);
  CHECK(r->html.find("<a href=\"frob/\">Frob</a>") != std::string::npos);
  CHECK(r->html.find("<a href=\"spam-spam-spam/\">spam_Spam.spam</a>") != std::string::npos);
  CHECK(r->html.find("<a href=\"a/\">a</a>") != std::string::npos);
  CHECK(count(r->html, "<a ") == 3);
  CHECK(r->html.find("evil") == std::string::npos);
  CHECK(r->html.find("<script>") == std::string::npos);

  CHECK_FALSE(renderProjectList("[]"));
  CHECK_FALSE(renderProjectList("\"projects\""));
  CHECK_FALSE(renderProjectList("{\"projects\": {}}"));
  CHECK_FALSE(renderProjectList("{\"projects\": 5}"));
  CHECK_FALSE(renderProjectList("{\"projects\": [], \"meta\": []}"));
  CHECK_FALSE(renderProjectList("{\"projects\": [], \"meta\": {\"api-version\": 1.1}}"));
  CHECK_FALSE(renderProjectList("{\"projects\": [], \"meta\": {\"api-version\": [\"1.0\"]}}"));
  CHECK_FALSE(renderProjectList("{\"projects\": []} trailing"));
  CHECK_FALSE(renderProjectList("{\"projects\": [{\"name\": \"a\"}"));
  CHECK_FALSE(renderProjectList(""));
  CHECK_FALSE(renderProjectList("{\"meta\": {\"api-version\": \"1.0\"}}"));
  CHECK_FALSE(renderProjectList("{\"projects\": [], \"meta\": {\"api-version\": \"2.0\"}}"));
  CHECK_FALSE(renderProjectList("nope"));
}

TEST_CASE("pypi project list: every value is written back as given") {
  std::string in = R"({"projects": [
      {"name": "x", "n": -12, "u": 18446744073709551615, "f": 1.5e-3, "z": null, "b": [true, false],
       "s": "tab\t quote\" slash\\ \u00e9\u2603 \ud83d\ude00 nul\u0000",
       "o": {"name": "not the entry's", "deep": [{}, [], [[1]]]}},
      [ "an", "array" ], "bare", 7, null,
      {"nameless": true},
      {"name": ["a"]},
      {"name": "y", "name2": "z"}
    ], "x-after": {"k": [1, 2.25]}, "meta": {"_last-serial": 7, "api-version": "1.3"}})";
  auto r = renderProjectList(in);
  REQUIRE(r);
  auto want = Json::parse(in);
  auto& projects = want["projects"];
  projects = Json::array({projects[0], projects[7]});
  auto got = Json::parse(r->json);
  CHECK(got == want);
  CHECK(got["projects"][0]["s"].get<std::string>().size() > 20);
  CHECK(r->html.find("content=\"1.3\"") != std::string::npos);  // meta came last
  CHECK(count(r->html, "<a ") == 2);
  CHECK(r->html.find("<a href=\"x/\">x</a>") != std::string::npos);
  CHECK(r->html.find("<a href=\"y/\">y</a>") != std::string::npos);

  // meta, or its api-version, missing: added, as for project pages.
  auto bare = renderProjectList(R"({"projects": [{"name": "A"}]})");
  REQUIRE(bare);
  CHECK(Json::parse(bare->json) ==
        Json::parse(R"({"projects": [{"name": "A"}], "meta": {"api-version": "1.0"}})"));
  auto noVersion = renderProjectList(R"({"meta": {}, "projects": []})");
  REQUIRE(noVersion);
  CHECK(Json::parse(noVersion->json)["meta"] == Json({{"api-version", "1.0"}}));
  auto serialOnly = renderProjectList(R"({"meta": {"_last-serial": 1}, "projects": []})");
  REQUIRE(serialOnly);
  CHECK(Json::parse(serialOnly->json)["meta"] ==
        Json({{"api-version", "1.0"}, {"_last-serial", 1}}));
  CHECK(serialOnly->html.find("content=\"1.0\"") != std::string::npos);
}

TEST_CASE("pypi project list: hundreds of thousands of projects in one pass") {
  constexpr std::size_t kProjects = 200000;
  std::string in = "{\"meta\":{\"api-version\":\"1.0\"},\"projects\":[";
  for (std::size_t i = 0; i < kProjects; ++i) {
    if (i) in.push_back(',');
    in += "{\"name\":\"Project_" + std::to_string(i) + "\",\"_last-serial\":" + std::to_string(i) +
          "}";
  }
  in += "]}";
  auto r = renderProjectList(in);
  REQUIRE(r);
  CHECK(count(r->html, "<a ") == kProjects);
  std::string last = std::to_string(kProjects - 1);
  CHECK(r->html.find("<a href=\"project-" + last + "/\">Project_" + last + "</a>") !=
        std::string::npos);
  CHECK(Json::accept(r->json));
  CHECK(count(r->json, "{\"name\":\"Project_") == kProjects);
}
