#pragma once
// One upstream manifest fetch shared by every request that needs it
// (coalescing: N clients asking for the same expired tag cause one upstream
// request). The result is verified and stored before anyone is answered, so
// whatever digest hoard hands out for a tag it can then serve.
//
// Revalidation: when the tag is already known (its TTL ran out), the upstream
// is asked with HEAD first -- Docker Hub counts manifest GETs, not HEADs,
// against pull limits. Same Docker-Content-Digest: the TTL is renewed with no
// GET. Different: the new manifest is fetched by that digest (and verified)
// before the tag is moved. No digest header: a plain GET by tag.
//
// Verification: by digest, the bytes must hash to the digest; by tag, to the
// upstream's Docker-Content-Digest when it sends one. A mismatch is never
// cached and is counted.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cache/async_store.h"
#include "cache/cancel.h"
#include "cache/digest.h"
#include "cache/index.h"
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
  std::string digest;        // canonical digest string when Ok
  StoredBytesPtr manifest;   // bytes + media type when Ok
  bool revalidated = false;  // Ok by a HEAD that found the tag unchanged
};

class ManifestFetch : public std::enable_shared_from_this<ManifestFetch> {
 public:
  using Waiter = std::function<void(const ManifestResult&)>;

  // True if a fetch for (upstream, repository, reference) is in flight, so a
  // new request joins it without asking the upstream health gate.
  static bool running(OciService& svc, const OciUpstream& upstream, const std::string& repository,
                      const std::string& reference);

  // Joins the fetch for (upstream, repository, reference), starting it if
  // none is running. `refKey` is set for tag fetches: the tag reference is
  // updated in the index and memory before waiters are told. `known` is the
  // expired reference, if any, which makes the fetch a HEAD revalidation.
  static CancelHandle join(OciService& svc, OciUpstream& upstream, const std::string& repository,
                           const std::string& reference, const std::string& refKey,
                           std::optional<RefEntry> known, Waiter waiter);

 private:
  ManifestFetch(OciService& svc, OciUpstream& upstream, std::string key)
      : svc_(svc), upstream_(upstream), key_(std::move(key)) {}
  void revalidate(const std::string& repository, const std::string& tag);
  void get(const std::string& repository, const std::string& reference);
  void storeAndComplete(ManifestResult result);
  void updateRefAndComplete(ManifestResult result);
  void complete(ManifestResult result);

  OciService& svc_;
  OciUpstream& upstream_;
  std::string key_;
  std::string refKey_;
  std::optional<RefEntry> known_;
  std::optional<Digest> wanted_;
  // Separate handles: the GET that follows a HEAD is started from inside the
  // HEAD's callback, which must not destroy its own transfer.
  HttpClient::Handle headTransfer_;
  HttpClient::Handle transfer_;
  CancelHandle storing_;
  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, Waiter> waiters_;
};

}  // namespace hoard::oci
