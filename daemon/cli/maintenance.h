#pragma once
// What `hoard verify` and `hoard gc` share: the --store / --url / --json
// choice, whole-number option values, and asking a running hoard's admin
// endpoint for a JSON report.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoard::cli {

struct MaintenanceArgs {
  std::string store;  // offline: the store directory
  std::string url;    // online: the running hoard's base URL
  bool json = false;
};

// Handles one command-specific argument at args[i] (advancing i past any
// value it takes): "" when it was understood, else what is wrong with it.
using ExtraArg =
    std::function<std::string(const std::vector<std::string_view>& args, std::size_t& i)>;

// Exactly one of --store DIR and --url URL, plus --json and `extra`'s options.
std::expected<MaintenanceArgs, std::string> parseMaintenanceArgs(
    const std::vector<std::string_view>& args, const ExtraArg& extra);

std::optional<std::uint64_t> parseWholeNumber(std::string_view s);

// POSTs `path` to the hoard at `url` and returns its 200 JSON body; anything
// else is reported on stderr as "hoard <command>: ..." and gives nullopt.
std::optional<nlohmann::json> requestReport(const std::string& command, const std::string& url,
                                            const std::string& path);

}  // namespace hoard::cli
