#include "cache/fill.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "cache/digest.h"
#include "store_test_util.h"

using namespace hoard;

namespace {

struct Harness {
  test::TempDir dir;
  uv_loop_t loop{};
  BlobStorePtr store;
  ClockPtr clock = std::make_shared<ManualClock>();

  Harness() {
    uv_loop_init(&loop);
    auto s = openBlobStore(dir.path(), makeMemoryIndex(), clock);
    REQUIRE(s);
    store = std::move(*s);
    REQUIRE(store->recover());
  }
  ~Harness() {
    uv_run(&loop, UV_RUN_DEFAULT);  // let off-loop cleanups finish
    uv_loop_close(&loop);
  }

  // Turns the loop until pred holds; fails the test after 10 s of wall time
  // (a hang, not a timing assertion).
  template <class Pred>
  void runUntil(Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred()) {
      uv_run(&loop, UV_RUN_NOWAIT);
      if (std::chrono::steady_clock::now() > deadline) FAIL("condition not reached in 10 s");
    }
  }

  FillPtr makeFill(const std::string& content, Fill::Options opts = {}) {
    Digest d{DigestAlgorithm::Sha256, sha256Hex(content)};
    return std::make_shared<Fill>(&loop, *store, clock, d, opts);
  }

  std::size_t tmpFiles() const {
    std::size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir.path() + "/tmp")) {
      (void)e;
      ++n;
    }
    return n;
  }
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) % 251);
  return s;
}

}  // namespace

TEST_CASE("a fill streams, withholds the last byte until verified, then commits") {
  Harness h;
  auto content = pattern(300000);
  auto fill = h.makeFill(content);
  std::vector<FillEvent> events;
  auto sub = fill->subscribe([&](FillEvent e) { events.push_back(e); });

  fill->setHead(content.size(), "application/octet-stream");
  REQUIRE(fill->state() == FillState::Streaming);
  CHECK(fill->write(std::string_view(content).substr(0, 100000)) == FillWrite::Accepted);
  h.runUntil([&] { return fill->available() >= 99999; });
  CHECK(fill->available() == 99999);  // last written byte withheld
  CHECK(test::readFd(fill->fd()).substr(0, 99999) == content.substr(0, 99999));

  fill->write(std::string_view(content).substr(100000));
  h.runUntil([&] { return fill->available() == content.size() - 1; });
  CHECK(fill->state() == FillState::Streaming);  // input not finished: nothing verified yet

  fill->finishInput();
  h.runUntil([&] { return fill->state() == FillState::Done; });
  CHECK(fill->available() == content.size());
  CHECK(events.front() == FillEvent::Head);
  CHECK(events.back() == FillEvent::Done);
  // The reader's fd survives the rename into place.
  CHECK(test::readFd(fill->fd()) == content);

  auto opened = h.store->open(fill->digest());
  REQUIRE(opened);
  CHECK(opened->meta.size == content.size());
  CHECK(test::readFd(opened->fd) == content);
  ::close(opened->fd);
  CHECK(h.tmpFiles() == 0);
}

TEST_CASE("bytes that do not match the digest are never committed") {
  Harness h;
  auto content = pattern(5000);
  auto fill = h.makeFill(content);
  bool failed = false;
  auto sub = fill->subscribe([&](FillEvent e) { failed = failed || e == FillEvent::Failed; });
  auto wrong = content;
  wrong[1234] ^= 1;
  fill->setHead(wrong.size(), "");
  fill->write(wrong);
  fill->finishInput();
  h.runUntil([&] { return fill->state() == FillState::Failed; });
  CHECK(failed);
  CHECK(fill->failure() == FillFailure::DigestMismatch);
  CHECK(fill->available() < wrong.size());  // the whole body was never released
  CHECK_FALSE(h.store->open(fill->digest()));
  fill.reset();
  h.runUntil([&] { return h.tmpFiles() == 0; });
}

TEST_CASE("an upstream sending more or fewer bytes than announced fails the fill") {
  Harness h;
  auto content = pattern(1000);
  SECTION("more") {
    auto fill = h.makeFill(content);
    fill->setHead(999, "");
    fill->write(content);
    CHECK(fill->state() == FillState::Failed);
    CHECK(fill->failure() == FillFailure::SizeMismatch);
  }
  SECTION("fewer") {
    auto fill = h.makeFill(content);
    fill->setHead(1001, "");
    fill->write(content);
    fill->finishInput();
    h.runUntil([&] { return fill->state() == FillState::Failed; });
    CHECK_FALSE(h.store->open(fill->digest()));
  }
}

