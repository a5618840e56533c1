#include "daemon/cli/warm.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>

#include "conf/defaults.h"
#include "daemon/cli/warm_requirements.h"
#include "daemon/cli/warm_targets.h"

namespace hoard::cli {

const char* const kWarmUsage =
    "usage: hoard warm [--url URL] [--platform OS/ARCH[/VARIANT]]... [--jobs N] [--pre]\n"
    "                  [-r REQUIREMENTS]... [--progress|--no-progress] TARGET...\n"
    "\n"
    "Pre-fetches into a running hoard through its HTTP front ends (same routing,\n"
    "policy and verification as any client), so the next pull is a cache hit.\n"
    "Use the URL your clients use: npm tarball links are built from it.\n"
    "\n"
    "targets:\n"
    "  image:REF          an image (oci:REF works too): docker.io/library/alpine:3.19,\n"
    "                     alpine:3.19, ghcr.io/org/app@sha256:...; every platform of\n"
    "                     an index unless --platform picks some\n"
    "  npm:NAME[@RANGE]   the version npm would install for RANGE (exact, ^, ~, x-ranges,\n"
    "                     <, >=, ||, hyphen ranges, dist-tags; default latest) and its\n"
    "                     tarball; dependencies are NOT followed, name each one\n"
    "  pypi:REQUIREMENT   e.g. pypi:requests==2.31.0, pypi:'urllib3>=2,<3': the highest\n"
    "                     release allowed, every file of it (all wheels, sdist, metadata)\n"
    "  go:MODULE[@VER]    .info, .mod and .zip of MODULE@VER (default latest)\n"
    "  -r FILE            every requirement of a pip requirements file (specifiers,\n"
    "                     extras, markers ignored, -r includes, --pre); constraints,\n"
    "                     editables, URLs and paths are reported as failures\n"
    "\n"
    "options:\n"
    "  --url URL          hoard's address (default: the built-in listen address,\n"
    "                     http://127.0.0.1:5050)\n"
    "  --platform P       os/arch[/variant], repeatable (default: all platforms)\n"
    "  --jobs N           parallel downloads (default 4)\n"
    "  --pre              allow PyPI pre-releases\n"
    "\n"
    "Shows one progress line on a terminal, a summary otherwise. Exit status 0 when\n"
    "everything was warmed, 1 if anything failed (each failure is listed), 2 on usage\n"
    "errors.\n";

namespace {

bool takeValue(const std::vector<std::string_view>& args, std::size_t& i, std::string_view name,
               std::string& out) {
  auto a = args[i];
  if (a == name) {
    if (i + 1 >= args.size()) return false;
    out = std::string(args[++i]);
    return true;
  }
  if (a.starts_with(name) && a.size() > name.size() && a[name.size()] == '=') {
    out = std::string(a.substr(name.size() + 1));
    return true;
  }
  return false;
}

std::string trimUrl(std::string url) {
  if (url.find("://") == std::string::npos) url = "http://" + url;
  while (url.ends_with('/')) url.pop_back();
  return url;
}

}  // namespace

std::expected<WarmOptions, std::string> parseWarmArgs(const std::vector<std::string_view>& args) {
  WarmOptions o;
  o.url = "http://" + conf::defaultConfig().server.listen;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string value;
    auto a = args[i];
    if (takeValue(args, i, "--url", value)) {
      o.url = value;
    } else if (takeValue(args, i, "--platform", value)) {
      o.platforms.push_back(value);
    } else if (takeValue(args, i, "--jobs", value) || takeValue(args, i, "-j", value)) {
      char* end = nullptr;
      long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < 1 || n > 64) {
        return std::unexpected("warm: --jobs wants a number from 1 to 64");
      }
      o.jobs = static_cast<unsigned>(n);
    } else if (takeValue(args, i, "-r", value) || takeValue(args, i, "--requirement", value)) {
      o.requirementFiles.push_back(value);
    } else if (a == "--pre") {
      o.pre = true;
    } else if (a == "--progress") {
      o.progress = true;
    } else if (a == "--no-progress") {
      o.progress = false;
    } else if (a.starts_with("-")) {
      return std::unexpected("warm: unknown option " + std::string(a));
    } else {
      o.targets.emplace_back(a);
    }
  }
  if (o.targets.empty() && o.requirementFiles.empty()) {
    return std::unexpected("warm: nothing to warm (give targets or -r FILE)");
  }
  o.url = trimUrl(o.url);
  return o;
}

