#include "daemon/http/request.h"

namespace hoard::http {

std::string_view Request::header(std::string_view lowercaseName) const {
  for (const Header& h : headers) {
    if (h.name == lowercaseName) return h.value;
  }
  return {};
}

}  // namespace hoard::http
