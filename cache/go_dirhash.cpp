#include "cache/go_dirhash.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

namespace hoard {

namespace {

// Record layouts: PKWARE APPNOTE.TXT 4.3; field offsets below are relative to
// each record's signature.
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kDescriptorSig = 0x08074b50;
constexpr std::uint64_t kEndLen = 22;
constexpr std::uint64_t kZip64LocatorLen = 20;
constexpr std::uint64_t kZip64EndLen = 56;
constexpr std::uint64_t kCentralLen = 46;
constexpr std::uint64_t kLocalLen = 30;
constexpr std::uint16_t kZip64ExtraId = 0x0001;
// Go's archive/zip searches this far back for the end record (the largest
// comment is 65535 bytes).
constexpr std::uint64_t kEndSearch = 65 * 1024;
constexpr std::size_t kChunk = 64 * 1024;
constexpr std::uint16_t kMethodStore = 0;
constexpr std::uint16_t kMethodDeflate = 8;
constexpr std::uint16_t kFlagEncrypted = 0x1;
constexpr std::uint16_t kFlagDescriptor = 0x8;

using Bytes = std::vector<unsigned char>;
using Sha256 = std::array<unsigned char, 32>;
using Status = std::expected<void, std::string>;

std::uint16_t le16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] | (static_cast<std::uint32_t>(p[1]) << 8));
}
std::uint32_t le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t le64(const unsigned char* p) {
  return static_cast<std::uint64_t>(le32(p)) | (static_cast<std::uint64_t>(le32(p + 4)) << 32);
}

// Entry names come from the archive: keep them printable and short in errors.
std::string quoted(std::string_view name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < name.size() && i < 200; ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (name.size() > 200) out += "...";
  out += "\"";
  return out;
}

std::unexpected<std::string> fail(std::string msg) {
  return std::unexpected("go zip: " + std::move(msg));
}

// Reads exactly len bytes at off. The caller has checked off+len <= size, so
// a short read means the file is shorter than the caller said.
Status readAt(int fd, std::uint64_t off, unsigned char* buf, std::size_t len) {
  while (len > 0) {
    ssize_t n = ::pread(fd, buf, len, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("read at offset " + std::to_string(off) + ": " + std::strerror(errno));
    }
    if (n == 0) return fail("file ends before offset " + std::to_string(off));
    buf += n;
    len -= static_cast<std::size_t>(n);
    off += static_cast<std::uint64_t>(n);
  }
  return {};
}

struct Entry {
  std::string_view name;  // points into the central directory buffer
  std::uint16_t flags = 0;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressedSize = 0;
  std::uint64_t uncompressedSize = 0;
  std::uint64_t headerOffset = 0;
  Sha256 sha256{};
};

struct CentralDirectory {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t records = 0;
  bool zip64 = false;
};

