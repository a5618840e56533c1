#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hoard::http {

// One access-log record, handed to the Server's AccessLogger when an exchange ends.
struct ExchangeLog {
  std::string client;  // peer "ip:port"
  std::string method;
  std::string target;
  int status = 0;               // 0 when no response head was sent
  std::uint64_t bodyBytes = 0;  // body bytes written to the socket (no head, no chunk framing)
  double durationMs = 0;        // first byte of the request to the end of the exchange
  std::vector<std::pair<std::string, std::string>> fields;  // Exchange::setLogField
  bool aborted = false;  // the client did not get a complete response
};

}  // namespace hoard::http
