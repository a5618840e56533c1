#pragma once
// A buffered upstream GET for small documents (manifests, tag lists,
// referrers): the whole body is kept in memory up to a hard cap; anything
// larger is refused rather than buffered. Blobs never come through here --
// they stream through a Fill.
#include <functional>
#include <memory>
#include <string>

#include "upstream/http_client.h"
#include "upstream/oci_client.h"

namespace hoard::oci {

struct SmallResponse {
  FetchError error = FetchError::None;  // transport outcome
  std::string message;
  long status = 0;  // 0 when no response arrived
  HttpResponseHead head;
  std::string body;
  bool tooLarge = false;
};

// `done` runs exactly once unless the returned handle is cancelled.
HttpClient::Handle fetchSmall(OciClient& client, OciRequest request, std::size_t maxBytes,
                              std::function<void(SmallResponse)> done);

}  // namespace hoard::oci