// Mirrors archive/zip readDirectoryEnd: the last end-record signature whose
// comment fits in the file wins; ZIP64 records are consulted only when a
// 32-bit field holds its sentinel and a well-formed locator precedes the end
// record.
std::expected<CentralDirectory, std::string> findCentralDirectory(int fd, std::uint64_t size) {
  if (size < kEndLen)
    return fail("file too small to be a zip (" + std::to_string(size) + " bytes)");
  std::uint64_t tailLen = std::min(size, kEndSearch);
  Bytes tail(tailLen);
  if (auto r = readAt(fd, size - tailLen, tail.data(), tail.size()); !r)
    return std::unexpected(r.error());

  std::uint64_t at = tailLen - kEndLen + 1;
  bool found = false;
  while (at-- > 0) {
    if (le32(&tail[at]) == kEndSig && at + kEndLen + le16(&tail[at + 20]) <= tailLen) {
      found = true;
      break;
    }
  }
  if (!found) return fail("no end of central directory record");

  const unsigned char* end = &tail[at];
  std::uint64_t endOffset = size - tailLen + at;
  CentralDirectory cd;
  cd.records = le16(end + 10);
  cd.size = le32(end + 12);
  cd.offset = le32(end + 16);
  // Go tests 0xffff for the size too (not 0xffffffff); matching it keeps the
  // two readers choosing the same records.
  if (cd.records == 0xffff || cd.size == 0xffff || cd.offset == 0xffffffff) {
    if (endOffset >= kZip64LocatorLen) {
      unsigned char loc[kZip64LocatorLen];
      if (auto r = readAt(fd, endOffset - kZip64LocatorLen, loc, sizeof loc); !r) {
        return std::unexpected(r.error());
      }
      if (le32(loc) == kZip64LocatorSig && le32(loc + 4) == 0 && le32(loc + 16) == 1) {
        std::uint64_t z64 = le64(loc + 8);
        if (z64 > size || size - z64 < kZip64EndLen) {
          return fail("zip64 end of central directory outside the file");
        }
        unsigned char rec[kZip64EndLen];
        if (auto r = readAt(fd, z64, rec, sizeof rec); !r) return std::unexpected(r.error());
        if (le32(rec) != kZip64EndSig) return fail("bad zip64 end of central directory signature");
        cd.records = le64(rec + 32);
        cd.size = le64(rec + 40);
        cd.offset = le64(rec + 48);
        cd.zip64 = true;
        endOffset = z64;
      }
    }
  }
  // Go would re-base every offset on data prepended to the archive; module
  // zips never carry any, so the directory must end exactly at its end record.
  if (cd.size > endOffset || cd.offset != endOffset - cd.size) {
    return fail("central directory (offset " + std::to_string(cd.offset) + ", size " +
                std::to_string(cd.size) + ") does not end at its end record (offset " +
                std::to_string(endOffset) + ")");
  }
  return cd;
}

// Mirrors archive/zip readDirectoryHeader, including its zip64 extra-field
// rules: an extra field is consulted only for 32-bit fields at their sentinel.
std::expected<std::vector<Entry>, std::string> parseCentralDirectory(const Bytes& buf,
                                                                     const CentralDirectory& cd,
                                                                     const GoZipLimits& limits) {
  std::vector<Entry> entries;
  std::uint64_t pos = 0;
  while (pos < buf.size()) {
    if (entries.size() >= limits.maxEntries) {
      return fail("more than " + std::to_string(limits.maxEntries) + " entries");
    }
    if (buf.size() - pos < kCentralLen) return fail("truncated central directory record");
    const unsigned char* h = &buf[pos];
    if (le32(h) != kCentralSig) {
      return fail("bad central directory signature at entry " + std::to_string(entries.size()));
    }
    std::uint64_t nameLen = le16(h + 28);
    std::uint64_t extraLen = le16(h + 30);
    std::uint64_t commentLen = le16(h + 32);
    if (buf.size() - pos - kCentralLen < nameLen + extraLen + commentLen) {
      return fail("truncated central directory record");
    }
    Entry e;
    e.flags = le16(h + 8);
    e.method = le16(h + 10);
    e.crc = le32(h + 16);
    std::uint32_t csize32 = le32(h + 20);
    std::uint32_t usize32 = le32(h + 24);
    std::uint32_t offset32 = le32(h + 42);
    e.compressedSize = csize32;
    e.uncompressedSize = usize32;
    e.headerOffset = offset32;
    e.name = std::string_view(reinterpret_cast<const char*>(h + kCentralLen), nameLen);

    bool needU = usize32 == 0xffffffff;
    bool needC = csize32 == 0xffffffff;
    bool needOffset = offset32 == 0xffffffff;
    const unsigned char* x = h + kCentralLen + nameLen;
    std::uint64_t xlen = extraLen;
    while (xlen >= 4) {
      std::uint16_t tag = le16(x);
      std::uint64_t fieldLen = le16(x + 2);
      x += 4;
      xlen -= 4;
      if (xlen < fieldLen) break;
      const unsigned char* f = x;
      std::uint64_t flen = fieldLen;
      x += fieldLen;
      xlen -= fieldLen;
      if (tag != kZip64ExtraId) continue;
      auto take = [&](std::uint64_t& out) -> bool {
        if (flen < 8) return false;
        out = le64(f);
        f += 8;
        flen -= 8;
        return true;
      };
      if (needU && !take(e.uncompressedSize)) return fail("short zip64 extra field");
      needU = false;
      if (needC && !take(e.compressedSize)) return fail("short zip64 extra field");
      needC = false;
      if (needOffset && !take(e.headerOffset)) return fail("short zip64 extra field");
      needOffset = false;
    }
    // An uncompressed size of exactly 0xffffffff without zip64 data is legal.
    if (needC || needOffset) return fail("entry " + quoted(e.name) + " lacks zip64 sizes");

    entries.push_back(e);
    pos += kCentralLen + nameLen + extraLen + commentLen;
  }
  // Go compares only the low 16 bits of a plain end record's count (writers
  // truncate it); a zip64 count is exact.
  bool countOk =
      cd.zip64 ? entries.size() == cd.records : (entries.size() & 0xffff) == (cd.records & 0xffff);
  if (!countOk) {
    return fail("central directory holds " + std::to_string(entries.size()) +
                " entries, end record says " + std::to_string(cd.records));
  }
  return entries;
}

