#pragma once
// A Fill streams one upstream object into the store while any number of
// clients read it at their own pace (read-while-write).
//
// The producer (an upstream transfer) pushes bytes with write(); a worker on
// the thread pool appends them to a temp file and hashes them incrementally.
// Readers send ranges of the temp file (sendfile) up to available(), woken by
// events, never by polling. Because readers share the file, a slow reader
// never slows the fill or other readers, and N readers cost one upstream
// transfer.
//
// Correct or nothing: the last byte is withheld from readers until the digest
// has been verified and the blob committed, so no client ever receives a
// complete-looking body whose bytes do not match the digest. On mismatch,
// upstream failure or I/O error every reader is told to cut its response off
// and the temp file is discarded; nothing is indexed.
//
// Store full (ENOSPC/EDQUOT creating or writing the temp file): the fill
// tells the store (BlobStore::noteNoSpace(), which triggers an eviction pass)
// and goes pass-through instead of failing its readers. Bytes already in the
// temp file stay readable through fd(); later bytes are kept in a bounded
// memory window that readers copy from (read()). A reader's FillCursor says
// how far it has got; the window keeps bytes until every cursor has passed
// them, and the producer is paused while the window holds highWatermark
// bytes (see memoryBytes()). So in this mode the slowest reader paces the
// fill (and every other reader of it): the price of bounded memory. The
// digest is still computed and the last byte still withheld until it
// matches; nothing is committed. A pass-through fill leaves the registry's
// lookup (a new request could not get its early bytes), and gives up when
// its last reader leaves. Content only a check of the complete file can
// accept (Options::check) cannot pass through: that fill fails.
//
// Must survive: readers joining at any point (before the head, mid-body, after
// commit); readers leaving at any point (the fill carries on: the next client
// gets a hit); a producer faster than the disk (write() answers Pause, and the
// producer's resumer is called when the backlog drains); upstreams without
// Content-Length; bodies longer or shorter than announced; the disk filling
// up before the temp file is created, mid-body, or at commit.
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/blob_store.h"
#include "cache/cancel.h"
#include "cache/clock.h"
#include "cache/digest.h"

namespace hoard {

enum class FillState { Waiting, Streaming, Committing, Done, Failed };
enum class FillFailure {
  None,
  UpstreamStatus,  // upstream answered non-200 before any byte (see failureStatus())
  UpstreamError,   // transport error, timeout, or the upstream cut the body
  DigestMismatch,
  SizeMismatch,
  Io,
  NoSpace,  // pass-through (store full): never committed, possibly verified
  Cancelled,
};
enum class FillEvent { Head, Progress, Done, Failed };
enum class FillWrite { Accepted, Pause };

class Fill;

// A reader's position in a fill. Only matters once the fill is pass-through:
// memory the reader may still need is kept until its cursor has moved past
// it. Move the cursor to UINT64_MAX (or destroy it) when the reader needs no
// more bytes. Loop thread only; harmless after the fill is gone.
class FillCursor {
 public:
  FillCursor() = default;
  FillCursor(FillCursor&& other) noexcept;
  // Closing may allocate (a failure message when the last reader of a
  // spilled fill leaves); only std::bad_alloc can escape, and terminating on
  // it is the right outcome for a destructor or move.
  // NOLINTNEXTLINE(bugprone-exception-escape)
  FillCursor& operator=(FillCursor&& other) noexcept;
  FillCursor(const FillCursor&) = delete;
  FillCursor& operator=(const FillCursor&) = delete;
  // NOLINTNEXTLINE(bugprone-exception-escape)
  ~FillCursor() { close(); }

  void advance(std::uint64_t offset);
  void close();

