#include "cache/go_dirhash.h"

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cache/digest.h"

// Expected values come from golang.org/x/mod itself (testdata/go_dirhash/gen.sh
// runs dirhash.HashZip / Hash1 and x/mod/zip.Create); zips built here are
// checked against refHash1, which is checked against Go's "synthetic" vector.

namespace {

using hoard::goModH1;
using hoard::goZipH1;
using hoard::GoZipLimits;
using Files = std::vector<std::pair<std::string, std::string>>;

const std::filesystem::path kData =
    std::filesystem::path(__FILE__).parent_path() / "testdata" / "go_dirhash";

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::map<std::string, std::string>& expected() {
  static const std::map<std::string, std::string> vectors = [] {
    std::map<std::string, std::string> m;
    std::istringstream in(readFile(kData / "expected.txt"));
    std::string key, h1;
    while (in >> key >> h1) m[key] = h1;
    return m;
  }();
  return vectors;
}

std::string want(const std::string& key) {
  auto it = expected().find(key);
  REQUIRE(it != expected().end());
  return it->second;
}

// An anonymous in-memory file, so every test hashes through a real fd.
class MemFile {
 public:
  explicit MemFile(const std::string& bytes) : fd_(memfd_create("go_dirhash", MFD_CLOEXEC)) {
    REQUIRE(fd_ >= 0);
    REQUIRE(::write(fd_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::expected<std::string, std::string> hashBytes(const std::string& bytes,
                                                  const GoZipLimits& limits = {}) {
  MemFile f(bytes);
  return goZipH1(f.fd(), bytes.size(), limits);
}

// The hash, or the error text: readable when a CHECK against an h1 fails.
std::string h1Of(const std::string& bytes, const GoZipLimits& limits = {}) {
  auto r = hashBytes(bytes, limits);
  return r ? *r : "error: " + r.error();
}

std::string base64(const std::string& raw) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= raw.size(); i += 3) {
    std::uint32_t v = (std::uint32_t(std::uint8_t(raw[i])) << 16) |
                      (std::uint32_t(std::uint8_t(raw[i + 1])) << 8) | std::uint8_t(raw[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (raw.size() - i == 1) {
    std::uint32_t v = std::uint32_t(std::uint8_t(raw[i])) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (raw.size() - i == 2) {
    std::uint32_t v = (std::uint32_t(std::uint8_t(raw[i])) << 16) |
                      (std::uint32_t(std::uint8_t(raw[i + 1])) << 8);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

std::string unhex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// dirhash.Hash1 written the obvious way, independent of the code under test.
std::string refHash1(Files files) {
  std::sort(files.begin(), files.end());
  std::string summary;
  for (const auto& [name, content] : files) {
    summary += hoard::sha256Hex(content) + "  " + name + "\n";
  }
  return "h1:" + base64(unhex(hoard::sha256Hex(summary)));
}

// Mirrors synthetic() in testdata/go_dirhash/vec.go.
Files syntheticFiles() {
  const std::string p = "example.com/syn@v0.1.0/";
  std::string big(300000, '\0');
  std::uint64_t x = 42;
  for (char& c : big) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    c = char(x >> 56);
  }
  return {{p + "go.mod", "module example.com/syn\n"},
          {p + "a.txt", "alpha\n"},
          {p + "Z.txt", "zed"},
          {p + "sub-x.txt", ""},
          {p + "sub/b.go", "package sub\n"},
          {p + "big.bin", big}};
}

// ---- a small zip writer, so tests can build every structure they need ----

struct ZEntry {
  std::string name;
  std::string content;
  std::uint16_t method = 8;
  std::uint16_t flags = 0;
  bool descriptor = false;
  bool descriptorSig = true;
  bool zip64 = false;      // sentinels in the central record, real values in a zip64 extra
  std::string localExtra;  // local header extra field
  std::string trailing;    // bytes after the deflate stream, inside the compressed size
  std::optional<std::uint32_t> crc;  // central-directory overrides
  std::optional<std::uint64_t> usize;
  std::optional<std::uint64_t> csize;
  std::optional<std::uint64_t> offset;
};

struct ZOptions {
  bool zip64End = false;
  bool reverseDirectory = false;  // central order differs from data order
  std::string comment;
  std::string prefix;  // prepended without adjusting offsets (self-extractor style)
  std::optional<std::uint16_t> count;
};

struct Built {
  std::string bytes;
  std::vector<std::size_t> dataOffsets;  // absolute, per entry
  std::vector<std::size_t> dataSizes;
};

void put16(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 2; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}
void put32(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}
void put64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}

std::string deflateRaw(const std::string& in) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = uInt(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::uint32_t crcOf(const std::string& s) {
  return std::uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(s.data()), s.size()));
}

Built buildZip(const std::vector<ZEntry>& entries, const ZOptions& opt = {}) {
  Built b;
  std::string& z = b.bytes;
  std::vector<std::uint64_t> offsets;
  std::vector<std::string> payloads;
  for (const ZEntry& e : entries) {
    std::string data = e.method == 8 ? deflateRaw(e.content) + e.trailing : e.content;
    std::uint32_t crc = crcOf(e.content);
    offsets.push_back(z.size());
    put32(z, 0x04034b50);
    put16(z, 20);
    put16(z, e.flags | (e.descriptor ? 8 : 0));
    put16(z, e.method);
    put16(z, 0);
    put16(z, 0x21);
    put32(z, e.descriptor ? 0 : crc);
    put32(z, e.descriptor ? 0 : data.size());
    put32(z, e.descriptor ? 0 : e.content.size());
    put16(z, e.name.size());
    put16(z, e.localExtra.size());
    z += e.name + e.localExtra;
    b.dataOffsets.push_back(opt.prefix.size() + z.size());
    b.dataSizes.push_back(data.size());
    z += data;
    if (e.descriptor) {
      if (e.descriptorSig) put32(z, 0x08074b50);
      put32(z, crc);
      put32(z, data.size());
      put32(z, e.content.size());
    }
    payloads.push_back(std::move(data));
  }
  std::uint64_t cdStart = z.size();
  std::vector<std::size_t> order(entries.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (opt.reverseDirectory) std::reverse(order.begin(), order.end());
  for (std::size_t i : order) {
    const ZEntry& e = entries[i];
    std::uint64_t csize = e.csize.value_or(payloads[i].size());
    std::uint64_t usize = e.usize.value_or(e.content.size());
    std::uint64_t off = e.offset.value_or(offsets[i]);
    std::string extra;
    if (e.zip64) {
      put16(extra, 1);
      put16(extra, 24);
      put64(extra, usize);
      put64(extra, csize);
      put64(extra, off);
    }
    put32(z, 0x02014b50);
    put16(z, 20);
    put16(z, 20);
    put16(z, e.flags | (e.descriptor ? 8 : 0));
    put16(z, e.method);
    put16(z, 0);
    put16(z, 0x21);
    put32(z, e.crc.value_or(crcOf(e.content)));
    put32(z, e.zip64 ? 0xffffffff : csize);
    put32(z, e.zip64 ? 0xffffffff : usize);
    put16(z, e.name.size());
    put16(z, extra.size());
    put16(z, 0);
    put16(z, 0);
    put16(z, 0);
    put32(z, 0);
    put32(z, e.zip64 ? 0xffffffff : off);
    z += e.name + extra;
  }
  std::uint64_t cdSize = z.size() - cdStart;
  std::uint64_t count = opt.count.value_or(entries.size());
  if (opt.zip64End) {
    std::uint64_t z64 = z.size();
    put32(z, 0x06064b50);
    put64(z, 44);
    put16(z, 45);
    put16(z, 45);
    put32(z, 0);
    put32(z, 0);
    put64(z, count);
    put64(z, count);
    put64(z, cdSize);
    put64(z, cdStart);
    put32(z, 0x07064b50);
    put32(z, 0);
    put64(z, z64);
    put32(z, 1);
  }
  put32(z, 0x06054b50);
  put16(z, 0);
  put16(z, 0);
  put16(z, opt.zip64End ? 0xffff : count);
  put16(z, opt.zip64End ? 0xffff : count);
  put32(z, opt.zip64End ? 0xffffffff : cdSize);
  put32(z, opt.zip64End ? 0xffffffff : cdStart);
  put16(z, opt.comment.size());
  z += opt.comment;
  z = opt.prefix + z;
  return b;
}

std::vector<ZEntry> entriesFor(const Files& files, std::uint16_t method) {
  std::vector<ZEntry> out;
  for (const auto& [name, content] : files) {
    ZEntry e;
    e.name = name;
    e.content = content;
    e.method = method;
    out.push_back(e);
  }
  return out;
}

Files small() {
  return {{"m@v1/go.mod", "module m\n"}, {"m@v1/a.go", "package a\n"}, {"m@v1/b", "bbbb"}};
}

void requireError(const std::expected<std::string, std::string>& r, const std::string& part) {
  INFO("result: " << (r ? *r : r.error()));
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error(), Catch::Contains(part));
}

}  // namespace

TEST_CASE("goModH1 matches the go command's go.mod hashes", "[go_dirhash]") {
  for (const char* name : {"hello.mod", "empty.mod", "crlf.mod"}) {
    INFO(name);
    CHECK(goModH1(readFile(kData / name)) == want(name));
  }
  CHECK(goModH1("module a\n") != goModH1("module b\n"));
}

TEST_CASE("the test's reference Hash1 agrees with x/mod's dirhash", "[go_dirhash]") {
  CHECK(refHash1(syntheticFiles()) == want("synthetic"));
  CHECK(refHash1({}) == want("empty.zip"));
}

TEST_CASE("goZipH1 matches dirhash.HashZip on Go- and Python-made zips", "[go_dirhash]") {
  // hello.zip: x/mod/zip.Create (deflate + data descriptors, a 440 KB file,
  // a non-ASCII name); stored.zip: method 0, a directory entry, a decoy end
  // record in the comment; descriptor.zip; zip64.zip: ZIP64 end record and
  // extra fields; empty.zip: no entries.
  for (const char* name : {"hello.zip", "stored.zip", "descriptor.zip", "zip64.zip", "empty.zip"}) {
    INFO(name);
    auto h = goZipH1((kData / name).string());
    REQUIRE(h.has_value());
    CHECK(*h == want(name));
  }
}

TEST_CASE("goZipH1 reads with pread and leaves the fd offset alone", "[go_dirhash]") {
  std::string bytes = readFile(kData / "hello.zip");
  MemFile f(bytes);
  REQUIRE(::lseek(f.fd(), 7, SEEK_SET) == 7);
  auto h = goZipH1(f.fd(), bytes.size());
  REQUIRE(h.has_value());
  CHECK(*h == want("hello.zip"));
  CHECK(::lseek(f.fd(), 0, SEEK_CUR) == 7);
}

TEST_CASE("goZipH1 depends only on names and contents, not on the zip encoding", "[go_dirhash]") {
  // big.bin is 300 KB of noise: both the compressed input and the output cross
  // many read/inflate chunks.
  const Files files = syntheticFiles();
  const std::string h1 = want("synthetic");

  SECTION("stored") {
    CHECK(h1Of(buildZip(entriesFor(files, 0)).bytes) == h1);
  }
  SECTION("deflate") {
    CHECK(h1Of(buildZip(entriesFor(files, 8)).bytes) == h1);
  }
  SECTION("data descriptors with and without signature") {
    auto es = entriesFor(files, 8);
    for (std::size_t i = 0; i < es.size(); ++i) {
      es[i].descriptor = true;
      es[i].descriptorSig = i % 2 == 0;
    }
    CHECK(h1Of(buildZip(es).bytes) == h1);
  }
  SECTION("zip64 extra fields and end record") {
    auto es = entriesFor(files, 8);
    for (auto& e : es) e.zip64 = true;
    ZOptions opt;
    opt.zip64End = true;
    CHECK(h1Of(buildZip(es, opt).bytes) == h1);
  }
  SECTION("comment, local extra fields, reversed directory, bytes after the deflate end") {
    auto es = entriesFor(files, 8);
    for (auto& e : es) {
      e.localExtra = std::string("\xfe\xca\x03\x00xyz", 7);
      e.trailing = "junk";
    }
    ZOptions opt;
    opt.comment = "a comment";
    opt.reverseDirectory = true;
    CHECK(h1Of(buildZip(es, opt).bytes) == h1);
  }
  SECTION("mixed methods") {
    auto es = entriesFor(files, 8);
    es[1].method = 0;
    es[5].method = 0;
    CHECK(h1Of(buildZip(es).bytes) == h1);
  }
}

TEST_CASE("goZipH1 hashes empty directory entries as empty files, as HashZip does",
          "[go_dirhash]") {
  Files files = small();
  files.push_back({"m@v1/dir/", ""});
  CHECK(h1Of(buildZip(entriesFor(files, 0)).bytes) == refHash1(files));
  CHECK(refHash1(files) != refHash1(small()));

  auto es = entriesFor(small(), 0);
  ZEntry dir;
  dir.name = "m@v1/dir/";
  dir.content = "not empty";
  es.push_back(dir);
  requireError(hashBytes(buildZip(es).bytes), "directory entry");
}

TEST_CASE("goZipH1 detects corrupted entry data", "[go_dirhash]") {
  SECTION("a flipped byte in stored data fails the CRC-32") {
    std::string bytes = readFile(kData / "stored.zip");
    auto at = bytes.find("stored, not deflated");
    REQUIRE(at != std::string::npos);
    bytes[at + 3] ^= 0x20;
    requireError(hashBytes(bytes), "CRC-32 mismatch");
  }
  SECTION("a flipped byte in deflate data") {
    auto es = entriesFor(syntheticFiles(), 8);
    Built b = buildZip(es);
    std::size_t big = 5;  // big.bin
    REQUIRE(b.dataSizes[big] > 1000);
    b.bytes[b.dataOffsets[big] + b.dataSizes[big] / 2] ^= 0x01;
    auto r = hashBytes(b.bytes);
    REQUIRE_FALSE(r.has_value());
  }
  SECTION("central CRC-32 disagrees with the data") {
    auto es = entriesFor(small(), 8);
    es[1].crc = crcOf(es[1].content) ^ 1;
    requireError(hashBytes(buildZip(es).bytes), "CRC-32 mismatch for \"m@v1/a.go\"");
  }
  SECTION("data descriptor CRC-32 disagrees with the central directory") {
    auto es = entriesFor(small(), 8);
    es[0].descriptor = true;
    Built b = buildZip(es);
    b.bytes[b.dataOffsets[0] + b.dataSizes[0] + 4] ^= 0x01;  // after the descriptor signature
    requireError(hashBytes(b.bytes), "data descriptor CRC-32 mismatch");
  }
  SECTION("declared size larger than the data") {
    auto es = entriesFor(small(), 8);
    es[2].usize = es[2].content.size() + 1;
    requireError(hashBytes(buildZip(es).bytes), "declared 5");
  }
  SECTION("data inflating past its declared size") {
    auto es = entriesFor(small(), 8);
    es[2].usize = es[2].content.size() - 1;
    requireError(hashBytes(buildZip(es).bytes), "larger than its declared 3 bytes");
  }
  SECTION("deflate stream cut short by the compressed size") {
    auto es = entriesFor(syntheticFiles(), 8);
    Built whole = buildZip(es);
    es[5].csize = whole.dataSizes[5] / 2;
    requireError(hashBytes(buildZip(es).bytes), "truncated");
  }
  SECTION("stored sizes that differ") {
    auto es = entriesFor(small(), 0);
    es[0].csize = es[0].content.size() - 1;
    requireError(hashBytes(buildZip(es).bytes), "differing sizes");
  }
}

TEST_CASE("goZipH1 rejects entries it must not hash", "[go_dirhash]") {
  SECTION("encrypted") {
    auto es = entriesFor(small(), 0);
    es[1].flags = 1;
    requireError(hashBytes(buildZip(es).bytes), "encrypted");
  }
  SECTION("unsupported method") {
    auto es = entriesFor(small(), 0);
    es[1].method = 12;  // bzip2
    requireError(hashBytes(buildZip(es).bytes), "unsupported compression method 12");
  }
  SECTION("duplicate names") {
    Files files = small();
    files.push_back({"m@v1/a.go", "package b\n"});
    requireError(hashBytes(buildZip(entriesFor(files, 8)).bytes), "duplicate entry \"m@v1/a.go\"");
  }
  SECTION("a newline in a name, reported without the raw newline") {
    Files files = small();
    files.push_back({"m@v1/evil\nname", "x"});
    auto r = hashBytes(buildZip(entriesFor(files, 8)).bytes);
    requireError(r, "newline");
    CHECK(r.error().find('\n') == std::string::npos);
  }
}

TEST_CASE("goZipH1 rejects broken archive structure", "[go_dirhash]") {
  const std::string hello = readFile(kData / "hello.zip");

  SECTION("every truncation of a real module zip") {
    for (std::size_t len = 0; len < hello.size(); ++len) {
      INFO(len);
      CHECK_FALSE(hashBytes(hello.substr(0, len)).has_value());
    }
  }
  SECTION("no end record") {
    std::mt19937 rng(1);
    std::string noise(5000, '\0');
    for (char& c : noise) c = char(rng());
    requireError(hashBytes(noise), "no end of central directory");
    requireError(hashBytes(""), "too small");
  }
  SECTION("end record pointing nowhere") {
    std::string bytes = hello;
    auto eocd = bytes.rfind(std::string("PK\x05\x06", 4));
    REQUIRE(eocd != std::string::npos);
    bytes[eocd + 16] ^= 0x40;  // central directory offset
    requireError(hashBytes(bytes), "does not end at its end record");
  }
  SECTION("garbage after the end record's comment length") {
    std::string bytes = hello;
    auto eocd = bytes.rfind(std::string("PK\x05\x06", 4));
    bytes[eocd + 20] = 5;  // claims a 5-byte comment that is not there
    requireError(hashBytes(bytes), "no end of central directory");
  }
  SECTION("entry count disagreeing with the directory") {
    ZOptions opt;
    opt.count = 2;
    requireError(hashBytes(buildZip(entriesFor(small(), 8), opt).bytes), "end record says 2");
  }
  SECTION("data prepended without adjusting offsets") {
    ZOptions opt;
    opt.prefix = "#!/bin/sh\nexit 0\n";
    requireError(hashBytes(buildZip(entriesFor(small(), 8), opt).bytes),
                 "does not end at its end record");
  }
  SECTION("local header offset outside the file") {
    auto es = entriesFor(small(), 8);
    es[1].offset = 1u << 30;
    requireError(hashBytes(buildZip(es).bytes), "outside the file");
  }
  SECTION("local header offset at a non-header") {
    auto es = entriesFor(small(), 8);
    es[1].offset = 3;
    requireError(hashBytes(buildZip(es).bytes), "bad local header signature");
  }
  SECTION("compressed size past the end of the file") {
    auto es = entriesFor(small(), 8);
    es[0].csize = 1u << 20;
    requireError(hashBytes(buildZip(es).bytes), "extends past the end");
  }
  SECTION("zip64 huge sizes") {
    auto es = entriesFor(small(), 0);
    for (auto& e : es) e.zip64 = true;
    es[0].csize = es[0].usize = ~std::uint64_t{0} - 10;
    requireError(hashBytes(buildZip(es).bytes), "exceeds");
  }
  SECTION("zip64 sentinel without a zip64 extra field") {
    std::string bytes = buildZip(entriesFor(small(), 8)).bytes;
    auto cd = bytes.find(std::string("PK\x01\x02", 4));
    REQUIRE(cd != std::string::npos);
    for (int i = 20; i < 24; ++i) bytes[cd + i] = '\xff';  // compressed size
    requireError(hashBytes(bytes), "lacks zip64 sizes");
  }
  SECTION("zip64 end record outside the file") {
    ZOptions opt;
    opt.zip64End = true;
    std::string bytes = buildZip(entriesFor(small(), 8), opt).bytes;
    auto loc = bytes.rfind(std::string("PK\x06\x07", 4));
    REQUIRE(loc != std::string::npos);
    bytes[loc + 14] = 0x7f;  // offset 2^55-ish
    requireError(hashBytes(bytes), "zip64 end of central directory outside the file");
  }
  SECTION("size argument larger than the file") {
    MemFile f(hello);
    CHECK_FALSE(goZipH1(f.fd(), hello.size() + 100).has_value());
    CHECK_FALSE(goZipH1(f.fd(), ~std::uint64_t{0}).has_value());
  }
  SECTION("missing path") {
    requireError(goZipH1((kData / "no-such.zip").string()), "open");
  }
}

TEST_CASE("goZipH1 enforces its limits", "[go_dirhash]") {
  const std::string bytes = buildZip(entriesFor(small(), 8)).bytes;
  std::uint64_t total = 0;
  for (const auto& [name, content] : small()) total += content.size();

  GoZipLimits limits;
  limits.maxEntries = 3;
  CHECK(h1Of(bytes, limits) == refHash1(small()));
  limits.maxEntries = 2;
  requireError(hashBytes(bytes, limits), "more than 2 entries");

  limits = {};
  limits.maxUncompressedTotal = total;
  CHECK(h1Of(bytes, limits) == refHash1(small()));
  limits.maxUncompressedTotal = total - 1;
  requireError(hashBytes(bytes, limits), "uncompressed content exceeds");

  limits = {};
  limits.maxCentralDirectoryBytes = 50;
  requireError(hashBytes(bytes, limits), "central directory of");
}

TEST_CASE("goZipH1 survives random damage", "[go_dirhash]") {
  // Run under HOARD_SANITIZE=ON: the point is that nothing here crashes,
  // reads out of bounds or loops; results only have to be value-or-error.
  std::vector<std::string> seeds;
  for (const char* name : {"hello.zip", "stored.zip", "descriptor.zip", "zip64.zip"}) {
    seeds.push_back(readFile(kData / name));
  }
  auto es = entriesFor(small(), 8);
  for (auto& e : es) {
    e.zip64 = true;
    e.descriptor = true;
  }
  ZOptions opt;
  opt.zip64End = true;
  seeds.push_back(buildZip(es, opt).bytes);

  std::mt19937_64 rng(20240601);
  const std::uint32_t interesting[] = {0, 1, 0xffff, 0xffffffff, 0x7fffffff, 0x80000000, 46, 30};
  int errors = 0, values = 0;
  for (const std::string& seed : seeds) {
    for (int iter = 0; iter < 1000; ++iter) {
      std::string m = seed;
      switch (rng() % 5) {
        case 0:
          m.resize(rng() % m.size());
          break;
        case 1:
          for (int k = 1 + int(rng() % 8); k > 0; --k)
            m[rng() % m.size()] ^= char(1 << (rng() % 8));
          break;
        case 2: {  // a plausible-looking field value somewhere (sizes, offsets, counts)
          std::size_t at = rng() % (m.size() - 4);
          std::uint32_t v = rng() % 2 ? interesting[rng() % std::size(interesting)]
                                      : std::uint32_t(rng() % (2 * m.size()));
          for (int i = 0; i < 4; ++i) m[at + i] = char(v >> (8 * i));
          break;
        }
        case 3:
          m.erase(rng() % m.size(), 1 + rng() % 16);
          break;
        default:
          m.insert(rng() % m.size(), std::string(1 + rng() % 16, char(rng())));
          break;
      }
      auto r = hashBytes(m);
      (r ? values : errors)++;
      if (r) CHECK(r->starts_with("h1:"));
    }
  }
  INFO("values " << values << " errors " << errors);
  CHECK(errors > 1000);
  CHECK(values > 0);  // damage to ignored bytes (times, comments) is harmless
}