Status checkEntries(std::vector<Entry>& entries, const GoZipLimits& limits) {
  std::uint64_t total = 0;
  for (const Entry& e : entries) {
    if (e.name.find('\n') != std::string_view::npos) {
      return fail("entry name contains a newline: " + quoted(e.name));
    }
    if (e.flags & kFlagEncrypted) return fail("entry " + quoted(e.name) + " is encrypted");
    if (e.method != kMethodStore && e.method != kMethodDeflate) {
      return fail("entry " + quoted(e.name) + " uses unsupported compression method " +
                  std::to_string(e.method));
    }
    if (e.method == kMethodStore && e.compressedSize != e.uncompressedSize) {
      return fail("stored entry " + quoted(e.name) + " has differing sizes");
    }
    // Go 1.19 would hash a directory entry's bytes, later Go versions refuse
    // them: such an archive has no single h1.
    if (e.name.ends_with('/') && e.uncompressedSize != 0) {
      return fail("directory entry " + quoted(e.name) + " has content");
    }
    if (e.uncompressedSize > limits.maxUncompressedTotal - total) {
      return fail("uncompressed content exceeds " + std::to_string(limits.maxUncompressedTotal) +
                  " bytes");
    }
    total += e.uncompressedSize;
  }
  return {};
}

class Sha256Ctx {
 public:
  Sha256Ctx() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_) ok_ = EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1;
  }
  bool ok() const { return ok_; }
  void update(const void* data, std::size_t len) {
    if (ok_ && len > 0) ok_ = EVP_DigestUpdate(ctx_.get(), data, len) == 1;
  }
  bool finish(Sha256& out) {
    unsigned int len = 0;
    if (ok_) ok_ = EVP_DigestFinal_ex(ctx_.get(), out.data(), &len) == 1 && len == out.size();
    return ok_;
  }

 private:
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
  bool ok_ = false;
};

struct InflateGuard {
  z_stream* zs;
  ~InflateGuard() { inflateEnd(zs); }
};

struct Buffers {
  Bytes in = Bytes(kChunk);
  Bytes out = Bytes(kChunk);
};

