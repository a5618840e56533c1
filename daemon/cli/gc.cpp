#include "daemon/cli/gc.h"

#include <cstdio>
#include <optional>
#include <string>

#include "cache/store_gc.h"
#include "daemon/admin/admin_client.h"
#include "daemon/admin/report_json.h"
#include "daemon/cli/maintenance.h"

namespace hoard::cli {

namespace {

int usage(const std::string& message) {
  std::fprintf(stderr, "hoard gc: %s\nusage:\n%s", message.c_str(), kGcUsage);
  return 2;
}

int finish(const GcReport& report, bool json) {
  if (json) {
    std::fputs((admin::gcReportJson(report).dump(2) + "\n").c_str(), stdout);
  } else {
    std::fputs(admin::gcReportText(report).c_str(), stdout);
  }
  if (!report.error.empty() || report.cancelled) return 2;
  return report.errors > 0 ? 1 : 0;
}

}  // namespace

int gcCommand(const std::vector<std::string_view>& args) {
  std::optional<std::uint64_t> graceS;
  auto parsed = parseMaintenanceArgs(
      args, [&](const std::vector<std::string_view>& a, std::size_t& i) -> std::string {
        if (a[i] == "--grace" && i + 1 < a.size()) {
          graceS = parseWholeNumber(a[++i]);
          if (!graceS) return "--grace needs a whole number of seconds";
          return {};
        }
        return "unknown argument " + std::string(a[i]);
      });
  if (!parsed) return usage(parsed.error());

  if (!parsed->store.empty()) {
    auto opened = admin::openStoreOffline(parsed->store, "gc");
    if (!opened) {
      std::fprintf(stderr, "hoard gc: %s\n", opened.error().c_str());
      return 2;
    }
    // We hold the index lock, so no hoard commits meanwhile: no grace is
    // needed, and tmp/ holds only leftovers of a crashed fill.
    GcOptions o;
    o.orphanGraceMs = static_cast<Millis>(graceS.value_or(0)) * 1000;
    o.sweepTmp = true;
    return finish(collectGarbage(**opened, o), parsed->json);
  }

  std::string path = "/-/admin/gc";
  if (graceS) path += "?grace_s=" + std::to_string(*graceS);
  auto body = requestReport("gc", parsed->url, path);
  if (!body) return 2;
  auto report = admin::gcReportFromJson(*body);
  if (!report) {
    std::fprintf(stderr, "hoard gc: %s answered with an unreadable report\n", parsed->url.c_str());
    return 2;
  }
  return finish(*report, parsed->json);
}

}  // namespace hoard::cli
