#include "daemon/blob_response.h"

#include "daemon/http/range.h"
#include "daemon/log.h"

namespace hoard {

namespace {

// Pass-through responses copy fill memory into the exchange's queue up to
// this much; the exchange's drain callback (below its 1 MiB low watermark)
// asks for more.
constexpr std::uint64_t kPassThroughQueue = 2 * 1024 * 1024;

// The fill outlives the request: the sink captures only the metrics, which
// live as long as the App.
std::function<void(std::string_view)> fillWarnings(Metrics* metrics) {
  return [metrics](std::string_view message) {
    logWarn(message);
    metrics->add("hoard_fill_no_space_total");
  };
}

// Wires an upstream transfer into a fill. Captures only the fill (weakly) and
// the recorder: the transfer outlives the request that started it.
void connectFill(const FillPtr& fill, BlobOrigin& origin) {
  std::weak_ptr<Fill> weak = fill;
  OutcomeRecorder record = origin.outcomeRecorder();
  std::string mediaType = origin.mediaType();
  HttpCallbacks cb;
  cb.onHead = [weak, record, mediaType](const HttpResponseHead& head) {
    if (head.status != 200) record(head.status, FetchError::None, head.header("retry-after"));
    auto f = weak.lock();
    if (!f) return false;
    if (head.status != 200) {
      f->fail(FillFailure::UpstreamStatus, "upstream status " + std::to_string(head.status),
              static_cast<int>(head.status));
      return false;
    }
    f->setHead(head.contentLength, mediaType);
    return true;
  };
  cb.onBody = [weak](std::string_view chunk) {
    auto f = weak.lock();
    if (!f) return BodyAction::Continue;
    return f->write(chunk) == FillWrite::Pause ? BodyAction::Pause : BodyAction::Continue;
  };
  cb.onComplete = [weak, record](const FetchResult& r) {
    // Non-200 heads were recorded above and end as Aborted.
    if (r.error != FetchError::Aborted) record(r.error == FetchError::None ? 200 : 0, r.error, "");
    auto f = weak.lock();
    if (!f) return;
    if (r.error == FetchError::None) {
      f->finishInput();
    } else if (f->state() == FillState::Waiting || f->state() == FillState::Streaming) {
      f->fail(FillFailure::UpstreamError, std::string(fetchErrorName(r.error)) + ": " + r.message);
    }
  };
  auto handle = std::make_shared<HttpClient::Handle>(origin.fetch(std::move(cb)));
  fill->setResumer([handle] { handle->resume(); });
  fill->setProducer(CancelHandle([handle] { handle->cancel(); }));
}

class BlobResponse final : public http::RequestContext {
 public:
  BlobResponse(const BlobServices& svc, http::Exchange& ex, Digest digest, BlobOriginPtr origin)
      : svc_(svc), ex_(ex), digestValue_(std::move(digest)), origin_(std::move(origin)) {}
  // Content whose digest is not known before it is fetched: no store lookup
  // (the caller found no ref), one fill per `fillKey`, checked by `options`.
  BlobResponse(const BlobServices& svc, http::Exchange& ex, std::string fillKey,
               Fill::Options options, BlobOriginPtr origin)
      : svc_(svc),
        ex_(ex),
        digestValue_{DigestAlgorithm::Sha256, ""},
        origin_(std::move(origin)),
        digest_(std::move(fillKey)),
        unaddressed_(true),
        fillOptions_(std::move(options)) {}

  ~BlobResponse() override {
    fillEvents_.cancel();
    cursor_.close();
    if (fd_ >= 0) svc_.store->closeFd(fd_);
  }

  void start() {
    if (unaddressed_) {
      startOrJoinFill();
      return;
    }
    digest_ = digestValue_.str();
    logDigest(digest_);
    lookup();
  }