TEST_CASE("an unknown length is fine; the digest decides") {
  Harness h;
  auto content = pattern(70000);
  auto fill = h.makeFill(content);
  fill->setHead(std::nullopt, "");
  fill->write(content);
  fill->finishInput();
  h.runUntil([&] { return fill->state() == FillState::Done; });
  CHECK(fill->available() == content.size());
}

TEST_CASE("a producer faster than the disk is paused and resumed") {
  Harness h;
  auto content = pattern(64 * 1024);
  Fill::Options opts;
  opts.highWatermark = 1024;
  opts.lowWatermark = 512;
  auto fill = h.makeFill(content, opts);
  int resumes = 0;
  fill->setResumer([&] { ++resumes; });
  fill->setHead(content.size(), "");
  std::size_t off = 0;
  int pauses = 0;
  while (off < content.size()) {
    auto chunk = std::string_view(content).substr(off, 700);
    if (fill->write(chunk) == FillWrite::Pause) {
      ++pauses;
      int before = resumes;
      h.runUntil([&] { return resumes > before; });
      continue;  // a paused chunk was not consumed: deliver it again
    }
    off += chunk.size();
  }
  fill->finishInput();
  h.runUntil([&] { return fill->state() == FillState::Done; });
  CHECK(pauses > 0);
  CHECK(resumes == pauses);
  CHECK(test::readFd(fill->fd()) == content);
}

TEST_CASE("the registry coalesces by key and forgets finished fills") {
  Harness h;
  auto content = pattern(10);
  FillRegistry reg;
  auto fill = h.makeFill(content);
  reg.add("k", fill);
  CHECK(reg.find("k") == fill);
  fill->setHead(content.size(), "");
  fill->write(content);
  fill->finishInput();
  h.runUntil([&] { return fill->state() == FillState::Done; });
  CHECK(reg.find("k") == nullptr);

  auto other = h.makeFill(content);
  reg.add("k2", other);
  reg.cancelAll();
  CHECK(other->state() == FillState::Failed);
  CHECK(reg.size() == 0);
}

TEST_CASE("content without a known digest: the check decides, the computed digest is committed") {
  Harness h;
  auto content = pattern(50000);
  Digest expected{DigestAlgorithm::Sha256, sha256Hex(content)};
  std::optional<Digest> committed;
  Fill::Options opts;
  opts.digestUnknown = true;
  opts.check = [&content](int fd, std::uint64_t size) -> std::expected<void, std::string> {
    // The check sees the complete temp file.
    if (size != content.size()) return std::unexpected("size");
    std::string back(size, '\0');
    if (::pread(fd, back.data(), size, 0) != static_cast<ssize_t>(size))
      return std::unexpected("read");
    if (back != content) return std::unexpected("bytes");
    return {};
  };
  opts.afterCommit = [&committed](const Digest& d) { committed = d; };
  auto fill =
      std::make_shared<Fill>(&h.loop, *h.store, h.clock, Digest{DigestAlgorithm::Sha256, ""}, opts);
  fill->setHead(std::nullopt, "application/zip");
  fill->write(content);
  fill->finishInput();
  h.runUntil(
      [&] { return fill->state() == FillState::Done || fill->state() == FillState::Failed; });
  REQUIRE(fill->state() == FillState::Done);
  CHECK(fill->digest() == expected);
  REQUIRE(committed);
  CHECK(*committed == expected);
  CHECK(h.store->open(expected));
}

