#include "daemon/request_metrics.h"

#include <string>
#include <string_view>

namespace hoard {

namespace {

std::string_view ecosystemOf(std::string_view target) {
  if (target == "/v2" || target.starts_with("/v2/") || target.starts_with("/v2?")) return "oci";
  if (target.starts_with("/npm/")) return "npm";
  if (target.starts_with("/pypi/")) return "pypi";
  if (target.starts_with("/go/")) return "go";
  return "other";
}

std::string_view methodLabel(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "other";
}

std::string_view cacheLabel(std::string_view result) {
  for (std::string_view known : {"hit", "miss", "coalesced", "stale", "revalidated", "negative"}) {
    if (result == known) return known;
  }
  return result.empty() ? "none" : "other";
}

std::string codeLabel(int status) {
  if (status < 100 || status > 599) return "none";  // no response head was sent
  return std::to_string(status / 100) + "xx";
}

}  // namespace

void countRequest(Metrics& metrics, const http::ExchangeLog& entry) {
  std::string_view cache;
  for (const auto& [key, value] : entry.fields) {
    if (key == "cache") cache = value;
  }
  const auto result = cacheLabel(cache);
  std::string series = "hoard_http_requests_total{ecosystem=\"";
  series += ecosystemOf(entry.target);
  series += "\",method=\"";
  series += methodLabel(entry.method);
  series += "\",code=\"";
  series += codeLabel(entry.status);
  series += "\",cache=\"";
  series += result;
  series += "\"}";
  metrics.add(series);

  if (entry.bodyBytes == 0) return;
  // Bytes that came out of the store (hits, stale and revalidated answers)
  // versus bytes that reached the client while being fetched. Other answers
  // (errors, hoard's own endpoints) are neither.
  if (result == "hit" || result == "stale" || result == "revalidated" || result == "negative") {
    metrics.add("hoard_served_bytes_total{source=\"cache\"}", entry.bodyBytes);
  } else if (result == "miss" || result == "coalesced") {
    metrics.add("hoard_served_bytes_total{source=\"upstream\"}", entry.bodyBytes);
  }
}

}  // namespace hoard
