#include "cache/fill.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "cache/off_loop.h"

namespace hoard {

namespace {
// Writes all of `data` at the end of `fd`; false on error (errno kept).
bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}
}  // namespace

Fill::Fill(uv_loop_t* loop, BlobStore& store, ClockPtr clock, Digest digest, Options options)
    : loop_(loop),
      store_(store),
      clock_(std::move(clock)),
      digest_(std::move(digest)),
      options_(options),
      hasher_(digest_.algorithm) {}

Fill::~Fill() {
  // The last reference may go from any callback; closing (and, for a failed
  // fill, freeing the unlinked temp file's blocks) can take a while on a big
  // file, so it happens on the thread pool.
  int fd = readFd_;
  std::optional<TempFile> temp = std::move(temp_);
  if (fd >= 0 || temp) {
    BlobStore* store = &store_;
    runOffLoop(
        loop_,
        [fd, temp = std::move(temp), store]() mutable {
          if (fd >= 0) ::close(fd);
          if (temp) store->discard(std::move(*temp));
        },
        [] {})
        .release();
  }
}

void Fill::setHead(std::optional<std::uint64_t> size, std::string mediaType) {
  if (state_ != FillState::Waiting) return;
  if (size && options_.maxSize && *size > options_.maxSize) {
    fail(FillFailure::SizeMismatch, "object larger than the configured maximum");
    return;
  }
  size_ = size;
  mediaType_ = std::move(mediaType);
  state_ = FillState::Streaming;
  ensureTemp();
  notify(FillEvent::Head);
}

FillWrite Fill::write(std::string_view chunk) {
  if (state_ != FillState::Streaming || inputDone_) return FillWrite::Accepted;  // dropped
  if (pending_.size() >= options_.highWatermark) {
    paused_ = true;
    return FillWrite::Pause;
  }
  received_ += chunk.size();
  if ((size_ && received_ > *size_) || (options_.maxSize && received_ > options_.maxSize)) {
    fail(FillFailure::SizeMismatch, "upstream sent more bytes than announced");
    return FillWrite::Accepted;
  }
  pending_.append(chunk);
  pump();
  return FillWrite::Accepted;
}

void Fill::finishInput() {
  if (state_ != FillState::Streaming || inputDone_) return;
  inputDone_ = true;
  producer_.release();  // the transfer completed; nothing left to cancel
  pump();
}

void Fill::ensureTemp() {
  if (temp_ || creatingTemp_) return;
  creatingTemp_ = true;
  auto self = shared_from_this();
  BlobStore* store = &store_;
  runOffLoop<std::expected<std::pair<TempFile, int>, StoreError>>(
      loop_,
      [store]() -> std::expected<std::pair<TempFile, int>, StoreError> {
        auto tmp = store->createTemp();
        if (!tmp) return std::unexpected(tmp.error());
        // Readers get their own descriptor: commit() closes the writer's, and
        // the reader's stays valid across the rename into place.
        int rfd = ::dup(tmp->fd);
        if (rfd < 0) {
          store->discard(std::move(*tmp));
          return std::unexpected(StoreError::Io);
        }
        return std::make_pair(std::move(*tmp), rfd);
      },
      [self](std::expected<std::pair<TempFile, int>, StoreError> r) {
        self->creatingTemp_ = false;
        if (!r) {
          self->fail(FillFailure::Io, "cannot create temp file");
          return;
        }
        self->temp_ = std::move(r->first);
        self->readFd_ = r->second;
        if (self->state_ == FillState::Failed) return;  // destructor discards
        self->pump();
      })
      .release();
}

void Fill::pump() {
  if (state_ != FillState::Streaming || writing_ || !temp_) return;
  if (pending_.empty()) {
    if (inputDone_) finalize();
    return;
  }
  writing_ = true;
  // Two buffers swap roles, so appending never reallocates (and faults in
  // fresh pages) once both have grown to a batch's size.
  auto batch = std::make_shared<std::string>(std::move(pending_));
  pending_ = std::move(spare_);
  pending_.clear();
  auto self = shared_from_this();
  int fd = temp_->fd;
  Hasher* hasher = &hasher_;
  runOffLoop<int>(
      loop_,
      [fd, batch, hasher] {
        hasher->update(batch->data(), batch->size());
        return writeAll(fd, *batch) ? 0 : errno;
      },
      [self, batch](int err) {
        self->writing_ = false;
        if (self->state_ != FillState::Streaming) return;
        if (err != 0) {
          self->fail(FillFailure::Io, std::string("writing temp file: ") + std::strerror(err));
          return;
        }
        self->written_ += batch->size();
        batch->clear();
        self->spare_ = std::move(*batch);
        if (self->paused_ && self->pending_.size() < self->options_.lowWatermark) {
          self->paused_ = false;
          if (self->resumer_) self->resumer_();
        }
        self->notify(FillEvent::Progress);
        self->pump();
      })
      .release();
}

