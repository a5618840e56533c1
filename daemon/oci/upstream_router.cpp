#include "daemon/oci/upstream_router.h"

#include <algorithm>

namespace hoard::oci {

UpstreamRouter::UpstreamRouter(std::vector<conf::UpstreamConfig> ociUpstreams)
    : upstreams_(std::move(ociUpstreams)) {
  for (std::size_t i = 0; i < upstreams_.size(); ++i) {
    if (upstreams_[i].isDefault) default_ = i;
  }
}

bool UpstreamRouter::isDockerHub(const conf::UpstreamConfig& u) {
  return std::find(u.registries.begin(), u.registries.end(), "docker.io") != u.registries.end() ||
         u.url.find("registry-1.docker.io") != std::string::npos;
}

std::optional<RoutedName> UpstreamRouter::route(std::string_view ns, std::string_view name,
                                                RouteError& error) const {
  std::optional<std::size_t> chosen;
  std::string_view repo = name;
  if (!ns.empty()) {
    for (std::size_t i = 0; i < upstreams_.size() && !chosen; ++i) {
      const auto& regs = upstreams_[i].registries;
      if (std::find(regs.begin(), regs.end(), ns) != regs.end()) chosen = i;
    }
    if (!chosen) {
      error = RouteError::UnknownRegistry;
      return std::nullopt;
    }
  } else {
    auto slash = name.find('/');
    if (slash != std::string_view::npos) {
      auto first = name.substr(0, slash);
      for (std::size_t i = 0; i < upstreams_.size() && !chosen; ++i) {
        if (!upstreams_[i].prefix.empty() && upstreams_[i].prefix == first) {
          chosen = i;
          repo = name.substr(slash + 1);
        }
      }
    }
    if (!chosen) chosen = default_;
    if (!chosen) {
      error = RouteError::NoDefault;
      return std::nullopt;
    }
  }
  RoutedName out{*chosen, std::string(repo)};
  if (isDockerHub(upstreams_[*chosen]) && out.repository.find('/') == std::string::npos) {
    out.repository = "library/" + out.repository;
  }
  return out;
}

std::string_view queryParam(std::string_view query, std::string_view key) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    auto item =
        query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    auto eq = item.find('=');
    if (item.substr(0, eq) == key) return eq == std::string_view::npos ? "" : item.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return "";
}

std::optional<std::string> decodeNamespace(std::string_view raw) {
  auto decoded = percentDecode(raw);
  if (!decoded || decoded->empty() || decoded->size() > 255) return std::nullopt;
  for (char c : *decoded) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
    if (!ok) return std::nullopt;
  }
  return decoded;
}

}  // namespace hoard::oci
