#pragma once
// Per-request metrics, taken from the access-log record of each finished
// exchange so that every front end is counted the same way:
//   hoard_http_requests_total{ecosystem, method, code, cache}
//   hoard_served_bytes_total{source="cache"|"upstream"}
// Labels come from bounded sets only: the ecosystem from the path prefix,
// the status class, a method from a short list ("other" otherwise) and the
// cache result the handler logged ("none" when it logged none).
#include "daemon/http/exchange_log.h"
#include "daemon/metrics.h"

namespace hoard {

void countRequest(Metrics& metrics, const http::ExchangeLog& entry);

}  // namespace hoard
