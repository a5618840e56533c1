// GET|HEAD /go/<module>/@v/<version>.zip
//
// A module zip is named by module and version, not by a digest, so hoard
// keeps a ref (module@version -> sha256 of the zip) next to the blob. With a
// ref the blob path serves it like any blob (sendfile, ranges, coalescing).
// Without one the zip is fetched through a fill keyed by module@version, and
// for a public module its files are hashed (dirhash h1:) and compared with the
// checksum database before the last byte is released and the zip committed;
// only then is the ref written. A mismatch is never cached. Zips up to 64 MiB
// are held until checked, so the go command sees a clear 502 rather than a
// cut transfer; larger ones (toolchains) stream.
#include "cache/go_dirhash.h"
#include "cache/off_loop.h"
#include "daemon/go/service.h"
#include "upstream/basic_auth.h"

namespace hoard::go {

namespace {

constexpr std::uint64_t kHoldBelowBytes = 64 * 1024 * 1024;

class ZipOrigin final : public BlobOrigin {
 public:
  ZipOrigin(GoService& svc, FrontUpstream& upstream, std::string url, std::string subject,
            std::string refKey, std::optional<Digest> digest, policy::RequestPolicy policy)
      : svc_(svc),
        upstream_(upstream),
        url_(std::move(url)),
        subject_(std::move(subject)),
        refKey_(std::move(refKey)),
        digest_(std::move(digest)),
        policy_(std::move(policy)) {
    if (digest_) policy_.subject.digest = digest_->str();
  }

  http::Headers headers() const override {
    http::Headers h{{"Content-Type", "application/zip"}};
    if (digest_) h.push_back({"ETag", "\"" + digest_->str() + "\""});
    return h;
  }
  void respondError(http::Exchange& ex, int status, std::string_view message,
                    http::Headers extra) override {
    respondGoError(ex, status, message, std::move(extra));
  }
  void respondFillFailure(http::Exchange& ex, int upstreamStatus,
                          std::string_view message) override {
    if (upstreamStatus == 404 || upstreamStatus == 410) {
      std::string body = (upstreamStatus == 410 ? "gone: " : "not found: ") + subject_;
      svc_.rememberNegative(refKey_, upstreamStatus, body);
      respondGoError(ex, upstreamStatus, body);
    } else if (message.starts_with("content check failed") ||
               message.starts_with("content does not match")) {
      respondGoError(
          ex, 502,
          "checksum mismatch: " + subject_ + ": " + std::string(message) + "; it was not cached");
    } else {
      respondGoError(ex, 502, "fetching " + subject_ + " failed: " + std::string(message));
    }
  }
  bool admit(http::Exchange& ex) override {
    if (policy::refuseIfUnlisted(policy_.policy, svc_.metrics(), ex, policy_.subject,
                                 policy_.refuse)) {
      return false;
    }
    auto gate = upstream_.health->admit();
    if (gate == UpstreamGate::Allow || gate == UpstreamGate::Probe) return true;
    respondGoError(ex, 503,
                   subject_ + " is not cached and upstream " + upstream_.config.name +
                       (gate == UpstreamGate::Offline ? " is offline" : " is unavailable"));
    return false;
  }
  HttpClient::Handle fetch(HttpCallbacks callbacks) override {
    HttpRequest req;
    req.url = url_;
    req.followRedirects = true;  // Authorization never crosses hosts (http_client)
    if (upstream_.config.auth) {
      req.headers.push_back({"Authorization", basicAuthorization(upstream_.config.auth->username,
                                                                 upstream_.config.auth->password)});
    }
    req.connectTimeoutMs = upstream_.config.connectTimeoutMs;
    req.idleTimeoutMs = upstream_.config.idleTimeoutMs;
    req.receiveBufferBytes = 512 * 1024;
    svc_.metrics().add("hoard_upstream_requests_total{upstream=\"" + upstream_.config.name +
                       "\",kind=\"go-zip\"}");
    return svc_.http().start(req, std::move(callbacks));
  }
  bool holdUntilVerified(std::optional<std::uint64_t> size) const override {
    return size && *size <= kHoldBelowBytes;
  }
  OutcomeRecorder outcomeRecorder() const override { return svc_.outcomeRecorder(upstream_); }
  std::string mediaType() const override { return "application/zip"; }
  bool pinned() const override { return policy_.policy && policy_.policy->pinned(policy_.subject); }

 private:
  GoService& svc_;
  FrontUpstream& upstream_;
  std::string url_;
  std::string subject_;
  std::string refKey_;
  std::optional<Digest> digest_;
  policy::RequestPolicy policy_;
};

class ZipRequest final : public http::RequestContext {
 public:
  ZipRequest(GoService& svc, http::Exchange& ex, GoPath path, FrontUpstream& upstream,
             bool isPrivate)
      : svc_(svc), ex_(ex), path_(std::move(path)), upstream_(upstream), isPrivate_(isPrivate) {}

