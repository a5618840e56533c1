#pragma once
// One configured upstream as a front end (npm, PyPI, Go) holds it: its
// config, its health (breaker, 429 back-off, offline) and the origins hoard
// may fetch from on its behalf. Nothing outside those origins is ever
// fetched: a document that points elsewhere is not followed (no open proxy).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/clock.h"
#include "conf/config.h"
#include "upstream/upstream_health.h"

namespace hoard {

struct FrontUpstream {
  conf::UpstreamConfig config;
  std::unique_ptr<UpstreamHealth> health;
  std::string origin;                    // scheme://host[:port] of config.url
  std::vector<std::string> fileOrigins;  // origin, then config.fileHosts

  // Whether `url` (absolute) lies on one of fileOrigins. Compares whole
  // origins: "http://a.example.evil" does not match "http://a.example".
  bool allowsUrl(std::string_view url) const;
};
using FrontUpstreamPtr = std::unique_ptr<FrontUpstream>;

FrontUpstreamPtr makeFrontUpstream(const conf::UpstreamConfig& config, ClockPtr clock,
                                   bool globalOffline);

// scheme://host[:port] of an absolute URL (the URL itself if it has no path).
std::string originOf(std::string_view url);

}  // namespace hoard