// Streams one entry's data through inflate (or straight through when stored)
// into SHA-256 and CRC-32, then checks both sizes and the CRC against the
// central directory, like archive/zip's checksumReader. Deflate data after
// the end of the stream is ignored, as Go's flate reader ignores it.
Status hashEntry(int fd, std::uint64_t size, Entry& e, Buffers& bufs) {
  if (e.headerOffset > size || size - e.headerOffset < kLocalLen) {
    return fail("local header of " + quoted(e.name) + " outside the file");
  }
  unsigned char local[kLocalLen];
  if (auto r = readAt(fd, e.headerOffset, local, sizeof local); !r) return r;
  if (le32(local) != kLocalSig) return fail("bad local header signature for " + quoted(e.name));
  std::uint64_t dataOffset = e.headerOffset + kLocalLen + le16(local + 26) + le16(local + 28);
  if (dataOffset > size || size - dataOffset < e.compressedSize) {
    return fail("data of " + quoted(e.name) + " extends past the end of the file");
  }

  Sha256Ctx sha;
  if (!sha.ok()) return fail("sha256 init failed");
  uLong crc = crc32_z(0, nullptr, 0);
  std::uint64_t produced = 0;
  std::uint64_t inPos = dataOffset;
  std::uint64_t inLeft = e.compressedSize;
  auto consume = [&](const unsigned char* p, std::size_t n) -> Status {
    if (n > e.uncompressedSize - produced) {
      return fail(quoted(e.name) + " is larger than its declared " +
                  std::to_string(e.uncompressedSize) + " bytes");
    }
    produced += n;
    sha.update(p, n);
    crc = crc32_z(crc, p, n);
    return {};
  };

  if (e.method == kMethodStore) {
    while (inLeft > 0) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(inLeft, kChunk));
      if (auto r = readAt(fd, inPos, bufs.in.data(), n); !r) return r;
      inPos += n;
      inLeft -= n;
      if (auto r = consume(bufs.in.data(), n); !r) return r;
    }
  } else {
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return fail("inflateInit2 failed");
    InflateGuard guard{&zs};
    for (;;) {
      if (zs.avail_in == 0 && inLeft > 0) {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(inLeft, kChunk));
        if (auto r = readAt(fd, inPos, bufs.in.data(), n); !r) return r;
        inPos += n;
        inLeft -= n;
        zs.next_in = bufs.in.data();
        zs.avail_in = static_cast<uInt>(n);
      }
      zs.next_out = bufs.out.data();
      zs.avail_out = static_cast<uInt>(kChunk);
      int rc = inflate(&zs, Z_NO_FLUSH);
      std::size_t got = kChunk - zs.avail_out;
      if (got > 0) {
        if (auto r = consume(bufs.out.data(), got); !r) return r;
      }
      if (rc == Z_STREAM_END) break;
      if (rc == Z_OK) continue;
      if (rc == Z_BUF_ERROR && zs.avail_in == 0 && inLeft == 0) {
        return fail("deflate data of " + quoted(e.name) + " is truncated");
      }
      return fail("corrupt deflate data in " + quoted(e.name) + ": " +
                  (zs.msg ? zs.msg : std::to_string(rc)));
    }
  }

  if (produced != e.uncompressedSize) {
    return fail(quoted(e.name) + " holds " + std::to_string(produced) + " bytes, declared " +
                std::to_string(e.uncompressedSize));
  }
  if (e.flags & kFlagDescriptor) {
    // The data descriptor's signature is optional; Go needs the 12 bytes after
    // it to exist and its CRC to match the central directory's.
    std::uint64_t at = dataOffset + e.compressedSize;
    unsigned char desc[16];
    if (size - at < 4) return fail("data descriptor of " + quoted(e.name) + " is truncated");
    if (auto r = readAt(fd, at, desc, 4); !r) return r;
    std::uint64_t need = le32(desc) == kDescriptorSig ? 16 : 12;
    if (size - at < need) return fail("data descriptor of " + quoted(e.name) + " is truncated");
    if (auto r = readAt(fd, at + 4, desc + 4, need - 4); !r) return r;
    std::uint32_t descCrc = need == 16 ? le32(desc + 4) : le32(desc);
    if (descCrc != e.crc) return fail("data descriptor CRC-32 mismatch for " + quoted(e.name));
  }
  if (crc != e.crc) return fail("CRC-32 mismatch for " + quoted(e.name));
  if (!sha.finish(e.sha256)) return fail("sha256 failed");
  return {};
}

