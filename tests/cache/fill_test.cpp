#include "cache/fill.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
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
