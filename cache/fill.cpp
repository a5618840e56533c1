#include "cache/fill.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "cache/off_loop.h"

namespace hoard {

namespace {
// Writes all of `data` at the end of `fd`; 0 or the errno of the failure.
int writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

bool isNoSpace(int err) {
  return err == ENOSPC || err == EDQUOT;
}

// Pass-through chunks grow up to this before a new one starts (fewer, larger
// pieces for readers to copy; the hasher takes whatever has arrived).
constexpr std::size_t kChunkBytes = 256 * 1024;
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
  if ((spilled_ ? memoryBytes() : pending_.size()) >= options_.highWatermark) {
    paused_ = true;
    return FillWrite::Pause;
  }
  received_ += chunk.size();
  if ((size_ && received_ > *size_) || (options_.maxSize && received_ > options_.maxSize)) {
    fail(FillFailure::SizeMismatch, "upstream sent more bytes than announced");
    return FillWrite::Accepted;
  }
  if (spilled_) {
    appendWindow(chunk);
    trimWindow();
    pump();
    notify(FillEvent::Progress);  // the bytes are readable at once (from memory)
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
  struct Created {
    std::optional<TempFile> temp;
    int readFd = -1;
    int err = 0;
  };
  runOffLoop<Created>(
      loop_,
      [store]() -> Created {
        errno = 0;
        auto tmp = store->createTemp();
        if (!tmp) return Created{std::nullopt, -1, errno != 0 ? errno : EIO};
        // Readers get their own descriptor: commit() closes the writer's, and
        // the reader's stays valid across the rename into place.
        int rfd = ::dup(tmp->fd);
        if (rfd < 0) {
          const int err = errno;
          store->discard(std::move(*tmp));
          return Created{std::nullopt, -1, err};
        }
        return Created{std::move(*tmp), rfd, 0};
      },
      [self](Created r) {
        self->creatingTemp_ = false;
        if (!r.temp) {
          if (isNoSpace(r.err) && self->state_ == FillState::Streaming) {
            self->spill(r.err, {});
            return;
          }
          self->fail(FillFailure::Io, "cannot create temp file");
          return;
        }
        self->temp_ = std::move(r.temp);
        self->readFd_ = r.readFd;
        if (self->state_ == FillState::Failed) return;  // destructor discards
        self->pump();
      })
      .release();
}

void Fill::pump() {
  if (state_ != FillState::Streaming || writing_) return;
  if (spilled_) {
    hashWindow();
    return;
  }
  if (!temp_) return;
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
  const auto* writeTemp = &options_.writeTemp;  // self (in `done`) keeps it alive
  runOffLoop<int>(
      loop_,
      [fd, batch, hasher, writeTemp] {
        hasher->update(batch->data(), batch->size());
        return *writeTemp ? (*writeTemp)(fd, *batch) : writeAll(fd, *batch);
      },
      [self, batch](int err) {
        self->writing_ = false;
        if (self->state_ != FillState::Streaming) return;
        if (isNoSpace(err)) {
          self->spill(err, std::move(*batch));  // hashed, not (wholly) written
          return;
        }
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
  meta.pinned = options_.pinned;
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
        runOffLoop<int>(
            self->loop_,
            [store, temp, meta, digest, afterCommit] {
              errno = 0;
              if (!store->commit(std::move(*temp), digest, meta)) return errno != 0 ? errno : EIO;
              if (afterCommit) afterCommit(digest);
              return 0;
            },
            [self](int err) {
              if (err == 0) {
                self->finish(FillState::Done);
                return;
              }
              // Readers got verified bytes; the blob just is not cached.
              self->failure_ = FillFailure::Io;
              self->failureMessage_ = std::string("cannot commit blob: ") + std::strerror(err);
              if (isNoSpace(err)) {
                // fsync, the shard directory or the index ran out of space.
                self->store_.noteNoSpace();  // the App runs an eviction pass
                self->failure_ = FillFailure::NoSpace;
                if (self->options_.warn) {
                  self->options_.warn("store full: " + self->digest_.str() +
                                      " served but not cached (" + self->failureMessage_ + ")");
                }
              }
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
  window_.clear();
  unhashed_.clear();
  windowStart_ = hashed_ = received_;  // memoryBytes() == 0
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
  std::uint64_t have = written_;
  if (spilled_) {
    // A failed pass-through fill freed its memory: only the file is left.
    have = state_ == FillState::Failed && !verified_ ? diskBytes_ : received_;
  }
  if (state_ == FillState::Done || verified_) return have;
  return have > 0 ? have - 1 : 0;
}

Fill::Slice Fill::read(std::uint64_t offset, std::uint64_t maxMemory) const {
  Slice slice;
  const std::uint64_t avail = available();
  if (offset >= avail) return slice;
  const std::uint64_t disk = diskBytes();
  if (offset < disk) {
    slice.fileLength = std::min(avail, disk) - offset;
    return slice;
  }
  auto it = std::upper_bound(window_.begin(), window_.end(), offset,
                             [](std::uint64_t off, const Chunk& c) { return off < c.start; });
  if (it == window_.begin()) return slice;  // dropped: no cursor held it
  --it;
  const std::string& bytes = *it->bytes;
  const std::uint64_t at = offset - it->start;
  if (at >= bytes.size()) return slice;
  const std::uint64_t n = std::min({bytes.size() - at, avail - offset, maxMemory});
  slice.memory = std::string_view(bytes).substr(at, n);
  return slice;
}

std::uint64_t Fill::memoryBytes() const {
  return spilled_ ? received_ - std::min(windowStart_, hashed_) : 0;
}

FillCursor Fill::openCursor(std::uint64_t offset) {
  auto id = nextCursorId_++;
  cursors_.emplace(id, offset);
  return FillCursor(weak_from_this(), id);
}

void Fill::moveCursor(std::uint64_t id, std::uint64_t offset) {
  auto it = cursors_.find(id);
  if (it == cursors_.end()) return;
  it->second = offset;
  if (!spilled_) return;
  trimWindow();
  resumeIfDrained();
}

void Fill::closeCursor(std::uint64_t id) {
  cursors_.erase(id);
  if (!spilled_) return;
  if (cursors_.empty() && state_ == FillState::Streaming && !verified_) {
    // Nothing will be cached, so nobody needs the rest.
    fail(FillFailure::NoSpace, "store full and every reader left");
    return;
  }
  trimWindow();
  resumeIfDrained();
}

// ENOSPC/EDQUOT creating or writing the temp file. `hashedBatch` is the batch
// whose write failed: already hashed, not (or not wholly) on disk. Situations:
// no temp file at all (written_ == 0, readFd_ == -1); no reader left (give
// up); content that only a check of the complete file can accept (give up:
// it could never be released).
void Fill::spill(int err, std::string hashedBatch) {
  store_.noteNoSpace();  // the App runs an eviction pass
  const std::string why = std::string("store full (") + std::strerror(err) + ")";
  if (options_.check) {
    fail(FillFailure::NoSpace, why + ": content cannot be checked without its temp file");
    return;
  }
  if (cursors_.empty()) {
    fail(FillFailure::NoSpace, why + " and no reader");
    return;
  }
  spilled_ = true;
  diskBytes_ = written_;
  windowStart_ = written_;
  hashed_ = written_ + hashedBatch.size();
  if (auto fn = std::exchange(onPassThrough_, nullptr)) fn(*this);
  if (temp_) {
    // The name and the writer's descriptor go now; fd() keeps the bytes
    // already written readable (their blocks are freed when the fill ends).
    BlobStore* store = &store_;
    auto temp = std::make_shared<TempFile>(std::move(*temp_));
    temp_.reset();
    runOffLoop(
        loop_, [store, temp] { store->discard(std::move(*temp)); }, [] {})
        .release();
  }
  if (options_.warn) {
    options_.warn(why + " filling " + digest_.str() + " at byte " + std::to_string(written_) +
                  ": passing it through uncached");
  }
  if (!hashedBatch.empty())
    window_.push_back({written_, std::make_shared<std::string>(std::move(hashedBatch))});
  appendWindow(pending_);
  pending_ = std::string();
  spare_ = std::string();
  trimWindow();
  notify(FillEvent::Progress);  // readers holding the head until verification stop holding
  if (state_ != FillState::Streaming) return;
  resumeIfDrained();
  pump();
}

// Appends the last bytes received (received_ already counts them).
void Fill::appendWindow(std::string_view bytes) {
  if (bytes.empty()) return;
  // The last chunk may grow while the hasher has not taken it.
  if (!unhashed_.empty() && !window_.empty() && window_.back().bytes == unhashed_.back() &&
      window_.back().bytes->size() + bytes.size() <= kChunkBytes) {
    window_.back().bytes->append(bytes);
    return;
  }
  auto chunk = std::make_shared<std::string>(bytes);
  window_.push_back({received_ - bytes.size(), chunk});
  unhashed_.push_back(std::move(chunk));
}

// Hashes what arrived since the last job, one job at a time (hasher_ is the
// job's while it runs). The job shares the chunks, so readers may drop them
// from the window meanwhile.
void Fill::hashWindow() {
  if (unhashed_.empty()) {
    if (inputDone_) finalizePassThrough();
    return;
  }
  writing_ = true;
  auto chunks = std::make_shared<std::vector<std::shared_ptr<std::string>>>(std::move(unhashed_));
  unhashed_.clear();
  auto self = shared_from_this();
  Hasher* hasher = &hasher_;
  runOffLoop(
      loop_,
      [chunks, hasher] {
        for (const auto& c : *chunks) hasher->update(c->data(), c->size());
      },
      [self, chunks] {
        self->writing_ = false;
        if (self->state_ != FillState::Streaming) return;
        for (const auto& c : *chunks) self->hashed_ += c->size();
        self->resumeIfDrained();
        self->pump();
      })
      .release();
}

// Everything arrived and is hashed. Verified bytes reach the readers; the
// fill still ends Failed (NoSpace): nothing was committed.
void Fill::finalizePassThrough() {
  if (size_ && received_ != *size_) {
    fail(FillFailure::UpstreamError, "upstream body shorter than announced");
    return;
  }
  std::string hex = hasher_.finishHex();
  if (!options_.digestUnknown && hex != digest_.hex) {
    fail(FillFailure::DigestMismatch, "content does not match digest " + digest_.str());
    return;
  }
  digest_.hex = std::move(hex);
  verified_ = true;
  notify(FillEvent::Progress);
  if (state_ != FillState::Streaming) return;
  failure_ = FillFailure::NoSpace;
  failureMessage_ = "store full: passed through, not cached";
  finish(FillState::Failed);
}

// Drops the memory every cursor has passed.
void Fill::trimWindow() {
  std::uint64_t keep = received_;
  for (const auto& [id, offset] : cursors_) keep = std::min(keep, offset);
  while (!window_.empty() && window_.front().start + window_.front().bytes->size() <= keep) {
    window_.pop_front();
  }
  // Exact, not the first chunk's start: a reader waiting for the withheld
  // last byte must not keep the producer paused for the rest of its chunk.
  // Cursors still in the file do not count as memory.
  windowStart_ = std::max(keep, diskBytes_);
}

void Fill::resumeIfDrained() {
  if (!paused_ || state_ != FillState::Streaming || memoryBytes() >= options_.lowWatermark) return;
  paused_ = false;
  if (resumer_) resumer_();
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
  fill->setOnPassThrough([this, key](Fill& f) {
    auto it = fills_.find(key);
    if (it == fills_.end() || it->second.get() != &f) return;
    passThrough_.emplace(&f, std::move(it->second));
    fills_.erase(it);
  });
  fill->setOnFinished([this, key](Fill& f) {
    if (f.state() == FillState::Done) ++commits_;
    auto it = fills_.find(key);
    if (it != fills_.end() && it->second.get() == &f) fills_.erase(it);
    passThrough_.erase(&f);  // finish() holds a reference meanwhile
  });
}

void FillRegistry::cancelAll() {
  auto fills = std::move(fills_);
  fills_.clear();
  auto passThrough = std::move(passThrough_);
  passThrough_.clear();
  for (auto& [key, fill] : fills) fill->fail(FillFailure::Cancelled, "shutting down");
  for (auto& [ptr, fill] : passThrough) fill->fail(FillFailure::Cancelled, "shutting down");
}

FillCursor::FillCursor(FillCursor&& other) noexcept
    : fill_(std::move(other.fill_)), id_(std::exchange(other.id_, 0)) {}

FillCursor& FillCursor::operator=(FillCursor&& other) noexcept {
  if (this != &other) {
    close();
    fill_ = std::move(other.fill_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void FillCursor::advance(std::uint64_t offset) {
  if (id_ == 0) return;
  if (auto fill = fill_.lock()) fill->moveCursor(id_, offset);
}

void FillCursor::close() {
  if (id_ == 0) return;
  const auto id = std::exchange(id_, 0);
  if (auto fill = fill_.lock()) fill->closeCursor(id);
  fill_.reset();
}

}  // namespace hoard
