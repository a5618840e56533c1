// `hoard warm npm:NAME@RANGE`: the packument through /npm/<name> (hoard's
// copy, whose tarball URLs already point at hoard), the version npm would
// install for RANGE, and that version's tarball, checked against the
// packument's dist.integrity (sha512) or dist.shasum. Dependencies are not
// followed: only what was named is warmed.
#include <nlohmann/json.hpp>

#include "daemon/cli/warm_semver.h"
#include "daemon/cli/warm_targets.h"

namespace hoard::cli {

namespace {

constexpr std::size_t kMaxPackument = 256 * 1024 * 1024;

// "sha512-<base64>" out of an SRI string that may list several hashes.
std::string sriSha512(std::string_view integrity) {
  std::size_t pos = 0;
  while (pos < integrity.size()) {
    auto space = integrity.find(' ', pos);
    auto item = integrity.substr(pos, space == std::string_view::npos ? space : space - pos);
    if (item.starts_with("sha512-")) {
      auto value = item.substr(7);
      if (auto q = value.find('?'); q != std::string_view::npos) value = value.substr(0, q);
      return std::string(value);
    }
    if (space == std::string_view::npos) break;
    pos = space + 1;
  }
  return {};
}

bool validNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::expected<NpmSpec, std::string> parseNpmSpec(std::string_view text) {
  NpmSpec spec;
  auto at = text.find('@', text.starts_with('@') ? 1 : 0);
  spec.name = std::string(text.substr(0, at));
  spec.range = at == std::string_view::npos ? std::string() : std::string(text.substr(at + 1));
  if (spec.range.empty()) spec.range = "latest";
  std::string_view base = spec.name;
  if (base.starts_with('@')) {
    auto slash = base.find('/');
    if (slash == std::string_view::npos || slash == 1 || slash + 1 == base.size()) {
      return std::unexpected("scoped npm names are @scope/name, got \"" + spec.name + "\"");
    }
    for (char c : base.substr(1, slash - 1)) {
      if (!validNameChar(c)) return std::unexpected("invalid npm scope in \"" + spec.name + "\"");
    }
    base = base.substr(slash + 1);
  }
  if (base.empty() || base.starts_with('.') || base.starts_with('_')) {
    return std::unexpected("invalid npm package name \"" + spec.name + "\"");
  }
  for (char c : base) {
    if (!validNameChar(c)) return std::unexpected("invalid npm package name \"" + spec.name + "\"");
  }
  return spec;
}

void warmNpm(WarmRun& run, const TargetPtr& target, const NpmSpec& spec) {
  run.post([&run, target, spec](Fetcher& f) {
    std::string path = spec.name;
    if (auto slash = path.find('/'); slash != std::string::npos) path.replace(slash, 1, "%2f");
    auto r = run.document(f, *target, "packument " + spec.name,
                          FetchRequest{run.base() + "/npm/" + path, {"Accept: application/json"}},
                          kMaxPackument);
    if (!r) return;
    auto doc = nlohmann::json::parse(r->body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("versions") ||
        !doc["versions"].is_object()) {
      target->fail("packument " + spec.name + ": no versions object");
      return;
    }
    std::vector<std::string> versions;
    for (const auto& [v, _] : doc["versions"].items()) versions.push_back(v);
    std::map<std::string, std::string> tags;
    if (auto t = doc.find("dist-tags"); t != doc.end() && t->is_object()) {
      for (const auto& [k, v] : t->items()) {
        if (v.is_string()) tags[k] = v.get<std::string>();
      }
    }
    auto version = semver::pickVersion(versions, tags, spec.range);
    if (!version) {
      target->fail(spec.name + ": no version matches \"" + spec.range + "\" (" +
                   std::to_string(versions.size()) + " versions published)");
      return;
    }
    target->resolved(*version);
    const auto& entry = doc["versions"][*version];
    const auto dist = entry.is_object() ? entry.value("dist", nlohmann::json::object())
                                        : nlohmann::json::object();
    std::string tarball = dist.is_object() ? dist.value("tarball", std::string()) : std::string();
    if (tarball.empty()) {
      target->fail(spec.name + "@" + *version + ": no dist.tarball in the packument");
      return;
    }
    Expect expect;
    expect.sha512Base64 = sriSha512(dist.value("integrity", std::string()));
    if (expect.sha512Base64.empty()) expect.sha1Hex = dist.value("shasum", std::string());
    if (!run.claim("npm " + tarball)) return;
    run.post([&run, target, tarball, expect, label = spec.name + "@" + *version](Fetcher& g) {
      run.download(g, *target, "tarball " + label, FetchRequest{tarball, {}}, expect);
    });
  });
}

}  // namespace hoard::cli
