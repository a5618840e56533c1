#include "daemon/cli/gc.h"

#include <charconv>
#include <cstdio>
#include <optional>
#include <string>

#include "cache/store_gc.h"
#include "daemon/admin/admin_client.h"
#include "daemon/admin/report_json.h"

namespace hoard::cli {

namespace {

int usage(const std::string& message) {
  std::fprintf(stderr, "hoard gc: %s\nusage:\n%s", message.c_str(), kGcUsage);
  return 2;
}

std::optional<std::uint64_t> parseU64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
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
  std::string store;
  std::string url;
  bool json = false;
  std::optional<std::uint64_t> graceS;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--store" && i + 1 < args.size()) {
      store = args[++i];
    } else if (args[i] == "--url" && i + 1 < args.size()) {
      url = args[++i];
    } else if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--grace" && i + 1 < args.size()) {
      graceS = parseU64(args[++i]);
      if (!graceS) return usage("--grace needs a whole number of seconds");
    } else {
      return usage("unknown argument " + std::string(args[i]));
    }
  }
  if (store.empty() == url.empty()) return usage("give exactly one of --store DIR or --url URL");

  if (!store.empty()) {
    auto opened = admin::openStoreOffline(store, "gc");
    if (!opened) {
      std::fprintf(stderr, "hoard gc: %s\n", opened.error().c_str());
      return 2;
    }
    // We hold the index lock, so no hoard commits meanwhile: no grace is
    // needed, and tmp/ holds only leftovers of a crashed fill.
    GcOptions o;
    o.orphanGraceMs = static_cast<Millis>(graceS.value_or(0)) * 1000;
    o.sweepTmp = true;
    return finish(collectGarbage(**opened, o), json);
  }

  std::string path = "/-/admin/gc";
  if (graceS) path += "?grace_s=" + std::to_string(*graceS);
  auto r = admin::postAdmin(url, path);
  if (!r) {
    std::fprintf(stderr, "hoard gc: %s\n", r.error().c_str());
    return 2;
  }
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  std::optional<GcReport> report;
  if (r->status == 200) report = admin::gcReportFromJson(body);
  if (!report) {
    std::string message = body.is_object() && body.contains("error") && body["error"].is_string()
                              ? body["error"].get<std::string>()
                              : r->body;
    std::fprintf(stderr, "hoard gc: %s answered %ld: %s\n", url.c_str(), r->status,
                 message.c_str());
    return 2;
  }
  return finish(*report, json);
}

}  // namespace hoard::cli
