#pragma once
// A buffered upstream request for small documents (manifests, tag lists,
// packuments): the whole body is kept in memory up to a hard cap; anything
// larger is refused rather than buffered. Blobs never come through here --
// they stream through a Fill.
#include <functional>
#include <string>

#include "upstream/http_client.h"

namespace hoard {

struct BufferedResponse {
  FetchError error = FetchError::None;  // transport outcome
  std::string message;
  long status = 0;  // 0 when no response arrived
  HttpResponseHead head;
  std::string body;
  bool tooLarge = false;
};

// `start` issues the request with the given callbacks (HttpClient::start, or
// an authenticating client's fetch). `done` runs exactly once unless the
// returned handle is cancelled.
HttpClient::Handle fetchBuffered(const std::function<HttpClient::Handle(HttpCallbacks)>& start,
                                 std::size_t maxBytes, std::function<void(BufferedResponse)> done);

}  // namespace hoard