 private:
  void lookup() {
    if (auto fill = svc_.fills->find(digest_)) {
      attach(std::move(fill), "coalesced");
      return;
    }
    const auto commitsBefore = svc_.fills->commits();
    pending_ = svc_.store->open(digestValue_, origin_->mediaType(),
                                [this, commitsBefore](std::expected<OpenBlob, StoreError> r) {
                                  if (r) {
                                    fd_ = r->fd;
                                    serveFile(r->meta.size);
                                    return;
                                  }
                                  if (r.error() != StoreError::NotFound) {
                                    svc_.metrics->add("hoard_store_errors_total");
                                  }
                                  // A fill may have committed (and left the registry) while we
                                  // looked: look once more instead of fetching the blob a second
                                  // time.
                                  if (!lookedTwice_ && svc_.fills->commits() != commitsBefore) {
                                    lookedTwice_ = true;
                                    lookup();
                                    return;
                                  }
                                  startOrJoinFill();
                                });
  }

  http::Headers blobHeaders() const {
    auto h = origin_->headers();
    h.push_back({"Accept-Ranges", "bytes"});
    h.push_back({"Cache-Control", "max-age=31536000, immutable"});
    return h;
  }

  // Decides status and byte range for a blob of known size; false if the
  // response (416) was already sent.
  bool chooseRange(std::uint64_t size) {
    first_ = 0;
    end_ = size;
    status_ = 200;
    auto header = ex_.request().header("range");
    if (header.empty()) return true;
    auto [st, range] = http::parseRange(header, size);
    if (st == http::RangeStatus::Unsatisfiable) {
      origin_->respondError(ex_, 416,
                            "requested range not satisfiable (size " + std::to_string(size) + ")",
                            {{"Content-Range", "bytes */" + std::to_string(size)}});
      return false;
    }
    if (st == http::RangeStatus::Ok) {
      status_ = 206;
      first_ = range.first;
      end_ = range.last + 1;
      contentRange_ = http::contentRange(range, size);
    }
    return true;
  }

  void sendHead(std::uint64_t size) {
    auto h = blobHeaders();
    if (status_ == 206) h.push_back({"Content-Range", contentRange_});
    ex_.sendHead(status_, std::move(h), end_ - first_);
    (void)size;
  }

  void logDigest(const std::string& digest) {
    if (digestLogged_ || digest.empty()) return;
    digestLogged_ = true;
    ex_.setLogField("digest", digest);
  }

  void serveFile(std::uint64_t size) {
    ex_.setLogField("cache", "hit");
    svc_.metrics->add("hoard_cache_requests_total{kind=\"blob\",result=\"hit\"}");
    svc_.access->touch(digest_, origin_->pinned());
    if (!chooseRange(size)) return;
    sendHead(size);
    if (!ex_.isHead() && end_ > first_) ex_.sendFile(fd_, first_, end_ - first_);
    ex_.finish();
  }

  void startOrJoinFill() {
    // Another request may have started the fill while we looked in the store.
    if (auto fill = svc_.fills->find(digest_)) {
      attach(std::move(fill), "coalesced");
      return;
    }
    if (!origin_->admit(ex_)) {
      ex_.setLogField("cache", "miss");
      return;
    }
    Fill::Options options = fillOptions_;
    options.pinned = origin_->pinned();
    options.warn = fillWarnings(svc_.metrics);
    auto fill = std::make_shared<Fill>(svc_.loop, svc_.store->store(), svc_.clock, digestValue_,
                                       std::move(options));
    svc_.fills->add(digest_, fill);
    connectFill(fill, *origin_);
    startedFill_ = true;
    attach(std::move(fill), "miss");
  }

  void attach(FillPtr fill, const char* result) {
    fill_ = std::move(fill);
    ex_.setLogField("cache", result);
    svc_.metrics->add(std::string("hoard_cache_requests_total{kind=\"blob\",result=\"") + result +
                      "\"}");
    fillEvents_ = fill_->subscribe([this](FillEvent e) { onFillEvent(e); });
    cursor_ = fill_->openCursor(0);
    ex_.setOnDrained([this] { pumpFill(); });
    switch (fill_->state()) {
      case FillState::Waiting:
        break;  // the head will come as an event
      case FillState::Failed:
        onFillEvent(FillEvent::Failed);
        break;
      default:
        onFillEvent(FillEvent::Head);
        break;
    }
  }

