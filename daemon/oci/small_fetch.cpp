#include "daemon/oci/small_fetch.h"

namespace hoard::oci {

HttpClient::Handle fetchSmall(OciClient& client, OciRequest request, std::size_t maxBytes,
                              std::function<void(SmallResponse)> done) {
  return fetchBuffered(
      [&client, request = std::move(request)](HttpCallbacks cb) mutable {
        return client.fetch(std::move(request), std::move(cb));
      },
      maxBytes, std::move(done));
}

}  // namespace hoard::oci
