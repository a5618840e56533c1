#include "cache/verifier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "cache/blob_files.h"
#include "cache/read_pacer.h"

namespace hoard {

namespace {

constexpr std::size_t kChunk = 1 << 20;

enum class HashStatus : std::uint8_t { Ok, Io, Cancelled };
struct HashResult {
  HashStatus status = HashStatus::Ok;
  std::string hex;
  std::uint64_t bytes = 0;
};

HashResult hashFd(int fd, DigestAlgorithm algorithm, ReadPacer& pacer,
                  const std::atomic<bool>* cancel, std::vector<char>& buf) {
  Hasher hasher(algorithm);
  HashResult out;
  for (;;) {
    if (cancel && cancel->load()) {
      out.status = HashStatus::Cancelled;
      return out;
    }
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      out.status = HashStatus::Io;
      return out;
    }
    if (n == 0) break;
    hasher.update(buf.data(), static_cast<std::size_t>(n));
    out.bytes += static_cast<std::uint64_t>(n);
    pacer.consumed(static_cast<std::uint64_t>(n));
  }
  out.hex = hasher.finishHex();
  return out;
}

std::string quarantineName(const Digest& d) {
  return std::string(d.algorithmName()) + "-" + d.hex;
}

class Run {
 public:
  Run(BlobStore& store, const VerifyOptions& options)
      : store_(store), o_(options), pacer_(options.maxBytesPerSecond), buf_(kChunk) {
    report_.repair = options.repair;
  }

  VerifyReport run() {
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

  void note(VerifyOutcome outcome, std::string subject, std::string action) {
    if (report_.findings.size() < o_.maxFindings) {
      report_.findings.push_back({outcome, std::move(subject), std::move(action)});
    } else {
      ++report_.findingsOmitted;
    }
  }

  // Moves a bad indexed file aside and drops its entry (with the store's
  // size accounting). If a concurrent commit replaced the file since we
  // examined it, the new file is left alone.
  std::string quarantineIndexed(const Digest& d, const std::string& path, const struct stat& st) {
    auto moved = quarantineBlobFile(store_.root(), path, quarantineName(d), st.st_dev, st.st_ino);
    if (!moved) return "failed";
    if (moved->empty()) return "";
    ++report_.quarantined;
    auto r = store_.remove(d);
    if (!r && r.error() != StoreError::NotFound) return "failed";
    return "quarantined";
  }

  bool checkEntry(std::string_view key, const BlobMeta& meta) {
    if (cancelled()) return false;
    auto d = parseBlobKey(key);
    if (!d) {
      ++report_.stray;
      note(VerifyOutcome::Stray, std::string(key), "");
      return true;
    }
    const std::string path = store_.pathFor(*d);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno != ENOENT) {
        ++report_.ioErrors;
        note(VerifyOutcome::IoError, std::string(key), "");
        return true;
      }
      // Evicted or removed since the scan's snapshot: entry and file are
      // both gone, which is consistent.
      auto still = store_.index().getBlob(key);
      if (still && !*still) return true;
      ++report_.missing;
      std::string action;
      if (o_.repair) {
        // open() deletes the entry if the file is still absent, under the
        // store's accounting lock (a file that appeared is a commit).
        auto r = store_.open(*d);
        if (r) {
          ::close(r->fd);
        } else if (r.error() == StoreError::NotFound) {
          ++report_.indexDeleted;
          action = "index_deleted";
        } else {
          action = "failed";
        }
      }
      note(VerifyOutcome::Missing, std::string(key), std::move(action));
      return true;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      ++report_.ioErrors;
      note(VerifyOutcome::IoError, std::string(key), "");
      return true;
    }
    if (static_cast<std::uint64_t>(st.st_size) != meta.size) {
      ::close(fd);
      ++report_.sizeMismatch;
      note(VerifyOutcome::SizeMismatch, std::string(key),
           o_.repair ? quarantineIndexed(*d, path, st) : "");
      return true;
    }
    auto h = hashFd(fd, d->algorithm, pacer_, o_.cancel, buf_);
    ::close(fd);
    report_.bytesHashed += h.bytes;
    if (h.status == HashStatus::Cancelled) {
      report_.cancelled = true;
      return false;
    }
    if (h.status == HashStatus::Io) {
      ++report_.ioErrors;
      note(VerifyOutcome::IoError, std::string(key), "");
      return true;
    }
    if (h.hex == d->hex) {
      ++report_.ok;
      return true;
    }
    ++report_.mismatch;
    note(VerifyOutcome::Mismatch, std::string(key),
         o_.repair ? quarantineIndexed(*d, path, st) : "");
    return true;
  }

