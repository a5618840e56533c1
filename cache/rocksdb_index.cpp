#include "cache/rocksdb_index.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>

namespace hoard {

namespace {

constexpr std::uint8_t kBlobMetaV1 = 1;
constexpr std::uint8_t kBlobMetaV2 = 2;
constexpr std::uint8_t kBlobFlagPinned = 1;
constexpr std::uint8_t kRefEntryV1 = 1;
constexpr const char* kBlobsFamily = "blobs";
constexpr const char* kRefsFamily = "refs";
// Small footprint: the index is tiny next to the blobs it describes.
constexpr std::size_t kBlockCacheBytes = 8 << 20;

void putU64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void putU32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void putStr(std::string& out, std::string_view s) {
  putU32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u8(std::uint8_t& v) {
    if (in_.size() < 1) return false;
    v = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (in_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<std::uint8_t>(in_[i])} << (8 * i);
    in_.remove_prefix(8);
    return true;
  }
  bool i64(std::int64_t& v) {
    std::uint64_t u = 0;
    if (!u64(u)) return false;
    v = static_cast<std::int64_t>(u);
    return true;
  }
  bool str(std::string& s) {
    if (in_.size() < 4) return false;
    std::uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= std::uint32_t{static_cast<std::uint8_t>(in_[i])} << (8 * i);
    in_.remove_prefix(4);
    if (in_.size() < len) return false;
    s.assign(in_.substr(0, len));
    in_.remove_prefix(len);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

IndexError toError(const rocksdb::Status& s) {
  return s.IsCorruption() ? IndexError::Corrupt : IndexError::Io;
}

rocksdb::Slice slice(std::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

// What a write returns while a background error stops the DB: the error
// itself (an IOError: NoSpace for a full disk), or Incomplete for a write
// that stalled behind it. Resume() may clear both; Corruption,
// InvalidArgument and the like are not storage states it can fix.
bool mayBeBackgroundError(const rocksdb::Status& s) {
  return s.IsIOError() || s.IsIncomplete();
}

bool isNoSpace(const rocksdb::Status& s) {
  return s.IsNoSpace() || s.subcode() == rocksdb::Status::kSpaceLimit;
}

std::expected<void, IndexError> toResult(const rocksdb::Status& s) {
  if (!s.ok()) return std::unexpected(toError(s));
  return {};
}

}  // namespace

// Called by RocksDB under its DB mutex, on flush, compaction and writer
// threads: atomics only.
class RocksDbIndex::ErrorListener final : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "HoardIndexErrorListener"; }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/, rocksdb::Status bgError,
                            bool* autoRecovery) override {
    // See rocksdb_index.h: hoard resumes from the write path instead.
    if (isNoSpace(bgError)) *autoRecovery = false;
  }
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    if (info.new_bg_error.ok()) recoveries_.fetch_add(1);
  }
  std::uint64_t recoveries() const { return recoveries_.load(); }

 private:
  std::atomic<std::uint64_t> recoveries_{0};
};

std::string encodeBlobMeta(const BlobMeta& meta) {
  std::string out;
  out.reserve(1 + 8 * 3 + 1 + 4 + meta.mediaType.size());
  out.push_back(static_cast<char>(kBlobMetaV2));
  putU64(out, meta.size);
  putU64(out, static_cast<std::uint64_t>(meta.createdMs));
  putU64(out, static_cast<std::uint64_t>(meta.lastAccessMs));
  out.push_back(static_cast<char>(meta.pinned ? kBlobFlagPinned : 0));
  putStr(out, meta.mediaType);
  return out;
}

std::optional<BlobMeta> decodeBlobMeta(std::string_view value) {
  Reader r(value);
  std::uint8_t version = 0;
  BlobMeta m;
  if (!r.u8(version) || (version != kBlobMetaV1 && version != kBlobMetaV2)) return std::nullopt;
  if (!r.u64(m.size) || !r.i64(m.createdMs) || !r.i64(m.lastAccessMs)) return std::nullopt;
  if (version >= kBlobMetaV2) {
    std::uint8_t flags = 0;
    // Unknown flag bits mean a garbage value, not a newer writer: a new
    // field gets a new version byte.
    if (!r.u8(flags) || (flags & ~kBlobFlagPinned) != 0) return std::nullopt;
    m.pinned = (flags & kBlobFlagPinned) != 0;
  }
  if (!r.str(m.mediaType) || !r.done()) return std::nullopt;
  return m;
}

