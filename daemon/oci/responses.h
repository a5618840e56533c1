#pragma once
// Response helpers shared by the OCI handlers: the headers every registry
// answer carries, and OCI-format errors.
#include <string>
#include <string_view>

#include "daemon/http/exchange.h"
#include "daemon/oci/errors.h"
#include "upstream/http_client.h"
#include "upstream/upstream_health.h"

namespace hoard::oci {

http::Headers registryHeaders();
void respondError(http::Exchange& ex, int status, ErrorCode code, std::string_view message);

// How hoard answers when the upstream could not give it what is not cached.
// containerd (core/remotes/docker/resolver.go, fetcher.go) moves to the next
// host in hosts.toml on a transport error or any status >= 400, except that it
// retries 408 and 429 in place; Docker feeds non-JSON bodies to its manifest
// parser. So: always OCI JSON, 404 for "the upstream does not have it", 503 for
// "the upstream failed" -- including upstream 429, which is reported with the
// TOOMANYREQUESTS code and Retry-After but on 503 so clients move on instead
// of hammering.
void respondUpstreamFailure(http::Exchange& ex, int upstreamStatus, FetchError error,
                            ErrorCode notFoundCode, std::string_view what,
                            std::string_view retryAfter = {});

// For what is not cached when hoard will not call the upstream: offline ->
// 404 (definitively not here); breaker open -> 503 UNAVAILABLE; rate limited
// -> 503 TOOMANYREQUESTS. Both 503s carry Retry-After. Fast, JSON, and a
// status on which containerd moves to its next host.
void respondGateClosed(http::Exchange& ex, UpstreamGate gate, std::string_view upstreamName,
                       Millis retryAfterMs, ErrorCode notFoundCode, std::string_view what);

}  // namespace hoard::oci