  bool checkFile(const BlobFile& f) {
    if (cancelled()) return false;
    if (!f.digest) {
      if (now_ - f.mtimeMs < o_.orphanGraceMs) return true;
      ++report_.stray;
      std::string action;
      if (o_.repair) {
        auto slash = f.path.rfind('/');
        auto moved = quarantineBlobFile(store_.root(), f.path, "stray-" + f.path.substr(slash + 1),
                                        f.dev, f.ino);
        action = !moved ? "failed" : moved->empty() ? "" : "quarantined";
        if (moved && !moved->empty()) ++report_.quarantined;
      }
      note(VerifyOutcome::Stray, f.path, std::move(action));
      return true;
    }
    const Digest& d = *f.digest;
    const std::string key = d.str();
    auto entry = store_.index().getBlob(key);
    // Indexed (checked above, or committed since), or an undecodable entry
    // that open() heals on the next request.
    if (!entry || *entry) return true;
    if (now_ - f.mtimeMs < o_.orphanGraceMs) return true;
    ++report_.orphans;
    std::string action;
    if (o_.repair) {
      action = repairOrphan(f, d);
      if (report_.cancelled) return false;
    }
    note(VerifyOutcome::Orphan, key, std::move(action));
    return true;
  }

  std::string repairOrphan(const BlobFile& f, const Digest& d) {
    int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? "" : "failed";
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_dev != f.dev || st.st_ino != f.ino) {
      ::close(fd);
      return "";  // replaced since the listing: a commit's file, not ours to judge
    }
    auto h = hashFd(fd, d.algorithm, pacer_, o_.cancel, buf_);
    ::close(fd);
    report_.bytesHashed += h.bytes;
    if (h.status == HashStatus::Cancelled) {
      report_.cancelled = true;
      return "";
    }
    if (h.status == HashStatus::Io) return "failed";
    if (h.hex == d.hex) {
      // adoptOrphan hashes again before indexing: it trusts nothing it did
      // not check under its own open fd.
      auto adopted = store_.adoptOrphan(d, o_.orphanMediaType);
      if (!adopted) return "failed";
      ::close(adopted->fd);
      ++report_.adopted;
      return "adopted";
    }
    auto moved = quarantineBlobFile(store_.root(), f.path, quarantineName(d), f.dev, f.ino);
    if (!moved) return "failed";
    if (moved->empty()) return "";
    ++report_.quarantined;
    return "quarantined";
  }

  BlobStore& store_;
  const VerifyOptions& o_;
  ReadPacer pacer_;
  std::vector<char> buf_;
  VerifyReport report_;
  Millis now_ = 0;
};

}  // namespace

std::string_view verifyOutcomeName(VerifyOutcome outcome) {
  switch (outcome) {
    case VerifyOutcome::Ok:
      return "ok";
    case VerifyOutcome::Mismatch:
      return "mismatch";
    case VerifyOutcome::SizeMismatch:
      return "size_mismatch";
    case VerifyOutcome::Missing:
      return "missing";
    case VerifyOutcome::IoError:
      return "io_error";
    case VerifyOutcome::Orphan:
      return "orphan";
    case VerifyOutcome::Stray:
      return "stray";
  }
  return "unknown";
}

VerifyReport verifyStore(BlobStore& store, const VerifyOptions& options) {
  return Run(store, options).run();
}

std::expected<std::string, std::string> quarantineBlobFile(const std::string& root,
                                                           const std::string& path,
                                                           const std::string& name, dev_t dev,
                                                           ino_t ino) {
  const std::string dir = root + "/quarantine";
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return std::unexpected("cannot create " + dir + ": " + std::strerror(errno));
  }
  struct stat now {};
  if (::stat(path.c_str(), &now) != 0) {
    if (errno == ENOENT) return std::string();
    return std::unexpected("cannot stat " + path + ": " + std::strerror(errno));
  }
  if (now.st_dev != dev || now.st_ino != ino) return std::string();
  // Never overwrite an earlier quarantined copy: it may be a different corruption.
  std::string target = dir + "/" + name;
  struct stat existing {};
  for (int n = 1; ::lstat(target.c_str(), &existing) == 0; ++n) {
    target = dir + "/" + name + "." + std::to_string(n);
  }
  if (::rename(path.c_str(), target.c_str()) != 0) {
    return std::unexpected("cannot move " + path + " to " + target + ": " + std::strerror(errno));
  }
  return target;
}

}  // namespace hoard
