#include "daemon/npm/packument.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

namespace hoard::npm {

namespace {

std::string toHex(const unsigned char* data, std::size_t len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (std::size_t i = 0; i < len; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xf]);
  }
  return out;
}

// Fields of a version object that npm's abbreviated metadata keeps.
constexpr const char* kCorgiVersionFields[] = {"name",
                                               "version",
                                               "deprecated",
                                               "dependencies",
                                               "optionalDependencies",
                                               "devDependencies",
                                               "bundleDependencies",
                                               "bundledDependencies",
                                               "peerDependencies",
                                               "peerDependenciesMeta",
                                               "acceptDependencies",
                                               "bin",
                                               "directories",
                                               "dist",
                                               "engines",
                                               "os",
                                               "cpu",
                                               "libc",
                                               "_hasShrinkwrap",
                                               "hasInstallScript",
                                               "funding",
                                               "license"};

std::string fileNameOf(std::string_view url) {
  auto q = url.find_first_of("?#");
  if (q != std::string_view::npos) url = url.substr(0, q);
  auto slash = url.rfind('/');
  return std::string(slash == std::string_view::npos ? url : url.substr(slash + 1));
}

}  // namespace

std::optional<Digest> digestFromIntegrity(std::string_view integrity) {
  std::optional<Digest> best;
  std::size_t pos = 0;
  while (pos < integrity.size()) {
    auto end = integrity.find(' ', pos);
    auto item =
        integrity.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? integrity.size() : end + 1;
    if (!item.starts_with("sha512-")) continue;
    auto b64 = item.substr(7);
    if (auto opt = b64.find('?'); opt != std::string_view::npos) b64 = b64.substr(0, opt);
    unsigned char raw[96];
    if (b64.size() > 128) continue;
    int n = EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(b64.data()),
                            static_cast<int>(b64.size()));
    // EVP_DecodeBlock counts '=' padding as zero bytes: 88 base64 chars -> 66.
    if (n < 64) continue;
    best = Digest::fromHex(DigestAlgorithm::Sha512, toHex(raw, 64));
    if (best) return best;
  }
  return best;
}

std::string gzipCompress(std::string_view data) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip wrapper, which is what Content-Encoding: gzip means.
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out;
  out.resize(deflateBound(&zs, data.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

std::expected<RewrittenPackument, std::string> rewritePackument(std::string_view upstreamJson,
                                                                std::string_view packageName,
                                                                std::string_view tarballBase) {
  auto doc = nlohmann::json::parse(upstreamJson, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return std::unexpected("packument is not JSON");
  if (auto n = doc.find("name"); n != doc.end() && n->is_string() && *n != packageName) {
    return std::unexpected("packument is for " + n->get<std::string>() + ", not " +
                           std::string(packageName));
  }
  RewrittenPackument out;
  // Conventional tarball path: /<name>/-/<unscoped-name>-<version>.tgz
  std::string base = std::string(tarballBase) + "/" + std::string(packageName) + "/-/";
  nlohmann::json corgiVersions = nlohmann::json::object();
  if (auto versions = doc.find("versions"); versions != doc.end() && versions->is_object()) {
    for (auto& [version, meta] : versions->items()) {
      if (!meta.is_object()) continue;
      auto dist = meta.find("dist");
      if (dist != meta.end() && dist->is_object()) {
        auto tarball = dist->find("tarball");
        if (tarball != dist->end() && tarball->is_string()) {
          std::string url = tarball->get<std::string>();
          std::string file = fileNameOf(url);
          std::optional<Digest> digest;
          if (auto integrity = dist->find("integrity");
              integrity != dist->end() && integrity->is_string()) {
            digest = digestFromIntegrity(integrity->get<std::string>());
          }
          if (!digest) {
            if (auto sha = dist->find("shasum"); sha != dist->end() && sha->is_string()) {
              digest = Digest::fromHex(DigestAlgorithm::Sha1, sha->get<std::string>());
            }
          }
          if (!file.empty() && digest) {
            out.tarballs[file] = FileSource{url, *digest};
            *tarball = base + file;
          }
        }
      }
      nlohmann::json slim = nlohmann::json::object();
      for (const char* field : kCorgiVersionFields) {
        if (auto it = meta.find(field); it != meta.end()) slim[field] = *it;
      }
      corgiVersions[version] = std::move(slim);
    }
  }
  nlohmann::json corgi = nlohmann::json::object();
  corgi["name"] = doc.value("name", std::string(packageName));
  if (auto tags = doc.find("dist-tags"); tags != doc.end()) corgi["dist-tags"] = *tags;
  if (auto time = doc.find("time"); time != doc.end() && time->is_object()) {
    if (auto modified = time->find("modified"); modified != time->end()) {
      corgi["modified"] = *modified;
    }
    corgi["time"] = *time;  // pnpm's time-based resolution reads it
  }
  corgi["versions"] = std::move(corgiVersions);

  using Handler = nlohmann::json::error_handler_t;
  out.full = doc.dump(-1, ' ', false, Handler::replace);
  out.corgi = corgi.dump(-1, ' ', false, Handler::replace);
  out.fullGzip = gzipCompress(out.full);
  out.corgiGzip = gzipCompress(out.corgi);
  return out;
}

}  // namespace hoard::npm
