#pragma once
// One upstream packument fetch shared by every request that needs it. A known
// entry makes it a conditional GET (If-None-Match): a 304 renews the TTL and
// is not an error. A 200 is rewritten and stored on the thread pool before
// anyone is answered.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cache/cancel.h"
#include "daemon/npm/packument_store.h"
#include "upstream/http_client.h"

namespace hoard::npm {

class NpmService;
struct NpmUpstream;

struct PackumentResult {
  PackumentEntryPtr entry;  // set on success
  long upstreamStatus = 0;
  FetchError error = FetchError::None;
  std::string message;
  std::string retryAfter;
};

// Index keys: one per (upstream, package, mount URL) for the served documents,
// and one per (upstream, package) for the tarball table and rebuilding.
std::string packumentKey(const NpmUpstream& upstream, const std::string& name,
                         const std::string& mountUrl);
std::string anyMountKey(const NpmUpstream& upstream, const std::string& name);

class PackumentFetch : public std::enable_shared_from_this<PackumentFetch> {
 public:
  using Waiter = std::function<void(const PackumentResult&)>;
  static bool running(NpmService& svc, const std::string& refKey);
  static CancelHandle join(NpmService& svc, NpmUpstream& upstream, const std::string& name,
                           const std::string& mountUrl, const std::string& refKey,
                           PackumentEntryPtr known, Waiter waiter);

 private:
  PackumentFetch(NpmService& svc, NpmUpstream& upstream, std::string refKey)
      : svc_(svc), upstream_(upstream), refKey_(std::move(refKey)) {}
  void start(const std::string& name, const std::string& mountUrl);
  void complete(PackumentResult result);

  NpmService& svc_;
  NpmUpstream& upstream_;
  std::string refKey_;
  std::string anyMountKey_;
  PackumentEntryPtr known_;
  HttpClient::Handle transfer_;
  CancelHandle work_;
  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, Waiter> waiters_;
};

}  // namespace hoard::npm
