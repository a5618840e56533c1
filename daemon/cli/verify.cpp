#include "daemon/cli/verify.h"

#include <cstdio>
#include <optional>
#include <string>

#include "cache/verifier.h"
#include "daemon/admin/admin_client.h"
#include "daemon/admin/report_json.h"
#include "daemon/cli/maintenance.h"

namespace hoard::cli {

namespace {

int usage(const std::string& message) {
  std::fprintf(stderr, "hoard verify: %s\nusage:\n%s", message.c_str(), kVerifyUsage);
  return 2;
}

int finish(const VerifyReport& report, bool json) {
  if (json) {
    std::fputs((admin::verifyReportJson(report).dump(2) + "\n").c_str(), stdout);
  } else {
    std::fputs(admin::verifyReportText(report).c_str(), stdout);
  }
  if (!report.error.empty() || report.cancelled) return 2;
  return report.bad() > 0 ? 1 : 0;
}

}  // namespace

int verifyCommand(const std::vector<std::string_view>& args) {
  bool repair = false;
  std::optional<std::uint64_t> rateMb;
  auto parsed = parseMaintenanceArgs(
      args, [&](const std::vector<std::string_view>& a, std::size_t& i) -> std::string {
        if (a[i] == "--repair") {
          repair = true;
        } else if (a[i] == "--rate" && i + 1 < a.size()) {
          rateMb = parseWholeNumber(a[++i]);
          if (!rateMb) return "--rate needs a whole number of MB/s";
        } else {
          return "unknown argument " + std::string(a[i]);
        }
        return {};
      });
  if (!parsed) return usage(parsed.error());

  if (!parsed->store.empty()) {
    auto opened = admin::openStoreOffline(parsed->store, "verify");
    if (!opened) {
      std::fprintf(stderr, "hoard verify: %s\n", opened.error().c_str());
      return 2;
    }
    VerifyOptions o;
    o.repair = repair;
    o.maxBytesPerSecond = rateMb.value_or(0) * 1'000'000;
    return finish(verifyStore(**opened, o), parsed->json);
  }

  std::string path = "/-/admin/verify";
  std::string sep = "?";
  if (repair) {
    path += sep + "repair=1";
    sep = "&";
  }
  if (rateMb) path += sep + "rate_mb=" + std::to_string(*rateMb);
  auto body = requestReport("verify", parsed->url, path);
  if (!body) return 2;
  auto report = admin::verifyReportFromJson(*body);
  if (!report) {
    std::fprintf(stderr, "hoard verify: %s answered with an unreadable report\n",
                 parsed->url.c_str());
    return 2;
  }
  return finish(*report, parsed->json);
}

}  // namespace hoard::cli
