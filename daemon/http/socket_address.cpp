#include "daemon/http/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace hoard::http {

std::expected<HostPort, const char*> splitHostPort(std::string_view hostPort) {
  HostPort out;
  std::string_view rest;
  if (!hostPort.empty() && hostPort.front() == '[') {
    auto close = hostPort.find(']');
    if (close == std::string_view::npos) return std::unexpected("unterminated '[' in address");
    out.host = std::string(hostPort.substr(1, close - 1));
    rest = hostPort.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return std::unexpected("missing port in address");
    rest.remove_prefix(1);
  } else {
    auto colon = hostPort.rfind(':');
    if (colon == std::string_view::npos) return std::unexpected("missing port in address");
    out.host = std::string(hostPort.substr(0, colon));
    rest = hostPort.substr(colon + 1);
  }
  if (rest.empty() || rest.size() > 5) return std::unexpected("invalid port in address");
  unsigned port = 0;
  for (char c : rest) {
    if (c < '0' || c > '9') return std::unexpected("invalid port in address");
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return std::unexpected("port out of range");
  out.port = std::string(rest);
  return out;
}

std::string formatSockaddr(const sockaddr* sa) {
  char ip[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    std::string out(ip);
    out += ':';
    out += std::to_string(ntohs(in->sin_port));
    return out;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    std::string out = "[";
    out += ip;
    out += "]:";
    out += std::to_string(ntohs(in6->sin6_port));
    return out;
  }
  return "unix";
}

}  // namespace hoard::http