std::string encodeRefEntry(const RefEntry& ref) {
  std::string out;
  out.push_back(static_cast<char>(kRefEntryV1));
  putU64(out, static_cast<std::uint64_t>(ref.fetchedMs));
  putU64(out, static_cast<std::uint64_t>(ref.ttlMs));
  putStr(out, ref.digest);
  putStr(out, ref.mediaType);
  putStr(out, ref.etag);
  return out;
}

std::optional<RefEntry> decodeRefEntry(std::string_view value) {
  Reader r(value);
  std::uint8_t version = 0;
  RefEntry e;
  if (!r.u8(version) || version != kRefEntryV1) return std::nullopt;
  if (!r.i64(e.fetchedMs) || !r.i64(e.ttlMs) || !r.str(e.digest) || !r.str(e.mediaType) ||
      !r.str(e.etag) || !r.done()) {
    return std::nullopt;
  }
  return e;
}

std::expected<std::unique_ptr<RocksDbIndex>, std::string> RocksDbIndex::open(
    const std::string& dir, RocksDbIndexOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return std::unexpected("cannot create index directory " + dir + ": " + ec.message());

  auto cache = rocksdb::NewLRUCache(kBlockCacheBytes);
  rocksdb::DBOptions dbOptions;
  dbOptions.OptimizeForSmallDb(&cache);
  dbOptions.create_if_missing = true;
  dbOptions.create_missing_column_families = true;
  dbOptions.max_open_files = 64;
  dbOptions.keep_log_file_num = 2;
  dbOptions.max_total_wal_size = 16 << 20;
  if (options.env) dbOptions.env = options.env.get();
  auto listener = std::make_shared<ErrorListener>();
  dbOptions.listeners.push_back(listener);
  rocksdb::ColumnFamilyOptions cfOptions;
  cfOptions.OptimizeForSmallDb(&cache);

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cfOptions},
      {kBlobsFamily, cfOptions},
      {kRefsFamily, cfOptions},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto status = rocksdb::DB::Open(dbOptions, dir, families, &handles, &raw);
  if (!status.ok()) return std::unexpected("cannot open index " + dir + ": " + status.ToString());

  std::unique_ptr<RocksDbIndex> index(new RocksDbIndex());
  index->env_ = std::move(options.env);
  index->listener_ = std::move(listener);
  index->resumeInterval_ = options.resumeInterval;
  index->db_.reset(raw);
  index->blobs_ = handles[1];
  index->refs_ = handles[2];
  // The default family is never used; its handle is owned by the DB.
  index->db_->DestroyColumnFamilyHandle(handles[0]);
  return index;
}

RocksDbIndex::~RocksDbIndex() {
  if (!db_) return;
  if (blobs_) db_->DestroyColumnFamilyHandle(blobs_);
  if (refs_) db_->DestroyColumnFamilyHandle(refs_);
  db_->Close();
}

std::expected<std::optional<BlobMeta>, IndexError> RocksDbIndex::getBlob(std::string_view digest) {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), blobs_, slice(digest), &value);
  if (s.IsNotFound()) return std::optional<BlobMeta>();
  if (!s.ok()) return std::unexpected(toError(s));
  auto meta = decodeBlobMeta(value);
  if (!meta) return std::unexpected(IndexError::Corrupt);
  return meta;
}

std::expected<void, IndexError> RocksDbIndex::putBlob(std::string_view digest,
                                                      const BlobMeta& meta) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  const std::string value = encodeBlobMeta(meta);
  std::lock_guard lock(blobWriteMu_);
  return toResult(writeResuming([&] { return db_->Put(wo, blobs_, slice(digest), value); }));
}

std::expected<void, IndexError> RocksDbIndex::deleteBlob(std::string_view digest) {
  std::lock_guard lock(blobWriteMu_);
  return toResult(
      writeResuming([&] { return db_->Delete(rocksdb::WriteOptions(), blobs_, slice(digest)); }));
}

std::expected<std::optional<RefEntry>, IndexError> RocksDbIndex::getRef(std::string_view key) {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), refs_, slice(key), &value);
  if (s.IsNotFound()) return std::optional<RefEntry>();
  if (!s.ok()) return std::unexpected(toError(s));
  auto ref = decodeRefEntry(value);
  if (!ref) return std::unexpected(IndexError::Corrupt);
  return ref;
}

std::expected<void, IndexError> RocksDbIndex::putRef(std::string_view key, const RefEntry& ref) {
  const std::string value = encodeRefEntry(ref);
  return toResult(
      writeResuming([&] { return db_->Put(rocksdb::WriteOptions(), refs_, slice(key), value); }));
}

