#include "upstream/buffered_fetch.h"

#include <memory>

namespace hoard {

HttpClient::Handle fetchBuffered(const std::function<HttpClient::Handle(HttpCallbacks)>& start,
                                 std::size_t maxBytes, std::function<void(BufferedResponse)> done) {
  auto state = std::make_shared<BufferedResponse>();
  HttpCallbacks cb;
  cb.onHead = [state, maxBytes](const HttpResponseHead& head) {
    state->status = head.status;
    state->head = head;
    if (head.contentLength && *head.contentLength > maxBytes) {
      state->tooLarge = true;
      return false;
    }
    return true;
  };
  cb.onBody = [state, maxBytes](std::string_view chunk) {
    if (state->body.size() + chunk.size() > maxBytes) {
      state->tooLarge = true;
      return BodyAction::Continue;  // dropped; reported at completion
    }
    state->body.append(chunk);
    return BodyAction::Continue;
  };
  cb.onComplete = [state, done = std::move(done)](const FetchResult& r) {
    state->error = r.error;
    state->message = r.message;
    if (state->tooLarge) {
      state->error = FetchError::Other;
      state->message = "upstream document larger than the limit";
      state->body.clear();
    }
    done(std::move(*state));
  };
  return start(std::move(cb));
}

}  // namespace hoard