  void onFillEvent(FillEvent e) {
    // Only the commit failed (or the store was full): what this client gets
    // is verified; finish it.
    if (e == FillEvent::Failed && fill_->verified()) e = FillEvent::Progress;
    if (e == FillEvent::Failed) {
      fillEvents_.cancel();
      cursor_.close();
      // Counted once per fill, by the request that started it.
      if (startedFill_ && fill_->failure() == FillFailure::DigestMismatch) {
        svc_.metrics->add("hoard_digest_mismatch_total");
      }
      if (!headSent_) {
        origin_->respondFillFailure(ex_, fill_->failureStatus(), fill_->failureMessage());
      } else {
        ex_.setLogField("error", fill_->failureMessage());
        ex_.abort();
      }
      return;
    }
    // A pass-through fill cannot keep a whole object in memory for a held
    // head: it streams (last byte withheld), and a mismatch cuts it off.
    if (!headSent_ && origin_->holdUntilVerified(fill_->size()) && !fill_->verified() &&
        fill_->state() != FillState::Done && !fill_->passThrough()) {
      return;  // the head waits for verification
    }
    if (!headSent_) {
      headSent_ = true;
      if (auto size = fill_->size()) {
        if (!chooseRange(*size)) {
          fillEvents_.cancel();
          cursor_.close();
          return;
        }
        sendHead(*size);
      } else {
        first_ = 0;
        end_ = UINT64_MAX;
        status_ = 200;
        ex_.sendHead(200, blobHeaders(), std::nullopt);
      }
      sent_ = first_;
      if (ex_.isHead()) {
        fillEvents_.cancel();
        cursor_.close();
        ex_.finish();
        return;
      }
      cursor_.advance(sent_);
    }
    pumpFill();
  }

  // Queues the newly available part of the fill, bounded by the range. File
  // ranges cost no memory, so everything available is queued at once.
  void pumpFill() {
    if (!fill_ || !headSent_ || finished_ || ex_.isHead()) return;
    const bool done = fill_->state() == FillState::Done || fill_->verified();
    std::uint64_t avail = std::min<std::uint64_t>(fill_->available(), end_);
    // Until the digest is verified the response must not be complete: a range
    // that stops short of the blob's end would otherwise finish with bytes
    // nobody checked. Its last byte waits for Done (the whole-blob case is
    // covered by Fill::available() withholding the blob's last byte).
    if (!done && end_ != UINT64_MAX && avail == end_ && end_ > first_) avail = end_ - 1;
    if (fill_->passThrough()) {
      if (!pumpPassThrough(avail, done)) return;
    } else if (avail > sent_) {
      ex_.sendFile(fill_->fd(), sent_, avail - sent_);
      sent_ = avail;
      cursor_.advance(sent_);
    }
    if (done && (sent_ == end_ || (end_ == UINT64_MAX && sent_ == fill_->available()))) {
      finished_ = true;
      fillEvents_.cancel();
      cursor_.close();
      if (unaddressed_) logDigest(fill_->digest().str());
      ex_.finish();
    }
  }

