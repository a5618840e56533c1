#pragma once
// The Go checksum database's `h1:` hashes (golang.org/x/mod/sumdb/dirhash
// Hash1), so Go module zips and go.mod files can be checked against go.sum /
// sumdb lines before they are cached:
//
//   summary = for each file name in byte order: hex(sha256(content)) "  " name "\n"
//   h1      = "h1:" + base64(sha256(summary))
//
// A module zip hashes every central-directory entry under the name exactly
// as stored (`<module>@<version>/path`), as dirhash.HashZip does; a go.mod
// hashes as the single file "go.mod".
//
// goZipH1 reads untrusted upstream bytes: every malformation is an error
// string, never a crash, and memory stays bounded (the central directory is
// read once, entry data streams through inflate in fixed-size chunks).
// It blocks on disk reads: call it off the loop (runOffLoop).
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace hoard {

// Bounds that keep a hostile archive from costing unbounded memory or CPU.
// The defaults are far above any real module: the go command itself refuses
// modules whose content exceeds 500 MiB uncompressed (x/mod/zip MaxZipFile).
struct GoZipLimits {
  std::uint64_t maxEntries = std::uint64_t{1} << 20;
  std::uint64_t maxCentralDirectoryBytes = std::uint64_t{64} << 20;
  // Sum of the declared uncompressed sizes; inflation past an entry's
  // declared size is an error, so this also caps decompression work.
  std::uint64_t maxUncompressedTotal = std::uint64_t{500} << 20;
};

// h1 of a go.mod file, as recorded in `<module> <version>/go.mod h1:...` lines.
std::string goModH1(std::string_view goModContent);

// h1 of the module zip open on `fd`, whose length is `size` bytes; read with
// pread only (the fd's offset is untouched, so it may be shared).
// Stricter than Go's archive/zip where Go's reading is ambiguous or lenient:
// rejects encrypted entries, methods other than store/deflate, duplicate
// names, names containing '\n', directory entries with content, a CRC-32 or
// size that disagrees with the central directory (even a zero CRC), data
// before the first entry or between the central directory and its end
// record, and anything pointing outside the file.
std::expected<std::string, std::string> goZipH1(int fd, std::uint64_t size,
                                                const GoZipLimits& limits = {});

// Opens and hashes the zip at `path` (tests, CLI).
std::expected<std::string, std::string> goZipH1(const std::string& path,
                                                const GoZipLimits& limits = {});

}  // namespace hoard
