#include "daemon/oci/media_types.h"

#include <catch2/catch.hpp>

using namespace hoard::oci;

TEST_CASE("acceptAdmits follows what containerd, docker and skopeo send") {
  std::string containerd =
      "application/vnd.docker.distribution.manifest.v2+json, "
      "application/vnd.docker.distribution.manifest.list.v2+json, "
      "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*";
  CHECK(acceptAdmits(containerd, kOciIndex));
  CHECK(acceptAdmits("", kOciIndex));
  CHECK(acceptAdmits("application/*", kOciIndex));
  CHECK(acceptAdmits("application/vnd.oci.image.manifest.v1+json", kOciManifest));
  CHECK_FALSE(acceptAdmits("application/vnd.docker.distribution.manifest.v2+json", kOciIndex));
  CHECK_FALSE(acceptAdmits("application/vnd.oci.image.index.v1+json;q=0, text/plain", kOciIndex));
}

TEST_CASE("sniffManifestMediaType reads the declared type or infers OCI types") {
  CHECK(sniffManifestMediaType(R"({"mediaType":"application/vnd.oci.image.index.v1+json"})") ==
        kOciIndex);
  CHECK(sniffManifestMediaType(R"({"schemaVersion":2,"manifests":[]})") == kOciIndex);
  CHECK(sniffManifestMediaType(R"({"schemaVersion":2,"config":{},"layers":[]})") == kOciManifest);
  CHECK(sniffManifestMediaType("not json").empty());
}
