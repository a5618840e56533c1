#include "daemon/cli/verify.h"

#include <charconv>
#include <cstdio>
#include <optional>
#include <string>

#include "cache/verifier.h"
#include "daemon/admin/admin_client.h"
#include "daemon/admin/report_json.h"

namespace hoard::cli {

namespace {

int usage(const std::string& message) {
  std::fprintf(stderr, "hoard verify: %s\nusage:\n%s", message.c_str(), kVerifyUsage);
  return 2;
}

std::optional<std::uint64_t> parseU64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
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
  std::string store;
  std::string url;
  bool repair = false;
  bool json = false;
  std::optional<std::uint64_t> rateMb;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--store" && i + 1 < args.size()) {
      store = args[++i];
    } else if (args[i] == "--url" && i + 1 < args.size()) {
      url = args[++i];
    } else if (args[i] == "--repair") {
      repair = true;
    } else if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--rate" && i + 1 < args.size()) {
      rateMb = parseU64(args[++i]);
      if (!rateMb) return usage("--rate needs a whole number of MB/s");
    } else {
      return usage("unknown argument " + std::string(args[i]));
    }
  }
  if (store.empty() == url.empty()) return usage("give exactly one of --store DIR or --url URL");

  if (!store.empty()) {
    auto opened = admin::openStoreOffline(store, "verify");
    if (!opened) {
      std::fprintf(stderr, "hoard verify: %s\n", opened.error().c_str());
      return 2;
    }
    VerifyOptions o;
    o.repair = repair;
    o.maxBytesPerSecond = rateMb.value_or(0) * 1'000'000;
    return finish(verifyStore(**opened, o), json);
  }

  std::string path = "/-/admin/verify";
  std::string sep = "?";
  if (repair) {
    path += sep + "repair=1";
    sep = "&";
  }
  if (rateMb) path += sep + "rate_mb=" + std::to_string(*rateMb);
  auto r = admin::postAdmin(url, path);
  if (!r) {
    std::fprintf(stderr, "hoard verify: %s\n", r.error().c_str());
    return 2;
  }
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  std::optional<VerifyReport> report;
  if (r->status == 200) report = admin::verifyReportFromJson(body);
  if (!report) {
    std::string message = body.is_object() && body.contains("error") && body["error"].is_string()
                              ? body["error"].get<std::string>()
                              : r->body;
    std::fprintf(stderr, "hoard verify: %s answered %ld: %s\n", url.c_str(), r->status,
                 message.c_str());
    return 2;
  }
  return finish(*report, json);
}

}  // namespace hoard::cli
