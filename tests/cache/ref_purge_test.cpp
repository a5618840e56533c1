#include "cache/ref_purge.h"

#include <catch2/catch.hpp>
#include <limits>
#include <set>

#include "cache/store_test_util.h"

using hoard::Millis;
using hoard::RefEntry;

namespace {

constexpr Millis kMinute = 60'000;
constexpr Millis kDay = 24 * 60 * kMinute;
constexpr std::uint64_t kWeek = 7 * kDay;

RefEntry ref(Millis fetched, Millis ttl) {
  return RefEntry{"sha256:" + std::string(64, 'a'), "application/json", fetched, ttl, ""};
}

std::set<std::string> refKeys(hoard::Index& index) {
  std::set<std::string> keys;
  REQUIRE(index.forEachRef([&](std::string_view k, const RefEntry&) {
    keys.emplace(k);
    return true;
  }));
  return keys;
}

}  // namespace

TEST_CASE("refPurgeable: only past fetched + ttl + retention and forever means never") {
  const Millis t0 = 1'700'000'000'000;
  auto r = ref(t0, 5 * kMinute);
  const Millis deadline = t0 + 5 * kMinute + static_cast<Millis>(kWeek);
  CHECK_FALSE(hoard::refPurgeable(r, t0, kWeek));
  CHECK_FALSE(hoard::refPurgeable(r, deadline, kWeek));  // still servable stale at the edge
  CHECK(hoard::refPurgeable(r, deadline + 1, kWeek));
  CHECK(hoard::refPurgeable(r, t0 + 5 * kMinute + 1, 0));  // no retention: gone once expired
  CHECK_FALSE(hoard::refPurgeable(r, deadline + 1, hoard::kRetainForever));
  // A TTL of kForever arrives as a negative Millis; huge ones must not overflow.
  CHECK_FALSE(hoard::refPurgeable(ref(t0, -1), std::numeric_limits<Millis>::max(), 0));
  CHECK_FALSE(hoard::refPurgeable(ref(t0, std::numeric_limits<Millis>::max() - 5),
                                  std::numeric_limits<Millis>::max(), kWeek));
  CHECK_FALSE(hoard::refPurgeable(r, std::numeric_limits<Millis>::max(),
                                  std::numeric_limits<std::uint64_t>::max() - 1));
}

TEST_CASE("purgeExpiredRefs deletes refs past their retention, at the injected time") {
  auto index = hoard::makeMemoryIndex();
  auto clock = std::make_shared<hoard::ManualClock>(1'700'000'000'000);
  const Millis now = clock->nowMs();
  REQUIRE(index->putRef("oci/hub/alpine:latest", ref(now, 5 * kMinute)));
  REQUIRE(index->putRef("npm/old", ref(now - 8 * kDay, 5 * kMinute)));  // 8 days old
  REQUIRE(index->putRef("npm/recent-stale", ref(now - 2 * kDay, 5 * kMinute)));
  REQUIRE(index->putRef("go/immutable", ref(now - 400 * kDay, -1)));         // kForever TTL
  REQUIRE(index->putRef("pypi/long-ttl", ref(now - 32 * kDay, 30 * kDay)));  // stale for 2d
  const auto blobKey = "sha256:" + std::string(64, 'b');
  REQUIRE(index->putBlob(blobKey, hoard::BlobMeta{1, "", 0, 0}));

  auto r = hoard::purgeExpiredRefs(*index, *clock, kWeek);
  REQUIRE(r);
  CHECK(r->scanned == 5);
  CHECK(r->purged == 1);
  CHECK(refKeys(*index) == std::set<std::string>{"oci/hub/alpine:latest", "npm/recent-stale",
                                                 "go/immutable", "pypi/long-ttl"});
  CHECK(index->getBlob(blobKey)->has_value());  // blobs are LRU's business

  // Time passes (no sleeping): six more days expire the two-day-old ref and
  // the long-TTL one, nothing else.
  clock->advance(6 * kDay);
  r = hoard::purgeExpiredRefs(*index, *clock, kWeek);
  REQUIRE(r);
  CHECK(r->purged == 2);
  CHECK(refKeys(*index) == std::set<std::string>{"oci/hub/alpine:latest", "go/immutable"});

  clock->advance(365 * kDay);
  CHECK(hoard::purgeExpiredRefs(*index, *clock, hoard::kRetainForever)->purged == 0);
  CHECK(hoard::purgeExpiredRefs(*index, *clock, kWeek)->purged == 1);
  CHECK(refKeys(*index) == std::set<std::string>{"go/immutable"});
}

TEST_CASE("purgeExpiredRefs keeps a ref refreshed after the scan started, over RocksDB") {
  hoard::test::TempDir dir;
  auto opened = hoard::openRocksDbIndex(dir.path() + "/index");
  REQUIRE(opened);
  auto& index = **opened;
  auto clock = std::make_shared<hoard::ManualClock>(1'700'000'000'000);
  const Millis now = clock->nowMs();

  // A wrapper that refreshes one ref from inside the scan, as a concurrent
  // refetch would between the snapshot and the delete.
  class Refreshing final : public hoard::Index {
   public:
    Refreshing(hoard::Index& inner, Millis now) : inner_(inner), now_(now) {}
    std::expected<std::optional<hoard::BlobMeta>, hoard::IndexError> getBlob(
        std::string_view d) override {
      return inner_.getBlob(d);
    }
    std::expected<void, hoard::IndexError> putBlob(std::string_view d,
                                                   const hoard::BlobMeta& m) override {
      return inner_.putBlob(d, m);
    }
    std::expected<void, hoard::IndexError> deleteBlob(std::string_view d) override {
      return inner_.deleteBlob(d);
    }
    std::expected<std::optional<RefEntry>, hoard::IndexError> getRef(std::string_view k) override {
      return inner_.getRef(k);
    }
    std::expected<void, hoard::IndexError> putRef(std::string_view k, const RefEntry& r) override {
      return inner_.putRef(k, r);
    }
    std::expected<void, hoard::IndexError> deleteRef(std::string_view k) override {
      return inner_.deleteRef(k);
    }
    std::expected<void, hoard::IndexError> touchBlobs(
        const std::vector<hoard::BlobTouch>& b) override {
      return inner_.touchBlobs(b);
    }
    std::expected<void, hoard::IndexError> forEachBlob(
        const std::function<bool(std::string_view, const hoard::BlobMeta&)>& fn) override {
      return inner_.forEachBlob(fn);
    }
    std::expected<void, hoard::IndexError> forEachRef(
        const std::function<bool(std::string_view, const RefEntry&)>& fn) override {
      return inner_.forEachRef([&](std::string_view k, const RefEntry& r) {
        if (k == "npm/refreshed") REQUIRE(inner_.putRef(k, ref(now_, 5 * kMinute)));
        return fn(k, r);
      });
    }

   private:
    hoard::Index& inner_;
    Millis now_;
  } refreshing(index, now);

  REQUIRE(index.putRef("npm/refreshed", ref(now - 30 * kDay, 5 * kMinute)));
  REQUIRE(index.putRef("npm/stale", ref(now - 30 * kDay, 5 * kMinute)));
  auto r = hoard::purgeExpiredRefs(refreshing, *clock, kWeek);
  REQUIRE(r);
  CHECK(r->scanned == 2);
  CHECK(r->purged == 1);
  CHECK(refKeys(index) == std::set<std::string>{"npm/refreshed"});
  CHECK((*index.getRef("npm/refreshed"))->fetchedMs == now);
}
