#include "daemon/npm/packument.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace hoard;
using namespace hoard::npm;

namespace {
std::string sha512Integrity(std::string_view data) {
  unsigned char md[64];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha512(), nullptr);
  unsigned char b64[100];
  int n = EVP_EncodeBlock(b64, md, 64);
  return "sha512-" + std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
}

std::string gunzip(const std::string& gz) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}
}  // namespace

TEST_CASE("integrity strings give the sha512 digest") {
  auto d = digestFromIntegrity(sha512Integrity("hello"));
  REQUIRE(d);
  Hasher h(DigestAlgorithm::Sha512);
  h.update("hello", 5);
  CHECK(d->hex == h.finishHex());
  CHECK_FALSE(digestFromIntegrity("sha1-AAAA"));
  CHECK_FALSE(digestFromIntegrity("sha512-!!"));
}

TEST_CASE("a packument is rewritten once: hoard tarball URLs, corgi from the same document") {
  nlohmann::json doc = {
      {"name", "@acme/widget"},
      {"dist-tags", {{"latest", "1.1.0"}}},
      {"time", {{"modified", "2026-01-01T00:00:00.000Z"}, {"1.0.0", "2025-01-01T00:00:00.000Z"}}},
      {"readme", "a long readme that corgi drops"},
      {"versions",
       {{"1.0.0",
         {{"name", "@acme/widget"},
          {"version", "1.0.0"},
          {"dependencies", {{"left-pad", "^1.0.0"}}},
          {"os", {"linux"}},
          {"scripts", {{"test", "x"}}},
          {"dist",
           {{"tarball", "http://up.example:1/@acme/widget/-/widget-1.0.0.tgz"},
            {"integrity", sha512Integrity("tarball bytes")},
            {"shasum", "0000000000000000000000000000000000000000"}}}}},
        {"1.1.0",
         {{"name", "@acme/widget"},
          {"version", "1.1.0"},
          {"dist",
           {{"tarball", "http://up.example:1/@acme/widget/-/widget-1.1.0.tgz"},
            {"shasum", "a9993e364706816aba3e25717850c26c9cd0d89d"}}}}}}}};
  auto r = rewritePackument(doc.dump(), "@acme/widget", "http://hoard:5050/npm");
  REQUIRE(r);
  auto full = nlohmann::json::parse(r->full);
  CHECK(full["versions"]["1.0.0"]["dist"]["tarball"] ==
        "http://hoard:5050/npm/@acme/widget/-/widget-1.0.0.tgz");
  CHECK(full["readme"] == "a long readme that corgi drops");
  auto corgi = nlohmann::json::parse(r->corgi);
  CHECK_FALSE(corgi.contains("readme"));
  CHECK(corgi["modified"] == "2026-01-01T00:00:00.000Z");
  CHECK(corgi["time"]["1.0.0"] == "2025-01-01T00:00:00.000Z");
  CHECK(corgi["versions"]["1.0.0"]["os"][0] == "linux");
  CHECK_FALSE(corgi["versions"]["1.0.0"].contains("scripts"));
  CHECK(corgi["versions"]["1.0.0"]["dist"] == full["versions"]["1.0.0"]["dist"]);
  CHECK(gunzip(r->fullGzip) == r->full);
  CHECK(gunzip(r->corgiGzip) == r->corgi);

  REQUIRE(r->tarballs.count("widget-1.0.0.tgz") == 1);
  const auto& t = r->tarballs.at("widget-1.0.0.tgz");
  CHECK(t.url == "http://up.example:1/@acme/widget/-/widget-1.0.0.tgz");
  CHECK(t.digest.algorithm == DigestAlgorithm::Sha512);  // integrity beats shasum
  CHECK(r->tarballs.at("widget-1.1.0.tgz").digest.algorithm == DigestAlgorithm::Sha1);
}

TEST_CASE("a packument for another name or not JSON is refused") {
  CHECK_FALSE(rewritePackument(R"({"name":"other"})", "mine", "http://h/npm"));
  CHECK_FALSE(rewritePackument("<html>", "mine", "http://h/npm"));
}
