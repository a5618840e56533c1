#pragma once
// Built-in defaults: what hoard runs with when no config file is given, and the base a partial
// file is merged over (see loader.h for the merge rules).
#include <string>
#include <vector>

#include "conf/config.h"
#include "conf/env_expand.h"

namespace hoard::conf {

// listen 127.0.0.1:5050, store under the user's cache dir, the dockerhub OCI upstream.
Config defaultConfig();
Config defaultConfig(const EnvLookup& env);

// $XDG_CACHE_HOME/hoard (only if absolute, as the XDG spec requires), else $HOME/.cache/hoard,
// else /var/cache/hoard (daemons started without HOME).
std::string defaultStorePath(const EnvLookup& env);

// The upstreams used when the file has no `upstreams:` list.
std::vector<UpstreamConfig> defaultUpstreams(const EnvLookup& env);

}  // namespace hoard::conf
