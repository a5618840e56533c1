#pragma once
// Checks for single config values, free of YAML so they can be tested (and reused by CLI flags)
// on their own. Messages say what is expected; the loader prefixes FILE:LINE:COL and the key.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace hoard::conf {

// [a-z0-9_-]+ : names show up in logs, metrics and cache paths.
std::expected<void, std::string> validateUpstreamName(std::string_view name);

// [a-z0-9-_.]+, not starting with '.' : one path segment of /v2/<prefix>/..., so "." and ".."
// (and hidden-file spellings) are refused.
std::expected<void, std::string> validatePrefix(std::string_view prefix);

// A registry host as containerd sends it in ?ns=: lowercase host name or IPv4 address, optional
// :port (e.g. docker.io, ghcr.io, registry.local:5000).
std::expected<void, std::string> validateRegistry(std::string_view registry);

// http(s)://host[:port][/path] with no credentials, query or fragment. Returns the url with
// trailing '/' removed so that joining "/v2/..." never yields "//".
std::expected<std::string, std::string> normalizeUpstreamUrl(std::string_view url);

// host:port or [ipv6]:port, port 1..65535.
std::expected<void, std::string> validateListen(std::string_view listen);

// trace, debug, info, warn, error.
std::expected<void, std::string> validateLogLevel(std::string_view level);

// store.low_watermark / store.high_watermark (percent of max_size): 1 <= low < high <= 100.
std::expected<void, std::string> validateWatermarks(std::uint32_t lowPercent,
                                                    std::uint32_t highPercent);

}  // namespace hoard::conf
