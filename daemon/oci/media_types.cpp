#include "daemon/oci/media_types.h"

#include <nlohmann/json.hpp>

namespace hoard::oci {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}
}  // namespace

bool isManifestMediaType(std::string_view t) {
  return t == kDockerManifestV2 || t == kDockerManifestList || t == kOciManifest ||
         t == kOciIndex || t == kOciArtifactManifest;
}

bool acceptAdmits(std::string_view accept, std::string_view mediaType) {
  accept = trim(accept);
  if (accept.empty()) return true;
  auto slash = mediaType.find('/');
  auto majorType = mediaType.substr(0, slash);
  std::size_t pos = 0;
  while (pos <= accept.size()) {
    auto comma = accept.find(',', pos);
    auto item =
        accept.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    pos = comma == std::string_view::npos ? accept.size() + 1 : comma + 1;
    auto semi = item.find(';');
    auto range = trim(item.substr(0, semi));
    bool excluded = false;
    if (semi != std::string_view::npos) {
      auto params = item.substr(semi + 1);
      auto q = params.find("q=");
      if (q != std::string_view::npos) {
        auto v = trim(params.substr(q + 2));
        excluded = v == "0" || v.starts_with("0.000") || v == "0." || v == "0.0" || v == "0.00";
      }
    }
    if (excluded) continue;
    if (range == "*/*") return true;
    if (range.size() > 2 && range.ends_with("/*") &&
        iequals(range.substr(0, range.size() - 2), majorType)) {
      return true;
    }
    if (iequals(range, mediaType)) return true;
  }
  return false;
}

std::string sniffManifestMediaType(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return "";
  auto it = j.find("mediaType");
  if (it != j.end() && it->is_string()) return it->get<std::string>();
  // OCI manifests may omit mediaType: an object with "manifests" is an index,
  // one with "config" and "layers" an image manifest.
  if (j.contains("manifests")) return std::string(kOciIndex);
  if (j.contains("config") && j.contains("layers")) return std::string(kOciManifest);
  return "";
}

}  // namespace hoard::oci
