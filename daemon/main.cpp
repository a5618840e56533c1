// hoard: a pull-through caching proxy for container images, npm, PyPI and Go.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "conf/defaults.h"
#include "conf/loader.h"
#include "daemon/cli/gc.h"
#include "daemon/cli/hosts_toml.h"
#include "daemon/cli/serve.h"
#include "daemon/cli/verify.h"
#include "daemon/cli/warm.h"

namespace {

constexpr const char* kUsage =
    "usage: hoard <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE] [--ready-file PATH]\n"
    "                       run the daemon (built-in defaults without --config)\n"
    "  check-config FILE    validate a config file and print what it means\n"
    "  hosts-toml REGISTRY [--url URL]\n"
    "                       print the containerd hosts.toml that makes this hoard\n"
    "                       the mirror for REGISTRY (e.g. docker.io)\n"
    "  warm [--url URL] [--platform OS/ARCH] [--jobs N] [-r FILE] TARGET...\n"
    "                       pre-fetch image:REF npm:NAME@RANGE pypi:NAME==VER\n"
    "                       go:MODULE@VER into a running hoard (hoard warm --help)\n"
    "  verify (--store DIR | --url URL) [--repair] [--rate MB] [--json]\n"
    "                       re-hash stored objects against their digests; --repair\n"
    "                       quarantines bad files (hoard verify --help)\n"
    "  gc (--store DIR | --url URL) [--grace SECONDS] [--json]\n"
    "                       remove index entries without files and orphan files\n"
    "  --help, --version\n";

int usageError(const std::string& message) {
  std::fprintf(stderr, "hoard: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return usageError("missing command");
  auto cmd = args[0];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    std::printf("hoard %s\n", HOARD_VERSION);
    return 0;
  }
  if (cmd == "serve") {
    hoard::cli::ServeOptions options;
    for (std::size_t i = 1; i < args.size(); ++i) {
      if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size()) {
        options.configPath = args[++i];
      } else if (args[i] == "--ready-file" && i + 1 < args.size()) {
        options.readyFile = args[++i];
      } else {
        return usageError("serve: unknown argument " + std::string(args[i]));
      }
    }
    return hoard::cli::serve(options);
  }
  if (cmd == "check-config") {
    if (args.size() != 2) return usageError("check-config needs exactly one FILE");
    auto config = hoard::conf::loadConfigFile(std::string(args[1]));
    if (!config) {
      std::fprintf(stderr, "%s\n", config.error().c_str());
      return 1;
    }
    std::fputs(hoard::conf::describeConfig(*config).c_str(), stdout);
    std::puts("config OK");
    return 0;
  }
  if (cmd == "hosts-toml") {
    std::string registry;
    std::string url;
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "--url" && i + 1 < args.size()) {
        url = args[++i];
      } else if (registry.empty() && !args[i].starts_with("-")) {
        registry = args[i];
      } else {
        return usageError("hosts-toml: unexpected argument " + std::string(args[i]));
      }
    }
    if (registry.empty()) return usageError("hosts-toml needs a REGISTRY");
    if (url.empty()) url = "http://" + hoard::conf::defaultConfig().server.listen;
    std::fputs(hoard::cli::hostsToml(registry, url).c_str(), stdout);
    return 0;
  }
  if (cmd == "verify" || cmd == "gc") {
    std::vector<std::string_view> rest(args.begin() + 1, args.end());
    if (!rest.empty() && (rest[0] == "--help" || rest[0] == "-h")) {
      std::printf("usage:\n%s", cmd == "gc" ? hoard::cli::kGcUsage : hoard::cli::kVerifyUsage);
      return 0;
    }
    return cmd == "gc" ? hoard::cli::gcCommand(rest) : hoard::cli::verifyCommand(rest);
  }
  if (cmd == "warm") {
    std::vector<std::string_view> rest(args.begin() + 1, args.end());
    if (!rest.empty() && (rest[0] == "--help" || rest[0] == "-h")) {
      std::fputs(hoard::cli::kWarmUsage, stdout);
      return 0;
    }
    auto options = hoard::cli::parseWarmArgs(rest);
    if (!options) {
      std::fprintf(stderr, "hoard %s\n\n%s", options.error().c_str(), hoard::cli::kWarmUsage);
      return 2;
    }
    return hoard::cli::warm(*options);
  }
  return usageError("unknown command " + std::string(cmd));
}
