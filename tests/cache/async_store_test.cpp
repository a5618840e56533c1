#include "cache/async_store.h"

#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "cache/store_test_util.h"

using hoard::AsyncStore;
using hoard::BlobMeta;
using hoard::Digest;
using hoard::OpenBlob;
using hoard::StoreError;

namespace {

struct Loop {
  uv_loop_t loop{};
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  void run() { uv_run(&loop, UV_RUN_DEFAULT); }
};

Digest put(hoard::BlobStore& store, std::string_view bytes, hoard::Millis accessMs) {
  auto tmp = store.createTemp();
  REQUIRE(tmp);
  REQUIRE(hoard::test::writeAll(tmp->fd, bytes));
  auto d = *Digest::parse("sha256:" + hoard::sha256Hex(bytes));
  REQUIRE(store.commit(std::move(*tmp), d, BlobMeta{bytes.size(), "t", accessMs, accessMs}));
  return d;
}

}  // namespace

TEST_CASE("AsyncStore: a blob open for serving is leased until closeFd, and eviction spares it") {
  Loop loop;
  hoard::test::TempDir dir;
  auto opened = hoard::openDiskBlobStore(dir.path());
  REQUIRE(opened);
  auto& store = **opened;
  REQUIRE(store.recover());
  AsyncStore async(&loop.loop, store);
  auto served = put(store, std::string(100, 's'), 1000);  // the oldest
  auto other = put(store, std::string(100, 'o'), 2000);

  int fd = -1;
  async
      .open(served, "t",
            [&](std::expected<OpenBlob, StoreError> r) {
              REQUIRE(r);
              fd = r->fd;
            })
      .release();
  loop.run();
  REQUIRE(fd >= 0);
  CHECK(store.isLeased(served.str()));
  CHECK(async.openCount() == 1);

  // Eviction to zero takes the unleased blob only.
  CHECK(*store.evictTo(0) == 100);
  CHECK(store.index().getBlob(served.str())->has_value());
  CHECK_FALSE(store.index().getBlob(other.str())->has_value());

  async.closeFd(fd);
  loop.run();
  CHECK_FALSE(store.isLeased(served.str()));
  CHECK(async.openCount() == 0);
  CHECK(*store.evictTo(0) == 100);
  CHECK_FALSE(std::filesystem::exists(store.pathFor(served)));
}

TEST_CASE("AsyncStore: a failed open leaves no lease and a cancelled open releases its lease") {
  Loop loop;
  hoard::test::TempDir dir;
  auto opened = hoard::openDiskBlobStore(dir.path());
  REQUIRE(opened);
  auto& store = **opened;
  REQUIRE(store.recover());
  AsyncStore async(&loop.loop, store);

  auto missing = *Digest::parse("sha256:" + hoard::sha256Hex("never stored"));
  bool called = false;
  async
      .open(missing, "t",
            [&](std::expected<OpenBlob, StoreError> r) {
              called = true;
              CHECK_FALSE(r);
            })
      .release();
  loop.run();
  CHECK(called);
  CHECK_FALSE(store.isLeased(missing.str()));

  auto d = put(store, "bytes", 1000);
  bool delivered = false;
  auto handle = async.open(d, "t", [&](std::expected<OpenBlob, StoreError>) { delivered = true; });
  // Cancel after the work has run but before the loop delivers its result:
  // the loop thread is held here until the fd is open (and leased). The
  // dropped result's fd then goes through closeFd, which ends the lease.
  for (int i = 0; i < 5000 && async.openCount() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(async.openCount() == 1);
  CHECK(store.isLeased(d.str()));
  handle.cancel();
  loop.run();
  CHECK_FALSE(delivered);
  CHECK_FALSE(store.isLeased(d.str()));
  CHECK(async.openCount() == 0);
}
