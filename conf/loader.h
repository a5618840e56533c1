#pragma once
// Loads hoard.yaml into a Config (see conf/examples/hoard.yaml for every key).
//
// Rules:
// - The file is merged over defaultConfig(): keys given replace the default value, keys left out
//   keep it (server settings, store, log). An `upstreams:` list replaces the default upstreams
//   as a whole; leaving it out keeps them.
// - Unknown keys, duplicate keys, wrong types, bad values, duplicate upstream names, registries
//   and prefixes are errors. Errors read `FILE:LINE:COL: key.path: what is wrong`, e.g.
//   `hoard.yaml:7:5: upstreams[0].url: must start with http:// or https://`; the position is
//   the offending key (or list element), 1-based.
// - Scalar values go through ${VAR} expansion (env_expand.h) before they are interpreted, so
//   `max_size: ${CACHE_SIZE:-50GiB}` works. Keys are never expanded.
// - Relative paths (store.path, log.access) are kept as written: relative to the daemon's
//   working directory.
//
// Exceptions are used inside (yaml-cpp throws) but never escape these functions.
#include <expected>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "conf/describe.h"
#include "conf/env_expand.h"

namespace hoard::conf {

std::expected<Config, std::string> loadConfigFile(const std::string& path);
std::expected<Config, std::string> loadConfigFile(const std::string& path, const EnvLookup& env);

// `sourceName` is used in error messages and stored as Config::sourceFile.
std::expected<Config, std::string> loadConfigString(std::string_view yaml,
                                                    std::string_view sourceName);
std::expected<Config, std::string> loadConfigString(std::string_view yaml,
                                                    std::string_view sourceName,
                                                    const EnvLookup& env);

}  // namespace hoard::conf