TEST_CASE("content without a known digest whose check fails is never committed") {
  Harness h;
  auto content = pattern(50000);
  bool afterCommitRan = false;
  Fill::Options opts;
  opts.digestUnknown = true;
  opts.check = [](int, std::uint64_t) -> std::expected<void, std::string> {
    return std::unexpected("h1 mismatch");
  };
  opts.afterCommit = [&](const Digest&) { afterCommitRan = true; };
  auto fill =
      std::make_shared<Fill>(&h.loop, *h.store, h.clock, Digest{DigestAlgorithm::Sha256, ""}, opts);
  fill->setHead(content.size(), "application/zip");
  fill->write(content);
  fill->finishInput();
  h.runUntil(
      [&] { return fill->state() == FillState::Failed || fill->state() == FillState::Done; });
  CHECK(fill->state() == FillState::Failed);
  CHECK(fill->failure() == FillFailure::DigestMismatch);
  CHECK(fill->failureMessage() == "content check failed: h1 mismatch");
  CHECK(fill->available() < content.size());  // the last byte never reached a reader
  CHECK_FALSE(afterCommitRan);
  CHECK_FALSE(h.store->open(Digest{DigestAlgorithm::Sha256, sha256Hex(content)}));
  h.runUntil([&] { return h.tmpFiles() == 0; });
}

// ---------------------------------------------------------------------------
// Store full (ENOSPC): pass-through.
// ---------------------------------------------------------------------------

namespace {

// A temp-file writer for a disk with `left` bytes free: writes what fits,
// then fails like write(2) on a full file system.
struct SmallDisk {
  std::atomic<std::uint64_t> left;
  std::atomic<int> failures{0};
  explicit SmallDisk(std::uint64_t bytes) : left(bytes) {}

  std::function<int(int, std::string_view)> writer() {
    return [this](int fd, std::string_view data) {
      const std::uint64_t fits = std::min<std::uint64_t>(left.load(), data.size());
      if (fits > 0 && !test::writeAll(fd, data.substr(0, fits))) return EIO;
      left -= fits;
      if (fits < data.size()) {
        ++failures;
        return ENOSPC;
      }
      return 0;
    };
  }
};

// A client of the fill, doing what daemon/blob_response.cpp does: file ranges
// while the bytes are on disk, memory copies after, its cursor following.
struct Reader {
  FillPtr fill;
  FillCursor cursor;
  CancelHandle events;
  std::string got;
  bool eager = true;  // reads on every event; otherwise only when pull() is called
  bool sawFailed = false;

  explicit Reader(FillPtr f) : fill(std::move(f)), cursor(fill->openCursor(0)) {
    events = fill->subscribe([this](FillEvent e) {
      if (e == FillEvent::Failed) sawFailed = true;
      if (eager) pull(UINT64_MAX);
    });
  }

  // Reads up to `budget` bytes (file or memory) at its offset.
  void pull(std::uint64_t budget) {
    while (budget > 0 && got.size() < fill->available()) {
      const std::uint64_t at = got.size();
      auto slice = fill->read(at, budget);
      if (slice.fileLength > 0) {
        const auto n = std::min(slice.fileLength, budget);
        std::string buf(n, '\0');
        REQUIRE(::pread(fill->fd(), buf.data(), n, static_cast<off_t>(at)) ==
                static_cast<ssize_t>(n));
        got += buf;
        budget -= n;
      } else {
        REQUIRE_FALSE(slice.memory.empty());  // never dropped under our cursor
        got.append(slice.memory);
        budget -= slice.memory.size();
      }
      cursor.advance(got.size());
    }
  }
};

// Feeds `content` in chunks, honouring Pause (a paused chunk is delivered
// again after the resumer ran), then finishes the input. Tracks the largest
// memory window seen.
struct Producer {
  Harness& h;
  FillPtr fill;
  std::size_t chunk;
  int resumes = 0;
  int pauses = 0;
  std::uint64_t maxMemory = 0;
  std::function<void()> whilePaused;  // e.g. let a slow reader catch up

  Producer(Harness& harness, FillPtr f, std::size_t chunkSize)
      : h(harness), fill(std::move(f)), chunk(chunkSize) {
    fill->setResumer([this] { ++resumes; });
  }

  void run(const std::string& content) {
    std::size_t off = 0;
    while (off < content.size() && fill->state() == FillState::Streaming) {
      auto piece = std::string_view(content).substr(off, chunk);
      if (fill->write(piece) == FillWrite::Pause) {
        ++pauses;
        const int before = resumes;
        h.runUntil([&] {
          if (whilePaused) whilePaused();
          return resumes > before || fill->state() != FillState::Streaming;
        });
        continue;
      }
      off += piece.size();
      maxMemory = std::max(maxMemory, fill->memoryBytes());
      uv_run(&h.loop, UV_RUN_NOWAIT);
    }
    fill->finishInput();
  }
};

bool finished(const FillPtr& f) {
  return f->state() == FillState::Done || f->state() == FillState::Failed;
}

}  // namespace

