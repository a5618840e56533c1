#pragma once
// Picks the configured upstream for an OCI request. hoard never fetches from a
// host its config does not name: every URL it builds starts with the base URL
// of an upstream chosen here.
//
// Order (containerd's hosts.toml mirror appends ?ns=<registry> to every request):
//   1. ns=<host>       -> the upstream whose `registries` list the host; an
//                         unknown host is refused (NAME_UNKNOWN), never proxied.
//   2. /v2/<prefix>/.. -> the upstream with that `prefix` (override_path users, plain clients)
//   3. otherwise       -> the default upstream (dockerd's registry-mirrors sends no ns).
// For Docker Hub, single-component names get "library/", as the docker CLI does.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "daemon/http/percent.h"

namespace hoard::oci {

struct RoutedName {
  std::size_t upstream = 0;  // index into the router's upstream list
  std::string repository;    // the name as the upstream knows it
};

enum class RouteError { UnknownRegistry, NoDefault };

class UpstreamRouter {
 public:
  explicit UpstreamRouter(std::vector<conf::UpstreamConfig> ociUpstreams);
  std::optional<RoutedName> route(std::string_view ns, std::string_view name,
                                  RouteError& error) const;
  const std::vector<conf::UpstreamConfig>& upstreams() const { return upstreams_; }
  static bool isDockerHub(const conf::UpstreamConfig& upstream);

 private:
  std::vector<conf::UpstreamConfig> upstreams_;
  std::optional<std::size_t> default_;
};

// Extracts one query parameter's raw value ("" if absent). Values are not
// percent-decoded: registry host names never need it, and a '%' in one simply
// matches no configured registry.
std::string_view queryParam(std::string_view query, std::string_view key);

// Decodes a query value (%XX and '+'); nullopt on a malformed escape.
inline std::optional<std::string> percentDecode(std::string_view raw) {
  return http::percentDecode(raw, true);
}

// The ns value as a registry host: containerd sends it through Go's
// url.Values.Encode, so "reg.example:5000" arrives as "reg.example%3A5000".
// nullopt when the decoded text is not a plausible host[:port].
std::optional<std::string> decodeNamespace(std::string_view raw);

}  // namespace hoard::oci
