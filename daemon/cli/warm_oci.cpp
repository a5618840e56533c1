// `hoard warm image:REF`: the tag's manifest, every (or the chosen
// platforms') manifest of an index, and every config and layer blob, each
// through hoard's /v2/ front end with ?ns=<registry> (how containerd asks,
// so hoard routes by the registry and caches under the same keys).
//
// Verified here: manifest bytes against the digest asked for (or the
// Docker-Content-Digest hoard answers), each child manifest and blob against
// its descriptor's digest and size.
#include <nlohmann/json.hpp>

#include "daemon/cli/warm_targets.h"

namespace hoard::cli {

namespace {

constexpr std::size_t kMaxManifest = 4 * 1024 * 1024;
constexpr const char* kAccept =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

bool isIndexType(std::string_view t) {
  return t == "application/vnd.oci.image.index.v1+json" ||
         t == "application/vnd.docker.distribution.manifest.list.v2+json";
}

std::string nsQuery(const std::string& registry) {
  std::string out = "?ns=";
  for (char c : registry) out += c == ':' ? std::string("%3A") : std::string(1, c);
  return out;
}

std::string shortDigest(const std::string& d) {
  return d.size() > 19 ? d.substr(0, 19) : d;
}

struct ImageContext {
  WarmRun* run;
  TargetPtr target;
  ImageRef ref;
  std::vector<Platform> platforms;

