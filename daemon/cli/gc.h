#pragma once
#include <string_view>
#include <vector>

namespace hoard::cli {

inline constexpr const char* kGcUsage =
    "  gc (--store DIR | --url URL) [--grace SECONDS] [--json]\n"
    "                       delete index entries whose file is gone and files in\n"
    "                       blobs/ without an index entry older than the grace\n"
    "                       (default 600 s with --url, 0 with --store); with\n"
    "                       --store also empties tmp/. exit 0 done, 1 errors, 2 could not run\n";

// `hoard gc ...`; args exclude "gc". Returns the exit code.
int gcCommand(const std::vector<std::string_view>& args);

}  // namespace hoard::cli
