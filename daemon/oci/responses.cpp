#include "daemon/oci/responses.h"

namespace hoard::oci {

http::Headers registryHeaders() {
  return {{"Docker-Distribution-API-Version", "registry/2.0"},
          {"X-Content-Type-Options", "nosniff"}};
}

void respondError(http::Exchange& ex, int status, ErrorCode code, std::string_view message) {
  auto headers = registryHeaders();
  headers.push_back({"Content-Type", "application/json"});
  ex.respond(status, std::move(headers), errorBody(code, message));
}

void respondUpstreamFailure(http::Exchange& ex, int upstreamStatus, FetchError error,
                            ErrorCode notFoundCode, std::string_view what,
                            std::string_view retryAfter) {
  std::string subject(what);
  if (upstreamStatus == 404 || upstreamStatus == 401 || upstreamStatus == 403) {
    // 401/403 after hoard's own credentials were tried: the image is not
    // available through this upstream; 404 lets the client try its next host.
    respondError(
        ex, 404, notFoundCode,
        subject + " not found upstream (upstream status " + std::to_string(upstreamStatus) + ")");
    return;
  }
  if (upstreamStatus == 429) {
    auto headers = registryHeaders();
    headers.push_back({"Content-Type", "application/json"});
    if (!retryAfter.empty()) headers.push_back({"Retry-After", std::string(retryAfter)});
    ex.respond(503, std::move(headers),
               errorBody(ErrorCode::TooManyRequests,
                         "upstream is rate-limiting; " + subject + " is not cached"));
    return;
  }
  std::string why = upstreamStatus > 0 ? "upstream status " + std::to_string(upstreamStatus)
                                       : "upstream " + std::string(fetchErrorName(error));
  respondError(ex, 503, ErrorCode::Unavailable, subject + " is not cached and " + why);
}

void respondGateClosed(http::Exchange& ex, UpstreamGate gate, std::string_view upstreamName,
                       Millis retryAfterMs, ErrorCode notFoundCode, std::string_view what) {
  std::string subject =
      std::string(what) + " is not cached and upstream " + std::string(upstreamName);
  if (gate == UpstreamGate::Offline) {
    respondError(ex, 404, notFoundCode, subject + " is offline");
    return;
  }
  auto headers = registryHeaders();
  headers.push_back({"Content-Type", "application/json"});
  auto seconds = std::to_string((retryAfterMs + 999) / 1000);
  headers.push_back({"Retry-After", seconds});
  if (gate == UpstreamGate::RateLimited) {
    ex.respond(503, std::move(headers),
               errorBody(ErrorCode::TooManyRequests,
                         subject + " is rate-limiting hoard; retry in " + seconds + " s"));
  } else {
    ex.respond(503, std::move(headers),
               errorBody(ErrorCode::Unavailable,
                         subject + " is failing (circuit open); retry in " + seconds + " s"));
  }
}

}  // namespace hoard::oci
