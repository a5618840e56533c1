#pragma once
#include <string>
#include <string_view>

namespace hoard::oci {

inline constexpr std::string_view kDockerManifestV2 =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciArtifactManifest =
    "application/vnd.oci.artifact.manifest.v1+json";

// What hoard always asks upstream for: every manifest type. Docker Hub hands a
// single-platform manifest to clients that omit the index types, and a cache
// must store what the tag really points at.
inline constexpr std::string_view kManifestAcceptAll =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.oci.artifact.manifest.v1+json";

bool isManifestMediaType(std::string_view mediaType);

// True when the client's Accept header admits `mediaType`. An absent Accept,
// "*/*" or "application/*" admits everything; parameters (";q=") are ignored
// except q=0, which excludes.
bool acceptAdmits(std::string_view acceptHeader, std::string_view mediaType);

// The media type declared inside a manifest's JSON ("mediaType"), or "" if
// absent/unparseable. Used when an upstream sends a useless Content-Type.
std::string sniffManifestMediaType(std::string_view body);

}  // namespace hoard::oci
