#pragma once
// Buffered fetch of a small OCI document through the authenticating client.
#include <functional>

#include "upstream/buffered_fetch.h"
#include "upstream/oci_client.h"

namespace hoard::oci {

using SmallResponse = BufferedResponse;

HttpClient::Handle fetchSmall(OciClient& client, OciRequest request, std::size_t maxBytes,
                              std::function<void(SmallResponse)> done);

}  // namespace hoard::oci