  void start() {
    refKey_ = "go/" + upstream_.config.name + "/" + path_.module + "/@v/" + path_.version + ".zip";
    url_ = upstream_.config.url + "/" + path_.module + "/@v/" + path_.version + ".zip";
    subject_ = path_.modulePath + "@" + path_.version + ".zip";
    if (const auto* neg = svc_.negative(refKey_)) {
      ex_.setLogField("cache", "negative");
      respondGoError(ex_, neg->status, neg->body);
      return;
    }
    BlobStore* store = &svc_.blobServices().store->store();
    std::string key = refKey_;
    pending_ = runOffLoop<std::optional<Digest>>(
        svc_.blobServices().loop,
        [store, key]() -> std::optional<Digest> {
          auto ref = store->index().getRef(key);
          if (!ref || !*ref) return std::nullopt;
          return Digest::parse((*ref)->digest);
        },
        [this](const std::optional<Digest>& digest) {
          if (digest) {
            // The zip's digest is known only now: sha256: deny entries apply.
            auto pol = svc_.requestPolicy(path_);
            pol.subject.digest = digest->str();
            if (policy::refuseIfDenied(pol.policy, svc_.metrics(), ex_, pol.subject, pol.refuse)) {
              return;
            }
            blob_ = startBlob(svc_.blobServices(), ex_, *digest,
                              std::make_unique<ZipOrigin>(svc_, upstream_, url_, subject_, refKey_,
                                                          *digest, svc_.requestPolicy(path_)));
            return;
          }
          // Not cached: nothing (not even the checksum database) is asked
          // for a module the allow-list does not name.
          const auto pol = svc_.requestPolicy(path_);
          if (policy::refuseIfUnlisted(pol.policy, svc_.metrics(), ex_, pol.subject, pol.refuse)) {
            return;
          }
          if (isPrivate_ || upstream_.config.sumdbName.empty()) {
            fill("");
            return;
          }
          pending_ =
              svc_.checksumRecord(upstream_, path_, [this](const GoService::RecordResult& r) {
                if (!r && (r.error().first == 404 || r.error().first == 410)) {
                  // The proxy's own 404/410 reaches the client as it is; a zip
                  // the database does not know is refused, never cached.
                  fill("", path_.modulePath + "@" + path_.version + " is " + r.error().second);
                  return;
                }
                if (!r) {
                  respondGoError(ex_, r.error().first, r.error().second);
                  return;
                }
                fill(r->zipH1);
              });
        });
  }

 private:
  void fill(const std::string& expectedH1, const std::string& unverifiable = "") {
    Fill::Options options;
    options.digestUnknown = true;
    if (!unverifiable.empty()) {
      options.check = [unverifiable](int, std::uint64_t) -> std::expected<void, std::string> {
        return std::unexpected(unverifiable + "; hoard does not cache a module it cannot verify");
      };
    } else if (!expectedH1.empty()) {
      options.check = [expectedH1](int fd, std::uint64_t size) -> std::expected<void, std::string> {
        auto got = goZipH1(fd, size);
        if (!got) return std::unexpected("not a valid module zip: " + got.error());
        if (*got != expectedH1) {
          return std::unexpected("its files hash to " + *got + " but the checksum database says " +
                                 expectedH1);
        }
        return {};
      };
    }
    BlobStore* store = &svc_.blobServices().store->store();
    ClockPtr clock = svc_.clock();
    options.afterCommit = [store, clock, key = refKey_](const Digest& d) {
      RefEntry ref;
      ref.digest = d.str();
      ref.mediaType = "application/zip";
      ref.fetchedMs = clock->nowMs();
      ref.ttlMs = kImmutableTtlMs;
      (void)store->index().putRef(key, ref);
    };
    blob_ =
        startUnaddressedBlob(svc_.blobServices(), ex_, "go:" + refKey_, std::move(options),
                             std::make_unique<ZipOrigin>(svc_, upstream_, url_, subject_, refKey_,
                                                         std::nullopt, svc_.requestPolicy(path_)));
  }

  GoService& svc_;
  http::Exchange& ex_;
  GoPath path_;
  FrontUpstream& upstream_;
  bool isPrivate_;
  std::string refKey_, url_, subject_;
  CancelHandle pending_;
  http::RequestContextPtr blob_;
};

}  // namespace

void handleZip(GoService& svc, http::Exchange& ex, const GoPath& path, FrontUpstream& upstream,
               bool isPrivate) {
  http::startContext<ZipRequest>(ex, svc, ex, path, upstream, isPrivate);
}

}  // namespace hoard::go
