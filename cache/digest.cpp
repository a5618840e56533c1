#include "cache/digest.h"

namespace hoard {

namespace {
bool isLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

std::optional<Digest> Digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto alg = text.substr(0, colon);
  auto hex = text.substr(colon + 1);
  Digest d;
  if (alg == "sha256" && hex.size() == 64) {
    d.algorithm = DigestAlgorithm::Sha256;
  } else if (alg == "sha512" && hex.size() == 128) {
    d.algorithm = DigestAlgorithm::Sha512;
  } else {
    return std::nullopt;
  }
  if (!isLowerHex(hex)) return std::nullopt;
  d.hex = std::string(hex);
  return d;
}

std::optional<Digest> Digest::fromHex(DigestAlgorithm algorithm, std::string_view hex) {
  std::size_t want = algorithm == DigestAlgorithm::Sha256   ? 64
                     : algorithm == DigestAlgorithm::Sha512 ? 128
                                                            : 40;
  if (hex.size() != want || !isLowerHex(hex)) return std::nullopt;
  return Digest{algorithm, std::string(hex)};
}

std::string_view Digest::algorithmName() const {
  switch (algorithm) {
    case DigestAlgorithm::Sha256:
      return "sha256";
    case DigestAlgorithm::Sha512:
      return "sha512";
    case DigestAlgorithm::Sha1:
      return "sha1";
  }
  return "sha256";
}

std::string Digest::str() const {
  return std::string(algorithmName()) + ":" + hex;
}

Hasher::Hasher(DigestAlgorithm algorithm) : ctx_(EVP_MD_CTX_new()) {
  const EVP_MD* md = algorithm == DigestAlgorithm::Sha256   ? EVP_sha256()
                     : algorithm == DigestAlgorithm::Sha512 ? EVP_sha512()
                                                            : EVP_sha1();
  EVP_DigestInit_ex(ctx_.get(), md, nullptr);
}

void Hasher::update(const void* data, std::size_t len) {
  EVP_DigestUpdate(ctx_.get(), data, len);
}

std::string Hasher::finishHex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  Hasher h(DigestAlgorithm::Sha256);
  h.update(data.data(), data.size());
  return h.finishHex();
}

}  // namespace hoard
