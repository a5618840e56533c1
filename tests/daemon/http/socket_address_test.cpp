#include "daemon/http/socket_address.h"

#include <netinet/in.h>

#include <catch2/catch.hpp>

using hoard::http::formatSockaddr;
using hoard::http::splitHostPort;

TEST_CASE("splitHostPort accepts IPv4, IPv6, names and empty hosts") {
  auto a = splitHostPort("127.0.0.1:8080");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == "8080");
  auto b = splitHostPort("[::1]:0");
  REQUIRE(b);
  CHECK(b->host == "::1");
  CHECK(b->port == "0");
  auto c = splitHostPort(":5000");
  REQUIRE(c);
  CHECK(c->host.empty());
  auto d = splitHostPort("localhost:80");
  REQUIRE(d);
  CHECK(d->host == "localhost");
}

TEST_CASE("splitHostPort rejects malformed addresses") {
  CHECK_FALSE(splitHostPort("127.0.0.1"));
  CHECK_FALSE(splitHostPort("127.0.0.1:"));
  CHECK_FALSE(splitHostPort("127.0.0.1:http"));
  CHECK_FALSE(splitHostPort("127.0.0.1:65536"));
  CHECK_FALSE(splitHostPort("[::1:80"));
  CHECK_FALSE(splitHostPort("[::1]80"));
}

TEST_CASE("formatSockaddr renders ip:port") {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(53122);
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(formatSockaddr(reinterpret_cast<sockaddr*>(&in)) == "127.0.0.1:53122");
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(80);
  in6.sin6_addr = in6addr_loopback;
  CHECK(formatSockaddr(reinterpret_cast<sockaddr*>(&in6)) == "[::1]:80");
}