  // The store is full: bytes still on disk go as file ranges, later ones are
  // copied from the fill's memory window while the exchange holds less than
  // kPassThroughQueue. The cursor then lets the fill drop what was copied.
  // A range that ends before the blob does keeps its withheld last byte
  // itself, so the fill need not hold memory for it until verification.
  // False if the response was cut off.
  bool pumpPassThrough(std::uint64_t avail, bool done) {
    while (sent_ < avail) {
      if (tailHeld_ && sent_ + 1 == end_) {
        ex_.sendBody(std::move(tail_));
        tailHeld_ = false;
        sent_ = end_;
        break;
      }
      auto slice = fill_->read(sent_, avail - sent_);
      if (slice.fileLength > 0) {
        const std::uint64_t n = std::min(slice.fileLength, avail - sent_);
        ex_.sendFile(fill_->fd(), sent_, n);
        sent_ += n;
        continue;
      }
      const std::uint64_t queued = queuedMemory();
      if (queued >= kPassThroughQueue) break;
      slice = fill_->read(sent_, std::min(avail - sent_, kPassThroughQueue - queued));
      if (slice.memory.empty()) {
        // The fill dropped bytes this cursor should have held: never happens
        // unless the cursor bookkeeping is wrong; cut off rather than skip.
        fillEvents_.cancel();
        cursor_.close();
        ex_.setLogField("error", "pass-through bytes lost at offset " + std::to_string(sent_));
        ex_.abort();
        return false;
      }
      ex_.sendBody(std::string(slice.memory));
      sent_ += slice.memory.size();
    }
    if (!done && end_ != UINT64_MAX && end_ > first_ && sent_ + 1 == end_ &&
        fill_->available() >= end_) {
      if (!tailHeld_) {
        auto slice = fill_->read(sent_, 1);
        if (!slice.memory.empty()) {
          tail_.assign(slice.memory);
          tailHeld_ = true;
        }
        // Otherwise it is on disk, readable through fd() while the fill lives.
      }
      cursor_.advance(UINT64_MAX);  // nothing more needed from the fill's memory
      return true;
    }
    cursor_.advance(sent_);
    return true;
  }

  // Fill memory copied into the exchange and not sent yet: the budget that
  // bounds this reader's copies. File ranges (the bytes still on disk, all
  // queued before the first memory copy) cost no memory and do not count, so
  // a slow client's file backlog at the switch does not stop the copies (the
  // producer, paused until this reader moves on, would send no Progress).
  std::uint64_t queuedMemory() const {
    const std::uint64_t memoryFrom = std::max(first_, fill_->diskBytes());
    const std::uint64_t copied = sent_ > memoryFrom ? sent_ - memoryFrom : 0;
    return std::min(ex_.queuedBytes(), copied);
  }

  BlobServices svc_;
  http::Exchange& ex_;
  Digest digestValue_;
  BlobOriginPtr origin_;
  std::string digest_;
  int fd_ = -1;
  FillPtr fill_;
  CancelHandle pending_;
  CancelHandle fillEvents_;
  FillCursor cursor_;
  std::string tail_;  // a pass-through range's withheld last byte
  bool tailHeld_ = false;
  bool digestLogged_ = false;
  bool unaddressed_ = false;
  Fill::Options fillOptions_;
  bool startedFill_ = false;
  bool lookedTwice_ = false;
  bool headSent_ = false;
  bool finished_ = false;
  int status_ = 200;
  std::uint64_t first_ = 0, end_ = 0, sent_ = 0;
  std::string contentRange_;
};

}  // namespace

http::RequestContextPtr startBlob(const BlobServices& services, http::Exchange& ex,
                                  const Digest& digest, BlobOriginPtr origin) {
  auto ctx = std::make_unique<BlobResponse>(services, ex, digest, std::move(origin));
  ctx->start();
  return ctx;
}

http::RequestContextPtr startUnaddressedBlob(const BlobServices& services, http::Exchange& ex,
                                             std::string fillKey, Fill::Options options,
                                             BlobOriginPtr origin) {
  auto ctx = std::make_unique<BlobResponse>(services, ex, std::move(fillKey), std::move(options),
                                            std::move(origin));
  ctx->start();
  return ctx;
}

void serveBlob(const BlobServices& services, http::Exchange& ex, const Digest& digest,
               BlobOriginPtr origin) {
  http::startContext<BlobResponse>(ex, services, ex, digest, std::move(origin));
}

}  // namespace hoard
