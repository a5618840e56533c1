#include "cache/store_gc.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "cache/blob_files.h"

namespace hoard {

namespace {

class GcRun {
 public:
  GcRun(BlobStore& store, const GcOptions& options) : store_(store), o_(options) {}

  GcReport run() {
    if (o_.sweepTmp) sweepTmp();
    auto scan = store_.index().forEachBlob(
        [this](std::string_view key, const BlobMeta& meta) { return checkEntry(key, meta); });
    if (!scan) {
      report_.error = "cannot scan the index";
      return std::move(report_);
    }
    if (report_.cancelled) return std::move(report_);
    ClockPtr clock = o_.clock ? o_.clock : std::make_shared<SystemClock>();
    now_ = clock->nowMs();
    auto walk = forEachBlobFile(store_.root(), [this](const BlobFile& f) { return checkFile(f); });
    if (!walk) report_.error = walk.error();
    return std::move(report_);
  }

 private:
  bool cancelled() {
    if (o_.cancel && o_.cancel->load()) report_.cancelled = true;
    return report_.cancelled;
  }

  void note(std::string kind, std::string subject, std::string action) {
    if (report_.findings.size() < o_.maxFindings) {
      report_.findings.push_back({std::move(kind), std::move(subject), std::move(action)});
    } else {
      ++report_.findingsOmitted;
    }
  }

  void sweepTmp() {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path tmp = fs::path(store_.root()) / "tmp";
    for (fs::directory_iterator it(tmp, ec), end; !ec && it != end; it.increment(ec)) {
      struct stat st {};
      const std::uint64_t size =
          ::lstat(it->path().c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
      std::error_code rmEc;
      fs::remove_all(it->path(), rmEc);
      if (rmEc) {
        ++report_.errors;
        note("tmp", it->path().string(), "failed");
        continue;
      }
      ++report_.tmpRemoved;
      report_.tmpBytes += size;
      note("tmp", it->path().string(), "removed");
    }
  }

  bool checkEntry(std::string_view key, const BlobMeta& meta) {
    if (cancelled()) return false;
    ++report_.entriesChecked;
    auto d = parseBlobKey(key);
    if (!d) {
      ++report_.stray;
      note("stray", std::string(key), "");
      return true;
    }
    struct stat st {};
    if (::stat(store_.pathFor(*d).c_str(), &st) == 0) {
      if (static_cast<std::uint64_t>(st.st_size) != meta.size) {
        ++report_.sizeMismatch;
        note("size_mismatch", std::string(key), "");
      }
      return true;
    }
    if (errno != ENOENT) {
      ++report_.errors;
      note("entry_without_file", std::string(key), "failed");
      return true;
    }
    // Self-healing open: deletes the entry if the file is still absent
    // (evicted or removed entries are already gone: NotFound either way).
    auto still = store_.index().getBlob(key);
    if (still && !*still) return true;
    auto r = store_.open(*d);
    if (r) {
      ::close(r->fd);  // committed meanwhile
      return true;
    }
    if (r.error() != StoreError::NotFound) {
      ++report_.errors;
      note("entry_without_file", std::string(key), "failed");
      return true;
    }
    ++report_.entriesRemoved;
    note("entry_without_file", std::string(key), "removed");
    return true;
  }

  bool checkFile(const BlobFile& f) {
    if (cancelled()) return false;
    if (!f.digest) {
      ++report_.stray;
      note("stray", f.path, "");
      return true;
    }
    const std::string key = f.digest->str();
    auto entry = store_.index().getBlob(key);
    if (!entry || *entry) return true;
    if (now_ - f.mtimeMs < o_.orphanGraceMs) {
      ++report_.orphansInGrace;
      return true;
    }
    // Unlink only the inode we listed: a commit may have renamed a new copy
    // in (and indexed it) since; the index check just above narrows that
    // window, the inode check closes the rename half of it.
    struct stat now {};
    if (::stat(f.path.c_str(), &now) != 0 || now.st_dev != f.dev || now.st_ino != f.ino) {
      return true;
    }
    if (auto again = store_.index().getBlob(key); !again || *again) return true;
    if (::unlink(f.path.c_str()) != 0 && errno != ENOENT) {
      ++report_.errors;
      note("orphan", key, "failed");
      return true;
    }
    ++report_.orphansRemoved;
    report_.orphanBytes += f.size;
    note("orphan", key, "removed");
    return true;
  }

  BlobStore& store_;
  const GcOptions& o_;
  GcReport report_;
  Millis now_ = 0;
};

}  // namespace

GcReport collectGarbage(BlobStore& store, const GcOptions& options) {
  return GcRun(store, options).run();
}

}  // namespace hoard
