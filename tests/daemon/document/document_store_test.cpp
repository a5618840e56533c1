#include "daemon/document/document_store.h"

#include <catch2/catch.hpp>
#include <string>

#include "cache/store_test_util.h"

using hoard::BlobStorePtr;
using hoard::Digest;
using hoard::DigestAlgorithm;
using hoard::DocumentKeys;
using hoard::FileSource;
using hoard::RenderedDocument;

namespace {

BlobStorePtr openStore(const std::string& root) {
  auto store = hoard::openDiskBlobStore(root, nullptr);
  REQUIRE(store);
  REQUIRE((*store)->recover());
  return std::move(*store);
}

// Renders "raw" into an upper-case variant and a prefixed one, naming one file.
std::expected<RenderedDocument, std::string> render(std::string_view raw, std::string prefix) {
  if (raw.empty()) return std::unexpected("empty");
  RenderedDocument out;
  std::string upper(raw);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out.variants.push_back({"upper", "text/plain", upper});
  out.variants.push_back({"prefixed", "text/plain", prefix + std::string(raw)});
  out.files["a.whl"] =
      FileSource{"http://up/a.whl", Digest{DigestAlgorithm::Sha256, hoard::sha256Hex("a")}};
  return out;
}

}  // namespace

TEST_CASE("a stored document loads back with its variants, files and validators") {
  hoard::test::TempDir dir;
  auto store = openStore(dir.path());
  DocumentKeys keys{"doc@mount", "doc"};
  auto rendered = render("hello", "p:");
  REQUIRE(rendered);
  auto stored = hoard::storeDocument(*store, keys, "hello", *rendered, {"\"e1\"", "Mon"}, 1000, 60);
  REQUIRE(stored);
  CHECK((*stored)->variant("upper")->bytes);
  CHECK(*(*stored)->variant("upper")->bytes == "HELLO");

  for (const auto& key : {keys.ref, keys.any}) {
    auto loaded = hoard::loadDocument(*store, key);
    REQUIRE(loaded);
    const auto& e = **loaded;
    CHECK(e.fetchedMs == 1000);
    CHECK(e.ttlMs == 60);
    CHECK(e.upstreamEtag == "\"e1\"");
    CHECK(e.upstreamLastModified == "Mon");
    REQUIRE(e.variant("prefixed"));
    CHECK(*e.variant("prefixed")->bytes == "p:hello");
    CHECK(e.variant("prefixed")->size == 7);
    CHECK(e.variant("missing") == nullptr);
    REQUIRE(e.files.count("a.whl") == 1);
    CHECK(e.files.at("a.whl").url == "http://up/a.whl");
    CHECK(e.files.at("a.whl").digest.hex == hoard::sha256Hex("a"));
    CHECK(e.freshAt(1059));
    CHECK_FALSE(e.freshAt(1060));
  }
  CHECK_FALSE(hoard::loadDocument(*store, "other"));
}

TEST_CASE("touching renews the fetch time of both keys") {
  hoard::test::TempDir dir;
  auto store = openStore(dir.path());
  DocumentKeys keys{"doc@mount", "doc"};
  auto rendered = render("x", "");
  REQUIRE(hoard::storeDocument(*store, keys, "x", *rendered, {}, 1000, 60));
  REQUIRE(hoard::touchDocument(*store, keys, 5000));
  CHECK((*hoard::loadDocument(*store, keys.ref))->fetchedMs == 5000);
  CHECK((*hoard::loadDocument(*store, keys.any))->fetchedMs == 5000);
  CHECK_FALSE(hoard::touchDocument(*store, {"nope", "nope"}, 1));
}

TEST_CASE("a new rendering is made from the stored upstream bytes without refetching") {
  hoard::test::TempDir dir;
  auto store = openStore(dir.path());
  auto first = render("body", "one:");
  REQUIRE(
      hoard::storeDocument(*store, {"doc@one", "doc"}, "body", *first, {"\"e\"", ""}, 1000, 60));
  hoard::RenderFn two = [](std::string_view raw) { return render(raw, "two:"); };
  auto rebuilt = hoard::rebuildDocument(*store, {"doc@two", "doc"}, two);
  REQUIRE(rebuilt);
  CHECK(*(*rebuilt)->variant("prefixed")->bytes == "two:body");
  CHECK((*rebuilt)->fetchedMs == 1000);  // keeps the upstream fetch time
  CHECK((*rebuilt)->upstreamEtag == "\"e\"");
  CHECK(*(*hoard::loadDocument(*store, "doc@one"))->variant("prefixed")->bytes == "one:body");
  // Nothing stored under the document key: nothing to rebuild from.
  CHECK_FALSE(hoard::rebuildDocument(*store, {"x@two", "x"}, two));
}

TEST_CASE("a document whose variant was evicted does not load") {
  hoard::test::TempDir dir;
  auto store = openStore(dir.path());
  auto rendered = render("gone", "");
  auto stored = hoard::storeDocument(*store, {"k", "k"}, "gone", *rendered, {}, 1, 60);
  REQUIRE(stored);
  REQUIRE(store->remove((*stored)->variant("upper")->digest));
  CHECK_FALSE(hoard::loadDocument(*store, "k"));
}
