#pragma once
// One upstream manifest fetch shared by every request that needs it
// (coalescing: N clients asking for the same expired tag cause one upstream
// request). The result is verified and stored before anyone is answered, so
// whatever digest hoard hands out for a tag it can then serve.
//
// Verification: by digest, the bytes must hash to the requested digest; by
// tag, they must hash to the upstream's Docker-Content-Digest when it sends
// one. A mismatch is never cached and is counted.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cache/async_store.h"
#include "cache/cancel.h"
#include "cache/digest.h"
#include "upstream/http_client.h"

namespace hoard::oci {

class OciService;
struct OciUpstream;

struct ManifestResult {
  enum class Kind { Ok, UpstreamFailed, Invalid } kind = Kind::UpstreamFailed;
  int upstreamStatus = 0;
  FetchError error = FetchError::None;
  std::string message;
  std::string retryAfter;
  std::string digest;       // canonical digest string when Ok
  StoredBytesPtr manifest;  // bytes + media type when Ok
};

class ManifestFetch : public std::enable_shared_from_this<ManifestFetch> {
 public:
  using Waiter = std::function<void(const ManifestResult&)>;

  // Joins the fetch for (upstream, repository, reference), starting it if
  // none is running. `refKey` is set for tag fetches: the tag reference is
  // updated in the index and memory before waiters are told.
  static CancelHandle join(OciService& svc, OciUpstream& upstream, const std::string& repository,
                           const std::string& reference, const std::string& refKey, Waiter waiter);

 private:
  ManifestFetch(OciService& svc, std::string key) : svc_(svc), key_(std::move(key)) {}
  void start(OciUpstream& upstream, const std::string& repository, const std::string& reference);
  void complete(ManifestResult result);

  OciService& svc_;
  std::string key_;
  std::string refKey_;
  std::optional<Digest> wanted_;
  std::uint64_t ttlMs_ = 0;
  HttpClient::Handle transfer_;
  CancelHandle storing_;
  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, Waiter> waiters_;
};

}  // namespace hoard::oci