TEST_CASE("a full store mid-fill: every reader gets every byte, nothing is committed") {
  Harness h;
  auto content = pattern(1'000'000);
  SmallDisk disk(300'000);
  Fill::Options opts;
  opts.highWatermark = 64 * 1024;
  opts.lowWatermark = 16 * 1024;
  opts.writeTemp = disk.writer();
  std::vector<std::string> warnings;
  opts.warn = [&](std::string_view m) { warnings.emplace_back(m); };
  auto fill = h.makeFill(content, opts);
  FillRegistry reg;
  reg.add("k", fill);

  Reader a(fill);
  Reader b(fill);
  fill->setHead(content.size(), "application/octet-stream");
  Producer producer(h, fill, 7000);
  producer.run(content);
  h.runUntil([&] { return finished(fill); });

  CHECK(disk.failures > 0);
  CHECK(h.store->takeNoSpace());  // an eviction pass is asked for
  CHECK(fill->passThrough());
  CHECK(fill->diskBytes() > 0);
  CHECK(fill->diskBytes() < content.size());
  CHECK(fill->state() == FillState::Failed);
  CHECK(fill->failure() == FillFailure::NoSpace);
  CHECK(fill->verified());
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("passing it through") != std::string::npos);
  // The whole body, verified, reached both readers.
  CHECK(a.got == content);
  CHECK(b.got == content);
  // Memory stayed bounded (see Fill::memoryBytes()).
  CHECK(producer.maxMemory <= 2 * (opts.highWatermark + 7000));
  // Nothing committed, the temp file is gone, the registry forgot the fill.
  CHECK_FALSE(h.store->open(fill->digest()));
  CHECK(h.store->totalBytes() == 0);
  CHECK(reg.find("k") == nullptr);
  CHECK(reg.size() == 0);
  CHECK(reg.commits() == 0);
  a.cursor.close();
  b.cursor.close();
  fill.reset();
  producer.fill.reset();
  a.fill.reset();
  b.fill.reset();
  h.runUntil([&] { return h.tmpFiles() == 0; });
}