// dirhash.Hash1 over (name, sha256) pairs already in sort.Strings order.
template <typename It>
std::expected<std::string, std::string> hash1(It begin, It end) {
  static constexpr char kHex[] = "0123456789abcdef";
  Sha256Ctx summary;
  if (!summary.ok()) return fail("sha256 init failed");
  std::string line;
  for (It it = begin; it != end; ++it) {
    const auto& [name, digest] = *it;
    line.clear();
    for (unsigned char b : digest) {
      line.push_back(kHex[b >> 4]);
      line.push_back(kHex[b & 0xf]);
    }
    line += "  ";
    line += name;
    line += '\n';
    summary.update(line.data(), line.size());
  }
  Sha256 sum;
  if (!summary.finish(sum)) return fail("sha256 failed");
  unsigned char b64[45];  // 4 * ceil(32 / 3) + NUL
  int n = EVP_EncodeBlock(b64, sum.data(), static_cast<int>(sum.size()));
  return "h1:" + std::string(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n));
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string goModH1(std::string_view goModContent) {
  Sha256 digest{};
  Sha256Ctx sha;
  sha.update(goModContent.data(), goModContent.size());
  sha.finish(digest);
  std::pair<std::string_view, Sha256> file{"go.mod", digest};
  // Only an OpenSSL failure can make this fail; there is no name to reject.
  return hash1(&file, &file + 1).value_or(std::string{});
}

std::expected<std::string, std::string> goZipH1(int fd, std::uint64_t size,
                                                const GoZipLimits& limits) {
  if (size > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) {
    return fail("size " + std::to_string(size) + " out of range");
  }
  auto cd = findCentralDirectory(fd, size);
  if (!cd) return std::unexpected(cd.error());
  if (cd->size > limits.maxCentralDirectoryBytes) {
    return fail("central directory of " + std::to_string(cd->size) + " bytes exceeds " +
                std::to_string(limits.maxCentralDirectoryBytes));
  }
  Bytes dir(cd->size);
  if (auto r = readAt(fd, cd->offset, dir.data(), dir.size()); !r)
    return std::unexpected(r.error());
  auto entries = parseCentralDirectory(dir, *cd, limits);
  if (!entries) return std::unexpected(entries.error());
  if (auto r = checkEntries(*entries, limits); !r) return std::unexpected(r.error());

  // Duplicates are refused before any data is read: HashZip would hash the
  // last duplicate twice and the go command's unzip rejects the archive.
  std::vector<std::pair<std::string_view, Sha256>> sorted;
  sorted.reserve(entries->size());
  for (const Entry& e : *entries) sorted.emplace_back(e.name, Sha256{});
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  auto dup = std::adjacent_find(sorted.begin(), sorted.end(),
                                [](const auto& a, const auto& b) { return a.first == b.first; });
  if (dup != sorted.end()) return fail("duplicate entry " + quoted(dup->first));

  // Central-directory order is (for every real writer) file order, so the
  // data is read front to back.
  Buffers bufs;
  for (Entry& e : *entries) {
    if (auto r = hashEntry(fd, size, e, bufs); !r) return std::unexpected(r.error());
  }
  std::sort(entries->begin(), entries->end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  for (std::size_t i = 0; i < entries->size(); ++i) sorted[i].second = (*entries)[i].sha256;
  return hash1(sorted.begin(), sorted.end());
}

std::expected<std::string, std::string> goZipH1(const std::string& path,
                                                const GoZipLimits& limits) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return fail("open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return fail("stat " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(path + " is not a regular file");
  return goZipH1(f.fd, static_cast<std::uint64_t>(st.st_size), limits);
}

}  // namespace hoard