std::expected<void, IndexError> RocksDbIndex::deleteRef(std::string_view key) {
  return toResult(
      writeResuming([&] { return db_->Delete(rocksdb::WriteOptions(), refs_, slice(key)); }));
}

std::expected<void, IndexError> RocksDbIndex::touchBlobs(const std::vector<BlobTouch>& batch) {
  // Collapse duplicates first so each key is read and written once.
  struct Latest {
    Millis accessMs;
    bool pinned;
  };
  std::map<std::string_view, Latest> latest;
  for (const auto& t : batch) {
    auto [it, inserted] = latest.try_emplace(t.digest, Latest{t.accessMs, t.pinned});
    if (!inserted) {
      it->second.accessMs = std::max(it->second.accessMs, t.accessMs);
      it->second.pinned = it->second.pinned || t.pinned;
    }
  }
  rocksdb::WriteBatch wb;
  std::lock_guard lock(blobWriteMu_);
  for (const auto& [digest, touch] : latest) {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), blobs_, slice(digest), &value);
    if (s.IsNotFound()) continue;
    if (!s.ok()) return std::unexpected(toError(s));
    auto meta = decodeBlobMeta(value);
    if (!meta) continue;  // undecodable: open() heals it
    const bool newer = meta->lastAccessMs < touch.accessMs;
    const bool pins = touch.pinned && !meta->pinned;
    if (!newer && !pins) continue;
    if (newer) meta->lastAccessMs = touch.accessMs;
    if (pins) meta->pinned = true;
    wb.Put(blobs_, slice(digest), encodeBlobMeta(*meta));
  }
  if (wb.Count() == 0) return {};
  // Still under blobWriteMu_, so a retry cannot resurrect a concurrent delete.
  return toResult(writeResuming([&] { return db_->Write(rocksdb::WriteOptions(), &wb); }));
}

IndexHealth RocksDbIndex::health() const {
  return IndexHealth{writesFailing_.load(), listener_->recoveries()};
}

rocksdb::Status RocksDbIndex::writeResuming(const std::function<rocksdb::Status()>& write) {
  const std::uint64_t epoch = resumeEpoch_.load();
  auto s = write();
  if (s.ok() || !mayBeBackgroundError(s)) {
    if (s.ok()) writesFailing_.store(false);
    return s;
  }
  writesFailing_.store(true);
  if (!tryResume(epoch)) return s;
  // A write that failed in the WAL was not applied, so running it again
  // cannot apply it twice (and every write here is idempotent anyway).
  s = write();
  writesFailing_.store(!s.ok());
  return s;
}

bool RocksDbIndex::tryResume(std::uint64_t epochBefore) {
  std::unique_lock lock(resumeMu_, std::try_to_lock);
  if (!lock.owns_lock()) return false;  // another writer is resuming: fail like before
  if (resumeEpoch_.load() != epochBefore) return true;
  const auto now = std::chrono::steady_clock::now();
  if (lastResume_ && now - *lastResume_ < resumeInterval_) return false;
  lastResume_ = now;
  // OK also when the DB was not stopped at all (the failure was a one-off):
  // the retry then costs one more write attempt. Busy: RocksDB is running a
  // recovery of its own (a retryable non-NoSpace error); it retries alone.
  if (!db_->Resume().ok()) return false;
  resumeEpoch_.fetch_add(1);
  return true;
}

std::expected<void, IndexError> RocksDbIndex::forEachBlob(
    const std::function<bool(std::string_view digest, const BlobMeta&)>& fn) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // a full scan would flush the hot entries out of the cache
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, blobs_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto meta = decodeBlobMeta(std::string_view(it->value().data(), it->value().size()));
    if (!meta) continue;
    if (!fn(std::string_view(it->key().data(), it->key().size()), *meta)) return {};
  }
  if (!it->status().ok()) return std::unexpected(toError(it->status()));
  return {};
}

std::expected<void, IndexError> RocksDbIndex::forEachRef(
    const std::function<bool(std::string_view key, const RefEntry&)>& fn) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, refs_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto ref = decodeRefEntry(std::string_view(it->value().data(), it->value().size()));
    if (!ref) continue;
    if (!fn(std::string_view(it->key().data(), it->key().size()), *ref)) return {};
  }
  if (!it->status().ok()) return std::unexpected(toError(it->status()));
  return {};
}

std::expected<IndexPtr, std::string> openRocksDbIndex(const std::string& dir) {
  auto index = RocksDbIndex::open(dir, RocksDbIndexOptions{});
  if (!index) return std::unexpected(std::move(index.error()));
  return IndexPtr(std::move(*index));
}

}  // namespace hoard
