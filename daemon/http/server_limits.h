#pragma once
#include <cstddef>
#include <cstdint>

namespace hoard::http {

struct ServerLimits {
  std::size_t maxHeaderBytes = 16UL * 1024;      // over -> 431
  std::size_t maxRequestLineBytes = 8UL * 1024;  // request-target over -> 414
  std::size_t maxHeaderCount = 100;              // over -> 431
  std::size_t maxConnections = 4096;             // over -> 503 and close
  std::uint64_t headerTimeoutMs = 10000;      // first byte of a request to end of its head -> 408
  std::uint64_t idleTimeoutMs = 60000;        // keep-alive wait for the next request -> close
  std::uint64_t writeStallTimeoutMs = 60000;  // no write progress to the client -> close
  std::uint64_t shutdownGraceMs = 10000;      // in-flight exchanges get this long on shutdown
  // Additions beyond the agreed API:
  // After the last response of a connection the write side is shut down and the
  // client's remaining input is drained (so the kernel sends FIN, not RST that
  // could destroy the response in flight) for at most this long.
  std::uint64_t lingerTimeoutMs = 2000;
  std::size_t readBufferBytes = 16UL * 1024;  // per connection; llhttp parses incrementally
  // Request bodies, read only for requests the Server's BodyPolicy admits:
  std::size_t maxRequestBodyBytes = 8UL * 1024 * 1024;  // over -> 413 and close
  // End of the head to the end of the body -> 408. One deadline, not extended
  // by trickled bytes, so a slow body cannot hold a connection for long.
  std::uint64_t bodyTimeoutMs = 30000;
};

}  // namespace hoard::http
