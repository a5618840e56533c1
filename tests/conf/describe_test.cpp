#include "conf/describe.h"

#include <catch2/catch.hpp>

#include "conf/defaults.h"

using namespace hoard::conf;

TEST_CASE("describeConfig summarises settings and redacts passwords") {
  Config c = defaultConfig([](const std::string&) { return std::optional<std::string>(); });
  c.sourceFile = "/etc/hoard/hoard.yaml";
  c.store.maxSizeBytes = 50ull << 30;
  c.upstreams[0].auth = UpstreamAuth{"robot", "s3cr3t-Passw0rd"};
  std::string d = describeConfig(c);
  CHECK_THAT(d, Catch::Contains("/etc/hoard/hoard.yaml"));
  CHECK_THAT(d, Catch::Contains("127.0.0.1:5050"));
  CHECK_THAT(d, Catch::Contains("/var/cache/hoard"));
  CHECK_THAT(d, Catch::Contains("50GiB"));
  CHECK_THAT(d, Catch::Contains("dockerhub (oci) https://registry-1.docker.io [default]"));
  CHECK_THAT(d, Catch::Contains("docker.io"));
  CHECK_THAT(d, Catch::Contains("robot:***"));
  CHECK_THAT(d, Catch::Contains("manifest_ttl 5m"));
  CHECK(d.find("s3cr3t") == std::string::npos);
}

TEST_CASE("describeConfig says where settings came from and spells special values") {
  Config c = defaultConfig([](const std::string&) { return std::optional<std::string>(); });
  c.log.accessLog = "";
  std::string d = describeConfig(c);
  CHECK_THAT(d, Catch::Contains("built-in defaults"));
  CHECK_THAT(d, Catch::Contains("max_size unlimited"));
  CHECK_THAT(d, Catch::Contains("access log off"));
  c.log.accessLog = "-";
  CHECK_THAT(describeConfig(c), Catch::Contains("access log stderr"));
}

TEST_CASE("describeConfig shows the store's watermarks, retention and pins") {
  Config c = defaultConfig([](const std::string&) { return std::optional<std::string>(); });
  c.store.maxSizeBytes = 10ull << 30;
  std::string d = describeConfig(c);
  CHECK_THAT(d, Catch::Contains("watermarks 80%-90%"));
  CHECK_THAT(d, Catch::Contains("metadata_retention 7d"));
  CHECK(d.find("pin:") == std::string::npos);
  c.store.pins = {"npm:lodash", "oci:docker.io/library/alpine"};
  c.store.metadataRetentionMs = kForever;
  d = describeConfig(c);
  CHECK_THAT(d, Catch::Contains("pin: npm:lodash, oci:docker.io/library/alpine"));
  CHECK_THAT(d, Catch::Contains("metadata_retention forever"));
}
