#pragma once
#include <string_view>
#include <vector>

namespace hoard::cli {

inline constexpr const char* kVerifyUsage =
    "  verify (--store DIR | --url URL) [--repair] [--rate MB] [--json]\n"
    "                       re-hash every stored object against its digest;\n"
    "                       --repair quarantines bad files (<store>/quarantine/),\n"
    "                       drops their index entries and adopts good orphans.\n"
    "                       --store: a stopped hoard's store; --url: a running\n"
    "                       hoard (reads capped at --rate MB/s, default 64, 0 = no cap).\n"
    "                       exit 0 clean, 1 bad objects found, 2 could not run\n";

// `hoard verify ...`; args exclude "verify". Returns the exit code.
int verifyCommand(const std::vector<std::string_view>& args);

}  // namespace hoard::cli
