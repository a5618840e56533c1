#pragma once
// A parsed HTTP/1.x request head. Strings are reused across the requests of
// one connection (cleared, not freed), so keep-alive traffic does not
// reallocate them.
#include <string>
#include <string_view>
#include <vector>

namespace hoard::http {

struct Header {
  std::string name;  // lowercased for request headers
  std::string value;
};
using Headers = std::vector<Header>;

struct Request {
  std::string method;  // "GET", "HEAD", "POST" (bodiless admin, or what a BodyPolicy admits)
  std::string target;  // raw request-target as received
  std::string path;    // target up to '?', NOT percent-decoded
  std::string query;   // after '?', raw, may be empty
  Headers headers;
  std::string peer;  // "127.0.0.1:53122"
  // The whole body (Content-Length or de-chunked), complete before the handler
  // runs; empty unless the Server's BodyPolicy admitted the request.
  std::string body;
  int versionMinor = 1;

  // First header with that (lowercase) name, or "" when absent.
  std::string_view header(std::string_view lowercaseName) const;
};

}  // namespace hoard::http