 private:
  friend class Fill;
  FillCursor(std::weak_ptr<Fill> fill, std::uint64_t id) : fill_(std::move(fill)), id_(id) {}
  std::weak_ptr<Fill> fill_;
  std::uint64_t id_ = 0;
};

class Fill : public std::enable_shared_from_this<Fill> {
 public:
  struct Options {
    // Pause the producer above this backlog, resume it below lowWatermark.
    // Small on purpose: the backlog is also the batch one worker job hashes
    // and writes, and a batch that stays in the CPU cache between the copy
    // out of the socket, the hash and the write costs about a third less
    // CPU than an 8 MiB one (a cold 512 MiB pull over loopback on the
    // bench machine: 1.5 -> 1.05 CPU-s, 1.6 -> 1.1 s wall). It also bounds
    // how long libcurl reads a fast upstream in one go before the loop sends
    // the first byte on (time to first byte).
    std::uint64_t highWatermark = 1024 * 1024;
    std::uint64_t lowWatermark = 256 * 1024;
    std::uint64_t maxSize = 0;  // 0 = unlimited
    // Content not addressed by a digest known in advance (a Go module zip,
    // checked against the checksum database's h1: of its files): `digest`
    // then gives only the algorithm, the computed digest is taken, and
    // `check` decides instead of a digest match. It runs on the thread pool
    // with the complete temp file; an error fails the fill exactly like a
    // digest mismatch (last byte withheld, nothing committed).
    bool digestUnknown = false;
    std::function<std::expected<void, std::string>(int fd, std::uint64_t size)> check;
    // Runs on the thread pool right after a successful commit, with the
    // committed digest (e.g. to point a ref at it). It runs even when every
    // reader has left.
    std::function<void(const Digest&)> afterCommit;
    // Recorded at commit (BlobMeta::pinned): fetched under a pinned name.
    bool pinned = false;
    // Degraded-mode messages (store full); the daemon logs them at warn.
    std::function<void(std::string_view)> warn;
    // Writes all of `data` to the temp file; 0 or an errno. Runs on the thread
    // pool. Null: write(2). A seam for tests (a disk that fills up).
    std::function<int(int fd, std::string_view data)> writeTemp;
  };

  Fill(uv_loop_t* loop, BlobStore& store, ClockPtr clock, Digest digest, Options options);
  ~Fill();
  Fill(const Fill&) = delete;
  Fill& operator=(const Fill&) = delete;

  // Producer side (loop thread).
  void setProducer(CancelHandle producer) { producer_ = std::move(producer); }
  void setResumer(std::function<void()> resume) { resumer_ = std::move(resume); }
  void setHead(std::optional<std::uint64_t> size, std::string mediaType);
  FillWrite write(std::string_view chunk);
  void finishInput();
  void fail(FillFailure why, std::string message, int upstreamStatus = 0);

  // Reader side (loop thread). Events are never delivered from inside subscribe().
  CancelHandle subscribe(std::function<void(FillEvent)> listener);
  FillState state() const { return state_; }
  // With Options::digestUnknown, only final once verified().
  const Digest& digest() const { return digest_; }
  std::optional<std::uint64_t> size() const { return size_; }
  const std::string& mediaType() const { return mediaType_; }
  // Bytes readers may send now: everything written, minus the withheld last
  // byte until the digest is verified.
  std::uint64_t available() const;
  // The temp file, valid for reading for the fill's whole life (it survives
  // the rename on commit). -1 if the store was full before it was created.
  int fd() const { return readFd_; }

  // Where the bytes at `offset` (< available()) are: a range of fd(), or
  // (pass-through) bytes in memory, valid until the fill is next called. At
  // most `maxMemory` memory bytes; a file range covers everything on disk up
  // to available(). Empty if the bytes are gone (no cursor held them).
  struct Slice {
    std::uint64_t fileLength = 0;  // > 0: [offset, offset + fileLength) of fd()
    std::string_view memory;
  };
  Slice read(std::uint64_t offset, std::uint64_t maxMemory) const;
  // A reader at `offset` (see FillCursor).
  FillCursor openCursor(std::uint64_t offset);
  // The store filled up: nothing will be committed; bytes past diskBytes()
  // come from memory.
  bool passThrough() const { return spilled_; }
  std::uint64_t diskBytes() const { return spilled_ ? diskBytes_ : written_; }
  // Bytes some pass-through reader still needs, or not hashed yet. write()
  // pauses the producer at Options::highWatermark; the switch itself may
  // bring up to twice that (the batch that hit the full disk plus the backlog
  // behind it). What is allocated exceeds this by at most one chunk (the
  // piece the slowest cursor is in).
  std::uint64_t memoryBytes() const;
  // Every byte is written and matches the digest (the commit may still be
  // running, or have failed: the bytes are right either way).
  bool verified() const { return verified_; }
  FillFailure failure() const { return failure_; }
  int failureStatus() const { return failureStatus_; }
  const std::string& failureMessage() const { return failureMessage_; }

