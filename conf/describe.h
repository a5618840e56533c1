#pragma once
// Human summary of an effective Config for `hoard check-config`. Passwords print as ***;
// usernames are shown so a wrong account is easy to spot.
#include <string>

#include "conf/config.h"

namespace hoard::conf {

std::string describeConfig(const Config& config);

}  // namespace hoard::conf