TEST_CASE("a pass-through fill leaves the registry's lookup at once") {
  Harness h;
  auto content = pattern(200'000);
  SmallDisk disk(0);  // full from the first byte: nothing on disk at all
  Fill::Options opts;
  opts.writeTemp = disk.writer();
  auto fill = h.makeFill(content, opts);
  FillRegistry reg;
  reg.add("k", fill);
  Reader r(fill);
  fill->setHead(content.size(), "");
  fill->write(std::string_view(content).substr(0, 50'000));
  h.runUntil([&] { return fill->passThrough(); });
  CHECK(fill->diskBytes() == 0);
  CHECK(reg.find("k") == nullptr);                // a new request starts its own fill
  CHECK(reg.size() == 1);                         // still counted, still cancellable
  CHECK(r.got == content.substr(0, 50'000 - 1));  // from memory, last byte withheld
  reg.cancelAll();
  CHECK(fill->state() == FillState::Failed);
  CHECK(fill->failure() == FillFailure::Cancelled);
  CHECK(r.sawFailed);
  CHECK(reg.size() == 0);
}

TEST_CASE("a slow pass-through reader paces the fill; memory stays bounded") {
  Harness h;
  auto content = pattern(600'000);
  SmallDisk disk(100'000);
  Fill::Options opts;
  opts.highWatermark = 32 * 1024;
  opts.lowWatermark = 8 * 1024;
  opts.writeTemp = disk.writer();
  auto fill = h.makeFill(content, opts);
  Reader fast(fill);
  Reader slow(fill);
  slow.eager = false;
  fill->setHead(content.size(), "");
  Producer producer(h, fill, 4096);
  std::uint64_t slowSteps = 0;
  // The slow client takes 5000 bytes each time the producer waits.
  producer.whilePaused = [&] {
    if (slow.got.size() < fill->available()) {
      slow.pull(5000);
      ++slowSteps;
    }
  };
  producer.run(content);
  h.runUntil([&] {
    slow.pull(5000);
    return finished(fill);
  });
  slow.pull(UINT64_MAX);

  CHECK(fill->passThrough());
  CHECK(producer.pauses > 0);
  CHECK(producer.resumes == producer.pauses);
  CHECK(slowSteps > 0);
  CHECK(producer.maxMemory <= 2 * (opts.highWatermark + 4096));
  CHECK(fill->failure() == FillFailure::NoSpace);
  CHECK(fast.got == content);
  CHECK(slow.got == content);
}

TEST_CASE("pass-through bytes that do not match the digest never make a complete body") {
  Harness h;
  auto content = pattern(400'000);
  auto wrong = content;
  wrong[350'000] ^= 1;  // in the part that only ever lives in memory
  SmallDisk disk(100'000);
  Fill::Options opts;
  opts.writeTemp = disk.writer();
  auto fill = h.makeFill(content, opts);
  Reader r(fill);
  fill->setHead(wrong.size(), "");
  Producer producer(h, fill, 10'000);
  producer.run(wrong);
  h.runUntil([&] { return finished(fill); });
  CHECK(fill->passThrough());
  CHECK(fill->state() == FillState::Failed);
  CHECK(fill->failure() == FillFailure::DigestMismatch);
  CHECK_FALSE(fill->verified());
  CHECK(r.sawFailed);
  CHECK(r.got.size() < wrong.size());  // the last byte never reached the reader
  CHECK(fill->available() < wrong.size());
  CHECK(fill->memoryBytes() == 0);  // the window was freed
  CHECK_FALSE(h.store->open(fill->digest()));
}

TEST_CASE("a pass-through fill gives up when its last reader leaves") {
  Harness h;
  auto content = pattern(300'000);
  SmallDisk disk(50'000);
  Fill::Options opts;
  opts.writeTemp = disk.writer();
  auto fill = h.makeFill(content, opts);
  bool producerCancelled = false;
  fill->setProducer(CancelHandle([&] { producerCancelled = true; }));
  auto reader = std::make_unique<Reader>(fill);
  fill->setHead(content.size(), "");
  fill->write(std::string_view(content).substr(0, 120'000));
  h.runUntil([&] { return fill->passThrough(); });
  CHECK(fill->state() == FillState::Streaming);
  CHECK_FALSE(producerCancelled);
  reader.reset();  // the client went away: nobody needs the rest
  CHECK(fill->state() == FillState::Failed);
  CHECK(fill->failure() == FillFailure::NoSpace);
  CHECK(producerCancelled);
}

TEST_CASE("a full store before any reader or with a content check fails the fill") {
  Harness h;
  auto content = pattern(100'000);
  SmallDisk disk(10'000);
  Fill::Options opts;
  opts.writeTemp = disk.writer();
  SECTION("no reader: nothing to pass through") {
    auto fill = h.makeFill(content, opts);
    fill->setHead(content.size(), "");
    fill->write(content);
    h.runUntil([&] { return finished(fill); });
    CHECK(fill->failure() == FillFailure::NoSpace);
    CHECK_FALSE(fill->verified());
  }
  SECTION("a check that needs the complete temp file") {
    opts.digestUnknown = true;
    bool checked = false;
    opts.check = [&](int, std::uint64_t) -> std::expected<void, std::string> {
      checked = true;
      return {};
    };
    auto fill = std::make_shared<Fill>(&h.loop, *h.store, h.clock,
                                       Digest{DigestAlgorithm::Sha256, ""}, opts);
    Reader r(fill);
    fill->setHead(content.size(), "application/zip");
    fill->write(content);
    h.runUntil([&] { return finished(fill); });
    CHECK(fill->failure() == FillFailure::NoSpace);
    CHECK_FALSE(fill->verified());
    CHECK_FALSE(checked);
    CHECK(r.sawFailed);
    CHECK(r.got.size() < content.size());
  }
}

TEST_CASE("a pinned fill commits a pinned blob") {
  Harness h;
  auto content = pattern(1000);
  Fill::Options opts;
  opts.pinned = true;
  auto fill = h.makeFill(content, opts);
  fill->setHead(content.size(), "");
  fill->write(content);
  fill->finishInput();
  h.runUntil([&] { return finished(fill); });
  REQUIRE(fill->state() == FillState::Done);
  auto opened = h.store->open(fill->digest());
  REQUIRE(opened);
  CHECK(opened->meta.pinned);
  ::close(opened->fd);
}
