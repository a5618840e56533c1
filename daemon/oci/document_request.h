#pragma once
// A cached pass-through request for small upstream documents (tags/list,
// referrers): fresh within the upstream's manifest TTL; past it, refetched;
// when the upstream is down, rate-limiting or offline, the last answer is
// served stale within max_stale -- the same rules as tags.
#include <functional>
#include <optional>
#include <string>

#include "daemon/http/exchange.h"
#include "daemon/oci/errors.h"
#include "daemon/oci/manifest_cache.h"
#include "daemon/oci/service.h"
#include "daemon/oci/small_fetch.h"

namespace hoard::oci {

struct DocumentSpec {
  std::string cacheKey;
  OciRequest request;
  std::size_t maxBytes = 4 * 1024 * 1024;
  std::string kind;     // metrics label: "tags", "referrers"
  std::string subject;  // for error messages
  ErrorCode notFoundCode = ErrorCode::NameUnknown;
  // Turns a completed upstream response into the document to cache and
  // serve, or nullopt when it is not a success (then the usual error mapping
  // or stale rules apply).
  std::function<std::optional<CachedDocument>(const SmallResponse&)> accept;
};

class DocumentRequest final : public http::RequestContext {
 public:
  DocumentRequest(OciService& svc, http::Exchange& ex, OciTarget target, DocumentSpec spec)
      : svc_(svc), ex_(ex), target_(std::move(target)), spec_(std::move(spec)) {}
  void start();

 private:
  void onResponse(const SmallResponse& r);
  bool staleAllowed() const;
  void serve(const CachedDocument& doc, const char* result);

  OciService& svc_;
  http::Exchange& ex_;
  OciTarget target_;
  DocumentSpec spec_;
  CachedDocumentPtr cached_;
  HttpClient::Handle transfer_;
};

}  // namespace hoard::oci
