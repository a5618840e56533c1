// GET|HEAD /npm/<name>/-/<file>.tgz (and the scoped forms)
//
// The packument says where the tarball is and which digest it must have
// (dist.integrity sha512, or the sha1 shasum when that is all there is). The
// bytes then go through the shared blob path: stored once by digest, fetched
// once however many clients ask, verified before any response may complete,
// never cached on a mismatch. A tarball URL outside the upstream's origin is
// not followed: hoard only fetches from hosts its config names.
#include <memory>

#include "cache/off_loop.h"
#include "daemon/npm/packument_source.h"
#include "daemon/npm/service.h"

namespace hoard::npm {

namespace {

class TarballOrigin final : public BlobOrigin {
 public:
  TarballOrigin(NpmService& svc, FrontUpstream& upstream, FileSource source)
      : svc_(svc), upstream_(upstream), source_(std::move(source)) {}

  http::Headers headers() const override {
    return {{"Content-Type", "application/octet-stream"},
            {"ETag", "\"" + source_.digest.str() + "\""}};
  }
  void respondError(http::Exchange& ex, int status, std::string_view message,
                    http::Headers extra) override {
    respondNpmError(ex, status, message, std::move(extra));
  }
  void respondFillFailure(http::Exchange& ex, int upstreamStatus,
                          std::string_view message) override {
    if (upstreamStatus == 404) {
      respondNpmError(ex, 404, "tarball not found upstream");
    } else if (message.starts_with("content does not match")) {
      respondNpmError(ex, 502,
                      "integrity check failed: the upstream's tarball does not match " +
                          source_.digest.str() + " from the packument; it was not cached");
    } else {
      respondNpmError(ex, 502, "fetching tarball failed: " + std::string(message));
    }
  }
  bool admit(http::Exchange& ex) override {
    auto gate = upstream_.health->admit();
    if (gate == UpstreamGate::Allow || gate == UpstreamGate::Probe) return true;
    respondNpmError(ex, 503,
                    "tarball is not cached and upstream " + upstream_.config.name +
                        (gate == UpstreamGate::Offline ? " is offline" : " is unavailable"));
    return false;
  }
  HttpClient::Handle fetch(HttpCallbacks callbacks) override {
    HttpRequest req;
    req.url = source_.url;
    req.followRedirects = true;  // Authorization (none here) never crosses hosts anyway
    req.connectTimeoutMs = upstream_.config.connectTimeoutMs;
    req.idleTimeoutMs = upstream_.config.idleTimeoutMs;
    req.receiveBufferBytes = 512 * 1024;
    svc_.countUpstreamRequest(upstream_, "tarball");
    return svc_.http().start(req, std::move(callbacks));
  }
  bool holdUntilVerified() const override { return true; }
  OutcomeRecorder outcomeRecorder() const override { return svc_.outcomeRecorder(upstream_); }

 private:
  NpmService& svc_;
  FrontUpstream& upstream_;
  FileSource source_;
};

class TarballRequest final : public http::RequestContext {
 public:
  TarballRequest(NpmService& svc, http::Exchange& ex, NpmPath path, FrontUpstream& upstream)
      : svc_(svc), ex_(ex), path_(std::move(path)), upstream_(upstream) {}

  void start() {
    mountUrl_ = svc_.mountUrl(ex_.request());
    if (mountUrl_.empty()) {
      respondNpmError(ex_, 400, "unusable Host header");
      return;
    }
    // The tarball table does not depend on the URL hoard was reached by.
    keys_ = packumentKeys(upstream_, path_.name, mountUrl_);
    auto& docs = svc_.documents();
    if (auto entry = docs.remembered(keys_.any)) {
      onEntry(entry, false);
      return;
    }
    pending_ = docs.load({keys_.any, keys_.any}, {}, [this](DocumentEntryPtr loaded) {
      if (loaded) {
        onEntry(loaded, false);
      } else {
        fetchPackument(nullptr);
      }
    });
  }

 private:
  void onEntry(const DocumentEntryPtr& entry, bool fresh) {
    auto it = entry->files.find(path_.file);
    if (it == entry->files.end()) {
      // Maybe published after our copy of the packument: look once more.
      if (!fresh) {
        fetchPackument(entry);
        return;
      }
      respondNpmError(ex_, 404, "no version of " + path_.name + " has tarball " + path_.file);
      return;
    }
    const auto& src = it->second;
    if (!upstream_.allowsUrl(src.url)) {
      respondNpmError(ex_, 502,
                      "the packument points this tarball outside upstream " +
                          upstream_.config.name + "; hoard does not follow it");
      return;
    }
    blob_ = startBlob(svc_.blobServices(), ex_, src.digest,
                      std::make_unique<TarballOrigin>(svc_, upstream_, src));
  }

  void fetchPackument(const DocumentEntryPtr& known) {
    auto& docs = svc_.documents();
    if (!docs.fetching(keys_.ref)) {
      auto gate = upstream_.health->admit();
      if (gate != UpstreamGate::Allow && gate != UpstreamGate::Probe) {
        if (known) {
          onEntry(known, true);
          return;
        }
        respondNpmError(ex_, 503, "upstream " + upstream_.config.name + " is unavailable");
        return;
      }
    }
    pending_ = docs.fetch(
        keys_, known,
        packumentSource(upstream_, path_.name, mountUrl_, svc_.outcomeRecorder(upstream_)),
        [this, known](const DocumentResult& r) {
          if (r.entry) {
            onEntry(r.entry, true);
          } else if (known) {
            onEntry(known, true);
          } else if (r.error == FetchError::None && r.upstreamStatus == 404) {
            respondNpmError(ex_, 404, "Not found: " + path_.name);
          } else {
            respondNpmError(ex_, 502, "cannot fetch the packument of " + path_.name);
          }
        });
  }

  NpmService& svc_;
  http::Exchange& ex_;
  NpmPath path_;
  FrontUpstream& upstream_;
  std::string mountUrl_;
  DocumentKeys keys_;
  CancelHandle pending_;
  http::RequestContextPtr blob_;  // the blob response, once the digest is known
};

}  // namespace

void handleTarball(NpmService& svc, http::Exchange& ex, const NpmPath& path,
                   FrontUpstream& upstream) {
  http::startContext<TarballRequest>(ex, svc, ex, path, upstream);
}

}  // namespace hoard::npm
