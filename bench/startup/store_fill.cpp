// hoard_bench_store_fill: builds a hoard store for the benchmarks, fast.
//
//   hoard_bench_store_fill STORE --blobs N [--refs M] [--seed S]
//       N index entries (BlobMeta) and M refs written straight into STORE/index
//       (RocksDB, the layout RocksDbIndex reads), in large unsynced write batches,
//       then one flush and a full compaction: the state of a store that has been
//       running for a while, not a pile of level-0 files. No blob files are
//       written: hoard's start-up (BlobStore::recover) reads the index only.
//   hoard_bench_store_fill STORE --commit FILE [--media-type T]
//       commits FILE as a real blob through BlobStore (temp file, hash, rename,
//       synced index entry), exactly as a fill does; prints its digest.
//
// A benchmark helper, built only with -DHOARD_BUILD_BENCH=ON; never part of hoard.
#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "cache/blob_store.h"
#include "cache/digest.h"
#include "cache/rocksdb_index.h"

namespace {

using hoard::Millis;

int usage() {
  std::fputs(
      "usage: hoard_bench_store_fill STORE --blobs N [--refs M] [--seed S]\n"
      "       hoard_bench_store_fill STORE --commit FILE [--media-type TYPE]\n",
      stderr);
  return 2;
}

Millis nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool check(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return true;
  std::fprintf(stderr, "store_fill: %s: %s\n", what, s.ToString().c_str());
  return false;
}

// Sizes like a pull-through cache's mix: mostly small (manifests, configs, packuments,
// small tarballs), some layers up to 20 MB; ~0.5 MB on average (1M objects: ~500 GB).
std::uint64_t objectSize(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> bucket(0, 99);
  int b = bucket(rng);
  if (b < 70) return std::uniform_int_distribution<std::uint64_t>(500, 50'000)(rng);
  if (b < 98) return std::uniform_int_distribution<std::uint64_t>(50'000, 2'000'000)(rng);
  return std::uniform_int_distribution<std::uint64_t>(2'000'000, 20'000'000)(rng);
}

// The index directly, with the column families RocksDbIndex uses ("blobs",
// "refs"); values through hoard's own encoders, so the format is whatever the
// linked hoard_cache writes today.
int fillIndex(const std::string& store, std::uint64_t blobs, std::uint64_t refs,
              std::uint64_t seed) {
  const std::string dir = store + "/index";
  std::filesystem::create_directories(dir);
  rocksdb::DBOptions dbOptions;
  dbOptions.create_if_missing = true;
  dbOptions.create_missing_column_families = true;
  dbOptions.max_background_jobs = 2;
  rocksdb::ColumnFamilyOptions cfOptions;
  cfOptions.write_buffer_size = 64 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cfOptions},
      {"blobs", cfOptions},
      {"refs", cfOptions},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (!check(rocksdb::DB::Open(dbOptions, dir, families, &handles, &raw), "open")) return 1;
  std::unique_ptr<rocksdb::DB> db(raw);

  auto t0 = std::chrono::steady_clock::now();
  std::mt19937_64 rng(seed);
  const Millis now = nowMs();
  const Millis month = 30LL * 24 * 3600 * 1000;
  std::uniform_int_distribution<Millis> age(0, month);
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;  // the flush below makes it durable; a crash means rerun
  std::uint64_t totalBytes = 0;
  constexpr std::uint64_t kBatch = 20'000;
  rocksdb::WriteBatch wb;
  for (std::uint64_t i = 0; i < blobs; ++i) {
    hoard::BlobMeta meta;
    meta.size = objectSize(rng);
    meta.mediaType = (i % 4 == 0) ? "application/vnd.oci.image.manifest.v1+json"
                                  : "application/vnd.oci.image.layer.v1.tar+gzip";
    meta.createdMs = now - age(rng);
    meta.lastAccessMs = meta.createdMs + (now - meta.createdMs) / 2;
    totalBytes += meta.size;
    std::string key = "sha256:" + hoard::sha256Hex("hoard-bench-blob-" + std::to_string(seed) +
                                                   "-" + std::to_string(i));
    if (!check(wb.Put(handles[1], key, hoard::encodeBlobMeta(meta)), "batch put")) return 1;
    if (wb.Count() >= kBatch) {
      if (!check(db->Write(wo, &wb), "write")) return 1;
      wb.Clear();
    }
  }
  for (std::uint64_t i = 0; i < refs; ++i) {
    hoard::RefEntry ref;
    ref.digest = "sha256:" + hoard::sha256Hex("hoard-bench-blob-" + std::to_string(seed) + "-" +
                                              std::to_string(i * 4));
    ref.mediaType = "application/vnd.oci.image.manifest.v1+json";
    ref.fetchedMs = now - age(rng);
    ref.ttlMs = 5 * 60 * 1000;
    ref.etag = "\"" + ref.digest + "\"";
    std::string key =
        "oci/dockerhub/bench/image" + std::to_string(i / 8) + ":tag" + std::to_string(i % 8);
    if (!check(wb.Put(handles[2], key, hoard::encodeRefEntry(ref)), "batch put")) return 1;
    if (wb.Count() >= kBatch) {
      if (!check(db->Write(wo, &wb), "write")) return 1;
      wb.Clear();
    }
  }
  if (wb.Count() > 0 && !check(db->Write(wo, &wb), "write")) return 1;
  double writeS = secondsSince(t0);
  rocksdb::FlushOptions fo;
  if (!check(db->Flush(fo, {handles[1], handles[2]}), "flush")) return 1;
  rocksdb::CompactRangeOptions co;
  for (auto* h : {handles[1], handles[2]}) {
    if (!check(db->CompactRange(co, h, nullptr, nullptr), "compact")) return 1;
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  if (!check(db->Close(), "close")) return 1;
  std::printf("blobs=%llu refs=%llu total_bytes=%llu write_s=%.2f total_s=%.2f\n",
              static_cast<unsigned long long>(blobs), static_cast<unsigned long long>(refs),
              static_cast<unsigned long long>(totalBytes), writeS, secondsSince(t0));
  return 0;
}

// One real blob, committed the way a fill commits it.
int commitFile(const std::string& store, const std::string& file, const std::string& mediaType) {
  auto opened = hoard::openDiskBlobStore(store);
  if (!opened) {
    std::fprintf(stderr, "store_fill: %s\n", opened.error().c_str());
    return 1;
  }
  auto& bs = **opened;
  if (auto r = bs.recover(); !r) {
    std::fprintf(stderr, "store_fill: recover: %s\n", r.error().c_str());
    return 1;
  }
  int in = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    std::perror(file.c_str());
    return 1;
  }
  auto tmp = bs.createTemp();
  if (!tmp) {
    std::fputs("store_fill: cannot create a temp file\n", stderr);
    ::close(in);
    return 1;
  }
  hoard::Hasher hasher(hoard::DigestAlgorithm::Sha256);
  std::vector<char> buf(1 << 20);
  std::uint64_t size = 0;
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      std::perror("read");
      ::close(in);
      bs.discard(*tmp);
      return 1;
    }
    if (n == 0) break;
    hasher.update(buf.data(), static_cast<std::size_t>(n));
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(tmp->fd, buf.data() + off, static_cast<std::size_t>(n - off));
      if (w < 0) {
        std::perror("write");
        ::close(in);
        bs.discard(*tmp);
        return 1;
      }
      off += w;
    }
    size += static_cast<std::uint64_t>(n);
  }
  ::close(in);
  auto digest = hoard::Digest::fromHex(hoard::DigestAlgorithm::Sha256, hasher.finishHex());
  hoard::BlobMeta meta;
  meta.size = size;
  meta.mediaType = mediaType;
  meta.createdMs = nowMs();
  if (auto r = bs.commit(*tmp, *digest, meta); !r) {
    std::fputs("store_fill: commit failed\n", stderr);
    return 1;
  }
  std::printf("%s\n", digest->str().c_str());
  return 0;
}

bool parseCount(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::string copy(s);
  out = std::strtoull(copy.c_str(), &end, 10);
  return end != nullptr && *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string store = argv[1];
  std::uint64_t blobs = 0;
  std::uint64_t refs = 0;
  std::uint64_t seed = 1;
  std::string commit;
  std::string mediaType = "application/vnd.oci.image.layer.v1.tar+gzip";
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) return usage();
    std::string_view v = argv[++i];
    if (a == "--blobs") {
      if (!parseCount(v, blobs)) return usage();
    } else if (a == "--refs") {
      if (!parseCount(v, refs)) return usage();
    } else if (a == "--seed") {
      if (!parseCount(v, seed)) return usage();
    } else if (a == "--commit") {
      commit = v;
    } else if (a == "--media-type") {
      mediaType = v;
    } else {
      return usage();
    }
  }
  if (!commit.empty()) return commitFile(store, commit, mediaType);
  if (blobs == 0 && refs == 0) return usage();
  return fillIndex(store, blobs, refs, seed);
}
