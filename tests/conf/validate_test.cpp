#include "conf/validate.h"

#include <catch2/catch.hpp>

using namespace hoard::conf;

TEST_CASE("normalizeUpstreamUrl accepts http(s) urls and strips trailing slashes") {
  CHECK(normalizeUpstreamUrl("https://registry-1.docker.io").value() ==
        "https://registry-1.docker.io");
  CHECK(normalizeUpstreamUrl("https://ghcr.io/").value() == "https://ghcr.io");
  CHECK(normalizeUpstreamUrl("http://127.0.0.1:8080/mirror//").value() ==
        "http://127.0.0.1:8080/mirror");
  CHECK(normalizeUpstreamUrl("http://[::1]:5000").value() == "http://[::1]:5000");
  CHECK(normalizeUpstreamUrl("https://Registry.Example.com/v2").value() ==
        "https://Registry.Example.com/v2");
}

TEST_CASE("normalizeUpstreamUrl rejects what would break request building") {
  CHECK_THAT(normalizeUpstreamUrl("ftp://x").error(),
             Catch::Contains("must start with http:// or https://"));
  CHECK_THAT(normalizeUpstreamUrl("registry-1.docker.io").error(),
             Catch::Contains("must start with http:// or https://"));
  CHECK_THAT(normalizeUpstreamUrl("HTTPS://x").error(), Catch::Contains("http://"));
  CHECK_THAT(normalizeUpstreamUrl("https://").error(), Catch::Contains("missing host"));
  CHECK_THAT(normalizeUpstreamUrl("https://u:p@host").error(), Catch::Contains("auth"));
  CHECK_THAT(normalizeUpstreamUrl("https://host/?a=b").error(), Catch::Contains("query"));
  CHECK_THAT(normalizeUpstreamUrl("https://host:0").error(), Catch::Contains("port"));
  CHECK_THAT(normalizeUpstreamUrl("https://host:70000").error(), Catch::Contains("port"));
  CHECK_THAT(normalizeUpstreamUrl("https://host:").error(), Catch::Contains("port"));
  CHECK_THAT(normalizeUpstreamUrl("https://ho st").error(), Catch::Contains("spaces"));
  CHECK_FALSE(normalizeUpstreamUrl("https://host..com"));
  CHECK_FALSE(normalizeUpstreamUrl("https://[::1"));
}

TEST_CASE("validateUpstreamName and validatePrefix enforce their character sets") {
  CHECK(validateUpstreamName("docker_hub-2"));
  CHECK_FALSE(validateUpstreamName(""));
  CHECK_FALSE(validateUpstreamName("DockerHub"));
  CHECK_FALSE(validateUpstreamName("docker.hub"));
  CHECK_FALSE(validateUpstreamName("a/b"));
  CHECK(validatePrefix("docker.io"));
  CHECK(validatePrefix("my-mirror_2"));
  CHECK_FALSE(validatePrefix(""));
  CHECK_FALSE(validatePrefix(".."));
  CHECK_FALSE(validatePrefix(".hidden"));
  CHECK_FALSE(validatePrefix("a/b"));
  CHECK_FALSE(validatePrefix("Upper"));
}

TEST_CASE("validateRegistry takes hosts as containerd sends them in ns=") {
  CHECK(validateRegistry("docker.io"));
  CHECK(validateRegistry("registry.local:5000"));
  CHECK(validateRegistry("10.0.0.1:5000"));
  CHECK(validateRegistry("[::1]:5000"));
  CHECK_FALSE(validateRegistry(""));
  CHECK_FALSE(validateRegistry("Docker.io"));
  CHECK_FALSE(validateRegistry("https://docker.io"));
  CHECK_FALSE(validateRegistry("docker.io/library"));
  CHECK_FALSE(validateRegistry("docker.io:http"));
}

TEST_CASE("validateListen wants host:port") {
  CHECK(validateListen("127.0.0.1:5050"));
  CHECK(validateListen("0.0.0.0:80"));
  CHECK(validateListen("[::1]:5050"));
  CHECK(validateListen("localhost:5050"));
  CHECK(validateListen("127.0.0.1:0"));  // any free port; the bound one goes to --ready-file
  CHECK_THAT(validateListen("127.0.0.1").error(), Catch::Contains("port"));
  CHECK_THAT(validateListen(":5050").error(), Catch::Contains("host"));
  CHECK_THAT(validateListen("http://127.0.0.1:5050").error(), Catch::Contains("not a URL"));
  CHECK_FALSE(validateListen("127.0.0.1:99999"));
  CHECK_FALSE(validateListen(""));
}

TEST_CASE("validateLogLevel") {
  for (const char* ok : {"trace", "debug", "info", "warn", "error"}) CHECK(validateLogLevel(ok));
  CHECK_THAT(validateLogLevel("verbose").error(), Catch::Contains("one of"));
  CHECK_FALSE(validateLogLevel("INFO"));
}

TEST_CASE("validateWatermarks: 1 <= low < high <= 100") {
  CHECK(validateWatermarks(80, 90));
  CHECK(validateWatermarks(1, 100));
  CHECK(validateWatermarks(99, 100));
  CHECK_THAT(validateWatermarks(90, 90).error(), Catch::Contains("below high_watermark (90%)"));
  CHECK_THAT(validateWatermarks(95, 90).error(), Catch::Contains("low_watermark (95%)"));
  CHECK_FALSE(validateWatermarks(0, 90));
  CHECK_THAT(validateWatermarks(50, 101).error(), Catch::Contains("high_watermark must be"));
  CHECK_FALSE(validateWatermarks(50, 0));
}