int warm(const WarmOptions& options) {
  std::vector<Platform> platforms;
  for (const auto& p : options.platforms) {
    auto parsed = parsePlatform(p);
    if (!parsed) {
      std::fprintf(stderr, "hoard warm: %s\n", parsed.error().c_str());
      return 2;
    }
    platforms.push_back(std::move(*parsed));
  }

  // Every target is understood before anything is fetched.
  std::vector<TargetPtr> reports;
  std::vector<std::function<void(WarmRun&)>> starts;
  for (const auto& t : options.targets) {
    auto colon = t.find(':');
    std::string kind = colon == std::string::npos ? std::string() : t.substr(0, colon);
    std::string_view rest =
        colon == std::string::npos ? std::string_view() : std::string_view(t).substr(colon + 1);
    std::string error;
    auto report = std::make_shared<TargetReport>(t);
    if (kind == "image" || kind == "oci") {
      auto ref = parseImageRef(rest);
      if (!ref) {
        error = ref.error();
      } else {
        report = std::make_shared<TargetReport>("image " + ref->registry + "/" + ref->repository +
                                                (ref->byDigest ? "@" : ":") + ref->reference);
        starts.push_back(
            [report, r = *ref, &platforms](WarmRun& run) { warmImage(run, report, r, platforms); });
      }
    } else if (kind == "npm") {
      auto spec = parseNpmSpec(rest);
      if (!spec) {
        error = spec.error();
      } else {
        report = std::make_shared<TargetReport>("npm " + spec->name + "@" + spec->range);
        starts.push_back([report, s = *spec](WarmRun& run) { warmNpm(run, report, s); });
      }
    } else if (kind == "pypi") {
      auto req = parseRequirement(rest);
      if (!req) {
        error = "pypi:" + std::string(rest) + ": " + req.error();
      } else {
        report = std::make_shared<TargetReport>("pypi " + std::string(rest));
        starts.push_back(
            [report, r = *req, pre = options.pre](WarmRun& run) { warmPypi(run, report, r, pre); });
      }
    } else if (kind == "go") {
      auto spec = parseGoSpec(rest);
      if (!spec) {
        error = spec.error();
      } else {
        report = std::make_shared<TargetReport>("go " + spec->module + "@" + spec->version);
        starts.push_back([report, s = *spec](WarmRun& run) { warmGo(run, report, s); });
      }
    } else {
      error = "\"" + t + "\" is not image:REF, npm:SPEC, pypi:REQUIREMENT or go:MODULE@VERSION";
    }
    if (!error.empty()) {
      std::fprintf(stderr, "hoard warm: %s\n", error.c_str());
      return 2;
    }
    reports.push_back(report);
  }
  for (const auto& file : options.requirementFiles) {
    auto parsed = readRequirementsFile(file);
    for (const auto& note : parsed.ignored) std::fprintf(stderr, "warm: note: %s\n", note.c_str());
    if (!parsed.unsupported.empty()) {
      auto report = std::make_shared<TargetReport>("requirements " + file);
      for (const auto& u : parsed.unsupported) report->fail(u);
      reports.push_back(report);
    }
    for (const auto& req : parsed.requirements) {
      auto report = std::make_shared<TargetReport>("pypi " + req.name + " (" + req.where + ")");
      starts.push_back([report, req, pre = options.pre || parsed.pre](WarmRun& run) {
        warmPypi(run, report, req, pre);
      });
      reports.push_back(report);
    }
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  Progress progress(options.progress.value_or(isatty(STDERR_FILENO) == 1));
  WarmRun run(options.url, progress);
  for (auto& start : starts) start(run);
  run.run(options.jobs);
  progress.clear();
  curl_global_cleanup();

  std::size_t failed = 0;
  for (const auto& r : reports) {
    std::printf("%s\n", r->summaryLine().c_str());
    if (r->failed()) ++failed;
  }
  std::fflush(stdout);
  if (failed == 0) return 0;
  std::fprintf(stderr, "hoard warm: %zu of %zu targets failed:\n", failed, reports.size());
  for (const auto& r : reports) {
    for (const auto& f : r->failures()) {
      std::fprintf(stderr, "  %s: %s\n", r->label().c_str(), f.c_str());
    }
  }
  return 1;
}

}  // namespace hoard::cli
