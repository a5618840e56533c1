#include "daemon/front_upstream.h"

namespace hoard {

std::string originOf(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  auto end = url.find_first_of("/?#", scheme + 3);
  return std::string(end == std::string_view::npos ? url : url.substr(0, end));
}

bool FrontUpstream::allowsUrl(std::string_view url) const {
  if (url.find("://") == std::string_view::npos) return false;
  const std::string o = originOf(url);
  for (const auto& allowed : fileOrigins) {
    if (o == allowed) return true;
  }
  return false;
}

FrontUpstreamPtr makeFrontUpstream(const conf::UpstreamConfig& config, ClockPtr clock,
                                   bool globalOffline) {
  auto up = std::make_unique<FrontUpstream>();
  up->config = config;
  up->origin = originOf(config.url);
  up->fileOrigins.push_back(up->origin);
  for (const auto& host : config.fileHosts) up->fileOrigins.push_back(originOf(host));
  up->health = std::make_unique<UpstreamHealth>(std::move(clock), config.breakerFailures,
                                                static_cast<Millis>(config.breakerCooldownMs),
                                                globalOffline || config.offline);
  return up;
}

}  // namespace hoard
