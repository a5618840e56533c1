#include "cache/blob_files.h"

#include <sys/stat.h>

#include <filesystem>
#include <system_error>

namespace hoard {

namespace {

namespace fs = std::filesystem;

std::optional<BlobFile> statFile(const fs::path& p, std::optional<Digest> digest) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  BlobFile f;
  f.path = p.string();
  f.digest = std::move(digest);
  f.size = static_cast<std::uint64_t>(st.st_size);
  f.mtimeMs = static_cast<Millis>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
  f.dev = st.st_dev;
  f.ino = st.st_ino;
  return f;
}

// Visits regular files directly in dir as strays (wrong depth); returns false if fn stopped.
bool strayFilesIn(const fs::path& dir, const std::function<bool(const BlobFile&)>& fn) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (auto f = statFile(it->path(), std::nullopt); f && !fn(*f)) return false;
  }
  return true;
}

}  // namespace

std::optional<Digest> digestForBlobPath(std::string_view algDir, std::string_view shard,
                                        std::string_view name) {
  for (auto alg : {DigestAlgorithm::Sha256, DigestAlgorithm::Sha512, DigestAlgorithm::Sha1}) {
    Digest probe;
    probe.algorithm = alg;
    if (probe.algorithmName() != algDir) continue;
    auto d = Digest::fromHex(alg, name);
    if (!d || d->hex.substr(0, 2) != shard) return std::nullopt;
    return d;
  }
  return std::nullopt;
}

std::optional<Digest> parseBlobKey(std::string_view key) {
  auto colon = key.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto hex = key.substr(colon + 1);
  return digestForBlobPath(key.substr(0, colon), hex.substr(0, 2), hex);
}

std::expected<void, std::string> forEachBlobFile(const std::string& storeRoot,
                                                 const std::function<bool(const BlobFile&)>& fn) {
  const fs::path blobs = fs::path(storeRoot) / "blobs";
  std::error_code ec;
  fs::directory_iterator algs(blobs, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return {};
    return std::unexpected("cannot list " + blobs.string() + ": " + ec.message());
  }
  for (fs::directory_iterator end; algs != end; algs.increment(ec)) {
    if (ec) return std::unexpected("cannot list " + blobs.string() + ": " + ec.message());
    const fs::path algPath = algs->path();
    if (!fs::is_directory(fs::symlink_status(algPath))) {
      if (auto f = statFile(algPath, std::nullopt); f && !fn(*f)) return {};
      continue;
    }
    const std::string algDir = algPath.filename().string();
    fs::directory_iterator shards(algPath, ec);
    if (ec) return std::unexpected("cannot list " + algPath.string() + ": " + ec.message());
    for (; shards != end; shards.increment(ec)) {
      if (ec) return std::unexpected("cannot list " + algPath.string() + ": " + ec.message());
      const fs::path shardPath = shards->path();
      if (!fs::is_directory(fs::symlink_status(shardPath))) {
        if (auto f = statFile(shardPath, std::nullopt); f && !fn(*f)) return {};
        continue;
      }
      const std::string shard = shardPath.filename().string();
      fs::directory_iterator files(shardPath, ec);
      if (ec) {
        // A shard removed under us is not an error.
        if (ec == std::errc::no_such_file_or_directory) continue;
        return std::unexpected("cannot list " + shardPath.string() + ": " + ec.message());
      }
      for (; files != end; files.increment(ec)) {
        if (ec) return std::unexpected("cannot list " + shardPath.string() + ": " + ec.message());
        const fs::path p = files->path();
        if (fs::is_directory(fs::symlink_status(p))) {
          if (!strayFilesIn(p, fn)) return {};
          continue;
        }
        auto f = statFile(p, digestForBlobPath(algDir, shard, p.filename().string()));
        if (f && !fn(*f)) return {};
      }
    }
  }
  return {};
}

}  // namespace hoard
