#pragma once
// Content digests as the OCI image spec defines them: `algorithm:encoded`.
// hoard verifies sha256 and sha512; anything else is rejected before it can
// reach a file path or an upstream URL, so a parsed Digest is always safe to
// use as a path component.
#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hoard {

// Sha1 exists only for npm packages whose metadata carries nothing stronger
// (`dist.shasum`); Digest::parse never accepts it from a client.
enum class DigestAlgorithm { Sha256, Sha512, Sha1 };

struct Digest {
  DigestAlgorithm algorithm = DigestAlgorithm::Sha256;
  std::string hex;  // lowercase, exactly 64 (sha256) or 128 (sha512) chars

  // Accepts only `sha256:<64 lowercase hex>` and `sha512:<128 lowercase hex>`.
  static std::optional<Digest> parse(std::string_view text);
  // From raw hex of a known algorithm (lowercase, right length), e.g. an npm shasum.
  static std::optional<Digest> fromHex(DigestAlgorithm algorithm, std::string_view hex);
  std::string str() const;
  std::string_view algorithmName() const;
  bool operator==(const Digest&) const = default;
};

// Incremental hasher for streaming verification: bytes are hashed as they
// arrive, never re-read from disk.
class Hasher {
 public:
  explicit Hasher(DigestAlgorithm algorithm);
  void update(const void* data, std::size_t len);
  // Finishes and returns the lowercase hex digest; the hasher is spent.
  std::string finishHex();

 private:
  struct CtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
};

std::string sha256Hex(std::string_view data);

}  // namespace hoard
