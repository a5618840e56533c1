#pragma once
// Human units in the config file: durations ("250ms", "30s", "5m", "1h", "7d", "1h30m"; a plain
// integer is seconds) and byte sizes ("1024", "512MiB", "10GB"; KiB/MiB/GiB/TiB are powers of
// 1024, KB/MB/GB/TB powers of 1000, unit letters case-insensitive, optional space before the
// unit). Parsers reject overflow, negatives, fractions and empty input rather than guessing.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace hoard::conf {

std::expected<std::uint64_t, std::string> parseDurationMs(std::string_view text);
std::expected<std::uint64_t, std::string> parseSizeBytes(std::string_view text);

// Shortest exact spelling in the units above, for check-config output: 300000 -> "5m",
// 90000 -> "1m30s", 53687091200 -> "50GiB", 1000 -> "1KB", 1023 -> "1023B".
std::string formatDuration(std::uint64_t ms);
std::string formatSize(std::uint64_t bytes);

}  // namespace hoard::conf
