#pragma once
// RFC 7617 Basic credentials, one encoder for every upstream client.
#include <string>
#include <string_view>

namespace hoard {

std::string base64Encode(std::string_view in);
// "Basic base64(user:password)", the Authorization header value.
std::string basicAuthorization(std::string_view username, std::string_view password);

}  // namespace hoard
