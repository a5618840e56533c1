#include "daemon/cli/maintenance.h"

#include <charconv>
#include <cstdio>

#include "daemon/admin/admin_client.h"

namespace hoard::cli {

std::expected<MaintenanceArgs, std::string> parseMaintenanceArgs(
    const std::vector<std::string_view>& args, const ExtraArg& extra) {
  MaintenanceArgs out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--store" && i + 1 < args.size()) {
      out.store = args[++i];
    } else if (args[i] == "--url" && i + 1 < args.size()) {
      out.url = args[++i];
    } else if (args[i] == "--json") {
      out.json = true;
    } else if (auto why = extra(args, i); !why.empty()) {
      return std::unexpected(why);
    }
  }
  if (out.store.empty() == out.url.empty()) {
    return std::unexpected("give exactly one of --store DIR or --url URL");
  }
  return out;
}

std::optional<std::uint64_t> parseWholeNumber(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<nlohmann::json> requestReport(const std::string& command, const std::string& url,
                                            const std::string& path) {
  auto r = admin::postAdmin(url, path);
  if (!r) {
    std::fprintf(stderr, "hoard %s: %s\n", command.c_str(), r.error().c_str());
    return std::nullopt;
  }
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status == 200 && !body.is_discarded()) return body;
  std::string message = body.is_object() && body.contains("error") && body["error"].is_string()
                            ? body["error"].get<std::string>()
                            : r->body;
  std::fprintf(stderr, "hoard %s: %s answered %ld: %s\n", command.c_str(), url.c_str(), r->status,
               message.c_str());
  return std::nullopt;
}

}  // namespace hoard::cli
