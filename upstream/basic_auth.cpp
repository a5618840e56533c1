#include "upstream/basic_auth.h"

#include <openssl/evp.h>

namespace hoard {

std::string base64Encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string basicAuthorization(std::string_view username, std::string_view password) {
  std::string raw;
  raw.reserve(username.size() + 1 + password.size());
  raw.append(username).append(":").append(password);
  return "Basic " + base64Encode(raw);
}

}  // namespace hoard
