#pragma once
// The configuration model: plain values, no behaviour. The daemon reads these structs; it never
// sees YAML. Loading, defaults and validation live next door (loader.h, defaults.h, validate.h)
// so that request code depends only on this header.
//
// Invariants after loadConfig*() / defaultConfig():
// - upstream names, prefixes and registries are unique and syntactically valid;
// - urls are http(s)://host[:port][/path] with no trailing '/';
// - per kind, at most one upstream has isDefault set; for OCI, if none was marked in the file,
//   the upstream answering for docker.io carries it (so consumers only look at isDefault).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoard::conf {

enum class UpstreamKind { Oci, Npm, Pypi, Go };

// "oci", "npm", "pypi", "go": the spelling used in the config file.
std::string_view upstreamKindName(UpstreamKind kind);
std::optional<UpstreamKind> parseUpstreamKind(std::string_view name);

struct UpstreamAuth {
  std::string username, password;
};

struct UpstreamConfig {
  std::string name;  // unique, [a-z0-9_-]+
  UpstreamKind kind = UpstreamKind::Oci;
  std::string url;  // http(s)://host[:port][/path], validated, no trailing '/'
  // OCI: the `ns` values (registry host names, as containerd sends them) this upstream answers
  // for, e.g. docker.io. Unique across upstreams.
  std::vector<std::string> registries;
  std::string prefix;  // OCI: optional /v2/<prefix>/... routing; unique; [a-z0-9-_.]+
  // npm: the scopes ("@acme") this upstream answers for. A scoped package routed here never
  // falls back to another upstream (dependency-confusion defence).
  std::vector<std::string> scopes;
  // pypi: origins (http(s)://host[:port]) besides the index's own that files may be fetched
  // from, e.g. https://files.pythonhosted.org. Nothing else a page points at is ever fetched.
  std::vector<std::string> fileHosts;
  // go: module path prefixes ("corp.example/", like GOPRIVATE) this upstream answers for. Such
  // modules never go to another upstream nor to a checksum database.
  std::vector<std::string> modulePrefixes;
  // go: the checksum database proxied under /go/sumdb/<sumdbName>/ and used to check the
  // .mod and .zip files of public modules before they are cached ("sumdb: {name, url}").
  std::string sumdbName, sumdbUrl;
  std::optional<UpstreamAuth> auth;
  std::uint64_t manifestTtlMs = 5 * 60 * 1000;  // "manifest_ttl: 5m"
  std::uint64_t connectTimeoutMs = 10000;       // "connect_timeout"
  std::uint64_t idleTimeoutMs = 30000;          // "idle_timeout"
  // "default: true": requests without ns/prefix go here (OCI). Resolved at load time, see above.
  bool isDefault = false;
  // "max_stale": how long past its TTL a cached tag may still be served while the upstream
  // fails (unreachable, timeout, 5xx, 429). 0 = never serve stale; kForever = no limit.
  std::uint64_t maxStaleMs = 7ull * 24 * 60 * 60 * 1000;
  // "offline: true": serve only what is cached; never call this upstream.
  bool offline = false;
  // "breaker: { failures: N, cooldown: 30s }": after N consecutive failures the upstream is not
  // called for `cooldown`, then one probe request decides.
  std::uint32_t breakerFailures = 5;
  std::uint64_t breakerCooldownMs = 30000;
};

inline constexpr std::uint64_t kForever = UINT64_MAX;
// PyPI project pages: "manifest_ttl" defaults to 10 minutes for kind pypi.
inline constexpr std::uint64_t kPypiPageTtlMs = 10 * 60 * 1000;
// Go version lists, @latest and queries: "manifest_ttl" defaults to 1 minute for kind go.
inline constexpr std::uint64_t kGoListTtlMs = 60 * 1000;

struct StoreConfig {
  std::string path;
  std::uint64_t maxSizeBytes = 0;  // 0 = unlimited
  std::uint64_t accessFlushMs = 30000;
  // "high_watermark" / "low_watermark": percent of max_size. Past the high mark a background
  // pass evicts least recently used objects down to the low mark. 1 <= low < high <= 100.
  std::uint32_t highWatermarkPercent = 90;
  std::uint32_t lowWatermarkPercent = 80;
  // "pin": subject patterns (oci:..., npm:..., sha256:...) whose objects are never evicted.
  // Kept as written; the policy code parses and matches them.
  std::vector<std::string> pins;
  // "metadata_retention": how long past its TTL a mutable ref (tag, packument, simple page, list)
  // is kept for stale serving before the background purge deletes it. kForever = never purged.
  std::uint64_t metadataRetentionMs = 7ull * 24 * 60 * 60 * 1000;

  // The watermarks in bytes (0 when max_size is unlimited).
  std::uint64_t highWatermarkBytes() const {
    return maxSizeBytes / 100 * highWatermarkPercent +
           maxSizeBytes % 100 * highWatermarkPercent / 100;
  }
  std::uint64_t lowWatermarkBytes() const {
    return maxSizeBytes / 100 * lowWatermarkPercent +
           maxSizeBytes % 100 * lowWatermarkPercent / 100;
  }
};

// "policy:": the supply-chain gate's list files (issue 7). Each file holds subject patterns
// (sha256:..., oci:..., npm:..., pypi:..., go:...), one per line, '#' comments; both are
// re-read on SIGHUP and when they change.
struct PolicyConfig {
  std::string denyList;   // "deny_list": path; "" = none. Matches are refused, cached or not.
  std::string allowList;  // "allow_list": path; "" = none. Only matches are fetched upstream.
};

struct ServerConfig {
  std::string listen = "127.0.0.1:5050";
  std::size_t maxConnections = 4096;
  std::uint64_t headerTimeoutMs = 10000, idleTimeoutMs = 60000;
  std::size_t maxHeaderBytes = 16384;
};

struct LogConfig {
  std::string accessLog = "-";  // "-" stderr, "" off, or a path
  std::string level = "info";   // trace, debug, info, warn, error
};

struct Config {
  bool offline = false;  // top-level "offline: true": every upstream is offline
  // "public_url": how clients reach hoard (http://hoard.internal:5050), used in URLs hoard
  // writes into documents (npm tarball URLs). Empty: taken from each request's Host.
  std::string publicUrl;
  ServerConfig server;
  StoreConfig store;
  PolicyConfig policy;
  std::vector<UpstreamConfig> upstreams;
  LogConfig log;
  std::string sourceFile;  // "" = built-in defaults
};

// The upstream that takes requests of `kind` carrying no ns/prefix, or nullptr if none.
const UpstreamConfig* defaultUpstream(const Config& config, UpstreamKind kind);
const UpstreamConfig* findUpstream(const Config& config, std::string_view name);

}  // namespace hoard::conf
