#pragma once
// A Fill streams one upstream object into the store while any number of
// clients read it at their own pace (read-while-write).
//
// The producer (an upstream transfer) pushes bytes with write(); a worker on
// the thread pool appends them to a temp file and hashes them incrementally.
// Readers never see memory buffers: they send ranges of the temp file
// (sendfile) up to available(), woken by events, never by polling. Because
// readers share the file, a slow reader never slows the fill or other readers,
// and N readers cost one upstream transfer.
//
// Correct or nothing: the last byte is withheld from readers until the digest
// has been verified and the blob committed, so no client ever receives a
// complete-looking body whose bytes do not match the digest. On mismatch,
// upstream failure or I/O error every reader is told to cut its response off
// and the temp file is discarded; nothing is indexed.
//
// Must survive: readers joining at any point (before the head, mid-body, after
// commit); readers leaving at any point (the fill carries on: the next client
// gets a hit); a producer faster than the disk (write() answers Pause, and the
// producer's resumer is called when the backlog drains); upstreams without
// Content-Length; bodies longer or shorter than announced.
#include <uv.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

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
  Cancelled,
};
enum class FillEvent { Head, Progress, Done, Failed };
enum class FillWrite { Accepted, Pause };

class Fill : public std::enable_shared_from_this<Fill> {
 public:
  struct Options {
    std::uint64_t highWatermark = 8 * 1024 * 1024;  // pause the producer above this backlog
    std::uint64_t lowWatermark = 2 * 1024 * 1024;   // resume it below this
    std::uint64_t maxSize = 0;                      // 0 = unlimited
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
  // the rename on commit).
  int fd() const { return readFd_; }
  // Every byte is written and matches the digest (the commit may still be
  // running, or have failed: the bytes are right either way).
  bool verified() const { return verified_; }
  FillFailure failure() const { return failure_; }
  int failureStatus() const { return failureStatus_; }
  const std::string& failureMessage() const { return failureMessage_; }

  // Called once when the fill reaches Done or Failed (the registry unlinks it).
  void setOnFinished(std::function<void(Fill&)> fn) { onFinished_ = std::move(fn); }

 private:
  void ensureTemp();
  void pump();
  void finalize();
  void notify(FillEvent event);
  void finish(FillState state);

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
  std::size_t size() const { return fills_.size(); }
  // Counts fills that committed. A request that missed in the store can tell
  // whether a fill finished while it looked (and look again rather than
  // start a second upstream fetch).
  std::uint64_t commits() const { return commits_; }

 private:
  std::unordered_map<std::string, FillPtr> fills_;
  std::uint64_t commits_ = 0;
};

}  // namespace hoard