  std::string url(std::string_view kind, const std::string& reference) const {
    return run->base() + "/v2/" + ref.repository + "/" + std::string(kind) + "/" + reference +
           nsQuery(ref.registry);
  }
};
using ImageContextPtr = std::shared_ptr<const ImageContext>;

void postManifest(const ImageContextPtr& ctx, const std::string& reference,
                  std::optional<std::uint64_t> size, bool top);

void postBlob(const ImageContextPtr& ctx, const std::string& digest,
              std::optional<std::uint64_t> size) {
  if (!ctx->run->claim("oci-blob " + ctx->ref.registry + "/" + ctx->ref.repository + "@" +
                       digest)) {
    return;
  }
  ctx->run->post([ctx, digest, size](Fetcher& f) {
    Expect expect;
    expect.size = size;
    if (digest.starts_with("sha256:")) expect.sha256Hex = digest.substr(7);
    ctx->run->download(f, *ctx->target, "blob " + shortDigest(digest),
                       FetchRequest{ctx->url("blobs", digest), {}}, expect);
  });
}

std::optional<std::uint64_t> descriptorSize(const nlohmann::json& d) {
  auto it = d.find("size");
  if (it == d.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<std::uint64_t>();
}

void onManifest(const ImageContextPtr& ctx, const FetchResponse& r, const std::string& label,
                bool top) {
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    ctx->target->fail(label + ": not a JSON manifest");
    return;
  }
  std::string mediaType = doc.value("mediaType", std::string());
  if (mediaType.empty()) {
    mediaType = r.header("content-type");
    if (auto semi = mediaType.find(';'); semi != std::string::npos) mediaType.resize(semi);
  }
  if (isIndexType(mediaType) || (doc.contains("manifests") && !doc.contains("layers"))) {
    auto manifests = doc.find("manifests");
    if (manifests == doc.end() || !manifests->is_array()) {
      ctx->target->fail(label + ": index without manifests");
      return;
    }
    std::size_t chosen = 0;
    for (const auto& m : *manifests) {
      if (!m.is_object() || !m.contains("digest") || !m["digest"].is_string()) continue;
      std::string os, arch, variant;
      if (auto p = m.find("platform"); p != m.end() && p->is_object()) {
        os = p->value("os", std::string());
        arch = p->value("architecture", std::string());
        variant = p->value("variant", std::string());
      }
      if (!platformMatches(ctx->platforms, os, arch, variant)) continue;
      ++chosen;
      postManifest(ctx, m["digest"].get<std::string>(), descriptorSize(m), false);
    }
    if (top) {
      ctx->target->resolved(std::to_string(chosen) + " of " + std::to_string(manifests->size()) +
                            " manifests");
    }
    if (chosen == 0) ctx->target->fail(label + ": no manifest in the index matches --platform");
    return;
  }
  if (doc.value("schemaVersion", 0) == 1) {  // Docker schema 1: blobSum per layer
    if (auto layers = doc.find("fsLayers"); layers != doc.end() && layers->is_array()) {
      for (const auto& l : *layers) {
        if (l.is_object() && l.contains("blobSum") && l["blobSum"].is_string()) {
          postBlob(ctx, l["blobSum"].get<std::string>(), std::nullopt);
        }
      }
    }
    return;
  }
  auto blob = [&](const nlohmann::json& d) {
    if (d.is_object() && d.contains("digest") && d["digest"].is_string()) {
      postBlob(ctx, d["digest"].get<std::string>(), descriptorSize(d));
    }
  };
  if (auto config = doc.find("config"); config != doc.end()) blob(*config);
  if (auto layers = doc.find("layers"); layers != doc.end() && layers->is_array()) {
    for (const auto& l : *layers) blob(l);
  } else {
    ctx->target->fail(label + ": manifest of unknown type " + mediaType);
  }
}

void postManifest(const ImageContextPtr& ctx, const std::string& reference,
                  std::optional<std::uint64_t> size, bool top) {
  if (!top && !ctx->run->claim("oci-manifest " + ctx->ref.registry + "/" + ctx->ref.repository +
                               "@" + reference)) {
    return;
  }
  ctx->run->post([ctx, reference, size, top](Fetcher& f) {
    std::string label = "manifest " + (top ? reference : shortDigest(reference));
    FetchRequest req{ctx->url("manifests", reference), {kAccept}};
    req.sha256 = true;
    auto r = ctx->run->document(f, *ctx->target, label, std::move(req), kMaxManifest);
    if (!r) return;
    std::string got = "sha256:" + hexEncode(r->sha256);
    bool byDigest = reference.starts_with("sha256:");
    if (byDigest && got != reference) {
      ctx->target->fail(label + ": content is " + got);
      return;
    }
    if (auto header = r->header("docker-content-digest");
        !byDigest && header.starts_with("sha256:") && header != got) {
      ctx->target->fail(label + ": content is " + got + ", hoard said " + header);
      return;
    }
    if (size && r->bytes != *size) {
      ctx->target->fail(label + ": " + std::to_string(r->bytes) + " bytes, descriptor says " +
                        std::to_string(*size));
      return;
    }
    onManifest(ctx, *r, label, top);
  });
}

bool isRegistryComponent(std::string_view c) {
  return c.find('.') != std::string_view::npos || c.find(':') != std::string_view::npos ||
         c == "localhost";
}

}  // namespace

std::expected<ImageRef, std::string> parseImageRef(std::string_view text) {
  ImageRef ref;
  std::string_view rest = text;
  if (rest.empty()) return std::unexpected("empty image reference");
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    ref.reference = std::string(rest.substr(at + 1));
    ref.byDigest = true;
    rest = rest.substr(0, at);
    auto colon = ref.reference.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == ref.reference.size()) {
      return std::unexpected("bad digest in " + std::string(text));
    }
  }
  auto slash = rest.find('/');
  if (slash != std::string_view::npos && isRegistryComponent(rest.substr(0, slash))) {
    ref.registry = std::string(rest.substr(0, slash));
    rest = rest.substr(slash + 1);
  } else {
    ref.registry = "docker.io";
  }
  if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io") {
    ref.registry = "docker.io";
  }
  // A tag follows the last ':' after the last '/'.
  auto lastSlash = rest.rfind('/');
  auto colon = rest.rfind(':');
  std::string tag;
  if (colon != std::string_view::npos &&
      (lastSlash == std::string_view::npos || colon > lastSlash)) {
    tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (tag.empty()) return std::unexpected("empty tag in " + std::string(text));
  }
  if (rest.empty()) return std::unexpected("no repository in " + std::string(text));
  for (char c : rest) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '/';
    if (!ok) return std::unexpected("invalid repository name in " + std::string(text));
  }
  ref.repository = std::string(rest);
  if (ref.registry == "docker.io" && ref.repository.find('/') == std::string::npos) {
    ref.repository = "library/" + ref.repository;
  }
  if (!ref.byDigest) ref.reference = tag.empty() ? "latest" : tag;
  return ref;
}

std::expected<Platform, std::string> parsePlatform(std::string_view text) {
  Platform p;
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (true) {
    auto slash = text.find('/', pos);
    parts.emplace_back(text.substr(pos, slash == std::string_view::npos ? slash : slash - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty() ||
      (parts.size() == 3 && parts[2].empty())) {
    return std::unexpected("--platform wants os/arch[/variant], got \"" + std::string(text) + "\"");
  }
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

bool platformMatches(const std::vector<Platform>& wanted, const std::string& os,
                     const std::string& architecture, const std::string& variant) {
  if (wanted.empty()) return true;
  for (const auto& w : wanted) {
    if (w.os != os || w.architecture != architecture) continue;
    if (w.variant.empty() || w.variant == variant) return true;
    // arm64's only variant is v8: an index entry may leave it out.
    if (variant.empty() && architecture == "arm64" && w.variant == "v8") return true;
  }
  return false;
}

void warmImage(WarmRun& run, const TargetPtr& target, const ImageRef& ref,
               const std::vector<Platform>& platforms) {
  auto ctx = std::make_shared<ImageContext>(ImageContext{&run, target, ref, platforms});
  postManifest(ctx, ref.reference, std::nullopt, true);
}

}  // namespace hoard::cli
