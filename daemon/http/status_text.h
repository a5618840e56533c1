#pragma once
#include <string_view>

namespace hoard::http {

// Reason phrase for the status line; "Unknown" for codes we never send.
std::string_view reasonPhrase(int status);

}  // namespace hoard::http
