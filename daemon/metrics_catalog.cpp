// Help texts of hoard's metric families: what each one counts, in one place,
// so /metrics documents itself and promtool's lint finds a HELP for each.
#include <string_view>
#include <utility>

#include "daemon/metrics.h"

namespace hoard {

namespace {

constexpr std::pair<std::string_view, std::string_view> kHelp[] = {
    // Requests and bytes
    {"hoard_http_requests_total",
     "HTTP requests answered, by ecosystem, method, status class and cache result."},
    {"hoard_served_bytes_total",
     "Response body bytes sent to clients, by source (cache: stored content; upstream: passed "
     "through or filled while being fetched)."},
    {"hoard_cache_requests_total", "Cache lookups of immutable objects by kind and result."},
    {"hoard_stale_served_total", "Answers served stale because the upstream failed."},
    {"hoard_revalidations_total", "Conditional revalidations of expired metadata by result."},
    {"hoard_manifest_fetch_coalesced_total",
     "Manifest requests that joined a fetch already in flight."},
    {"hoard_coalesced_waiters_total", "Requests that joined a fill already in flight."},
    // Upstreams
    {"hoard_upstream_requests_total", "Requests sent to upstreams."},
    {"hoard_upstream_errors_total",
     "Upstream calls that failed (transport error, timeout or 5xx), by upstream."},
    {"hoard_upstream_rate_limited_total", "Upstream 429 answers, by upstream."},
    {"hoard_upstream_rejected_total",
     "Requests answered without calling the upstream (breaker open, rate limited, offline)."},
    {"hoard_breaker_opened_total", "Times an upstream's circuit breaker opened."},
    {"hoard_upstream_breaker_open",
     "1 when the last call left the upstream's breaker open, rate limited or offline, else 0."},
    {"hoard_upstream_transfer_seconds",
     "Upstream transfer time, from start to the last byte (includes pauses for slow clients)."},
    {"hoard_upstream_first_byte_seconds", "Upstream time to the first response byte."},
    // Integrity and store
    {"hoard_digest_mismatch_total",
     "Fetched content that did not match its digest (never cached, never served whole)."},
    {"hoard_store_errors_total", "Store I/O failures."},
    {"hoard_store_bytes", "Bytes of committed objects in the store."},
    {"hoard_store_objects", "Committed objects in the store."},
    {"hoard_store_max_bytes", "Configured store.max_size (0: unlimited)."},
    {"hoard_index_writes_failing",
     "1 while the last index write failed with a storage error (typically a full disk), else 0."},
    {"hoard_index_recoveries_total",
     "Times the index accepted writes again after a storage error (disk full) had stopped them."},
    {"hoard_active_fills", "Fills (upstream fetches into the store) in progress."},
    {"hoard_evictions_total", "Objects evicted from the store."},
    {"hoard_evicted_bytes_total", "Bytes evicted from the store."},
    {"hoard_refs_purged_total", "Expired metadata references purged from the index."},
    {"hoard_fill_no_space_total",
     "Fills that hit a full disk: passed through to their clients, never committed."},
    {"hoard_gc_removed_total", "Orphans removed by hoard gc (index entries or files)."},
    {"hoard_verify_objects_total", "Objects checked by hoard verify, by result."},
    // Policy and config
    {"hoard_policy_denied_total", "Requests refused by the deny-list, by ecosystem."},
    {"hoard_policy_not_allowed_total",
     "Upstream fetches refused because the subject is not on the allow-list, by ecosystem."},
    {"hoard_policy_reloads_total", "Successful loads of the deny-list and allow-list files."},
    {"hoard_policy_reload_errors_total",
     "Deny-list or allow-list reloads that failed (the previous list stays in force)."},
    {"hoard_config_reloads_total", "Config reloads (SIGHUP) by result."},
    {"hoard_access_log_dropped_total", "Access-log lines dropped because the log was stuck."},
};

}  // namespace

std::string_view metricHelp(std::string_view family) {
  for (const auto& [name, help] : kHelp) {
    if (name == family) return help;
  }
  return {};
}

}  // namespace hoard