  // Called once when the fill reaches Done or Failed (the registry unlinks it).
  void setOnFinished(std::function<void(Fill&)> fn) { onFinished_ = std::move(fn); }
  // Called once if the fill goes pass-through (the registry stops offering it).
  void setOnPassThrough(std::function<void(Fill&)> fn) { onPassThrough_ = std::move(fn); }

 private:
  void ensureTemp();
  void pump();
  void finalize();
  void notify(FillEvent event);
  void finish(FillState state);
  // Pass-through.
  void spill(int err, std::string hashedBatch);
  void appendWindow(std::string_view bytes);
  void hashWindow();
  void finalizePassThrough();
  void trimWindow();
  void resumeIfDrained();
  void moveCursor(std::uint64_t id, std::uint64_t offset);
  void closeCursor(std::uint64_t id);
  friend class FillCursor;

  uv_loop_t* loop_;
  BlobStore& store_;
  ClockPtr clock_;
  Digest digest_;
  Options options_;

  FillState state_ = FillState::Waiting;
  std::optional<std::uint64_t> size_;
  std::string mediaType_;
  FillFailure failure_ = FillFailure::None;
  int failureStatus_ = 0;
  std::string failureMessage_;

  // Written by at most one worker job at a time; the job owns them while it runs.
  std::optional<TempFile> temp_;
  int readFd_ = -1;
  Hasher hasher_;
  bool creatingTemp_ = false;
  bool writing_ = false;
  bool inputDone_ = false;
  bool paused_ = false;
  bool verified_ = false;
  std::string pending_;
  std::string spare_;  // the last written batch, kept for its capacity
  std::uint64_t received_ = 0;
  std::uint64_t written_ = 0;

  // Pass-through state. The window holds bytes [windowStart_, received_) in
  // chunks shared with the hashing job; unhashed_ lists those not yet handed
  // to it (the last one may still grow).
  struct Chunk {
    std::uint64_t start = 0;
    std::shared_ptr<std::string> bytes;
  };
  bool spilled_ = false;
  std::uint64_t diskBytes_ = 0;
  std::uint64_t windowStart_ = 0;
  std::uint64_t hashed_ = 0;  // bytes hashed (pass-through only)
  std::deque<Chunk> window_;
  std::vector<std::shared_ptr<std::string>> unhashed_;
  std::map<std::uint64_t, std::uint64_t> cursors_;  // id -> offset
  std::uint64_t nextCursorId_ = 1;
  std::function<void(Fill&)> onPassThrough_;

  CancelHandle producer_;
  std::function<void()> resumer_;
  std::function<void(Fill&)> onFinished_;
  std::uint64_t nextListenerId_ = 1;
  std::map<std::uint64_t, std::function<void(FillEvent)>> listeners_;
};
using FillPtr = std::shared_ptr<Fill>;

// Coalescing: at most one fill per digest at a time.
class FillRegistry {
 public:
  FillPtr find(const std::string& key) const;
  // Registers `fill` under `key`; it is removed automatically when it finishes.
  void add(const std::string& key, const FillPtr& fill);
  void cancelAll();
  // Fills in progress, pass-through ones included.
  std::size_t size() const { return fills_.size() + passThrough_.size(); }
  // Counts fills that committed. A request that missed in the store can tell
  // whether a fill finished while it looked (and look again rather than
  // start a second upstream fetch).
  std::uint64_t commits() const { return commits_; }

 private:
  std::unordered_map<std::string, FillPtr> fills_;
  // Pass-through fills: no longer found, still cancelled by cancelAll().
  std::unordered_map<const Fill*, FillPtr> passThrough_;
  std::uint64_t commits_ = 0;
};

}  // namespace hoard
