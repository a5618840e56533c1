#include "daemon/document/named_file.h"

namespace hoard {

namespace {

class NamedFileOrigin final : public BlobOrigin {
 public:
  NamedFileOrigin(const NamedFileServices& svc, FrontUpstream& upstream,
                  const NamedFileStyle& style, FileSource source)
      : svc_(svc), upstream_(upstream), style_(style), source_(std::move(source)) {}

  http::Headers headers() const override {
    return {{"Content-Type", style_.contentType}, {"ETag", "\"" + source_.digest.str() + "\""}};
  }
  void respondError(http::Exchange& ex, int status, std::string_view message,
                    http::Headers extra) override {
    style_.respondError(ex, status, message, std::move(extra));
  }
  void respondFillFailure(http::Exchange& ex, int upstreamStatus,
                          std::string_view message) override {
    if (upstreamStatus == 404 || upstreamStatus == 410) {
      style_.respondError(ex, 404, style_.fileNoun + " not found upstream", {});
    } else if (message.starts_with("content does not match")) {
      style_.respondError(ex, 502,
                          "integrity check failed: the upstream's " + style_.fileNoun +
                              " does not match " + source_.digest.str() + " from the " +
                              style_.documentNoun + "; it was not cached",
                          {});
    } else {
      style_.respondError(ex, 502,
                          "fetching " + style_.fileNoun + " failed: " + std::string(message), {});
    }
  }
  bool admit(http::Exchange& ex) override {
    const auto& pol = svc_.policy;
    if (policy::refuseIfUnlisted(pol.policy, *svc_.blobs.metrics, ex, subject(), pol.refuse)) {
      return false;
    }
    auto gate = upstream_.health->admit();
    if (gate == UpstreamGate::Allow || gate == UpstreamGate::Probe) return true;
    style_.respondError(ex, 503,
                        style_.fileNoun + " is not cached and upstream " + upstream_.config.name +
                            (gate == UpstreamGate::Offline ? " is offline" : " is unavailable"),
                        {});
    return false;
  }
  HttpClient::Handle fetch(HttpCallbacks callbacks) override {
    HttpRequest req;
    req.url = source_.url;
    // Only the upstream's configured origins are ever named here; redirects
    // (a CDN) are followed without any Authorization header.
    req.followRedirects = true;
    req.connectTimeoutMs = upstream_.config.connectTimeoutMs;
    req.idleTimeoutMs = upstream_.config.idleTimeoutMs;
    req.receiveBufferBytes = 512 * 1024;
    svc_.blobs.metrics->add("hoard_upstream_requests_total{upstream=\"" + upstream_.config.name +
                            "\",kind=\"" + style_.fileNoun + "\"}");
    return svc_.http->start(req, std::move(callbacks));
  }
  bool holdUntilVerified(std::optional<std::uint64_t> size) const override {
    return size ? *size <= style_.holdBelowBytes : style_.holdBelowBytes == UINT64_MAX;
  }
  OutcomeRecorder outcomeRecorder() const override { return svc_.recordOutcome; }
  std::string mediaType() const override { return style_.contentType; }
  bool pinned() const override {
    return svc_.policy.policy && svc_.policy.policy->pinned(subject());
  }

 private:
  policy::Subject subject() const {
    auto s = svc_.policy.subject;
    s.digest = source_.digest.str();
    return s;
  }

  const NamedFileServices& svc_;
  FrontUpstream& upstream_;
  const NamedFileStyle& style_;
  FileSource source_;
};

}  // namespace

void NamedFileRequest::start() {
  // The file table does not depend on how the document was rendered.
  if (auto entry = svc_.documents->remembered(keys_.any)) {
    onEntry(entry, false);
    return;
  }
  pending_ =
      svc_.documents->load({keys_.any, keys_.any}, {}, [this](const DocumentEntryPtr& loaded) {
        if (loaded) {
          onEntry(loaded, false);
        } else {
          fetchDocument(nullptr);
        }
      });
}

void NamedFileRequest::onEntry(const DocumentEntryPtr& entry, bool fresh) {
  auto it = entry->files.find(file_);
  if (it == entry->files.end()) {
    // Maybe published after our copy of the document: look once more.
    if (!fresh) {
      fetchDocument(entry);
      return;
    }
    style_.respondError(ex_, 404,
                        "the " + style_.documentNoun + " of " + subject_ + " names no " +
                            style_.fileNoun + " " + file_,
                        {});
    return;
  }
  const FileSource& src = it->second;
  // The digest is known only now: sha256:/sha512: deny entries apply.
  auto subject = svc_.policy.subject;
  subject.digest = src.digest.str();
  if (policy::refuseIfDenied(svc_.policy.policy, *svc_.blobs.metrics, ex_, subject,
                             svc_.policy.refuse)) {
    return;
  }
  if (!upstream_.allowsUrl(src.url)) {
    style_.respondError(ex_, 502,
                        "the " + style_.documentNoun + " points this " + style_.fileNoun +
                            " outside upstream " + upstream_.config.name +
                            "'s configured hosts; hoard does not follow it",
                        {});
    return;
  }
  blob_ = startBlob(svc_.blobs, ex_, src.digest,
                    std::make_unique<NamedFileOrigin>(svc_, upstream_, style_, src));
}

void NamedFileRequest::fetchDocument(const DocumentEntryPtr& known) {
  auto& docs = *svc_.documents;
  const auto& pol = svc_.policy;
  if (pol.policy && !pol.policy->allowed(pol.subject)) {
    // Not to be fetched: the copy at hand (if any) is all there is.
    if (known) {
      onEntry(known, true);
      return;
    }
    policy::refuseIfUnlisted(pol.policy, *svc_.blobs.metrics, ex_, pol.subject, pol.refuse);
    return;
  }
  if (!docs.fetching(keys_.ref)) {
    auto gate = upstream_.health->admit();
    if (gate != UpstreamGate::Allow && gate != UpstreamGate::Probe) {
      if (known) {
        onEntry(known, true);
        return;
      }
      style_.respondError(ex_, 503, "upstream " + upstream_.config.name + " is unavailable", {});
      return;
    }
  }
  pending_ = docs.fetch(keys_, known, source_(), [this, known](const DocumentResult& r) {
    if (r.entry) {
      onEntry(r.entry, true);
    } else if (known) {
      onEntry(known, true);
    } else if (r.error == FetchError::None &&
               (r.upstreamStatus == 404 || r.upstreamStatus == 410)) {
      style_.respondError(ex_, 404, "Not found: " + subject_, {});
    } else {
      style_.respondError(ex_, 502, "cannot fetch the " + style_.documentNoun + " of " + subject_,
                          {});
    }
  });
}

}  // namespace hoard
