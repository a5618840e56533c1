#pragma once
// "host:port" <-> socket addresses for the listener and peer names.
#include <sys/socket.h>

#include <expected>
#include <string>
#include <string_view>

namespace hoard::http {

struct HostPort {
  std::string host;  // brackets stripped for IPv6; empty = any address
  std::string port;
};

// "127.0.0.1:8080", "[::1]:0", ":5000", "localhost:80". The error is a static message
// (not std::string: clang-tidy 14 cannot destroy expected<T, string> with T non-trivial).
std::expected<HostPort, const char*> splitHostPort(std::string_view hostPort);

// "127.0.0.1:53122" / "[::1]:53122"; "unix" for anything else.
std::string formatSockaddr(const sockaddr* sa);

}  // namespace hoard::http
