#include "cache/digest.h"

#include <catch2/catch.hpp>

using hoard::Digest;

TEST_CASE("Digest::parse accepts canonical sha256 and sha512") {
  auto d = Digest::parse("sha256:" + std::string(64, 'a'));
  REQUIRE(d);
  CHECK(d->str() == "sha256:" + std::string(64, 'a'));
  CHECK(Digest::parse("sha512:" + std::string(128, '0')));
}

TEST_CASE("Digest::parse rejects anything that could escape a path or confuse a URL") {
  CHECK_FALSE(Digest::parse("sha256:" + std::string(63, 'a')));
  CHECK_FALSE(Digest::parse("sha256:" + std::string(64, 'A')));
  CHECK_FALSE(Digest::parse("sha256:../" + std::string(61, 'a')));
  CHECK_FALSE(Digest::parse("md5:" + std::string(32, 'a')));
  CHECK_FALSE(Digest::parse("sha256" + std::string(64, 'a')));
  CHECK_FALSE(Digest::parse(""));
}

TEST_CASE("Hasher matches known sha256 vectors") {
  CHECK(hoard::sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  hoard::Hasher h(hoard::DigestAlgorithm::Sha256);
  h.update("ab", 2);
  h.update("c", 1);
  CHECK(h.finishHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