void Fill::finalize() {
  if (size_ && written_ != *size_) {
    fail(FillFailure::UpstreamError, "upstream body shorter than announced");
    return;
  }
  state_ = FillState::Committing;
  auto self = shared_from_this();
  auto temp = std::make_shared<TempFile>(std::move(*temp_));
  temp_.reset();
  BlobStore* store = &store_;
  Hasher* hasher = &hasher_;
  BlobMeta meta;
  meta.size = written_;
  meta.mediaType = mediaType_;
  meta.createdMs = clock_->nowMs();
  meta.lastAccessMs = meta.createdMs;
  Digest expected = digest_;
  auto check = options_.check;
  auto afterCommit = options_.afterCommit;
  const bool unknown = options_.digestUnknown;
  const int readFd = readFd_;
  const std::uint64_t size = written_;
  struct Verdict {
    Digest digest;
    std::string error;  // empty: the content is right
  };
  // Two steps: verify, then commit. Readers may finish as soon as the bytes
  // are verified; the fsync + rename + index write that follows does not
  // change what they receive, so it need not delay them.
  runOffLoop<Verdict>(
      loop_,
      [hasher, expected, unknown, check, readFd, size]() {
        Verdict v{expected, {}};
        v.digest.hex = hasher->finishHex();
        if (!unknown && v.digest.hex != expected.hex) {
          v.error = "content does not match digest " + expected.str();
        } else if (check) {
          if (auto ok = check(readFd, size); !ok) v.error = "content check failed: " + ok.error();
        }
        return v;
      },
      [self, store, temp, meta, afterCommit](Verdict verdict) {
        if (!verdict.error.empty()) {
          runOffLoop(
              self->loop_, [store, temp] { store->discard(std::move(*temp)); }, [] {})
              .release();
          self->state_ = FillState::Streaming;  // so fail() takes effect
          self->fail(FillFailure::DigestMismatch, verdict.error);
          return;
        }
        self->digest_ = verdict.digest;
        self->verified_ = true;
        self->notify(FillEvent::Progress);
        Digest digest = verdict.digest;
        runOffLoop<bool>(
            self->loop_,
            [store, temp, meta, digest, afterCommit] {
              if (!store->commit(std::move(*temp), digest, meta)) return false;
              if (afterCommit) afterCommit(digest);
              return true;
            },
            [self](bool committed) {
              if (committed) {
                self->finish(FillState::Done);
                return;
              }
              // Readers got verified bytes; the blob just is not cached.
              self->failure_ = FillFailure::Io;
              self->failureMessage_ = "cannot commit blob";
              self->finish(FillState::Failed);
            })
            .release();
      })
      .release();
}

void Fill::fail(FillFailure why, std::string message, int upstreamStatus) {
  if (state_ == FillState::Done || state_ == FillState::Failed || state_ == FillState::Committing) {
    return;
  }
  failure_ = why;
  failureMessage_ = std::move(message);
  failureStatus_ = upstreamStatus;
  pending_.clear();
  pending_.shrink_to_fit();
  producer_.cancel();
  finish(FillState::Failed);
}

void Fill::finish(FillState state) {
  state_ = state;
  auto self = shared_from_this();  // listeners and onFinished may drop the last other reference
  notify(state == FillState::Done ? FillEvent::Done : FillEvent::Failed);
  if (auto fn = std::exchange(onFinished_, nullptr)) fn(*this);
}

std::uint64_t Fill::available() const {
  if (state_ == FillState::Done || verified_) return written_;
  return written_ > 0 ? written_ - 1 : 0;
}

CancelHandle Fill::subscribe(std::function<void(FillEvent)> listener) {
  auto id = nextListenerId_++;
  listeners_.emplace(id, std::move(listener));
  std::weak_ptr<Fill> weak = weak_from_this();
  return CancelHandle([weak, id] {
    if (auto self = weak.lock()) self->listeners_.erase(id);
  });
}

void Fill::notify(FillEvent event) {
  // A listener may unsubscribe itself or others while we iterate.
  std::vector<std::uint64_t> ids;
  ids.reserve(listeners_.size());
  for (const auto& [id, fn] : listeners_) ids.push_back(id);
  for (auto id : ids) {
    auto it = listeners_.find(id);
    if (it == listeners_.end()) continue;
    auto fn = it->second;  // copy: the listener may erase itself
    fn(event);
  }
}

FillPtr FillRegistry::find(const std::string& key) const {
  auto it = fills_.find(key);
  return it == fills_.end() ? nullptr : it->second;
}

void FillRegistry::add(const std::string& key, const FillPtr& fill) {
  fills_[key] = fill;
  fill->setOnFinished([this, key](Fill& f) {
    if (f.state() == FillState::Done) ++commits_;
    auto it = fills_.find(key);
    if (it != fills_.end() && it->second.get() == &f) fills_.erase(it);
  });
}

void FillRegistry::cancelAll() {
  auto fills = std::move(fills_);
  fills_.clear();
  for (auto& [key, fill] : fills) fill->fail(FillFailure::Cancelled, "shutting down");
}

}  // namespace hoard
