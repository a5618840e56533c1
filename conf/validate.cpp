#include "conf/validate.h"

#include <array>

namespace hoard::conf {

namespace {

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool isAlnum(char c) {
  return isLowerAlnum(c) || (c >= 'A' && c <= 'Z');
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string squote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// Port 0 ("any free port") is allowed where hoard listens: tests and
// supervisors that read the bound address back use it.
bool validPort(std::string_view port, bool allowZero) {
  if (port.empty() || port.size() > 5) return false;
  unsigned v = 0;
  for (char c : port) {
    if (!isDigit(c)) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return (v >= 1 || allowZero) && v <= 65535;
}

bool validHostName(std::string_view host, bool allowUpper) {
  if (host.empty() || host.front() == '.' || host.front() == '-' || host.back() == '.') {
    return false;
  }
  for (char c : host) {
    bool ok = (allowUpper ? isAlnum(c) : isLowerAlnum(c)) || c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return host.find("..") == std::string_view::npos;
}

bool validIpv6(std::string_view inner) {
  if (inner.empty()) return false;
  for (char c : inner) {
    if (!isHex(c) && c != ':' && c != '.') return false;
  }
  return inner.find(':') != std::string_view::npos;
}

// host[:port] or [v6][:port]; `portRequired` for listen addresses.
std::expected<void, std::string> checkAuthority(std::string_view auth, bool portRequired,
                                                bool allowUpper) {
  std::string_view host = auth, port;
  bool hasPort = false;
  if (auth.starts_with('[')) {
    auto close = auth.find(']');
    if (close == std::string_view::npos) return std::unexpected("unterminated '[' in address");
    host = auth.substr(1, close - 1);
    std::string_view after = auth.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::unexpected("unexpected text after ']'");
      port = after.substr(1);
      hasPort = true;
    }
    if (!validIpv6(host)) return std::unexpected("invalid IPv6 address " + squote(host));
  } else {
    if (auto colon = auth.rfind(':'); colon != std::string_view::npos) {
      host = auth.substr(0, colon);
      port = auth.substr(colon + 1);
      hasPort = true;
    }
    if (host.empty()) return std::unexpected("missing host");
    if (!validHostName(host, allowUpper)) return std::unexpected("invalid host " + squote(host));
  }
  if (hasPort && !validPort(port, portRequired)) {
    return std::unexpected("invalid port " + squote(port) +
                           (portRequired ? " (expected 0-65535)" : " (expected 1-65535)"));
  }
  if (portRequired && !hasPort) return std::unexpected("missing port (expected host:port)");
  return {};
}

}  // namespace

std::expected<void, std::string> validateUpstreamName(std::string_view name) {
  if (name.empty()) return std::unexpected("must not be empty");
  for (char c : name) {
    if (!isLowerAlnum(c) && c != '_' && c != '-') {
      return std::unexpected("must match [a-z0-9_-]+ (got " + squote(name) + ")");
    }
  }
  return {};
}

std::expected<void, std::string> validatePrefix(std::string_view prefix) {
  if (prefix.empty()) return std::unexpected("must not be empty (leave the key out instead)");
  for (char c : prefix) {
    if (!isLowerAlnum(c) && c != '_' && c != '-' && c != '.') {
      return std::unexpected("must match [a-z0-9-_.]+ (got " + squote(prefix) + ")");
    }
  }
  if (prefix.front() == '.') return std::unexpected("must not start with '.'");
  return {};
}

std::expected<void, std::string> validateRegistry(std::string_view registry) {
  if (registry.empty()) return std::unexpected("must not be empty");
  if (registry.find('/') != std::string_view::npos ||
      registry.find("://") != std::string_view::npos) {
    return std::unexpected(
        "must be a registry host such as docker.io or registry.local:5000, "
        "not a URL or path (got " +
        squote(registry) + ")");
  }
  auto r = checkAuthority(registry, false, false);
  if (!r) {
    return std::unexpected(r.error() +
                           " (registries are lowercase hosts like docker.io or "
                           "registry.local:5000)");
  }
  return {};
}

std::expected<std::string, std::string> normalizeUpstreamUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return std::unexpected("must start with http:// or https:// (got " + squote(url) + ")");
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return std::unexpected("must not contain spaces or control characters");
    }
  }
  if (url.find_first_of("?#") != std::string_view::npos) {
    return std::unexpected("must not contain a query or fragment");
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view path = rest.substr(authority.size());
  if (authority.find('@') != std::string_view::npos) {
    return std::unexpected("must not contain credentials (use auth: {username, password})");
  }
  if (authority.empty()) return std::unexpected("missing host");
  if (auto r = checkAuthority(authority, false, true); !r) return std::unexpected(r.error());
  std::string out(url.substr(0, url.size() - path.size()));
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out += path;
  return out;
}

std::expected<void, std::string> validateListen(std::string_view listen) {
  if (listen.empty()) return std::unexpected("must not be empty");
  if (listen.find("://") != std::string_view::npos) {
    return std::unexpected("expected host:port, not a URL (got " + squote(listen) + ")");
  }
  return checkAuthority(listen, true, true);
}

std::expected<void, std::string> validateLogLevel(std::string_view level) {
  static constexpr std::array<std::string_view, 5> kLevels{"trace", "debug", "info", "warn",
                                                           "error"};
  for (auto l : kLevels) {
    if (level == l) return {};
  }
  return std::unexpected("must be one of trace, debug, info, warn, error (got " + squote(level) +
                         ")");
}

std::expected<void, std::string> validateWatermarks(std::uint32_t lowPercent,
                                                    std::uint32_t highPercent) {
  if (highPercent < 1 || highPercent > 100) {
    return std::unexpected("high_watermark must be between 1 and 100 (percent of max_size), got " +
                           std::to_string(highPercent));
  }
  if (lowPercent < 1 || lowPercent >= highPercent) {
    return std::unexpected("low_watermark (" + std::to_string(lowPercent) +
                           "%) must be at least 1 and below high_watermark (" +
                           std::to_string(highPercent) + "%)");
  }
  return {};
}

}  // namespace hoard::conf
