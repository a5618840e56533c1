#include "conf/config.h"

namespace hoard::conf {

std::string_view upstreamKindName(UpstreamKind kind) {
  switch (kind) {
    case UpstreamKind::Oci:
      return "oci";
    case UpstreamKind::Npm:
      return "npm";
    case UpstreamKind::Pypi:
      return "pypi";
    case UpstreamKind::Go:
      return "go";
  }
  return "?";
}

std::optional<UpstreamKind> parseUpstreamKind(std::string_view name) {
  for (auto kind : {UpstreamKind::Oci, UpstreamKind::Npm, UpstreamKind::Pypi, UpstreamKind::Go}) {
    if (name == upstreamKindName(kind)) return kind;
  }
  return std::nullopt;
}

const UpstreamConfig* defaultUpstream(const Config& config, UpstreamKind kind) {
  for (const auto& u : config.upstreams) {
    if (u.kind == kind && u.isDefault) return &u;
  }
  return nullptr;
}

const UpstreamConfig* findUpstream(const Config& config, std::string_view name) {
  for (const auto& u : config.upstreams) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

}  // namespace hoard::conf
