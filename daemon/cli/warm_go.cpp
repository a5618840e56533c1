// `hoard warm go:MODULE@VERSION`: .info, .mod and .zip through hoard's
// GOPROXY front end (/go/), module path and version case-encoded as the go
// command sends them. "latest" (or no version) is resolved with @latest
// first. hoard itself checks .mod and .zip against the checksum database
// before caching; here the .info must name the version and the .zip must be
// a zip. Checksum-database lookups are not pre-fetched.
#include <nlohmann/json.hpp>

#include "daemon/cli/warm_targets.h"

namespace hoard::cli {

namespace {

constexpr std::size_t kMaxInfo = 64 * 1024;

bool validModuleChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_' || c == '~' || c == '/' || c == '+';
}

void postFiles(WarmRun& run, const TargetPtr& target, const std::string& module,
               const std::string& version) {
  const std::string prefix =
      run.base() + "/go/" + goCaseEncode(module) + "/@v/" + goCaseEncode(version);
  const std::string label = module + "@" + version;
  if (!run.claim("go " + prefix)) return;
  run.post([&run, target, prefix, label, version](Fetcher& f) {
    auto r =
        run.document(f, *target, label + " .info", FetchRequest{prefix + ".info", {}}, kMaxInfo);
    if (!r) return;
    auto doc = nlohmann::json::parse(r->body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || doc.value("Version", std::string()) != version) {
      target->fail(label + " .info: does not name version " + version);
    }
  });
  run.post([&run, target, prefix, label](Fetcher& f) {
    run.download(f, *target, label + " .mod", FetchRequest{prefix + ".mod", {}}, Expect{});
  });
  run.post([&run, target, prefix, label](Fetcher& f) {
    auto r = run.download(f, *target, label + " .zip", FetchRequest{prefix + ".zip", {}}, Expect{});
    if (r && !r->body.starts_with(std::string_view("PK\x03\x04", 4))) {
      target->fail(label + " .zip: not a zip file");
    }
  });
}

}  // namespace

std::string goCaseEncode(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c >= 'A' && c <= 'Z') {
      out += '!';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

std::expected<GoSpec, std::string> parseGoSpec(std::string_view text) {
  GoSpec spec;
  auto at = text.rfind('@');
  spec.module = std::string(text.substr(0, at));
  spec.version = at == std::string_view::npos ? "latest" : std::string(text.substr(at + 1));
  if (spec.version.empty()) spec.version = "latest";
  if (spec.module.empty() || spec.module.starts_with('/') || spec.module.ends_with('/') ||
      spec.module.find("..") != std::string::npos || spec.module.find("//") != std::string::npos) {
    return std::unexpected("invalid Go module path \"" + spec.module + "\"");
  }
  for (char c : spec.module) {
    if (!validModuleChar(c))
      return std::unexpected("invalid Go module path \"" + spec.module + "\"");
  }
  for (char c : spec.version) {
    if (!validModuleChar(c) || c == '/') {
      return std::unexpected("invalid Go version \"" + spec.version + "\"");
    }
  }
  if (spec.version != "latest" && !spec.version.starts_with('v')) {
    return std::unexpected("Go versions start with 'v' (v1.2.3), got \"" + spec.version + "\"");
  }
  return spec;
}

void warmGo(WarmRun& run, const TargetPtr& target, const GoSpec& spec) {
  if (spec.version != "latest") {
    target->resolved(spec.version);
    postFiles(run, target, spec.module, spec.version);
    return;
  }
  run.post([&run, target, spec](Fetcher& f) {
    auto r = run.document(
        f, *target, spec.module + "@latest",
        FetchRequest{run.base() + "/go/" + goCaseEncode(spec.module) + "/@latest", {}}, kMaxInfo);
    if (!r) return;
    auto doc = nlohmann::json::parse(r->body, nullptr, false);
    std::string version = doc.is_object() ? doc.value("Version", std::string()) : std::string();
    if (version.empty()) {
      target->fail(spec.module + "@latest: no Version in the answer");
      return;
    }
    target->resolved(version);
    postFiles(run, target, spec.module, version);
  });
}

}  // namespace hoard::cli
